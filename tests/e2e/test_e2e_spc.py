"""The SPC page on the tablet, in Debian's Chromium, at both tablet sizes (issue 5).

P01's peak pressure was stable for 120 strokes, then a seal began to leak and it climbs (tests/support/
spc_data.py). A supervisor opens the press, taps SPC, sees the chart without limits, establishes them from
the stable part with the spec limits and a reason, and finds the drift flagged on the chart (points in
red), explained in words in the list, and the capability panel with its caveats.
Screenshots: test-artifacts/screenshots/spc-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cadence.auth import Role
from cadence.clock import to_datetime
from e2e.conftest import (
    TABLET_SIZES,
    PageAt,
    Screenshot,
    assert_fits,
    serving_plant,
    sign_in,
    watch_problems,
)
from support import spc_data as sd

SUPERVISOR = "chef.qualite"


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """The real app over a store holding P01's stable then drifting strokes; a fresh store per size, so
    each run starts without limits."""
    with serving_plant(tmp_path, sd.NOW, sd.fill, {SUPERVISOR: Role.SUPERVISOR}) as url:
        yield url


def _fits(page: Page) -> None:
    assert_fits(
        page, "button, nav a, a.button, .chip span, main a, main input, main textarea", scroll_width=True
    )


def _local(ts_us: int) -> str:
    from zoneinfo import ZoneInfo

    return to_datetime(ts_us).astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("size", TABLET_SIZES, ids=[f"{w}x{h}" for w, h in TABLET_SIZES])
def test_limits_from_the_stable_part_show_the_drift(
    url: str, page_at: PageAt, screenshot: Screenshot, size: tuple[int, int]
) -> None:
    page = page_at(*size)
    problems = watch_problems(page)
    name = f"{size[0]}x{size[1]}"

    sign_in(page, url, SUPERVISOR, "/presses/P01")
    page.click("#spc-link")
    expect(page).to_have_url(f"{url}/presses/P01/spc")
    page.click(f".spc-features a[data-feature={sd.FEATURE}]")
    expect(page.locator(f".spc-features a[data-feature={sd.FEATURE}]")).to_have_class("button active")
    chart = page.locator("#spc-chart")
    expect(chart).to_have_attribute("data-points", str(sd.STABLE + sd.DRIFTING))
    expect(chart.locator("canvas")).to_be_visible()
    expect(page.locator("#spc-no-limits")).to_be_visible()
    screenshot(page, f"spc-no-limits-{name}")
    _fits(page)

    # Limits from the stable strokes, with the spec limits and a reason.
    page.fill("#spc-from", _local(sd.BASELINE[0]))
    page.fill("#spc-to", _local(sd.BASELINE[1]))
    page.fill("#spc-lsl", "190")
    page.fill("#spc-usl", "215")
    page.fill("#spc-why", "Joint changé, presse stable depuis")
    page.click("#spc-submit")
    expect(page.locator("#spc-success")).to_have_text("Nouvelles limites en vigueur.")
    expect(page.locator("#spc-who")).to_contain_text(SUPERVISOR)
    expect(page.locator("#spc-who")).to_contain_text("Joint changé, presse stable depuis")

    # The drift: points in red on the chart, the rules explained in words, none in the stable part.
    chart = page.locator("#spc-chart")
    expect(chart.locator("canvas")).to_be_visible()
    marked = int(chart.get_attribute("data-marked") or "0")
    assert marked > 0
    alerts = page.locator(".spc-violations li")
    assert alerts.count() > 0
    lasts = [int(v) for v in alerts.evaluate_all("els => els.map(e => e.dataset.last)")]
    assert min(lasts) > sd.STABLE, lasts
    expect(page.locator(".spc-violations li[data-rule=we1]").first).to_contain_text(
        "au-delà des limites de contrôle"
    )

    # Capability: the four indices with their intervals, the normality verdict, and the caveat that an
    # unstable process's capability predicts nothing.
    for key in ("cp", "cpk", "pp", "ppk"):
        expect(page.locator(f"#capability tr[data-index={key}] td").first).not_to_have_text("—")
    expect(page.locator("#spc-normality")).to_contain_text("Anderson")
    expect(page.locator("#history tbody tr")).to_have_count(1)
    page.locator("#chart").scroll_into_view_if_needed()
    screenshot(page, f"spc-drift-{name}")
    _fits(page)

    # The same page in English: the explanation follows the page's language.
    page.click("form.lang button")
    expect(page.locator(".spc-violations li[data-rule=we1]").first).to_contain_text(
        "beyond the control limits"
    )
    screenshot(page, f"spc-drift-en-{name}")
    _fits(page)
    assert [p for p in problems if not p.startswith("Failed to load resource")] == [], problems
