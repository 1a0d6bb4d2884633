"""The hub's collaboration widgets: a run's comments, and the notes and tags of projects and
datasets, rendered on the server as safe HTML fragments under ``/api/v1/ui``.

Pages hold an empty container; their script fetches the fragment, and fetches it again after a
change made through the REST API, so the Markdown is rendered in one place (``_markdown.py``,
raw HTML escaped). Left out of the OpenAPI document, like the other UI helpers.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shipyard.domain.collab import Annotations, Comment
from shipyard.server._deps import Store
from shipyard.server.access import Caller, CallerDep, Need, Role, by_path, by_run, rule
from shipyard.server.routes.collab import Collab
from shipyard.server.ui._markdown import render_markdown
from shipyard.server.ui._templates import render_fragment
from shipyard.server.ui.data import UI_API

RUN_COMMENTS = f"{UI_API}/runs/{{run_id}}/comments"
PROJECT_NOTES = f"{UI_API}/projects/{{name}}/notes"
DATASET_NOTES = f"{UI_API}/datasets/{{name}}/notes"

router = APIRouter(include_in_schema=False)


@router.get(RUN_COMMENTS, dependencies=[rule(Need.READ, project=by_run())])
def run_comments(run_id: str, collab: Collab, store: Store, caller: CallerDep) -> JSONResponse:
    """``{"count", "html"}``: a run's comments, with edit and delete buttons on those the caller
    may change (their own; every one for a project admin)."""
    comments = collab.list_run_comments(run_id)
    admin = caller.role(store.get_run(run_id).project) is Role.ADMIN
    html = render_fragment(
        "_comments.html",
        comments=comments,
        bodies={c.id: render_markdown(c.body) for c in comments},
        mine={c.id for c in comments if _may_change(caller, c, admin)},
    )
    return JSONResponse({"count": len(comments), "html": str(html)})


@router.get(PROJECT_NOTES, dependencies=[rule(Need.READ, project=by_path("name"))])
def project_notes(name: str, collab: Collab) -> JSONResponse:
    """``{"notes", "tags", "html"}``: a project's notes (Markdown and safe HTML) and tags."""
    return _notes(collab.get_project_annotations(name))


@router.get(DATASET_NOTES, dependencies=[rule(Need.USER)])
def dataset_notes(name: str, collab: Collab) -> JSONResponse:
    """``{"notes", "tags", "html"}``: a dataset's notes (Markdown and safe HTML) and tags."""
    return _notes(collab.get_dataset_annotations(name))


def _notes(annotations: Annotations) -> JSONResponse:
    notes_html = render_markdown(annotations.notes)
    html = render_fragment("_notes.html", annotations=annotations, notes_html=notes_html)
    return JSONResponse(
        {"notes": annotations.notes, "tags": dict(annotations.tags), "html": str(html)}
    )


def _may_change(caller: Caller, comment: Comment, admin: bool) -> bool:
    return admin or (bool(caller.user) and comment.author == caller.user)
