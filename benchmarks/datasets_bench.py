"""Datasets: a folder of 10,000 small files (1-4 KiB, about 30% duplicates of other files) added
as a version, added again unchanged, added with 1% of the files changed, and written back out.

Measured embedded (SQLite + local artifact folder) and through ``python -m shipyard.server``:
add and get throughput (files/s, MB/s of logical bytes), the dedupe ratio (logical bytes / bytes
the artifact store holds), and how many bytes the 1%-changed version adds (only the changed
files' content should be new). Every get is checked file by file against the source.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from _harness import Json, dir_bytes, emit, log, machine, parse_args, shipyard_server, workdir

import shipyard
from shipyard.settings import Settings

MB = 1_000_000
DUPLICATE_SHARE = 0.3


def make_folder(root: Path, count: int, seed: int = 7) -> dict[str, bytes]:
    """``count`` files of 1-4 KiB in 100 sub-folders; ~30% repeat another file's content."""
    rng = random.Random(seed)
    uniques: list[bytes] = []
    files: dict[str, bytes] = {}
    for index in range(count):
        if uniques and rng.random() < DUPLICATE_SHARE:
            data = rng.choice(uniques)
        else:
            data = rng.randbytes(rng.randint(1024, 4096))
            uniques.append(data)
        files[f"part-{index % 100:03d}/file-{index:05d}.bin"] = data
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return files


def change_some(root: Path, files: dict[str, bytes], share: float, seed: int = 11) -> int:
    """Rewrite ``share`` of the files with new random content; returns the new bytes."""
    rng = random.Random(seed)
    chosen = rng.sample(sorted(files), int(len(files) * share))
    for path in chosen:
        files[path] = rng.randbytes(rng.randint(1024, 4096))
        (root / path).write_bytes(files[path])
    return sum(len(files[path]) for path in chosen)


def identical(root: Path, files: dict[str, bytes]) -> bool:
    """Whether ``root`` holds exactly ``files``."""
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    return found == set(files) and all((root / p).read_bytes() == d for p, d in files.items())


def _rates(count: int, size: int, seconds: float) -> Json:
    return {
        "seconds": round(seconds, 3),
        "files_per_s": round(count / seconds),
        "mb_per_s": round(size / MB / seconds, 2),
    }


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(settings: Settings, blobs_folder: Path, source: Path, work: Path) -> Json:
    """Add, re-add, change 1% and add, get; with throughput and stored-byte figures."""
    files = {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*.bin")}
    logical = sum(len(d) for d in files.values())
    with shipyard.Client(settings=settings) as client:
        add_s = _timed(lambda: client.add_dataset("bench", source, "first"))
        stored_v1 = dir_bytes(blobs_folder)
        again_s = _timed(lambda: client.add_dataset("bench", source, "unchanged"))
        new_bytes = change_some(source, files, 0.01)
        change_s = _timed(lambda: client.add_dataset("bench", source, "1% changed"))
        growth = dir_bytes(blobs_folder) - stored_v1
        dest = work / "restored"
        get_s = _timed(lambda: client.get_dataset("bench", 2, dest))
        versions = [v.version for v in client.dataset_versions("bench")]
    return {
        "files": len(files),
        "logical_bytes": logical,
        "add": _rates(len(files), logical, add_s),
        "add_unchanged_s": round(again_s, 3),
        "add_1pct_changed_s": round(change_s, 3),
        "get": _rates(len(files), logical, get_s),
        "get_intact": identical(dest, files),
        "stored_bytes": stored_v1,
        "dedupe_ratio": round(logical / stored_v1, 3),
        "changed_bytes": new_bytes,
        "store_growth_for_change_bytes": growth,
        "versions": versions,
    }


def main() -> None:
    """Run embedded and through a server; print one JSON object."""
    args = parse_args(__doc__ or "")
    count = 1_000 if args.quick else 10_000
    results: Json = {"benchmark": "datasets", "files": count, "machine": machine()}
    with workdir("datasets") as work:
        log(f"writing {count:,} files")
        make_folder(work / "src-embedded", count)
        make_folder(work / "src-server", count)
        home = work / "embedded"
        settings = Settings(home=home, system_metrics_interval=0)
        log("embedded")
        results["embedded"] = measure(
            settings, home / "artifacts" / "blobs", work / "src-embedded", work / "e"
        )
        log(f"embedded: {results['embedded']}")
        (work / "server").mkdir()
        with shipyard_server(work / "server") as server:
            log("through the server")
            remote = Settings(tracking_uri=server.url, home=work / "client")
            results["server"] = measure(
                remote, work / "server" / "artifacts" / "blobs", work / "src-server", work / "s"
            )
        log(f"server: {results['server']}")
    emit(results)


if __name__ == "__main__":
    main()
