"""The traceability page on the tablet, in Debian's Chromium, at both tablet sizes.

A customer sends back a cracked part. The quality engineer types its serial, finds its press, die, order,
lot, heat, operator and shift with its curve, follows "same heat" to every part made from that heat,
pages through them, opens a part of the old press (keys from the tablet order, a die the press and the
tablet disagree on) and downloads the heat's CSV. Screenshots: test-artifacts/screenshots/trace-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cadence.auth import Role
from cadence.services.traceability import BOM
from e2e.conftest import (
    TABLET_SIZES,
    PageAt,
    Screenshot,
    assert_fits,
    serving_plant,
    sign_in,
    watch_problems,
)
from support import trace_data as td

QUALITY = "qualite"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app over a store holding the two presses' parts (tests/support/trace_data.py)."""
    data_dir: Path = tmp_path_factory.mktemp("trace-e2e")
    now = td.T0 + 300 * td.MINUTE
    with serving_plant(data_dir, now, td.fill, {QUALITY: Role.SUPERVISOR}) as url:
        yield url


def _fits(page: Page) -> None:
    assert_fits(page, "button, nav a, a.button, .trace-kind span, main a", scroll_width=True)


@pytest.mark.parametrize("size", TABLET_SIZES, ids=[f"{w}x{h}" for w, h in TABLET_SIZES])
def test_from_a_cracked_part_to_its_heat(
    url: str, page_at: PageAt, screenshot: Screenshot, size: tuple[int, int]
) -> None:
    page = page_at(*size)
    problems = watch_problems(page)
    name = f"{size[0]}x{size[1]}"

    sign_in(page, url, QUALITY, "/")
    page.click("nav a[href='/trace']")  # the menu leads there
    expect(page).to_have_url(f"{url}/trace")
    screenshot(page, f"trace-form-{name}")
    _fits(page)

    # The serial of the cracked part: its card, its curve.
    page.fill("#trace-q", "A-90")
    page.click("#trace-search button[type=submit]")
    card = page.locator("#part-1")
    expect(card.locator(".part-serial")).to_have_text("A-90")
    expect(card.locator("[data-key=material_lot] dd")).to_have_text("HEAT-7 presse")
    expect(card.locator("[data-key=die] dd")).to_have_text("D-1 presse")
    expect(card.locator(".part-verdict")).to_have_text("✖ Rebut · crack")  # 90 is a multiple of 9
    expect(card).to_contain_text("matin")
    curve = card.locator(".part-curve")
    expect(curve).to_have_attribute("data-points", str(td.POINTS))
    expect(curve.locator("canvas")).to_be_visible()
    screenshot(page, f"trace-part-{name}")
    _fits(page)

    # Every part of the same heat, newest first, 50 to a page.
    card.locator("#same-heat-1").click()
    expect(page).to_have_url(f"{url}/trace?kind=heat&q=HEAT-7")
    total = td.P01_PARTS + td.P02_PARTS
    expect(page.locator("[data-field=parts]")).to_have_text(str(total))
    rows = page.locator("table.trace-parts tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_have_attribute("data-serial", "A-120")
    screenshot(page, f"trace-heat-{name}")
    _fits(page)
    page.click("#trace-next")
    expect(page.locator("#trace-range")).to_have_text(f"51–100 / {total}")
    page.click("#trace-next")
    expect(page.locator("#trace-range")).to_have_text(f"101–{total} / {total}")
    expect(page.locator("#trace-next")).to_have_count(0)
    expect(rows).to_have_count(total - 100)
    screenshot(page, f"trace-heat-last-{name}")
    _fits(page)

    # The heat's CSV, with the separator French Excel expects.
    with page.expect_download() as download:
        page.click("#trace-csv")
    assert download.value.suggested_filename == "trace-material_lot-HEAT-7.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith(BOM + "machine;n;start;end;good")
    assert len(text.strip().splitlines()) == 1 + total

    # A part of the old press: its keys came from the tablet order, its die is disputed.
    page.get_by_role("link", name="B-1", exact=True).click()
    expect(page).to_have_url(re.compile(r"/trace\?kind=serial&q=B-1$"))
    card = page.locator("#part-1")
    expect(card.locator("[data-key=lot] dd")).to_have_text("L-T tablette")
    expect(card.locator("[data-key=operator] dd")).to_have_text(td.OPERATOR)
    expect(card.locator(".trace-conflict")).to_contain_text("D-9")
    screenshot(page, f"trace-tablet-part-{name}")
    _fits(page)

    # A heat nobody pressed: a plain message, the form kept.
    page.click(".trace-kind >> text=Coulée")
    page.fill("#trace-q", "HEAT-404")
    page.click("#trace-search button[type=submit]")
    expect(page.locator("#trace-message")).to_have_text("Rien trouvé pour : coulée « HEAT-404 ».")
    screenshot(page, f"trace-nothing-{name}")
    _fits(page)
    # Failed loads are judged by the responses above (the browser's own favicon.ico request is not ours).
    assert [p for p in problems if not p.startswith("Failed to load resource")] == [], problems
