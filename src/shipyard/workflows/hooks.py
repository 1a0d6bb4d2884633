"""Git webhooks: verify a GitHub or GitLab delivery and read what it asks for.

No IO here: the hub's hook routes call :func:`verify_github` / :func:`verify_gitlab` with the
configured secret, then :func:`parse_github` / :func:`parse_gitlab`, and record the
:class:`HookEvent` they get as a workflow request for the daemon. Comparisons are constant-time and
no error message ever contains the secret or the signature.

Events understood: pushes to branches (tag pushes and branch deletions are ignored), GitHub
``pull_request`` and GitLab ``Merge Request Hook`` (the branch matched against ``on:`` is the
target branch, the commit is the head of the source branch). Anything else is ignored (``None``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.domain.triggers import RequestSource, branch_of
from shipyard.errors import InvalidArgument, PermissionDenied, Unauthenticated

SIGNATURE_HEADER = "X-Hub-Signature-256"
GITHUB_EVENT_HEADER = "X-GitHub-Event"
GITLAB_TOKEN_HEADER = "X-Gitlab-Token"  # noqa: S105  # a header name, not a secret
GITLAB_EVENT_HEADER = "X-Gitlab-Event"
_ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class HookEvent:
    """What a delivery asks for: run the workflows of ``repo_url`` at ``commit`` that match
    ``event`` (``{"kind": "push", "branch": "main"}``...)."""

    source: RequestSource
    repo_url: str
    ref: str
    commit: str
    event: Mapping[str, Any] = field(default_factory=dict)


def require_secret(secret: str | None) -> str:
    """The configured secret; ``PermissionDenied`` explaining how to set one when there is none."""
    if not secret:
        raise PermissionDenied(
            "webhooks are turned off on this hub: no webhook secret is configured",
            hint="set SHIPYARD_WEBHOOK_SECRET on the hub and the same secret in the webhook",
        )
    return secret


def verify_github(body: bytes, signature: str | None, secret: str | None) -> None:
    """Check ``X-Hub-Signature-256`` (``sha256=<hex HMAC of the body>``); ``Unauthenticated``
    when it is missing or wrong."""
    key = require_secret(secret).encode()
    expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise Unauthenticated(
            "the webhook signature is missing or does not match",
            hint=f"sign deliveries with the hub's webhook secret ({SIGNATURE_HEADER}, SHA-256)",
        )


def verify_gitlab(token: str | None, secret: str | None) -> None:
    """Check ``X-Gitlab-Token`` against the secret; ``Unauthenticated`` when missing or wrong."""
    key = require_secret(secret).encode()
    if not token or not hmac.compare_digest(key, token.encode()):
        raise Unauthenticated(
            "the webhook token is missing or does not match",
            hint=f"set the hook's secret token ({GITLAB_TOKEN_HEADER}) to the hub's webhook secret",
        )


def sign_github(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body`` (for tests and tools)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_github(kind: str, payload: Mapping[str, Any]) -> HookEvent | None:
    """The request a GitHub delivery of event ``kind`` asks for, or ``None`` to ignore it."""
    if kind == "push":
        return _push(RequestSource.GITHUB, payload, _get(payload, "repository", "clone_url"))
    if kind != "pull_request":
        return None
    pull = _mapping(payload, "pull_request")
    base = str(_get(pull, "base", "ref"))
    repo = _get(payload, "repository", "clone_url")
    event = {
        "kind": "pull_request",
        "action": str(payload.get("action", "")),
        "branch": base,
        "head_branch": str(_get(pull, "head", "ref")),
        "number": payload.get("number"),
    }
    ref = f"refs/pull/{payload.get('number')}/head"
    return HookEvent(RequestSource.GITHUB, repo, ref, _sha(_get(pull, "head", "sha")), event)


def parse_gitlab(kind: str, payload: Mapping[str, Any]) -> HookEvent | None:
    """The request a GitLab delivery of event ``kind`` asks for, or ``None`` to ignore it."""
    if kind == "Push Hook":
        repo = _get(payload, "project", "git_http_url")
        return _push(RequestSource.GITLAB, payload, repo)
    if kind != "Merge Request Hook":
        return None
    attrs = _mapping(payload, "object_attributes")
    event = {
        "kind": "pull_request",
        "action": str(attrs.get("action", "")),
        "branch": str(attrs.get("target_branch", "")),
        "head_branch": str(attrs.get("source_branch", "")),
        "number": attrs.get("iid"),
    }
    source = attrs.get("source")
    repo_url = (
        _get(attrs, "source", "git_http_url")
        if isinstance(source, Mapping) and source.get("git_http_url")
        else _get(payload, "project", "git_http_url")
    )
    commit = _sha(_get(attrs, "last_commit", "id"))
    ref = f"refs/merge-requests/{attrs.get('iid')}/head"
    return HookEvent(RequestSource.GITLAB, repo_url, ref, commit, event)


def _push(source: RequestSource, payload: Mapping[str, Any], repo_url: str) -> HookEvent | None:
    ref = str(payload.get("ref", ""))
    after = str(payload.get("checkout_sha") or payload.get("after") or "")
    if not ref.startswith("refs/heads/") or not after or after == _ZERO_SHA:
        return None  # a tag push or a deleted branch: nothing to run
    event = {"kind": "push", "branch": branch_of(ref)}
    return HookEvent(source, repo_url, ref, _sha(after), event)


def _mapping(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    if not isinstance(value, Mapping):
        raise InvalidArgument(
            f"the webhook payload has no {key!r} object",
            hint="send the event's JSON payload unchanged (content type application/json)",
        )
    return value


def _get(payload: Mapping[str, Any], key: str, field_name: str) -> str:
    value = _mapping(payload, key).get(field_name)
    if not isinstance(value, str) or not value:
        raise InvalidArgument(
            f"the webhook payload has no {key}.{field_name}",
            hint="send the event's JSON payload unchanged (content type application/json)",
        )
    return value


def _sha(value: str) -> str:
    text = value.lower()
    if not 7 <= len(text) <= 64 or any(c not in "0123456789abcdef" for c in text):
        raise InvalidArgument(
            f"the webhook payload's commit {value[:80]!r} is not a commit id",
            hint="send the event's JSON payload unchanged",
        )
    return text
