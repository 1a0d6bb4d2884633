"""The SDK end to end against the embedded backend (a real SQLite store and a local blob folder)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import shipyard
from shipyard import Client, RunStatus, Settings
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.sdk._embedded import EmbeddedBackend


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # No environment capture: these tests count artifacts and tags (test_capture_run.py covers it).
    return Settings(
        home=tmp_path / "home", system_metrics_interval=0, flush_interval=0.05, capture=False
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[Client]:
    with Client(settings=settings) as client:
        yield client


def _python(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_quickstart_end_to_end(tmp_path: Path) -> None:
    """The README snippet with nothing configured: data lands under ./.shipyard/."""
    Path("model.pkl").write_bytes(b"weights" * 100)
    with shipyard.start_run(
        project="iris", name="baseline", params={"lr": 0.01, "depth": 4}, tags={"team": "cv"}
    ) as run:
        for step in range(100):
            run.log_metrics({"loss": 1 / (step + 1), "acc": step / 100}, step=step)
        run.log_artifact("model.pkl")
    assert (tmp_path / ".shipyard" / "shipyard.db").is_file()
    with Client() as client:
        stored = client.get_run(run.id)
        assert stored.status is RunStatus.FINISHED
        assert stored.end_time is not None
        assert (stored.project, stored.name) == ("iris", "baseline")
        assert stored.params == {"lr": 0.01, "depth": 4}
        assert type(stored.params["depth"]) is int
        assert stored.tags["team"] == "cv"
        assert stored.metrics["loss"].last == pytest.approx(0.01)
        assert stored.metrics["loss"].max == 1.0
        assert stored.metrics["acc"].count == 100
        paths = [a.path for a in client.list_artifacts(run.id)]
        assert paths == [".shipyard/environment.json", "model.pkl"]
        out = client.download_artifact(run.id, "model.pkl", tmp_path / "restored.pkl")
        assert out.read_bytes() == b"weights" * 100
    assert not (tmp_path / ".shipyard" / "spool" / run.id).exists()


def test_exception_marks_failed_and_reraises(settings: Settings, client: Client) -> None:
    run = shipyard.start_run(project="p", settings=settings)
    run.log_metric("loss", 1.0)
    with pytest.raises(ValueError, match="exploded"), run:
        raise ValueError("gradient exploded")
    stored = client.get_run(run.id)
    assert stored.status is RunStatus.FAILED
    assert stored.error is not None
    assert stored.error.startswith("ValueError: gradient exploded")
    assert "Traceback" in stored.error
    assert stored.metrics["loss"].count == 1


def test_keyboard_interrupt_marks_killed(settings: Settings, client: Client) -> None:
    run = shipyard.start_run(project="p", settings=settings)
    with pytest.raises(KeyboardInterrupt), run:
        raise KeyboardInterrupt
    assert client.get_run(run.id).status is RunStatus.KILLED


def test_default_project_and_auto_steps(
    settings: Settings, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    with shipyard.start_run(settings=settings) as run:
        run.log_metric("x", 1.0)
        run.log_metric("x", 2.0)
        run.log_metrics({"x": 3.0}, step=10)
        run.log_metric("x", 4.0)
    assert run.project == "default"
    assert run.name
    assert list(client.metric_history(run.id, "x").steps) == [0, 1, 10, 11]
    monkeypatch.setenv("SHIPYARD_PROJECT", "from-env")
    monkeypatch.setenv("SHIPYARD_HOME", str(settings.home))
    with shipyard.start_run() as other:
        pass
    assert client.get_run(other.id).project == "from-env"


def test_metric_values_are_coerced_and_validated(settings: Settings, client: Client) -> None:
    np = pytest.importorskip("numpy")
    with shipyard.start_run(project="p", settings=settings) as run:
        run.log_metrics({"a": np.float32(0.5), "b": 3, "c": np.float64("nan")}, step=np.int64(2))
        with pytest.raises(InvalidArgument, match="non-numeric"):
            run.log_metrics({"a": "high"})  # type: ignore[dict-item]
        with pytest.raises(InvalidArgument, match="metric key"):
            run.log_metrics({"bad key!": 1.0})
    stored = client.get_run(run.id)
    assert stored.metrics["a"].last == 0.5
    assert stored.metrics["b"].last_step == 2
    assert stored.metrics["c"].count == 1


def test_param_conflict_is_raised_synchronously(settings: Settings, client: Client) -> None:
    with shipyard.start_run(project="p", params={"lr": 0.01}, settings=settings) as run:
        run.log_params({"lr": 0.01, "epochs": 10})
        with pytest.raises(Conflict, match="'lr'"):
            run.log_params({"lr": 0.1})
        run.set_tags({"stage": "dev"})
        run.set_tags({"stage": "prod", "n": 3})
    stored = client.get_run(run.id)
    assert stored.params == {"lr": 0.01, "epochs": 10}
    assert stored.tags == {"stage": "prod", "n": "3"}
    assert run.writer_stats.batches_rejected == 0


def test_logging_after_finish_is_refused(settings: Settings) -> None:
    run = shipyard.start_run(project="p", settings=settings)
    run.finish()
    run.finish()  # a second call does nothing
    with pytest.raises(Conflict, match="has ended"):
        run.log_metric("x", 1.0)
    assert run.status is RunStatus.FINISHED


def test_nested_runs(settings: Settings, client: Client) -> None:
    with shipyard.start_run(project="sweep", settings=settings) as parent:
        with shipyard.start_run(name="trial-0", parent=parent, settings=settings) as child:
            child.log_metric("score", 0.8)
        with shipyard.start_run(name="trial-1", parent=parent.id, settings=settings) as by_id:
            pass
    assert child.project == "sweep"
    assert client.get_run(child.id).parent_id == parent.id
    assert client.get_run(by_id.id).parent_id == parent.id
    assert client.get_run(parent.id).status is RunStatus.FINISHED


def test_run_id_continuation(settings: Settings, client: Client) -> None:
    """A launcher creates the run; the job continues it through SHIPYARD_RUN_ID."""
    launched = client.backend.store.create_run("jobs", name="launched", params={"lr": 0.1})
    job_settings = settings.model_copy(update={"run_id": launched.id})
    with shipyard.start_run(settings=job_settings, params={"batch": 32}) as run:
        assert run.id == launched.id
        run.log_metric("loss", 0.5)
        with pytest.raises(Conflict):
            run.log_params({"lr": 0.2})
    stored = client.get_run(launched.id)
    assert stored.status is RunStatus.FINISHED
    assert stored.params == {"lr": 0.1, "batch": 32}
    # The launcher already ended the next one: continuing it leaves its status alone.
    again = client.backend.store.create_run("jobs", name="again")
    run = shipyard.start_run(run_id=again.id, settings=settings)
    client.backend.store.update_run(again.id, status=RunStatus.KILLED, end_time=1)
    run.finish(RunStatus.FAILED)
    assert client.get_run(again.id).status is RunStatus.KILLED
    with pytest.raises(InvalidArgument, match="already ended"):
        shipyard.start_run(run_id=again.id, settings=settings)


def test_artifacts_files_folders_text_and_dedupe(
    settings: Settings, client: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "ckpt"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(b"A" * 10)
    (folder / "sub" / "b.json").write_text('{"b": 1}')
    (tmp_path / "model.pkl").write_bytes(b"M" * 50)
    with shipyard.start_run(project="p", settings=settings) as run:
        run.log_artifact(folder)
        run.log_artifact(tmp_path / "model.pkl", artifact_path="models")
        run.log_text("hello", "notes/readme.md")
        record = run.log_dict({"acc": 0.9}, "eval/metrics.json")
        with pytest.raises(NotFound):
            run.log_artifact(tmp_path / "missing.txt")
    paths = [a.path for a in client.list_artifacts(run.id)]
    assert paths == [
        "ckpt/a.bin",
        "ckpt/sub/b.json",
        "eval/metrics.json",
        "models/model.pkl",
        "notes/readme.md",
    ]
    assert record.media_type == "application/json"
    out = client.download_artifact(run.id, "ckpt", tmp_path / "restored")
    assert (out / "sub" / "b.json").read_text() == '{"b": 1}'
    assert (out / "a.bin").read_bytes() == b"A" * 10
    backend = EmbeddedBackend(settings)
    try:
        before = backend.artifacts.stored_bytes()
        with shipyard.start_run(project="p", settings=settings) as again:
            again.log_artifact(folder)
        assert backend.artifacts.stored_bytes() == before
    finally:
        backend.close()
    chunks: list[int] = []
    client.download_artifact(run.id, "models/model.pkl", tmp_path, progress=chunks.append)
    assert (tmp_path / "model.pkl").read_bytes() == b"M" * 50
    assert sum(chunks) == 50


def test_functional_api(settings: Settings, client: Client) -> None:
    run = shipyard.init(project="fn", name="f", params={"a": 1}, settings=settings)
    assert shipyard.active_run() is run
    shipyard.log({"loss": 0.5})
    shipyard.log({"loss": 0.25})
    shipyard.log_params({"b": "x"})
    shipyard.set_tags({"t": "1"})
    shipyard.finish()
    assert shipyard.active_run() is None
    stored = client.get_run(run.id)
    assert stored.status is RunStatus.FINISHED
    assert list(client.metric_history(run.id, "loss").values) == [0.5, 0.25]
    assert stored.params == {"a": 1, "b": "x"}
    with pytest.raises(InvalidArgument, match="no active run"):
        shipyard.log({"x": 1.0})


@pytest.mark.parametrize(
    ("tail", "status", "error"),
    [
        ("", "FINISHED", None),
        ("raise RuntimeError('crashed')", "FAILED", "RuntimeError: crashed"),
        ("raise KeyboardInterrupt", "KILLED", "KeyboardInterrupt"),
        ("shipyard.finish(status='KILLED')", "KILLED", None),
    ],
)
def test_functional_run_is_finished_at_exit(
    tmp_path: Path, tail: str, status: str, error: str | None
) -> None:
    code = f"""
        import shipyard
        run = shipyard.init(project="atexit", name="unfinished")
        print(run.id)
        shipyard.log({{"loss": 1.0}})
        {tail}
    """
    EmbeddedBackend(Settings(home=tmp_path / ".shipyard")).close()  # migrate once, in-process
    proc = _python(code, tmp_path, {"SHIPYARD_SYSTEM_METRICS_INTERVAL": "0"})
    run_id = proc.stdout.strip().splitlines()[0]
    with Client(settings=Settings(home=tmp_path / ".shipyard")) as client:
        stored = client.get_run(run_id)
    assert stored.status.value == status, proc.stderr
    assert stored.metrics["loss"].count == 1
    if error is None:
        assert stored.error is None
    else:
        assert stored.error is not None
        assert stored.error.startswith(error)


def test_client_queries(settings: Settings, client: Client) -> None:
    ids = []
    for i in range(5):
        with shipyard.start_run(project="q", name=f"r{i}", settings=settings) as run:
            run.log_metric("acc", i / 10)
        ids.append(run.id)
    assert "q" in [p.name for p in client.list_projects()]
    best = client.search_runs("q", filter="metrics.acc > 0.15", order_by="-metrics.acc")
    assert [r.name for r in best.items] == ["r4", "r3", "r2"]
    assert {r.id for r in client.iter_runs("q", page_size=2)} == set(ids)
    client.delete_run(ids[0])
    assert ids[0] not in {r.id for r in client.iter_runs("q")}
    assert ids[0] in {r.id for r in client.iter_runs("q", include_deleted=True)}
    client.restore_run(ids[0])
    assert ids[0] in {r.id for r in client.iter_runs("q", order_by=["start_time DESC"])}
    with pytest.raises(NotFound):
        client.download_artifact(ids[0], "nothing", Path("x"))


def test_system_metrics_are_sampled(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "h", system_metrics_interval=0.05, flush_interval=0.05)
    with shipyard.start_run(project="sys", settings=settings) as run:
        _wait_for(lambda: run.flush(10) and _has_system_metrics(settings, run.id))
        run.log_metric("loss", 1.0)
    with Client(settings=settings) as client:
        stored = client.get_run(run.id)
    assert {"system/cpu_percent", "system/memory_used_mb", "system/process_rss_mb"} <= set(
        stored.metrics
    )
    assert stored.metrics["loss"].last_step == 0  # system samples do not move the user's steps
    assert stored.metrics["system/memory_percent"].min is not None


def _has_system_metrics(settings: Settings, run_id: str) -> bool:
    with Client(settings=settings) as client:
        return "system/cpu_percent" in client.get_run(run_id).metrics


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_a_refused_param_never_takes_metrics_with_it(settings: Settings, client: Client) -> None:
    """Another process set the param first: the batch is refused in the background, not raised."""
    with shipyard.start_run(project="p", settings=settings) as run:
        client.backend.store.log_params(run.id, {"seed": 1})
        run.log_metric("loss", 1.0)
        run.log_params({"seed": 2})
        run.log_metric("loss", 2.0)
    stored = client.get_run(run.id)
    assert stored.params == {"seed": 1}
    assert stored.metrics["loss"].count == 2
    assert stored.status is RunStatus.FINISHED
    assert run.writer_stats.batches_rejected == 1
    assert (run.writer_stats.last_error or "").startswith("Conflict")


@pytest.mark.postgres
def test_direct_postgres_store(pg_url: str, tmp_path: Path) -> None:
    """``SHIPYARD_TRACKING_URI=postgresql+psycopg://...``: the same SDK over PostgreSQL."""
    settings = Settings(
        tracking_uri=pg_url, home=tmp_path / "home", system_metrics_interval=0, flush_interval=0.05
    )
    (tmp_path / "m.txt").write_text("model")
    with shipyard.start_run(project="pg", params={"lr": 0.1}, settings=settings) as run:
        for step in range(500):
            run.log_metrics({"loss": 1 / (step + 1)}, step=step)
        run.log_artifact(tmp_path / "m.txt")
    with Client(settings=settings) as client:
        stored = client.get_run(run.id)
        assert stored.status is RunStatus.FINISHED
        assert stored.metrics["loss"].count == 500
        paths = [a.path for a in client.list_artifacts(run.id)]
        assert paths == [".shipyard/environment.json", "m.txt"]
