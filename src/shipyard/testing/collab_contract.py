"""The ``CollabStore`` contract suite: one set of tests every collaboration store must pass.

Subclass :class:`CollabStoreContract` and provide the fixtures ``collab`` (the store under test),
``runs`` (a :class:`~shipyard.store.RunStore` over the same data), ``datasets`` (a
:class:`~shipyard.store.datasets.DatasetStore` over the same data, used to create datasets) and
``author`` (the author the store records for a comment posted with ``author="ada"``: a server
records its signed-in caller instead)::

    class TestSqliteCollab(CollabStoreContract):
        @pytest.fixture
        def collab(self, sql_store):
            return sql_store
        ...
"""

from __future__ import annotations

import hashlib

import pytest

from shipyard.domain.collab import MAX_COMMENT_BYTES, MAX_NOTES_BYTES
from shipyard.domain.datasets import ManifestEntry
from shipyard.errors import InvalidArgument, NotFound
from shipyard.store.base import RunStore
from shipyard.store.collab import CollabStore
from shipyard.store.datasets import DatasetStore

NOTES = "# Iris\n\nBaseline is **run 1**; see <script>alert(1)</script>.\n"


class CollabStoreContract:
    """Tests of every ``CollabStore`` method. Subclasses provide the fixtures named above."""

    @pytest.fixture
    def collab(self) -> CollabStore:
        """The store under test (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `collab` fixture")

    @pytest.fixture
    def runs(self) -> RunStore:
        """The run store over the same data (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `runs` fixture")

    @pytest.fixture
    def datasets(self) -> DatasetStore:
        """A dataset store over the same data (subclasses override this)."""
        raise NotImplementedError("subclasses provide a `datasets` fixture")

    @pytest.fixture
    def author(self) -> str:
        """The author recorded for comments posted as ``ada``."""
        return "ada"

    def new_dataset(self, datasets: DatasetStore, name: str = "iris-data") -> str:
        """A dataset with one version."""
        sha = hashlib.sha256(b"x").hexdigest()
        datasets.create_dataset_version(name, [ManifestEntry("a.csv", 1, sha)])
        return name

    # -- projects ---------------------------------------------------------------------------
    def test_is_a_collab_store(self, collab: CollabStore) -> None:
        assert isinstance(collab, CollabStore)

    def test_a_new_project_has_no_notes_or_tags(self, collab: CollabStore, runs: RunStore) -> None:
        runs.create_project("iris", "flowers")
        found = collab.get_project_annotations("iris")
        assert (found.name, found.description, found.notes, dict(found.tags)) == (
            "iris",
            "flowers",
            "",
            {},
        )
        assert found.updated_at is None

    def test_project_notes_and_description_round_trip(
        self, collab: CollabStore, runs: RunStore
    ) -> None:
        runs.create_project("iris")
        changed = collab.update_project_annotations("iris", notes=NOTES)
        assert changed.notes == NOTES
        assert changed.updated_at is not None
        changed = collab.update_project_annotations("iris", description="Fisher's flowers")
        assert (changed.description, changed.notes) == ("Fisher's flowers", NOTES)
        assert collab.get_project_annotations("iris") == changed
        assert runs.get_project("iris").description == "Fisher's flowers"
        assert collab.update_project_annotations("iris", notes="").notes == ""

    def test_project_tags(self, collab: CollabStore, runs: RunStore) -> None:
        runs.create_project("iris")
        collab.set_project_tag("iris", "team", "vision")
        collab.set_project_tag("iris", "owner/email", "ada@example.com")
        collab.set_project_tag("iris", "team", "tabular")
        tags = collab.get_project_annotations("iris").tags
        assert dict(tags) == {"owner/email": "ada@example.com", "team": "tabular"}
        collab.delete_project_tag("iris", "owner/email")
        assert dict(collab.get_project_annotations("iris").tags) == {"team": "tabular"}
        with pytest.raises(NotFound, match="owner/email"):
            collab.delete_project_tag("iris", "owner/email")

    def test_unknown_projects_are_not_found(self, collab: CollabStore) -> None:
        with pytest.raises(NotFound, match="nope"):
            collab.get_project_annotations("nope")
        with pytest.raises(NotFound, match="nope"):
            collab.update_project_annotations("nope", notes="x")
        with pytest.raises(NotFound, match="nope"):
            collab.set_project_tag("nope", "k", "v")

    def test_bad_project_input_is_refused_and_changes_nothing(
        self, collab: CollabStore, runs: RunStore
    ) -> None:
        runs.create_project("iris")
        collab.update_project_annotations("iris", notes="kept")
        with pytest.raises(InvalidArgument, match="64 KiB"):
            collab.update_project_annotations("iris", notes="x" * (MAX_NOTES_BYTES + 1))
        with pytest.raises(InvalidArgument, match="tag key"):
            collab.set_project_tag("iris", "bad\nkey", "v")
        with pytest.raises(InvalidArgument, match="description"):
            collab.update_project_annotations("iris", description="two\nlines", notes="lost")
        found = collab.get_project_annotations("iris")
        assert (found.notes, dict(found.tags), found.description) == ("kept", {}, "")

    def test_notes_up_to_the_limit_are_kept_whole(
        self, collab: CollabStore, runs: RunStore
    ) -> None:
        runs.create_project("iris")
        notes = "é" * (MAX_NOTES_BYTES // 2)  # two bytes each: exactly 64 KiB
        assert collab.update_project_annotations("iris", notes=notes).notes == notes

    # -- datasets ---------------------------------------------------------------------------
    def test_dataset_notes_and_tags(self, collab: CollabStore, datasets: DatasetStore) -> None:
        name = self.new_dataset(datasets)
        assert collab.get_dataset_annotations(name).notes == ""
        changed = collab.update_dataset_annotations(name, notes=NOTES)
        assert (changed.name, changed.notes) == (name, NOTES)
        collab.set_dataset_tag(name, "license", "CC-BY-4.0")
        found = collab.get_dataset_annotations(name)
        assert (found.notes, dict(found.tags)) == (NOTES, {"license": "CC-BY-4.0"})
        collab.delete_dataset_tag(name, "license")
        with pytest.raises(NotFound, match="license"):
            collab.delete_dataset_tag(name, "license")

    def test_unknown_datasets_are_not_found(self, collab: CollabStore) -> None:
        with pytest.raises(NotFound, match="nope"):
            collab.get_dataset_annotations("nope")
        with pytest.raises(NotFound, match="nope"):
            collab.update_dataset_annotations("nope", notes="x")
        with pytest.raises(NotFound, match="nope"):
            collab.set_dataset_tag("nope", "k", "v")

    def test_bad_dataset_notes_are_refused(
        self, collab: CollabStore, datasets: DatasetStore
    ) -> None:
        name = self.new_dataset(datasets)
        with pytest.raises(InvalidArgument, match="64 KiB"):
            collab.update_dataset_annotations(name, notes="x" * (MAX_NOTES_BYTES + 1))
        assert collab.get_dataset_annotations(name).notes == ""

    # -- comments ---------------------------------------------------------------------------
    def test_comments_round_trip_oldest_first(
        self, collab: CollabStore, runs: RunStore, author: str
    ) -> None:
        run = runs.create_run("iris")
        first = collab.add_run_comment(run.id, "Looks **overfit**", author="ada")
        second = collab.add_run_comment(run.id, "Agreed", author="ada")
        assert (first.run_id, first.author, first.body) == (run.id, author, "Looks **overfit**")
        assert first.created_at == first.updated_at
        assert not first.edited
        assert list(collab.list_run_comments(run.id)) == [first, second]
        assert collab.get_run_comment(run.id, second.id) == second

    def test_editing_a_comment_keeps_its_creation_time(
        self, collab: CollabStore, runs: RunStore
    ) -> None:
        run = runs.create_run("iris")
        comment = collab.add_run_comment(run.id, "typo", author="ada")
        edited = collab.update_run_comment(run.id, comment.id, "fixed")
        assert (edited.id, edited.body, edited.created_at) == (
            comment.id,
            "fixed",
            comment.created_at,
        )
        assert edited.updated_at > comment.created_at
        assert edited.edited
        assert collab.get_run_comment(run.id, comment.id) == edited

    def test_deleting_a_comment(self, collab: CollabStore, runs: RunStore) -> None:
        run = runs.create_run("iris")
        comment = collab.add_run_comment(run.id, "gone soon", author="ada")
        collab.delete_run_comment(run.id, comment.id)
        assert list(collab.list_run_comments(run.id)) == []
        with pytest.raises(NotFound, match=comment.id):
            collab.delete_run_comment(run.id, comment.id)

    def test_comments_belong_to_their_run(self, collab: CollabStore, runs: RunStore) -> None:
        one, other = runs.create_run("iris"), runs.create_run("iris")
        comment = collab.add_run_comment(one.id, "mine", author="ada")
        assert list(collab.list_run_comments(other.id)) == []
        with pytest.raises(NotFound):
            collab.get_run_comment(other.id, comment.id)
        with pytest.raises(NotFound):
            collab.update_run_comment(other.id, comment.id, "hijack")
        assert collab.get_run_comment(one.id, comment.id).body == "mine"

    def test_unknown_runs_and_comments_are_not_found(
        self, collab: CollabStore, runs: RunStore
    ) -> None:
        missing = "0" * 32
        with pytest.raises(NotFound, match=missing):
            collab.add_run_comment(missing, "hello", author="ada")
        with pytest.raises(NotFound, match=missing):
            collab.list_run_comments(missing)
        run = runs.create_run("iris")
        with pytest.raises(NotFound, match="not-an-id"):
            collab.get_run_comment(run.id, "not-an-id")

    def test_bad_comments_are_refused(self, collab: CollabStore, runs: RunStore) -> None:
        run = runs.create_run("iris")
        with pytest.raises(InvalidArgument, match="empty"):
            collab.add_run_comment(run.id, "  \n", author="ada")
        with pytest.raises(InvalidArgument, match="16 KiB"):
            collab.add_run_comment(run.id, "x" * (MAX_COMMENT_BYTES + 1), author="ada")
        comment = collab.add_run_comment(run.id, "ok", author="ada")
        with pytest.raises(InvalidArgument, match="empty"):
            collab.update_run_comment(run.id, comment.id, "")
        assert [c.body for c in collab.list_run_comments(run.id)] == ["ok"]

    def test_run_notes_are_limited_to_64_kib(self, runs: RunStore) -> None:
        run = runs.create_run("iris")
        assert runs.update_run(run.id, notes=NOTES).notes == NOTES
        with pytest.raises(InvalidArgument, match="64 KiB"):
            runs.update_run(run.id, notes="x" * (MAX_NOTES_BYTES + 1))
        assert runs.get_run(run.id).notes == NOTES
