""":class:`HttpRunStore`: the RunStore protocol over a Shipyard server's REST API.

Errors are translated at this edge: the server's ``{"error": {...}}`` bodies become the same
:mod:`shipyard.errors` class again, and network failures become ``Unavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shipyard.api import codec, routes
from shipyard.api.routes import url
from shipyard.api.schemas import (
    ArtifactList,
    ArtifactsIn,
    IngestResult,
    ParamsIn,
    ProjectCreate,
    ProjectList,
    ProjectOut,
    RunCreate,
    RunInputList,
    RunInputsIn,
    RunOut,
    RunPage,
    RunUpdate,
    SearchRequest,
    TagsIn,
    describe_errors,
)
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
from shipyard.domain.validation import validate_artifact_path
from shipyard.errors import (
    Conflict,
    IntegrityError,
    InvalidArgument,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ShipyardError,
    Unauthenticated,
    Unavailable,
    error_from_dict,
)
from shipyard.store.base import SearchQuery

_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")
JSON = "application/json"

# For error bodies that are not ours (a proxy's HTML 502...): the most general class per status.
_BY_STATUS: dict[int, type[ShipyardError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: IntegrityError,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def _user_agent() -> str:
    try:
        return f"shipyard-sdk/{version('shipyard')}"
    except PackageNotFoundError:
        return "shipyard-sdk"


def wire(model: type[_M], **fields: Any) -> _M:
    """Build a request model, turning a validation failure into ``InvalidArgument``."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise InvalidArgument(describe_errors(exc.errors())) from None


def _convert(build: Callable[[_T], _M], value: _T) -> _M:
    """Build a request model from domain objects, turning a validation failure into
    ``InvalidArgument``."""
    try:
        return build(value)
    except ValidationError as exc:
        raise InvalidArgument(describe_errors(exc.errors())) from None


def error_of(response: httpx.Response) -> ShipyardError:
    """The error a failed response carries: the server's own body, else one by HTTP status."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return error_from_dict(data["error"])
    cls = _BY_STATUS.get(response.status_code, ShipyardError)
    request = response.request
    snippet = response.text[:200].strip() if response.content else ""
    message = f"{request.method} {request.url} answered {response.status_code}"
    return cls(f"{message}: {snippet}" if snippet else message)


def _tags(tags: Mapping[str, object] | None) -> dict[str, str]:
    # Like the stores: tag values that are not strings are converted with str().
    return {k: v if isinstance(v, str) else str(v) for k, v in (tags or {}).items()}


class HttpRunStore:
    """The :class:`~shipyard.store.RunStore` protocol over a Shipyard server's REST API.

    Args:
        base_url: the server, e.g. ``"http://127.0.0.1:8080"``.
        token: sent as ``Authorization: Bearer <token>`` when set.
        timeout: seconds per request (connect, read, write).
        client: an ``httpx.Client`` to use (e.g. :func:`shipyard.testing.asgi.asgi_client`); it is
            not closed by :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout)
        self._headers = {"User-Agent": _user_agent()}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    # -- transport --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | bytes | Iterable[bytes] | None = None,
        content_type: str = JSON,
        params: Mapping[str, Any] | None = None,
        accept: str = JSON,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; raise the server's error as its :mod:`shipyard.errors` class.

        ``body`` is a wire model (sent as JSON), bytes, or an iterable of chunks (streamed).
        """
        request = self._build(method, path, body, content_type, params, accept, headers)
        try:
            response = self._client.send(request)
        except httpx.TransportError as exc:
            raise self.unavailable(exc) from exc
        if response.is_error:
            raise error_of(response)
        return response

    @contextmanager
    def stream(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None
    ) -> Iterator[httpx.Response]:
        """Send a request whose response body is streamed (read it with ``iter_bytes``)."""
        request = self._build(method, path, None, JSON, params, "*/*", None)
        try:
            response = self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self.unavailable(exc) from exc
        try:
            if response.is_error:
                response.read()
                raise error_of(response)
            yield response
        except httpx.TransportError as exc:  # the connection broke mid-body
            raise self.unavailable(exc) from exc
        finally:
            response.close()

    def _build(
        self,
        method: str,
        path: str,
        body: BaseModel | bytes | Iterable[bytes] | None,
        content_type: str,
        params: Mapping[str, Any] | None,
        accept: str,
        headers: Mapping[str, str] | None,
    ) -> httpx.Request:
        all_headers = {**self._headers, "Accept": accept, **(headers or {})}
        content = body.model_dump_json().encode() if isinstance(body, BaseModel) else body
        if content is not None:
            all_headers.setdefault("Content-Type", content_type)
        return self._client.build_request(
            method, self.url(path), content=content, params=params, headers=all_headers
        )

    def url(self, path: str) -> str:
        """The absolute URL of an API path."""
        return f"{self.base_url}{path}"

    def unavailable(self, exc: Exception) -> Unavailable:
        """The error for a server that cannot be reached."""
        return Unavailable(
            f"cannot reach Shipyard server at {self.base_url} ({type(exc).__name__}: {exc})",
            hint="check that `shipyard server` runs there and that SHIPYARD_TRACKING_URI is right",
        )

    @property
    def client(self) -> httpx.Client:
        """The underlying HTTP client (shared with artifact transfers)."""
        return self._client

    @property
    def headers(self) -> dict[str, str]:
        """Headers sent with every request (user agent, authorization)."""
        return dict(self._headers)

    def _get(self, model: type[_M], path: str, params: Mapping[str, Any] | None = None) -> _M:
        return model.model_validate_json(self.request("GET", path, params=params).content)

    def _send(self, model: type[_M], method: str, path: str, body: BaseModel) -> _M:
        return model.model_validate_json(self.request(method, path, body=body).content)

    # -- projects ---------------------------------------------------------------------------

    def create_project(self, name: str, description: str = "") -> Project:
        """Create a project. Raises ``AlreadyExists`` if the name is taken."""
        body = wire(ProjectCreate, name=name, description=description)
        return self._send(ProjectOut, "POST", routes.PROJECTS, body).to_domain()

    def get_project(self, name: str) -> Project:
        """Return a project by name. Raises ``NotFound``."""
        return self._get(ProjectOut, url(routes.PROJECT, name=name)).to_domain()

    def list_projects(self) -> Sequence[Project]:
        """Every project, by name."""
        return [p.to_domain() for p in self._get(ProjectList, routes.PROJECTS).projects]

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
        """Create a RUNNING run (see :meth:`shipyard.store.RunStore.create_run`)."""
        body = wire(
            RunCreate,
            project=project,
            name=name,
            user=user,
            params=dict(params or {}),
            tags=_tags(tags),
            parent_id=parent_id,
            start_time=start_time,
            run_id=run_id,
        )
        return self._send(RunOut, "POST", routes.RUNS, body).to_domain()

    def get_run(self, run_id: str) -> Run:
        """Return a run with its params, tags and metric summaries. Raises ``NotFound``."""
        return self._get(RunOut, url(routes.RUN, run_id=run_id)).to_domain()

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
        given = {"name": name, "notes": notes, "status": status, "end_time": end_time}
        fields = {k: v for k, v in {**given, "error": error}.items() if v is not None}
        response = self.request(
            "PATCH",
            url(routes.RUN, run_id=run_id),
            body=wire(RunUpdate, **fields).model_dump_json(exclude_unset=True).encode(),
        )
        return RunOut.model_validate_json(response.content).to_domain()

    def delete_run(self, run_id: str) -> None:
        """Soft-delete: the run disappears from searches until restored."""
        self.request("DELETE", url(routes.RUN, run_id=run_id))

    def restore_run(self, run_id: str) -> None:
        """Undo ``delete_run``."""
        self.request("POST", url(routes.RUN_RESTORE, run_id=run_id))

    def log_params(self, run_id: str, params: Mapping[str, ParamValue]) -> None:
        """Add params; another value for a logged param is a ``Conflict``."""
        body = wire(ParamsIn, params=dict(params))
        self.request("POST", url(routes.RUN_PARAMS, run_id=run_id), body=body)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags."""
        body = wire(TagsIn, tags=_tags(tags))
        self.request("POST", url(routes.RUN_TAGS, run_id=run_id), body=body)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag. Raises ``NotFound`` when it is not set."""
        self.request("DELETE", url(routes.RUN_TAG, run_id=run_id, key=key))

    def search_runs(self, query: SearchQuery) -> Page[Run]:
        """Filter, order and page runs. Raises ``FilterSyntaxError``."""
        body = wire(
            SearchRequest,
            project=query.project,
            filter=query.filter,
            order_by=list(query.order_by),
            limit=query.limit,
            page_token=query.page_token,
            include_deleted=query.include_deleted,
        )
        page = self._send(RunPage, "POST", routes.RUNS_SEARCH, body)
        return Page([r.to_domain() for r in page.runs], page.next_page_token)

    # -- metrics ----------------------------------------------------------------------------

    def ingest(self, run_id: str, batch: IngestBatch) -> bool:
        """Apply a batch (sent in the compact msgpack format). ``False``: applied before."""
        response = self.request(
            "POST",
            url(routes.RUN_INGEST, run_id=run_id),
            body=codec.encode_batch(batch),
            content_type=routes.MSGPACK,
        )
        return IngestResult.model_validate_json(response.content).applied

    def metric_history(self, run_id: str, key: str, max_points: int | None = None) -> MetricSeries:
        """A metric's points ordered by step (downsampled to ``max_points`` when given)."""
        params: dict[str, Any] = {"key": key}
        if max_points is not None:
            params["max_points"] = max_points
        path = url(routes.RUN_METRIC_HISTORY, run_id=run_id)
        response = self.request("GET", path, params=params, accept=routes.MSGPACK)
        return codec.decode_series(response.content)

    # -- artifacts and inputs ---------------------------------------------------------------

    def add_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> None:
        """Record artifact files. Their blobs must be on the server (``HttpBackend`` uploads)."""
        self.register_artifacts(run_id, artifacts)

    def register_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> list[Artifact]:
        """Record artifact files and return the records as stored."""
        body = _convert(ArtifactsIn.listing, artifacts)
        path = url(routes.RUN_ARTIFACTS, run_id=run_id)
        return self._send(ArtifactList, "POST", path, body).to_domain()

    def list_artifacts(self, run_id: str, path: str | None = None) -> Sequence[Artifact]:
        """Artifacts under ``path`` (a folder prefix or one file), ordered by path."""
        params = None if path is None else {"path": path}
        listing = self._get(ArtifactList, url(routes.RUN_ARTIFACTS, run_id=run_id), params)
        return listing.to_domain()

    def get_artifact(self, run_id: str, path: str) -> Artifact:
        """One artifact record. Raises ``NotFound``."""
        wanted = validate_artifact_path(path)
        for artifact in self.list_artifacts(run_id, wanted):
            if artifact.path == wanted:
                return artifact
        raise NotFound(
            f"artifact {path!r} not found in run {run_id}",
            hint="list the run's artifacts to see their paths",
        )

    def add_run_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        """Record lineage inputs/outputs of a run."""
        body = _convert(RunInputsIn.listing, inputs)
        self.request("POST", url(routes.RUN_INPUTS, run_id=run_id), body=body)

    def list_run_inputs(self, run_id: str) -> Sequence[RunInput]:
        """Lineage records of a run."""
        return self._get(RunInputList, url(routes.RUN_INPUTS, run_id=run_id)).to_domain()

    def close(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        if self._owns_client:
            self._client.close()
