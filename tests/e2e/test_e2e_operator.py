"""The operator's flows on the tablet, in Debian's Chromium, at both tablet sizes.

A simulated plant fills 45 minutes of a Monday morning shift on a simulated clock (so times and stops are
the same on every run); then a press breaks down and nobody says why. An operator signs in, qualifies that
stop in two taps, declares scrap, starts and ends an order, writes notes, and finds all of it marked on
the press's charts. What was saved is checked in the store, not only on the page; screenshots of every
step are kept in test-artifacts/screenshots/operator-*.png.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cadence.auth import Role
from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.ingest.local import LocalPublisher
from cadence.runtime import Runtime, open_runtime
from cadence.services.operator import OperatorService
from cadence.simulator import PlantSimulator
from e2e.conftest import assert_fits, serving, sign_in
from support.auth import FAST_AUTH, PASSWORD

START_US = 1_764_576_000_000_000  # 2025-12-01T08:00:00Z, a Monday: 09:00 in Paris, the morning shift
MINUTE_US = 60_000_000
SIMULATED_US = 45 * MINUTE_US
BREAKDOWN_US = START_US + 47 * MINUTE_US  # after the simulated data: a stop only this test explains
NOW_US = START_US + 60 * MINUTE_US
OPERATOR = "lea.martin"
# One press per tablet size, each with its own breakdown: the runs do not see each other's events.
RUNS = (((1280, 800), "P01"), ((1024, 768), "P03"))


@dataclass
class Plant:
    url: str
    runtime: Runtime
    clock: SimClock

    def service(self) -> OperatorService:
        return OperatorService(self.runtime.store, self.runtime.plant, self.clock)

    def advance(self, minutes: int = 1) -> None:
        self.clock.advance_to(self.clock.now_us() + minutes * MINUTE_US)


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plant]:
    clock = SimClock(start_us=START_US)
    data_dir: Path = tmp_path_factory.mktemp("operator")
    runtime = open_runtime(load_settings(data_dir=data_dir, **FAST_AUTH), clock=clock)
    publisher = LocalPublisher(runtime.pipeline)
    PlantSimulator(runtime.plant, publisher, clock, seed=4, start_us=START_US).step_until(
        START_US + SIMULATED_US
    )
    publisher.close()
    runtime.pipeline.wait_idle(60)
    for seq, (_size, machine) in enumerate(RUNS):
        # Through ingest, as a gateway would send it, so the live figures know too. No reason: the
        # controller does not know why.
        message = {"v": 1, "source": "e2e-gw", "epoch": 1, "seq": seq, "machine": machine}
        message["states"] = [{"ts": BREAKDOWN_US, "state": "down"}]
        topic = f"cadence/v1/{machine}/states"
        answer = runtime.pipeline.handle("test", json.dumps(message).encode(), topic).result(30)
        assert answer.status == "stored", answer
    clock.advance_to(NOW_US)
    runtime.auth.create_user("admin-0", Role.ADMIN, PASSWORD)  # past first start: the login form is shown
    runtime.auth.create_user(OPERATOR, Role.OPERATOR, PASSWORD)
    try:
        with serving(runtime) as url:
            yield Plant(url, runtime, clock)
    finally:
        runtime.close()


def _fits(page: Page) -> None:
    assert_fits(page, "button, input, textarea, nav a, a.button, a.stop-button, summary, .chip")


def _step(page: Page, shot: object, name: str, size: tuple[int, int]) -> None:
    shot(page, f"operator-{name}-{size[0]}x{size[1]}")  # type: ignore[operator]
    _fits(page)


@pytest.mark.parametrize(("size", "machine"), RUNS, ids=[f"{w}x{h}" for (w, h), _ in RUNS])
def test_an_operator_shift_on_the_tablet(
    plant: Plant, page_at: object, screenshot: object, size: tuple[int, int], machine: str
) -> None:
    page: Page = page_at(*size)  # type: ignore[operator]
    problems: list[str] = []  # script errors and Content-Security-Policy refusals
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    service = plant.service()

    sign_in(page, plant.url, OPERATOR, f"/presses/{machine}")
    expect(page).to_have_url(f"{plant.url}/presses/{machine}")
    expect(page.locator("#operator-link .badge")).to_have_text("1")  # one stop waits for a reason
    _step(page, screenshot, "press", size)

    # The operator page: the breakdown waits at the top, newest first, with its start and duration.
    page.click("#operator-link")
    expect(page).to_have_url(f"{plant.url}/presses/{machine}/operator")
    stop = page.locator(f'.stop-button[data-stop="{BREAKDOWN_US}"]')
    expect(stop).to_contain_text("En panne")
    expect(stop).to_contain_text(f"{(plant.clock.now_us() - BREAKDOWN_US) // MINUTE_US} min")
    _step(page, screenshot, "page", size)

    # Two taps: the stop, then the reason.
    stop.click()
    expect(page.locator(".picker .group").first).to_contain_text("Panne")
    _step(page, screenshot, "reason-picker", size)
    page.click('.picker button[value="breakdown.hydraulic"]')
    expect(page.locator(".flash-ok")).to_have_text("✓ Motif enregistré.")
    expect(page.locator(f'.stop-button[data-stop="{BREAKDOWN_US}"]')).to_have_count(0)
    expect(page.locator(f'.stop-list li[data-stop="{BREAKDOWN_US}"]')).to_contain_text("Panne hydraulique")
    stored = service.stop_reasons(machine, BREAKDOWN_US, BREAKDOWN_US + 1, history=True)
    assert [(r.reason_code, r.by) for r in stored] == [("breakdown.hydraulic", OPERATOR)]
    _step(page, screenshot, "qualified", size)

    # Scrap: 1 → 3 with the + button, a cause tapped if the press has any, else typed.
    plant.advance()
    page.click('.stepper button[data-step="1"]')
    page.click('.stepper button[data-step="1"]')
    page.click('.stepper button[data-step="-1"]')
    page.click('.stepper button[data-step="1"]')
    expect(page.locator("#scrap-quantity")).to_have_value("3")
    chips = page.locator('#scrap .chip input[name="cause"]')
    if chips.count():
        cause = chips.first.get_attribute("value") or ""
        page.locator("#scrap .chip").first.click()
    else:
        cause = "bavure"
        page.fill('input[name="other_cause"]', cause)
    _step(page, screenshot, "scrap-form", size)
    page.click("#scrap-submit")
    expect(page.locator(".flash-ok")).to_have_text("✓ Rebuts déclarés.")
    declared = service.scrap(machine, START_US, plant.clock.now_us() + 1)
    assert [(s.quantity, s.cause, s.by) for s in declared] == [(3, cause, OPERATOR)]
    expect(page.locator("#scrap-list")).to_contain_text(cause)

    # An order started with its genealogy keys, then ended.
    plant.advance()
    form = page.locator("#order-start-form")
    for field, value in (
        ("order", f"OF-{machine}"),
        ("part_number", "BR-7"),
        ("lot", "L-12"),
        ("material_lot", "C-4471"),
        ("die", "D-3"),
    ):
        form.locator(f'input[name="{field}"]').fill(value)
    _step(page, screenshot, "order-form", size)
    page.click("#order-start")
    expect(page.locator(".flash-ok")).to_have_text("✓ OF démarré.")
    expect(page.locator(".order-now")).to_contain_text("C-4471")
    running = service.current_order(machine)
    assert running is not None
    assert (running.order, running.part_number, running.material_lot, running.by) == (
        f"OF-{machine}",
        "BR-7",
        "C-4471",
        OPERATOR,
    )
    _step(page, screenshot, "order-running", size)
    plant.advance()
    page.click("#order-end")
    expect(page.locator(".flash-ok")).to_have_text("✓ OF terminé.")
    assert service.current_order(machine) is None

    # A note about this press.
    plant.advance()
    note = f"Fuite légère au raccord du vérin de {machine}"
    page.fill('#note textarea[name="text"]', note)
    page.click("#note-submit")
    expect(page.locator(".flash-ok")).to_have_text("✓ Note enregistrée.")
    assert [
        (n.machine, n.text, n.by) for n in service.logbook(START_US, NOW_US + 3_600_000_000, machine)
    ] == [(machine, note, OPERATOR)]
    _step(page, screenshot, "done", size)

    # The shift logbook, from the navigation bar: the press note, and a plant-wide one added.
    page.click('.topbar nav a[href="/logbook"]')
    expect(page.locator("#logbook-notes")).to_contain_text(note)
    plant.advance()
    page.fill('#logbook-form textarea[name="text"]', f"Livraison d'acier retardée ({machine})")
    page.click("#logbook-submit")
    expect(page.locator(".flash-ok")).to_have_text("✓ Note enregistrée.")
    expect(page.locator("#logbook-notes li").first).to_contain_text("Usine")
    _step(page, screenshot, "logbook", size)

    # Back on the press: every event is marked on the state timeline and on the trend charts.
    page.goto(f"{plant.url}/presses/{machine}")
    expect(page.locator("#operator-link .badge")).to_have_count(0)
    expect(page.locator("#timeline-marks .mark")).to_have_count(5)
    events = page.locator("#press-events")
    for text in ("Panne hydraulique", f"OF OF-{machine} démarré", f"OF OF-{machine} terminé", note, "Rebuts"):
        expect(events).to_contain_text(text)
    page.click('.ranges button[data-range="1h"]')
    for chart in ("#trend-oil_temp", "#trend-motor_power"):
        expect(page.locator(chart)).to_have_attribute("data-marks", "5")
    # A finger (here the mouse) on the breakdown's line shows what was said about it under the chart.
    spot = page.evaluate(
        """(t) => { const el = document.querySelector('#trend-oil_temp'), u = el._plot;
             const box = u.over.getBoundingClientRect();
             return [box.left + u.valToPos(t, 'x'), box.top + box.height / 2]; }""",
        BREAKDOWN_US / 1e6,
    )
    page.mouse.move(spot[0], spot[1])
    expect(page.locator("#trend-oil_temp + .chart-note")).to_contain_text("Panne hydraulique")
    _step(page, screenshot, "press-annotations", size)
    assert [p for p in problems if "status of 40" not in p] == []
