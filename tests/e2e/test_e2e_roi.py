"""The ROI view in Chromium at both tablet sizes: a manager compares two periods and downloads the PDF.

The store of the served runtime is filled through its public write method with a baseline of long
breakdowns, slow cycles and more scrap, then a better current period (the same days as the integration
test). The figures on the page are checked against an independent count of what was written.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from cadence.auth import Role
from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.runtime import Runtime, open_runtime
from cadence.web.i18n import format_number
from integration.test_roi_service import BASELINE, CURRENT, NOW_US, Written, _expected, fill
from support.auth import FAST_AUTH, PASSWORD

from .conftest import TABLET_SIZES, PageAt, Screenshot, serving

MANAGER = "directeur.site"


@dataclass
class Served:
    url: str
    runtime: Runtime
    written: Written


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    runtime = open_runtime(load_settings(data_dir=tmp_path, **FAST_AUTH), clock=SimClock(start_us=NOW_US))
    written = fill(runtime)
    # An administrator exists, as in any installation past its first start (else /login goes to /setup).
    runtime.auth.create_user("admin-0", Role.ADMIN, PASSWORD)
    runtime.auth.create_user(MANAGER, Role.MANAGER, PASSWORD)
    runtime.auth.create_user("chef.equipe", Role.OPERATOR, PASSWORD)
    try:
        with serving(runtime) as url:
            yield Served(url, runtime, written)
    finally:
        runtime.close()


def _login(page: Page, url: str, name: str) -> None:
    page.goto(url + "/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page).to_have_url(url + "/")


def _fits(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
    small = page.evaluate(
        """() => Array.from(document.querySelectorAll('main button, main input, main select, main a.button'))
              .filter(e => e.offsetParent !== null)
              .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
              .filter(([_, h]) => h < 48)"""
    )
    assert not small, f"touch targets under 48 px: {small}"


def test_a_manager_compares_two_periods_and_downloads_the_pdf(
    served: Served, page_at: PageAt, screenshot: Screenshot
) -> None:
    page = page_at(*TABLET_SIZES[0])
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    _login(page, served.url, MANAGER)

    # The nav link, then the periods typed in the date pickers, the scope chosen, "Comparer".
    page.click(".topbar nav a[href='/roi']")
    expect(page).to_have_url(served.url + "/roi")
    page.fill("input[name=b_from]", BASELINE.first.isoformat())
    page.fill("input[name=b_to]", BASELINE.last.isoformat())
    page.fill("input[name=c_from]", CURRENT.first.isoformat())
    page.fill("input[name=c_to]", CURRENT.last.isoformat())
    page.select_option("select[name=scope]", "line:L1")
    page.click("button.roi-go")
    expect(page.locator(".roi-table tbody tr")).to_have_count(6)

    # The figures shown are those counted independently from what was written.
    before = _expected(served.written, BASELINE, ("P01", "P02"))
    after = _expected(served.written, CURRENT, ("P01", "P02"))
    row = page.locator('tr[data-metric="yield"]')
    expect(row.locator('[data-field="baseline"]')).to_have_text(format_number(before["yield"], "fr", 1))
    expect(row.locator('[data-field="current"]')).to_have_text(format_number(after["yield"], "fr", 1))
    difference = format_number(after["yield"] - before["yield"], "fr", 1)
    expect(row.locator('[data-field="difference"]')).to_contain_text(f"+{difference} ±")
    expect(row.locator('[data-field="verdict"]')).to_contain_text("mieux")
    scrap = page.locator('tr[data-metric="scrap_rate"]')
    expect(scrap.locator('[data-field="current"]')).to_have_text(
        format_number(after["scrap_rate"] * 100, "fr", 2)
    )
    expect(scrap.locator('[data-field="verdict"]')).to_contain_text("mieux")
    expect(page.locator(".roi-summary")).to_contain_text("Le rendement a augmenté de")
    for width, height in TABLET_SIZES:
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"roi-{width}x{height}")
        _fits(page)

    # The PDF of the same comparison.
    with page.expect_download() as info:
        page.click("a.roi-pdf")
    download = info.value
    assert download.suggested_filename.startswith("roi-line-L1-")
    data = Path(download.path()).read_bytes()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert format_number(after["yield"], "fr", 1) in text and "Avant / après" in text

    # A quick choice keeps the scope; a press of the line alone; English.
    page.click("button[name=preset][value='30d']")
    expect(page.locator("select[name=scope]")).to_have_value("line:L1")
    expect(page.locator("input[name=c_to]")).to_have_value("2026-03-01")
    page.click(".lang button")
    expect(page.locator(".roi-table thead")).to_contain_text("Baseline")
    page.goto(
        f"{served.url}/roi?b_from={BASELINE.first}&b_to={BASELINE.last}&c_from={CURRENT.first}"
        f"&c_to={CURRENT.last}&scope=press:P02"
    )
    expect(page.locator('tr[data-metric="yield"] [data-field="verdict"]')).to_contain_text("better")
    page.set_viewport_size({"width": TABLET_SIZES[1][0], "height": TABLET_SIZES[1][1]})
    screenshot(page, "roi-en-P02-1024x768")
    assert problems == []


def test_an_operator_has_no_roi_view(served: Served, page_at: PageAt) -> None:
    page = page_at(*TABLET_SIZES[1])
    _login(page, served.url, "chef.equipe")
    answer = page.request.get(served.url + "/roi")
    assert answer.status == 403
