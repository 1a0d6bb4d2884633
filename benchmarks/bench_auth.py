"""Auth: what turning auth on costs per request, and the audit log's append and verify rates.

    .venv/bin/python benchmarks/bench_auth.py [--quick]

On SQLite, the app in-process (ASGI, no sockets):

* ``get_run_auth_off_ms`` / ``get_run_auth_on_ms``: one ``GET /runs/{id}``, without auth and
  with a Bearer token (token lookup, roles query, rule check);
* ``set_tags_auth_on_ms``: one ``POST /runs/{id}/tags`` with auth on (also an audit record);
* ``audit_append_ms``: one ``record_audit`` (hash-chained append) on the store;
* ``audit_verify_records_per_s``: records checked per second by ``verify_audit``;
* ``login_ms``: one password check (argon2) through ``verify_password``.

JSON on stdout, progress on stderr. The figures depend on the machine's load (reported).
"""

from __future__ import annotations

import time

from _harness import Json, emit, log, machine, parse_args, summarize, timed_ms, workdir

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.auth import Role
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client

PASSWORD = "benchmark password"


def main() -> None:
    """Measure and print the JSON result."""
    args = parse_args(__doc__ or "")
    repeats = 50 if args.quick else 500
    records = 500 if args.quick else 5000
    result: Json = {"benchmark": "auth", "machine": machine(), "requests": repeats}
    with workdir("auth") as root:
        store = SqlRunStore.from_uri(f"sqlite:///{root}/shipyard.db", auto_create=True)
        try:
            run = store.create_run("bench")
            store.create_user("ada", PASSWORD)
            store.grant_role("bench", "ada", Role.EDITOR)
            token = store.create_token("ada").secret
            path = f"/api/v1/runs/{run.id}"
            for auth in (False, True):
                app = create_app(store, LocalArtifactStore(root / "artifacts"), auth=auth)
                client = asgi_client(app)
                client.headers["Authorization"] = f"Bearer {token}"
                log(f"GET run, auth {'on' if auth else 'off'}")
                key = f"get_run_auth_{'on' if auth else 'off'}_ms"
                result[key] = summarize(timed_ms(client.get, repeats, path), "ms")
                if auth:
                    body = {"tags": {"k": "v"}}
                    samples = timed_ms(client.post, repeats, f"{path}/tags", json=body)
                    result["set_tags_auth_on_ms"] = summarize(samples, "ms")
                client.close()
            log(f"appending {records} audit records")
            appends = timed_ms(
                store.record_audit, records, actor="ada", action="bench", target="x", after={"n": 1}
            )
            result["audit_append_ms"] = summarize(appends, "ms")
            started = time.perf_counter()
            count, problems = store.verify_audit()
            elapsed = time.perf_counter() - started
            result["audit_records"] = count
            result["audit_verified"] = not problems
            result["audit_verify_records_per_s"] = round(count / elapsed)
            result["login_ms"] = summarize(
                timed_ms(store.verify_password, 10 if args.quick else 30, "ada", PASSWORD), "ms"
            )
        finally:
            store.close()
    emit(result)


if __name__ == "__main__":
    main()
