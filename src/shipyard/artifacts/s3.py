"""Content-addressed blobs in an S3-compatible bucket (AWS S3, MinIO, moto...).

Key layout: ``<prefix>/blobs/sha256/ab/cdef...``; each object carries its sha256 in the object
metadata (``x-amz-meta-sha256``). S3 makes an object visible only once its upload completes, so
uploads are atomic. ``put_file`` hashes the file first and skips the upload when the object is
already there (dedupe); ``put_stream`` spools to a local temporary file while hashing (bounded
memory) and uploads only verified content. Uploads and downloads go through boto3's managed
transfer (multipart and parallel for big files, streamed from/to disk).

boto3 is an optional dependency (``pip install 'shipyard[s3]'``), imported on first use; botocore
errors are translated here, at the edge, into Shipyard errors.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from shipyard.artifacts.base import (
    CHUNK_SIZE,
    BlobInfo,
    atomic_target,
    blob_key,
    check_sha256,
    copy_hashing,
    hash_file,
    verified_chunks,
    verify_stored,
    verify_upload,
)
from shipyard.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ShipyardError,
    Unauthenticated,
    Unavailable,
)

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig
    from mypy_boto3_s3 import S3Client

_URI_OPTIONS = frozenset({"endpoint_url"})
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_DENIED_CODES = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden"}
)
_BUSY_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"})


class S3ArtifactStore:
    """An :class:`~shipyard.artifacts.ArtifactStore` in an S3 bucket under a key prefix.

    Args:
        bucket: the bucket name (it must exist).
        prefix: key prefix for this store ("" for the bucket root).
        client: a boto3 S3 client (thread safe; endpoint and credentials are its business).
        transfer_config: boto3 managed-transfer settings (part size, threads); defaults are fine.
        spool_dir: where ``put_stream`` spools before uploading (default: the system temp folder).

    Example::

        store = S3ArtifactStore.from_uri("s3://ml-artifacts/shipyard?endpoint_url=http://minio:9000")
        info = store.put_file(Path("model.pkl"))
    """

    def __init__(
        self,
        bucket: str,
        prefix: str,
        client: S3Client,
        *,
        transfer_config: TransferConfig | None = None,
        spool_dir: Path | None = None,
    ) -> None:
        if not bucket:
            raise InvalidArgument("an S3 artifact store needs a bucket", hint="s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client
        self._transfer = transfer_config or _import_boto3().s3.transfer.TransferConfig()
        self._spool_dir = spool_dir
        self._bucket_seen = False

    @classmethod
    def from_uri(cls, uri: str) -> S3ArtifactStore:
        """Open ``s3://bucket/prefix[?endpoint_url=http://host:port]``.

        Without ``endpoint_url``, boto3 picks the endpoint itself (``AWS_ENDPOINT_URL``, config
        files, or AWS); credentials and region come from the usual boto3 sources.
        Raises ``InvalidArgument`` for a malformed URI or when boto3 is not installed.
        """
        bucket, prefix, endpoint_url = _parse_uri(uri)
        boto3 = _import_boto3()
        try:
            client = boto3.client("s3", endpoint_url=endpoint_url, config=_client_config())
        except ValueError as exc:  # botocore rejects a malformed endpoint URL this way
            raise InvalidArgument(
                f"invalid S3 endpoint {endpoint_url!r} in {uri!r}: {exc}",
                hint="use endpoint_url=http://host:port",
            ) from exc
        return cls(bucket, prefix, client)

    @property
    def uri(self) -> str:
        """The ``s3://bucket/prefix`` this store writes under."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def __repr__(self) -> str:
        return f"S3ArtifactStore({self.uri!r})"

    def key(self, sha256: str) -> str:
        """The object key of a blob (the address is checked)."""
        return self._full_key(blob_key(sha256))

    def put_file(self, path: Path) -> BlobInfo:
        """Hash a local file (streamed), then upload it unless the bucket already holds it.

        The file must not change while it is stored (it is read twice: to hash, then to upload);
        if it does, the stored object will not match its address and reads raise
        ``IntegrityError``.
        """
        info = hash_file(path)
        self._upload_if_missing(Path(path), info)
        return info

    def put_stream(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> BlobInfo:
        """Spool a stream to a local file while hashing, verify it, then upload it (if missing)."""
        if expected_sha256 is not None:
            check_sha256(expected_sha256)
        with self._spool() as (spool, out):
            with out:
                info = copy_hashing(chunks, out)
            verify_upload(info, expected_sha256)
            self._upload_if_missing(spool, info)
        return info

    def exists(self, sha256: str) -> bool:
        """Whether the blob's object exists."""
        return self._head(sha256) is not None

    def size(self, sha256: str) -> int:
        """Size in bytes of a stored blob. Raises ``NotFound``."""
        return int(self._require(sha256)["ContentLength"])

    def open(self, sha256: str) -> Iterator[bytes]:
        """Stream a blob in chunks, checking its sha256 at the end. Raises ``NotFound``."""
        self._require(sha256)
        # The GET happens on the first read, so an iterator never read holds no connection.
        return verified_chunks(self._stream(sha256), sha256)

    def download(self, sha256: str, dest: Path) -> BlobInfo:
        """Download a blob to ``dest`` atomically (managed transfer), verifying its sha256."""
        self._require(sha256)
        with atomic_target(dest) as tmp:
            with self._errors(sha256):
                self._client.download_file(
                    self.bucket, self.key(sha256), str(tmp), Config=self._transfer
                )
            info = hash_file(tmp)
            verify_stored(info, sha256)
        return info

    def stored_bytes(self) -> int:
        """Total size of all blob objects under the prefix."""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._full_key("blobs/sha256/")
        )
        with self._errors(None):
            return sum(obj.get("Size", 0) for page in pages for obj in page.get("Contents", []))

    def _full_key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def _upload_if_missing(self, path: Path, info: BlobInfo) -> None:
        if self._head(info.sha256) is not None:
            return  # dedupe: the content is already stored
        with self._errors(info.sha256):
            self._client.upload_file(
                str(path),
                self.bucket,
                self.key(info.sha256),
                ExtraArgs={"Metadata": {"sha256": info.sha256}},
                Config=self._transfer,
            )

    def _head(self, sha256: str) -> dict[str, Any] | None:
        key = self.key(sha256)
        with self._errors(sha256):
            try:
                return dict(self._client.head_object(Bucket=self.bucket, Key=key))
            except self._client.exceptions.ClientError as exc:
                if _error_code(exc) not in _MISSING_CODES:
                    raise
                self._check_bucket()  # a HEAD says 404 for a missing bucket too
                return None

    def _require(self, sha256: str) -> dict[str, Any]:
        head = self._head(sha256)
        if head is None:
            raise self._not_found(sha256)
        return head

    def _check_bucket(self) -> None:
        if not self._bucket_seen:
            with self._errors(None):
                self._client.head_bucket(Bucket=self.bucket)
            self._bucket_seen = True

    def _stream(self, sha256: str) -> Iterator[bytes]:
        with self._errors(sha256):
            body = self._client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
            try:
                yield from body.iter_chunks(CHUNK_SIZE)
            finally:
                body.close()

    @contextmanager
    def _spool(self) -> Iterator[tuple[Path, Any]]:
        fd, name = tempfile.mkstemp(prefix="shipyard-spool-", suffix=".part", dir=self._spool_dir)
        path = Path(name)
        try:
            yield path, os.fdopen(fd, "wb")
        finally:
            path.unlink(missing_ok=True)

    @contextmanager
    def _errors(self, sha256: str | None) -> Iterator[None]:
        """Translate boto errors raised inside the block into Shipyard errors."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError, Boto3Error) as exc:
            raise self._translate(exc, sha256) from exc

    def _translate(self, exc: BaseException, sha256: str | None) -> ShipyardError:
        from botocore.exceptions import (
            ClientError,
            ConnectionError,
            HTTPClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        cause = _boto_cause(exc)
        if isinstance(cause, ClientError):
            return self._from_client_error(cause, sha256)
        if isinstance(cause, ConnectionError | HTTPClientError):
            return Unavailable(
                f"cannot reach S3 at {self._client.meta.endpoint_url} for {self.uri}: {cause}",
                hint="check the endpoint (endpoint_url / AWS_ENDPOINT_URL) and that it is up",
            )
        if isinstance(cause, NoCredentialsError | PartialCredentialsError):
            return Unauthenticated(
                f"no usable AWS credentials to access {self.uri}: {cause}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
            )
        return ShipyardError(f"S3 request for {self.uri} failed: {cause}")

    def _from_client_error(self, exc: Any, sha256: str | None) -> ShipyardError:
        code = _error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if code == "NoSuchBucket" or (code in _MISSING_CODES and sha256 is None):
            return NotFound(
                f"S3 bucket {self.bucket!r} does not exist (artifact store {self.uri})",
                hint=f"create it first (e.g. `aws s3 mb s3://{self.bucket}`) or fix the URI",
            )
        if code in _MISSING_CODES and sha256 is not None:
            return self._not_found(sha256)
        if code in _DENIED_CODES:
            return PermissionDenied(
                f"S3 refused access to {self.uri} ({code})",
                hint="check the AWS credentials and the bucket policy",
            )
        if code in _BUSY_CODES or status >= 500:
            return Unavailable(
                f"S3 could not serve {self.uri} ({code}): {exc}", hint="retry in a moment"
            )
        return ShipyardError(f"S3 request for {self.uri} failed ({code}): {exc}")

    def _not_found(self, sha256: str) -> NotFound:
        return NotFound(
            f"artifact blob {sha256} not found in {self.uri}",
            hint="it was never stored here; check the artifact location (SHIPYARD_ARTIFACTS)",
        )


def _import_boto3() -> ModuleType:
    try:
        import boto3
        import boto3.s3.transfer
    except ImportError as exc:
        raise InvalidArgument(
            "the S3 artifact store needs boto3, which is not installed",
            hint="pip install 'shipyard[s3]'",
        ) from exc
    return boto3


def _parse_uri(uri: str) -> tuple[str, str, str | None]:
    """``s3://bucket/prefix?endpoint_url=...`` -> (bucket, prefix, endpoint_url)."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise InvalidArgument(
            f"invalid S3 artifact location {uri!r}", hint="use s3://bucket/prefix"
        )
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - _URI_OPTIONS)
    if unknown:
        raise InvalidArgument(
            f"unknown option(s) {', '.join(unknown)} in S3 location {uri!r}",
            hint="the only option is endpoint_url, e.g. s3://bucket/prefix?endpoint_url=http://host:9000",
        )
    return parts.netloc, parts.path.strip("/"), options.get("endpoint_url") or None


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _boto_cause(exc: BaseException) -> BaseException:
    """The botocore error behind boto3's wrappers (``S3UploadFailedError`` chains the
    ``ClientError``; ``RetriesExceededError`` keeps the last one)."""
    from botocore.exceptions import BotoCoreError, ClientError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BotoCoreError | ClientError):
            return seen
        last = getattr(seen, "last_exception", None)
        seen = last if isinstance(last, BaseException) else (seen.__cause__ or seen.__context__)
    return exc


def _client_config() -> Any:
    """Retry throttling and 5xx answers the way AWS recommends (standard mode, several attempts):
    S3-compatible servers return an occasional 500/503 under concurrent writes to one key."""
    from botocore.config import Config

    return Config(retries={"max_attempts": 8, "mode": "standard"})
