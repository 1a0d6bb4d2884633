"""The SDK against a real ``python -m shipyard.server`` process, including the server going away."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import shipyard
from conftest import free_port, wait_for_port
from shipyard import Client, RunStatus, Settings
from shipyard.sdk.sync import sync


class ServerProcess:
    """A Shipyard server on a fixed port and database that can be killed and started again."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._store = f"sqlite:///{(root / 'server.db').as_posix()}"
        self._artifacts = str(root / "server-artifacts")
        self._log = root / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "shipyard.server", "--store", self._store]
        command += ["--artifacts", self._artifacts, "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--log-level", "warning"]
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(command, stdout=log, stderr=log)
        try:
            wait_for_port(self.port, timeout=60)
        except TimeoutError:
            raise AssertionError(self._log.read_text()) from None

    def kill(self) -> None:
        """Kill it hard: no graceful shutdown, as in a crash."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=30)
            self._proc = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path)
    process.start()
    yield process
    process.kill()


def _settings(server: ServerProcess, home: Path, end_timeout: float = 60.0) -> Settings:
    return Settings(
        tracking_uri=server.url,
        home=home,
        system_metrics_interval=0,
        flush_interval=0.05,
        end_timeout=end_timeout,
    )


def _steps(client: Client, run_id: str, key: str = "loss") -> list[int]:
    return list(client.metric_history(run_id, key).steps)


def test_quickstart_over_http(server: ServerProcess, tmp_path: Path) -> None:
    settings = _settings(server, tmp_path / "client")
    (tmp_path / "model.pkl").write_bytes(b"weights" * 1000)
    with shipyard.start_run(
        project="iris", name="baseline", params={"lr": 0.01}, tags={"team": "cv"}, settings=settings
    ) as run:
        for step in range(100):
            run.log_metrics({"loss": 1 / (step + 1), "acc": step / 100}, step=step)
        run.log_artifact(tmp_path / "model.pkl")
        with shipyard.start_run(name="child", parent=run, settings=settings) as child:
            child.log_metric("loss", 0.5)
    failed = shipyard.start_run(project="iris", settings=settings)
    with pytest.raises(RuntimeError), failed:
        raise RuntimeError("no data")
    with Client(server.url, settings=settings) as client:
        stored = client.get_run(run.id)
        assert stored.status is RunStatus.FINISHED
        assert stored.params == {"lr": 0.01}
        assert stored.tags["team"] == "cv"
        assert stored.metrics["acc"].count == 100
        assert stored.metrics["loss"].min == pytest.approx(0.01)
        assert client.get_run(child.id).parent_id == run.id
        assert client.get_run(failed.id).status is RunStatus.FAILED
        paths = [a.path for a in client.list_artifacts(run.id)]
        assert paths == [".shipyard/environment.json", "model.pkl"]
        out = client.download_artifact(run.id, "model.pkl", tmp_path / "restored.pkl")
        assert out.read_bytes() == b"weights" * 1000
        assert _steps(client, run.id) == list(range(100))


@pytest.mark.slow
def test_nothing_is_lost_while_the_server_restarts(server: ServerProcess, tmp_path: Path) -> None:
    settings = _settings(server, tmp_path / "client")
    with shipyard.start_run(project="resilience", settings=settings) as run:
        for step in range(0, 50):
            run.log_metrics({"loss": float(step), "acc": 1.0}, step=step)
        assert run.flush(60)
        server.kill()
        # Logging goes on without the server: nothing blocks, nothing raises.
        for step in range(50, 30_050):
            run.log_metrics({"loss": float(step), "acc": 1.0}, step=step)
        assert not run.flush(0.5)
        assert run.writer_stats.last_error is not None
        server.start()
        for step in range(30_050, 30_100):
            run.log_metrics({"loss": float(step), "acc": 1.0}, step=step)
    with Client(settings=settings) as client:
        stored = client.get_run(run.id)
        assert stored.status is RunStatus.FINISHED
        assert stored.metrics["loss"].count == 30_100
        assert stored.metrics["acc"].count == 30_100
        assert _steps(client, run.id) == list(range(30_100))
    assert not (settings.spool_dir / run.id).exists()


@pytest.mark.slow
def test_run_ended_while_server_down_is_synced_later(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(server, tmp_path / "client", end_timeout=0.2)
    run = shipyard.start_run(project="offline", settings=settings)
    run.log_metric("loss", 0.0)
    assert run.flush(60)
    server.kill()
    for step in range(1, 1000):
        run.log_metric("loss", float(step))
    run.finish()
    assert "shipyard sync" in capsys.readouterr().err
    assert (settings.spool_dir / run.id).is_dir()
    failed = sync(settings)
    assert not failed.complete
    assert failed.batches_left > 0
    server.start()
    report = sync(settings)
    assert report.complete
    assert report.runs == 1
    assert report.points_sent == 999
    assert not (settings.spool_dir / run.id).exists()
    with Client(settings=settings) as client:
        assert client.get_run(run.id).status is RunStatus.FINISHED
        assert _steps(client, run.id) == list(range(1000))


_SCRIPT = """
    import sys
    import shipyard

    run = shipyard.init(project="crash", name="exits-offline")
    for step in range(100):
        shipyard.log({"loss": float(step)})
    assert run.flush(60)
    print(run.id, flush=True)
    sys.stdin.readline()  # the test kills the server meanwhile
    for step in range(100, 600):
        shipyard.log({"loss": float(step)})
    raise RuntimeError("crashed while offline")
"""


@pytest.mark.slow
def test_process_exiting_while_server_down_leaves_a_spool_that_sync_uploads(
    server: ServerProcess, tmp_path: Path
) -> None:
    home = tmp_path / "client"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(
        SHIPYARD_TRACKING_URI=server.url,
        SHIPYARD_HOME=str(home),
        SHIPYARD_END_TIMEOUT="0.5",
        SHIPYARD_SYSTEM_METRICS_INTERVAL="0",
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_SCRIPT)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    run_id = proc.stdout.readline().strip()
    server.kill()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "shipyard sync" in err
    assert list((home / "spool" / run_id).glob("*.spool"))
    server.start()
    settings = _settings(server, home)
    report = sync(settings)
    assert report.complete
    assert report.points_sent == 500
    assert sync(settings).batches_sent == 0  # idempotent: nothing left the second time
    with Client(settings=settings) as client:
        stored = client.get_run(run_id)
        assert stored.status is RunStatus.FAILED
        assert stored.error is not None
        assert stored.error.startswith("RuntimeError: crashed while offline")
        assert _steps(client, run_id) == list(range(600))
