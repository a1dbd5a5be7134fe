"""The Reports page in Debian's Chromium at both tablet sizes: a report the scheduler made on its own at the
shift end, its PDF and CSV downloads, and "regenerate" for a past shift.

The plant runs on a simulated clock: the simulator fills the last half hour of Monday's morning shift,
then the test moves the clock past the shift end plus the grace period and wakes the runtime's report
scheduler (its check interval is an hour, so nothing but the simulated shift end makes the report).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from cadence.auth import Role
from cadence.clock import SimClock, from_datetime
from cadence.config import load_settings
from cadence.ingest.local import LocalPublisher
from cadence.runtime import Runtime, open_runtime
from cadence.simulator import PlantSimulator
from e2e.conftest import TABLET_SIZES, PageAt, Screenshot, serving
from support.auth import FAST_AUTH

PARIS = ZoneInfo("Europe/Paris")
SHIFT_END = datetime(2025, 12, 1, 13, 0, tzinfo=PARIS)  # Monday's morning shift (matin) ends
FEED_FROM = datetime(2025, 12, 1, 12, 30, tzinfo=PARIS)
SUPERVISOR, PASSWORD = "chef.equipe", "presse-hydraulique-2026"


@dataclass
class Served:
    url: str
    runtime: Runtime


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    clock = SimClock(from_datetime(FEED_FROM))
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("reports-e2e"), reports_check_interval_s=3600, **FAST_AUTH
    )
    runtime = open_runtime(settings, clock=clock)
    runtime.auth.create_user("admin-0", Role.ADMIN, PASSWORD)  # past the first start
    runtime.auth.create_user(SUPERVISOR, Role.SUPERVISOR, PASSWORD)
    scheduler = runtime.start_report_scheduler()
    assert scheduler is not None and scheduler.wait_idle(30)  # first pass at 12:30: nothing has ended
    publisher = LocalPublisher(runtime.pipeline)
    simulator = PlantSimulator(runtime.plant, publisher, clock, seed=7, start_us=clock.now_us())
    simulator.step_until(from_datetime(SHIFT_END))
    publisher.close()
    runtime.pipeline.wait_idle(30)
    simulator.close()
    # The shift has ended and the grace period (5 min) has passed: the scheduler makes the report.
    clock.advance_to(from_datetime(SHIFT_END) + int((settings.reports_grace_s + 60) * 1e6))
    scheduler.wake()
    assert scheduler.wait_idle(120)
    assert scheduler.stats.generated == 1, scheduler.stats

    try:
        with serving(runtime) as url:
            yield Served(url, runtime)
    finally:
        runtime.close()


def _fits(page: Page) -> None:
    """No sideways scrolling; every control a gloved finger can hit (≥ 48 px)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
    # The page hides horizontal overflow, so also look for anything drawn past the right edge (cut off).
    cut = page.evaluate(
        """() => Array.from(document.querySelectorAll('header *, main *'))
              .filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > innerWidth + 1)
              .map(e => e.outerHTML.slice(0, 60))"""
    )
    assert not cut, f"cut off at the right edge: {cut}"
    small = page.evaluate(
        """() => Array.from(document.querySelectorAll('button, input, select, a.button, nav a'))
              .filter(e => e.offsetParent !== null && e.type !== 'hidden')
              .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
              .filter(([_, h]) => h < 48)"""
    )
    assert not small, f"touch targets under 48 px: {small}"


def _download(page: Page, selector: str) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    path = info.value.path()
    assert path is not None
    return Path(path).read_bytes()


@pytest.mark.parametrize(("width", "height"), TABLET_SIZES)
def test_reports_page(
    served: Served, page_at: PageAt, screenshot: Screenshot, width: int, height: int
) -> None:
    page = page_at(width, height)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(served.url + "/reports")
    expect(page).to_have_url(served.url + "/login?next=/reports")
    page.fill("#name", SUPERVISOR)
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    expect(page).to_have_url(served.url + "/reports")

    # The report the scheduler made at the shift end, with no click.
    row = page.locator("tr[data-report]", has_text="matin").first
    expect(row).to_contain_text("lundi 1 décembre 2025")
    expect(row).to_contain_text("05:00–13:00")
    expect(row.locator(".report-status")).to_contain_text("Définitif")
    expect(row).to_contain_text("automatique")
    expect(page.locator("nav a.active")).to_have_text("Rapports")
    _fits(page)
    screenshot(page, f"reports-list-{width}x{height}")

    pdf = _download(page, f"#{row.get_attribute('id')} a[href$='/pdf']")
    assert pdf.startswith(b"%PDF")
    first_page = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Rapport de fin de poste" in first_page and "matin" in first_page
    csv = _download(page, f"#{row.get_attribute('id')} a[href$='/csv']").decode("utf-8-sig")
    assert ";matin;" in csv and all(f";P0{n};" in csv for n in range(1, 7))

    # Regenerate a past shift: Friday's night shift, which had no report.
    page.select_option("select[name=shift]", "nuit")
    page.fill("input[name=date]", "2025-11-28")
    page.click("#regenerate button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("Rapport régénéré")
    made = page.locator("tr.made")
    expect(made).to_contain_text("nuit")
    expect(made).to_contain_text("vendredi 28 novembre 2025")
    expect(made).to_contain_text(SUPERVISOR)
    _fits(page)
    screenshot(page, f"reports-regenerated-{width}x{height}")
    night = _download(page, "tr.made a[href$='/pdf']")
    assert "nuit" in PdfReader(io.BytesIO(night)).pages[0].extract_text()

    # A shift that does not run that day (a Saturday) is refused with a reason, not an error page.
    page.select_option("select[name=shift]", "matin")
    page.fill("input[name=date]", "2025-11-29")
    page.click("#regenerate button[type=submit]")
    expect(page.locator(".error")).to_contain_text("ne travaille pas ce jour-là")
    screenshot(page, f"reports-refused-{width}x{height}")
    # Failed loads are judged by the responses (the browser's own favicon.ico request is not the page's).
    assert [p for p in problems if not p.startswith("Failed to load resource")] == [], problems
    assert failed == [f"422 {served.url}/reports/regenerate"], failed
