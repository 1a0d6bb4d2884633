"""The metadata store protocol.

Contract (checked by ``shipyard.testing.store_contract`` over every backend):

* Thread safety: one instance may be shared by threads; each method is atomic.
* Returned entities are frozen domain objects; no ORM row ever leaves a store.
* Errors are :mod:`shipyard.errors` classes only: ``NotFound`` names what was missing,
  ``Conflict`` when a param is set again with a different value, ``InvalidArgument`` for bad input,
  ``SchemaOutdated`` when the database schema is behind the code.
* Times are integer milliseconds since the epoch (UTC).
* ``ingest`` is idempotent per ``(run_id, batch.batch_id)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from shipyard.domain.batch import IngestBatch
from shipyard.domain.entities import (
    Artifact,
    MetricSeries,
    Page,
    ParamValue,
    Project,
    Run,
    RunInput,
    RunStatus,
)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What ``search_runs`` takes.

    ``filter`` uses the filter grammar (``metrics.acc > 0.9 AND params.model = 'rf'``);
    ``order_by`` holds terms like ``"-metrics.acc"``, ``"start_time DESC"`` or ``"params.lr"``
    (default: newest first); ``page_token`` is the opaque keyset token of the previous page.
    """

    project: str | None = None
    filter: str = ""
    order_by: Sequence[str] = ()
    limit: int = 100
    page_token: str | None = None
    include_deleted: bool = False
    projects: Sequence[str] | None = None
    """Only runs of these projects (``None``: no such limit). The server sets it to the projects
    a caller may see when auth is on and it searches every project (SQL stores honour it; the
    HTTP client store never sends it: the server applies its caller's own limit)."""


@runtime_checkable
class RunStore(Protocol):
    """Where projects, runs, params, tags, metrics and artifact records live."""

    # -- projects ---------------------------------------------------------------------------
    def create_project(self, name: str, description: str = "") -> Project:
        """Create a project. Raises ``AlreadyExists`` if the name is taken."""
        ...

    def get_project(self, name: str) -> Project:
        """Return a project by name. Raises ``NotFound``."""
        ...

    def list_projects(self) -> Sequence[Project]:
        """Every project, by name."""
        ...

    # -- runs -------------------------------------------------------------------------------
    def create_run(
        self,
        project: str,
        *,
        name: str = "",
        user: str = "",
        params: Mapping[str, ParamValue] | None = None,
        tags: Mapping[str, str] | None = None,
        parent_id: str | None = None,
        start_time: int | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Create a RUNNING run, creating the project when it does not exist yet.

        ``run_id`` lets a client choose the id (idempotent: creating the same id with the same
        project again returns the existing run). A parent must exist in the same project.
        """
        ...

    def get_run(self, run_id: str) -> Run:
        """Return a run with its params, tags and metric summaries. Raises ``NotFound``."""
        ...

    def update_run(
        self,
        run_id: str,
        *,
        name: str | None = None,
        notes: str | None = None,
        status: RunStatus | None = None,
        end_time: int | None = None,
        error: str | None = None,
    ) -> Run:
        """Change the given fields only and return the run."""
        ...

    def delete_run(self, run_id: str) -> None:
        """Soft-delete: the run disappears from searches until restored."""
        ...

    def restore_run(self, run_id: str) -> None:
        """Undo ``delete_run``."""
        ...

    def log_params(self, run_id: str, params: Mapping[str, ParamValue]) -> None:
        """Add params. Setting a param again with the same value is a no-op; another value is a
        ``Conflict``."""
        ...

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags."""
        ...

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag. Raises ``NotFound`` when it is not set."""
        ...

    def search_runs(self, query: SearchQuery) -> Page[Run]:
        """Filter, order and page runs (keyset paging). Raises ``FilterSyntaxError``."""
        ...

    # -- metrics ----------------------------------------------------------------------------
    def ingest(self, run_id: str, batch: IngestBatch) -> bool:
        """Apply a batch atomically. Returns ``False`` when this batch id was already applied."""
        ...

    def metric_history(self, run_id: str, key: str, max_points: int | None = None) -> MetricSeries:
        """All points of a metric ordered by step, or at most ``max_points`` of them chosen to keep
        the shape and the extremes. Raises ``NotFound`` for an unknown run or key."""
        ...

    # -- artifacts and inputs ---------------------------------------------------------------
    def add_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> None:
        """Record artifact files (path -> content address). Re-adding a path replaces it."""
        ...

    def list_artifacts(self, run_id: str, path: str | None = None) -> Sequence[Artifact]:
        """Artifacts under ``path`` (a folder prefix or one file), ordered by path."""
        ...

    def get_artifact(self, run_id: str, path: str) -> Artifact:
        """One artifact record. Raises ``NotFound``."""
        ...

    def add_run_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        """Record lineage records of a run (idempotent per kind, name, version, direction)."""
        ...

    def list_run_inputs(self, run_id: str) -> Sequence[RunInput]:
        """Lineage records of a run."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
