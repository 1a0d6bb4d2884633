"""The model registry's entities: registered models, their numbered versions, aliases and tags.

A registered model belongs to one project. Its versions are numbered 1, 2, 3... and each points
at a model folder logged by a run (``source`` is the artifact path inside the run, such as
``models/iris-clf``), so a version links back to the run's code, params and datasets. Aliases
(``champion``, ``challenger``, any name) are movable names for one version each: promotion
without stages. Times are milliseconds since the epoch (UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidArgument, NotFound

MAX_MODEL_NAME = 128
MAX_ALIAS = 64
MAX_DESCRIPTION = 10_000
MAX_SOURCE = 1024
LATEST = "latest"
"""The version word that names a registered model's newest version."""

MODEL_KIND = "model"
"""The ``RunInput.kind`` of model lineage records."""

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_ALIAS_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model in a project, with its aliases (alias -> version) and newest version."""

    name: str
    project: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, int] = field(default_factory=dict)
    created_at: int = 0
    updated_at: int = 0
    latest_version: int | None = None


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One numbered version of a registered model: a model folder logged by a run.

    ``source`` is the folder's artifact path inside the run (``models/iris-clf``); ``signature``
    is the flavor's signature in its ``to_dict`` form; ``aliases`` are the aliases that point here.
    """

    name: str
    version: int
    run_id: str | None
    source: str
    flavor: str
    signature: Mapping[str, Any] | None = None
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    created_at: int = 0
    created_by: str = ""

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``, the URI that loads this version."""
        return f"models:/{self.name}/{self.version}"


def validate_model_name(name: str) -> str:
    """A registered model name: letters, digits, ``_ . -``, starting with a letter or digit.

    >>> validate_model_name("iris-clf")
    'iris-clf'
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgument("model name is empty", hint="pass a name such as 'iris-clf'")
    if len(name) > MAX_MODEL_NAME or not _NAME_RE.fullmatch(name):
        raise InvalidArgument(
            f"invalid model name {name!r}",
            hint=f"use letters, digits, '_', '.' and '-' (at most {MAX_MODEL_NAME}), starting "
            "with a letter or digit, e.g. 'iris-clf'",
        )
    return name


def validate_model_version(version: object) -> int:
    """A version number: an integer from 1."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidArgument(
            f"invalid model version {version!r}",
            hint="versions are numbered 1, 2, 3...; `shipyard models show NAME` lists them",
        )
    return version


def validate_alias(alias: str) -> str:
    """An alias: a letter or ``_`` then letters, digits, ``_`` or ``-`` (not ``latest``).

    >>> validate_alias("champion")
    'champion'
    """
    if (
        not isinstance(alias, str)
        or len(alias) > MAX_ALIAS
        or not _ALIAS_RE.fullmatch(alias)
        or alias == LATEST
    ):
        raise InvalidArgument(
            f"invalid alias {alias!r}",
            hint=f"use a word such as 'champion' (letters, digits, '_', '-', at most {MAX_ALIAS}, "
            "starting with a letter; 'latest' is reserved)",
        )
    return alias


def validate_description(description: str) -> str:
    """A description: text of at most 10,000 characters."""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise InvalidArgument(
            "invalid model description", hint=f"use text of at most {MAX_DESCRIPTION} characters"
        )
    return description


def validate_source(source: str) -> str:
    """The model folder's artifact path inside its run: relative, without ``..``."""
    hint = "give the model folder's path inside the run, such as 'models/iris-clf'"
    if not isinstance(source, str) or not source or len(source) > MAX_SOURCE:
        raise InvalidArgument(f"invalid model source {source!r}", hint=hint)
    parts = source.split("/")
    if source.startswith("/") or "\\" in source or any(p in ("", ".", "..") for p in parts):
        raise InvalidArgument(f"model source {source!r} leaves the run's folder", hint=hint)
    return source


def model_not_found(name: str) -> NotFound:
    """The error for a registered model name that is not in the store."""
    return NotFound(
        f"registered model {name!r} not found",
        hint="check the name (names are case-sensitive); `shipyard models list` shows them",
    )


def version_not_found(name: str, version: int) -> NotFound:
    """The error for a version number that a registered model does not have."""
    return NotFound(
        f"registered model {name!r} has no version {version}",
        hint=f"list its versions with `shipyard models show {name}`",
    )


def alias_not_found(name: str, alias: str) -> NotFound:
    """The error for an alias that is not set on a registered model."""
    return NotFound(
        f"registered model {name!r} has no alias {alias!r}",
        hint=f"set it with `shipyard models alias {name} VERSION {alias}`",
    )
