"""Browser-test harness: Debian's Chromium driven by Playwright against the real app on a free port.

Fixtures:

* ``browser`` (session): Chromium from ``/usr/bin/chromium``; Playwright's own browser downloads are never
  used (build and CI machines have no internet; ``playwright install`` is not part of setup).
* ``live_app``: ``create_app`` over a runtime on ``tmp_path``, served by uvicorn in a thread; its base URL.
* ``page_at``: ``page_at(width, height)`` opens a page in a fresh context of that viewport (the tablet
  sizes are ``TABLET_SIZES``); every context is closed after the test.
* ``screenshot``: ``screenshot(page, name)`` saves ``test-artifacts/screenshots/<name>.png``.

Without Chromium or the playwright package the tests skip with the reason, and fail under CI=true.
"""

from __future__ import annotations

import importlib.util
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn

from cadence.auth import Role
from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.runtime import Runtime, open_runtime
from cadence.web.app import create_app
from conftest import ARTIFACTS, require
from support.auth import FAST_AUTH, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ARTIFACTS / "screenshots"
# The two tablets the shop-floor UI targets (issue 3), as (width, height) in CSS pixels.
TABLET_SIZES: tuple[tuple[int, int], ...] = ((1280, 800), (1024, 768))
# Flags for a sandbox-less container with no GPU, and no traffic of the browser's own: updates, sync,
# QUIC probes and first-run pages would reach out to the internet or add noise to timings.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Seconds to wait for uvicorn to accept connections: well under a second normally, far more on a loaded
# 2-core CI machine.
SERVER_START_TIMEOUT_S = 20.0
# Playwright's per-action timeout, in ms: generous for the same loaded machine, still failing loudly.
ACTION_TIMEOUT_MS = 15_000

PageAt = Callable[[int, int], "Page"]
Screenshot = Callable[["Page", str], Path]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module; each test gets fresh contexts from ``page_at``.

    Not per session: Playwright's sync API keeps an asyncio loop marked as running in the main thread
    while it is open, and later tests calling ``asyncio.run`` would then fail.
    """
    require(CHROMIUM.is_file(), f"Chromium is not installed ({CHROMIUM}); apt-get install chromium")
    require(
        importlib.util.find_spec("playwright") is not None,
        "playwright is not installed; pip install -e '.[test-e2e]'",
    )
    from playwright.sync_api import sync_playwright

    # launch() gives every browser a fresh temporary profile directory, removed when it closes.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_at(browser: Browser) -> Iterator[PageAt]:
    """Factory of pages at a given viewport, each in its own context (no cookies or cache shared)."""
    contexts: list[BrowserContext] = []

    def open_page(width: int, height: int) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Screenshot:
    """``screenshot(page, name)``: a full-page PNG in test-artifacts/screenshots/, for people to look at."""

    def save(page: Page, name: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"screenshot name {name!r}: letters, digits, '_', '.', '-' only")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def assert_fits(page: Page, targets: str, *, scroll_width: bool = False) -> None:
    """Nothing cut off at the right edge (``scroll_width``: nor any sideways scrolling), and every visible
    element matching the CSS selector ``targets`` at least 48 px high and wide: a gloved finger's size."""
    # Not only the scroll width: a page hiding horizontal overflow would hide a cut-off bar too.
    beyond = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *'))
            .filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > innerWidth + 1)
            .map(e => e.outerHTML.slice(0, 70))"""
    )
    assert not beyond, f"cut off at the right edge: {beyond}"
    if scroll_width:
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    small = page.evaluate(
        """(targets) => Array.from(document.querySelectorAll(targets))
            .filter(e => e.offsetParent !== null && e.type !== 'hidden')
            .map(e => [e.outerHTML.slice(0, 70), e.getBoundingClientRect()])
            .filter(([_, r]) => r.height < 48 || r.width < 48)
            .map(([html, r]) => [html, Math.round(r.width), Math.round(r.height)])""",
        targets,
    )
    assert not small, f"touch targets under 48 px: {small}"


@contextmanager
def serving(runtime: Runtime) -> Iterator[str]:
    """``create_app`` over ``runtime`` served by uvicorn on a free port in a thread; yields its base URL.

    The runtime stays the caller's: tests fill its store and clock before and while the app serves it.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Bound here and handed to uvicorn, so no other process can take the port in between.
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime.settings, runtime), log_level="warning", timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:
            pytest.fail(f"the app did not start within {SERVER_START_TIMEOUT_S} s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[str]:
    """The real app (create_app over a runtime on tmp_path) served by uvicorn on a free port; its URL."""
    runtime = open_runtime(load_settings(data_dir=tmp_path))
    try:
        with serving(runtime) as url:
            yield url
    finally:
        runtime.close()


def watch_problems(page: Page) -> list[str]:
    """What a page must never show, collected as it happens: script errors, console errors (the browser
    reports Content-Security-Policy refusals there) and answers of 400 or more."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


def sign_in(page: Page, url: str, name: str, next_path: str = "/") -> None:
    """Open the login form on its way to ``next_path`` and sign in as ``name`` (support.auth.PASSWORD)."""
    page.goto(f"{url}/login?next={next_path}")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")


@contextmanager
def serving_plant(
    data_dir: Path, now_us: int, fill: Callable[[Runtime], object], users: Mapping[str, Role]
) -> Iterator[str]:
    """The real app over the example plant at ``data_dir`` on a simulated clock at ``now_us``, filled by
    ``fill``, with an administrator and ``users`` (name → role, password support.auth.PASSWORD),
    served until the block ends."""
    runtime = open_runtime(load_settings(data_dir=data_dir, **FAST_AUTH), clock=SimClock(start_us=now_us))
    try:
        fill(runtime)
        runtime.auth.create_user("admin-0", Role.ADMIN, PASSWORD)
        for name, role in users.items():
            runtime.auth.create_user(name, role, PASSWORD)
        with serving(runtime) as url:
            yield url
    finally:
        runtime.close()
