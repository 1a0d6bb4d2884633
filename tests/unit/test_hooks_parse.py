"""Webhook verification and payload parsing (no IO)."""

from __future__ import annotations

import pytest

from shipyard.domain.triggers import RequestSource
from shipyard.errors import InvalidArgument, PermissionDenied, Unauthenticated
from shipyard.workflows import hooks

SHA = "a" * 40
BODY = b'{"ref": "refs/heads/main"}'


def test_github_signature_round_trip() -> None:
    signature = hooks.sign_github(BODY, "s3cret")
    hooks.verify_github(BODY, signature, "s3cret")
    for bad in (None, "", "sha256=00", hooks.sign_github(BODY + b" ", "s3cret")):
        with pytest.raises(Unauthenticated) as caught:
            hooks.verify_github(BODY, bad, "s3cret")
        assert "s3cret" not in str(caught.value)


def test_no_secret_refuses_with_an_explanation() -> None:
    with pytest.raises(PermissionDenied, match="no webhook secret") as caught:
        hooks.verify_github(BODY, hooks.sign_github(BODY, "x"), None)
    assert "SHIPYARD_WEBHOOK_SECRET" in str(caught.value.hint)
    with pytest.raises(PermissionDenied):
        hooks.verify_gitlab("x", "")


def test_gitlab_token() -> None:
    hooks.verify_gitlab("tok", "tok")
    for bad in (None, "", "tok2"):
        with pytest.raises(Unauthenticated):
            hooks.verify_gitlab(bad, "tok")


def test_github_push() -> None:
    payload = {"ref": "refs/heads/main", "after": SHA, "repository": {"clone_url": "file:///r"}}
    found = hooks.parse_github("push", payload)
    assert found == hooks.HookEvent(
        RequestSource.GITHUB,
        "file:///r",
        "refs/heads/main",
        SHA,
        {"kind": "push", "branch": "main"},
    )


def test_tag_pushes_deletions_and_pings_are_ignored() -> None:
    repo = {"clone_url": "file:///r"}
    tag = {"ref": "refs/tags/v1", "after": SHA, "repository": repo}
    assert hooks.parse_github("push", tag) is None
    deleted = {"ref": "refs/heads/x", "after": "0" * 40, "repository": repo}
    assert hooks.parse_github("push", deleted) is None
    assert hooks.parse_github("ping", {"zen": "hi"}) is None
    assert hooks.parse_gitlab("Tag Push Hook", {}) is None


def test_github_pull_request() -> None:
    payload = {
        "action": "opened",
        "number": 7,
        "pull_request": {"head": {"sha": SHA, "ref": "feature"}, "base": {"ref": "main"}},
        "repository": {"clone_url": "https://example.org/r.git"},
    }
    found = hooks.parse_github("pull_request", payload)
    assert found is not None
    assert (found.ref, found.commit) == ("refs/pull/7/head", SHA)
    assert found.event == {
        "kind": "pull_request", "action": "opened", "branch": "main",
        "head_branch": "feature", "number": 7,
    }  # fmt: skip


def test_gitlab_push_and_merge_request() -> None:
    push = {"ref": "refs/heads/dev", "checkout_sha": SHA, "project": {"git_http_url": "file:///g"}}
    found = hooks.parse_gitlab("Push Hook", push)
    assert found is not None
    assert found.source is RequestSource.GITLAB
    assert found.event == {"kind": "push", "branch": "dev"}
    merge = {
        "project": {"git_http_url": "file:///g"},
        "object_attributes": {
            "iid": 3, "action": "open", "target_branch": "main", "source_branch": "fix",
            "last_commit": {"id": SHA},
        },
    }  # fmt: skip
    found = hooks.parse_gitlab("Merge Request Hook", merge)
    assert found is not None
    assert found.ref == "refs/merge-requests/3/head"
    assert found.event["branch"] == "main"
    assert found.commit == SHA


def test_malformed_payloads_are_invalid_arguments() -> None:
    with pytest.raises(InvalidArgument, match="repository"):
        hooks.parse_github("push", {"ref": "refs/heads/main", "after": SHA})
    with pytest.raises(InvalidArgument, match="not a commit id"):
        hooks.parse_github(
            "push", {"ref": "refs/heads/m", "after": "$(id)", "repository": {"clone_url": "u"}}
        )


def test_credentials_in_urls_are_hidden_for_display() -> None:
    from shipyard.domain.triggers import redact_url

    assert (
        redact_url("https://bot:t0ken@git.example.org/r.git") == "https://***@git.example.org/r.git"
    )
    assert redact_url("https://git.example.org/a@b.git") == "https://git.example.org/a@b.git"
    assert redact_url("file:///srv/repo") == "file:///srv/repo"
