"""End-to-end: ``shipyard users|tokens|teams|login|projects grant|audit`` against a real
``shipyard server --auth`` (a subprocess on a free port) and on its database directly."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import free_port, wait_for_port

CLI = [sys.executable, "-m", "shipyard.cli"]
PASSWORD = "correct horse battery"


@dataclass
class Hub:
    url: str
    db: str
    home: Path
    credentials: Path

    def env(self, token: str | None = None, remote: bool = True) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        env.update(SHIPYARD_HOME=str(self.home), SHIPYARD_CREDENTIALS_FILE=str(self.credentials))
        env["COLUMNS"] = "200"
        if remote:
            env["SHIPYARD_TRACKING_URI"] = self.url
        if token is not None:
            env["SHIPYARD_TOKEN"] = token
        return env

    def run(
        self, *args: str, token: str | None = None, stdin: str = "", remote: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(token, remote),
            cwd=self.home.parent,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str, **kwargs: object) -> str:
        done = self.run(*args, **kwargs)  # type: ignore[arg-type]
        assert done.returncode == 0, done.stderr
        return done.stdout

    def json(self, *args: str, **kwargs: object) -> object:
        return json.loads(self.ok(*args, "--json", **kwargs))


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    db = f"sqlite:///{tmp_path}/hub.db"
    port = free_port()
    made = Hub(f"http://127.0.0.1:{port}", db, tmp_path / ".shipyard", tmp_path / "creds.json")
    made.ok("users", "create", "root", "--admin", "--password-stdin", "--store", db,
            stdin=PASSWORD + "\n", remote=False)  # fmt: skip
    proc = subprocess.Popen(
        [*CLI, "server", "--auth", "--no-workflows", "--port", str(port), "--store", db,
         "--artifacts", str(tmp_path / "artifacts"), "--log-level", "warning"],
        env=made.env(remote=False), cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        yield made
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert proc.stderr is not None
        proc.stderr.close()


def test_admin_bootstrap_login_users_tokens_roles_and_audit(hub: Hub) -> None:
    root_token = hub.json("tokens", "create", "--user", "root", "--store", hub.db, remote=False)
    secret = root_token["secret"]  # type: ignore[index]
    assert secret.startswith("shp_")

    # no token: a clear error, no traceback
    refused = hub.run("projects", "list")
    assert refused.returncode == 1
    assert "error: sign in" in refused.stderr
    assert "Traceback" not in refused.stderr

    out = hub.ok("login", "--token-stdin", stdin=secret + "\n")
    assert "as root" in out
    assert secret not in out
    assert stat.S_IMODE(hub.credentials.stat().st_mode) == 0o600
    assert hub.json("projects", "list") == {"projects": []}

    hub.ok("users", "create", "ada", "--password-stdin", stdin=PASSWORD + "\n")
    hub.ok("users", "create", "bob", "--password-stdin", stdin=PASSWORD + "\n")
    users = hub.json("users", "list")
    assert [u["name"] for u in users["users"]] == ["ada", "bob", "root"]  # type: ignore[index]
    ada = hub.json("tokens", "create", "--user", "ada", "--expires", "30d")["secret"]  # type: ignore[index]
    bob = hub.json("tokens", "create", "--user", "bob", "--scope", "read")["secret"]  # type: ignore[index]

    # ada creates a project (becomes its admin) and grants bob a role
    created = subprocess.run(
        [sys.executable, "-c", "import shipyard\nwith shipyard.start_run(project='iris'): pass"],
        env={**hub.env(ada), "SHIPYARD_CAPTURE": "false", "SHIPYARD_SYSTEM_METRICS_INTERVAL": "0"},
        capture_output=True, text=True, timeout=120, check=False, cwd=hub.home.parent,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert hub.json("projects", "list", token=bob) == {"projects": []}
    hub.ok("projects", "grant", "iris", "bob", "--role", "viewer", token=ada)
    listed = hub.json("projects", "list", token=bob)
    assert [p["name"] for p in listed["projects"]] == ["iris"]  # type: ignore[index]
    members = hub.json("projects", "members", "iris", token=bob)
    roles = {m["principal"]: m["role"] for m in members["members"]}  # type: ignore[index]
    assert roles == {"ada": "admin", "bob": "viewer"}
    denied = hub.run("projects", "grant", "iris", "bob", "--role", "admin", token=bob)
    assert denied.returncode == 1
    assert "error:" in denied.stderr

    # teams
    hub.ok("teams", "create", "vision")
    hub.ok("teams", "add", "vision", "bob")
    teams = hub.json("teams", "list")["teams"]  # type: ignore[index]
    assert [(t["name"], t["members"]) for t in teams] == [("vision", ["bob"])]
    hub.ok("projects", "grant", "iris", "--team", "vision", "--role", "editor", token=ada)
    hub.ok("projects", "revoke", "iris", "--team", "vision", token=ada)
    hub.ok("teams", "remove", "vision", "bob")

    # tokens: list and revoke
    tokens = hub.json("tokens", "list", "--user", "bob")
    token_id = tokens["tokens"][0]["id"]  # type: ignore[index]
    hub.ok("tokens", "revoke", token_id)
    gone = hub.run("projects", "list", token=bob)
    assert gone.returncode == 1
    assert bob not in gone.stderr
    hub.ok("users", "disable", "bob")

    # the audit log: who did what, never a secret; verified
    records = hub.json("audit", "list", "--limit", "200")["records"]  # type: ignore[index]
    actions = {(r["actor"], r["action"]) for r in records}
    assert ("ada", "project.grant") in actions
    assert ("root", "token.revoke") in actions
    assert ("root", "user.disable") in actions
    dumped = json.dumps(records)
    for text in (secret, ada, bob, PASSWORD):
        assert text not in dumped
    assert [r["actor"] for r in hub.json("audit", "list", "--user", "ada")["records"]]  # type: ignore[index]
    assert "chain verified" in hub.ok("audit", "verify")

    # tampering is found, on the database directly
    engine = sa.create_engine(hub.db)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    engine.dispose()
    tampered = hub.run("audit", "verify", "--store", hub.db, remote=False)
    assert tampered.returncode == 1
    assert "record 2 was edited" in tampered.stderr

    assert "forgot" in hub.ok("logout")
    assert hub.run("projects", "list").returncode == 1
