"""End-to-end tests of collaboration in the hub: comments on a run, and the notes and tags of a
project and a dataset, in Chromium (Playwright) against a real server process.

As in ``test_ui.py``, a request that leaves the server's origin, a script error or a dialog (an
injected script running) fails the test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect
from ui_seed import XSS_NAME, Seeded, Server, Watched, needs_chromium, serving, shot

from shipyard.domain.auth import Role
from shipyard.domain.datasets import ManifestEntry
from shipyard.store.sql.store import SqlRunStore

pytestmark = needs_chromium
pytest_plugins = ["ui_fixtures"]  # browser, watched

PROJECT_NOTES = "# Iris plan\n\nBaseline is **rf-1**. <script>alert('notes')</script>\n"
HOSTILE = f"**bold** {XSS_NAME} <script>alert('comment')</script>"


@dataclass
class Hub:
    """The server under test and the id of its one run."""

    server: Server
    run_id: str
    store_uri: str

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """Project ``iris`` (one run, notes, a tag) and dataset ``iris-data`` (a tag), served."""
    root = tmp_path_factory.mktemp("collab-hub")
    data = Seeded.at(root)
    store = SqlRunStore.from_uri(data.store_uri, auto_create=True)
    try:
        run = store.create_run("iris", name="rf-1", user="ada")
        store.update_project_annotations("iris", notes=PROJECT_NOTES)
        store.set_project_tag("iris", "team", "tabular")
        sha = hashlib.sha256(b"x").hexdigest()
        store.create_dataset_version("iris-data", [ManifestEntry("a.csv", 1, sha)])
        store.set_dataset_tag("iris-data", "license", "CC-BY-4.0")
    finally:
        store.close()
    with serving(data, root / "server.log") as server:
        yield Hub(server, run.id, data.store_uri)


def test_comment_on_a_run_then_edit_and_delete_it(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(f"{hub.server.url}/runs/{hub.run_id}#comments")
    expect(page.locator("#panel-comments")).to_be_visible()
    expect(page.locator("#no-comments")).to_be_visible()
    expect(page.locator("#tab-comments .count")).to_have_text("0")

    page.locator("#comment-input").fill(HOSTILE)
    page.locator("#comment-submit").click()
    comment = page.locator(".comment-list .comment")
    expect(comment).to_have_count(1)
    expect(comment.locator(".comment-author")).to_have_text("local")
    expect(comment.locator(".comment-body strong")).to_have_text("bold")
    expect(comment.locator(".comment-body")).to_contain_text("<script>alert('comment')</script>")
    expect(comment.locator(".comment-body img")).to_have_count(0)
    expect(page.locator("#tab-comments .count")).to_have_text("1")
    expect(page.locator("#comment-input")).to_have_value("")
    shot(page, "run-comments")

    comment.get_by_role("button", name="Edit this comment").click()
    page.locator(".comment-editor").fill("Second *thoughts*")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(comment.locator(".comment-body em")).to_have_text("thoughts")
    expect(comment.locator(".comment-head")).to_contain_text("(edited)")

    page.reload()
    expect(page.locator(".comment-list .comment")).to_have_count(1)
    page.get_by_role("button", name="Delete this comment").click()
    expect(page.locator("#no-comments")).to_be_visible()
    expect(page.locator("#tab-comments .count")).to_have_text("0")


def test_project_page_shows_and_edits_notes(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(f"{hub.server.url}/projects/iris")
    view = page.locator("#collab-notes-view")
    expect(view.locator("h1")).to_have_text("Iris plan")
    expect(view.locator("strong")).to_have_text("rf-1")
    expect(view).to_contain_text("<script>alert('notes')</script>")
    expect(view.locator(".chip")).to_contain_text("tabular")
    shot(page, "project-notes")

    page.locator("#collab-notes-edit").click()
    expect(page.locator("#collab-notes-input")).to_have_value(PROJECT_NOTES)
    page.locator("#collab-notes-input").fill("Now *tuning* depth.")
    page.locator("#collab-notes-form").get_by_role("button", name="Save").click()
    expect(view.locator("em")).to_have_text("tuning")
    page.reload()
    expect(page.locator("#collab-notes-view em")).to_have_text("tuning")


def test_dataset_page_shows_tags_and_notes(watched: Watched, hub: Hub) -> None:
    page = watched.page
    page.goto(f"{hub.server.url}/datasets/iris-data")
    view = page.locator("#collab-notes-view")
    expect(view.locator(".chip")).to_contain_text("CC-BY-4.0")
    expect(view).to_contain_text("No notes yet.")
    page.locator("#collab-notes-edit").click()
    page.locator("#collab-notes-input").fill("150 flowers, **3** species.")
    page.locator("#collab-notes-form").get_by_role("button", name="Save").click()
    expect(view.locator("strong")).to_have_text("3")


# -- with auth on: authors and their buttons ----------------------------------------------------

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def secured_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """An ``--auth`` server where ada and bob edit project ``iris``; yields its URL and run id."""
    root = tmp_path_factory.mktemp("collab-auth-hub")
    data = Seeded.at(root)
    store = SqlRunStore.from_uri(data.store_uri, auto_create=True)
    try:
        run = store.create_run("iris", name="rf-1")
        for user in ("ada", "bob"):
            store.create_user(user, PASSWORD)
            store.grant_role("iris", user, Role.EDITOR)
    finally:
        store.close()
    with serving(data, root / "server.log", "--auth") as server:
        yield server.url, run.id


def _signed_in(browser: Browser, url: str, user: str, errors: list[str]) -> Page:
    page = browser.new_context().new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#signed-in-user")).to_have_text(user)
    return page


def test_comments_carry_their_author_and_only_authors_get_buttons(
    browser: Browser, secured_hub: tuple[str, str]
) -> None:
    url, run_id = secured_hub
    errors: list[str] = []
    ada = _signed_in(browser, url, "ada", errors)
    ada.goto(f"{url}/runs/{run_id}#comments")
    ada.locator("#comment-input").fill("ada's *view*")
    ada.locator("#comment-submit").click()  # a write with the session cookie and CSRF token
    expect(ada.locator(".comment .comment-author")).to_have_text("ada")
    expect(ada.get_by_role("button", name="Edit this comment")).to_have_count(1)

    bob = _signed_in(browser, url, "bob", errors)
    bob.goto(f"{url}/runs/{run_id}#comments")
    expect(bob.locator(".comment")).to_have_count(1)
    expect(bob.get_by_role("button", name="Delete this comment")).to_have_count(0)
    bob.locator("#comment-input").fill("bob agrees")
    bob.locator("#comment-submit").click()
    expect(bob.locator(".comment .comment-author")).to_have_text(["ada", "bob"])
    expect(bob.get_by_role("button", name="Delete this comment")).to_have_count(1)
    bob.get_by_role("button", name="Delete this comment").click()
    expect(bob.locator(".comment")).to_have_count(1)
    for page in (ada, bob):
        page.context.close()
    assert errors == []
