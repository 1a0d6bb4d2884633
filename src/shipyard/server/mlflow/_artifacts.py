"""The ``mlflow-artifacts`` proxy, over each run's content-addressed artifacts.

MLflow clients address files as ``<experiment>/<run id>/artifacts/<path>`` (run artifacts) or
``<experiment>/models/<model id>/artifacts/<path>`` (MLflow 3 logged models, kept in their run's
artifacts under ``models/<model id>/``). Paths are validated like native artifact paths (no
``..``, no absolute path), so nothing outside a run can be named.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.from_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shipyard.artifacts.base import ArtifactStore
from shipyard.domain.entities import Artifact
from shipyard.domain.validation import validate_artifact_path
from shipyard.errors import NotFound
from shipyard.server._deps import Artifacts
from shipyard.server.access import Need, rule
from shipyard.server.mlflow import _access
from shipyard.server.mlflow._convert import run_artifact_uri
from shipyard.server.mlflow._wire import Fields, MlflowRoute, fields_dependency, ok

router = APIRouter(route_class=MlflowRoute, include_in_schema=False)
run_router = APIRouter(route_class=MlflowRoute, include_in_schema=False)
StoreDep = Annotated[_access.CompatStore, Depends(_access.compat_store)]
FieldsDep = Annotated[Fields, Depends(fields_dependency)]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a proxy path points: a run and a path (``""`` for the root) inside its artifacts."""

    run_id: str
    path: str


def resolve(store: _access.CompatStore, proxy_path: str) -> Location:
    """Map a proxy path to a run's artifact path. Raises ``NotFound`` for any other shape."""
    parts = [p for p in proxy_path.strip("/").split("/") if p]
    if len(parts) >= 3 and parts[2] == "artifacts" and parts[1] != "models":
        store.get_run(parts[1])
        return Location(parts[1], _inner("/".join(parts[3:])))
    if len(parts) >= 4 and parts[1] == "models" and parts[3] == "artifacts":
        model = store.mlflow_get_logged_model(parts[2])
        return Location(model.run_id, _inner("/".join([model.artifact_path, *parts[4:]])))
    raise NotFound(
        f"no artifact location {proxy_path!r}",
        hint="artifact paths look like <experiment id>/<run id>/artifacts/<file>",
    )


def _inner(path: str) -> str:
    return validate_artifact_path(path) if path else ""


def _by_path(request: Request) -> str:
    path = request.path_params.get("path") or request.query_params.get("path") or ""
    store = _access.compat_store(request)
    return store.get_run(resolve(store, str(path)).run_id).project


def children(records: list[Artifact], prefix: str, *, full: bool) -> list[dict[str, Any]]:
    """The direct children of folder ``prefix`` (``full``: paths relative to the run root)."""
    base = f"{prefix}/" if prefix else ""
    files: dict[str, dict[str, Any]] = {}
    for record in records:
        if not record.path.startswith(base):
            continue
        head, slash, _ = record.path[len(base) :].partition("/")
        shown = f"{base}{head}" if full else head
        if slash:
            files.setdefault(head, {"path": shown, "is_dir": True})
        else:
            files[head] = {"path": shown, "is_dir": False, "file_size": record.size}
    return [files[k] for k in sorted(files)]


@router.get("/artifacts", dependencies=[rule(Need.READ, project=_by_path)])
def list_proxy(request: Request, store: StoreDep) -> Response:
    """List a folder: ``{files: [{path (a name), is_dir, file_size}]}``."""
    where = resolve(store, request.query_params.get("path", ""))
    records = list(store.list_artifacts(where.run_id, where.path or None))
    return ok({"files": children(records, where.path, full=False)})


@router.get("/artifacts/{path:path}", dependencies=[rule(Need.READ, project=_by_path)])
def download(path: str, store: StoreDep, blobs: Artifacts) -> Response:
    """Stream one file."""
    where = resolve(store, path)
    record = store.get_artifact(where.run_id, where.path)
    headers = {
        "Content-Length": str(blobs.size(record.sha256)),
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(
        blobs.open(record.sha256), media_type=record.media_type, headers=headers
    )


@router.put("/artifacts/{path:path}", dependencies=[rule(Need.WRITE, project=_by_path)])
async def upload(path: str, request: Request, store: StoreDep, blobs: Artifacts) -> Response:
    """Store the body as a file of the run (content-addressed, deduplicated)."""
    where = await run_in_threadpool(resolve, store, path)
    if not where.path:
        raise NotFound("cannot upload to an artifact root", hint="add a file name to the path")
    await run_in_threadpool(_store_file, store, blobs, where, _sync_chunks(request.stream()))
    return ok()


def _store_file(
    store: _access.CompatStore, blobs: ArtifactStore, where: Location, chunks: Any
) -> None:
    info = blobs.put_stream(chunks)
    media = mimetypes.guess_type(where.path)[0] or "application/octet-stream"
    store.add_artifacts(where.run_id, [Artifact(where.path, info.size, info.sha256, media)])


@run_router.get("/artifacts/list", dependencies=[rule(Need.READ, project=_access.by_run)])
def list_run_artifacts(fields: FieldsDep, store: StoreDep) -> Response:
    """``ListArtifacts`` of a run: paths relative to the run's artifact root."""
    run = store.get_run(fields.run_id())
    prefix = _inner(fields.text("path", "") or "")
    records = list(store.list_artifacts(run.id, prefix or None))
    exp = store.mlflow_experiment_ids([run.project])[run.project]
    return ok(
        {"root_uri": run_artifact_uri(exp, run.id), "files": children(records, prefix, full=True)}
    )


def _sync_chunks(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """Bridge the async body stream to the sync artifact store (runs in a worker thread)."""
    while (chunk := anyio.from_thread.run(_next_chunk, stream)) is not None:
        if chunk:
            yield chunk


async def _next_chunk(stream: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return None
