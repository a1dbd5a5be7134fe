"""The KPI drill-down on the tablet, in Debian's Chromium, at both tablet sizes (issue 4).

A press's morning shift is written into the store as its controller would report it: a die breakdown, a
micro-stop, a long wait nobody explained, a die change and a break. A supervisor opens the press, taps its
OEE and finds the ISO and TRS waterfalls, then taps ADET and checks, on screen, that it is the sum of the
three intervals listed under it; the stop waiting for a reason links to the operator's reason picker.
Screenshots: test-artifacts/screenshots/kpi-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cadence.auth import Role
from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain.batch import Batch, IdempotencyKey
from cadence.domain.cycles import Stroke
from cadence.domain.states import MachineState as S
from cadence.domain.states import StateChange
from cadence.runtime import open_runtime
from e2e.conftest import TABLET_SIZES, PageAt, Screenshot, assert_fits, serving, sign_in, watch_problems
from support.auth import FAST_AUTH, PASSWORD

MIN = 60_000_000
SHIFT_US = 1_764_561_600_000_000  # 2025-12-01T04:00:00Z, a Monday: 05:00 in Paris, the morning shift
NOW_US = SHIFT_US + 120 * MIN
PRESS = "P01"
SUPERVISOR = "chef.equipe"


def at(minutes: float) -> int:
    return SHIFT_US + round(minutes * MIN)


CHANGES = (
    StateChange(at(-30), S.RUNNING),
    StateChange(at(10), S.DOWN, "breakdown.die"),
    StateChange(at(25), S.RUNNING),
    StateChange(at(40), S.IDLE),  # 90 s: a micro-stop
    StateChange(at(41.5), S.RUNNING),
    StateChange(at(50), S.IDLE),  # 20 min, no reason
    StateChange(at(70), S.RUNNING),
    StateChange(at(80), S.SETUP, "setup.die_change"),
    StateChange(at(95), S.RUNNING),
    StateChange(at(100), S.PLANNED_STOP, "planned.break"),
    StateChange(at(110), S.RUNNING),
    StateChange(at(115), S.DOWN, "breakdown.hydraulic"),  # 2 min: a micro-stop
    StateChange(at(117), S.RUNNING),
)


def _strokes() -> list[Stroke]:
    out: list[Stroke] = []
    ends = [c.ts_us for c in CHANGES[1:]] + [NOW_US]
    n = 0
    for change, end in zip(CHANGES, ends, strict=True):
        if change.state is not S.RUNNING:
            continue
        t = change.ts_us
        while t + 8_000_000 < end:
            n += 1
            reason = "crack" if n % 40 == 0 else None
            out.append(Stroke(PRESS, n, t, t + 8_000_000, good=reason is None, scrap_reason=reason))
            t += 10_000_000
    return out


@dataclass
class Plant:
    url: str


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plant]:
    data_dir: Path = tmp_path_factory.mktemp("kpi")
    runtime = open_runtime(load_settings(data_dir=data_dir, **FAST_AUTH), clock=SimClock(start_us=NOW_US))
    batch = Batch(
        IdempotencyKey("e2e-gw", 1, 0), PRESS, strokes=tuple(_strokes()), states=CHANGES, digest=b"k"
    )
    runtime.store.append([batch])
    runtime.auth.create_user("admin-0", Role.ADMIN, PASSWORD)
    runtime.auth.create_user(SUPERVISOR, Role.SUPERVISOR, PASSWORD)
    try:
        with serving(runtime) as url:
            yield Plant(url)
    finally:
        runtime.close()


def _fits(page: Page) -> None:
    assert_fits(page, "button, nav a, a.button, a.kpi-link")


@pytest.mark.parametrize("size", TABLET_SIZES, ids=[f"{w}x{h}" for w, h in TABLET_SIZES])
def test_the_oee_of_a_press_taken_apart(
    plant: Plant, page_at: PageAt, screenshot: Screenshot, size: tuple[int, int]
) -> None:
    page = page_at(*size)
    problems = watch_problems(page)
    name = f"{size[0]}x{size[1]}"

    sign_in(page, plant.url, SUPERVISOR, f"/presses/{PRESS}")
    expect(page).to_have_url(f"{plant.url}/presses/{PRESS}")
    oee = page.locator("#oee-link")
    expect(oee).to_contain_text("%")
    screenshot(page, f"kpi-press-{name}")
    _fits(page)

    # The OEE figure is the way in; the page shows the same figure.
    shown = oee.inner_text().replace("›", "").strip()
    oee.click()
    expect(page).to_have_url(f"{plant.url}/presses/{PRESS}/kpi")
    expect(page.locator("#kpi-oee .big")).to_have_text(shown)
    expect(page.locator("#waterfall-iso tr[data-element=adet] th")).to_contain_text("ADET")
    expect(page.locator("#waterfall-trs")).to_contain_text("Temps brut de fonctionnement")
    iso_oee = page.locator("#kpi-ratios td[data-ratio=oee]").inner_text()
    expect(page.locator("#kpi-ratios td[data-ratio=trs]")).to_have_text(iso_oee)  # one OEE, two splits
    expect(page.locator("#intervals tbody tr")).to_have_count(
        len(CHANGES)
    )  # the first one is in force at the start
    expect(page.locator("#intervals a.qualify")).to_have_count(1)  # the 20-min wait nobody explained
    screenshot(page, f"kpi-page-{name}")
    _fits(page)

    # ADET: tap it, get its three intervals and their sum, which is the figure in the waterfall.
    adet_row = page.locator("#waterfall-iso tr[data-element=adet]")
    adet_text = adet_row.locator("td.num").inner_text()
    adet_s = float(adet_row.get_attribute("data-seconds") or "nan")
    adet_row.locator("a.button").click()
    expect(page).to_have_url(re.compile(rf"/presses/{PRESS}/kpi\?(.+&)?only=adet#intervals$"))
    rows = page.locator("#intervals tbody tr")
    expect(rows).to_have_count(3)
    assert [r.get_attribute("data-category") for r in rows.all()] == ["down", "micro_stop", "micro_stop"]
    listed = sum(float(r.get_attribute("data-seconds") or "nan") for r in rows.all())
    assert listed == pytest.approx(adet_s) == pytest.approx(900 + 90 + 120)
    expect(page.locator("#only-sum b")).to_have_text(adet_text)  # the same words on screen: 18 min 30 s
    screenshot(page, f"kpi-adet-{name}")
    _fits(page)

    # The unexplained wait: one tap to the reason picker.
    page.click("#show-all")
    page.locator("#intervals a.qualify").click()
    expect(page).to_have_url(f"{plant.url}/presses/{PRESS}/operator/stops/{at(50)}")
    # Failed loads are judged by the responses above (the browser's own favicon.ico request is not ours).
    assert [p for p in problems if not p.startswith("Failed to load resource")] == [], problems
