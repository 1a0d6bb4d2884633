"""What routes share: the stores (from ``app.state``), JSON responses, and error docs."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, cast

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from shipyard.api.schemas import ErrorBody
from shipyard.artifacts.base import ArtifactStore
from shipyard.store.base import RunStore


def server_version() -> str:
    """The installed version of Shipyard."""
    try:
        return version("shipyard")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def get_store(request: Request) -> RunStore:
    """The app's metadata store."""
    return cast(RunStore, request.app.state.store)


def get_artifacts(request: Request) -> ArtifactStore:
    """The app's artifact store."""
    return cast(ArtifactStore, request.app.state.artifacts)


Store = Annotated[RunStore, Depends(get_store)]
Artifacts = Annotated[ArtifactStore, Depends(get_artifacts)]


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """Serialize a wire model (NaN/infinities as strings), skipping FastAPI's re-validation."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the error body for the given statuses (400 always)."""
    wanted = sorted({400, *statuses})
    return {status: {"model": ErrorBody, "description": _ERROR_TEXT[status]} for status in wanted}


_ERROR_TEXT = {
    400: "Invalid request (unknown or malformed fields, bad filter...).",
    401: "No valid credentials (send `Authorization: Bearer TOKEN`), or a bad webhook signature.",
    403: "Signed in, but the role or the token's scope does not allow this.",
    404: "The named project, run, artifact, blob or metric does not exist.",
    409: "Conflicts with stored state (e.g. a param set again with another value).",
    413: "Request body too large.",
    422: "Uploaded bytes do not match their sha256.",
    429: "Too many attempts; retry after the `Retry-After` seconds.",
    503: "Not ready (e.g. the model has not loaded) or the store is unavailable.",
}
