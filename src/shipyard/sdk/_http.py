"""The SDK's HTTP transport: :class:`HttpBackend` (a :class:`HttpRunStore` plus streamed,
deduplicated artifact transfer).

Uploads hash each file (streamed), ask the server whether it holds the blob (``HEAD``), send only
missing blobs (``PUT``, streamed from the file), then register every record in one ``POST``.
Downloads stream into a temporary file beside the destination, verify the sha256 and rename.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx

from shipyard.api import routes
from shipyard.api.routes import url
from shipyard.artifacts.base import CHUNK_SIZE
from shipyard.domain.entities import Artifact
from shipyard.domain.validation import validate_artifact_path
from shipyard.errors import IntegrityError, InvalidArgument, NotFound
from shipyard.sdk._http_store import HttpRunStore
from shipyard.sdk.credentials import load_token
from shipyard.settings import Settings

__all__ = ["HttpBackend", "HttpRunStore"]

Progress = Callable[[int], None]


def file_digest(path: Path) -> tuple[str, int]:
    """The sha256 and size of a local file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise NotFound(f"file {str(path)!r} does not exist", hint="check the path") from None
    except IsADirectoryError:
        raise InvalidArgument(
            f"{str(path)!r} is a folder", hint="upload the files in it one by one"
        ) from None
    return digest.hexdigest(), size


def media_type_of(path: str) -> str:
    """A media type guessed from the file name (``application/octet-stream`` by default)."""
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


def _read_chunks(path: Path, progress: Progress | None) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            if progress is not None:
                progress(len(chunk))
            yield chunk


class HttpBackend:
    """The SDK backend for ``SHIPYARD_TRACKING_URI=http(s)://...``: a Shipyard server.

    Args:
        settings: ``tracking_uri``, ``token`` (else the token ``shipyard login`` saved for the
            server) and ``http_timeout`` are used.
        client: an ``httpx.Client`` to send through (tests pass an in-process one).
    """

    def __init__(self, settings: Settings, *, client: httpx.Client | None = None) -> None:
        if not settings.tracking_uri:
            raise InvalidArgument(
                "no server URL to connect to", hint="set SHIPYARD_TRACKING_URI=http://host:port"
            )
        self._store = HttpRunStore(
            settings.tracking_uri,
            token=settings.token or load_token(settings.tracking_uri, settings.credentials_file),
            timeout=settings.http_timeout,
            client=client,
        )

    @property
    def store(self) -> HttpRunStore:
        """Metadata operations over HTTP."""
        return self._store

    def upload_artifacts(
        self,
        run_id: str,
        files: Sequence[tuple[Path, str]],
        *,
        progress: Progress | None = None,
    ) -> list[Artifact]:
        """Upload local files as artifacts of a run; blobs the server holds are not sent again.

        ``progress`` gets byte counts as files are handled (sent, or found already stored).
        Returns the records as stored.
        """
        records = [self._upload(run_id, local, path, progress) for local, path in files]
        return self._store.register_artifacts(run_id, records) if records else []

    def _upload(
        self, run_id: str, local: Path, artifact_path: str, progress: Progress | None
    ) -> Artifact:
        path = validate_artifact_path(artifact_path)
        sha256, size = file_digest(local)
        if self.has_blob(run_id, sha256):
            if progress is not None:
                progress(size)
        else:
            self._store.request(
                "PUT",
                url(routes.RUN_BLOB, run_id=run_id, sha256=sha256),
                body=_read_chunks(local, progress),
                content_type=routes.OCTET_STREAM,
                headers={"Content-Length": str(size)},
            )
        return Artifact(path, size, sha256, media_type_of(path))

    def has_blob(self, run_id: str, sha256: str) -> bool:
        """Whether the server stores a blob (``False`` too when the run is unknown: the upload
        that follows then fails naming it)."""
        path = url(routes.RUN_BLOB, run_id=run_id, sha256=sha256)
        try:
            self._store.request("HEAD", path)
        except NotFound:
            return False
        return True

    def download_artifact(
        self,
        run_id: str,
        artifact: Artifact,
        dest: Path,
        *,
        progress: Progress | None = None,
    ) -> None:
        """Stream one artifact to ``dest`` atomically; ``IntegrityError`` if its sha256 differs."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                digest = self._fetch(run_id, artifact, out.write, progress)
            if digest != artifact.sha256:
                raise IntegrityError(
                    f"artifact {artifact.path!r} of run {run_id} arrived with sha256 {digest}, "
                    f"expected {artifact.sha256}",
                    hint="download again; if it persists the stored blob is damaged",
                )
            tmp.replace(dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _fetch(
        self,
        run_id: str,
        artifact: Artifact,
        write: Callable[[bytes], object],
        progress: Progress | None,
    ) -> str:
        digest = hashlib.sha256()
        path = url(routes.RUN_ARTIFACT_CONTENT, run_id=run_id)
        with self._store.stream("GET", path, params={"path": artifact.path}) as response:
            for chunk in response.iter_bytes(CHUNK_SIZE):
                write(chunk)
                digest.update(chunk)
                if progress is not None:
                    progress(len(chunk))
        return digest.hexdigest()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._store.close()
