"""What a plant-overview tile shows for one press, computed from the store over the current shift.

The figures come from :func:`cadence.services.production.press_period`, the reading the end-of-shift
report and the press page use too: the operators' stop reasons are applied before tiling and their
declared scrap counts in quality, so a tile's OEE is the report's OEE for the same window. The same
figures feed the page's first render; live events then update the state and the counts (cadence.live),
and htmx re-renders the tiles every 30 s for the OEE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from cadence.analytics.kpi import KpiReport
from cadence.clock import from_datetime, to_datetime
from cadence.domain.cycles import Stroke
from cadence.domain.operator import apply_stop_reasons
from cadence.domain.plant import Machine, Plant
from cadence.domain.shifts import current_shift
from cadence.domain.states import StateChange
from cadence.ports import TimeSeriesStore
from cadence.services.production import press_period

# Strokes read to count a shift's parts: a 3 s cycle for 8 hours is 9,600 strokes.
MAX_STROKES_PER_SHIFT = 20_000


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    name: str | None  # None outside the shift calendar
    start_us: int
    end_us: int


@dataclass(frozen=True, slots=True)
class Tile:
    """One press over the shift so far. ``good`` is GQ and ``scrap`` SQ + RQ of :attr:`kpi` (declared scrap
    included); ``kpi`` is None only at the very instant a shift starts (an empty period)."""

    machine: Machine
    state: StateChange | None
    good: int
    scrap: int
    last_stroke: Stroke | None
    kpi: KpiReport | None
    active_alarms: int
    shift: ShiftWindow

    @property
    def last_cycle_s(self) -> float | None:
        if self.last_stroke is None:
            return None
        return self.last_stroke.features.get("cycle_time_s")

    @property
    def oee(self) -> KpiReport | None:
        """The report whose ``.oee`` a template shows, None when the press has no planned cycle time
        (OEE needs a PRI: 0 % would be a lie)."""
        return self.kpi if self.kpi is not None and self.machine.target_cycle_s else None


def shift_window(plant: Plant, now_us: int) -> ShiftWindow:
    """The shift running now in the plant's time zone; outside the calendar (weekends, nights off), today
    since local midnight — a fixed start, so that counts grow through the day instead of sliding."""
    now = to_datetime(now_us).astimezone(ZoneInfo(plant.site.timezone))
    shift = current_shift(plant.shifts, now)
    if shift is not None:
        return ShiftWindow(shift.name, from_datetime(shift.start), min(from_datetime(shift.end), now_us))
    midnight: datetime = datetime.combine(now.date(), time(0), now.tzinfo)
    return ShiftWindow(None, from_datetime(midnight), now_us)


def tiles(plant: Plant, store: TimeSeriesStore, now_us: int) -> list[Tile]:
    """One tile per machine of the plant, in plant order."""
    window = shift_window(plant, now_us)
    alarms = store.alarms(limit=1_000, active=True)
    out = []
    for machine in plant.machines:
        out.append(_tile(machine, store, window, now_us, sum(1 for a in alarms if a.machine == machine.id)))
    return out


def tile(plant: Plant, store: TimeSeriesStore, machine: Machine, now_us: int) -> Tile:
    """The tile of one machine (a press page needs only its own, not the whole plant's)."""
    alarms = store.alarms(limit=1_000, active=True, machine=machine.id)
    return _tile(machine, store, shift_window(plant, now_us), now_us, len(alarms))


def _tile(machine: Machine, store: TimeSeriesStore, window: ShiftWindow, now_us: int, alarms: int) -> Tile:
    state = store.state_at(machine.id, now_us)
    if state is not None and state.state.is_stop:
        # The operator's reason for the stop under way, as the report will show it.
        state = apply_stop_reasons([state], store.stop_reasons(machine.id, state.ts_us, state.ts_us + 1))[0]
    if window.end_us <= window.start_us:  # the very instant the shift starts: nothing counted yet
        return Tile(machine, state, 0, 0, None, None, alarms, window)
    period = press_period(
        store, machine, window.start_us, window.end_us, now_us=now_us, max_strokes=MAX_STROKES_PER_SHIFT
    )
    kpi = period.kpi
    return Tile(
        machine=machine,
        state=state,
        good=kpi.gq,
        scrap=kpi.pq - kpi.gq,
        last_stroke=period.strokes[0] if period.strokes else None,  # the store returns newest first
        kpi=kpi,
        active_alarms=alarms,
        shift=window,
    )
