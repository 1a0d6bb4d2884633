"""Routes and wire models of the model registry (see :mod:`shipyard.store.registry`).

A registered model belongs to a project; its versions point at model folders logged by runs.
``{version}`` is a number or ``latest``; aliases are set with ``PUT .../aliases/{alias}``.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field

from shipyard.api.routes import API_PREFIX
from shipyard.api.schemas import RequestModel, WireModel
from shipyard.domain.models import ModelVersion, RegisteredModel

MODELS = f"{API_PREFIX}/models"
MODEL = f"{MODELS}/{{name}}"
MODEL_TAG = f"{MODEL}/tags/{{key}}"
MODEL_VERSIONS = f"{MODEL}/versions"
MODEL_VERSION = f"{MODEL_VERSIONS}/{{version}}"
MODEL_VERSION_TAG = f"{MODEL_VERSION}/tags/{{key}}"
MODEL_ALIAS = f"{MODEL}/aliases/{{alias}}"

ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", MODELS),
    ("POST", MODELS),
    ("GET", MODEL),
    ("PATCH", MODEL),
    ("DELETE", MODEL),
    ("PUT", MODEL_TAG),
    ("DELETE", MODEL_TAG),
    ("GET", MODEL_VERSIONS),
    ("POST", MODEL_VERSIONS),
    ("GET", MODEL_VERSION),
    ("PATCH", MODEL_VERSION),
    ("DELETE", MODEL_VERSION),
    ("PUT", MODEL_VERSION_TAG),
    ("DELETE", MODEL_VERSION_TAG),
    ("GET", MODEL_ALIAS),
    ("PUT", MODEL_ALIAS),
    ("DELETE", MODEL_ALIAS),
)
"""Every registry route as ``(method, path template)``."""


class RegisteredModelOut(WireModel):
    """A registered model with its tags, aliases (alias -> version) and newest version."""

    name: str
    project: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: dict[str, int] = Field(default_factory=dict)
    created_at: int = Field(default=0, description="Milliseconds since the epoch (UTC).")
    updated_at: int = 0
    latest_version: int | None = None

    @classmethod
    def of(cls, entity: object) -> Self:
        """The wire form of a :class:`~shipyard.domain.models.RegisteredModel`."""
        assert isinstance(entity, RegisteredModel)
        data = {name: getattr(entity, name) for name in cls.model_fields}
        data.update(tags=dict(entity.tags), aliases=dict(entity.aliases))
        return cls(**data)

    def to_domain(self) -> RegisteredModel:
        """Domain form."""
        return RegisteredModel(**self.model_dump())


class RegisteredModelList(WireModel):
    """Registered models, by name."""

    models: list[RegisteredModelOut]


class RegisteredModelCreate(RequestModel):
    """Create a registered model in a project (``WRITE`` on that project)."""

    name: str
    project: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class DescriptionPatch(RequestModel):
    """Change a description."""

    description: str


class TagValueIn(RequestModel):
    """The value of a tag to set."""

    value: str


class ModelVersionOut(WireModel):
    """A numbered version: the model folder ``source`` logged by run ``run_id``."""

    name: str
    version: int
    run_id: str | None = None
    source: str
    flavor: str
    signature: dict[str, Any] | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    created_at: int = 0
    created_by: str = ""

    @classmethod
    def of(cls, entity: object) -> Self:
        """The wire form of a :class:`~shipyard.domain.models.ModelVersion`."""
        assert isinstance(entity, ModelVersion)
        data = {name: getattr(entity, name) for name in cls.model_fields}
        data.update(
            tags=dict(entity.tags),
            aliases=list(entity.aliases),
            signature=None if entity.signature is None else dict(entity.signature),
        )
        return cls(**data)

    def to_domain(self) -> ModelVersion:
        """Domain form."""
        data = self.model_dump()
        data["aliases"] = tuple(self.aliases)
        return ModelVersion(**data)


class ModelVersionList(WireModel):
    """The versions of a registered model, newest first."""

    versions: list[ModelVersionOut]


class ModelVersionCreate(RequestModel):
    """Record the next version of a registered model from a run's model folder."""

    run_id: str | None = Field(description="The run that logged the model folder.")
    source: str = Field(description="The folder's artifact path in the run, e.g. 'models/m'.")
    flavor: str
    signature: dict[str, Any] | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    created_by: str = Field(default="", description="Ignored when the server signs callers in.")


class AliasIn(RequestModel):
    """The version an alias should point at."""

    version: int = Field(ge=1)


class AliasMoved(WireModel):
    """Where an alias points now, and where it pointed before (``null`` when it is new)."""

    name: str
    alias: str
    version: int
    previous: int | None = None
