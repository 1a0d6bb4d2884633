""":class:`HttpRegistryStore`: the RegistryStore protocol over a Shipyard server's REST API.

It shares the connection, headers and error translation of an :class:`HttpRunStore`, and reads
runs and artifact records through it, so it is a :class:`~shipyard.registry.ModelStore` too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from shipyard.api import models as api
from shipyard.api.models import (
    AliasIn,
    AliasMoved,
    DescriptionPatch,
    ModelVersionCreate,
    ModelVersionList,
    ModelVersionOut,
    RegisteredModelCreate,
    RegisteredModelList,
    RegisteredModelOut,
    TagValueIn,
)
from shipyard.api.routes import url
from shipyard.domain.entities import Artifact, Run
from shipyard.domain.models import (
    ModelVersion,
    RegisteredModel,
    validate_alias,
    validate_description,
    validate_model_name,
    validate_model_version,
    validate_source,
)
from shipyard.domain.validation import validate_key, validate_project_name, validate_tags
from shipyard.sdk._http_store import HttpRunStore, wire

_M = TypeVar("_M", bound=BaseModel)


class HttpRegistryStore:
    """The :class:`~shipyard.store.registry.RegistryStore` protocol over HTTP.

    Input is checked here first, so bad input fails the same way as with a local store.

    Example::

        registry = HttpRegistryStore(HttpRunStore("http://127.0.0.1:8080"))
        print([m.name for m in registry.list_registered_models()])
    """

    def __init__(self, http: HttpRunStore) -> None:
        self._http = http

    # -- runs (what model URIs need) --------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        """A run. Raises ``NotFound``."""
        return self._http.get_run(run_id)

    def list_artifacts(self, run_id: str, path: str | None = None) -> Sequence[Artifact]:
        """Artifact records of a run under a folder."""
        return self._http.list_artifacts(run_id, path)

    def get_artifact(self, run_id: str, path: str) -> Artifact:
        """One artifact record. Raises ``NotFound``."""
        return self._http.get_artifact(run_id, path)

    # -- registered models ------------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        *,
        project: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Create a registered model in a project. Raises ``AlreadyExists``."""
        validate_model_name(name)
        validate_project_name(project)
        validate_description(description)
        body = wire(
            RegisteredModelCreate,
            name=name,
            project=project,
            description=description,
            tags=validate_tags(tags or {}),
        )
        response = self._http.request("POST", api.MODELS, body=body)
        return RegisteredModelOut.model_validate_json(response.content).to_domain()

    def get_registered_model(self, name: str) -> RegisteredModel:
        """One registered model. Raises ``NotFound``."""
        return self._get(RegisteredModelOut, self._model(name)).to_domain()

    def list_registered_models(self, *, project: str | None = None) -> Sequence[RegisteredModel]:
        """Registered models (of one project, or all) that the caller may see, by name."""
        params = None if project is None else {"project": project}
        listing = self._get(RegisteredModelList, api.MODELS, params)
        return [m.to_domain() for m in listing.models]

    def update_registered_model(self, name: str, *, description: str) -> RegisteredModel:
        """Change the description. Raises ``NotFound``."""
        validate_description(description)
        body = wire(DescriptionPatch, description=description)
        response = self._http.request("PATCH", self._model(name), body=body)
        return RegisteredModelOut.model_validate_json(response.content).to_domain()

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions, tags and aliases."""
        self._http.request("DELETE", self._model(name))

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a registered model."""
        checked = validate_tags({key: value})
        path = url(api.MODEL_TAG, name=validate_model_name(name), key=key)
        self._http.request("PUT", path, body=wire(TagValueIn, value=checked[key]))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag. Raises ``NotFound`` when it is not set."""
        path = url(api.MODEL_TAG, name=validate_model_name(name), key=validate_key(key, "tag key"))
        self._http.request("DELETE", path)

    # -- versions ---------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        *,
        run_id: str | None,
        source: str,
        flavor: str,
        signature: Mapping[str, Any] | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        created_by: str = "",
    ) -> ModelVersion:
        """Record the next version of a registered model."""
        validate_source(source)
        validate_description(description)
        body = wire(
            ModelVersionCreate,
            run_id=run_id,
            source=source,
            flavor=flavor,
            signature=None if signature is None else dict(signature),
            description=description,
            tags=validate_tags(tags or {}),
            created_by=created_by,
        )
        path = url(api.MODEL_VERSIONS, name=validate_model_name(name))
        response = self._http.request("POST", path, body=body)
        return ModelVersionOut.model_validate_json(response.content).to_domain()

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One version. Raises ``NotFound``."""
        return self._get(ModelVersionOut, self._version(name, version)).to_domain()

    def list_model_versions(self, name: str) -> Sequence[ModelVersion]:
        """The versions of a registered model, newest first."""
        path = url(api.MODEL_VERSIONS, name=validate_model_name(name))
        return [v.to_domain() for v in self._get(ModelVersionList, path).versions]

    def update_model_version(self, name: str, version: int, *, description: str) -> ModelVersion:
        """Change a version's description."""
        validate_description(description)
        body = wire(DescriptionPatch, description=description)
        response = self._http.request("PATCH", self._version(name, version), body=body)
        return ModelVersionOut.model_validate_json(response.content).to_domain()

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version and its aliases."""
        self._http.request("DELETE", self._version(name, version))

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a version."""
        checked = validate_tags({key: value})
        path = self._version_tag(name, version, key)
        self._http.request("PUT", path, body=wire(TagValueIn, value=checked[key]))

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Remove a tag of a version."""
        path = self._version_tag(name, version, validate_key(key, "tag key"))
        self._http.request("DELETE", path)

    # -- aliases ----------------------------------------------------------------------------
    def set_model_alias(self, name: str, alias: str, version: int) -> int | None:
        """Point an alias at a version; returns the version it pointed at before."""
        body = wire(AliasIn, version=validate_model_version(version))
        response = self._http.request("PUT", self._alias(name, alias), body=body)
        return AliasMoved.model_validate_json(response.content).previous

    def delete_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self._http.request("DELETE", self._alias(name, alias))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        return self._get(ModelVersionOut, self._alias(name, alias)).to_domain()

    # -- helpers ----------------------------------------------------------------------------
    def _model(self, name: str) -> str:
        return url(api.MODEL, name=validate_model_name(name))

    def _version(self, name: str, version: int) -> str:
        number = str(validate_model_version(version))
        return url(api.MODEL_VERSION, name=validate_model_name(name), version=number)

    def _version_tag(self, name: str, version: int, key: str) -> str:
        number = str(validate_model_version(version))
        return url(api.MODEL_VERSION_TAG, name=validate_model_name(name), version=number, key=key)

    def _alias(self, name: str, alias: str) -> str:
        return url(api.MODEL_ALIAS, name=validate_model_name(name), alias=validate_alias(alias))

    def _get(self, model: type[_M], path: str, params: dict[str, Any] | None = None) -> _M:
        return model.model_validate_json(self._http.request("GET", path, params=params).content)
