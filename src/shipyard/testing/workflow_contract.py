"""The ``WorkflowStore`` contract suite: one set of tests every workflow store must pass.

Subclass :class:`WorkflowStoreContract` and provide a ``workflows`` fixture (the store under
test, empty). The SQL stores and the HTTP store (an engine recording on a hub) both pass it::

    class TestSqliteWorkflows(WorkflowStoreContract):
        @pytest.fixture
        def workflows(self, sql_store):
            return sql_store
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from shipyard.domain.workflows import StepStatus, TriggerEvent, WorkflowStatus
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.store.workflows import WorkflowStore

JOBS = ("prepare", "train", "evaluate")


class WorkflowStoreContract:
    """Tests of every ``WorkflowStore`` method. Subclasses provide ``workflows``."""

    @pytest.fixture
    def workflows(self) -> Iterator[WorkflowStore]:
        """An empty workflow store (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `workflows` fixture")

    def test_creates_a_pending_run_with_pending_jobs(self, workflows: WorkflowStore) -> None:
        trigger = TriggerEvent("push", branch="main", data={"commit": "abc"})
        run = workflows.create_workflow_run(
            name="iris", project="p", jobs=JOBS, path="/r/.shipyard/workflows/iris.yaml",
            spec="jobs: {}", commit="abc", params={"lr": 0.1, "tag": "x"}, trigger=trigger,
            user="ada",
        )  # fmt: skip
        assert run.status is WorkflowStatus.PENDING
        assert run.ended_at is None
        again = workflows.get_workflow_run(run.id)
        assert again == run
        assert again.trigger == trigger
        assert again.params == {"lr": 0.1, "tag": "x"}
        jobs = workflows.list_workflow_jobs(run.id)
        assert [j.name for j in jobs] == list(JOBS)
        assert {j.status for j in jobs} == {StepStatus.PENDING}
        assert [j.position for j in jobs] == [0, 1, 2]

    def test_unknown_ids_are_not_found(self, workflows: WorkflowStore) -> None:
        with pytest.raises(NotFound, match="workflow run 'nope' not found"):
            workflows.get_workflow_run("nope")
        with pytest.raises(NotFound):
            workflows.list_workflow_jobs("nope")
        run = workflows.create_workflow_run(name="w", project="p", jobs=["a"])
        with pytest.raises(NotFound, match="no job 'b'"):
            workflows.update_workflow_job(run.id, "b", status=StepStatus.RUNNING)

    def test_rejects_bad_names(self, workflows: WorkflowStore) -> None:
        with pytest.raises(InvalidArgument):
            workflows.create_workflow_run(name="", project="p", jobs=["a"])
        with pytest.raises(InvalidArgument):
            workflows.create_workflow_run(name="w", project="p", jobs=["x" * 200])

    def test_lists_newest_first_by_project_and_name(self, workflows: WorkflowStore) -> None:
        made = []
        for name, project in (("a", "p1"), ("b", "p1"), ("a", "p2")):
            made.append(workflows.create_workflow_run(name=name, project=project, jobs=["j"]))
            time.sleep(0.002)
        assert [r.id for r in workflows.list_workflow_runs()] == [r.id for r in reversed(made)]
        assert [r.id for r in workflows.list_workflow_runs(project="p1")] == [
            made[1].id,
            made[0].id,
        ]
        assert [r.id for r in workflows.list_workflow_runs(name="a", limit=1)] == [made[2].id]
        with pytest.raises(InvalidArgument):
            workflows.list_workflow_runs(limit=0)

    def test_status_moves_forward_and_ended_runs_do_not_change(
        self, workflows: WorkflowStore
    ) -> None:
        run = workflows.create_workflow_run(name="w", project="p", jobs=["a"])
        assert run.heartbeat_at is None
        running = workflows.set_workflow_status(run.id, WorkflowStatus.RUNNING)
        assert running.ended_at is None
        assert running.heartbeat_at is not None  # RUNNING again is the engine's heartbeat
        ended = workflows.set_workflow_status(run.id, WorkflowStatus.FAILED, message="job a")
        assert ended.status is WorkflowStatus.FAILED
        assert ended.message == "job a"
        assert ended.ended_at is not None
        with pytest.raises(Conflict):
            workflows.set_workflow_status(run.id, WorkflowStatus.SUCCEEDED)

    def test_updates_jobs_field_by_field(self, workflows: WorkflowStore) -> None:
        run = workflows.create_workflow_run(name="w", project="p", jobs=["a"])
        job = workflows.update_workflow_job(
            run.id, "a", status=StepStatus.RUNNING, run_id="r1", cache_key="k" * 64,
            reason="ran: no earlier run", fingerprint={"command": "x"},
        )  # fmt: skip
        assert job.status is StepStatus.RUNNING
        assert job.started_at is not None
        assert job.ended_at is None
        assert job.fingerprint == {"command": "x"}
        done = workflows.update_workflow_job(
            run.id, "a", status=StepStatus.SUCCEEDED, outputs={"model": "models:/m/1"}
        )
        assert done.ended_at is not None
        assert done.run_id == "r1"
        assert done.reason.startswith("ran")
        assert done.outputs == {"model": "models:/m/1"}
        assert done.cache_key == "k" * 64
        assert workflows.list_workflow_jobs(run.id) == [done]

    def test_cancel_ends_a_pending_run_and_flags_a_running_one(
        self, workflows: WorkflowStore
    ) -> None:
        pending = workflows.create_workflow_run(name="w", project="p", jobs=["a", "b"])
        cancelled = workflows.request_workflow_cancel(pending.id)
        assert cancelled.status is WorkflowStatus.CANCELLED
        assert cancelled.cancel_requested
        assert {j.status for j in workflows.list_workflow_jobs(pending.id)} == {
            StepStatus.CANCELLED
        }
        running = workflows.create_workflow_run(name="w", project="p", jobs=["a"])
        workflows.set_workflow_status(running.id, WorkflowStatus.RUNNING)
        flagged = workflows.request_workflow_cancel(running.id)
        assert flagged.status is WorkflowStatus.RUNNING
        assert flagged.cancel_requested
        workflows.set_workflow_status(running.id, WorkflowStatus.SUCCEEDED)
        after = workflows.request_workflow_cancel(running.id)  # no-op once ended
        assert after.status is WorkflowStatus.SUCCEEDED

    def test_finds_cached_and_previous_jobs(self, workflows: WorkflowStore) -> None:
        key = "c" * 64
        assert workflows.find_cached_job("p", key) is None
        first = workflows.create_workflow_run(name="w", project="p", jobs=["a", "b"])
        workflows.update_workflow_job(first.id, "a", cache_key=key, status=StepStatus.FAILED)
        assert workflows.find_cached_job("p", key) is None
        workflows.update_workflow_job(first.id, "b", cache_key=key, status=StepStatus.SUCCEEDED)
        found = workflows.find_cached_job("p", key)
        assert found is not None
        assert found.name == "b"
        assert workflows.find_cached_job("other", key) is None
        second = workflows.create_workflow_run(name="w", project="p", jobs=["a", "b"])
        time.sleep(0.002)
        workflows.update_workflow_job(second.id, "b", status=StepStatus.CACHED, cache_key=key)
        previous = workflows.find_previous_job("p", "w", "b")
        assert previous is not None
        assert previous.workflow_run_id == second.id
        assert workflows.find_previous_job("p", "w", "a") is None
        assert workflows.find_previous_job("p", "other", "b") is None

    def test_records_a_retry_and_keeps_fields_not_given(self, workflows: WorkflowStore) -> None:
        first = workflows.create_workflow_run(name="w", project="p", jobs=["a", "b"])
        workflows.set_workflow_status(first.id, WorkflowStatus.FAILED, message="job a failed")
        retry = workflows.create_workflow_run(
            name="w", project="p", jobs=["a", "b"], retry_of=first.id
        )
        assert retry.retry_of == first.id
        assert workflows.get_workflow_run(retry.id).retry_of == first.id
        running = workflows.set_workflow_status(retry.id, WorkflowStatus.RUNNING)
        assert running.message == ""
        workflows.update_workflow_job(
            retry.id, "a", status=StepStatus.RUNNING, reason="ran", fingerprint={"p": {"x": 1}}
        )
        job = workflows.update_workflow_job(retry.id, "a", message="line 1\nline 2")
        assert job.status is StepStatus.RUNNING
        assert job.reason == "ran"
        assert job.fingerprint == {"p": {"x": 1}}
        assert job.message == "line 1\nline 2"
        assert workflows.update_workflow_job(retry.id, "a", attempt=2).attempt == 2
        other = workflows.list_workflow_jobs(retry.id)[1]
        assert other.status is StepStatus.PENDING
        assert other.started_at is None

    def test_writes_to_unknown_runs_are_not_found(self, workflows: WorkflowStore) -> None:
        with pytest.raises(NotFound):
            workflows.set_workflow_status("nope", WorkflowStatus.RUNNING)
        with pytest.raises(NotFound):
            workflows.update_workflow_job("nope", "a", status=StepStatus.RUNNING)
        with pytest.raises(NotFound):
            workflows.request_workflow_cancel("nope")

    def test_only_jobs_that_ran_serve_the_cache(self, workflows: WorkflowStore) -> None:
        key = "d" * 64
        run = workflows.create_workflow_run(name="w", project="p", jobs=["a"])
        workflows.update_workflow_job(run.id, "a", status=StepStatus.CACHED, cache_key=key)
        assert workflows.find_cached_job("p", key) is None  # a reuse is not a result
        previous = workflows.find_previous_job("p", "w", "a")
        assert previous is not None
        assert previous.status is StepStatus.CACHED
