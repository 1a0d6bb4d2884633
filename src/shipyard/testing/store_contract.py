"""The ``RunStore`` contract suite: one set of tests that every metadata store must pass.

Subclass :class:`RunStoreContract` in a test module and provide a ``store`` fixture; pytest runs
every ``test_*`` method against it. Only the protocol's public methods are used, so the suite runs
unchanged over SQL stores, the HTTP client store or a plugin's store::

    class TestMyStore(RunStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            store = MyStore(tmp_path)
            yield store
            store.close()

Search has its own suite (``shipyard.testing.search_contract``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence

import pytest

from shipyard.domain.batch import IngestBatch, MetricColumns, RunEnd
from shipyard.domain.entities import Artifact, ParamValue, RunInput, RunStatus
from shipyard.domain.ids import new_id
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from shipyard.store.base import RunStore

SHA_A = "a" * 64
SHA_B = "b" * 64


def points(
    values: Sequence[float], *, start: int = 0, steps: Sequence[int] | None = None
) -> MetricColumns:
    """Metric columns for ``values`` at consecutive steps from ``start`` (timestamp = 1000 + step),
    or at the given ``steps``."""
    chosen = list(range(start, start + len(values))) if steps is None else list(steps)
    return MetricColumns(steps=chosen, timestamps=[1000 + s for s in chosen], values=list(values))


def batch(batch_id: str | None = None, **metrics: MetricColumns) -> IngestBatch:
    """A batch carrying only metrics (a new batch id unless one is given)."""
    return IngestBatch(batch_id=batch_id or new_id(), metrics=metrics)


class RunStoreContract:
    """Tests of every ``RunStore`` method. Subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Iterator[RunStore]:
        """An empty store, closed after the test (subclasses override this)."""
        raise NotImplementedError("subclasses of RunStoreContract provide a `store` fixture")

    # -- projects ---------------------------------------------------------------------------
    def test_is_a_run_store(self, store: RunStore) -> None:
        assert isinstance(store, RunStore)

    def test_create_and_get_project(self, store: RunStore) -> None:
        created = store.create_project("iris", description="flowers")
        got = store.get_project("iris")
        assert got == created
        assert (got.name, got.description) == ("iris", "flowers")
        assert len(got.id) == 32
        assert got.created_at > 0

    def test_create_project_twice_raises_already_exists(self, store: RunStore) -> None:
        store.create_project("iris")
        with pytest.raises(AlreadyExists, match="iris"):
            store.create_project("iris")

    def test_get_missing_project_names_it(self, store: RunStore) -> None:
        with pytest.raises(NotFound, match="nope"):
            store.get_project("nope")

    def test_list_projects_by_name(self, store: RunStore) -> None:
        for name in ("zeta", "alpha", "mid"):
            store.create_project(name)
        assert [p.name for p in store.list_projects()] == ["alpha", "mid", "zeta"]

    def test_invalid_project_name_is_refused(self, store: RunStore) -> None:
        with pytest.raises(InvalidArgument):
            store.create_project("../etc")

    # -- runs -------------------------------------------------------------------------------
    def test_create_run_creates_the_project(self, store: RunStore) -> None:
        run = store.create_run("new-proj", name="first", user="ada", start_time=1234)
        assert store.get_project("new-proj").name == "new-proj"
        assert (run.project, run.name, run.user, run.start_time) == (
            "new-proj",
            "first",
            "ada",
            1234,
        )
        assert run.status is RunStatus.RUNNING
        assert (run.end_time, run.parent_id, run.error, run.deleted) == (None, None, None, False)
        assert store.get_run(run.id) == run

    def test_create_run_with_params_and_tags(self, store: RunStore) -> None:
        run = store.create_run("p", params={"lr": 0.1, "depth": 3}, tags={"team": "vision"})
        assert dict(run.params) == {"lr": 0.1, "depth": 3}
        assert dict(run.tags) == {"team": "vision"}
        assert store.get_run(run.id).params == run.params

    def test_create_run_defaults_start_time_to_now(self, store: RunStore) -> None:
        run = store.create_run("p")
        assert run.start_time > 1_600_000_000_000

    def test_chosen_run_id_is_idempotent(self, store: RunStore) -> None:
        run_id = new_id()
        first = store.create_run("p", run_id=run_id, name="a", start_time=5)
        again = store.create_run("p", run_id=run_id, name="a", start_time=5)
        assert first.id == again.id == run_id
        assert again == first

    def test_chosen_run_id_in_another_project_raises(self, store: RunStore) -> None:
        run_id = new_id()
        store.create_run("p", run_id=run_id)
        with pytest.raises(AlreadyExists, match=run_id):
            store.create_run("other", run_id=run_id)

    def test_child_run_records_its_parent(self, store: RunStore) -> None:
        parent = store.create_run("p")
        child = store.create_run("p", parent_id=parent.id)
        assert store.get_run(child.id).parent_id == parent.id

    def test_missing_parent_raises_not_found(self, store: RunStore) -> None:
        missing = new_id()
        with pytest.raises(NotFound, match=missing):
            store.create_run("p", parent_id=missing)

    def test_get_missing_run_names_the_id(self, store: RunStore) -> None:
        missing = new_id()
        with pytest.raises(NotFound, match=missing):
            store.get_run(missing)

    def test_update_run_changes_only_given_fields(self, store: RunStore) -> None:
        run = store.create_run("p", name="before", params={"a": 1})
        updated = store.update_run(run.id, notes="looks good")
        assert (updated.name, updated.notes, updated.status) == ("before", "looks good", run.status)
        ended = store.update_run(
            run.id,
            name="after",
            status=RunStatus.FAILED,
            end_time=run.start_time + 50,
            error="boom",
        )
        assert (ended.name, ended.notes, ended.status) == ("after", "looks good", RunStatus.FAILED)
        assert (ended.end_time, ended.error, ended.duration_ms) == (run.start_time + 50, "boom", 50)
        assert store.get_run(run.id) == ended
        assert dict(ended.params) == {"a": 1}

    def test_update_missing_run_raises_not_found(self, store: RunStore) -> None:
        missing = new_id()
        with pytest.raises(NotFound, match=missing):
            store.update_run(missing, notes="x")

    def test_soft_delete_and_restore(self, store: RunStore) -> None:
        run = store.create_run("p")
        store.delete_run(run.id)
        assert store.get_run(run.id).deleted is True
        store.restore_run(run.id)
        assert store.get_run(run.id).deleted is False

    def test_delete_missing_run_raises_not_found(self, store: RunStore) -> None:
        missing = new_id()
        with pytest.raises(NotFound, match=missing):
            store.delete_run(missing)
        with pytest.raises(NotFound, match=missing):
            store.restore_run(missing)

    # -- params and tags ----------------------------------------------------------------------
    def test_params_keep_their_types(self, store: RunStore) -> None:
        sent: dict[str, ParamValue] = {
            "i": 4,
            "big": 2**53 + 1,
            "b": True,
            "f": 0.25,
            "s": "adam",
            "n": None,
            "e": "",
        }
        run = store.create_run("p")
        store.log_params(run.id, sent)
        got = store.get_run(run.id).params
        assert dict(got) == sent
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in sent.items()}

    def test_same_param_value_again_is_a_no_op(self, store: RunStore) -> None:
        run = store.create_run("p", params={"lr": 0.1})
        store.log_params(run.id, {"lr": 0.1, "extra": "x"})
        assert dict(store.get_run(run.id).params) == {"lr": 0.1, "extra": "x"}

    def test_param_with_another_value_conflicts(self, store: RunStore) -> None:
        run = store.create_run("p", params={"lr": 0.1})
        with pytest.raises(Conflict, match="lr"):
            store.log_params(run.id, {"lr": 0.2})
        assert store.get_run(run.id).params["lr"] == 0.1

    def test_param_type_change_conflicts(self, store: RunStore) -> None:
        run = store.create_run("p", params={"flag": 1})
        with pytest.raises(Conflict, match="flag"):
            store.log_params(run.id, {"flag": True})

    def test_conflicting_params_change_nothing(self, store: RunStore) -> None:
        run = store.create_run("p", params={"lr": 0.1})
        with pytest.raises(Conflict):
            store.log_params(run.id, {"new": 1, "lr": 0.2})
        assert dict(store.get_run(run.id).params) == {"lr": 0.1}

    def test_invalid_param_key_is_refused(self, store: RunStore) -> None:
        run = store.create_run("p")
        with pytest.raises(InvalidArgument):
            store.log_params(run.id, {"bad\nkey": 1})

    def test_log_params_on_missing_run_raises_not_found(self, store: RunStore) -> None:
        missing = new_id()
        with pytest.raises(NotFound, match=missing):
            store.log_params(missing, {"a": 1})

    def test_tags_set_overwrite_delete(self, store: RunStore) -> None:
        run = store.create_run("p", tags={"a": "1"})
        store.set_tags(run.id, {"a": "2", "b": "x"})
        assert dict(store.get_run(run.id).tags) == {"a": "2", "b": "x"}
        store.delete_tag(run.id, "a")
        assert dict(store.get_run(run.id).tags) == {"b": "x"}

    def test_delete_missing_tag_raises_not_found(self, store: RunStore) -> None:
        run = store.create_run("p")
        with pytest.raises(NotFound, match="nope"):
            store.delete_tag(run.id, "nope")

    # -- ingest -----------------------------------------------------------------------------
    def test_ingest_summarizes_metrics(self, store: RunStore) -> None:
        run = store.create_run("p")
        assert store.ingest(run.id, batch(loss=points([3.0, 1.0, 2.0]), acc=points([0.5])))
        metrics = store.get_run(run.id).metrics
        loss = metrics["loss"]
        assert (loss.key, loss.last, loss.last_step, loss.last_timestamp) == ("loss", 2.0, 2, 1002)
        assert (loss.min, loss.max, loss.count) == (1.0, 3.0, 3)
        assert (metrics["acc"].last, metrics["acc"].count) == (0.5, 1)

    def test_summaries_merge_across_batches(self, store: RunStore) -> None:
        run = store.create_run("p")
        store.ingest(run.id, batch(loss=points([5.0, 4.0], start=10)))
        store.ingest(run.id, batch(loss=points([9.0, -1.0], start=0)))  # older steps arrive late
        loss = store.get_run(run.id).metrics["loss"]
        assert (loss.last, loss.last_step, loss.min, loss.max, loss.count) == (
            4.0,
            11,
            -1.0,
            9.0,
            4,
        )

    def test_last_value_ties_go_to_the_latest_timestamp(self, store: RunStore) -> None:
        run = store.create_run("p")
        cols = MetricColumns(steps=[7, 7, 7], timestamps=[30, 50, 40], values=[1.0, 2.0, 3.0])
        store.ingest(run.id, batch(m=cols))
        summary = store.get_run(run.id).metrics["m"]
        assert (summary.last, summary.last_step, summary.last_timestamp) == (2.0, 7, 50)

    def test_nan_and_infinities_in_summaries(self, store: RunStore) -> None:
        run = store.create_run("p")
        nan, inf = math.nan, math.inf
        store.ingest(
            run.id,
            batch(a=points([1.0, nan]), b=points([nan, nan]), c=points([-inf, 2.0, inf])),
        )
        metrics = store.get_run(run.id).metrics
        assert math.isnan(metrics["a"].last)
        assert (metrics["a"].min, metrics["a"].max, metrics["a"].count) == (1.0, 1.0, 2)
        assert (metrics["b"].min, metrics["b"].max, metrics["b"].count) == (None, None, 2)
        assert (metrics["c"].last, metrics["c"].min, metrics["c"].max) == (inf, -inf, inf)

    def test_replayed_batch_is_a_no_op(self, store: RunStore) -> None:
        run = store.create_run("p")
        first = IngestBatch(
            batch_id="b-1", metrics={"loss": points([1.0, 2.0])}, params={"a": 1}, tags={"t": "1"}
        )
        assert store.ingest(run.id, first) is True
        assert store.ingest(run.id, first) is False
        got = store.get_run(run.id)
        assert got.metrics["loss"].count == 2
        assert store.metric_history(run.id, "loss").values == [1.0, 2.0]
        assert (dict(got.params), dict(got.tags)) == ({"a": 1}, {"t": "1"})

    def test_batch_ids_are_per_run(self, store: RunStore) -> None:
        one, two = store.create_run("p"), store.create_run("p")
        assert store.ingest(one.id, batch("same", m=points([1.0])))
        assert store.ingest(two.id, batch("same", m=points([2.0])))

    def test_ingest_applies_params_tags_and_run_end(self, store: RunStore) -> None:
        run = store.create_run("p")
        end = RunEnd(status=RunStatus.FAILED, end_time=run.start_time + 9, error="OOM")
        store.ingest(
            run.id, IngestBatch(batch_id=new_id(), params={"lr": 0.5}, tags={"k": "v"}, end=end)
        )
        got = store.get_run(run.id)
        assert (got.status, got.end_time, got.error) == (
            RunStatus.FAILED,
            run.start_time + 9,
            "OOM",
        )
        assert (dict(got.params), dict(got.tags)) == ({"lr": 0.5}, {"k": "v"})

    def test_failed_batch_changes_nothing_and_can_be_retried(self, store: RunStore) -> None:
        run = store.create_run("p", params={"lr": 0.1})
        bad = IngestBatch(batch_id="b-1", metrics={"loss": points([1.0])}, params={"lr": 0.2})
        with pytest.raises(Conflict, match="lr"):
            store.ingest(run.id, bad)
        assert "loss" not in store.get_run(run.id).metrics
        with pytest.raises(NotFound):
            store.metric_history(run.id, "loss")
        fixed = IngestBatch(batch_id="b-1", metrics={"loss": points([1.0])}, params={"lr": 0.1})
        assert store.ingest(run.id, fixed) is True
        assert store.get_run(run.id).metrics["loss"].count == 1

    def test_ingest_into_missing_run_raises_not_found(self, store: RunStore) -> None:
        missing = new_id()
        with pytest.raises(NotFound, match=missing):
            store.ingest(missing, batch(m=points([1.0])))

    def test_ingest_refuses_columns_of_different_lengths(self, store: RunStore) -> None:
        run = store.create_run("p")
        cols = MetricColumns(steps=[0, 1], timestamps=[0, 1], values=[1.0])
        with pytest.raises(InvalidArgument, match="m"):
            store.ingest(run.id, batch(m=cols))

    def test_ingest_a_large_batch(self, store: RunStore) -> None:
        run = store.create_run("p")
        count = 100_000
        values = [float(i % 1000) for i in range(count)]
        assert store.ingest(run.id, batch(big=points(values)))
        summary = store.get_run(run.id).metrics["big"]
        assert (summary.count, summary.last, summary.min, summary.max) == (count, 999.0, 0.0, 999.0)
        history = store.metric_history(run.id, "big")
        assert history.total == len(history.values) == count
        assert history.values[:3] == [0.0, 1.0, 2.0]
        assert history.steps[-1] == count - 1

    def test_concurrent_ingest_from_threads(self, store: RunStore) -> None:
        run = store.create_run("p")
        errors: list[BaseException] = []

        def write(worker: int) -> None:
            try:
                for i in range(10):
                    store.ingest(run.id, batch(m=points([float(worker)], start=worker * 100 + i)))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        summary = store.get_run(run.id).metrics["m"]
        assert (summary.count, summary.last_step, summary.min, summary.max) == (40, 309, 0.0, 3.0)

    # -- metric history ---------------------------------------------------------------------
    def test_history_is_ordered_by_step(self, store: RunStore) -> None:
        run = store.create_run("p")
        store.ingest(run.id, batch(m=points([3.0, 4.0], start=2)))
        store.ingest(run.id, batch(m=points([1.0, 2.0], start=0)))
        store.ingest(run.id, batch(m=points([5.0, math.nan], start=4)))
        history = store.metric_history(run.id, "m")
        assert (history.key, history.total) == ("m", 6)
        assert history.steps == [0, 1, 2, 3, 4, 5]
        assert history.timestamps == [1000, 1001, 1002, 1003, 1004, 1005]
        assert history.values[:5] == [1.0, 2.0, 3.0, 4.0, 5.0]
        assert math.isnan(history.values[5])

    def test_history_downsampled_keeps_shape_and_extremes(self, store: RunStore) -> None:
        run = store.create_run("p")
        count = 10_000
        values = [math.sin(i / 300) for i in range(count)]
        values[3333], values[7777] = -100.0, 100.0
        store.ingest(run.id, batch(m=points(values)))
        history = store.metric_history(run.id, "m", max_points=200)
        assert history.total == count
        assert 100 <= len(history.values) <= 200
        assert len(history.steps) == len(history.timestamps) == len(history.values)
        assert -100.0 in history.values
        assert 100.0 in history.values
        assert history.steps[0] == 0
        assert history.steps[-1] == count - 1
        assert all(a < b for a, b in zip(history.steps, history.steps[1:], strict=False))
        assert all(values[s] == v for s, v in zip(history.steps, history.values, strict=True))

    def test_history_with_room_for_every_point_is_complete(self, store: RunStore) -> None:
        run = store.create_run("p")
        store.ingest(run.id, batch(m=points([1.0, 2.0, 3.0])))
        history = store.metric_history(run.id, "m", max_points=10)
        assert (history.values, history.total) == ([1.0, 2.0, 3.0], 3)

    def test_history_of_missing_key_or_run_raises_not_found(self, store: RunStore) -> None:
        run = store.create_run("p")
        with pytest.raises(NotFound, match="nokey"):
            store.metric_history(run.id, "nokey")
        missing = new_id()
        with pytest.raises(NotFound, match=missing):
            store.metric_history(missing, "m")

    # -- artifacts and inputs ---------------------------------------------------------------
    def test_artifact_records(self, store: RunStore) -> None:
        run = store.create_run("p")
        store.add_artifacts(
            run.id,
            [
                Artifact("model/model.pkl", 10, SHA_A, "application/octet-stream"),
                Artifact("model2/x.txt", 1, SHA_B, "text/plain"),
                Artifact("model/conf/c.yaml", 3, SHA_B, "application/yaml"),
                Artifact("readme.md", 5, SHA_A, "text/markdown"),
            ],
        )
        assert _paths(store.list_artifacts(run.id)) == [
            "model/conf/c.yaml",
            "model/model.pkl",
            "model2/x.txt",
            "readme.md",
        ]
        assert _paths(store.list_artifacts(run.id, "model")) == [
            "model/conf/c.yaml",
            "model/model.pkl",
        ]
        assert _paths(store.list_artifacts(run.id, "readme.md")) == ["readme.md"]
        got = store.get_artifact(run.id, "model/model.pkl")
        assert (got.size, got.sha256, got.media_type) == (10, SHA_A, "application/octet-stream")
        assert got.created_at > 0

    def test_re_adding_an_artifact_replaces_it(self, store: RunStore) -> None:
        run = store.create_run("p")
        store.add_artifacts(run.id, [Artifact("a.txt", 1, SHA_A, "text/plain")])
        store.add_artifacts(run.id, [Artifact("a.txt", 2, SHA_B, "text/plain")])
        assert [(a.size, a.sha256) for a in store.list_artifacts(run.id)] == [(2, SHA_B)]

    def test_missing_artifact_raises_not_found(self, store: RunStore) -> None:
        run = store.create_run("p")
        with pytest.raises(NotFound, match=r"nope\.txt"):
            store.get_artifact(run.id, "nope.txt")
        missing = new_id()
        with pytest.raises(NotFound, match=missing):
            store.list_artifacts(missing)

    def test_artifact_path_leaving_the_run_is_refused(self, store: RunStore) -> None:
        run = store.create_run("p")
        with pytest.raises(InvalidArgument):
            store.add_artifacts(run.id, [Artifact("../x", 1, SHA_A, "text/plain")])

    def test_run_inputs(self, store: RunStore) -> None:
        run = store.create_run("p")
        data = RunInput("dataset", "iris", "v1", digest="d1", extra={"rows": "150"})
        model = RunInput("model", "clf", "3", direction="output")
        store.add_run_inputs(run.id, [data, model])
        store.add_run_inputs(run.id, [data])
        assert list(store.list_run_inputs(run.id)) == [data, model]

    def test_run_input_direction_is_checked(self, store: RunStore) -> None:
        run = store.create_run("p")
        with pytest.raises(InvalidArgument, match="direction"):
            store.add_run_inputs(run.id, [RunInput("dataset", "iris", "v1", direction="sideways")])


def _paths(artifacts: Sequence[Artifact]) -> list[str]:
    return [a.path for a in artifacts]
