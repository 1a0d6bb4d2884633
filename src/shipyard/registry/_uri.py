"""Model URIs: ``runs:/RUN_ID/path``, ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` and
``models:/NAME/latest``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shipyard.domain.ids import is_id
from shipyard.domain.models import LATEST, validate_alias, validate_model_name, validate_source
from shipyard.errors import InvalidArgument

_HINT = (
    "write runs:/RUN_ID/models/NAME, models:/NAME/VERSION, models:/NAME@ALIAS or "
    "models:/NAME/latest"
)


@dataclass(frozen=True, slots=True)
class ModelUri:
    """A parsed model URI: a run's model folder (``run_id`` and ``path``) or a registered model
    (``name`` with a ``version``, an ``alias``, or neither for the latest version)."""

    uri: str
    run_id: str | None = None
    path: str | None = None
    name: str | None = None
    version: int | None = None
    alias: str | None = None

    @property
    def is_registered(self) -> bool:
        """Whether the URI names a registered model (``models:/``)."""
        return self.name is not None


def parse_model_uri(uri: str) -> ModelUri:
    """Parse a model URI; ``InvalidArgument`` says which forms exist.

    >>> parse_model_uri("models:/iris-clf@champion").alias
    'champion'
    """
    if not isinstance(uri, str):
        raise InvalidArgument(f"invalid model URI {uri!r}", hint=_HINT)
    if uri.startswith("runs:/"):
        return _run_uri(uri)
    if uri.startswith("models:/"):
        return _registered_uri(uri)
    raise InvalidArgument(f"invalid model URI {uri!r}: unknown scheme", hint=_HINT)


def _run_uri(uri: str) -> ModelUri:
    run_id, _, path = uri[len("runs:/") :].strip("/").partition("/")
    if not is_id(run_id) or not path:
        raise InvalidArgument(
            f"invalid model URI {uri!r}: expected runs:/RUN_ID/PATH with a 32-character run id",
            hint=_HINT,
        )
    return ModelUri(uri, run_id=run_id, path=_checked(uri, validate_source, path.rstrip("/")))


def _registered_uri(uri: str) -> ModelUri:
    rest = uri[len("models:/") :]
    if "/" not in rest and "@" in rest:
        name, _, alias = rest.partition("@")
        return ModelUri(uri, name=_name(uri, name), alias=_checked(uri, validate_alias, alias))
    name, _, version = rest.partition("/")
    if version == LATEST or version == "":
        return ModelUri(uri, name=_name(uri, name))
    if not version.isdigit() or int(version) < 1:
        raise InvalidArgument(
            f"invalid model URI {uri!r}: version {version!r} is not a number from 1", hint=_HINT
        )
    return ModelUri(uri, name=_name(uri, name), version=int(version))


def _name(uri: str, name: str) -> str:
    return _checked(uri, validate_model_name, name)


def _checked(uri: str, check: Callable[[str], str], part: str) -> str:
    try:
        return check(part)
    except InvalidArgument as exc:
        raise InvalidArgument(f"invalid model URI {uri!r}: {exc.message}", hint=_HINT) from None
