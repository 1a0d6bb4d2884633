"""Collaboration: what comments and notes cost, over HTTP (the app in-process, ASGI, no sockets).

    .venv/bin/python benchmarks/bench_collab.py [--quick]

On SQLite, with the SDK's HTTP store (``HttpCollabStore``):

* ``add_comment_ms``: one ``POST /runs/{id}/comments`` (validate, insert, audit hook, answer);
* ``list_comments_ms``: listing a run's comments when it has ``comments`` of them;
* ``comments_fragment_ms``: the hub's rendered comment list (Markdown to HTML per comment);
* ``project_notes_64k_ms``: replacing a project's notes with 64 KiB of Markdown.

JSON on stdout, progress on stderr. The figures depend on the machine's load (reported).
"""

from __future__ import annotations

from _harness import Json, emit, log, machine, parse_args, summarize, timed_ms, workdir

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.collab import MAX_NOTES_BYTES
from shipyard.sdk._http_collab import HttpCollabStore
from shipyard.sdk._http_store import HttpRunStore
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client

BODY = "Looks **overfit** after epoch 30; see `loss` vs `val_loss`.\n\n- lr 0.1\n- depth 8\n"


def main() -> None:
    """Measure and print the JSON result."""
    args = parse_args(__doc__ or "")
    comments = 100 if args.quick else 1000
    result: Json = {"benchmark": "collab", "machine": machine(), "comments": comments}
    with workdir("collab") as root:
        store = SqlRunStore.from_uri(f"sqlite:///{root}/shipyard.db", auto_create=True)
        client = asgi_client(create_app(store, LocalArtifactStore(root / "artifacts")))
        http = HttpRunStore("http://bench", client=client)
        collab = HttpCollabStore(http)
        try:
            run = store.create_run("bench")
            log(f"posting {comments} comments")
            added = timed_ms(collab.add_run_comment, comments, run.id, BODY)
            result["add_comment_ms"] = summarize(added, "ms")
            log("listing them")
            result["list_comments_ms"] = summarize(
                timed_ms(collab.list_run_comments, 20, run.id), "ms"
            )
            fragment = f"/api/v1/ui/runs/{run.id}/comments"
            result["comments_fragment_ms"] = summarize(timed_ms(client.get, 10, fragment), "ms")
            notes = ("# Notes\n\n" + "word " * MAX_NOTES_BYTES)[:MAX_NOTES_BYTES]
            result["project_notes_64k_ms"] = summarize(
                timed_ms(collab.update_project_annotations, 20, "bench", notes=notes), "ms"
            )
        finally:
            http.close()
            client.close()
            store.close()
    emit(result)


if __name__ == "__main__":
    main()
