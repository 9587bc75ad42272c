"""Browser fixtures: the system Chromium driven by Playwright against a real ``kalkan serve``.

Chromium comes from Debian's package (``apt-get install chromium``); Playwright never downloads a
browser. The tests skip when Chromium is absent and ``CI`` is unset; in CI they must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from _pages_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    chromium_available,
    running_server,
)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless system Chromium for the session (skips without it, unless ``CI`` is set)."""
    from playwright.sync_api import sync_playwright

    if not chromium_available():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but Chromium is not at {CHROMIUM}: apt-get install chromium")
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def server(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A register server with one user per role, shared by the tests of a worker (each test files
    its own reports with a unique marker, so they do not depend on each other)."""
    with running_server(tmp_path_factory.mktemp("register")) as running:
        yield running


@pytest.fixture
def context(browser: object, server: Server) -> Iterator[object]:
    """A fresh browser profile (cookies, IndexedDB) on the server, in British English."""
    ctx = browser.new_context(
        base_url=server.url,
        locale="en-GB",  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    ctx.set_default_timeout(15_000)
    blocked: list[str] = []
    ctx.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield ctx
    ctx.close()
    assert blocked == [], f"the page broke its own Content-Security-Policy: {blocked}"
