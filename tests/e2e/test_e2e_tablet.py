"""The tablet, driven in Debian's Chromium: first start, login, live overview, press detail, alarms, language.

A simulated plant runs at ×10 in the same process and feeds the real ingest pipeline, so the pages show
data arriving as it would on the shop floor. Screenshots of every page at both tablet sizes are kept in
test-artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect

from cadence.clock import WallClock
from cadence.config import load_settings
from cadence.domain import Alarm, Severity
from cadence.ingest.local import LocalPublisher
from cadence.runtime import Runtime, open_runtime
from cadence.simulator import PlantSimulator
from cadence.web.app import create_app
from support.auth import FAST_AUTH

SIZES = ((1280, 800), (1024, 768))
ADMIN, PASSWORD = "chef.atelier", "presse-hydraulique-2026"
SPEED = 10.0  # simulated seconds per second: a stroke every second or so on every press


@dataclass
class Plant:
    url: str
    runtime: Runtime
    setup_token: str


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[Plant]:
    plant_clock = WallClock(speed=SPEED)
    runtime = open_runtime(load_settings(data_dir=tmp_path, **FAST_AUTH), clock=plant_clock)
    token = runtime.auth.first_start_setup_token()
    assert token is not None
    publisher = LocalPublisher(runtime.pipeline)
    stop = threading.Event()
    sim = PlantSimulator(runtime.plant, publisher, plant_clock, seed=4)
    feeding = threading.Thread(target=sim.run, kwargs={"stop": stop}, daemon=True)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime.settings, runtime), log_level="warning", timeout_graceful_shutdown=1
        )
    )
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    feeding.start()
    serving.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(3)  # let every press make a stroke or two
        yield Plant(f"http://127.0.0.1:{sock.getsockname()[1]}", runtime, token)
    finally:
        stop.set()
        feeding.join(10)
        publisher.close()
        server.should_exit = True
        serving.join(10)
        sock.close()
        runtime.close()


def _fits(page: Page) -> None:
    """No horizontal scrolling, and every control a gloved finger can hit (≥ 48 px)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
    small = page.evaluate(
        """() => Array.from(document.querySelectorAll('button, input, nav a'))
              .filter(e => e.offsetParent !== null)
              .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
              .filter(([_, h]) => h < 48)"""
    )
    assert not small, f"touch targets under 48 px: {small}"


def _canvas_drawn(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            """(sel) => { const c = document.querySelector(sel + ' canvas'); if (!c) return false;
                 const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                 for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true; return false; }""",
            selector,
        )
    )


def test_a_supervisor_day_on_the_tablet(plant: Plant, page_at: object, screenshot: object) -> None:
    page: Page = page_at(*SIZES[0])  # type: ignore[operator]
    shot = screenshot  # type: ignore[assignment]
    problems: list[str] = []  # script errors and Content-Security-Policy refusals, on every page
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

    # First start: no administrator, so the app asks for the setup token the server printed.
    page.goto(plant.url + "/")
    expect(page).to_have_url(plant.url + "/setup")
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"setup-{width}x{height}")  # type: ignore[operator]
        _fits(page)
    page.fill("#token", "not-the-token")
    page.fill("#name", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("form[action='/setup'] button[type=submit]")
    expect(page.locator(".error")).to_be_visible()
    page.fill("#token", plant.setup_token)
    page.fill("#password", PASSWORD)
    page.click("form[action='/setup'] button[type=submit]")

    # The overview, in French by default, updating without a reload.
    expect(page).to_have_url(plant.url + "/")
    expect(page.locator(".tile")).to_have_count(6)
    expect(page.locator(".tile").first).to_contain_text("Bonnes pièces")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    counters = page.locator('[data-field="good"]')
    before = counters.all_inner_texts()
    page.wait_for_function(
        "(before) => JSON.stringify(Array.from(document.querySelectorAll('[data-field=\"good\"]'))"
        ".map(e => e.textContent)) !== JSON.stringify(before)",
        arg=before,
        timeout=20_000,
    )
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"overview-{width}x{height}")  # type: ignore[operator]
        _fits(page)

    # A press: trends, the last stroke over the normal envelope, cycle-time histogram, states.
    page.click('.tile[data-machine="P02"]')
    expect(page).to_have_url(plant.url + "/presses/P02")
    for selector in ("#trend-oil_temp", "#stroke-curve", "#cycle-histogram"):
        page.wait_for_function("(s) => document.querySelector(s + ' canvas') !== null", arg=selector)
        assert _canvas_drawn(page, selector), f"{selector} is empty"
    expect(page.locator("table.strokes tbody tr").first).to_be_visible()
    page.click('.ranges button[data-range="1h"]')
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        shot(page, f"press-{width}x{height}")  # type: ignore[operator]
        _fits(page)

    # An alarm, acknowledged by the signed-in user.
    plant.runtime.store.record_alarm(
        Alarm(
            "machine.oil_hot",
            Severity.WARNING,
            "Huile chaude sur P04",
            plant.runtime.clock.now_us(),
            "test",
            "P04",
        )
    )
    page.goto(plant.url + "/alarms")
    expect(page.locator(".alarm")).to_have_count(1)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"alarms-{width}x{height}")  # type: ignore[operator]
        _fits(page)
    page.click("button.ack")
    expect(page.locator(".alarm-ack")).to_contain_text(ADMIN)
    shot(page, "alarms-acknowledged")  # type: ignore[operator]

    # The language switch, remembered for the next pages.
    page.click(".lang button")
    expect(page.locator(".topbar nav")).to_contain_text("Plant")
    page.goto(plant.url + "/")
    expect(page.locator(".tile").first).to_contain_text("Good parts")
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"overview-en-{width}x{height}")  # type: ignore[operator]

    # Log out, log in again.
    page.click("form[action='/logout'] button")
    expect(page).to_have_url(plant.url + "/login")
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"login-{width}x{height}")  # type: ignore[operator]
        _fits(page)
    page.fill("#name", ADMIN)
    page.fill("#password", "wrong password here")
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator(".error")).to_be_visible()
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page).to_have_url(plant.url + "/")
    # Errors from the pages themselves; the 401/403 answers of the wrong token and password are expected.
    assert [p for p in problems if "status of 40" not in p] == []
