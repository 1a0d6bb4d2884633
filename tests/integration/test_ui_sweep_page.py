"""The hub's sweep page served by the app in-process, on SQLite and PostgreSQL: a real sweep's
runs read back, trials fetched over several searches, links from run pages, and error pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import shipyard
from shipyard import Settings
from shipyard.artifacts import open_artifact_store
from shipyard.domain.entities import RunStatus
from shipyard.server.app import create_app
from shipyard.server.ui import _sweep_views as views
from shipyard.server.ui import sweeps as pages
from shipyard.store.base import RunStore
from shipyard.store.factory import open_store
from shipyard.sweeps import SweepTrial
from shipyard.testing.asgi import asgi_client


@pytest.fixture(params=["sqlite", "postgres"])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each SQL backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(uri: str) -> Iterator[RunStore]:
    """The store over ``uri``."""
    opened = open_store(uri, auto_create=True)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def client(store: RunStore, tmp_path: Path) -> Iterator[httpx.Client]:
    """The app over ``store``, called in-process."""
    with asgi_client(create_app(store, open_artifact_store(str(tmp_path / "a")))) as http:
        yield http


def _sweep_parent(store: RunStore, trials: int) -> str:
    """A sweep's runs written directly: a parent and ``trials`` completed children."""
    tags = {views.ROLE_TAG: "sweep", views.METRIC_TAG: "loss", views.GOAL_TAG: "minimize"}
    sweep = store.create_run("p", name="grid", tags={**tags, views.MAX_TRIALS_TAG: str(trials)})
    store.set_tags(sweep.id, {views.SWEEP_TAG: sweep.id})
    for number in range(trials):
        child_tags = {views.SWEEP_TAG: sweep.id, views.TRIAL_TAG: str(number)}
        child = store.create_run(
            "p", name=f"grid-{number}", parent_id=sweep.id, tags=child_tags,
            params={"lr": 0.1 * (number + 1)}, start_time=1000 + number,
        )  # fmt: skip
        store.set_tags(child.id, {views.STATE_TAG: "COMPLETE"})
        store.update_run(child.id, status=RunStatus.FINISHED, end_time=3000)
    return sweep.id


def _rows(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-trial="(\d+)"', html)]


def test_a_real_sweep_reads_back_as_its_result(
    uri: str, client: httpx.Client, tmp_path: Path
) -> None:
    def objective(trial: SweepTrial) -> float:
        x = float(trial.params["x"])  # type: ignore[arg-type]
        trial.report(x * x, 0)
        return x * x

    settings = Settings(
        tracking_uri=uri, home=tmp_path / "home", capture=False, system_metrics_interval=0
    )
    spec = {
        "project": "grid",
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"values": [-2, 1, 3]}, "tag": {"value": "<b>v1</b>"}},
    }
    result = shipyard.sweep(spec, objective, settings=settings)
    page = client.get(f"/sweeps/{result.sweep_id}")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert sorted(_rows(page.text)) == [0, 1, 2]
    assert result.best is not None
    assert f'<a class="strong-link" id="best-run-link" href="/runs/{result.best.run_id}">' in (
        page.text
    )
    assert '<span class="num" id="best-value">1</span>' in page.text
    assert "<strong>3</strong> / 3 trials" in page.text
    assert "&lt;b&gt;v1&lt;/b&gt;" in page.text
    assert "<b>v1</b>" not in page.text


def test_trials_come_from_several_searches_and_stop_at_the_limit(
    store: RunStore, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    sweep_id = _sweep_parent(store, 9)
    monkeypatch.setattr(pages, "TRIALS_PER_QUERY", 4)
    page = client.get(f"/sweeps/{sweep_id}")
    assert _rows(page.text) == list(range(9))
    assert "Showing the first" not in page.text
    monkeypatch.setattr(pages, "MAX_TRIALS", 7)
    page = client.get(f"/sweeps/{sweep_id}")
    assert _rows(page.text) == list(range(7))
    assert "Showing the first 7 trials." in page.text
    parent = store.get_run(sweep_id)
    children, more = pages.sweep_children(store, parent, limit=9)
    assert (len(children), more) == (9, False)


def test_run_pages_link_to_their_sweep(store: RunStore, client: httpx.Client) -> None:
    sweep_id = _sweep_parent(store, 1)
    (child,) = pages.sweep_children(store, store.get_run(sweep_id))[0]
    parent_page = client.get(f"/runs/{sweep_id}").text
    assert f'id="sweep-link" href="/sweeps/{sweep_id}"' in parent_page
    assert "Results of this sweep" in parent_page
    trial_page = client.get(f"/runs/{child.id}").text
    assert f'id="sweep-link" href="/sweeps/{sweep_id}"' in trial_page
    assert "Trial 0 of grid" in trial_page
    plain = store.create_run("p", name="plain")
    assert "sweep-link" not in client.get(f"/runs/{plain.id}").text


def test_a_sweep_without_trials_and_runs_that_are_no_sweep(
    store: RunStore, client: httpx.Client
) -> None:
    sweep_id = _sweep_parent(store, 0)
    empty = client.get(f"/sweeps/{sweep_id}")
    assert empty.status_code == 200
    assert "No trial has started yet." in empty.text
    assert "No trial has completed yet." in empty.text
    plain = store.create_run("p", name="plain")
    response = client.get(f"/sweeps/{plain.id}")
    assert response.status_code == 404
    assert f"run {plain.id} is not a sweep" in response.text
    missing = client.get("/sweeps/" + "0" * 32)
    assert missing.status_code == 404
    assert "0" * 32 in missing.text
