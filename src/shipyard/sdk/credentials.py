"""Tokens saved by ``shipyard login``: one per server URL, in a file only its owner can read.

The file (``~/.config/shipyard/credentials.json`` unless ``SHIPYARD_CREDENTIALS_FILE`` names
another) is written with mode 0600 through a temporary file and a rename. ``SHIPYARD_TOKEN``
wins over it. Tokens are never logged or put in error messages.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from shipyard.errors import InvalidArgument

__all__ = ["default_path", "forget_token", "load_token", "save_token"]


def default_path() -> Path:
    """``~/.config/shipyard/credentials.json``."""
    return Path.home() / ".config" / "shipyard" / "credentials.json"


def _key(server: str) -> str:
    return server.rstrip("/")


def _read(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        raise InvalidArgument(
            f"cannot read the credentials file {path}",
            hint="fix or delete it, then run `shipyard login` again",
        ) from None
    servers = data.get("servers") if isinstance(data, dict) else None
    return {str(k): v for k, v in servers.items() if isinstance(v, dict)} if servers else {}


def _write(path: Path, servers: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".credentials.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"servers": servers}, handle, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_token(server: str, path: Path | None = None) -> str | None:
    """The token saved for ``server`` (a URL), or ``None``."""
    entry = _read(path or default_path()).get(_key(server))
    token = entry.get("token") if entry else None
    return token if isinstance(token, str) and token else None


def save_token(server: str, token: str, user: str = "", path: Path | None = None) -> Path:
    """Save the token for ``server`` (replacing one saved before); returns the file."""
    target = path or default_path()
    servers = _read(target)
    servers[_key(server)] = {"token": token, "user": user}
    _write(target, servers)
    return target


def forget_token(server: str, path: Path | None = None) -> bool:
    """Remove the token saved for ``server``; whether there was one."""
    target = path or default_path()
    servers = _read(target)
    if servers.pop(_key(server), None) is None:
        return False
    _write(target, servers)
    return True
