"""Validation at the edges: names, keys, values and artifact paths.

Errors say what to type instead.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Mapping

from shipyard.domain.entities import ParamValue
from shipyard.errors import InvalidArgument

MAX_NAME = 256
MAX_KEY = 250
MAX_PARAM_TEXT = 6000
MAX_TAG_VALUE = 8000

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-/ :]+$")


def validate_project_name(name: str) -> str:
    """A project name: letters, digits, ``_ . -`` and spaces, starting with a letter/digit."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument("project name is empty", hint="pass a name such as 'iris'")
    if len(name) > MAX_NAME or not _NAME_RE.fullmatch(name):
        raise InvalidArgument(
            f"invalid project name {name!r}",
            hint="use letters, digits, '_', '.', '-' and spaces (at most 256), "
            "starting with a letter or digit",
        )
    return name


def validate_run_name(name: str) -> str:
    """A run name: any printable text up to 256 characters."""
    if not isinstance(name, str) or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidArgument(
            f"invalid run name {name!r}", hint="use printable text of at most 256 characters"
        )
    return name


def validate_key(key: str, what: str = "key") -> str:
    """A param, metric or tag key: letters, digits, ``_ . - / :`` and spaces."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or not _KEY_RE.fullmatch(key):
        raise InvalidArgument(
            f"invalid {what} {key!r}",
            hint="keys use letters, digits, '_', '.', '-', '/', ':' and spaces "
            "(1 to 250 characters)",
        )
    return key


def validate_param_value(key: str, value: object) -> ParamValue:
    """Params keep their type: str, int, float, bool or None. Anything else is refused."""
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, str) and len(value) > MAX_PARAM_TEXT:
            raise InvalidArgument(f"param {key!r} is longer than {MAX_PARAM_TEXT} characters")
        return value
    if isinstance(value, float):
        return value
    raise InvalidArgument(
        f"param {key!r} has type {type(value).__name__}",
        hint="params must be str, int, float, bool or None; log structures as artifacts, or "
        "flatten them into several params",
    )


def validate_params(params: Mapping[str, object]) -> dict[str, ParamValue]:
    """Validate every key and value of a params mapping."""
    return {validate_key(k, "param key"): validate_param_value(k, v) for k, v in params.items()}


def validate_tags(tags: Mapping[str, object]) -> dict[str, str]:
    """Tags are strings; other scalars are converted with ``str``."""
    out: dict[str, str] = {}
    for key, value in tags.items():
        text = value if isinstance(value, str) else str(value)
        if len(text) > MAX_TAG_VALUE:
            raise InvalidArgument(f"tag {key!r} is longer than {MAX_TAG_VALUE} characters")
        out[validate_key(key, "tag key")] = text
    return out


def validate_metric_value(key: str, value: object) -> float:
    """A metric value is a real number; NaN and infinities are allowed."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value)  # type: ignore[arg-type]  # numpy scalars, Decimal...
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"metric {key!r} has non-numeric value {value!r}",
                hint="log numbers; log text as a tag or an artifact",
            ) from None
    return float(value)


def validate_artifact_path(path: str) -> str:
    """A relative POSIX path inside a run: no ``..``, no absolute path, no backslash, no NUL."""
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path:
        raise InvalidArgument(
            f"invalid artifact path {path!r}", hint="use a relative path like 'model/model.pkl'"
        )
    norm = posixpath.normpath(path)
    if path.startswith("/") or norm.startswith("..") or norm in (".", "") or "/../" in f"/{path}/":
        raise InvalidArgument(
            f"artifact path {path!r} leaves the run's folder",
            hint="use a relative path without '..', such as 'plots/loss.png'",
        )
    if _DRIVE.match(path) or _ENCODED_SEPARATOR.search(path):
        raise InvalidArgument(
            f"artifact path {path!r} looks like a drive letter or an encoded '.', '/' or '\\'",
            hint="send the plain relative path, such as 'plots/loss.png' (not percent-encoded)",
        )
    return norm


_DRIVE = re.compile(r"^[A-Za-z]:")
_ENCODED_SEPARATOR = re.compile(r"%(25)*(2e|2f|5c)", re.IGNORECASE)


def is_finite(value: float) -> bool:
    """Whether a float is neither NaN nor infinite."""
    return math.isfinite(value)
