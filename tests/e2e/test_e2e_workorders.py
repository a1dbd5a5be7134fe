"""The maintenance loop on the tablet, in Debian's Chromium, at both tablet sizes.

The health engine has raised an alert on P02's pump. A maintenance technician signs in, opens the alerts,
taps "Bon de travail" on it, finds the form pre-filled (press, subsystem, priority, the alert's message),
opens the order, gives it to a colleague, starts the work and closes it: leaking pump, two parts
replaced, re-baseline ticked. The closed order, its label and the acknowledged alert are checked in the
store, not only on the page. Screenshots: test-artifacts/screenshots/workorders-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cadence.auth import Role
from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain import Alarm, Severity
from cadence.domain.workorders import WorkOrderStatus
from cadence.runtime import Runtime, open_runtime
from cadence.services.workorders import WorkOrderService
from e2e.conftest import TABLET_SIZES, PageAt, Screenshot, assert_fits, serving, sign_in, watch_problems
from support.auth import FAST_AUTH, PASSWORD

NOW_US = 1_764_576_000_000_000  # 2025-12-01T08:00:00Z, a Monday: 09:00 in Paris
MINUTE_US = 60_000_000
TECHNICIAN = "marc.dubois"
COLLEAGUE = "paul.meca"
MESSAGE = "Pompe P02 : fuite interne probable, débit de fuite +40 % en 3 jours"
TARGETS = (
    "button, nav a, a.button, .chip span, main a, main textarea, .wo-check, summary,"
    " main input:not([type=checkbox]):not([type=radio]):not([type=hidden])"
)


@dataclass
class Plant:
    url: str
    runtime: Runtime
    alarm_id: int

    def service(self) -> WorkOrderService:
        return WorkOrderService(self.runtime.plant, self.runtime.store, self.runtime.clock)


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[Plant]:
    """A fresh plant per size: the health alert on P02, two orders already open elsewhere."""
    runtime = open_runtime(load_settings(data_dir=tmp_path, **FAST_AUTH), clock=SimClock(start_us=NOW_US))
    alarm_id = runtime.store.record_alarm(
        Alarm("health.pump", Severity.CRITICAL, MESSAGE, NOW_US - 40 * MINUTE_US, "health", "P02")
    )
    runtime.store.record_alarm(
        Alarm(
            "spc.we1",
            Severity.WARNING,
            "P05 : effort de frappe hors limites",
            NOW_US - 5 * MINUTE_US,
            "spc",
            "P05",
        )
    )
    service = WorkOrderService(runtime.plant, runtime.store, runtime.clock)
    service.create("P04", "Fuite d'huile au pied de la presse", by="chef.equipe", priority="urgent")
    service.create("P01", "Graisser les colonnes", by="chef.equipe", priority="low", assignee=COLLEAGUE)
    runtime.auth.create_user("admin-0", Role.ADMIN, PASSWORD)
    runtime.auth.create_user(TECHNICIAN, Role.MAINTENANCE, PASSWORD)
    try:
        with serving(runtime) as url:
            yield Plant(url, runtime, alarm_id)
    finally:
        runtime.close()


def _fits(page: Page) -> None:
    assert_fits(page, TARGETS, scroll_width=True)


@pytest.mark.parametrize("size", TABLET_SIZES, ids=[f"{w}x{h}" for w, h in TABLET_SIZES])
def test_an_alert_becomes_a_closed_work_order(
    plant: Plant, page_at: PageAt, screenshot: Screenshot, size: tuple[int, int]
) -> None:
    page = page_at(*size)
    problems = watch_problems(page)
    name = f"{size[0]}x{size[1]}"
    url = plant.url

    sign_in(page, url, TECHNICIAN, "/alarms")
    expect(page).to_have_url(f"{url}/alarms")
    button = page.locator(f"#alarm-list a.wo-from[data-alarm='{plant.alarm_id}']")
    expect(button).to_have_text("⚒ Bon de travail")
    screenshot(page, f"workorders-alarms-{name}")
    _fits(page)

    # The form, pre-filled from the alert.
    button.click()
    expect(page).to_have_url(f"{url}/workorders/new?alarm={plant.alarm_id}")
    expect(page.locator("#wo-from-alarm")).to_contain_text(MESSAGE)
    expect(page.locator("#wo-machine input[value=P02]")).to_be_checked()
    expect(page.locator("#wo-subsystem input[value=pump]")).to_be_checked()
    expect(page.locator("#wo-priority input[value=high]")).to_be_checked()
    expect(page.locator("#wo-description")).to_have_value(MESSAGE)
    page.fill("#wo-title", "Fuite pompe P02")
    screenshot(page, f"workorders-new-{name}")
    _fits(page)
    page.click("#wo-create")
    expect(page.locator("#wo-success")).to_have_text("✓ Bon de travail ouvert.")
    expect(page.locator("#wo-status")).to_have_text("Ouvert")
    order_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
    alarm = plant.runtime.store.alarm(plant.alarm_id)
    assert alarm is not None and alarm.acked_by == TECHNICIAN  # opening the order acknowledged the alert

    # Given to a colleague, then started.
    page.fill("#wo-assign-to", COLLEAGUE)
    page.click("#wo-assign")
    expect(page.locator("#wo-success")).to_have_text("✓ Bon de travail attribué.")
    expect(page.locator("#wo-assignee-value")).to_have_text(COLLEAGUE)
    page.click("#wo-start")
    expect(page.locator("#wo-status")).to_have_text("En cours")
    screenshot(page, f"workorders-detail-{name}")
    _fits(page)

    # Closing: what was found (big buttons), what was done, the parts, the re-baseline ticked already.
    page.click("#wo-fault label.fault-pump_leak")
    expect(page.locator("#wo-fault input[value=pump_leak]")).to_be_checked()
    page.fill("#wo-work-done", "Pompe déposée, joints d'arbre et plaque d'usure remplacés, essai 250 bar OK")
    page.fill("#wo-parts-input", "Kit joints pompe A10VSO 45\nPlaque d'usure")
    expect(page.locator("#wo-rebaseline")).to_be_checked()
    page.locator("#wo-close").scroll_into_view_if_needed()
    screenshot(page, f"workorders-close-{name}")
    _fits(page)
    page.click("#wo-close-submit")
    expect(page.locator("#wo-success")).to_have_text("✓ Bon de travail clôturé.")
    expect(page.locator("#wo-status")).to_have_text("Clôturé")
    expect(page.locator("#wo-outcome [data-field=fault_mode]")).to_have_text("Fuite de pompe")
    expect(page.locator("#wo-parts li")).to_have_count(2)
    expect(page.locator("#wo-trail li")).to_have_count(4)
    expect(page.locator("#wo-close-form")).to_have_count(0)
    screenshot(page, f"workorders-closed-{name}")
    _fits(page)
    # The same order in English: labels follow the page's language, the stored codes do not change.
    page.click("form.lang button")
    expect(page.locator("#wo-status")).to_have_text("Closed")
    expect(page.locator("#wo-outcome [data-field=fault_mode]")).to_have_text("Pump leak")
    screenshot(page, f"workorders-closed-en-{name}")
    _fits(page)
    page.click("form.lang button")

    closed = plant.service().get(order_id)
    assert closed.status is WorkOrderStatus.CLOSED and closed.fault_mode == "pump_leak"
    assert closed.parts_replaced == ("Kit joints pompe A10VSO 45", "Plaque d'usure")
    assert closed.rebaseline and closed.subsystem == "pump" and closed.assignee == COLLEAGUE
    assert closed.episode_start_us == NOW_US - 40 * MINUTE_US and closed.episode_end_us == closed.closed_us

    # The list: the two open orders, urgent first, then the history; and from the menu.
    page.click("header nav a[href='/workorders']")
    expect(page).to_have_url(f"{url}/workorders")
    rows = page.locator("#wo-open a.wo-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Fuite d'huile au pied de la presse")
    expect(page.locator(f"#wo-history tr[data-order='{order_id}']")).to_contain_text("Fuite de pompe")
    screenshot(page, f"workorders-list-{name}")
    _fits(page)

    # The press page counts its open orders (none left on P02) and links to them.
    page.goto(f"{url}/presses/P04")
    expect(page.locator("#workorders-link .badge")).to_have_text("1")
    _fits(page)
    # The browser's own favicon request is not one of the page's (its 404 shows only as a console line);
    # every response of the page itself is checked by the listener above.
    assert [p for p in problems if not p.startswith("Failed to load resource")] == [], problems
