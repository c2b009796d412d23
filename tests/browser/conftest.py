"""Real-browser tests: Debian's Chromium (``/usr/bin/chromium``) driven by Playwright against a real server.

Never ``playwright install``: the browser is the system's, installed by ``make browser`` (a prerequisite of
``make test``) with apt-get. Without it these tests skip, unless ``QAQPA_REQUIRE_BROWSER=1`` (CI), where
they fail.

Fixtures (``live_server``, ``playwright`` and ``browser`` live as long as this package's tests, so the rest
of the suite never runs beside Playwright's event loop; the others are per test):

* ``live_server`` → ``LiveServer``: the real app (``create_app``) served by uvicorn on a free port in a
  background thread, on a SQLite file in a temporary data directory, with an admin user. Its ``api`` is an
  ``httpx.Client`` logged in as that admin (base URL set, so ``api.post("/api/v1/parks", json=...)``);
  ``create_park(slug, name, ...)`` makes a park through the API; ``add_user(name, role, park)`` adds a
  manager or ranger and returns the password; ``app`` is the FastAPI app (``app.state.engine`` for set-up
  the API has no route for). The server is shared by every test of the package: give your parks slugs of
  your own.
* ``browser`` → a Playwright ``Browser`` (headless Chromium, fresh profile in a temporary directory).
* ``open_page(locale="en-US", phone=True)`` → a new ``Page`` in a new context (own cookies) whose base URL
  is the server's, so ``page.goto("/dashboard")`` works; ``phone=True`` is a Pixel 7 (412 × 839 CSS px,
  touch, mobile user agent), ``phone=False`` a 1280 × 800 desktop. ``locale`` sets ``Accept-Language``.
* ``shot(page, name)`` → saves a full-page screenshot into the screenshot directory and returns its path:
  ``$QAQPA_SCREENSHOT_DIR`` when set, else pytest's temporary directory (never inside the repository).
* ``assert_fits(page)`` (a function: ``from tests.browser.conftest import assert_fits``) → fails when the
  page is wider than its viewport (a phone would scroll sideways).
* ``csp_violations(context)`` → a list that fills with what the browser refused under the pages'
  Content-Security-Policy; ``open_page`` (and the ranger page's ``open_lane_page``) fail the test at
  teardown when any page reported one, so inline script or style cannot come back unnoticed.

The dashboard tests (``tests/browser/test_dashboard*.py``) use the same fixtures: ``live_server.add_user``
for a manager, then log in through the page with ``open_page(phone=False)``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from server import Settings, create_app
from server.accounts import Role, add_user
from server.ratelimit import RateLimit
from sim.server_proc import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = "Pixel 7"
DESKTOP_VIEWPORT = {"width": 1280, "height": 800}
ADMIN = "admin"
TIMEZONE = "Asia/Almaty"  # the parks' zone: the browser's clock reads like a visitor's there


@dataclass
class LiveServer:
    """A running server: its URL, the app behind it, and an admin's API client."""

    url: str
    app: FastAPI
    api: httpx.Client
    passwords: dict[str, str] = field(default_factory=dict)

    def create_park(self, slug: str, name: str, capacity: int = 0, daily_quota: int = 0) -> dict[str, Any]:
        """A new park, made through the API as the admin."""
        body = {"slug": slug, "name": name, "capacity": capacity, "daily_quota": daily_quota}
        response = self.api.post("/api/v1/parks", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def add_user(self, name: str, role: Role, park: str | None = None) -> str:
        """A new user (a manager or ranger belongs to ``park``); returns the password."""
        password = secrets.token_urlsafe(12)
        with self.app.state.engine.begin() as conn:
            add_user(conn, name, role, password, park)
        self.passwords[name] = password
        return password


def _chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium chromium-driver)"
    if os.environ.get("QAQPA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser tests must run here (QAQPA_REQUIRE_BROWSER=1): {message}")
    pytest.skip(message)


@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("browser-server")
    settings = Settings.for_data_dir(data_dir)
    # every page, price update, QR and download comes from 127.0.0.1: the visitors' per-address limit
    # (30 at once, 60 a minute) is for strangers, not for a test run that is all one address
    settings = Settings(**{**vars(settings), "public_rate": RateLimit(per_minute=6000, burst=1000)})
    app = create_app(settings)
    admin_password = secrets.token_urlsafe(12)
    with app.state.engine.begin() as conn:
        add_user(conn, ADMIN, Role.ADMIN, admin_password)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail("the server did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=30) as api:
        token = api.post("/api/v1/auth/token", data={"username": ADMIN, "password": admin_password})
        assert token.status_code == 200, token.text
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        try:
            yield LiveServer(url, app, api, {ADMIN: admin_password})
        finally:
            server.should_exit = True
            thread.join(30)
            app.state.engine.dispose()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    _chromium()  # skip (or fail in CI) before starting Playwright's driver at all
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    downloads = Path(tempfile.mkdtemp(prefix="qaqpa-downloads-"))
    # launch() gives the browser a fresh profile (--user-data-dir) in a temporary directory of its own
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, downloads_path=downloads)
    try:
        yield launched
    finally:
        launched.close()
        shutil.rmtree(downloads, ignore_errors=True)


@pytest.fixture
def open_page(playwright: Playwright, browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []

    def make(locale: str = "en-US", phone: bool = True) -> Page:
        if phone:
            # Playwright's device descriptors come with the package; nothing is downloaded
            options = {k: v for k, v in playwright.devices[PHONE].items() if k != "default_browser_type"}
        else:
            options = {"viewport": DESKTOP_VIEWPORT}
        context = browser.new_context(
            **options, locale=locale, base_url=live_server.url, accept_downloads=True, timezone_id=TIMEZONE
        )
        context.set_default_timeout(15_000)
        violations.append(csp_violations(context))
        contexts.append(context)
        return context.new_page()

    violations: list[list[str]] = []
    yield make
    for context in contexts:
        context.close()
    assert [seen for found in violations for seen in found] == [], "the Content-Security-Policy blocked a page's part"


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("QAQPA_SCREENSHOT_DIR")
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def shot(screenshot_dir: Path, request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    prefix = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")

    def take(page: Page, name: str) -> Path:
        path = screenshot_dir / f"{prefix}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def csp_violations(context: BrowserContext) -> list[str]:
    """A list that fills with every Content-Security-Policy violation the context's pages report.

    Chromium reports each blocked script, style or load on the console ("Refused to execute inline script
    because it violates the following Content Security Policy directive ..."); the page fixtures assert
    there was none, so a template that brings inline script or style back fails its browser test.
    """
    found: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(f"{message.location.get('url', '')}: {message.text}")

    context.on("console", heard)
    return found


def assert_fits(page: Page) -> None:
    """The page is no wider than its viewport: nothing makes a phone scroll sideways."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} is {widths[0]} px wide on a {widths[1]} px viewport"
