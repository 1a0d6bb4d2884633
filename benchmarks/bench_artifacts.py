"""Artifacts: a 1 GB file of random bytes uploaded and downloaded through each server.

Shipyard: ``run.log_artifact`` and ``Client.download_artifact``; then the identical file is logged
again by a second run, and the growth of the server's artifact folder is reported (content
addressing: apart from the second run's own small capture files, it must be 0).
MLflow: ``mlflow.log_artifact`` and ``mlflow.artifacts.download_artifacts`` through its proxied
artifact server. Every download is checked against the source's sha256.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

from _harness import (
    Json,
    dir_bytes,
    emit,
    log,
    mlflow_server,
    mlflow_side,
    parse_args,
    shipyard_server,
    workdir,
    write_random_file,
)

import shipyard
from shipyard.settings import Settings

MB = 1_000_000
CHUNK = 8 * MB


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _rate(size: int, seconds: float) -> float:
    return round(size / MB / seconds, 1)


def shipyard_artifacts(url: str, data: Path, source: Path, sha256: str) -> Json:
    """Upload, download (verified), then log the same bytes again; measure each step."""
    settings = Settings(tracking_uri=url, home=data / "home")
    size = source.stat().st_size
    with shipyard.start_run(project="bench-artifacts", name="upload", settings=settings) as run:
        start = time.perf_counter()
        run.log_artifact(source)
        upload_s = time.perf_counter() - start
    target = data / "download" / source.name
    target.parent.mkdir()
    with shipyard.Client(settings=settings) as client:
        start = time.perf_counter()
        client.download_artifact(run.id, source.name, target)
        download_s = time.perf_counter() - start
    intact = sha256_of(target) == sha256
    shutil.rmtree(target.parent)
    return {
        "bytes": size,
        "upload_s": round(upload_s, 2),
        "upload_mb_s": _rate(size, upload_s),
        "download_s": round(download_s, 2),
        "download_mb_s": _rate(size, download_s),
        "download_intact": intact,
        "log_again": log_again(settings, data / "artifacts", source, run.id),
    }


def log_again(settings: Settings, folder: Path, source: Path, first_run: str) -> Json:
    """Log the identical file again by a second run: how long it takes and how many bytes the
    server's artifact folder grows by. The second run also stores its own environment capture
    files; those whose content is new are listed and subtracted."""
    before = dir_bytes(folder)
    with shipyard.start_run(project="bench-artifacts", name="again", settings=settings) as again:
        start = time.perf_counter()
        again.log_artifact(source)
        again_s = time.perf_counter() - start
    growth = dir_bytes(folder) - before
    with shipyard.Client(settings=settings) as client:
        stored = {a.sha256 for a in client.list_artifacts(first_run)}
        new_others = {
            a.path: a.size
            for a in client.list_artifacts(again.id)
            if a.path != source.name and a.sha256 not in stored
        }
    return {
        "seconds": round(again_s, 2),
        "artifact_folder_growth_bytes": growth,
        "second_run_new_capture_files": new_others,
        "growth_for_identical_file_bytes": growth - sum(new_others.values()),
    }


def main() -> None:
    """Run both sides and print the comparison."""
    args = parse_args(__doc__ or "")
    size = (100 if args.quick else 1000) * MB
    with workdir("artifacts") as data:
        source = data / "payload.bin"
        log(f"writing {size // MB:,} MB of random bytes")
        write_random_file(source, size)
        sha256 = sha256_of(source)
        with shipyard_server(data) as server:
            ours = shipyard_artifacts(server.url, data, source, sha256)
        shutil.rmtree(data / "artifacts", ignore_errors=True)
        log(f"shipyard: up {ours['upload_mb_s']} MB/s, down {ours['download_mb_s']} MB/s")
        with mlflow_server(data) as server:
            theirs = mlflow_side(
                "artifacts.py", "--uri", server.url, "--file", source, "--sha256", sha256,
                "--tmp", data,
            )  # fmt: skip
    emit(
        {
            "benchmark": "artifacts",
            "bytes": size,
            "shipyard": ours,
            "mlflow": theirs,
            "target": "second upload of identical content stores 0 new bytes",
            "meets_target": ours["log_again"]["growth_for_identical_file_bytes"] == 0
            and ours["download_intact"],
        }
    )


if __name__ == "__main__":
    main()
