"""Environment capture: what it adds to ``shipyard.start_run`` and to a run's end.

Runs are started in a git repository with uncommitted changes (a modified file and an untracked
one), against the embedded SQLite store, with capture on and off, alternating so that both see the
same machine state. ``start_run`` returns before the capture is done (it runs in a thread);
``finish`` waits for it, so the end of a short run carries the capture's cost. Also reported: the
capture itself (``capture_environment``), timed in the same process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from _harness import Json, emit, log, machine, parse_args, summarize, workdir

import shipyard
from shipyard.capture import capture_environment
from shipyard.settings import Settings

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def make_dirty_repo(root: Path) -> None:
    """A repository with 20 committed files, one of them modified, and one untracked file."""
    root.mkdir()
    env = {**os.environ, **GIT_ENV, "GIT_CONFIG_GLOBAL": str(root.parent / "gitconfig")}
    for i in range(20):
        (root / f"module_{i}.py").write_text(f"VALUE = {i}\n" * 50)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    (root / "module_0.py").write_text("VALUE = -1\n")
    (root / "notes.txt").write_text("untracked\n")


def time_runs(settings: Settings, repeats: int) -> tuple[list[float], list[float]]:
    """Milliseconds of ``start_run`` and of ``finish`` for ``repeats`` runs."""
    starts: list[float] = []
    ends: list[float] = []
    for _ in range(repeats):
        begin = time.perf_counter()
        run = shipyard.start_run(project="bench-capture", settings=settings)
        started = time.perf_counter()
        run.finish()
        ends.append((time.perf_counter() - started) * 1000)
        starts.append((started - begin) * 1000)
    return starts, ends


def main() -> None:
    """Measure and print one JSON object."""
    args = parse_args(__doc__ or "")
    repeats = 10 if args.quick else 40
    with workdir("capture") as root:
        repo = root / "repo"
        make_dirty_repo(repo)
        os.environ.update(GIT_ENV, GIT_CONFIG_GLOBAL=str(root / "gitconfig"))
        os.chdir(repo)
        base = Settings(home=root / "home", system_metrics_interval=0, flush_interval=0.05)
        on, off = base, base.model_copy(update={"capture": False})
        time_runs(on, 2)  # warm-up: imports, database creation
        results: dict[str, list[float]] = {"on_start": [], "on_end": [], "off_start": []}
        results["off_end"] = []
        log(f"timing {repeats} runs with capture on and {repeats} with it off")
        for _ in range(repeats):
            for label, settings in (("on", on), ("off", off)):
                start, end = time_runs(settings, 1)
                results[f"{label}_start"] += start
                results[f"{label}_end"] += end
        capture_ms = [capture_environment(cwd=repo)["duration_ms"] for _ in range(repeats)]
    report: Json = {
        "benchmark": "capture",
        "machine": machine(),
        "python": sys.version.split()[0],
        "start_run_ms": {
            "capture_on": summarize(results["on_start"], "ms"),
            "capture_off": summarize(results["off_start"], "ms"),
        },
        "finish_ms": {
            "capture_on": summarize(results["on_end"], "ms"),
            "capture_off": summarize(results["off_end"], "ms"),
        },
        "capture_environment_ms": summarize(capture_ms, "ms"),
    }
    emit(report)


if __name__ == "__main__":
    main()
