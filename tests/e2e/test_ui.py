"""End-to-end tests of the hub's web UI: a real server process, Chromium driven by Playwright.

Every page is opened in a fresh browser context whose route handler lets through only requests
to the server's own origin (anything else is recorded, aborted, and fails the test), and whose
JavaScript errors fail the test too. A screenshot of each main page lands in
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from ui_seed import XSS_NAME, Seeded, Server, Watched, needs_chromium, seed, serving, shot

from conftest import free_port, wait_for_port
from shipyard.cli.ui import pick_port
from shipyard.errors import InvalidArgument

pytestmark = needs_chromium
pytest_plugins = ["ui_fixtures"]  # browser, watched


@dataclass
class Hub:
    """The server under test and the data it serves."""

    server: Server
    data: Seeded

    @property
    def url(self) -> str:
        return self.server.url

    def run(self, name: str) -> str:
        return self.data.ids[name]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A seeded store served by ``python -m shipyard.server``."""
    root = tmp_path_factory.mktemp("hub")
    data = seed(root)
    with serving(data, root / "server.log") as server:
        yield Hub(server, data)


def row_names(page: Page) -> list[str]:
    return page.locator("#runs-table tbody th.name-cell a").all_text_contents()


# -- projects and the runs table ------------------------------------------------------------


def test_projects_list_links_to_runs_table(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(hub.url + "/")
    rows = page.locator("#projects-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("th")).to_contain_text("iris")
    expect(rows.nth(0).locator("td").nth(0)).to_have_text("5")
    expect(rows.nth(0).locator("time").first).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    shot(page, "projects")
    page.get_by_role("link", name="iris", exact=True).click()
    expect(page).to_have_url(hub.url + "/projects/iris")
    expect(page.locator("#runs-table tbody tr")).to_have_count(5)


def test_runs_table_filters_with_the_sdk_grammar(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(hub.url + "/projects/iris")
    expect(page.locator("#runs-table tbody tr")).to_have_count(5)
    shot(page, "runs")
    page.keyboard.press("/")
    expect(page.locator("#filter-input")).to_be_focused()
    page.keyboard.type("params.model = 'rf' AND metrics.acc > 0.9")
    page.keyboard.press("Enter")
    expect(page.locator("#runs-table tbody tr")).to_have_count(2)
    assert sorted(row_names(page)) == ["rf-1", "rf-2"]
    assert "filter=params.model" in page.url
    page.fill("#filter-input", "metrics.acc >> 0.9")
    page.keyboard.press("Enter")
    error = page.locator("#filter-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("position 13")
    expect(error.locator("mark")).to_have_text(">")
    expect(page.locator("#filter-input")).to_have_attribute("aria-invalid", "true")
    shot(page, "runs-filter-error")
    page.go_back()  # the previous filter comes back with its rows
    expect(page.locator("#filter-input")).to_have_value("params.model = 'rf' AND metrics.acc > 0.9")
    expect(page.locator("#runs-table tbody tr")).to_have_count(2)
    expect(error).to_be_hidden()


def test_sort_by_a_metric_column_and_pick_columns(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(hub.url + "/projects/iris")
    header = page.locator('th[data-column="metrics.acc"]')
    header.locator("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    assert "order=metrics.acc" in page.url
    assert row_names(page)[0] == XSS_NAME  # acc 0.1
    header.locator("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert row_names(page)[:2] == ["rf-2", "rf-2-fold-1"]  # 0.95, 0.93
    page.locator("#column-picker summary").click()
    page.locator('#column-groups input[data-column="metrics.loss"]').uncheck()
    expect(page.locator('th[data-column="metrics.loss"]')).to_have_count(0)
    assert "cols=" in page.url
    page.reload()  # the URL holds the whole state
    expect(page.locator('th[data-column="metrics.acc"]')).to_have_attribute(
        "aria-sort", "descending"
    )
    expect(page.locator('th[data-column="metrics.loss"]')).to_have_count(0)


def test_user_values_are_text_never_markup(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(hub.url + "/projects/iris")
    expect(page.get_by_role("link", name=XSS_NAME)).to_be_visible()
    assert page.locator("#runs-table img").count() == 0
    page.goto(f"{hub.url}/runs/{hub.run('rf-2')}")
    notes = page.locator("#notes-view")
    expect(notes.locator("h1")).to_have_text("Findings")
    expect(notes).to_contain_text("<script>alert('notes')</script>")
    assert notes.locator("script").count() == 0


def test_live_updates_of_running_rows(watched: Watched, hub: Hub) -> None:
    run = httpx.post(f"{hub.url}/api/v1/runs", json={"project": "live", "name": "training"})
    run_id = run.json()["id"]
    page = watched.page
    page.goto(hub.url + "/projects/live")
    badge = page.locator(f'tr[data-run-id="{run_id}"] .badge')
    expect(badge).to_have_text("Running")
    expect(page.locator("#live-info")).to_be_visible()
    done = {"status": "FINISHED", "end_time": run.json()["start_time"] + 1500}
    httpx.patch(f"{hub.url}/api/v1/runs/{run_id}", json=done).raise_for_status()
    expect(badge).to_have_text("Finished", timeout=15_000)
    expect(page.locator("#live-info")).to_be_hidden()


# -- the run page ---------------------------------------------------------------------------


def test_run_page_overview_and_notes_edit(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(f"{hub.url}/runs/{hub.run('rf-2')}")
    expect(page.locator("h1.run-title")).to_contain_text("rf-2")
    expect(page.get_by_role("link", name="rf-2-fold-1")).to_be_visible()
    expect(page.locator(".chips")).to_contain_text("vision")
    shot(page, "run-overview")
    page.goto(f"{hub.url}/runs/{hub.run('rf-1')}")
    page.get_by_role("button", name="Edit notes").click()
    page.fill("#notes-input", "Baseline: **depth 4** is enough.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#notes-view strong")).to_have_text("depth 4")
    stored = httpx.get(f"{hub.url}/api/v1/runs/{hub.run('rf-1')}").json()
    assert stored["notes"] == "Baseline: **depth 4** is enough."
    page.reload()
    expect(page.locator("#notes-view strong")).to_have_text("depth 4")


def test_metric_charts_draw_and_follow_the_controls(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(f"{hub.url}/runs/{hub.run('rf-2')}#metrics")
    expect(page.get_by_role("tab", name=re.compile("Metrics"))).to_have_attribute(
        "aria-selected", "true"
    )
    charts = page.locator("#panel-metrics .chart[data-drawn='true']")
    expect(charts).to_have_count(2)
    line = page.locator("#panel-metrics .chart-card[data-key='acc'] path.js-line").first
    expect(line).to_have_attribute("d", re.compile(r"^M[\d.]+,[\d.]+L"))
    assert charts.first.get_attribute("data-points") == "50"
    page.get_by_label("Logarithmic y axis").first.check()
    page.locator('#panel-metrics [data-control="smooth"]').fill("0.6")
    expect(page.locator("#panel-metrics [data-output='smooth']")).to_have_text("0.60")
    assert "log=1" in page.url
    assert "smooth=0.6" in page.url
    acc = page.locator("#panel-metrics .chart-card[data-key='acc'] .chart")
    assert acc.evaluate("el => el._fullLayout.yaxis.type") == "log"
    assert acc.evaluate("el => el.data.length") == 2  # raw (faded) + smoothed
    shot(page, "run-metrics")
    page.get_by_role("tab", name=re.compile("System")).click()
    expect(page).to_have_url(re.compile("#system$"))
    expect(page.locator("#panel-system .chart[data-drawn='true']")).to_have_count(1)
    page.go_back()
    expect(page.locator("#panel-metrics")).to_be_visible()


def test_artifact_previews(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(f"{hub.url}/runs/{hub.run('rf-2')}#artifacts")
    preview = page.locator(".artifact-preview")
    page.locator('button.file[data-path="eval/metrics.csv"]').click()
    expect(preview.locator("table thead th")).to_have_text(["epoch", "acc", "note"])
    expect(preview.locator("table tbody tr")).to_have_count(500)
    expect(preview.locator("tbody tr").first.locator("td").nth(2)).to_have_text("row 0, ok")
    expect(preview).to_contain_text("First 500 rows")
    shot(page, "run-artifacts-csv")
    page.locator('button.file[data-path="config.json"]').click()
    expect(preview.locator("pre.json")).to_contain_text('"layers": [\n    1,')
    page.locator('button.file[data-path="plots/confusion.png"]').click()
    image = preview.locator("img")
    expect(image).to_have_attribute("alt", "Image artifact plots/confusion.png")
    page.wait_for_function(
        "() => document.querySelector('.artifact-preview img')?.naturalWidth === 24"
    )
    page.locator('button.file[data-path="report.md"]').click()
    expect(preview.locator(".markdown table td").first).to_have_text("1")
    page.locator('button.file[data-path="analysis.ipynb"]').click()
    expect(preview.locator(".nb-markdown h1")).to_have_text("Analysis")
    expect(preview.locator(".nb-output pre")).to_have_text("2\n")
    assert "artifact=analysis.ipynb" in page.url


def test_environment_code_and_inputs_tabs(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(f"{hub.url}/runs/{hub.run('rf-2')}#environment")
    panel = page.locator("#panel-environment")
    expect(panel.locator(".env-table").first).to_contain_text("3.11.9 (CPython)")
    expect(panel).to_contain_text("https://example.invalid/ada/iris.git")
    expect(panel.locator(".diff .line.add")).to_have_text("+LR = 0.05\n")
    expect(panel.locator(".packages-table tbody tr")).to_have_count(2)
    shot(page, "run-environment")
    page.get_by_role("tab", name="Inputs").click()
    expect(page.locator("#panel-inputs .inputs-table tbody tr")).to_contain_text("iris")
    page.goto(f"{hub.url}/runs/{hub.run('lr-1')}#environment")
    expect(page.locator("#panel-environment")).to_contain_text("No environment captured")


# -- compare --------------------------------------------------------------------------------


def test_compare_two_runs_from_the_table(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(hub.url + "/projects/iris")
    compare = page.locator("#compare-button")
    expect(compare).to_be_disabled()
    for name in ("rf-1", "rf-2"):
        page.get_by_label(f"Select run {name}", exact=True).check()
    expect(compare).to_be_enabled()
    compare.click()
    expect(page).to_have_url(re.compile(r"/compare\?runs=\w+,\w+$"))
    table = page.locator("#compare-table")
    expect(table.locator('tr[data-key="depth"]')).to_have_class(re.compile(r"\bdiffers\b"))
    expect(table.locator('tr[data-key="model"]')).to_have_class(re.compile(r"\bsame\b"))
    expect(page.locator("#compare-charts .chart[data-drawn='true']")).to_have_count(2)
    expect(page.locator("#parcoords[data-drawn='true']")).to_have_count(1)
    assert page.locator("#parcoords canvas").count() >= 1  # drawn by WebGL (CSP allows regl)
    code = page.locator("#code-diff")
    expect(code.locator(".diff")).to_contain_text("+LR = 0.05")
    expect(code.locator(".packages-diff tbody tr")).to_contain_text("numpy")
    shot(page, "compare")
    page.get_by_label("Only differences").check()
    expect(table.locator('tr[data-key="model"]')).to_be_hidden()
    assert "diff=1" in page.url
    page.get_by_role("button", name="Switch to dark theme").click()  # charts follow the theme
    expect(page.locator("html")).to_have_attribute("data-resolved-theme", "dark")
    shot(page, "compare-dark")


def test_error_pages(watched: Watched, hub: Hub) -> None:
    page = watched.page
    response = page.goto(hub.url + "/runs/0000000000000000000000000000beef")
    assert response is not None
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("0000000000000000000000000000beef")
    response = page.goto(f"{hub.url}/compare?runs={hub.run('rf-1')}")
    assert response is not None
    assert response.status == 400
    expect(page.locator(".error-state")).to_contain_text("2 to 10 runs")


def test_dark_mode_toggle_persists(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(hub.url + "/projects/iris")
    toggle = page.locator("#theme-toggle")
    expect(toggle).to_have_attribute("aria-label", "Switch to dark theme")
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-resolved-theme", "dark")
    expect(toggle).to_have_attribute("aria-label", "Switch to light theme")
    expect(page.locator("#runs-table tbody tr")).to_have_count(5)
    shot(page, "runs-dark")


# -- the CLI --------------------------------------------------------------------------------


def test_shipyard_ui_serves_the_embedded_store(tmp_path: Path, hub: Hub) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_TRACKING_URI"] = hub.data.store_uri
    env["SHIPYARD_ARTIFACTS"] = str(hub.data.artifacts_dir)
    argv = [sys.executable, "-m", "shipyard.cli", "ui", "--port", str(port), "--no-browser"]
    process = subprocess.Popen(argv, env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        wait_for_port(port)
        page = httpx.get(f"http://127.0.0.1:{port}/projects/iris", timeout=10)
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert "default-src 'self'" in page.headers["content-security-policy"]
        with pytest.raises(InvalidArgument, match=f"port {port} ") as taken:
            pick_port(port)
        assert taken.value.hint is not None
        assert "--port" in taken.value.hint
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in stderr.decode()
