"""End-to-end tests of the hub's model pages: a real server process, Chromium via Playwright.

Two runs log and register versions of a model over HTTP (the first reads a dataset version, so
the version page shows its lineage); an alias is moved. As in ``test_ui_sweeps.py``, a request
that leaves the server's origin, a script error or a dialog fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from ui_seed import XSS_NAME, Seeded, Server, Watched, needs_chromium, sdk_settings, serving, shot

import shipyard
from shipyard import Client, Settings
from shipyard.store.factory import open_store

pytestmark = needs_chromium
pytest_plugins = ["ui_fixtures"]  # browser, watched

NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@dataclass
class Hub:
    """The server under test and the runs that logged the model's versions."""

    server: Server
    run_ids: list[str]

    @property
    def url(self) -> str:
        return self.server.url


def _train(settings: Settings, root: Path) -> list[str]:
    x, y = load_iris(return_X_y=True)
    data = root / "iris-data"
    data.mkdir()
    (data / "iris.csv").write_text("a,b\n1,2\n")
    with Client(settings=settings) as client:
        client.add_dataset("iris-csv", data, "first cut")
    run_ids = []
    for c in (1.0, 0.05):
        with shipyard.start_run(project="iris", params={"C": c}, settings=settings) as run:
            run.use_dataset("iris-csv")
            model = LogisticRegression(C=c, max_iter=1000).fit(x, y)
            run.log_metrics({"acc": float(model.score(x, y))}, step=0)
            example = {n: x[:5, i] for i, n in enumerate(NAMES)}
            run.log_model(model, "clf", input_example=example, register_as="iris-clf")
            run_ids.append(run.id)
    with Client(settings=settings) as client:
        client.set_model_alias("iris-clf", "champion", 1)
        client.set_model_alias("iris-clf", "champion", 2)
        client.set_model_alias("iris-clf", "challenger", 1)
        client.update_model("iris-clf", XSS_NAME)
    return run_ids


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("models-hub")
    data = Seeded.at(root)
    open_store(data.store_uri, auto_create=True).close()
    with serving(data, root / "server.log") as server:
        yield Hub(server, _train(sdk_settings(server, root, "ada"), root))


def test_models_list_model_page_and_version_lineage(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(f"{hub.server.url}/models")
    expect(page.locator("#nav-models")).to_have_attribute("aria-current", "page")
    row = page.locator('#models-table tr[data-model="iris-clf"]')
    expect(row).to_contain_text("iris")
    expect(row.locator('[data-alias="champion"]')).to_have_text("champion → v2")
    expect(row).to_contain_text(XSS_NAME)  # shown as text, never run
    shot(page, "models")

    row.locator("a.strong-link").click()
    expect(page.locator("h1")).to_have_text("iris-clf")
    expect(page.locator("#model-versions tbody tr")).to_have_count(2)
    latest = page.locator('#model-versions tr[data-version="2"]')
    expect(latest).to_contain_text("champion")
    expect(latest).to_contain_text("sklearn")
    expect(latest.locator(".run-cell a")).to_have_attribute("href", f"/runs/{hub.run_ids[1]}")
    expect(page.locator('#aliases [data-alias="challenger"] a')).to_have_text("version 1")
    shot(page, "model")

    page.locator('#model-versions tr[data-version="1"] th a').click()
    expect(page.locator("h1")).to_contain_text("v1")
    expect(page.locator("#source-run a").first).to_have_attribute("href", f"/runs/{hub.run_ids[0]}")
    expect(page.locator('#version-datasets [data-dataset="iris-csv"]')).to_have_text("iris-csv@1")
    expect(page.locator('#version-params tr:has(th:text-is("C")) td')).to_have_text("1.0")
    expect(page.locator('#version-metrics tr:has(th:text-is("acc"))')).to_have_count(1)
    inputs = page.locator('#signature tr[data-side="input"]')
    expect(inputs).to_have_count(4)
    expect(inputs.first).to_contain_text("sepal_length")
    expect(inputs.first).to_contain_text("float64")
    shot(page, "model_version")


def test_a_missing_model_is_a_404_page(watched: Watched, hub: Hub) -> None:
    page = watched.page
    response = page.goto(f"{hub.server.url}/models/nope")
    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).to_contain_text("'nope'")
    response = page.goto(f"{hub.server.url}/models/iris-clf/versions/9")
    assert response is not None
    assert response.status == 404
