""":class:`HttpCollabStore`: the CollabStore protocol over a Shipyard server's REST API.

It shares the connection, headers and error translation of an :class:`HttpRunStore`. The server
records the signed-in caller as a comment's author, so the ``author`` argument is not sent.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from shipyard.api.routes import url
from shipyard.domain.collab import (
    Annotations,
    Comment,
    validate_comment_body,
    validate_description,
    validate_notes,
    validate_tag,
)
from shipyard.errors import NotFound
from shipyard.sdk._http_store import HttpRunStore, wire


class HttpCollabStore:
    """The :class:`~shipyard.store.collab.CollabStore` protocol over HTTP.

    Input is checked here first, so bad input fails the same way as with a local store.

    Example::

        collab = HttpCollabStore(HttpRunStore("http://127.0.0.1:8080"))
        collab.add_run_comment(run_id, "Looks overfit after epoch 30")
    """

    def __init__(self, http: HttpRunStore) -> None:
        self._http = http

    # -- projects ---------------------------------------------------------------------------
    def get_project_annotations(self, name: str) -> Annotations:
        """A project's description, notes and tags. Raises ``NotFound``."""
        return self._annotations("GET", url(api.PROJECT_ANNOTATIONS, name=name))

    def update_project_annotations(
        self, name: str, *, description: str | None = None, notes: str | None = None
    ) -> Annotations:
        """Change a project's description and/or notes (``None`` leaves one alone)."""
        fields: dict[str, str] = {}
        if description is not None:
            fields["description"] = validate_description(description)
        if notes is not None:
            fields["notes"] = validate_notes(notes)
        body = wire(ProjectPatch, **fields)
        return self._annotations("PATCH", url(routes.PROJECT, name=name), body)

    def set_project_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a project."""
        self._set_tag(api.PROJECT_TAG, name, key, value)

    def delete_project_tag(self, name: str, key: str) -> None:
        """Remove a tag of a project. Raises ``NotFound`` when it is not set."""
        self._http.request("DELETE", url(api.PROJECT_TAG, name=name, key=key))

    # -- datasets ---------------------------------------------------------------------------
    def get_dataset_annotations(self, name: str) -> Annotations:
        """A dataset's notes and tags. Raises ``NotFound``."""
        return self._annotations("GET", url(api.DATASET_ANNOTATIONS, name=name))

    def update_dataset_annotations(self, name: str, *, notes: str) -> Annotations:
        """Replace a dataset's notes."""
        body = wire(DatasetPatch, notes=validate_notes(notes))
        return self._annotations("PATCH", url(api.DATASET, name=name), body)

    def set_dataset_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a dataset."""
        self._set_tag(api.DATASET_TAG, name, key, value)

    def delete_dataset_tag(self, name: str, key: str) -> None:
        """Remove a tag of a dataset. Raises ``NotFound`` when it is not set."""
        self._http.request("DELETE", url(api.DATASET_TAG, name=name, key=key))

    # -- run comments -----------------------------------------------------------------------
    def add_run_comment(self, run_id: str, body: str, *, author: str = "") -> Comment:
        """Post a comment; the server records its signed-in caller as the author."""
        request = wire(CommentIn, body=validate_comment_body(body))
        path = url(api.RUN_COMMENTS, run_id=run_id)
        return self._comment("POST", path, request)

    def list_run_comments(self, run_id: str) -> Sequence[Comment]:
        """The comments on a run, oldest first."""
        response = self._http.request("GET", url(api.RUN_COMMENTS, run_id=run_id))
        listing = CommentList.model_validate_json(response.content)
        return [comment.to_domain() for comment in listing.comments]

    def get_run_comment(self, run_id: str, comment_id: str) -> Comment:
        """One comment of a run. Raises ``NotFound``."""
        for comment in self.list_run_comments(run_id):
            if comment.id == comment_id:
                return comment
        raise NotFound(
            f"comment {comment_id!r} not found on run {run_id}",
            hint="list the run's comments to see their ids",
        )

    def update_run_comment(self, run_id: str, comment_id: str, body: str) -> Comment:
        """Replace a comment's body (its author, or a project admin)."""
        request = wire(CommentIn, body=validate_comment_body(body))
        path = url(api.RUN_COMMENT, run_id=run_id, comment_id=comment_id)
        return self._comment("PATCH", path, request)

    def delete_run_comment(self, run_id: str, comment_id: str) -> None:
        """Remove a comment (its author, or a project admin)."""
        self._http.request("DELETE", url(api.RUN_COMMENT, run_id=run_id, comment_id=comment_id))

    # -- transport --------------------------------------------------------------------------
    def _annotations(
        self, method: str, path: str, body: ProjectPatch | DatasetPatch | None = None
    ) -> Annotations:
        response = self._http.request(method, path, body=body)
        return AnnotationsOut.model_validate_json(response.content).to_domain()

    def _comment(self, method: str, path: str, body: CommentIn) -> Comment:
        response = self._http.request(method, path, body=body)
        return CommentOut.model_validate_json(response.content).to_domain()

    def _set_tag(self, template: str, name: str, key: str, value: str) -> None:
        key, value = validate_tag(key, value)
        body = wire(TagValue, value=value)
        self._http.request("PUT", url(template, name=name, key=key), body=body)
