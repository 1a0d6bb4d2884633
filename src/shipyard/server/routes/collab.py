"""Collaboration routes: project and dataset notes and tags, and comments on runs.

Every change is audited with its before and after values. A comment's author is the signed-in
caller; only its author or an admin of the run's project may edit or delete it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from shipyard.api import collab as api
from shipyard.api import routes
from shipyard.api.collab import (
    AnnotationsOut,
    CommentIn,
    CommentList,
    CommentOut,
    DatasetPatch,
    ProjectPatch,
    TagValue,
)
from shipyard.domain.collab import Annotations, Comment
from shipyard.errors import PermissionDenied, ShipyardError
from shipyard.server._deps import Store, errors, json_response
from shipyard.server.access import CallerDep, Need, Role, by_path, by_run, rule
from shipyard.server.audit import audit
from shipyard.store.collab import CollabStore

router = APIRouter(tags=["collaboration"])

NO_CONTENT = 204


def get_collab(request: Request) -> CollabStore:
    """The app's metadata store, as a collaboration store."""
    store = request.app.state.store
    if not isinstance(store, CollabStore):
        raise ShipyardError(
            f"this server's metadata store ({type(store).__name__}) does not keep notes or "
            "comments",
            hint="run the server on a SQL store (sqlite:/// or postgresql+psycopg://)",
        )
    return store


Collab = Annotated[CollabStore, Depends(get_collab)]
READ_PROJECT = [rule(Need.READ, project=by_path("name"))]
WRITE_PROJECT = [rule(Need.WRITE, project=by_path("name"))]
ANY_USER = [rule(Need.USER)]


def _annotations(annotations: Annotations) -> Response:
    return json_response(AnnotationsOut.of(annotations))


# A project's and a dataset's notes and tags are edited alike; ``kind`` names which in the audit.
Read = Callable[[str], Annotations]


def _updated(
    request: Request, kind: str, name: str, fields: Iterable[str], before: Annotations,
    after: Annotations,
) -> Response:  # fmt: skip
    """Audit an edit of ``fields`` and answer with the annotations after it."""
    fields = tuple(fields)
    audit(
        request,
        f"{kind}.update",
        f"{kind}s/{name}",
        before={k: getattr(before, k) for k in fields},
        after={k: getattr(after, k) for k in fields},
    )
    return _annotations(after)


def _set_tag(
    request: Request, kind: str, name: str, key: str, value: str, read: Read,
    write: Callable[[str, str, str], None],
) -> Response:  # fmt: skip
    before = read(name).tags.get(key)
    write(name, key, value)
    audit(request, f"{kind}.tag.set", f"{kind}s/{name}/tags/{key}", before=before, after=value)
    return Response(status_code=NO_CONTENT)


def _delete_tag(
    request: Request, kind: str, name: str, key: str, read: Read,
    delete: Callable[[str, str], None],
) -> Response:  # fmt: skip
    before = read(name).tags.get(key)
    delete(name, key)
    audit(request, f"{kind}.tag.delete", f"{kind}s/{name}/tags/{key}", before=before)
    return Response(status_code=NO_CONTENT)


# -- projects -------------------------------------------------------------------------------


@router.patch(
    routes.PROJECT,
    response_model=AnnotationsOut,
    responses=errors(404),
    dependencies=WRITE_PROJECT,
    summary="Edit a project's notes or description",
    description="Change the given fields: `notes` (Markdown, at most 64 KiB) and `description` "
    "(one line). Returns the project's description, notes and tags.",
)
def update_project(name: str, body: ProjectPatch, collab: Collab, request: Request) -> Response:
    """Edit a project's notes or description."""
    before = collab.get_project_annotations(name)
    after = collab.update_project_annotations(name, description=body.description, notes=body.notes)
    return _updated(request, "project", name, body.model_dump(exclude_none=True), before, after)


@router.get(
    api.PROJECT_ANNOTATIONS,
    response_model=AnnotationsOut,
    responses=errors(404),
    dependencies=READ_PROJECT,
    summary="Get a project's notes and tags",
    description="The project's description, Markdown notes and tags.",
)
def get_project_annotations(name: str, collab: Collab) -> Response:
    """A project's notes and tags."""
    return _annotations(collab.get_project_annotations(name))


@router.put(
    api.PROJECT_TAG.replace("{key}", "{key:path}"),  # tag keys may contain '/'
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=WRITE_PROJECT,
    summary="Set a project tag",
    description="Set or overwrite one tag of a project. Percent-encode '/' in the key.",
)
def set_project_tag(
    name: str, key: str, body: TagValue, collab: Collab, request: Request
) -> Response:
    """Set a project tag."""
    read, write = collab.get_project_annotations, collab.set_project_tag
    return _set_tag(request, "project", name, key, body.value, read, write)


@router.delete(
    api.PROJECT_TAG.replace("{key}", "{key:path}"),
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=WRITE_PROJECT,
    summary="Delete a project tag",
    description="Remove one tag of a project; 404 when it is not set.",
)
def delete_project_tag(name: str, key: str, collab: Collab, request: Request) -> Response:
    """Remove a project tag."""
    read, delete = collab.get_project_annotations, collab.delete_project_tag
    return _delete_tag(request, "project", name, key, read, delete)


# -- datasets -------------------------------------------------------------------------------


@router.patch(
    api.DATASET,
    response_model=AnnotationsOut,
    responses=errors(404),
    dependencies=ANY_USER,
    summary="Edit a dataset's notes",
    description="Replace the dataset's Markdown notes (at most 64 KiB). Returns its notes and "
    "tags.",
)
def update_dataset(name: str, body: DatasetPatch, collab: Collab, request: Request) -> Response:
    """Edit a dataset's notes."""
    before = collab.get_dataset_annotations(name)
    after = collab.update_dataset_annotations(name, notes=body.notes)
    return _updated(request, "dataset", name, ["notes"], before, after)


@router.get(
    api.DATASET_ANNOTATIONS,
    response_model=AnnotationsOut,
    responses=errors(404),
    dependencies=ANY_USER,
    summary="Get a dataset's notes and tags",
    description="The dataset's Markdown notes and tags.",
)
def get_dataset_annotations(name: str, collab: Collab) -> Response:
    """A dataset's notes and tags."""
    return _annotations(collab.get_dataset_annotations(name))


@router.put(
    api.DATASET_TAG.replace("{key}", "{key:path}"),
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=ANY_USER,
    summary="Set a dataset tag",
    description="Set or overwrite one tag of a dataset. Percent-encode '/' in the key.",
)
def set_dataset_tag(
    name: str, key: str, body: TagValue, collab: Collab, request: Request
) -> Response:
    """Set a dataset tag."""
    read, write = collab.get_dataset_annotations, collab.set_dataset_tag
    return _set_tag(request, "dataset", name, key, body.value, read, write)


@router.delete(
    api.DATASET_TAG.replace("{key}", "{key:path}"),
    status_code=NO_CONTENT,
    responses=errors(404),
    dependencies=ANY_USER,
    summary="Delete a dataset tag",
    description="Remove one tag of a dataset; 404 when it is not set.",
)
def delete_dataset_tag(name: str, key: str, collab: Collab, request: Request) -> Response:
    """Remove a dataset tag."""
    read, delete = collab.get_dataset_annotations, collab.delete_dataset_tag
    return _delete_tag(request, "dataset", name, key, read, delete)


# -- run comments ---------------------------------------------------------------------------


@router.get(
    api.RUN_COMMENTS,
    response_model=CommentList,
    responses=errors(404),
    dependencies=[rule(Need.READ, project=by_run())],
    summary="List a run's comments",
    description="The comments on a run, oldest first.",
)
def list_comments(run_id: str, collab: Collab) -> Response:
    """A run's comments."""
    return json_response(CommentList.listing(collab.list_run_comments(run_id)))


@router.post(
    api.RUN_COMMENTS,
    response_model=CommentOut,
    status_code=201,
    responses=errors(404),
    dependencies=[rule(Need.WRITE, project=by_run())],
    summary="Comment on a run",
    description="Post a Markdown comment (at most 16 KiB). The author is the signed-in caller.",
)
def add_comment(
    run_id: str, body: CommentIn, collab: Collab, caller: CallerDep, request: Request
) -> Response:
    """Post a comment."""
    comment = collab.add_run_comment(run_id, body.body, author=caller.user)
    audit(request, "run.comment.add", _target(comment), after={"body": comment.body})
    return json_response(CommentOut.of(comment), status_code=201)


@router.patch(
    api.RUN_COMMENT,
    response_model=CommentOut,
    responses=errors(403, 404),
    dependencies=[rule(Need.WRITE, project=by_run())],
    summary="Edit a comment",
    description="Replace a comment's body. Only its author or an admin of the run's project may.",
)
def edit_comment(
    run_id: str,
    comment_id: str,
    body: CommentIn,
    collab: Collab,
    store: Store,
    caller: CallerDep,
    request: Request,
) -> Response:
    """Edit a comment (its author, or a project admin)."""
    before = _own_comment(collab, store, caller, run_id, comment_id, "edit")
    after = collab.update_run_comment(run_id, comment_id, body.body)
    audit(
        request,
        "run.comment.edit",
        _target(after),
        before={"body": before.body},
        after={"body": after.body},
    )
    return json_response(CommentOut.of(after))


@router.delete(
    api.RUN_COMMENT,
    status_code=NO_CONTENT,
    responses=errors(403, 404),
    dependencies=[rule(Need.WRITE, project=by_run())],
    summary="Delete a comment",
    description="Remove a comment. Only its author or an admin of the run's project may.",
)
def delete_comment(
    run_id: str, comment_id: str, collab: Collab, store: Store, caller: CallerDep, request: Request
) -> Response:
    """Delete a comment (its author, or a project admin)."""
    before = _own_comment(collab, store, caller, run_id, comment_id, "delete")
    collab.delete_run_comment(run_id, comment_id)
    audit(
        request,
        "run.comment.delete",
        _target(before),
        before={"body": before.body, "author": before.author},
    )
    return Response(status_code=NO_CONTENT)


def _own_comment(
    collab: CollabStore, store: Store, caller: CallerDep, run_id: str, comment_id: str, verb: str
) -> Comment:
    """The comment, when the caller wrote it or administers the run's project."""
    comment = collab.get_run_comment(run_id, comment_id)
    if comment.author == caller.user:
        return comment
    if caller.role(store.get_run(run_id).project) is Role.ADMIN:
        return comment
    raise PermissionDenied(
        f"{caller.user!r} may not {verb} a comment by {comment.author!r}",
        hint="only a comment's author or an admin of the project may change it",
    )


def _target(comment: Comment) -> str:
    return f"runs/{comment.run_id}/comments/{comment.id}"
