"""Run every probe (overlapping the slow ones in threads) into one environment record.

The record is what a run stores to be rebuilt later; :func:`summarize` turns it into a few flat
``shipyard.*`` tags for search and tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipyard.capture._common import Record
from shipyard.capture.accelerators import capture_accelerators
from shipyard.capture.code import DEFAULT_DIFF_CAP_BYTES, capture_code
from shipyard.capture.container import capture_container
from shipyard.capture.frameworks import capture_frameworks
from shipyard.capture.packages import capture_packages
from shipyard.capture.system import capture_python, capture_system

ENV_SCHEMA = 1
TAG_PREFIX = "shipyard."
SECTIONS = ("code", "python", "packages", "system", "container", "accelerators", "frameworks")


def capture_environment(
    *,
    cwd: Path | None = None,
    argv: Sequence[str] | None = None,
    diff_cap_bytes: int = DEFAULT_DIFF_CAP_BYTES,
) -> Record:
    """Capture everything needed to rebuild this run's environment; never raises.

    Args:
        cwd: the working directory (default: the current one); its git repository is captured.
        argv: the command line (default: ``sys.argv``).
        diff_cap_bytes: the most bytes of uncommitted patch to keep.

    Returns ``{"schema", "captured_at", "code", "python", "packages", "system", "container",
    "accelerators", "frameworks", "duration_ms", "errors"}``, all JSON-able. ``errors`` lists
    ``{"probe", "step", "error"}`` for whatever could not be read; the rest is still filled in.
    See each ``capture_*`` function for its section.

    Example::

        env = capture_environment()
        env["code"]["git"]["commit"], env["packages"]["sha256"]
    """
    started = time.perf_counter()
    captured_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="shipyard-capture") as pool:
        futures: dict[str, Future[Record]] = {
            "code": pool.submit(capture_code, cwd, argv, diff_cap_bytes=diff_cap_bytes),
            "system": pool.submit(capture_system),
            "container": pool.submit(capture_container),
        }
        sections = {"packages": _run("packages", capture_packages)}
        installed = sections["packages"].get("distributions") or {}
        futures["accelerators"] = pool.submit(capture_accelerators, installed)
        sections["frameworks"] = _run("frameworks", lambda: capture_frameworks(installed))
        sections["python"] = _run("python", capture_python)
        sections.update({name: _run(name, future.result) for name, future in futures.items()})
    env: Record = {"schema": ENV_SCHEMA, "captured_at": captured_at}
    errors: list[dict[str, str]] = []
    for name in SECTIONS:
        section = sections[name]
        errors += section.pop("errors", None) or []
        env[name] = section
    env["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    env["errors"] = errors
    return env


def _run(name: str, probe: Callable[[], Record]) -> Record:
    """Call a probe; a probe is written not to raise, but a bug must not fail the run either."""
    try:
        return probe()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        return {"errors": [{"probe": name, "step": "unexpected failure", "error": error}]}


def summarize(env: Mapping[str, Any]) -> dict[str, str]:
    """A few flat tags from an environment record, keyed ``shipyard.<what>``; never raises.

    Tags: ``git.commit``, ``git.branch``, ``git.dirty`` (``"true"``/``"false"``), ``git.remote``,
    ``python.version``, ``packages.sha256``, ``gpu.model``, ``gpu.count``, ``container.image``.
    Missing values are left out.

    Example::

        summarize(capture_environment())
        # {'shipyard.git.commit': '3f2c...', 'shipyard.git.dirty': 'false', ...}
    """
    git = _get(env, "code", "git")
    gpus = _get(env, "accelerators", "gpus")
    names = [str(g.get("name")) for g in gpus if isinstance(g, Mapping)] if _is_list(gpus) else []
    dirty = _get(git, "dirty")
    tags: dict[str, object] = {
        "git.commit": _get(git, "commit"),
        "git.branch": _get(git, "branch"),
        "git.dirty": None if dirty is None else str(bool(dirty)).lower(),
        "git.remote": _get(git, "remote_url"),
        "python.version": _get(env, "python", "version"),
        "packages.sha256": _get(env, "packages", "sha256"),
        "gpu.model": ", ".join(dict.fromkeys(names)) or None,
        "gpu.count": len(names) or None,
        "container.image": _get(env, "container", "image"),
    }
    return {TAG_PREFIX + key: str(value) for key, value in tags.items() if value not in (None, "")}


def _get(data: object, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple)
