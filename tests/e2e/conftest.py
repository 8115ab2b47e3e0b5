"""Browser tests: Debian's headless Chromium, driven by Playwright, against the live server.

Everything under tests/e2e is marked ``browser``. Screenshots go to test-artifacts/
(gitignored): the ones a test asks for, and one of every open page when a test fails.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

from tests.conftest import require_or_skip

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page
    from pytest_django.live_server_helper import LiveServer

# Playwright's sync API runs an asyncio loop in this thread; the ORM calls in tests
# (fixtures, checks) are still plain synchronous code, so let Django allow them.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Reports Content-Security-Policy violations to the console, where BrowserLog hears them.
# Added through the DevTools protocol, so the page's own CSP does not block it.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""
CSP_MESSAGE = re.compile(r"Content Security Policy|CSP violation", re.IGNORECASE)

HERE = Path(__file__).resolve().parent


class OneRequestAtATimeOnSharedDatabase(ThreadedWSGIServer):
    """The live server, answering one request at a time when its threads share a connection.

    On SQLite the test database lives in memory, so every server thread borrows the
    test's own connection. The browser fetches a page, its htmx panels and its
    suggestions in parallel, and two threads stepping one sqlite3 connection at once
    fail with "bad parameter or other API misuse" (seen in CI). Requests still get
    their own threads, so a kept-alive browser connection cannot hold the others up;
    only the application call and its response body are serialised. On PostgreSQL
    each thread has its own connection and nothing is serialised.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared_connection_lock = threading.Lock()

    def set_app(self, application: Any) -> None:
        if not self.connections_override:
            super().set_app(application)
            return
        lock = self.shared_connection_lock

        def one_at_a_time(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            with lock:
                body = application(environ, start_response)
                try:
                    yield from body
                finally:
                    close = getattr(body, "close", None)
                    if close is not None:
                        close()

        super().set_app(one_at_a_time)


LiveServerThread.server_class = OneRequestAtATimeOnSharedDatabase


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@dataclass
class BrowserLog:
    """What the browser complained about while a test ran."""

    console_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        text = f"{message.text} ({message.location.get('url', '')})"
        if CSP_MESSAGE.search(message.text):
            self.csp_violations.append(text)
        elif message.type == "error":
            self.console_errors.append(text)

    def on_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))

    def problems(self) -> list[str]:
        return [*self.console_errors, *self.csp_violations, *self.page_errors]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    require_or_skip(CHROMIUM.exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def new_page(
    browser: Browser,
    live_server: LiveServer,
    transactional_db: None,
    browser_log: BrowserLog,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Page]]:
    """``new_page(viewport=PHONE)``: a page in a fresh browser (own cookies) on the live server."""
    pages: list[Page] = []

    def make(viewport: dict[str, int] = DESKTOP) -> Page:
        context = browser.new_context(base_url=live_server.url, viewport=viewport)  # type: ignore[arg-type]
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.on("console", browser_log.on_console)
        page.on("pageerror", browser_log.on_page_error)
        pages.append(page)
        return page

    yield make

    reports = request.node.stash.get(_reports, {})
    failed = any(report.failed for report in reports.values())
    for number, page in enumerate(pages, start=1):
        if failed and not page.is_closed():
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"{request.node.name}-failure-{number}.png")
        page.context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A desktop-sized (1280x800) page on the live server."""
    return new_page(DESKTOP)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``screenshot(page, "desktop")`` → test-artifacts/<test>-desktop.png."""

    def take(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=path, full_page=False)
        return path

    return take
