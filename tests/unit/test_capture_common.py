"""Shared capture helpers: credential stripping and error collection."""

from __future__ import annotations

import pytest

from shipyard.capture._common import ProbeErrors, strip_credentials


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:token@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("https://ghp_abc123@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("http://u:p@host:8080/r.git?private_token=x#frag", "http://host:8080/r.git"),
        ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("ssh://git:pw@host.example.com/org/repo.git", "ssh://git@host.example.com/org/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
        ("https://u:p@[::1]:9000/r.git", "https://[::1]:9000/r.git"),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def test_unparseable_url_is_dropped_not_leaked() -> None:
    assert "secret" not in strip_credentials("https://user:secret@host:notaport/x")


def test_guard_records_and_swallows_exceptions() -> None:
    errors = ProbeErrors("system")
    with errors.guard("cpu model"):
        raise OSError("no /proc")
    with errors.guard("fine"):
        pass
    errors.add("memory", "not available")
    assert errors.items == [
        {"probe": "system", "step": "cpu model", "error": "OSError: no /proc"},
        {"probe": "system", "step": "memory", "error": "not available"},
    ]


def test_guard_lets_interrupts_through() -> None:
    errors = ProbeErrors("code")
    with pytest.raises(KeyboardInterrupt), errors.guard("git"):
        raise KeyboardInterrupt
    assert errors.items == []
