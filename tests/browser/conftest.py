"""Browser fixtures: one Debian Chromium profile for the run, reset for each test, a new page
per test, and helpers to sign in, drive the API beside the page, and read what the charts hold."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright._impl._api_structures import SetCookieParam
from playwright.sync_api import (
    Browser,
    BrowserContext,
    CDPSession,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    WebSocketRoute,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from backend.core.roles import Role
from tests.conftest import PASSWORD, ROLE_USERS, LiveServer, server_fixtures

# How long a page action or an expectation waits before it fails. `make test` runs the SQLite and
# PostgreSQL suites side by side on two cores, where a page that takes 1 s alone can take 6; a
# passing test never waits this long, and tests about how fast something shows set their own limit.
BROWSER_WAIT_MS = 15_000
expect.set_options(timeout=BROWSER_WAIT_MS)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A zone far from UTC (and without daylight saving) so "shown in local time" is a real check.
TIMEZONE = "Asia/Kolkata"
DESKTOP: ViewportSize = {"width": 1366, "height": 768}


# The browser tests' own database and server. On the API tests' database they met hundreds of
# sites, chairs, patients and open sessions those left behind: the sites page alone took a
# minute to set up a site, and emptying the ward before the first page most of another.
database_url, settings, database, live_server = server_fixtures("browser-db")


# Package scope, not session: sync Playwright keeps an asyncio loop marked as running in this
# thread, which would break every later test that runs an event loop of its own.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


def chromium() -> str:
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Debian's Chromium at {CHROMIUM}")
    return str(CHROMIUM)


# How long one ask to close a page may go unanswered before it is asked again, and how often.
CLOSE_WAIT_MS = 1000
CLOSE_ASKS = 5


@dataclass(frozen=True)
class Profile:
    """One Chromium profile on disk for the whole run. Playwright's fresh contexts are incognito,
    which has no code cache: every session page compiled plotly.js's 4.8 MB again (about 0.9 s
    of CPU). A profile keeps it compiled from the third load on; `reset` clears what each test
    leaves behind."""

    context: BrowserContext
    keeper: Page  # a blank page kept open for the run: the profile closes with its last page
    devtools: CDPSession  # on the keeper

    def reset(self, origin: str) -> None:
        """Leave nothing of a test behind: pages, cookies, routes, offline state, stored data.
        The HTTP cache stays; every app file is revalidated on each load (core/headers.py).
        What a test sets for the whole context and Playwright cannot take back (its fake
        clock, init scripts) needs `isolated_nurse_page` instead."""
        self.close_pages()
        self.context.clear_cookies()
        self.context.unroute_all(behavior="ignoreErrors")
        self.context.set_offline(False)
        self.devtools.send(
            "Storage.clearDataForOrigin",
            {"origin": origin, "storageTypes": "local_storage,indexeddb,cache_storage"},
        )

    def close_pages(self) -> None:
        """Close every page but the keeper, asking again until each is gone. Not `page.close()`:
        Chromium can acknowledge closing a page whose navigation is committing and then keep it
        (playwright#42068, chromium 536385539), and `page.close()` waits for it for ever. On CI
        that cost a run fourteen two-minute timeouts; a page reloaded and closed at once hangs
        it on the second try (tests/browser/test_browser_fixtures.py)."""
        keeper_id = self.devtools.send("Target.getTargetInfo")["targetInfo"]["targetId"]
        for _ in range(CLOSE_ASKS):
            open_pages = [page for page in self.context.pages if page != self.keeper]
            if not open_pages:
                return
            for target in self.devtools.send("Target.getTargets")["targetInfos"]:
                if target["type"] == "page" and target["targetId"] != keeper_id:
                    with suppress(PlaywrightError):  # it went while we asked
                        self.devtools.send("Target.closeTarget", {"targetId": target["targetId"]})
            for page in open_pages:
                if not page.is_closed():
                    with suppress(PlaywrightError):  # not yet: ask again
                        page.wait_for_event("close", timeout=CLOSE_WAIT_MS)
        left = [page.url for page in self.context.pages if page != self.keeper]
        pytest.fail(f"Chromium would not close {left} after {CLOSE_ASKS} asks")


@pytest.fixture(scope="package")
def chromium_profile(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Profile]:
    context = playwright.chromium.launch_persistent_context(
        tmp_path_factory.mktemp("chromium-profile"),
        executable_path=chromium(),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=DESKTOP,
        timezone_id=TIMEZONE,
        locale="en-GB",
        # The app's service worker (frontend/sw.js) would outlive each test in this shared
        # profile and answer later tests' page loads; the offline tests run it in a context
        # of their own (tests/browser/test_offline_shell.py).
        service_workers="block",
    )
    keeper = context.pages[0] if context.pages else context.new_page()
    yield Profile(context, keeper, context.new_cdp_session(keeper))
    context.close()


@pytest.fixture
def context(chromium_profile: Profile, live_server: LiveServer) -> Iterator[BrowserContext]:
    chromium_profile.context.set_default_timeout(BROWSER_WAIT_MS)
    yield chromium_profile.context
    chromium_profile.reset(live_server.url)


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """A second Chromium, for the few tests that need a context of their own (another tablet,
    signed in as someone else)."""
    browser = playwright.chromium.launch(
        executable_path=chromium(), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


# Console errors a test provokes on purpose (a request it cut, a stream it broke) rather than
# a fault of the page's.
EXPECTED_CONSOLE_ERRORS = ("Failed to load resource", "WebSocket connection to")


def watch_for_errors(page: Page) -> list[str]:
    """Collect what the page throws and the errors it logs (Chromium logs an SVG attribute
    Plotly wrote as NaN, for one), so a test can fail on them."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(EXPECTED_CONSOLE_ERRORS):
            errors.append(message.text)

    page.on("console", console)
    return errors


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test if any script on it throws or logs an error."""
    page = context.new_page()
    errors = watch_for_errors(page)
    yield page
    assert not errors, f"errors in the page: {errors}"


def stop_every_active_session(client: httpx.Client) -> None:
    """An empty ward: no session left open by an earlier test."""
    response = client.get("/api/sessions", params={"status": "active", "limit": 500})
    assert response.status_code == 200, response.text
    for session in response.json():
        stopped = client.post(
            f"/api/sessions/{session['id']}/phase",
            json={"phase": "stopped", "note": "test tidy-up"},
        )
        assert stopped.is_success, stopped.text


@pytest.fixture(scope="module", autouse=True)
def quiet_ward(live_server: LiveServer) -> None:
    """Each browser test file starts with an empty ward. Without this, every session earlier
    tests left open (hundreds by the end of a run) is a tile with a live trend on every ward
    page, which costs the whole suite minutes and tests nothing."""
    with api_client(live_server.url, Role.ADMIN) as admin:
        stop_every_active_session(admin)


def sign_in(page: Page, base_url: str, role: Role = Role.NURSE) -> None:
    """Sign the page's browser context in through the API (the sign-in form has its own test)."""
    response = page.context.request.post(
        f"{base_url}/api/auth/login", data={"username": ROLE_USERS[role], "password": PASSWORD}
    )
    assert response.ok, response.text()


@contextmanager
def api_client(base_url: str, role: Role = Role.NURSE) -> Iterator[httpx.Client]:
    """An HTTP client signed in as `role`, for arranging data and checking what was stored."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        response = client.post(
            "/api/auth/login", json={"username": ROLE_USERS[role], "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        yield client


@pytest.fixture(scope="package")
def nurse_api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A nurse's API client for the browser tests (signing in costs a password hash each time)."""
    with api_client(live_server.url, Role.NURSE) as client:
        yield client


@pytest.fixture
def admin_api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An admin's client (starts simulated sessions); the ward is emptied before and after."""
    with api_client(live_server.url, Role.ADMIN) as client:
        stop_every_active_session(client)
        yield client
        stop_every_active_session(client)


@pytest.fixture
def nurse_page(page: Page, live_server: LiveServer, nurse_api: httpx.Client) -> Page:
    """A page signed in as the nurse, sharing the API client's sign-in."""
    page.context.add_cookies(nurse_cookies(nurse_api, live_server))
    return page


def nurse_cookies(nurse_api: httpx.Client, live_server: LiveServer) -> list[SetCookieParam]:
    return [
        {"name": cookie.name, "value": cookie.value or "", "url": live_server.url}
        for cookie in nurse_api.cookies.jar
    ]


OpenSession = Callable[[int], Page]


@pytest.fixture
def open_session(nurse_page: Page, live_server: LiveServer) -> OpenSession:
    """Open a session page and wait until its history is drawn and its stream is live."""

    def open_(session_id: int) -> Page:
        nurse_page.goto(f"{live_server.url}/sessions/{session_id}")
        wait_until_live(nurse_page)
        return nurse_page

    return open_


def wait_until_live(page: Page) -> None:
    page.wait_for_function("() => window.Plotly && document.getElementById('vitals-chart').data")
    page.wait_for_selector("#live-status[data-state='live']")


def trace(page: Page, vital: str) -> dict[str, list[Any]]:
    """The x and y values the chart holds for `vital`, without the gap markers (null y)."""
    result: dict[str, list[Any]] = page.evaluate(
        """(vital) => {
            const gd = document.getElementById('vitals-chart');
            const t = gd.data.find((t) => t.uid === vital);
            const keep = t.y.map((y) => y !== null);
            return { x: t.x.filter((_, i) => keep[i]), y: t.y.filter((_, i) => keep[i]) };
        }""",
        vital,
    )
    return result


def wait_for_points(
    page: Page, vital: str, count: int, timeout_ms: int = 5000, *, exactly: bool = False
) -> None:
    """Wait until the chart holds `count` points for `vital`, or with `exactly` no more either
    (a point taken away); fails on timeout."""
    page.wait_for_function(
        """([vital, count, exactly]) => {
            const gd = document.getElementById('vitals-chart');
            const t = gd && gd.data && gd.data.find((t) => t.uid === vital);
            const held = t ? t.y.filter((y) => y !== null).length : -1;
            return exactly ? held === count : held >= count;
        }""",
        arg=[vital, count, exactly],
        timeout=timeout_ms,
    )


class Link:
    """The page's stream sockets, routed through the test so it can silence or cut them."""

    def __init__(self) -> None:
        self.routes: list[WebSocketRoute] = []
        self.heartbeats = 0
        self.silent = False
        self.swallow_events = False

    def handle(self, route: WebSocketRoute) -> None:
        self.routes.append(route)
        first = len(self.routes) == 1
        server = route.connect_to_server()

        def from_server(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode()
            if first and self.silent:
                return  # a link that died without closing: nothing arrives, no close either
            if self.swallow_events and '"type": "event"' in text:
                return
            if '"type": "heartbeat"' in text:
                self.heartbeats += 1
            route.send(message)

        server.on_message(from_server)


def open_routed(page: Page, server: LiveServer, session_id: int) -> Link:
    link = Link()
    page.route_web_socket("**/api/stream*", link.handle)
    sign_in(page, server.url)
    page.goto(f"{server.url}/sessions/{session_id}")
    wait_until_live(page)
    return link


@pytest.fixture
def second_page(browser: Browser) -> Iterator[Page]:
    """A page in a browser context of its own (another tablet), failing on uncaught errors."""
    with own_context_page(browser) as page:
        yield page


@pytest.fixture
def isolated_nurse_page(
    browser: Browser, live_server: LiveServer, nurse_api: httpx.Client
) -> Iterator[Page]:
    """The nurse's page in a context of its own, for a test that changes what `Profile.reset`
    cannot undo: Playwright's fake clock, for one, is installed in the whole context."""
    with own_context_page(browser) as page:
        page.context.add_cookies(nurse_cookies(nurse_api, live_server))
        yield page


@contextmanager
def own_context_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, timezone_id=TIMEZONE, locale="en-GB")
    context.set_default_timeout(BROWSER_WAIT_MS)
    page = context.new_page()
    errors = watch_for_errors(page)
    yield page
    context.close()
    assert not errors, f"errors in the page: {errors}"
