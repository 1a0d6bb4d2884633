"""The registry store protocol: registered models, their versions, tags and aliases.

Contract (checked by ``shipyard.testing.registry_contract`` over every backend):

* A registered model has a unique name and belongs to one project (created when needed).
  ``create_registered_model`` raises ``AlreadyExists`` for a taken name.
* ``create_model_version`` numbers versions 1, 2, 3... per model, atomically (concurrent writers
  get distinct numbers without gaps); numbers are never reused, even after a delete. It records
  metadata only (the model's files are run artifacts) and creates nothing else. A ``run_id``, when
  given, must name an existing run (``NotFound``).
* An alias points at one version of its model; ``set_model_alias`` moves it and returns the
  version it pointed to before (``None`` when new). Deleting a version removes its aliases.
  Deleting a registered model removes its versions, tags and aliases.
* Errors are :mod:`shipyard.errors` classes: ``NotFound`` names the model, version or alias;
  ``InvalidArgument`` refuses bad names, aliases, tags and sources. Times are integer
  milliseconds since the epoch. Thread safe, like :class:`~shipyard.store.base.RunStore`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from shipyard.domain.models import ModelVersion, RegisteredModel


@runtime_checkable
class RegistryStore(Protocol):
    """Where registered models, versions, tags and aliases live."""

    def create_registered_model(
        self,
        name: str,
        *,
        project: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Create a registered model in a project. Raises ``AlreadyExists``.

        Example::

            model = store.create_registered_model("iris-clf", project="iris")
        """
        ...

    def get_registered_model(self, name: str) -> RegisteredModel:
        """One registered model with its tags and aliases. Raises ``NotFound``."""
        ...

    def list_registered_models(self, *, project: str | None = None) -> Sequence[RegisteredModel]:
        """Registered models (of one project, or all), by name."""
        ...

    def update_registered_model(self, name: str, *, description: str) -> RegisteredModel:
        """Change the description. Raises ``NotFound``."""
        ...

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions, tags and aliases. Raises ``NotFound``."""
        ...

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a registered model."""
        ...

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag. Raises ``NotFound`` when it is not set."""
        ...

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
        """Record the next version of a registered model (which must exist).

        Example::

            v = store.create_model_version("iris-clf", run_id=run.id, source="models/iris-clf",
                                           flavor="sklearn")
        """
        ...

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One version with its tags and aliases. Raises ``NotFound``."""
        ...

    def list_model_versions(self, name: str) -> Sequence[ModelVersion]:
        """The versions of a registered model, newest first. Raises ``NotFound``."""
        ...

    def update_model_version(self, name: str, version: int, *, description: str) -> ModelVersion:
        """Change a version's description. Raises ``NotFound``."""
        ...

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version and the aliases that point at it. Raises ``NotFound``."""
        ...

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a version."""
        ...

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Remove a tag of a version. Raises ``NotFound`` when it is not set."""
        ...

    def set_model_alias(self, name: str, alias: str, version: int) -> int | None:
        """Point ``alias`` at a version; returns the version it pointed at before (or ``None``)."""
        ...

    def delete_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias. Raises ``NotFound`` when it is not set."""
        ...

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at. Raises ``NotFound``."""
        ...
