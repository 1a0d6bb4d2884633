"""Jobs: the overhead from submitting a job to its command starting, local and on Ray.

    .venv/bin/python benchmarks/jobs_bench.py [--quick]

The command is ``sh -c 'date +%s%N > STAMP'``: it writes the wall-clock time it started, so the
overhead is that stamp minus the time just before the submission, and includes everything the
jobs layer does first (create the run, capture the environment, store it, record the job,
rebuild the snapshot, hand it to the executor). Variants:

* ``popen``: ``subprocess.Popen`` of the same command (the floor on this machine);
* ``executor_local``: ``LocalExecutor.submit`` alone (the detached supervisor, no tracking);
* ``job_local_in_place``: a local job of a clean git tree (runs in place);
* ``job_local_snapshot``: a local job of a dirty tree (clone at the commit + patch, then run);
* ``job_local_in_place_watched``: as ``job_local_in_place``, with the detached watcher that
  ``JobService`` starts by default (the other job variants run without it);
* ``executor_ray`` / ``job_ray``: the same on a local Ray head node started for the benchmark
  (skipped when ``ray`` is not installed).

Each sample is a fresh job in the embedded store (SQLite + local artifacts), submitted once the
previous one ended. Every job is checked: it must end ``SUCCEEDED`` and its run ``FINISHED``.
The figures depend heavily on the machine's load (reported). JSON on stdout, progress on stderr.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from _harness import Json, emit, log, machine, parse_args, summarize, workdir

from shipyard.domain.entities import RunStatus
from shipyard.domain.jobs import JobPhase
from shipyard.executors import JobSpec, LocalExecutor
from shipyard.jobs import JobRequest, JobService
from shipyard.settings import Settings

STAMP_COMMAND = ["sh", "-c", 'date +%s%N > "$STAMP"']
WAIT_S = 120.0
SETTLE_S = 3.0
"""Pause after a watched job ended, so that its watcher has exited before the next sample."""


def stamp_of(path: Path, timeout: float = WAIT_S) -> float:
    """The epoch seconds the command wrote to ``path`` (waiting until it is there)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text().strip() if path.exists() else ""
        if text:
            return int(text) / 1e9
        if time.monotonic() > deadline:
            raise TimeoutError(f"the command never wrote {path}")
        time.sleep(0.002)


def make_repo(root: Path, dirty: bool) -> Path:
    """A git repository with one committed file (and an uncommitted change when ``dirty``)."""
    repo = root / ("dirty" if dirty else "clean")
    repo.mkdir()
    (repo / "train.py").write_text("print('train')\n")
    (repo / ".gitignore").write_text(".shipyard/\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "init"]):
        subprocess.run(
            ["git", "-c", "user.email=b@b", "-c", "user.name=b", *args], cwd=repo, check=True
        )
    if dirty:
        (repo / "train.py").write_text("print('changed')\n")
    return repo


Starter = Callable[[Path], object]


def sample(start: Starter, stamps: Path, index: int) -> tuple[float, float]:
    """Run ``start(stamp_file)`` once: (seconds the call took, seconds until the command ran)."""
    stamp = stamps / f"{index}.stamp"
    begin = time.time()
    start(stamp)
    returned = time.time()
    return returned - begin, stamp_of(stamp) - begin


def settle(start: Starter) -> None:
    """Let the previous sample's job (and its watcher) end, so samples do not overlap."""
    if isinstance(start, JobVariant):
        start.check()
        time.sleep(SETTLE_S if start.jobs.watch else 0.0)


def measure(name: str, start: Starter, stamps: Path, repeats: int) -> Json:
    """``repeats`` samples of one variant, summarized (after one warm-up sample); each sample
    starts once the previous one's job has ended."""
    stamps = stamps / name
    stamps.mkdir()
    sample(start, stamps, -1)
    calls, latencies = [], []
    for index in range(repeats):
        settle(start)
        call_s, start_s = sample(start, stamps, index)
        calls.append(call_s * 1000)
        latencies.append(start_s * 1000)
    log(f"{name}: median {sorted(latencies)[len(latencies) // 2]:.0f} ms to start")
    return {
        "submit_call": summarize(calls, "ms", 1),
        "to_command_start": summarize(latencies, "ms", 1),
    }


def popen_variant(stamp: Path) -> None:
    subprocess.Popen(STAMP_COMMAND, env={**os.environ, "STAMP": str(stamp)}).wait()


class JobVariant:
    """Submits jobs through a :class:`JobService` and checks each one at the end."""

    def __init__(self, jobs: JobService, repo: Path, **options: object) -> None:
        self.jobs, self.repo, self.options = jobs, repo, options
        self.run_ids: list[str] = []
        self.checked = 0

    def __call__(self, stamp: Path) -> None:
        request = JobRequest(
            STAMP_COMMAND, cwd=self.repo, env={"STAMP": str(stamp)}, **self.options
        )  # type: ignore[arg-type]
        self.run_ids.append(self.jobs.submit(request).run_id)

    def check(self) -> None:
        """Every job ended SUCCEEDED and its run FINISHED."""
        for run_id in self.run_ids[self.checked :]:
            job = self.jobs.wait(run_id, timeout=WAIT_S)
            run = self.jobs.backend.store.get_run(run_id)
            if job.state is not JobPhase.SUCCEEDED or run.status is not RunStatus.FINISHED:
                raise RuntimeError(f"job {run_id} ended {job.state}: {job.message}")
        self.checked = len(self.run_ids)


def executor_variant(executor: object) -> Callable[[Path], object]:
    def start(stamp: Path) -> object:
        spec = JobSpec(STAMP_COMMAND, env={"STAMP": str(stamp)})
        return executor.submit(spec)  # type: ignore[attr-defined]

    return start


@contextlib.contextmanager
def ray_head(root: Path) -> Iterator[str | None]:
    """A local Ray head node's dashboard URL (``None`` when Ray is not installed)."""
    if importlib.util.find_spec("ray") is None:
        yield None
        return
    from shipyard.testing.ray_cluster import RAY_ENV, local_ray_head

    os.environ.update(RAY_ENV)
    with local_ray_head(root / "ray") as head:
        yield head.dashboard_url


def run(quick: bool) -> Json:
    repeats, ray_repeats = (3, 2) if quick else (10, 5)
    results: Json = {}
    with workdir("jobs") as root:
        stamps = root / "stamps"
        stamps.mkdir()
        settings = Settings(home=root / "home", system_metrics_interval=0)
        clean, dirty = make_repo(root, dirty=False), make_repo(root, dirty=True)
        results["popen"] = measure("popen", popen_variant, stamps, repeats)
        local = LocalExecutor(root / "raw-jobs")
        results["executor_local"] = measure(
            "executor_local", executor_variant(local), stamps, repeats
        )
        with JobService(settings, watch=False) as jobs:
            for name, repo in (("job_local_in_place", clean), ("job_local_snapshot", dirty)):
                results[name] = measure_jobs(name, jobs, stamps, repeats, repo)
            with ray_head(root) as address:
                if address is None:
                    results["ray"] = "skipped: ray is not installed"
                else:
                    results.update(ray_results(jobs, address, dirty, stamps, ray_repeats))
        with JobService(settings, watch=True) as watched:
            name = "job_local_in_place_watched"
            results[name] = measure_jobs(name, watched, stamps, repeats, clean)
    return results


def measure_jobs(
    name: str, jobs: JobService, stamps: Path, repeats: int, repo: Path, **options: object
) -> Json:
    """Samples of jobs of ``repo``, each checked to end SUCCEEDED with its run FINISHED."""
    variant = JobVariant(jobs, repo, **options)
    result = measure(name, variant, stamps, repeats)
    variant.check()
    return result


def ray_results(jobs: JobService, address: str, repo: Path, stamps: Path, repeats: int) -> Json:
    from shipyard.executors.ray import RayExecutor

    raw = measure("executor_ray", executor_variant(RayExecutor(address)), stamps, repeats)
    job = measure_jobs("job_ray", jobs, stamps, repeats, repo, executor="ray", ray_address=address)
    return {"executor_ray": raw, "job_ray": job}


def main() -> None:
    args = parse_args(__doc__ or "")
    started = time.perf_counter()
    results = run(args.quick)
    emit(
        {
            "benchmark": "jobs",
            "machine": machine(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "quick": args.quick,
            "results": results,
            "wall_s": round(time.perf_counter() - started, 1),
        }
    )


if __name__ == "__main__":
    main()
