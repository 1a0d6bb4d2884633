"""Every installed distribution, name and version, read from the file system without pip.

Fast path: a wheel-installed distribution lives in ``<name>-<version>.dist-info``, so listing the
folders of ``sys.path`` gives names and versions without opening a file (about 1 ms for 300
packages; ``importlib.metadata`` parses every METADATA file, about 30 times slower). Eggs, zip
entries and folders whose name carries no version fall back to ``importlib.metadata``. Like
Python's import system, the first entry of ``sys.path`` that provides a name wins.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from shipyard.capture._common import ProbeErrors, Record, strip_credentials

_SUFFIXES = (".dist-info", ".egg-info")
_SEPARATORS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """The PEP 503 normalized form of a distribution name (``Scikit_Learn`` -> ``scikit-learn``)."""
    return _SEPARATORS.sub("-", name).lower()


def capture_packages(path: Sequence[str] | None = None) -> Record:
    """List the installed distributions importable from ``path`` (default ``sys.path``).

    Never raises: an unreadable entry is recorded in ``errors`` and the scan goes on.

    Returns ``{"count", "sha256", "distributions", "direct_urls", "errors"}``:
    ``distributions`` maps canonical names to versions, sorted; ``sha256`` hashes the canonical
    ``name==version`` lines, so two environments with the same hash hold the same packages;
    ``direct_urls`` describes packages installed from a folder, a VCS or a URL (PEP 610), e.g.
    ``{"shipyard": {"url": "file:///src/shipyard", "editable": True}}``.

    Example::

        pkgs = capture_packages()
        pkgs["distributions"]["numpy"]  # '2.1.3'
    """
    errors = ProbeErrors("packages")
    found: dict[str, str] = {}
    direct: dict[str, Record] = {}
    for entry in sys.path if path is None else path:
        with errors.guard(f"scan {entry or '.'}"):
            _scan_entry(entry or ".", found, direct, errors)
    distributions = dict(sorted(found.items()))
    return {
        "count": len(distributions),
        "sha256": packages_hash(distributions),
        "distributions": distributions,
        "direct_urls": dict(sorted(direct.items())),
        "errors": errors.items,
    }


def packages_hash(distributions: dict[str, str]) -> str:
    """sha256 of the sorted ``name==version`` lines (one per line, newline-terminated)."""
    lines = "".join(f"{name}=={version}\n" for name, version in sorted(distributions.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _scan_entry(
    entry: str, found: dict[str, str], direct: dict[str, Record], errors: ProbeErrors
) -> None:
    if entry.lower().endswith(".egg") or os.path.isfile(entry):
        _scan_slow(entry, found)
        return
    try:
        children = os.scandir(entry)
    except (FileNotFoundError, NotADirectoryError):
        return
    with children:
        for child in children:
            if child.name.endswith(_SUFFIXES):
                with errors.guard(f"read {child.path}"):
                    _add_child(Path(child.path), found, direct)


def _add_child(folder: Path, found: dict[str, str], direct: dict[str, Record]) -> None:
    stem = folder.name.rpartition(".")[0]
    raw_name, sep, rest = stem.partition("-")
    version = rest.partition("-")[0]  # eggs append "-py3.11"
    if not sep or not version or not raw_name:
        name, version = _from_metadata(folder)
    else:
        name = canonical_name(raw_name)
    if name in found:
        return
    found[name] = version
    if folder.suffix == ".dist-info" and (folder / "direct_url.json").is_file():
        direct[name] = _direct_url(folder / "direct_url.json")


def _from_metadata(folder: Path) -> tuple[str, str]:
    from importlib import metadata  # slow to import (~60 ms): only for odd layouts

    dist = metadata.PathDistribution(folder)
    return canonical_name(dist.metadata["Name"] or folder.stem), dist.version or "unknown"


def _scan_slow(entry: str, found: dict[str, str]) -> None:
    """Zip files and eggs: let importlib.metadata read them."""
    from importlib import metadata

    for dist in metadata.distributions(path=[entry]):
        name = canonical_name(dist.metadata["Name"] or "")
        if name and name not in found:
            found[name] = dist.version


def _direct_url(path: Path) -> Record:
    """PEP 610 origin of a distribution: URL (credentials removed), editable, VCS commit."""
    data = json.loads(path.read_text(encoding="utf-8"))
    record: Record = {"url": strip_credentials(str(data.get("url", "")))}
    dir_info = data.get("dir_info") or {}
    vcs_info = data.get("vcs_info") or {}
    if dir_info.get("editable"):
        record["editable"] = True
    if vcs_info:
        record["vcs"] = vcs_info.get("vcs")
        record["commit"] = vcs_info.get("commit_id")
    return record
