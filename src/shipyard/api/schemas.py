"""Pydantic wire models of the native REST API and their converters to and from domain entities.

Requests refuse unknown fields (``extra="forbid"``), so a typo is a 400 rather than silently
ignored. JSON cannot hold NaN or infinities: float fields travel as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (serialize with ``model_dump_json``; validation accepts those
strings back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from shipyard.domain.batch import IngestBatch, MetricColumns, RunEnd
from shipyard.domain.entities import (
    Artifact,
    MetricSeries,
    MetricSummary,
    Project,
    Run,
    RunInput,
    RunStatus,
)

WireParam = str | int | float | bool | None
"""A param value on the wire; JSON keeps its type (``true``, ``1``, ``1.0``, ``"1"``)."""


class WireModel(BaseModel):
    """Base of every wire model: NaN and infinities serialize as strings in JSON, and a model is
    built from a domain entity's attributes with :meth:`of`."""

    model_config = ConfigDict(ser_json_inf_nan="strings", from_attributes=True)

    @classmethod
    def of(cls, entity: object) -> Self:
        """The wire form of a domain entity (read attribute by attribute, nested ones too)."""
        return cls.model_validate(entity)


class RequestModel(WireModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(ser_json_inf_nan="strings", from_attributes=True, extra="forbid")


# -- errors and health ----------------------------------------------------------------------


class ErrorDetail(WireModel):
    """What went wrong (``message``) and what to do about it (``hint``)."""

    code: str = Field(description="Stable error code, e.g. 'not_found'.")
    message: str
    hint: str | None = None
    position: str | None = Field(default=None, description="filter_syntax only: offset.")
    token: str | None = Field(default=None, description="filter_syntax only: offending token.")


class ErrorBody(WireModel):
    """The body of every error response."""

    error: ErrorDetail


class Health(WireModel):
    """Liveness of the server."""

    status: str = "ok"
    version: str


# -- projects -------------------------------------------------------------------------------


class ProjectCreate(RequestModel):
    """Create a project."""

    name: str
    description: str = ""


class ProjectOut(WireModel):
    """A project."""

    id: str
    name: str
    created_at: int = Field(description="Milliseconds since the epoch (UTC).")
    description: str = ""

    def to_domain(self) -> Project:
        """Domain form."""
        return Project(**self.model_dump())


class ProjectList(WireModel):
    """Every project, by name."""

    projects: list[ProjectOut]


# -- runs -----------------------------------------------------------------------------------


class RunCreate(RequestModel):
    """Create a RUNNING run (the project is created when missing)."""

    project: str
    name: str = ""
    user: str = ""
    params: dict[str, WireParam] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    parent_id: str | None = None
    start_time: int | None = Field(default=None, description="Milliseconds; default: now.")
    run_id: str | None = Field(default=None, description="Client-chosen id (idempotent).")


class RunUpdate(RequestModel):
    """Change the given fields of a run; absent fields are left as they are."""

    name: str | None = None
    notes: str | None = None
    status: RunStatus | None = None
    end_time: int | None = None
    error: str | None = None


class MetricSummaryOut(WireModel):
    """Last value and extremes of one metric of a run."""

    key: str
    last: float
    last_step: int
    last_timestamp: int
    min: float | None
    max: float | None
    count: int

    def to_domain(self) -> MetricSummary:
        """Domain form."""
        return MetricSummary(**self.model_dump())


class RunOut(WireModel):
    """A run with its params, tags and metric summaries."""

    id: str
    project: str
    name: str
    status: RunStatus
    user: str
    start_time: int
    end_time: int | None = None
    parent_id: str | None = None
    error: str | None = None
    notes: str = ""
    deleted: bool = False
    params: dict[str, WireParam] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, MetricSummaryOut] = Field(default_factory=dict)

    def to_domain(self) -> Run:
        """Domain form."""
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        fields["metrics"] = {k: m.to_domain() for k, m in self.metrics.items()}
        return Run(**fields)


class ParamsIn(RequestModel):
    """Params to add to a run."""

    params: dict[str, WireParam]


class TagsIn(RequestModel):
    """Tags to set on a run."""

    tags: dict[str, str]


class SearchRequest(RequestModel):
    """Filter, order and page runs."""

    project: str | None = None
    filter: str = Field(
        default="", description="e.g. \"metrics.acc > 0.9 AND params.model = 'rf'\""
    )
    order_by: list[str] = Field(default_factory=list, description="e.g. ['-metrics.acc']")
    limit: int = 100
    page_token: str | None = None
    include_deleted: bool = False


class RunPage(WireModel):
    """One page of runs and the token of the next page (``null`` at the end)."""

    runs: list[RunOut]
    next_page_token: str | None = None


# -- metrics --------------------------------------------------------------------------------


class MetricColumnsIn(RequestModel):
    """Points of one metric as parallel columns of equal length."""

    steps: list[int]
    timestamps: list[int]
    values: list[float]


class RunEndIn(RequestModel):
    """Ends the run."""

    status: RunStatus
    end_time: int
    error: str | None = None


class IngestIn(RequestModel):
    """One idempotent batch (JSON form; the SDK sends the msgpack form, see ``api.codec``)."""

    batch_id: str = Field(min_length=1, max_length=64)
    metrics: dict[str, MetricColumnsIn] = Field(default_factory=dict)
    params: dict[str, WireParam] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    end: RunEndIn | None = None

    def to_domain(self) -> IngestBatch:
        """Domain form (column lengths are checked by ``api.codec.check_columns``)."""
        end = self.end
        return IngestBatch(
            batch_id=self.batch_id,
            metrics={
                k: MetricColumns(c.steps, c.timestamps, c.values) for k, c in self.metrics.items()
            },
            params=self.params,
            tags=self.tags,
            end=None if end is None else RunEnd(end.status, end.end_time, end.error),
        )


class IngestResult(WireModel):
    """Whether the batch was applied (``false``: this batch id was applied before)."""

    applied: bool


class MetricSeriesOut(WireModel):
    """A metric's history as three parallel columns."""

    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[float]
    total: int = Field(description="Points stored; more than len(steps) when downsampled.")

    def to_domain(self) -> MetricSeries:
        """Domain form."""
        return MetricSeries(self.key, self.steps, self.timestamps, self.values, self.total)


# -- artifacts and inputs -------------------------------------------------------------------


class ArtifactIn(RequestModel):
    """An artifact record to register; its blob must be uploaded first."""

    path: str = Field(description="Relative POSIX path inside the run, e.g. 'model/model.pkl'.")
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Lowercase hex sha256.")
    media_type: str = "application/octet-stream"


class ArtifactsIn(RequestModel):
    """Artifact records to register in one go."""

    artifacts: list[ArtifactIn]

    @classmethod
    def listing(cls, artifacts: Iterable[Artifact]) -> Self:
        """Wire form of domain artifacts."""
        return cls(artifacts=[ArtifactIn.of(a) for a in artifacts])

    def to_domain(self) -> list[Artifact]:
        """Domain form (``created_at`` is set by the store)."""
        return [Artifact(**a.model_dump()) for a in self.artifacts]


class ArtifactOut(WireModel):
    """An artifact record."""

    path: str
    size: int
    sha256: str
    media_type: str
    created_at: int = 0

    def to_domain(self) -> Artifact:
        """Domain form."""
        return Artifact(**self.model_dump())


class ArtifactList(WireModel):
    """Artifact records, by path."""

    artifacts: list[ArtifactOut]

    @classmethod
    def listing(cls, artifacts: Iterable[Artifact]) -> Self:
        """Wire form of domain artifacts."""
        return cls(artifacts=[ArtifactOut.of(a) for a in artifacts])

    def to_domain(self) -> list[Artifact]:
        """Domain form."""
        return [a.to_domain() for a in self.artifacts]


class BlobOut(WireModel):
    """A stored blob."""

    sha256: str
    size: int


class RunInputOut(WireModel):
    """Something a run consumed or produced (a dataset version...), for lineage."""

    kind: str
    name: str
    version: str
    direction: str = Field(default="input", description="'input' or 'output'.")
    digest: str = ""
    extra: dict[str, str] = Field(default_factory=dict)

    def to_domain(self) -> RunInput:
        """Domain form."""
        return RunInput(**self.model_dump())


class RunInputIn(RunInputOut):
    """A lineage record to add (unknown fields are refused)."""

    model_config = ConfigDict(ser_json_inf_nan="strings", extra="forbid")


class RunInputsIn(RequestModel):
    """Lineage records to add to a run."""

    inputs: list[RunInputIn]

    @classmethod
    def listing(cls, inputs: Iterable[RunInput]) -> Self:
        """Wire form of domain inputs."""
        return cls(inputs=[RunInputIn.of(i) for i in inputs])

    def to_domain(self) -> list[RunInput]:
        """Domain form."""
        return [i.to_domain() for i in self.inputs]


class RunInputList(WireModel):
    """Lineage records of a run."""

    inputs: list[RunInputOut]

    @classmethod
    def listing(cls, inputs: Iterable[RunInput]) -> Self:
        """Wire form of domain inputs."""
        return cls(inputs=[RunInputOut.of(i) for i in inputs])

    def to_domain(self) -> list[RunInput]:
        """Domain form."""
        return [i.to_domain() for i in self.inputs]


# -- validation errors ----------------------------------------------------------------------


def describe_errors(errors: Sequence[Mapping[str, Any]]) -> str:
    """One line naming each bad field, from pydantic/FastAPI error dicts.

    >>> describe_errors([{"loc": ("body", "nme"), "msg": "Extra inputs are not permitted"}])
    'invalid request: body.nme: Extra inputs are not permitted'
    """
    for err in errors:
        if err.get("type") == "json_invalid":
            detail = (err.get("ctx") or {}).get("error") or err.get("msg", "cannot be parsed")
            return f"malformed JSON body: {detail}"
    parts = []
    for err in errors[:10]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    return "invalid request: " + "; ".join(parts) + more
