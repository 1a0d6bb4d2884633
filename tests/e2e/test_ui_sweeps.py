"""End-to-end tests of the hub's sweep page: a real server process, Chromium via Playwright.

An 8-trial sweep runs in this process (``shipyard.sweep`` with a Python objective that reports
every step, so the median pruner stops the laggards, and fails one trial on purpose) with its
tracking URI pointing at the server; the page must then show what the sweep's result says. As in
``test_ui.py``, a request that leaves the server's origin, a script error or a dialog fails the
test, and screenshots land in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect
from ui_seed import XSS_NAME, Seeded, Server, Watched, needs_chromium, sdk_settings, serving, shot

import shipyard
from shipyard.server.ui._templates import number
from shipyard.store.factory import open_store
from shipyard.sweeps import SweepResult, SweepTrial, TrialSummary

pytestmark = needs_chromium
pytest_plugins = ["ui_fixtures"]  # browser, watched

TRIALS = 8
FAILING_TRIAL = 5
SPEC = {
    "project": "tuning",
    "name": "lr-search",
    "method": "random",
    "seed": 10,
    "metric": {"name": "acc", "goal": "maximize"},
    "parameters": {
        "lr": {"distribution": "log_uniform", "min": 1e-4, "max": 0.5},
        "depth": {"values": [2, 4, 8]},
        "optimizer": {"values": ["adam", XSS_NAME]},
        "epochs": {"value": 6},
    },
    "max_trials": TRIALS,
    "early_stop": {"type": "median", "n_startup_trials": 3, "n_warmup_steps": 2},
}


def objective(trial: SweepTrial) -> float:
    """Accuracy that peaks at lr = 0.01, reported per epoch (trial 5 crashes)."""
    lr, depth = float(trial.params["lr"]), int(trial.params["depth"])  # type: ignore[arg-type]
    if trial.number == FAILING_TRIAL:
        raise RuntimeError("out of memory (on purpose)")
    quality = 1.0 / (1.0 + abs(lr - 0.01) * 40) + depth / 100
    acc = 0.0
    for epoch in range(6):
        acc = quality * (epoch + 1) / 6
        trial.report(acc, epoch)
        if trial.should_prune():
            trial.prune()
    return acc


@dataclass
class Hub:
    """The server under test and the sweep it holds."""

    server: Server
    result: SweepResult

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def best(self) -> TrialSummary:
        assert self.result.best is not None
        return self.result.best

    def page(self) -> str:
        return f"{self.url}/sweeps/{self.result.sweep_id}"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """An empty store served by a server process, then a sweep run against it over HTTP."""
    root = tmp_path_factory.mktemp("sweeps-hub")
    data = Seeded.at(root)
    open_store(data.store_uri, auto_create=True).close()
    with serving(data, root / "server.log") as server:
        settings = sdk_settings(server, root, "ada")
        yield Hub(server, shipyard.sweep(SPEC, objective, settings=settings))


def trial_numbers(page: Page) -> list[int]:
    return [int(n) for n in page.locator("#trials-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.trial)")]  # fmt: skip


# -- tests ----------------------------------------------------------------------------------


def test_the_sweep_as_its_result_says_and_sorts(watched: Watched, hub: Hub) -> None:
    page, result = watched.page, hub.result
    counts = result.counts
    assert counts["PRUNED"] >= 1  # the seed makes a mix of every ending
    assert counts["FAIL"] == 1
    assert counts["COMPLETE"] >= 2
    page.goto(hub.page())
    expect(page.locator("h1")).to_contain_text("lr-search")
    expect(page.locator("#sweep-method")).to_have_text("random")
    expect(page.locator("#sweep-metric")).to_contain_text("acc maximize")
    expect(page.locator("#sweep-progress")).to_have_text(f"{TRIALS} / {TRIALS} trials")
    for state, label in (("COMPLETE", "complete"), ("PRUNED", "pruned"), ("FAIL", "failed")):
        badge = page.locator(f'#state-counts [data-state="{state}"]')
        expect(badge).to_have_text(f"{counts[state]} {label}")
    expect(page.locator('#state-counts [data-state="RUNNING"]')).to_have_text("0 running")

    expect(page.locator("#best-value")).to_have_text(number(hub.best.value))
    expect(page.locator("#best-number")).to_have_text(f"#{hub.best.number}")
    link = page.locator("#best-run-link")
    expect(link).to_have_attribute("href", f"/runs/{hub.best.run_id}")
    best_params = page.locator("#best-params")
    expect(best_params.locator('tr:has(th:text-is("epochs")) td')).to_have_text("6")

    rows = page.locator("#trials-table tbody tr")
    expect(rows).to_have_count(TRIALS)
    for trial in result.trials:
        row = page.locator(f'#trials-table tr[data-trial="{trial.number}"]')
        expect(row).to_have_attribute("data-state", trial.state)
        expect(row.locator("a.run-name")).to_have_attribute("href", f"/runs/{trial.run_id}")
    expect(page.locator("#trials-table tr.best")).to_have_attribute(
        "data-trial", str(hub.best.number)
    )
    expect(page.locator('#trials-table tbody .badge[data-state="PRUNED"]').first).to_have_text(
        "Pruned"
    )
    expect(page.locator("#trials-table tbody").get_by_text(XSS_NAME).first).to_be_visible()
    assert page.locator("#trials-table img").count() == 0

    chart = page.locator("#history-chart[data-drawn='true']")
    expect(chart).to_have_count(1)
    assert chart.evaluate("el => el.data.map(t => t.x.length)") == [
        len([t for t in result.trials if t.state == "PRUNED"]),
        counts["COMPLETE"],
        counts["COMPLETE"],
    ]
    best_line = chart.evaluate("el => el.data[2].y")
    assert best_line[-1] == pytest.approx(hub.best.value)
    assert best_line == sorted(best_line)  # maximize: the best so far never drops
    parcoords = page.locator("#parcoords[data-drawn='true']")
    expect(parcoords).to_have_count(1)
    assert page.locator("#parcoords canvas").count() >= 1
    labels = parcoords.evaluate("el => el.data[0].dimensions.map(d => d.label)")
    assert labels[-1] == "acc"
    assert "epochs" not in labels  # a constant tells nothing
    optimizer = parcoords.evaluate("el => el.data[0].dimensions.find(d => d.label === 'optimizer')")
    assert optimizer["ticktext"] == sorted(["adam", XSS_NAME])  # categories, shown as written
    shot(page, "sweep")
    _sort_trials(page, hub)


def _sort_trials(page: Page, hub: Hub) -> None:
    """The trials table sorts by any column, keeps the order in the URL, and follows the theme."""
    assert trial_numbers(page) == list(range(TRIALS))
    header = page.locator('#trials-table th[data-sort="value"]')
    header.locator("button").click()  # maximize: the best first
    expect(header).to_have_attribute("aria-sort", "descending")
    assert trial_numbers(page)[0] == hub.best.number
    assert "sort=-value" in page.url
    page.reload()
    expect(page.locator('#trials-table th[data-sort="value"]')).to_have_attribute(
        "aria-sort", "descending"
    )
    assert trial_numbers(page)[0] == hub.best.number
    failed = next(t.number for t in hub.result.trials if t.state == "FAIL")
    assert trial_numbers(page)[-1] == failed  # no value: last, whichever the direction
    page.locator('#trials-table th[data-sort="params.depth"] button').click()
    depths = page.locator("#trials-table tbody tr td:nth-child(3)").all_text_contents()
    assert [int(d) for d in depths] == sorted(int(d) for d in depths)
    page.get_by_role("button", name="Switch to dark theme").click()  # charts follow the theme
    expect(page.locator("html")).to_have_attribute("data-resolved-theme", "dark")
    expect(page.locator("#history-chart[data-drawn='true']")).to_have_count(1)
    shot(page, "sweep-dark")


def test_runs_link_to_their_sweep(watched: Watched, hub: Hub) -> None:
    page, sweep_id = watched.page, hub.result.sweep_id
    page.goto(f"{hub.url}/projects/tuning")
    expect(page.locator("#runs-table tbody tr")).to_have_count(TRIALS + 1)
    badges = page.locator("#runs-table .sweep-badge")
    expect(badges).to_have_count(1)
    expect(page.locator(f'#runs-table tr[data-run-id="{sweep_id}"] .sweep-badge')).to_have_text(
        "sweep"
    )
    shot(page, "sweep-runs-table")
    badges.click()
    expect(page).to_have_url(hub.page())
    expect(page.locator("#sweep-run")).to_have_attribute("href", f"/runs/{sweep_id}")
    page.locator("#best-run-link").click()  # a trial's page links back to its sweep
    expect(page).to_have_url(re.compile(f"/runs/{hub.best.run_id}$"))
    expect(page.locator("#overview-sweep")).to_have_text(f"Trial {hub.best.number} of lr-search")
    expect(page.locator("#sweep-link")).to_have_attribute("href", f"/sweeps/{sweep_id}")
    shot(page, "sweep-trial-run")
    page.goto(f"{hub.url}/runs/{sweep_id}")  # so does the sweep's own run
    expect(page.locator("#overview-sweep")).to_have_text("Results of this sweep")
    page.locator("#sweep-link").click()
    expect(page).to_have_url(hub.page())


def test_a_run_that_is_no_sweep_has_no_sweep_page(watched: Watched, hub: Hub) -> None:
    page = watched.page
    response = page.goto(f"{hub.url}/sweeps/{hub.best.run_id}")
    assert response is not None
    assert response.status == 404
    expect(page.locator(".error-state")).to_contain_text("is not a sweep")
    response = page.goto(f"{hub.url}/sweeps/0000000000000000000000000000beef")
    assert response is not None
    assert response.status == 404
