"""JSON endpoints the hub's pages need beyond the REST API, under ``/api/v1/ui``.

Internal to the UI (left out of the OpenAPI document): the keys present in a project (for the
column picker), a run's notes rendered as Markdown, and server-rendered previews of Markdown and
Jupyter notebook artifacts. Everything else the pages fetch is the documented ``/api/v1`` API.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shipyard.api.routes import API_PREFIX
from shipyard.artifacts.base import ArtifactStore
from shipyard.domain.validation import validate_artifact_path
from shipyard.errors import InvalidArgument
from shipyard.server._deps import Artifacts, Store
from shipyard.server.access import Need, by_path, by_run, rule
from shipyard.server.ui._catalog import column_keys
from shipyard.server.ui._markdown import artifact_resolver, render_markdown
from shipyard.server.ui._notebook import MAX_NOTEBOOK_BYTES, parse_notebook
from shipyard.server.ui._templates import render_fragment

UI_API = f"{API_PREFIX}/ui"
PROJECT_KEYS = f"{UI_API}/projects/{{name}}/keys"
RUN_NOTES = f"{UI_API}/runs/{{run_id}}/notes"
RUN_PREVIEW = f"{UI_API}/runs/{{run_id}}/artifacts/preview"

MARKDOWN_EXTENSIONS = (".md", ".markdown")
NOTEBOOK_EXTENSIONS = (".ipynb",)
MAX_MARKDOWN_BYTES = 5 * 1024 * 1024

router = APIRouter(include_in_schema=False)


@router.get(PROJECT_KEYS, dependencies=[rule(Need.READ, project=by_path("name"))])
def project_keys(name: str, store: Store) -> JSONResponse:
    """``{"params": [...], "metrics": [...], "tags": [...]}``: keys present in the project."""
    return JSONResponse(column_keys(store, name).as_dict())


@router.get(RUN_NOTES, dependencies=[rule(Need.READ, project=by_run())])
def run_notes(run_id: str, store: Store) -> JSONResponse:
    """``{"notes": markdown, "html": safe HTML}`` of a run's notes."""
    notes = store.get_run(run_id).notes
    return JSONResponse({"notes": notes, "html": str(render_markdown(notes))})


@router.get(RUN_PREVIEW, dependencies=[rule(Need.READ, project=by_run())])
def artifact_preview(run_id: str, path: str, store: Store, blobs: Artifacts) -> JSONResponse:
    """``{"path", "kind", "html"}``: a Markdown or notebook artifact rendered to safe HTML."""
    record = store.get_artifact(run_id, validate_artifact_path(path))
    name = record.path.lower()
    resolve = artifact_resolver(run_id, record.path)
    if name.endswith(NOTEBOOK_EXTENSIONS):
        data = _read(blobs, record.sha256, record.size, MAX_NOTEBOOK_BYTES, record.path)
        html = render_fragment("_notebook.html", notebook=parse_notebook(data, resolve))
        kind = "notebook"
    elif name.endswith(MARKDOWN_EXTENSIONS):
        data = _read(blobs, record.sha256, record.size, MAX_MARKDOWN_BYTES, record.path)
        html = render_markdown(data.decode("utf-8", errors="replace"), resolve)
        kind = "markdown"
    else:
        raise InvalidArgument(
            f"artifact {record.path!r} is neither Markdown nor a notebook",
            hint="previews are rendered for .md, .markdown and .ipynb files; download others",
        )
    return JSONResponse({"path": record.path, "kind": kind, "html": str(html)})


def _read(blobs: ArtifactStore, sha256: str, size: int, limit: int, path: str) -> bytes:
    if size > limit:
        raise InvalidArgument(
            f"artifact {path!r} is {size} bytes, more than the {limit} a preview renders",
            hint="download it instead",
        )
    return b"".join(blobs.open(sha256))
