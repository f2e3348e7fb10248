"""Pages driven in real headless Chromium through playwright.

One browser per test module, a fresh browser context (cookies, storage) per test, and the
app served over HTTP by pytest-django's `live_server`: a threaded WSGI server inside this
process, so the tests read and write the same test database the pages do (transactional,
since the server's threads must see committed rows). WhiteNoise and the live server's
static handler serve the page scripts straight from the apps' static folders.

When Chromium or the playwright package is missing, every browser test is skipped with a
reason that says what to install; with REQUIRE_BROWSER=1 (CI) it fails instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from shelfwatch.accounts.models import User

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Headless and quiet: no GPU, no sandbox (containers run us as root), and none of the
# background traffic (updates, sync, QUIC probes) that would reach out of the test machine.
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
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Playwright waits up to 30 s by default; a page that has not reacted in 5 s is broken,
# and failing sooner keeps a broken run short.
TIMEOUT_MS = 5_000


def browser_missing() -> str | None:
    """What must be installed before the browser tests can run, or None when nothing is."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if not missing:
        return None
    # Not `playwright install`: its browser downloads are unreachable from test machines.
    return "browser tests need " + " and ".join(missing) + ", not `playwright install`"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium for the whole test module; skipped (or failed under
    REQUIRE_BROWSER=1) when it cannot be started for lack of an install."""
    missing = browser_missing()
    if missing:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1: {missing}", pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    # Playwright's synchronous API runs an event loop underneath the test, so Django would
    # take every ORM call made while the browser is open for one made from async code.
    # The test is synchronous; let Django know, for this module only.
    allow_before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if allow_before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allow_before


@pytest.fixture
def open_page(browser, live_server, transactional_db, request) -> Iterator[Callable[..., Page]]:
    """`open_page(viewport=DESKTOP, init_script=None, base_url=None)`: a new page in a
    context of its own, pointed at the live server (so `page.goto("/login/")` works) or at
    `base_url` (a real `shelfwatch front`, see `front_server`).

    Any uncaught JavaScript error on such a page, or anything its Content-Security-Policy
    blocks, fails the test. With BROWSER_SCREENSHOTS
    set to a directory, every page is saved there as a PNG when the test ends.
    """
    contexts = []
    errors: list[str] = []

    def open_(
        viewport: dict[str, int] = DESKTOP,
        init_script: str | None = None,
        base_url: str | None = None,
    ) -> Page:
        context = browser.new_context(base_url=base_url or live_server.url, viewport=viewport)
        context.set_default_timeout(TIMEOUT_MS)
        if init_script:
            context.add_init_script(init_script)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        # A script or handler the Content-Security-Policy blocks only logs to the console.
        page.on(
            "console",
            lambda message: (
                errors.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield open_
    shots = os.environ.get("BROWSER_SCREENSHOTS")
    for number, context in enumerate(contexts):
        if shots:
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            for page in context.pages:
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{shots}/{name}-{number}.png", full_page=True)
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(open_page) -> Page:
    """A desktop-sized page on the live server (see `open_page`)."""
    return open_page()


@pytest.fixture
def sign_in_as(live_server) -> Callable[[Page, User], None]:
    """`sign_in_as(page, user)`: give the page's browser context `user`'s session cookie,
    as the login form would, without the form (and its deliberately slow password hash)."""
    from django.conf import settings
    from django.test import Client

    def sign_in_as_(page: Page, user: User) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
        )

    return sign_in_as_


def sign_in(page: Page, email: str, password: str = PASSWORD, *, then: str = "/") -> None:
    """Log in through the real login form and follow its redirect to `then` (which may
    redirect further); fails if the form refuses the login."""
    page.goto(f"/login/?next={then}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_response(
        lambda response: (
            response.request.method == "POST" and urlsplit(response.url).path == "/login/"
        )
    ) as posted:
        page.get_by_role("button", name="Log in").click()
    # A refused login answers 200 with the form again; a good one redirects.
    assert posted.value.status == 302, f"the login form refused {email}"
    page.wait_for_url(lambda url: urlsplit(url).path != "/login/")


@pytest.fixture
def front_server(transactional_db, subprocess_env, tmp_path) -> Iterator[str]:
    """A real `shelfwatch front` on this test's database: Django pages and the live event
    stream on one port, which pytest-django's live server (WSGI only) cannot stream."""
    from tests.conftest import free_port
    from tests.processes import running, wait_for_http

    port = free_port()
    env = {**subprocess_env, "EVENTS_TAIL_INTERVAL": "0.1", "LOG_LEVEL": "WARNING"}
    args = ["front", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "front.log"
    with running(args, env, log) as process:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(base + "/health", timeout=60, process=process)
        except Exception:
            print(log.read_text(errors="replace"))
            raise
        yield base
