"""The ``RegistryStore`` contract suite: one set of tests every registry store must pass.

Subclass :class:`RegistryStoreContract` and provide two fixtures: ``registry`` (the store under
test) and ``runs`` (a :class:`~shipyard.store.RunStore` over the same data)::

    class TestSqlRegistry(RegistryStoreContract):
        @pytest.fixture
        def registry(self, sql_store):
            return sql_store
        ...
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shipyard.domain.models import ModelVersion
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.store.base import RunStore
from shipyard.store.registry import RegistryStore

BAD_NAMES = ["", "../x", "a/b", "a b", "@x", ".hidden", "-x", "x" * 129, "a\nb", "a@1"]
BAD_ALIASES = ["", "1st", "latest", "a b", "a/b", "a@b", "x" * 65, "-x"]
SIGNATURE = {
    "inputs": [{"name": "x", "dtype": "float64", "shape": None}],
    "outputs": [{"name": None, "dtype": "int64", "shape": [-1]}],
}


class RegistryStoreContract:
    """Tests of every ``RegistryStore`` method. Subclasses provide the two fixtures."""

    @pytest.fixture
    def registry(self) -> RegistryStore:
        """An empty registry store (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `registry` fixture")

    @pytest.fixture
    def runs(self) -> RunStore:
        """The run store over the same data (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `runs` fixture")

    def version(
        self, registry: RegistryStore, runs: RunStore, name: str = "m", **kw: Any
    ) -> ModelVersion:
        """A new version of ``name`` (created in project ``p`` when needed) from a new run."""
        try:
            registry.get_registered_model(name)
        except NotFound:
            registry.create_registered_model(name, project="p")
        run = runs.create_run("p")
        fields: dict[str, Any] = {"source": "models/m", "flavor": "sklearn", **kw}
        return registry.create_model_version(name, run_id=run.id, **fields)

    # -- registered models ------------------------------------------------------------------
    def test_is_a_registry_store(self, registry: RegistryStore) -> None:
        assert isinstance(registry, RegistryStore)

    def test_create_and_get_a_registered_model(self, registry: RegistryStore) -> None:
        made = registry.create_registered_model(
            "iris-clf", project="iris", description="d", tags={"team": "ml"}
        )
        assert (made.name, made.project, made.description) == ("iris-clf", "iris", "d")
        assert dict(made.tags) == {"team": "ml"}
        assert (dict(made.aliases), made.latest_version) == ({}, None)
        assert made.created_at > 1_600_000_000_000
        assert made.updated_at >= made.created_at
        assert registry.get_registered_model("iris-clf") == made

    def test_a_taken_name_already_exists(self, registry: RegistryStore) -> None:
        registry.create_registered_model("m", project="p")
        with pytest.raises(AlreadyExists, match="'m'") as caught:
            registry.create_registered_model("m", project="other")
        assert caught.value.hint
        assert registry.get_registered_model("m").project == "p"

    def test_list_by_name_and_by_project(self, registry: RegistryStore) -> None:
        assert list(registry.list_registered_models()) == []
        for name, project in (("zeta", "a"), ("alpha", "b"), ("mid", "a")):
            registry.create_registered_model(name, project=project)
        assert [m.name for m in registry.list_registered_models()] == ["alpha", "mid", "zeta"]
        assert [m.name for m in registry.list_registered_models(project="a")] == ["mid", "zeta"]
        assert list(registry.list_registered_models(project="nope")) == []

    def test_update_description_and_tags(self, registry: RegistryStore) -> None:
        registry.create_registered_model("m", project="p", tags={"a": "1"})
        updated = registry.update_registered_model("m", description="new text")
        assert updated.description == "new text"
        registry.set_registered_model_tag("m", "a", "2")
        registry.set_registered_model_tag("m", "b", "3")
        assert dict(registry.get_registered_model("m").tags) == {"a": "2", "b": "3"}
        registry.delete_registered_model_tag("m", "a")
        assert dict(registry.get_registered_model("m").tags) == {"b": "3"}
        with pytest.raises(NotFound, match="'a'"):
            registry.delete_registered_model_tag("m", "a")

    def test_delete_a_registered_model_with_everything(
        self, registry: RegistryStore, runs: RunStore
    ) -> None:
        one = self.version(registry, runs, tags={"k": "v"})
        registry.set_model_alias("m", "champion", one.version)
        registry.delete_registered_model("m")
        with pytest.raises(NotFound, match="'m'"):
            registry.get_registered_model("m")
        made = registry.create_registered_model("m", project="p")
        assert made.latest_version is None
        assert list(registry.list_model_versions("m")) == []

    def test_unknown_models_are_not_found(self, registry: RegistryStore) -> None:
        for call in (
            lambda: registry.get_registered_model("nope"),
            lambda: registry.update_registered_model("nope", description=""),
            lambda: registry.delete_registered_model("nope"),
            lambda: registry.set_registered_model_tag("nope", "k", "v"),
            lambda: registry.list_model_versions("nope"),
            lambda: registry.get_model_version("nope", 1),
            lambda: registry.set_model_alias("nope", "champion", 1),
            lambda: registry.get_model_version_by_alias("nope", "champion"),
            lambda: registry.create_model_version("nope", run_id=None, source="m", flavor="x"),
        ):
            with pytest.raises(NotFound, match="'nope'") as caught:
                call()
            assert caught.value.hint

    def test_bad_names_are_refused(self, registry: RegistryStore) -> None:
        for name in BAD_NAMES:
            with pytest.raises(InvalidArgument, match="model name") as caught:
                registry.create_registered_model(name, project="p")
            assert caught.value.hint, name
        with pytest.raises(InvalidArgument, match="project name"):
            registry.create_registered_model("ok", project="../x")
        with pytest.raises(InvalidArgument, match="tag key"):
            registry.create_registered_model("ok", project="p", tags={"bad key!": "v"})
        assert list(registry.list_registered_models()) == []

    # -- versions ---------------------------------------------------------------------------
    def test_versions_are_numbered_from_one(self, registry: RegistryStore, runs: RunStore) -> None:
        one = self.version(registry, runs, signature=SIGNATURE, description="first")
        two = self.version(registry, runs, created_by="ada", tags={"stage": "x"})
        assert (one.name, one.version, two.version) == ("m", 1, 2)
        assert (one.source, one.flavor, one.description) == ("models/m", "sklearn", "first")
        assert one.signature == SIGNATURE
        assert (two.signature, two.created_by, dict(two.tags)) == (None, "ada", {"stage": "x"})
        assert one.uri == "models:/m/1"
        assert one.run_id is not None
        assert runs.get_run(one.run_id).project == "p"
        assert registry.get_model_version("m", 1) == one
        assert [v.version for v in registry.list_model_versions("m")] == [2, 1]
        assert registry.get_registered_model("m").latest_version == 2

    def test_versions_of_different_models_are_numbered_apart(
        self, registry: RegistryStore, runs: RunStore
    ) -> None:
        assert self.version(registry, runs, "a").version == 1
        assert self.version(registry, runs, "b").version == 1

    def test_a_deleted_number_is_never_given_again(
        self, registry: RegistryStore, runs: RunStore
    ) -> None:
        self.version(registry, runs)
        self.version(registry, runs)
        registry.delete_model_version("m", 2)
        with pytest.raises(NotFound, match="no version 2"):
            registry.get_model_version("m", 2)
        assert registry.get_registered_model("m").latest_version == 1
        assert self.version(registry, runs).version == 3

    def test_concurrent_writers_number_versions_without_gaps(
        self, registry: RegistryStore, runs: RunStore
    ) -> None:
        registry.create_registered_model("busy", project="p")
        run = runs.create_run("p")
        errors: list[BaseException] = []

        def add() -> None:
            try:
                registry.create_model_version("busy", run_id=run.id, source="m", flavor="x")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=add) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert [v.version for v in registry.list_model_versions("busy")] == [6, 5, 4, 3, 2, 1]

    def test_a_version_needs_an_existing_run(self, registry: RegistryStore) -> None:
        registry.create_registered_model("m", project="p")
        with pytest.raises(NotFound, match="run"):
            registry.create_model_version("m", run_id="f" * 32, source="models/m", flavor="x")
        registry.create_model_version("m", run_id=None, source="models/m", flavor="x")
        assert registry.get_model_version("m", 1).run_id is None

    def test_bad_versions_are_refused(self, registry: RegistryStore, runs: RunStore) -> None:
        self.version(registry, runs)
        for source in ("", "/abs", "../up", "a/../b", "a//b"):
            with pytest.raises(InvalidArgument, match="source"):
                registry.create_model_version("m", run_id=None, source=source, flavor="x")
        with pytest.raises(InvalidArgument, match="flavor"):
            registry.create_model_version("m", run_id=None, source="m", flavor="")
        with pytest.raises(InvalidArgument, match="description"):
            registry.create_model_version(
                "m", run_id=None, source="m", flavor="x", description="d" * 10_001
            )
        for bad in (0, -1):
            with pytest.raises(InvalidArgument, match="version"):
                registry.get_model_version("m", bad)
        assert [v.version for v in registry.list_model_versions("m")] == [1]

    def test_update_and_tag_a_version(self, registry: RegistryStore, runs: RunStore) -> None:
        self.version(registry, runs)
        assert registry.update_model_version("m", 1, description="better").description == "better"
        registry.set_model_version_tag("m", 1, "validated", "yes")
        registry.set_model_version_tag("m", 1, "auc", "0.9")
        assert dict(registry.get_model_version("m", 1).tags) == {"auc": "0.9", "validated": "yes"}
        registry.delete_model_version_tag("m", 1, "auc")
        assert dict(registry.get_model_version("m", 1).tags) == {"validated": "yes"}
        with pytest.raises(NotFound, match="'auc'"):
            registry.delete_model_version_tag("m", 1, "auc")
        with pytest.raises(NotFound, match="no version 9"):
            registry.set_model_version_tag("m", 9, "k", "v")

    # -- aliases ----------------------------------------------------------------------------
    def test_aliases_move_and_report_where_they_were(
        self, registry: RegistryStore, runs: RunStore
    ) -> None:
        self.version(registry, runs)
        self.version(registry, runs)
        assert registry.set_model_alias("m", "champion", 1) is None
        assert registry.get_model_version_by_alias("m", "champion").version == 1
        assert registry.set_model_alias("m", "champion", 2) == 1
        assert registry.set_model_alias("m", "challenger", 1) is None
        assert registry.get_model_version_by_alias("m", "champion").version == 2
        assert dict(registry.get_registered_model("m").aliases) == {
            "challenger": 1,
            "champion": 2,
        }
        assert registry.get_model_version("m", 2).aliases == ("champion",)
        assert registry.list_model_versions("m")[1].aliases == ("challenger",)

    def test_delete_an_alias(self, registry: RegistryStore, runs: RunStore) -> None:
        self.version(registry, runs)
        registry.set_model_alias("m", "champion", 1)
        registry.delete_model_alias("m", "champion")
        with pytest.raises(NotFound, match="no alias 'champion'") as caught:
            registry.get_model_version_by_alias("m", "champion")
        assert caught.value.hint
        with pytest.raises(NotFound, match="no alias 'champion'"):
            registry.delete_model_alias("m", "champion")

    def test_deleting_a_version_removes_its_aliases(
        self, registry: RegistryStore, runs: RunStore
    ) -> None:
        self.version(registry, runs)
        self.version(registry, runs)
        registry.set_model_alias("m", "champion", 1)
        registry.set_model_alias("m", "challenger", 2)
        registry.delete_model_version("m", 1)
        assert dict(registry.get_registered_model("m").aliases) == {"challenger": 2}

    def test_an_alias_needs_an_existing_version(
        self, registry: RegistryStore, runs: RunStore
    ) -> None:
        self.version(registry, runs)
        with pytest.raises(NotFound, match="no version 5"):
            registry.set_model_alias("m", "champion", 5)
        for alias in BAD_ALIASES:
            with pytest.raises(InvalidArgument, match="alias") as caught:
                registry.set_model_alias("m", alias, 1)
            assert caught.value.hint, alias
        assert dict(registry.get_registered_model("m").aliases) == {}
