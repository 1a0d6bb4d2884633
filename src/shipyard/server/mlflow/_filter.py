"""MLflow's run filter and order-by text, rewritten into Shipyard's search grammar.

Shipyard's grammar already takes MLflow's prefixes (``metrics.``, ``params.``, ``tags.``,
``attributes.``), quoting and keywords; what differs is a few attribute names (``run_id``,
``run_name``, ``user_id``), which are renamed outside quoted text.
"""

from __future__ import annotations

import re

from shipyard.errors import FilterSyntaxError

_ATTRS = {"run_id": "id", "run_name": "name", "user_id": "user", "created": "start_time"}
_ATTR_PREFIXES = frozenset({"attributes", "attribute", "attr", "run"})
_UNSUPPORTED = frozenset({"artifact_uri", "lifecycle_stage"})
_TOKEN = re.compile(
    r"(?P<quoted>'(?:[^'\\]|''|\\.)*'|\"(?:[^\"\\]|\"\"|\\.)*\"|`[^`]*`)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)"
)


def translate_filter(text: str | None) -> str:
    """The Shipyard filter for an MLflow ``filter_string`` (empty for none)."""
    if not text or not text.strip():
        return ""
    return _TOKEN.sub(_rename, text)


def translate_order(terms: list[str]) -> list[str]:
    """Shipyard order terms for MLflow ``order_by`` terms (``metrics.acc DESC``...)."""
    return [_TOKEN.sub(_rename, term) for term in terms if term and term.strip()]


def _rename(match: re.Match[str]) -> str:
    word = match.group("word")
    if word is None:
        return match.group(0)
    prefix, dot, name = word.partition(".")
    if not dot:
        prefix, name = "", word
    elif prefix.lower() not in _ATTR_PREFIXES:
        return word
    if name.lower() in _UNSUPPORTED:
        raise FilterSyntaxError(
            f"filtering on {word!r} is not supported by Shipyard's MLflow API",
            match.start(),
            word,
            hint="filter on status, run_name, run_id, start_time, params, tags or metrics",
        )
    renamed = _ATTRS.get(name.lower())
    if renamed is None:
        return word
    return f"{prefix}.{renamed}" if prefix else renamed
