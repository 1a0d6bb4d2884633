"""The ``TriggerStore`` contract suite: workflow requests and watched workflow files.

Subclass :class:`TriggerStoreContract` and provide a ``triggers`` fixture (an empty store)::

    class TestSqliteTriggers(TriggerStoreContract):
        @pytest.fixture
        def triggers(self, sql_store):
            return sql_store
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from shipyard.domain.triggers import RequestSource, RequestStatus, WorkflowRequest
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.store.triggers import TriggerStore

SHA = "3f2a9c0d" * 5
SHORT_LEASE_S = 0.2


class TriggerStoreContract:
    """Tests of every ``TriggerStore`` method. Subclasses provide ``triggers``."""

    @pytest.fixture
    def triggers(self) -> Iterator[TriggerStore]:
        """An empty trigger store (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `triggers` fixture")

    def _push(self, triggers: TriggerStore, branch: str = "main") -> WorkflowRequest:
        return triggers.create_workflow_request(
            source=RequestSource.GITHUB,
            repo_url="file:///tmp/repo",
            ref=f"refs/heads/{branch}",
            commit=SHA,
            event={"kind": "push", "branch": branch},
        )

    def test_create_and_get_request(self, triggers: TriggerStore) -> None:
        created = self._push(triggers)
        assert created.status is RequestStatus.PENDING
        assert created.branch == "main"
        assert created.commit == SHA
        assert triggers.get_workflow_request(created.id) == created
        assert created.event == {"kind": "push", "branch": "main"}

    def test_unknown_request_is_not_found(self, triggers: TriggerStore) -> None:
        with pytest.raises(NotFound, match="workflow request"):
            triggers.get_workflow_request("0" * 32)

    def test_bad_fields_are_refused(self, triggers: TriggerStore) -> None:
        with pytest.raises(InvalidArgument, match="commit"):
            triggers.create_workflow_request(
                source=RequestSource.GITHUB, event={"kind": "push"}, commit="not a sha; rm -rf"
            )
        with pytest.raises(InvalidArgument, match="event kind"):
            triggers.request_workflow_event("Bad Kind!", {})
        with pytest.raises(InvalidArgument, match="JSON"):
            triggers.create_workflow_request(
                source=RequestSource.MANUAL, event={"kind": "manual"}, params={"x": {1, 2}}
            )
        assert triggers.list_workflow_requests() == []

    def test_event_request(self, triggers: TriggerStore) -> None:
        created = triggers.request_workflow_event("dataset", {"name": "iris", "version": 3})
        assert created.source is RequestSource.EVENT
        assert created.event == {"kind": "dataset", "name": "iris", "version": 3}

    def test_list_newest_first_and_by_status(self, triggers: TriggerStore) -> None:
        first, second = self._push(triggers), self._push(triggers, "dev")
        assert [r.id for r in triggers.list_workflow_requests()] == [second.id, first.id]
        claimed = triggers.claim_workflow_request(daemon="d1", lease_s=60)
        assert claimed is not None
        assert claimed.id == first.id
        pending = triggers.list_workflow_requests(statuses=[RequestStatus.PENDING])
        assert [r.id for r in pending] == [second.id]
        with pytest.raises(InvalidArgument, match="limit"):
            triggers.list_workflow_requests(limit=0)

    def test_claim_and_finish(self, triggers: TriggerStore) -> None:
        created = self._push(triggers)
        claimed = triggers.claim_workflow_request(daemon="d1", lease_s=60)
        assert claimed is not None
        assert claimed.id == created.id
        assert claimed.status is RequestStatus.CLAIMED
        assert claimed.claimed_by == "d1"
        assert claimed.attempts == 1
        assert triggers.claim_workflow_request(daemon="d2", lease_s=60) is None
        with pytest.raises(Conflict, match="not claimed by 'd2'"):
            triggers.finish_workflow_request(created.id, daemon="d2", status=RequestStatus.STARTED)
        done = triggers.finish_workflow_request(
            created.id, daemon="d1", status=RequestStatus.STARTED, workflow_run_ids=["a" * 32]
        )
        assert done.status is RequestStatus.STARTED
        assert done.workflow_run_ids == ("a" * 32,)
        with pytest.raises(Conflict):
            triggers.finish_workflow_request(created.id, daemon="d1", status=RequestStatus.FAILED)

    def test_finish_only_as_started_or_failed(self, triggers: TriggerStore) -> None:
        created = self._push(triggers)
        triggers.claim_workflow_request(daemon="d1", lease_s=60)
        with pytest.raises(InvalidArgument, match="started or failed"):
            triggers.finish_workflow_request(created.id, daemon="d1", status=RequestStatus.PENDING)
        failed = triggers.finish_workflow_request(
            created.id, daemon="d1", status=RequestStatus.FAILED, error="git fetch failed"
        )
        assert failed.status is RequestStatus.FAILED
        assert failed.error == "git fetch failed"

    def test_expired_lease_is_claimable_again(self, triggers: TriggerStore) -> None:
        created = self._push(triggers)
        assert triggers.claim_workflow_request(daemon="d1", lease_s=SHORT_LEASE_S) is not None
        time.sleep(SHORT_LEASE_S * 2)
        again = triggers.claim_workflow_request(daemon="d2", lease_s=60)
        assert again is not None
        assert again.id == created.id
        assert again.claimed_by == "d2"
        assert again.attempts == 2
        with pytest.raises(Conflict):
            triggers.finish_workflow_request(created.id, daemon="d1", status=RequestStatus.STARTED)

    def test_racing_daemons_never_share_a_request(self, triggers: TriggerStore) -> None:
        made = {self._push(triggers).id for _ in range(6)}
        got: list[str] = []
        lock = threading.Lock()

        def claim(name: str) -> None:
            while (found := triggers.claim_workflow_request(daemon=name, lease_s=60)) is not None:
                with lock:
                    got.append(found.id)

        threads = [threading.Thread(target=claim, args=(f"d{i}",)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(got) == sorted(made)

    def test_watch_insert_update_and_ticks(self, triggers: TriggerStore) -> None:
        watch = triggers.watch_workflow(
            repo_url="file:///r", path=".shipyard/workflows/a.yml", branch="main",
            commit=SHA, schedules=["0 3 * * *"], events={"manual": True},
        )  # fmt: skip
        assert watch.schedules == ("0 3 * * *",)
        assert watch.events == {"manual": True}
        assert triggers.advance_watch_tick(watch.id, expected=watch.last_tick_at, to=123)
        assert not triggers.advance_watch_tick(watch.id, expected=watch.last_tick_at, to=456)
        again = triggers.watch_workflow(
            repo_url="file:///r", path=".shipyard/workflows/a.yml", branch="dev", schedules=[]
        )
        assert again.id == watch.id
        assert again.branch == "dev"
        assert again.schedules == ()
        assert again.last_tick_at == 123  # the schedule clock is kept
        assert [w.id for w in triggers.list_workflow_watches()] == [watch.id]
        triggers.delete_workflow_watch(watch.id)
        assert triggers.list_workflow_watches() == []
        with pytest.raises(NotFound, match="workflow watch"):
            triggers.delete_workflow_watch(watch.id)
