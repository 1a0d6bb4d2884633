"""Route paths of the native REST API, shared by the server (which mounts them) and the SDK's HTTP
transport (which formats them). A test checks that every path here is in the server's OpenAPI.

Path parameters are written ``{name}``; :func:`url` fills them in, percent-encoding each value.
"""

from __future__ import annotations

from urllib.parse import quote

API_PREFIX = "/api/v1"

HEALTH = f"{API_PREFIX}/health"
PROJECTS = f"{API_PREFIX}/projects"
PROJECT = f"{API_PREFIX}/projects/{{name}}"

RUNS = f"{API_PREFIX}/runs"
RUNS_SEARCH = f"{API_PREFIX}/runs/search"
RUNS_DIFF = f"{API_PREFIX}/runs/diff"
RUN = f"{API_PREFIX}/runs/{{run_id}}"
RUN_RESTORE = f"{RUN}/restore"
RUN_PARAMS = f"{RUN}/params"
RUN_TAGS = f"{RUN}/tags"
RUN_TAG = f"{RUN}/tags/{{key}}"
RUN_INGEST = f"{RUN}/ingest"
RUN_METRIC_HISTORY = f"{RUN}/metrics/history"
RUN_ARTIFACTS = f"{RUN}/artifacts"
RUN_ARTIFACT_CONTENT = f"{RUN}/artifacts/content"
RUN_BLOB = f"{RUN}/blobs/{{sha256}}"
RUN_INPUTS = f"{RUN}/inputs"
RUN_ENVIRONMENT = f"{RUN}/environment"

MSGPACK = "application/x-msgpack"
"""Media type of the compact batch format (see :mod:`shipyard.api.codec`)."""
OCTET_STREAM = "application/octet-stream"
SHA256_HEADER = "X-Shipyard-SHA256"
"""Response header carrying the sha256 of a downloaded artifact's bytes."""

ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", HEALTH),
    ("GET", PROJECTS),
    ("POST", PROJECTS),
    ("GET", PROJECT),
    ("GET", RUNS),
    ("POST", RUNS),
    ("POST", RUNS_SEARCH),
    ("GET", RUNS_DIFF),
    ("GET", RUN),
    ("PATCH", RUN),
    ("DELETE", RUN),
    ("POST", RUN_RESTORE),
    ("POST", RUN_PARAMS),
    ("POST", RUN_TAGS),
    ("DELETE", RUN_TAG),
    ("POST", RUN_INGEST),
    ("GET", RUN_METRIC_HISTORY),
    ("GET", RUN_ARTIFACTS),
    ("POST", RUN_ARTIFACTS),
    ("GET", RUN_ARTIFACT_CONTENT),
    ("HEAD", RUN_BLOB),
    ("PUT", RUN_BLOB),
    ("GET", RUN_INPUTS),
    ("POST", RUN_INPUTS),
    ("GET", RUN_ENVIRONMENT),
)
"""Every native route as ``(method, path template)``."""


def url(template: str, **params: str) -> str:
    """Fill a path template, percent-encoding every value (``/`` included).

    >>> url(RUN_TAG, run_id="0193", key="team/owner")
    '/api/v1/runs/0193/tags/team%2Fowner'
    """
    return template.format(**{name: quote(value, safe="") for name, value in params.items()})
