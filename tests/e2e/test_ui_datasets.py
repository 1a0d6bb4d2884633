"""End-to-end tests of the hub's dataset pages: a real server process, Chromium via Playwright.

Two versions of a dataset are added with ``Client.add_dataset`` against the server and used by
runs through ``Run.use_dataset``/``Run.log_dataset``; a 10,000-file version is stored directly
(before the server starts) so that the manifest's filter and paging work at scale. As in
``test_ui.py``, a request that leaves the server's origin, a script error or a dialog fails the
test, and screenshots land in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from ui_seed import XSS_NAME, Seeded, Server, Watched, needs_chromium, sdk_settings, serving, shot

import shipyard
from shipyard import Client, Settings
from shipyard.artifacts import open_artifact_store
from shipyard.domain.datasets import ManifestEntry
from shipyard.store.datasets import DatasetStore
from shipyard.store.factory import open_store

pytestmark = needs_chromium
pytest_plugins = ["ui_fixtures"]  # browser, watched

DASH = "\N{EN DASH}"  # between the ends of a range of files
TILE_ROWS = TILE_COLUMNS = 100  # the "tiles" dataset: 10,000 files
HOSTILE_FILE = f"{XSS_NAME}.txt"


@dataclass
class Hub:
    """The server under test and the runs that used the ``pets`` dataset."""

    server: Server
    runs: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url


def _store_tiles(data: Seeded) -> None:
    """``tiles`` v1: 10,000 files of 50 distinct contents (1 KB to 50 KB), blobs stored first."""
    blobs = open_artifact_store(str(data.artifacts_dir))
    contents = [bytes([65 + n % 26]) * (n + 1) * 1000 for n in range(50)]
    shas = [blobs.put_stream([data]).sha256 for data in contents]
    entries = []
    for i in range(TILE_ROWS * TILE_COLUMNS):
        row, column = divmod(i, TILE_COLUMNS)
        n = (row * 3 + column * 7) % len(contents)
        path = f"row-{row:03d}/tile-{column:03d}.png"
        entries.append(ManifestEntry(path, len(contents[n]), shas[n]))
    store = open_store(data.store_uri, auto_create=True)
    assert isinstance(store, DatasetStore)
    try:
        store.create_dataset_version("tiles", entries, "10,000 tiles", "grace")
    finally:
        store.close()


def _add_pets(settings: Settings, folder: Path) -> None:
    """``pets`` v1 and v2 through the SDK (v2 adds a file with a hostile name)."""
    (folder / "images").mkdir(parents=True)
    (folder / "labels.csv").write_text("id,label\n1,cat\n")
    (folder / "images" / "1.png").write_bytes(hashlib.sha256(b"1").digest() * 64)
    with Client(settings=settings) as client:
        assert client.add_dataset("pets", folder, "first cut").version == 1
        (folder / "labels.csv").write_text("id,label\n1,cat\n2,dog\n")
        (folder / HOSTILE_FILE).write_text("hostile")
        assert client.add_dataset("pets", folder, f"relabel {XSS_NAME}").version == 2


def _use_pets(settings: Settings, out: Path) -> dict[str, str]:
    """Two runs: one reads pets v1; one reads v2 and writes ``pets-features`` v1."""
    with shipyard.start_run(project="vision", name="baseline", settings=settings) as first:
        first.use_dataset("pets", 1)
    with shipyard.start_run(project="vision", name="relabelled", settings=settings) as second:
        data = second.use_dataset("pets")
        out.mkdir()
        (out / "features.csv").write_text((data / "labels.csv").read_text().upper())
        second.log_dataset("pets-features", out, "upper-cased labels")
    return {"baseline": first.id, "relabelled": second.id}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """``tiles`` written to the store, then ``pets`` added and used over HTTP."""
    root = tmp_path_factory.mktemp("datasets-hub")
    data = Seeded.at(root)
    _store_tiles(data)
    with serving(data, root / "server.log") as server:
        settings = sdk_settings(server, root, "grace")
        _add_pets(settings, root / "pets")
        yield Hub(server, _use_pets(settings, root / "features"))


def manifest_paths(page: Page) -> list[str]:
    return page.locator("#manifest-table tbody th.path-cell").all_text_contents()


# -- tests ----------------------------------------------------------------------------------


def test_datasets_list_then_a_dataset_and_its_lineage(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(hub.url + "/datasets")
    expect(page.locator("#nav-datasets")).to_have_attribute("aria-current", "page")
    rows = page.locator("#datasets-table tbody tr")
    expect(rows).to_have_count(3)
    pets = page.locator('#datasets-table tr[data-dataset="pets"]')
    expect(pets.locator("td").nth(0)).to_contain_text("v2")
    expect(pets.locator("td").nth(1)).to_have_text("3")
    tiles = page.locator('#datasets-table tr[data-dataset="tiles"]')
    expect(tiles.locator("td").nth(1)).to_have_text("10,000")
    expect(tiles.locator("time").first).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    shot(page, "datasets")

    page.get_by_role("link", name="pets", exact=True).click()
    expect(page).to_have_url(hub.url + "/datasets/pets")
    versions = page.locator("#versions-table tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("latest")
    expect(versions.nth(0).locator(".message-cell")).to_have_text(f"relabel {XSS_NAME}")
    expect(versions.nth(0).locator(".usage-cell")).to_have_text("1 in")
    expect(versions.nth(1).locator("td").nth(1)).to_have_text("2")  # v1 had two files
    lineage = page.locator("#lineage-table tbody tr")
    expect(lineage).to_have_count(2)
    expect(lineage.nth(0)).to_contain_text("relabelled")  # v2 first
    assert page.locator("main img").count() == 0
    shot(page, "dataset")

    lineage.nth(1).get_by_role("link", name="baseline").click()
    expect(page).to_have_url(f"{hub.url}/runs/{hub.runs['baseline']}")
    expect(page.locator("h1.run-title")).to_contain_text("baseline")


def test_manifest_filter_sort_and_paging_at_10000_files(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(hub.url + "/datasets/tiles/versions/1")
    table = page.locator("#manifest-table")
    expect(table).to_have_attribute("aria-busy", "false")
    expect(table.locator("tbody tr")).to_have_count(100)
    info = page.locator("#manifest-info")
    expect(info).to_have_text(f"Files 1{DASH}100 of 10,000 · page 1 of 100")
    assert manifest_paths(page)[0] == "row-000/tile-000.png"
    page.locator("#manifest-next").click()
    expect(info).to_contain_text(f"Files 101{DASH}200")
    assert manifest_paths(page)[0] == "row-001/tile-000.png"
    assert "page=2" in page.url

    page.keyboard.press("/")
    expect(page.locator("#manifest-filter")).to_be_focused()
    page.keyboard.type("ROW-042/tile-01")
    expect(table.locator("tbody tr")).to_have_count(10)
    expect(info).to_have_text(f"Files 1{DASH}10 of 10 matching (10,000 in all)")
    expect(table.locator("tbody tr mark").first).to_have_text("row-042/tile-01")
    assert "filter=ROW-042/tile-01" in page.url
    page.fill("#manifest-filter", "*/tile-099.png")
    expect(info).to_contain_text("of 100 matching")
    page.select_option("#manifest-page-size", "250")
    expect(table.locator("tbody tr")).to_have_count(100)
    page.locator('th[data-sort="size"] button').click()
    expect(page.locator('th[data-sort="size"]')).to_have_attribute("aria-sort", "ascending")
    sizes = [int(s) for s in table.locator("tbody td.num").evaluate_all(
        "cells => cells.map((c) => c.dataset.bytes)")]  # fmt: skip
    assert sizes == sorted(sizes)
    assert sizes[0] < sizes[-1]
    shot(page, "dataset-version")

    page.reload()  # the URL holds filter, order and page size
    expect(page.locator("#manifest-filter")).to_have_value("*/tile-099.png")
    expect(table.locator("tbody tr")).to_have_count(100)
    expect(page.locator('th[data-sort="size"]')).to_have_attribute("aria-sort", "ascending")
    page.fill("#manifest-filter", "no such file")
    expect(page.locator("#manifest-empty")).to_have_text("No file path matches “no such file”.")
    page.keyboard.press("Escape")
    expect(table.locator("tbody tr")).to_have_count(250)
    page.get_by_role("button", name="Switch to dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-resolved-theme", "dark")
    shot(page, "dataset-version-dark")


def test_version_page_runs_lead_to_the_run_and_back(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(hub.url + "/datasets/pets?version=2")
    expect(page).to_have_url(hub.url + "/datasets/pets/versions/2")
    expect(page.locator("h1")).to_contain_text("latest")
    expect(page.locator("#manifest-table tbody tr")).to_have_count(3)
    assert HOSTILE_FILE in manifest_paths(page)  # a name, never markup
    assert page.locator("#manifest-table img").count() == 0
    runs = page.locator("#version-runs li")
    expect(runs).to_have_count(1)
    expect(runs.first.locator(".badge")).to_have_text("Input")
    expect(page.get_by_role("link", name="Older version v1")).to_be_visible()
    shot(page, "dataset-version-small")

    runs.first.get_by_role("link", name="relabelled").click()
    expect(page).to_have_url(f"{hub.url}/runs/{hub.runs['relabelled']}")
    # The tabs are buttons wired by the page's module script: wait until it has run.
    expect(page.locator("html")).to_have_attribute("data-run-page", "ready")
    page.get_by_role("tab", name="Inputs").click()
    inputs = page.locator("#panel-inputs .inputs-table tbody tr")
    expect(inputs).to_have_count(2)
    output = inputs.filter(has_text="pets-features")
    expect(output.locator(".badge")).to_have_text("Output")
    expect(output.get_by_role("link", name="pets-features")).to_have_attribute(
        "href", "/datasets/pets-features"
    )
    shot(page, "run-inputs-datasets")
    inputs.filter(has_text="Input").get_by_role("link", name="2", exact=True).click()
    expect(page).to_have_url(hub.url + "/datasets/pets/versions/2")
    expect(page.locator("#manifest-table tbody tr")).to_have_count(3)


def test_missing_datasets_and_versions_are_error_pages(watched: Watched, hub: Hub) -> None:
    page = watched.page
    for path, status, text in [
        ("/datasets/nope", 404, "nope"),
        ("/datasets/pets/versions/9", 404, "9"),
        ("/datasets/pets/versions/two", 400, "invalid dataset version"),
    ]:
        response = page.goto(hub.url + path)
        assert response is not None
        assert response.status == status
        expect(page.locator(".error-state h1")).to_contain_text(text)
