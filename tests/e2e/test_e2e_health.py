"""The press health page on the tablet, in Debian's Chromium, at both tablet sizes.

P01's pump has been leaking for a day and a half and its health alert is open; P02 had the same fault,
repaired under a work order closed with "pump leak" found (tests/integration/test_health_pages.py,
``fill``). A maintenance technician opens the press, taps "Santé" and reads the sentence, the suspected
fault with the similar episode, the subsystem cards and the chart of the levels; switches to English; then
goes from the health alert on the alarms page to the same page; and opens a press never read (P04).
Screenshots: test-artifacts/screenshots/health-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cadence.auth import Role
from e2e.conftest import (
    TABLET_SIZES,
    PageAt,
    Screenshot,
    assert_fits,
    serving_plant,
    sign_in,
    watch_problems,
)
from integration.test_health_pages import fill
from support import health_data as hd

TECHNICIAN = "tech.maintenance"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app over a store holding the evaluated history (read-only here: one store for both sizes)."""
    data_dir: Path = tmp_path_factory.mktemp("health-e2e")
    with serving_plant(data_dir, hd.T0, fill, {TECHNICIAN: Role.MAINTENANCE}) as url:
        yield url


def _fits(page: Page) -> None:
    assert_fits(page, "button, nav a, a.button, main a", scroll_width=True)


@pytest.mark.parametrize("size", TABLET_SIZES, ids=[f"{w}x{h}" for w, h in TABLET_SIZES])
def test_from_the_press_to_its_health_and_from_the_alert_back(
    url: str, page_at: PageAt, screenshot: Screenshot, size: tuple[int, int]
) -> None:
    page = page_at(*size)
    problems = watch_problems(page)
    name = f"{size[0]}x{size[1]}"

    sign_in(page, url, TECHNICIAN, "/presses/P01")
    expect(page.locator("#health-link")).to_be_visible()
    screenshot(page, f"health-press-{name}")
    _fits(page)
    page.click("#health-link")
    expect(page).to_have_url(f"{url}/presses/P01/health")

    # The sentence, the suspected fault, the episode it resembles, the cards, the chart.
    expect(page.locator("#health-sentence")).to_contain_text("Fuite interne de pompe suspectée : ")
    expect(page.locator("#health-sentence")).to_contain_text("seuil attendu dans")
    expect(page.locator("#health-fault")).to_contain_text("confiance")
    expect(page.locator("#health-similar a.button")).to_have_attribute("href", "/workorders/1")
    cards = page.locator(".health-card")
    expect(cards).to_have_count(3)
    pump = page.locator(".health-card[data-subsystem=pump]")
    expect(pump).to_have_attribute("data-state", "alert")
    expect(pump.locator(".health-figure")).to_contain_text("Santé")
    expect(pump.locator(".health-forecast")).to_contain_text("Seuil attendu dans")
    expect(pump.locator(".health-order")).to_have_attribute(
        "href", "/workorders/new?machine=P01&subsystem=pump"
    )
    chart = page.locator("#health-chart")
    expect(chart.locator("canvas")).to_be_visible()
    assert int(chart.get_attribute("data-points") or "0") > 40
    expect(chart).to_have_attribute("data-series", "3")
    screenshot(page, f"health-{name}")
    _fits(page)

    # A shorter period: the button is the active one and the chart is drawn again.
    page.click(".kpi-presets a[data-days='7']")
    expect(page.locator(".kpi-presets a[data-days='7']")).to_have_class("button active")
    expect(page.locator("#health-chart canvas")).to_be_visible()

    # The same page in English: the sentences follow the page's language.
    page.click("form.lang button")
    expect(page.locator("#health-sentence")).to_contain_text("Suspected pump internal leakage: ")
    expect(pump.locator(".health-forecast")).to_contain_text("Threshold expected in")
    expect(page.locator("#health-chart canvas")).to_be_visible()
    screenshot(page, f"health-en-{name}")
    _fits(page)
    page.click("form.lang button")  # back to French for the next size's run
    expect(page.locator("#health-sentence")).to_contain_text("Fuite interne de pompe suspectée")

    # The health alert on the alarms page leads to the press's health page.
    page.goto(f"{url}/alarms")
    link = page.locator("#alarm-list a.health-from")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "/presses/P01/health")
    screenshot(page, f"health-alarms-{name}")
    _fits(page)
    link.click()
    expect(page).to_have_url(f"{url}/presses/P01/health")
    expect(page.locator("#health-alarms .alarm")).to_have_count(1)

    # A press whose strokes were never read: the page says so, without cards or chart.
    page.goto(f"{url}/presses/P04/health")
    expect(page.locator("#health-sentence")).to_contain_text("Pas encore de données de santé")
    expect(page.locator(".health-card")).to_have_count(0)
    expect(page.locator("#health-no-history")).to_be_visible()
    screenshot(page, f"health-empty-{name}")
    _fits(page)
    assert [p for p in problems if not p.startswith("Failed to load resource")] == [], problems
