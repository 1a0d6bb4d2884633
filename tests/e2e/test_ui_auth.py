"""The hub's sign-in and audit pages with auth on: a real ``--auth`` server, Chromium.

A browser that is not signed in is sent to the sign-in form and back to the page it asked for;
a wrong password shows an error; the pages' scripts send the session's CSRF token with their
writes; a server admin sees the audit log (and its chain verified), a plain user does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from ui_seed import CHROMIUM, CHROMIUM_ARGS

from conftest import free_port, wait_for_port
from shipyard.domain.auth import Role
from shipyard.store.sql.store import SqlRunStore

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
expect.set_options(timeout=20_000)
PASSWORD = "correct horse battery"


@dataclass
class Hub:
    url: str
    run_id: str


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("auth-hub")
    uri = f"sqlite:///{root}/hub.db"
    store = SqlRunStore.from_uri(uri, auto_create=True)
    try:
        store.create_user("root", PASSWORD, is_admin=True)
        store.create_user("ada", PASSWORD)
        run = store.create_run("iris", name="baseline-rf")
        store.grant_role("iris", "ada", Role.ADMIN)
        store.create_run("hidden", name="not-for-ada")
    finally:
        store.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    argv = [sys.executable, "-m", "shipyard.server", "--auth", "--store", uri, "--artifacts",
            str(root / "artifacts"), "--port", str(port), "--log-level", "warning"]  # fmt: skip
    with (root / "server.log").open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}"
        httpx.get(f"{url}/api/v1/health", timeout=10).raise_for_status()
        yield Hub(url, run.id)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert errors == []


def sign_in(page: Page, user: str, password: str) -> None:
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-submit")


def test_sign_in_returns_to_the_page_and_scripts_write_with_csrf(page: Page, hub: Hub) -> None:
    page.goto(f"{hub.url}/projects/iris")
    expect(page).to_have_url(f"{hub.url}/login?next=%2Fprojects%2Firis")
    sign_in(page, "ada", "not the password")
    expect(page.locator("#login-error")).to_contain_text("Wrong user name or password")
    sign_in(page, "ada", PASSWORD)
    expect(page).to_have_url(f"{hub.url}/projects/iris")
    expect(page.locator("#runs-table")).to_contain_text("baseline-rf")
    expect(page.locator("#signed-in-user")).to_have_text("ada")
    common = page.locator('link[rel="modulepreload"][href$="common.js"]').first
    module = common.get_attribute("href")
    found = page.evaluate(
        """async (url) => {
            const { api } = await import(url);
            const page = await api("/api/v1/runs/search", { method: "POST", body: {} });
            return page.runs.map((r) => r.name);
        }""",
        module,
    )
    assert found == ["baseline-rf"]
    page.goto(f"{hub.url}/")
    expect(page.locator("main")).to_contain_text("iris")
    expect(page.locator("main")).not_to_contain_text("hidden")
    page.goto(f"{hub.url}/audit")
    expect(page.locator("main")).to_contain_text("only a server admin")
    page.goto(f"{hub.url}/")
    page.click("#logout")
    expect(page).to_have_url(f"{hub.url}/login")
    page.goto(f"{hub.url}/runs/{hub.run_id}")
    expect(page).to_have_url(f"{hub.url}/login?next=%2Fruns%2F{hub.run_id}")


def test_a_server_admin_reads_the_verified_audit_log(page: Page, hub: Hub) -> None:
    page.goto(f"{hub.url}/login")
    sign_in(page, "root", PASSWORD)
    expect(page.locator("#nav-audit")).to_be_visible()
    page.click("#nav-audit")
    expect(page).to_have_url(f"{hub.url}/audit")
    expect(page.locator("#audit-ok")).to_contain_text("Chain verified")
    expect(page.locator("#audit-table")).to_contain_text("login")
    page.fill("#audit-user", "root")
    page.click("form.filter-form button")
    expect(page).to_have_url(f"{hub.url}/audit?user=root")
    for row in page.locator("#audit-table tbody tr").all():
        expect(row.locator("td").nth(2)).to_have_text("root")
