"""Browser fixtures for the hub's UI tests, as a pytest plugin.

A test module opts in with ``pytest_plugins = ["ui_fixtures"]`` and supplies a ``hub`` fixture
whose ``url`` is the server under test: ``browser`` is Debian's headless Chromium (never a
downloaded one), ``watched`` a page in a fresh context that fails the test if it sends a request
off the server's origin, throws, or opens a dialog (an injected script running).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Route, ViewportSize, sync_playwright
from ui_seed import CHROMIUM, CHROMIUM_ARGS, Watched


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium (Debian's, never a downloaded one)."""
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def watched(browser: Browser, hub: Any) -> Iterator[Watched]:
    """A page in a fresh context; fails the test on an external request or a script error."""
    viewport: ViewportSize = {"width": 1400, "height": 900}
    context = browser.new_context(viewport=viewport, color_scheme="light")
    page = context.new_page()
    page.set_default_timeout(20_000)
    seen = Watched(page)
    origin = f"{hub.url}/"

    def gate(route: Route) -> None:
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            seen.external.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.on("dialog", lambda dialog: _refuse(dialog, seen))
    try:
        yield seen
    finally:
        context.close()
    assert seen.external == [], "requests left the server's origin"
    assert seen.errors == [], "the page threw"
    assert seen.dialogs == [], "a dialog opened (injected script?)"


def _refuse(dialog: Dialog, seen: Watched) -> None:
    seen.dialogs.append(dialog.message)
    dialog.dismiss()
