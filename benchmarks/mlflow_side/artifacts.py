"""MLflow side of the artifact benchmark: upload and download one file through the server's
proxied artifact API (``mlflow-artifacts:/``, the 3.x default)."""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import mlflow
from _common import emit, log, parser

MB = 1_000_000


def main() -> None:
    """Upload ``--file``, download it again, check its sha256 and print MB/s each way."""
    args = _args()
    source = Path(args.file)
    size = source.stat().st_size
    mlflow.set_tracking_uri(args.uri)
    mlflow.set_experiment("bench-artifacts")
    with mlflow.start_run(run_name="artifacts") as run:
        log(f"uploading {size / MB:,.0f} MB")
        start = time.perf_counter()
        mlflow.log_artifact(str(source))
        upload_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        log("downloading")
        start = time.perf_counter()
        local = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path=source.name, dst_path=tmp
        )
        download_s = time.perf_counter() - start
        intact = _sha256(Path(local)) == args.sha256
    emit(
        {
            "bytes": size,
            "upload_s": round(upload_s, 2),
            "upload_mb_s": round(size / MB / upload_s, 1),
            "download_s": round(download_s, 2),
            "download_mb_s": round(size / MB / download_s, 1),
            "download_intact": intact,
        }
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(8 * MB):
            digest.update(chunk)
    return digest.hexdigest()


def _args() -> argparse.Namespace:
    p = parser(__doc__ or "")
    p.add_argument("--file", required=True)
    p.add_argument("--sha256", required=True)
    p.add_argument("--tmp", required=True, help="folder for the downloaded copy")
    return p.parse_args()


if __name__ == "__main__":
    main()
