"""``Client``: queries and housekeeping over the configured backend (what the CLI calls).

A thin layer: every method delegates to ``backend.store`` or the backend's artifact transfer.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipyard.domain.collab import Annotations, Comment
from shipyard.domain.datasets import Dataset, DatasetUsage, DatasetVersion, ManifestEntry
from shipyard.domain.entities import Artifact, MetricSeries, Page, Project, Run
from shipyard.domain.models import ModelVersion, RegisteredModel
from shipyard.errors import InvalidArgument, NotFound
from shipyard.sdk._capture import read_environment
from shipyard.sdk._datasets import (
    DatasetAccess,
    DatasetProgress,
    add_dataset,
    cached_version,
    materialize,
    open_datasets,
)
from shipyard.sdk.backend import Backend, open_backend
from shipyard.settings import Settings
from shipyard.store.base import SearchQuery
from shipyard.store.collab import CollabStore

if TYPE_CHECKING:
    from shipyard.flavors import LoadedModel
    from shipyard.registry import ModelStore, ResolvedModel

DownloadProgress = Callable[[int], None]
"""Called with the byte count of each chunk written (sizes are in ``list_artifacts``)."""


class Client:
    """Read and manage runs, metrics, artifacts and datasets.

    Example::

        with shipyard.Client() as client:
            best = client.search_runs("iris", order_by="-metrics.acc", limit=1).items[0]
            client.download_artifact(best.id, "model.pkl", Path("."))
    """

    def __init__(
        self, tracking_uri: str | None = None, *, settings: Settings | None = None
    ) -> None:
        settings = settings or Settings()
        if tracking_uri is not None:
            settings = settings.model_copy(update={"tracking_uri": tracking_uri})
        self.settings = settings
        self._backend = open_backend(settings)

    @property
    def backend(self) -> Backend:
        """The backend this client talks to."""
        return self._backend

    # -- projects and runs -------------------------------------------------------------------
    def list_projects(self) -> Sequence[Project]:
        """Every project, by name."""
        return self._backend.store.list_projects()

    def search_runs(
        self,
        project: str | None = None,
        filter: str = "",
        order_by: str | Sequence[str] | None = None,
        limit: int = 100,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> Page[Run]:
        """One page of runs matching ``filter`` (e.g. ``"metrics.acc > 0.9 AND params.depth = 4"``),
        ordered by ``order_by`` (e.g. ``"-metrics.acc"``; newest first by default).

        Pass the page's ``next_page_token`` to get the next one. Raises ``FilterSyntaxError``.
        """
        if isinstance(order_by, str):
            order_by = [order_by] if order_by.strip() else []
        query = SearchQuery(
            project=project,
            filter=filter,
            order_by=tuple(order_by or ()),
            limit=limit,
            page_token=page_token,
            include_deleted=include_deleted,
        )
        return self._backend.store.search_runs(query)

    def iter_runs(
        self,
        project: str | None = None,
        filter: str = "",
        order_by: str | Sequence[str] | None = None,
        page_size: int = 100,
        include_deleted: bool = False,
    ) -> Iterator[Run]:
        """Every matching run, fetching pages of ``page_size`` as needed."""
        token: str | None = None
        while True:
            page = self.search_runs(
                project, filter, order_by, page_size, token, include_deleted=include_deleted
            )
            yield from page.items
            token = page.next_page_token
            if token is None:
                return

    def get_run(self, run_id: str) -> Run:
        """A run with its params, tags and metric summaries. Raises ``NotFound``."""
        return self._backend.store.get_run(run_id)

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run (``restore_run`` undoes it)."""
        self._backend.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Bring back a deleted run."""
        self._backend.store.restore_run(run_id)

    def metric_history(self, run_id: str, key: str, max_points: int | None = None) -> MetricSeries:
        """A metric's points by step; at most ``max_points`` of them (shape and extremes kept)."""
        return self._backend.store.metric_history(run_id, key, max_points)

    # -- artifacts ---------------------------------------------------------------------------
    def list_artifacts(self, run_id: str, path: str | None = None) -> Sequence[Artifact]:
        """Artifacts of a run, or those under ``path`` (a folder or one file), by path."""
        return self._backend.store.list_artifacts(run_id, path)

    def download_artifact(
        self,
        run_id: str,
        path: str | None,
        dest: Path | str,
        *,
        progress: DownloadProgress | None = None,
    ) -> Path:
        """Download one artifact file or every file under a folder; returns where it landed.

        A file goes to ``dest`` itself, or into it when ``dest`` is an existing folder. A folder
        (or ``path=None``: the whole run) is written under ``dest`` with paths relative to it.
        Raises ``NotFound`` when nothing is stored under ``path``.
        """
        dest = Path(dest)
        artifacts = list(self.list_artifacts(run_id, path or None))
        if not artifacts:
            raise NotFound(
                f"run {run_id} has no artifact at {path!r}",
                hint=f"list them with `shipyard artifacts list {run_id}`",
            )
        if path and len(artifacts) == 1 and artifacts[0].path == path.strip("/"):
            target = dest / posixpath.basename(path) if dest.is_dir() else dest
            self._fetch(run_id, [(artifacts[0], target)], progress)
            return target
        prefix = path.strip("/") + "/" if path else ""
        plan = [(a, _inside(dest, a.path.removeprefix(prefix))) for a in artifacts]
        self._fetch(run_id, plan, progress)
        return dest

    def _fetch(
        self,
        run_id: str,
        plan: Sequence[tuple[Artifact, Path]],
        progress: DownloadProgress | None,
    ) -> None:
        for artifact, target in plan:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._backend.download_artifact(run_id, artifact, target, progress=progress)

    def environment(self, run_id: str) -> dict[str, Any]:
        """The environment captured for a run (see :mod:`shipyard.capture.layout`).

        Raises ``NotFound`` when the run does not exist or has no captured environment.
        """
        return read_environment(self._backend, run_id)

    # -- datasets ----------------------------------------------------------------------------
    def list_datasets(self) -> Sequence[Dataset]:
        """Every dataset with its latest version, by name."""
        return self._datasets().store.list_datasets()

    def dataset_versions(self, name: str) -> Sequence[DatasetVersion]:
        """The versions of a dataset, oldest first. Raises ``NotFound``."""
        return self._datasets().store.list_dataset_versions(name)

    def dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """One version of a dataset (``None``: the latest). Raises ``NotFound``."""
        return self._datasets().store.get_dataset_version(name, version)

    def dataset_manifest(self, name: str, version: int | None = None) -> Sequence[ManifestEntry]:
        """The files (path, size, sha256) of a version, sorted by path."""
        return self._datasets().store.get_manifest(name, version)

    def dataset_lineage(self, name: str, version: int | None = None) -> Sequence[DatasetUsage]:
        """The runs that consumed or produced the dataset (or one version of it)."""
        return self._datasets().store.runs_using_dataset(name, version)

    def add_dataset(
        self,
        name: str,
        path: Path | str,
        message: str = "",
        *,
        progress: DatasetProgress | None = None,
    ) -> DatasetVersion:
        """Add a file or folder as a new version of ``name``; only content the store lacks is
        uploaded, and unchanged content returns the latest version.

        Example: ``client.add_dataset("mnist", "data/mnist", "re-labelled 12 images")``.
        """
        user = self.settings.user
        return add_dataset(
            self._datasets(), name, Path(path), message=message, user=user, progress=progress
        )

    def get_dataset(
        self,
        name: str,
        version: int | None = None,
        dest: Path | str | None = None,
        *,
        progress: DatasetProgress | None = None,
    ) -> Path:
        """Write a version (``None``: the latest) to ``dest``, every file verified, and return
        the folder. ``dest=None`` uses the local cache (``<home>/datasets/<name>/<version>``).

        Files already in ``dest`` with the right content are kept; a file that is not part of
        the version raises ``InvalidArgument``.
        """
        access = self._datasets()
        if dest is None:
            cache = (self.settings.home / "datasets").absolute()
            return cached_version(access, cache, name, version)[0]
        found = access.store.get_dataset_version(name, version)
        return materialize(access, found, Path(dest), progress)

    def _datasets(self) -> DatasetAccess:
        return open_datasets(self._backend)

    # -- collaboration: tags, notes, comments ------------------------------------------------
    def set_run_notes(self, run_id: str, notes: str) -> Run:
        """Replace a run's Markdown notes (at most 64 KiB) and return the run."""
        return self._backend.store.update_run(run_id, notes=notes)

    def set_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags of a run."""
        self._backend.store.set_tags(run_id, tags)

    def delete_run_tag(self, run_id: str, key: str) -> None:
        """Remove a tag of a run. Raises ``NotFound`` when it is not set."""
        self._backend.store.delete_tag(run_id, key)

    def project_annotations(self, name: str) -> Annotations:
        """A project's description, Markdown notes and tags. Raises ``NotFound``."""
        return self._collab().get_project_annotations(name)

    def update_project(
        self, name: str, *, description: str | None = None, notes: str | None = None
    ) -> Annotations:
        """Change a project's description and/or Markdown notes (``None`` leaves one alone).

        Example: ``client.update_project("iris", notes=Path("NOTES.md").read_text())``.
        """
        return self._collab().update_project_annotations(name, description=description, notes=notes)

    def set_project_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a project."""
        self._collab().set_project_tag(name, key, value)

    def delete_project_tag(self, name: str, key: str) -> None:
        """Remove a tag of a project. Raises ``NotFound`` when it is not set."""
        self._collab().delete_project_tag(name, key)

    def dataset_annotations(self, name: str) -> Annotations:
        """A dataset's Markdown notes and tags. Raises ``NotFound``."""
        return self._collab().get_dataset_annotations(name)

    def set_dataset_notes(self, name: str, notes: str) -> Annotations:
        """Replace a dataset's Markdown notes (at most 64 KiB)."""
        return self._collab().update_dataset_annotations(name, notes=notes)

    def set_dataset_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a dataset."""
        self._collab().set_dataset_tag(name, key, value)

    def delete_dataset_tag(self, name: str, key: str) -> None:
        """Remove a tag of a dataset. Raises ``NotFound`` when it is not set."""
        self._collab().delete_dataset_tag(name, key)

    def add_comment(self, run_id: str, body: str) -> Comment:
        """Comment on a run (Markdown, at most 16 KiB). The author is ``settings.user`` locally;
        a server records the signed-in user."""
        return self._collab().add_run_comment(run_id, body, author=self.settings.user)

    def list_comments(self, run_id: str) -> Sequence[Comment]:
        """The comments on a run, oldest first."""
        return self._collab().list_run_comments(run_id)

    def edit_comment(self, run_id: str, comment_id: str, body: str) -> Comment:
        """Replace a comment's body (a server allows its author or a project admin)."""
        return self._collab().update_run_comment(run_id, comment_id, body)

    def delete_comment(self, run_id: str, comment_id: str) -> None:
        """Remove a comment (a server allows its author or a project admin)."""
        self._collab().delete_run_comment(run_id, comment_id)

    def _collab(self) -> CollabStore:
        from shipyard.sdk._http import HttpBackend

        if isinstance(self._backend, HttpBackend):
            from shipyard.sdk._http_collab import HttpCollabStore

            return HttpCollabStore(self._backend.store)
        store = self._backend.store
        if isinstance(store, CollabStore):
            return store
        raise InvalidArgument(
            f"the {type(self._backend).__name__} backend does not keep notes or comments",
            hint="use the embedded store, a SQL store or a Shipyard server",
        )

    # -- lifecycle ---------------------------------------------------------------------------
    # -- model registry ----------------------------------------------------------------------
    def list_models(self, project: str | None = None) -> Sequence[RegisteredModel]:
        """Registered models (of one project, or all), by name."""
        return self._registry().list_registered_models(project=project)

    def get_model(self, name: str) -> RegisteredModel:
        """A registered model with its tags and aliases. Raises ``NotFound``."""
        return self._registry().get_registered_model(name)

    def create_model(self, name: str, project: str, description: str = "") -> RegisteredModel:
        """Create an empty registered model. Raises ``AlreadyExists``."""
        registry = self._registry()
        return registry.create_registered_model(name, project=project, description=description)

    def update_model(self, name: str, description: str) -> RegisteredModel:
        """Change a registered model's description."""
        return self._registry().update_registered_model(name, description=description)

    def delete_model(self, name: str) -> None:
        """Delete a registered model with its versions and aliases (run files stay)."""
        self._registry().delete_registered_model(name)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        """Set a tag of a registered model."""
        self._registry().set_registered_model_tag(name, key, value)

    def model_versions(self, name: str) -> Sequence[ModelVersion]:
        """The versions of a registered model, newest first."""
        return self._registry().list_model_versions(name)

    def model_version(self, name: str, version: int) -> ModelVersion:
        """One version of a registered model."""
        return self._registry().get_model_version(name, version)

    def update_model_version(self, name: str, version: int, description: str) -> ModelVersion:
        """Change a version's description."""
        return self._registry().update_model_version(name, version, description=description)

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set a tag of a version (e.g. ``validated=yes``)."""
        self._registry().set_model_version_tag(name, version, key, value)

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version and its aliases (its number is not reused; the run's files stay)."""
        self._registry().delete_model_version(name, version)

    def register_model(self, uri: str, name: str) -> ModelVersion:
        """Register a logged model (``runs:/RUN_ID/models/M``) as the next version of ``name``."""
        from shipyard.sdk import _models

        return _models.register(self._backend, self.settings, uri, name)

    def set_model_alias(self, name: str, alias: str, version: int) -> int | None:
        """Point an alias (``champion``...) at a version; returns the version it left."""
        from shipyard.registry import promote

        return promote(self._registry(), name, version, alias)

    def delete_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self._registry().delete_model_alias(name, alias)

    def resolve_model(self, uri: str) -> ResolvedModel:
        """The run and artifact folder a model URI names (and the registered version)."""
        from shipyard.registry import resolve_model_uri

        return resolve_model_uri(self._registry(), uri)

    def download_model(self, uri: str, dest: Path | str) -> Path:
        """Download the model folder a URI names into ``dest``."""
        from shipyard.sdk import _models

        return _models.download(self._backend, uri, Path(dest))

    def load_model(self, uri: str) -> LoadedModel:
        """Load the model a URI names (cached under ``settings.home``)."""
        from shipyard.sdk import _models

        return _models.load(self._backend, self.settings, uri)

    def _registry(self) -> ModelStore:
        from shipyard.sdk._models import registry_of

        return registry_of(self._backend)

    def close(self) -> None:
        """Release the backend's connections."""
        self._backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing a path that would leave ``root``."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise InvalidArgument(
            f"artifact path {relative!r} leaves the download folder {root}",
            hint="artifact paths must be relative and stay inside the run",
        )
    return root / relative
