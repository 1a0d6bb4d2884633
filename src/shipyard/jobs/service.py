""":class:`JobService`: submit, list, follow and cancel jobs (what ``shipyard jobs`` calls).

A direct job moves forward whenever it is read (``get``, ``list``, ``logs``, ``wait``): its
executor is asked where it is and, once it ended, its output is stored, its run ended and, when it
failed with retries left, its next attempt submitted. The detached watcher that ``submit`` starts
(``_watch``) reads the job until it ends, so this happens even when nobody looks. Those steps are
guarded by the job store, so any number of readers may do them at once.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from shipyard.capture.layout import OUTPUT_ARTIFACT
from shipyard.domain.ids import is_id
from shipyard.domain.jobs import Job, JobPhase
from shipyard.errors import InvalidArgument, NotFound, ShipyardError, Unavailable
from shipyard.executors.base import Executor, JobHandle
from shipyard.jobs import _submit
from shipyard.jobs._code import remove_workdir
from shipyard.jobs._executors import executor_for, reachable, this_host
from shipyard.jobs._lifecycle import JobContext, Note, logger, observe
from shipyard.jobs._render import dry_run
from shipyard.jobs._submission import Submission
from shipyard.jobs._watch import spawn_watcher
from shipyard.jobs.request import JobRequest
from shipyard.sdk._http import HttpBackend
from shipyard.sdk.backend import Backend, open_backend
from shipyard.settings import Settings
from shipyard.store.jobs import JobStore

__all__ = ["JobService", "dry_run", "open_job_store"]

MIN_PREFIX = 6
SUBMIT_GRACE_S = 120.0
"""How long an attempt may stay unsubmitted (or a new job unstarted) before a reader takes over."""
POLL_S = 0.5
MAX_POLL_S = 2.0


def open_job_store(backend: Backend) -> JobStore:
    """The job store of an SDK backend: the SQL store itself, or the server's job routes."""
    if isinstance(backend, HttpBackend):
        from shipyard.sdk._http_jobs import HttpJobStore

        return HttpJobStore(backend.store)
    store = backend.store
    if not isinstance(store, JobStore):
        raise InvalidArgument(
            f"the {type(store).__name__} store does not keep jobs",
            hint="use the embedded store, a SQL store or a Shipyard server",
        )
    return store


class JobService:
    """Run commands as tracked jobs and manage them.

    Args:
        settings: configuration (default: ``Settings()``); the tracking settings reach the jobs.
        note: where remarks for people go (the CLI prints them; default: the ``shipyard.jobs``
            logger).
        watch: start a detached watcher for each direct job submitted, which ends its run (and
            retries it) when it ends even if nobody reads it (see ``_watch``).

    Example::

        with JobService() as jobs:
            job = jobs.submit(JobRequest(["python", "train.py"], project="iris", retries=1))
            final = jobs.wait(job.run_id)
    """

    def __init__(
        self, settings: Settings | None = None, *, note: Note | None = None, watch: bool = True
    ) -> None:
        self.settings = settings or Settings()
        self.watch = watch
        backend = open_backend(self.settings)
        try:
            store = open_job_store(backend)
        except BaseException:
            backend.close()
            raise
        self._ctx = JobContext(self.settings, backend, store, note or logger.warning)

    @property
    def store(self) -> JobStore:
        """The job store."""
        return self._ctx.store

    @property
    def backend(self) -> Backend:
        """The SDK backend the job's runs live in."""
        return self._ctx.backend

    def __enter__(self) -> JobService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the backend's connections."""
        self._ctx.backend.close()

    # -- submitting ---------------------------------------------------------------------------

    def submit(self, request: JobRequest) -> Job:
        """Run ``request`` as a job: create its run, capture the code state with it, record the
        job, and (unless it targets a queue) submit its first attempt to the executor (and start
        its watcher).

        Raises ``InvalidArgument`` for a bad request (nothing is created), the executor's or the
        backend's errors otherwise (the run then ends ``FAILED``).
        """
        job = _submit.submit(self._ctx, request)
        if self.watch and job.queue is None and not job.state.is_terminal:
            log = Path(self.settings.home).absolute() / "jobs" / "watchers.log"
            spawn_watcher(self.settings, job.run_id, log)
        return job

    # -- reading ------------------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        """The run id that ``ref`` names: a full id, or a unique prefix of at least 6 characters.
        Raises ``NotFound`` or ``InvalidArgument`` (too short, ambiguous)."""
        ref = ref.strip()
        if is_id(ref):
            return ref
        if len(ref) < MIN_PREFIX:
            raise InvalidArgument(
                f"job id prefix {ref!r} is too short",
                hint=f"give at least {MIN_PREFIX} characters of the run id",
            )
        found = self.store.list_jobs(run_id_prefix=ref, limit=2)
        if not found:
            raise NotFound(
                f"no job whose run id starts with {ref!r}", hint="see `shipyard jobs list`"
            )
        if len(found) > 1:
            raise InvalidArgument(
                f"job id prefix {ref!r} is ambiguous", hint="give more characters of the run id"
            )
        return found[0].run_id

    def get(self, ref: str) -> Job:
        """The job (a run id or prefix), refreshed from its executor."""
        return self.refresh(self.store.get_job(self.resolve(ref)))

    def list(
        self, *, queue: str | None = None, states: Sequence[JobPhase] = (), limit: int = 100
    ) -> list[Job]:
        """Jobs newest first, each active direct job refreshed from its executor."""
        found = self.store.list_jobs(queue=queue, states=states, limit=limit)
        return [self.refresh(job) for job in found]

    def can_refresh(self, job: Job) -> bool:
        """Whether this process can ask the job's executor about it (a direct job of this
        machine, or of a cluster)."""
        submission = _submission(job)
        return submission is not None and reachable(job, submission)

    def refresh(self, job: Job, *, strict: bool = False) -> Job:
        """Bring a direct job up to date with its executor (see the module docstring); other
        jobs (queued, on another machine) are returned as stored, and so are jobs whose executor
        cannot be reached (``strict`` raises ``Unavailable`` then)."""
        if job.state.is_terminal:
            self._clean_up(job)
            return job
        submission = _submission(job)
        if submission is None or not reachable(job, submission):
            return job
        try:
            job = self._advance(job, executor_for(job.executor, submission))
        except Unavailable as exc:
            if strict:
                raise
            self._ctx.note(f"job {job.run_id}: {exc.message}")
            return job
        if job.state.is_terminal:
            self._clean_up(job)
        return job

    def _advance(self, job: Job, executor: Executor) -> Job:
        if job.attempt_open and job.handle is not None:
            job = observe(self._ctx, job, executor)
        stale = _age_s(job) > SUBMIT_GRACE_S
        if job.between_attempts and (job.attempts > 0 or stale):
            job = _submit.start_direct_attempt(self._ctx, job)
        elif job.attempt_open and job.handle is None and stale:
            message = "the process submitting this attempt stopped before it was submitted"
            job = self.store.complete_job(
                job.run_id, attempt=job.attempts, state=JobPhase.LOST, message=message
            )
        return job

    def wait(self, ref: str, timeout: float | None = None) -> Job:
        """Block until the job ended (or ``timeout`` seconds passed); returns it."""
        run_id = self.resolve(ref)
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = POLL_S / 5
        job = self.get(run_id)
        while not job.state.is_terminal:
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(pause)
            pause = min(pause * 1.5, MAX_POLL_S)
            job = self.get(run_id)
        return job

    # -- output -------------------------------------------------------------------------------

    def logs(self, ref: str, *, follow: bool = False) -> Iterator[str]:
        """The job's output lines: live from its executor when this machine can reach it, else
        as stored with the run when the job ended. With ``follow``, keep streaming through every
        attempt until the job ends."""
        job = self.get(ref)
        return self._follow(job) if follow else self._output(job)

    def _output(self, job: Job) -> Iterator[str]:
        live = self._executor(job)
        if live is not None and job.handle is not None:
            try:
                yield from live.logs(JobHandle.parse(job.handle))
                return
            except NotFound:
                pass
        yield from self._stored_output(job.run_id)

    def _follow(self, job: Job) -> Iterator[str]:
        shown: str | None = None
        if job.queue is not None and not job.state.is_terminal:
            self._ctx.note(
                f"job {job.run_id} runs on an agent of queue {job.queue}; "
                "its output is shown when it ends"
            )
        while not job.state.is_terminal:
            live = self._executor(job)
            handle = job.handle
            if live is not None and job.attempt_open and handle is not None and handle != shown:
                shown = handle
                if job.attempts > 1:
                    self._ctx.note(f"attempt {job.attempts} of {job.max_retries + 1}")
                yield from live.logs(JobHandle.parse(handle), follow=True)
            else:
                time.sleep(POLL_S)
            job = self.get(job.run_id)
        if shown is None:  # ran elsewhere (an agent): its output was stored when it ended
            yield from self._stored_output(job.run_id)

    def _stored_output(self, run_id: str) -> Iterator[str]:
        try:
            artifact = self.backend.store.get_artifact(run_id, OUTPUT_ARTIFACT)
        except NotFound:
            return
        with tempfile.TemporaryDirectory(prefix="shipyard-job-") as tmp:
            local = Path(tmp, "output.log")
            self.backend.download_artifact(run_id, artifact, local)
            with local.open(encoding="utf-8", errors="replace") as lines:
                yield from (line.rstrip("\n") for line in lines)

    def _executor(self, job: Job) -> Executor | None:
        submission = _submission(job)
        if submission is None or not reachable(job, submission):
            return None
        try:
            return executor_for(job.executor, submission)
        except ShipyardError:
            return None

    # -- cancelling ---------------------------------------------------------------------------

    def cancel(self, ref: str) -> Job:
        """Cancel the job: at once when no executor holds it (queued, between attempts); else
        stop its whole process tree through the executor (or, for an agent's job, ask the agent
        to) and end its run ``KILLED``. Cancelling an ended job changes nothing."""
        job = self.store.request_cancel(self.resolve(ref))
        live = None if job.state.is_terminal else self._executor(job)
        if live is not None and job.handle is not None:
            live.cancel(JobHandle.parse(job.handle))
        return self.refresh(self.store.get_job(job.run_id))

    def _clean_up(self, job: Job) -> None:
        """Remove the snapshot folder of an ended direct job run from this machine."""
        submission = _submission(job)
        if submission is None or submission.code != "snapshot" or not submission.workdir:
            return
        if submission.host == this_host():
            remove_workdir(Path(submission.workdir))


def _submission(job: Job) -> Submission | None:
    """The job's submission; ``None`` for a job recorded by another tool (left alone)."""
    try:
        return Submission.from_dict(job.spec)
    except InvalidArgument:
        return None


def _age_s(job: Job) -> float:
    return time.time() - job.updated_at / 1000
