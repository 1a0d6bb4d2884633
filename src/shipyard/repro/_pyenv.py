"""The Python a reproduction runs with: this interpreter, or an isolated virtual environment
holding the recorded distributions at their exact versions.

The environment is made with ``uv`` when it can be found (on ``PATH``, or in a ``.tools/bin``
folder next to this interpreter's environment or the working directory), else with
``python -m venv`` and pip. Distributions are installed with ``--no-deps``: the record is the
complete set, so nothing is resolved and nothing else is pulled in. Shipyard itself is not taken
from the record: the running Shipyard is installed instead (it must talk to the same store).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from shipyard.errors import Conflict, ShipyardError, Unavailable
from shipyard.repro._git import stderr_line
from shipyard.repro.source import Record, lookup

INSTALL_TIMEOUT = 1800.0
SELF = "shipyard"
_PYTHON_NAME = re.compile(r"^python(\d+(\.\d+)*)?(\.exe)?$")


def find_uv(cwd: Path | None = None) -> Path | None:
    """``uv`` on ``PATH``, else ``.tools/bin/uv`` beside this virtualenv or in ``cwd``."""
    found = shutil.which("uv")
    if found:
        return Path(found)
    for place in (Path(sys.prefix).parent, cwd or Path.cwd()):
        candidate = place / ".tools" / "bin" / "uv"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def is_python(program: str) -> bool:
    """Whether a command's program is a Python interpreter (``python``, ``python3.11``...)."""
    return bool(_PYTHON_NAME.match(Path(program).name))


def self_requirement() -> str:
    """How to install the running Shipyard: ``-e /src`` (editable), a folder, or ``name==ver``."""
    try:
        dist = metadata.distribution(SELF)
    except metadata.PackageNotFoundError:
        return SELF
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    url = str(direct.get("url") or "")
    if url.startswith("file://"):
        path = unquote(urlsplit(url).path)
        editable = bool((direct.get("dir_info") or {}).get("editable"))
        return f"-e {path}" if editable else path
    return f"{SELF}=={dist.version}"


def requirement_lines(env: Record, code_root: Path | None) -> tuple[list[str], list[str]]:
    """The requirement lines that rebuild a record's distributions, and what cannot be rebuilt.

    ``name==version`` for index packages; ``name @ vcs+url@commit`` for VCS installs; a local
    folder for path installs (inside the recorded repository: the rebuilt checkout at
    ``code_root``). Shipyard itself is left out (see :func:`self_requirement`).
    """
    dists = lookup(env, "packages", "distributions") or {}
    directs = lookup(env, "packages", "direct_urls") or {}
    repo_root = lookup(env, "code", "git", "root")
    lines: list[str] = []
    missing: list[str] = []
    for name, version in sorted(dists.items()):
        if name == SELF:
            continue
        line = _direct_line(name, directs.get(name), repo_root, code_root)
        if line is None and name in directs:
            missing.append(f"{name}=={version} (installed from {directs[name].get('url')})")
        else:
            lines.append(line or f"{name}=={version}")
    return lines, missing


def _direct_line(
    name: str, direct: Mapping[str, Any] | None, repo_root: str | None, code_root: Path | None
) -> str | None:
    if not direct:
        return None
    url = str(direct.get("url") or "")
    if direct.get("vcs") and direct.get("commit"):
        return f"{name} @ {direct['vcs']}+{url}@{direct['commit']}"
    if not url.startswith("file://"):
        return f"{name} @ {url}" if url else None
    path = Path(unquote(urlsplit(url).path))
    if repo_root and code_root is not None and path.is_relative_to(repo_root):
        path = code_root / path.relative_to(repo_root)
    elif not path.exists():
        return None
    return f"-e {path}" if direct.get("editable") else str(path)


@dataclass
class PythonEnv:
    """The interpreter a reproduction runs with, and how it was made."""

    mode: str
    python: Path
    venv: Path | None = None
    tool: str | None = None
    requirements: list[str] = field(default_factory=list)
    self_requirement: str | None = None
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def bin_dir(self) -> Path:
        """The folder of the interpreter (put first on ``PATH`` for the command)."""
        return self.python.parent

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "mode": self.mode,
            "python": str(self.python),
            "venv": None if self.venv is None else str(self.venv),
            "tool": self.tool,
            "requirements": self.requirements,
            "shipyard": self.self_requirement,
            "failed": self.failed,
            "notes": self.notes,
        }


def plan_recorded(env: Record, venv: Path, code_root: Path | None, uv: Path | None) -> PythonEnv:
    """What :func:`build_recorded` will do (nothing is created)."""
    lines, missing = requirement_lines(env, code_root)
    plan = PythonEnv("recorded", _venv_python(venv), venv, "uv" if uv else "venv", lines)
    plan.self_requirement = self_requirement()
    plan.failed = missing
    if uv is None:
        plan.notes.append("uv was not found: using python -m venv and pip (slower)")
    return plan


def build_recorded(
    env: Record, plan: PythonEnv, uv: Path | None, *, allow_mismatch: bool
) -> PythonEnv:
    """Create the virtual environment of ``plan`` and install its distributions.

    Raises ``Conflict`` when the recorded Python is not available, ``Unavailable`` naming each
    distribution that could not be installed; with ``allow_mismatch`` both become notes.
    """
    assert plan.venv is not None, "a recorded plan names its virtualenv"
    _create_venv(plan.venv, lookup(env, "python", "version"), uv, plan, allow_mismatch)
    if plan.requirements:
        plan.failed += _install_all(plan, uv, plan.requirements)
    if plan.failed:
        _mismatch(
            Unavailable,
            f"{len(plan.failed)} recorded distribution(s) could not be installed: "
            + "; ".join(plan.failed),
            allow_mismatch,
            plan,
        )
    if plan.self_requirement:
        _install(plan, uv, _args(plan.self_requirement))
    return plan


def _create_venv(
    venv: Path, version: str | None, uv: Path | None, plan: PythonEnv, allow: bool
) -> None:
    current = ".".join(map(str, sys.version_info[:3]))
    if uv is not None and version and version != current:
        try:
            _run([str(uv), "venv", "--quiet", "--python", version, str(venv)])
            return
        except ShipyardError as exc:
            _mismatch(Conflict, f"Python {version} is not available ({exc.message})", allow, plan)
    elif version and version != current:
        _mismatch(Conflict, f"the run used Python {version}, this is {current}", allow, plan)
    if uv is not None:
        _run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)])
    else:
        _run([sys.executable, "-m", "venv", str(venv)])


def _mismatch(kind: type[ShipyardError], message: str, allow: bool, plan: PythonEnv) -> None:
    if not allow:
        raise kind(message, hint="pass --allow-package-mismatch to reproduce anyway")
    plan.notes.append(message)


def _install_all(plan: PythonEnv, uv: Path | None, lines: Sequence[str]) -> list[str]:
    """Install every line at once; when that fails, one by one to name each failure."""
    assert plan.venv is not None, "a recorded plan names its virtualenv"
    req = plan.venv.parent / "requirements.txt"
    req.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    try:
        _install(plan, uv, ["-r", str(req)])
        return []
    except ShipyardError:
        pass
    failed: list[str] = []
    for line in lines:
        try:
            _install(plan, uv, _args(line))
        except ShipyardError as exc:
            failed.append(f"{line} ({exc.message[-300:]})")
    return failed


def _install(plan: PythonEnv, uv: Path | None, args: list[str]) -> None:
    if uv is not None:
        base = [str(uv), "pip", "install", "--quiet", "--python", str(plan.python)]
    else:
        base = [str(plan.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*base, "--no-deps", *args])


def _args(line: str) -> list[str]:
    """A requirement line as install arguments (``-e PATH`` is two)."""
    return ["-e", line[3:]] if line.startswith("-e ") else [line]


def _run(args: list[str]) -> None:
    try:
        done = subprocess.run(args, capture_output=True, timeout=INSTALL_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise Unavailable(f"{args[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"`{' '.join(args[:4])} ...` ran past {INSTALL_TIMEOUT:g}s") from exc
    if done.returncode != 0:
        raise ShipyardError(stderr_line(done.stderr or done.stdout))


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def current_env() -> PythonEnv:
    """This interpreter."""
    return PythonEnv("current", Path(sys.executable))
