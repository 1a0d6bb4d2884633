"""The ``JobStore`` contract suite: one set of tests every job store must pass.

Subclass :class:`JobStoreContract` and provide two fixtures: ``jobs`` (the store under test) and
``runs`` (a :class:`~shipyard.store.RunStore` over the same data)::

    class TestSqliteJobs(JobStoreContract):
        @pytest.fixture
        def jobs(self, sql_store):
            return sql_store
        ...
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from shipyard.domain.entities import RunStatus
from shipyard.domain.jobs import Job, JobPhase
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from shipyard.store.base import RunStore
from shipyard.store.jobs import JobStore

SPEC = {"spec": {"command": ["python", "train.py"], "env": {"LR": "0.1"}}}
SHORT_LEASE_S = 0.2


class JobStoreContract:
    """Tests of every ``JobStore`` method. Subclasses provide ``jobs`` and ``runs``."""

    @pytest.fixture
    def jobs(self) -> Iterator[JobStore]:
        """An empty job store (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `jobs` fixture")

    @pytest.fixture
    def runs(self) -> RunStore:
        """The run store over the same data (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `runs` fixture")

    def new_job(
        self, jobs: JobStore, runs: RunStore, queue: str | None = None, retries: int = 0
    ) -> Job:
        """A job of a fresh run in project ``jobs``."""
        run = runs.create_run("jobs", name="job")
        return jobs.create_job(
            run.id, executor="local", spec=SPEC, max_retries=retries, queue=queue
        )

    def started(self, jobs: JobStore, runs: RunStore, retries: int = 0) -> Job:
        """A direct job whose first attempt was submitted."""
        job = self.new_job(jobs, runs, retries=retries)
        return jobs.start_attempt(job.run_id, attempt=1, handle="local:first")

    # -- creating and reading -----------------------------------------------------------------
    def test_is_a_job_store(self, jobs: JobStore) -> None:
        assert isinstance(jobs, JobStore)

    def test_a_direct_job_starts_pending_and_round_trips(
        self, jobs: JobStore, runs: RunStore
    ) -> None:
        job = self.new_job(jobs, runs, retries=2)
        assert (job.state, job.attempts, job.max_retries, job.queue) == (
            JobPhase.PENDING,
            0,
            2,
            None,
        )
        assert job.spec == SPEC
        assert job.created_at > 0
        assert jobs.get_job(job.run_id) == job

    def test_a_queued_job_starts_queued(self, jobs: JobStore, runs: RunStore) -> None:
        job = self.new_job(jobs, runs, queue="gpu-box")
        assert (job.state, job.queue, job.agent) == (JobPhase.QUEUED, "gpu-box", None)

    def test_bad_jobs_are_refused(self, jobs: JobStore, runs: RunStore) -> None:
        run = runs.create_run("jobs")
        with pytest.raises(NotFound, match="0" * 32):
            jobs.create_job("0" * 32, executor="local", spec=SPEC)
        with pytest.raises(InvalidArgument, match="queue"):
            jobs.create_job(run.id, executor="local", spec=SPEC, queue="a b")
        with pytest.raises(InvalidArgument, match="executor"):
            jobs.create_job(run.id, executor="Local Box", spec=SPEC)
        with pytest.raises(InvalidArgument, match="retries"):
            jobs.create_job(run.id, executor="local", spec=SPEC, max_retries=-1)
        jobs.create_job(run.id, executor="local", spec=SPEC)
        with pytest.raises(AlreadyExists, match=run.id):
            jobs.create_job(run.id, executor="local", spec=SPEC)

    def test_a_run_without_a_job_is_not_found(self, jobs: JobStore, runs: RunStore) -> None:
        run = runs.create_run("jobs")
        with pytest.raises(NotFound, match=run.id) as caught:
            jobs.get_job(run.id)
        assert caught.value.hint

    def test_list_filters_and_orders_newest_first(self, jobs: JobStore, runs: RunStore) -> None:
        first = self.new_job(jobs, runs, queue="q1")
        second = self.new_job(jobs, runs)
        third = self.new_job(jobs, runs, queue="q1")
        assert [j.run_id for j in jobs.list_jobs()] == [third.run_id, second.run_id, first.run_id]
        assert [j.run_id for j in jobs.list_jobs(queue="q1")] == [third.run_id, first.run_id]
        pending = jobs.list_jobs(states=[JobPhase.PENDING])
        assert [j.run_id for j in pending] == [second.run_id]
        assert [j.run_id for j in jobs.list_jobs(limit=1)] == [third.run_id]
        by_prefix = jobs.list_jobs(run_id_prefix=second.run_id[:30])
        assert [j.run_id for j in by_prefix] == [second.run_id]
        assert jobs.list_jobs(run_id_prefix="zz_%") == []

    # -- direct jobs ----------------------------------------------------------------------------
    def test_an_attempt_is_started_once(self, jobs: JobStore, runs: RunStore) -> None:
        job = self.started(jobs, runs)
        assert (job.attempts, job.handle, job.state) == (1, "local:first", JobPhase.PENDING)
        assert job.started_at is not None
        with pytest.raises(Conflict, match="cannot start attempt 1"):
            jobs.start_attempt(job.run_id, attempt=1, handle="local:again")
        with pytest.raises(Conflict):
            jobs.start_attempt(job.run_id, attempt=2, handle="local:again")

    def test_an_attempt_opened_before_submission_records_its_handle_later(
        self, jobs: JobStore, runs: RunStore
    ) -> None:
        job = self.new_job(jobs, runs)
        opened = jobs.start_attempt(job.run_id, attempt=1)
        assert (opened.attempts, opened.handle) == (1, None)
        beat = jobs.heartbeat(job.run_id, attempt=1, handle="ray:x", state=JobPhase.RUNNING)
        assert (beat.handle, beat.state) == ("ray:x", JobPhase.RUNNING)

    def test_cancelling_before_the_handle_is_known_ends_the_job(
        self, jobs: JobStore, runs: RunStore
    ) -> None:
        job = self.new_job(jobs, runs)
        jobs.start_attempt(job.run_id, attempt=1)
        assert jobs.request_cancel(job.run_id).state is JobPhase.CANCELLED
        with pytest.raises(Conflict):  # the submitter learns it must stop what it submitted
            jobs.heartbeat(job.run_id, attempt=1, handle="local:late")
        assert runs.get_run(job.run_id).status is RunStatus.KILLED

    def test_success_finishes_the_run_and_completing_twice_conflicts(
        self, jobs: JobStore, runs: RunStore
    ) -> None:
        job = self.started(jobs, runs)
        running = jobs.heartbeat(job.run_id, attempt=1, state=JobPhase.RUNNING)
        assert running.state is JobPhase.RUNNING
        done = jobs.complete_job(job.run_id, attempt=1, state=JobPhase.SUCCEEDED, exit_code=0)
        assert (done.state, done.exit_code, done.ended_at is not None) == (
            JobPhase.SUCCEEDED,
            0,
            True,
        )
        assert [a.state for a in done.history] == [JobPhase.SUCCEEDED]
        run = runs.get_run(job.run_id)
        assert run.status is RunStatus.FINISHED
        assert run.end_time is not None
        with pytest.raises(Conflict, match="not current"):
            jobs.complete_job(job.run_id, attempt=1, state=JobPhase.FAILED)
        with pytest.raises(Conflict):
            jobs.heartbeat(job.run_id, attempt=1)

    @pytest.mark.parametrize(
        ("state", "status"),
        [
            (JobPhase.FAILED, RunStatus.FAILED),
            (JobPhase.TIMED_OUT, RunStatus.FAILED),
            (JobPhase.LOST, RunStatus.FAILED),
            (JobPhase.CANCELLED, RunStatus.KILLED),
        ],
    )
    def test_the_run_follows_how_the_job_ended(
        self, jobs: JobStore, runs: RunStore, state: JobPhase, status: RunStatus
    ) -> None:
        job = self.started(jobs, runs)
        done = jobs.complete_job(job.run_id, attempt=1, state=state, message="it went wrong")
        assert done.state is state
        run = runs.get_run(job.run_id)
        assert run.status is status
        assert run.error == "it went wrong"

    def test_success_keeps_a_status_the_command_set(self, jobs: JobStore, runs: RunStore) -> None:
        job = self.started(jobs, runs)
        runs.update_run(job.run_id, status=RunStatus.FAILED, error="bad accuracy", end_time=1)
        jobs.complete_job(job.run_id, attempt=1, state=JobPhase.SUCCEEDED, exit_code=0)
        run = runs.get_run(job.run_id)
        assert (run.status, run.error) == (RunStatus.FAILED, "bad accuracy")

    def test_a_failed_attempt_is_retried_then_succeeds(
        self, jobs: JobStore, runs: RunStore
    ) -> None:
        job = self.started(jobs, runs, retries=1)
        runs.update_run(job.run_id, status=RunStatus.FAILED, error="boom", end_time=1)
        again = jobs.complete_job(
            job.run_id, attempt=1, state=JobPhase.FAILED, exit_code=3, message="exit 3"
        )
        assert (again.state, again.handle, again.attempts) == (JobPhase.PENDING, None, 1)
        assert "retrying" in again.message
        with pytest.raises(Conflict):  # attempt 1 has ended: it cannot end again
            jobs.complete_job(job.run_id, attempt=1, state=JobPhase.FAILED)
        run = runs.get_run(job.run_id)
        assert (run.status, run.error, run.end_time) == (RunStatus.RUNNING, None, None)
        second = jobs.start_attempt(job.run_id, attempt=2, handle="local:second")
        assert second.attempts == 2
        done = jobs.complete_job(job.run_id, attempt=2, state=JobPhase.SUCCEEDED, exit_code=0)
        assert [(a.attempt, a.state, a.exit_code, a.handle) for a in done.history] == [
            (1, JobPhase.FAILED, 3, "local:first"),
            (2, JobPhase.SUCCEEDED, 0, "local:second"),
        ]
        assert runs.get_run(job.run_id).status is RunStatus.FINISHED

    def test_retries_run_out(self, jobs: JobStore, runs: RunStore) -> None:
        job = self.started(jobs, runs, retries=1)
        jobs.complete_job(job.run_id, attempt=1, state=JobPhase.FAILED, exit_code=1)
        jobs.start_attempt(job.run_id, attempt=2, handle="local:second")
        done = jobs.complete_job(job.run_id, attempt=2, state=JobPhase.FAILED, exit_code=1)
        assert (done.state, done.attempts, done.retries_left) == (JobPhase.FAILED, 2, 0)
        assert runs.get_run(job.run_id).status is RunStatus.FAILED

    def test_a_timed_out_or_cancelled_attempt_is_not_retried(
        self, jobs: JobStore, runs: RunStore
    ) -> None:
        job = self.started(jobs, runs, retries=3)
        done = jobs.complete_job(job.run_id, attempt=1, state=JobPhase.TIMED_OUT)
        assert done.state is JobPhase.TIMED_OUT

    def test_states_are_checked(self, jobs: JobStore, runs: RunStore) -> None:
        job = self.started(jobs, runs)
        with pytest.raises(InvalidArgument):
            jobs.complete_job(job.run_id, attempt=1, state=JobPhase.RUNNING)
        with pytest.raises(InvalidArgument):
            jobs.heartbeat(job.run_id, attempt=1, state=JobPhase.SUCCEEDED)

    # -- cancelling -----------------------------------------------------------------------------
    def test_cancelling_a_queued_job_ends_it_and_its_run(
        self, jobs: JobStore, runs: RunStore
    ) -> None:
        job = self.new_job(jobs, runs, queue="q")
        cancelled = jobs.request_cancel(job.run_id)
        assert cancelled.state is JobPhase.CANCELLED
        assert runs.get_run(job.run_id).status is RunStatus.KILLED
        assert jobs.claim_job("q", agent="a", lease_s=30) is None
        assert jobs.request_cancel(job.run_id) == jobs.get_job(job.run_id)

    def test_cancelling_a_running_job_asks_its_holder(self, jobs: JobStore, runs: RunStore) -> None:
        job = self.started(jobs, runs, retries=2)
        asked = jobs.request_cancel(job.run_id)
        assert (asked.state, asked.cancel_requested) == (JobPhase.PENDING, True)
        assert jobs.heartbeat(job.run_id, attempt=1).cancel_requested
        # a cancelled job is never retried, whatever its last attempt did
        done = jobs.complete_job(job.run_id, attempt=1, state=JobPhase.FAILED, exit_code=143)
        assert done.state is JobPhase.FAILED

    def test_cancelling_between_attempts_ends_the_job(self, jobs: JobStore, runs: RunStore) -> None:
        job = self.started(jobs, runs, retries=1)
        jobs.complete_job(job.run_id, attempt=1, state=JobPhase.FAILED, exit_code=1)
        assert jobs.request_cancel(job.run_id).state is JobPhase.CANCELLED
        with pytest.raises(Conflict):
            jobs.start_attempt(job.run_id, attempt=2, handle="local:late")

    # -- queues and agents ----------------------------------------------------------------------
    def test_claims_take_the_oldest_job_of_the_queue(self, jobs: JobStore, runs: RunStore) -> None:
        first = self.new_job(jobs, runs, queue="q")
        self.new_job(jobs, runs, queue="other")
        second = self.new_job(jobs, runs, queue="q")
        claimed = jobs.claim_job("q", agent="box-1", lease_s=30)
        assert claimed is not None
        assert (claimed.run_id, claimed.agent, claimed.attempts) == (first.run_id, "box-1", 1)
        assert (claimed.state, claimed.lease_s) == (JobPhase.PENDING, 30)
        assert claimed.heartbeat_at is not None
        after = jobs.claim_job("q", agent="box-2", lease_s=30)
        assert after is not None
        assert after.run_id == second.run_id
        assert jobs.claim_job("q", agent="box-3", lease_s=30) is None
        with pytest.raises(InvalidArgument):
            jobs.claim_job("q", agent="box", lease_s=0)

    def test_one_job_goes_to_one_agent(self, jobs: JobStore, runs: RunStore) -> None:
        made = {self.new_job(jobs, runs, queue="race").run_id for _ in range(6)}
        claims: list[str] = []
        lock = threading.Lock()

        def agent(name: str) -> None:
            while (job := jobs.claim_job("race", agent=name, lease_s=30)) is not None:
                with lock:
                    claims.append(job.run_id)

        threads = [threading.Thread(target=agent, args=(f"a{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(claims) == sorted(made)

    def test_the_holder_heartbeats_and_completes(self, jobs: JobStore, runs: RunStore) -> None:
        job = self.new_job(jobs, runs, queue="q")
        claimed = jobs.claim_job("q", agent="box-1", lease_s=30)
        assert claimed is not None
        with pytest.raises(Conflict, match="box-1"):
            jobs.heartbeat(job.run_id, attempt=1, agent="box-2")
        beat = jobs.heartbeat(
            job.run_id, attempt=1, agent="box-1", state=JobPhase.RUNNING, handle="local:x"
        )
        assert (beat.state, beat.handle) == (JobPhase.RUNNING, "local:x")
        assert beat.heartbeat_at is not None
        assert claimed.heartbeat_at is not None
        assert beat.heartbeat_at >= claimed.heartbeat_at
        with pytest.raises(Conflict):
            jobs.complete_job(job.run_id, attempt=1, agent=None, state=JobPhase.SUCCEEDED)
        done = jobs.complete_job(
            job.run_id, attempt=1, agent="box-1", state=JobPhase.SUCCEEDED, exit_code=0
        )
        assert done.history[0].agent == "box-1"
        assert runs.get_run(job.run_id).status is RunStatus.FINISHED

    def test_a_missed_lease_requeues_the_job(self, jobs: JobStore, runs: RunStore) -> None:
        job = self.new_job(jobs, runs, queue="q", retries=1)
        assert jobs.claim_job("q", agent="dead", lease_s=SHORT_LEASE_S) is not None
        time.sleep(SHORT_LEASE_S * 2)
        requeued = jobs.list_jobs(queue="q")[0]
        assert (requeued.state, requeued.agent, requeued.attempts) == (JobPhase.QUEUED, None, 1)
        assert requeued.history[0].state is JobPhase.LOST
        assert "dead" in requeued.history[0].message
        with pytest.raises(Conflict):
            jobs.heartbeat(job.run_id, attempt=1, agent="dead")
        retried = jobs.claim_job("q", agent="alive", lease_s=30)
        assert retried is not None
        assert (retried.run_id, retried.attempts, retried.agent) == (job.run_id, 2, "alive")
        assert runs.get_run(job.run_id).status is RunStatus.RUNNING

    def test_a_missed_lease_without_retries_fails_the_run(
        self, jobs: JobStore, runs: RunStore
    ) -> None:
        job = self.new_job(jobs, runs, queue="q")
        assert jobs.claim_job("q", agent="dead", lease_s=SHORT_LEASE_S) is not None
        time.sleep(SHORT_LEASE_S * 2)
        lost = jobs.get_job(job.run_id)
        assert lost.state is JobPhase.LOST
        run = runs.get_run(job.run_id)
        assert run.status is RunStatus.FAILED
        assert run.error is not None
        assert "dead" in run.error

    def test_a_late_heartbeat_finds_the_lease_gone(self, jobs: JobStore, runs: RunStore) -> None:
        job = self.new_job(jobs, runs, queue="q")
        assert jobs.claim_job("q", agent="slow", lease_s=SHORT_LEASE_S) is not None
        time.sleep(SHORT_LEASE_S * 2)
        with pytest.raises(Conflict, match="LOST"):
            jobs.heartbeat(job.run_id, attempt=1, agent="slow")
