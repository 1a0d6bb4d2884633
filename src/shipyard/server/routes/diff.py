"""Compare two runs: ``GET /api/v1/runs/diff?a=ID&b=ID`` (what the hub's compare page renders).

The document is :meth:`shipyard.repro.diff.RunDiff.to_dict`, the same as ``shipyard diff --json``.
The server reads runs through :class:`StoreSource`, a ``RunSource`` over its own stores. It does
not look for git repositories: a run record names a folder and a remote URL, and a hub must not
read paths or clone URLs that its users wrote. The code section therefore compares the two
uncommitted patches (identical code is still recognized); ``shipyard diff`` on a machine with the
repository shows the full code diff.

This router must be included before the runs router: ``/runs/diff`` would otherwise match
``/runs/{run_id}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from shipyard.api import routes
from shipyard.artifacts.base import ArtifactStore
from shipyard.capture.layout import ENVIRONMENT_ARTIFACT, PATCH_ARTIFACT
from shipyard.domain.entities import Run, RunInput
from shipyard.errors import IntegrityError, NotFound
from shipyard.repro.diff import SECTIONS, diff_runs
from shipyard.repro.source import Record
from shipyard.server._deps import Artifacts, Store, errors
from shipyard.server.access import CallerDep, Need, by_run_query, rule
from shipyard.store.base import RunStore

router = APIRouter(tags=["runs"])


class StoreSource:
    """A ``RunSource`` over the server's metadata and artifact stores."""

    def __init__(self, store: RunStore, blobs: ArtifactStore) -> None:
        self.store = store
        self.blobs = blobs

    def get_run(self, run_id: str) -> Run:
        """The run. Raises ``NotFound``."""
        return self.store.get_run(run_id)

    def environment(self, run_id: str) -> Record | None:
        """The run's ``environment.json``, or ``None`` when none was captured."""
        data = self._read(run_id, ENVIRONMENT_ARTIFACT)
        if data is None:
            return None
        try:
            record = json.loads(data)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            raise IntegrityError(
                f"{ENVIRONMENT_ARTIFACT} of run {run_id} is not a JSON object",
                hint="the artifact was overwritten; it cannot be read as an environment",
            )
        return record

    def code_patch(self, run_id: str) -> str | None:
        """The run's ``code.patch``, or ``None``."""
        data = self._read(run_id, PATCH_ARTIFACT)
        return None if data is None else data.decode("utf-8", errors="surrogateescape")

    def run_inputs(self, run_id: str) -> Sequence[RunInput]:
        """The run's lineage records."""
        return self.store.list_run_inputs(run_id)

    def _read(self, run_id: str, path: str) -> bytes | None:
        try:
            artifact = self.store.get_artifact(run_id, path)
        except NotFound:
            return None
        return b"".join(self.blobs.open(artifact.sha256))


@router.get(
    routes.RUNS_DIFF,
    responses={
        200: {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "`{a, b, code, params, packages, environment, hardware, datasets, "
            "metrics, notes}`: `code.patch` is a unified diff; `params` and `packages` have "
            "`added`, `removed`, `changed` and `unchanged`; `environment` and `hardware` list "
            "`{key, a, b, same}`; `metrics` list `{key, a, b, delta}` with last/min/max.",
        },
        **errors(404),
    },
    summary="Compare two runs",
    description="What differs between run `a` (the baseline) and run `b`: code, params, "
    "packages, environment, hardware, dataset versions and metric summaries. Pick sections with "
    f"`section` (repeatable: {', '.join(SECTIONS)}); `system=true` adds `system/` metrics.",
    dependencies=[rule(Need.READ, project=by_run_query("a"))],
)
def get_diff(
    store: Store,
    blobs: Artifacts,
    caller: CallerDep,
    a: Annotated[str, Query(description="The baseline run id.")],
    b: Annotated[str, Query(description="The run compared with it.")],
    section: Annotated[list[str] | None, Query(description="Sections to compute.")] = None,
    system: bool = False,
) -> Response:
    """The diff of two runs."""
    caller.require(store.get_run(b).project, Need.READ)
    diff = diff_runs(
        StoreSource(store, blobs),
        a,
        b,
        sections=section or None,
        include_system=system,
        search_repos=False,
    )
    return Response(orjson.dumps(diff.to_dict()), media_type="application/json")
