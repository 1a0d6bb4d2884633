"""Workflows: the engine's orchestration overhead per job, and the time to decide that a fully
cached workflow has nothing to run.

    .venv/bin/python benchmarks/bench_workflows.py [--quick]

A chain of N jobs (``job_i`` needs ``job_{i-1}``), each running ``true`` through the local
executor, in the embedded store (SQLite + local artifacts):

* ``executor_only``: ``LocalExecutor.submit`` + ``wait`` of ``sh -c true``, N times in a row
  (the floor: the detached supervisor and the process);
* ``workflow_cold``: the whole workflow with the cache empty (each job: fingerprint, cache
  lookup, run creation, submit, wait, output saved as an artifact, state recorded);
* ``overhead_per_job_ms`` = (workflow_cold - executor_only) / N: what the engine adds per job;
* ``cached_decision``: the same workflow again, every job a cache hit (nothing runs): the
  wall time of ``start_workflow`` from reading the file to the run recorded ``SUCCEEDED``,
  and that divided by N.

The figures depend heavily on the machine's load (reported). JSON on stdout, progress on stderr.
"""

from __future__ import annotations

import time
from pathlib import Path

from _harness import Json, emit, log, machine, parse_args, summarize, workdir

from shipyard.artifacts.base import open_artifact_store
from shipyard.domain.workflows import StepStatus, WorkflowStatus
from shipyard.executors import JobSpec, LocalExecutor
from shipyard.settings import Settings
from shipyard.store.sql.store import SqlRunStore
from shipyard.workflows.service import start_workflow


def chain(n: int) -> str:
    """A workflow of ``n`` jobs in a chain, each running ``true``."""
    lines = ["name: bench", "jobs:"]
    for i in range(n):
        needs = f", needs: [job_{i - 1}]" if i else ""
        lines.append(f"  job_{i}: {{run: 'true'{needs}}}")
    return "\n".join(lines) + "\n"


def executor_only(root: Path, n: int) -> float:
    """Seconds for ``n`` sequential ``sh -c true`` jobs through the local executor alone."""
    executor = LocalExecutor(root / "bare-jobs")
    start = time.perf_counter()
    for _ in range(n):
        handle = executor.submit(JobSpec(["/bin/sh", "-c", "true"], cwd=str(root)))
        assert executor.wait(handle, timeout=120).state.value == "succeeded"
    return time.perf_counter() - start


def run_workflow(store: SqlRunStore, root: Path, settings: Settings, path: Path) -> float:
    """Seconds for one ``start_workflow(..., wait=True)``; checks that it succeeded."""
    artifacts = open_artifact_store(settings.artifact_uri)
    start = time.perf_counter()
    info = start_workflow(store, artifacts, path, settings=settings, workdir=root, wait=True)
    elapsed = time.perf_counter() - start
    assert info.status is WorkflowStatus.SUCCEEDED, info.run.message
    return elapsed


def main() -> None:
    """Measure and print the JSON result."""
    args = parse_args(__doc__ or "")
    n = 5 if args.quick else 20
    repeats = 3 if args.quick else 10
    result: Json = {"benchmark": "workflows", "jobs": n, "machine": machine()}
    with workdir("workflows") as root:
        path = root / "bench.yaml"
        path.write_text(chain(n))
        settings = Settings(
            tracking_uri=f"sqlite:///{root}/shipyard.db", home=root / "home", capture=False
        )
        store = SqlRunStore.from_uri(settings.store_uri, auto_create=True)
        try:
            log(f"executor only: {n} jobs")
            bare = executor_only(root, n)
            log(f"workflow, cold cache: {n} jobs")
            cold = run_workflow(store, root, settings, path)
            log(f"workflow, fully cached: {repeats} runs")
            cached = [run_workflow(store, root, settings, path) for _ in range(repeats)]
            last = store.list_workflow_runs(limit=1)[0]
            statuses = {job.status for job in store.list_workflow_jobs(last.id)}
            assert statuses == {StepStatus.CACHED}, statuses
        finally:
            store.close()
    result["executor_only_s"] = round(bare, 3)
    result["workflow_cold_s"] = round(cold, 3)
    result["overhead_per_job_ms"] = round((cold - bare) / n * 1000, 1)
    result["cached_decision_ms"] = summarize([s * 1000 for s in cached], "ms", 1)
    result["cached_decision_per_job_ms"] = round(min(cached) / n * 1000, 2)
    emit(result)


if __name__ == "__main__":
    main()
