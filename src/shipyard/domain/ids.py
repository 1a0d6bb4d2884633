"""Identifiers: 32 hex characters, time-ordered (48-bit milliseconds, then 80 random bits).

Time order keeps B-tree inserts local and makes ``id`` a natural keyset tie-breaker.
"""

from __future__ import annotations

import re
import secrets
import time

_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def new_id(now_ms: int | None = None) -> str:
    """Return a new time-ordered id, e.g. ``'0193a5c1f2e04b7d9c1e2f3a4b5c6d7e'``."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{ms & 0xFFFFFFFFFFFF:012x}{secrets.randbits(80):020x}"


def is_id(text: str) -> bool:
    """Whether ``text`` has the shape of a Shipyard id."""
    return bool(_ID_RE.match(text))
