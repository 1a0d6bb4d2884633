"""The environment captured for a run (code, packages, machine, GPUs): ``GET .../environment``.

The SDK stores it as the run's artifact ``.shipyard/environment.json`` (see
:mod:`shipyard.capture.layout`); this route serves that document as it was stored.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from shipyard.api import routes
from shipyard.capture.layout import ENVIRONMENT_ARTIFACT
from shipyard.errors import NotFound
from shipyard.server._deps import Artifacts, Store, errors
from shipyard.server.access import Need, by_run, rule
from shipyard.store.base import RunStore

router = APIRouter(tags=["runs"])


@router.get(
    routes.RUN_ENVIRONMENT,
    responses={
        200: {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "The environment record (schema, code, python, packages, system, "
            "container, accelerators, frameworks, launcher, command, errors).",
        },
        **errors(404),
    },
    summary="Get a run's environment",
    description="The environment captured when the run started: git commit and patch "
    f"metadata, Python, packages, OS, CPU/GPU, container. Stored as `{ENVIRONMENT_ARTIFACT}`; "
    "404 when the run does not exist or none was captured.",
    dependencies=[rule(Need.READ, project=by_run())],
)
async def get_environment(run_id: str, store: Store, blobs: Artifacts) -> Response:
    """Serve the run's ``environment.json``."""
    sha256 = await run_in_threadpool(_environment_blob, store, run_id)
    content = await run_in_threadpool(lambda: b"".join(blobs.open(sha256)))
    return Response(content, media_type="application/json")


def _environment_blob(store: RunStore, run_id: str) -> str:
    store.get_run(run_id)
    try:
        return store.get_artifact(run_id, ENVIRONMENT_ARTIFACT).sha256
    except NotFound:
        raise NotFound(
            f"run {run_id} has no captured environment ({ENVIRONMENT_ARTIFACT})",
            hint="runs record it when started with capture on (the default; SHIPYARD_CAPTURE=0 "
            "turns it off) or through `shipyard run -- COMMAND`",
        ) from None
