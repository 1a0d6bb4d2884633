"""The auth store on SQLite and PostgreSQL: users, tokens, sessions, teams, roles, audit chain."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.domain.auth import PrincipalKind, Role, TokenScope
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.store.auth import AuthStore
from shipyard.store.sql.store import SqlRunStore

PASSWORD = "correct horse battery"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlRunStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/shipyard.db"
    else:
        url = str(request.getfixturevalue("pg_url"))
    opened = SqlRunStore.from_uri(url, auto_create=True)
    yield opened
    opened.close()


def test_the_sql_store_is_an_auth_store(store: SqlRunStore) -> None:
    assert isinstance(store, AuthStore)


def test_users_keep_only_a_password_hash(store: SqlRunStore) -> None:
    user = store.create_user("ada", PASSWORD, is_admin=True)
    assert (user.name, user.is_admin, user.disabled) == ("ada", True, False)
    with pytest.raises(AlreadyExists, match="ada"):
        store.create_user("ada", PASSWORD)
    with pytest.raises(InvalidArgument, match="8 to 1024"):
        store.create_user("bob", "short")
    with pytest.raises(InvalidArgument, match="invalid user name"):
        store.create_user("../x", PASSWORD)
    with store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM users")).scalar_one()
    assert PASSWORD not in stored
    assert stored.startswith("$argon2")
    assert store.verify_password("ada", PASSWORD) == user
    assert store.verify_password("ada", "wrong password") is None
    assert store.verify_password("nobody", PASSWORD) is None
    store.set_user_disabled("ada")
    assert store.verify_password("ada", PASSWORD) is None
    assert [u.name for u in store.list_users()] == ["ada"]
    with pytest.raises(NotFound, match="ghost"):
        store.get_user("ghost")


def test_tokens_are_hashed_scoped_expiring_and_revocable(store: SqlRunStore) -> None:
    store.create_user("ada", PASSWORD)
    issued = store.create_token("ada", scope=TokenScope.READ, description="ci")
    assert issued.secret.startswith("shp_")
    found = store.authenticate_token(issued.secret)
    assert found is not None
    assert found[0].name == "ada"
    assert found[1].scope is TokenScope.READ
    with store.engine.connect() as conn:
        hashes = conn.execute(sa.text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert issued.secret not in hashes
    assert store.authenticate_token(issued.secret + "x") is None
    assert store.authenticate_token("not-a-token") is None
    store.revoke_token(issued.token.id)
    assert store.authenticate_token(issued.secret) is None
    expired = store.create_token("ada", expires_at=int(time.time() * 1000) - 1)
    assert store.authenticate_token(expired.secret) is None
    live = store.create_token("ada")
    store.set_user_disabled("ada")
    assert store.authenticate_token(live.secret) is None
    assert {t.id for t in store.list_tokens("ada")} == {
        issued.token.id,
        expired.token.id,
        live.token.id,
    }
    with pytest.raises(NotFound):
        store.create_token("ghost")
    with pytest.raises(NotFound):
        store.revoke_token("0" * 32)


def test_sessions_are_stored_as_hashes(store: SqlRunStore) -> None:
    store.create_user("ada", PASSWORD)
    session_id = store.create_session("ada", 60_000)
    assert store.session_user(session_id) is not None
    with store.engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT id_hash FROM user_sessions")).scalars().all()
    assert session_id not in ids
    store.delete_session(session_id)
    assert store.session_user(session_id) is None
    short = store.create_session("ada", -1)
    assert store.session_user(short) is None


def test_roles_come_from_users_and_teams(store: SqlRunStore) -> None:
    for name in ("ada", "bob"):
        store.create_user(name, PASSWORD)
    store.create_team("vision")
    assert store.add_team_member("vision", "ada").members == ("ada",)
    assert store.grant_role("iris", "ada", Role.VIEWER) is None
    assert store.grant_role("iris", "ada", Role.EDITOR) is Role.VIEWER
    store.grant_role("iris", "vision", Role.ADMIN, kind=PrincipalKind.TEAM)
    store.grant_role("mnist", "vision", Role.VIEWER, kind=PrincipalKind.TEAM)
    assert store.roles_of("ada") == {"iris": Role.ADMIN, "mnist": Role.VIEWER}
    assert store.roles_of("bob") == {}
    store.remove_team_member("vision", "ada")
    assert store.roles_of("ada") == {"iris": Role.EDITOR}
    assert store.revoke_role("iris", "ada") is Role.EDITOR
    with pytest.raises(NotFound, match="no role"):
        store.revoke_role("iris", "ada")
    with pytest.raises(NotFound, match="ghost"):
        store.grant_role("iris", "ghost", Role.VIEWER)
    with pytest.raises(NotFound):
        store.remove_team_member("vision", "ada")
    with pytest.raises(AlreadyExists):
        store.create_team("vision")
    members = store.list_members("iris")
    assert [(m.kind, m.principal, m.role) for m in members] == [
        (PrincipalKind.TEAM, "vision", Role.ADMIN)
    ]


def _fill(store: SqlRunStore, n: int) -> None:
    for i in range(n):
        store.record_audit(
            actor="ada",
            action="test.change",
            target=f"things/{i}",
            address="10.0.0.1",
            before={"n": i, "password": "hunter22"},
            after={"n": i + 1, "token": "shp_secret"},
        )


def test_the_audit_log_is_a_verified_chain_without_secrets(store: SqlRunStore) -> None:
    _fill(store, 5)
    count, problems = store.verify_audit()
    assert (count, problems) == (5, [])
    records = store.list_audit()
    assert [r.seq for r in records] == [5, 4, 3, 2, 1]
    assert records[0].before == {"n": 4, "password": "***"}
    assert records[0].after == {"n": 5, "token": "***"}
    assert records[-1].prev_hash == "0" * 64
    assert records[0].prev_hash == records[1].hash
    assert [r.seq for r in store.list_audit(actor="ada", limit=2)] == [5, 4]
    assert store.list_audit(actor="bob") == []
    assert store.list_audit(since=int(time.time() * 1000) + 60_000) == []


def _sql(store: SqlRunStore, statement: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(statement))


def test_verify_names_an_edited_record(store: SqlRunStore) -> None:
    _fill(store, 4)
    _sql(store, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    _, problems = store.verify_audit()
    assert [(p.seq, p.problem) for p in problems] == [(2, "record 2 was edited")]


def test_verify_names_deleted_records(store: SqlRunStore) -> None:
    _fill(store, 5)
    _sql(store, "DELETE FROM audit_log WHERE seq = 3")
    _, problems = store.verify_audit()
    assert [p.seq for p in problems] == [4]
    assert "3" in problems[0].problem
    assert "deleted" in problems[0].problem


def test_verify_names_a_deleted_newest_record(store: SqlRunStore) -> None:
    _fill(store, 3)
    _sql(store, "DELETE FROM audit_log WHERE seq = 3")
    _, problems = store.verify_audit()
    assert [p.seq for p in problems] == [3]
    assert "newest" in problems[0].problem


def test_verify_sees_a_rewritten_chain_tail(store: SqlRunStore) -> None:
    _fill(store, 3)
    _sql(store, "UPDATE audit_log SET prev_hash = '" + "1" * 64 + "' WHERE seq = 2")
    _, problems = store.verify_audit()
    assert [p.seq for p in problems] == [2]


def test_concurrent_appends_keep_one_chain(store: SqlRunStore) -> None:
    def append(worker: int) -> None:
        for i in range(15):
            store.record_audit(actor=f"w{worker}", action="race", target=str(i))

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.verify_audit() == (60, [])
    assert sorted(r.seq for r in store.list_audit(limit=100)) == list(range(1, 61))
