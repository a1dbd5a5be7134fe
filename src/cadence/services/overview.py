"""What a plant-overview tile shows for one press, computed from the store over the current shift.

The same figures feed the page's first render; live events then update them (cadence.live).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from cadence.analytics.oee import OeeResult, shift_oee, time_in_states
from cadence.clock import from_datetime, to_datetime
from cadence.domain.cycles import Stroke
from cadence.domain.plant import Machine, Plant
from cadence.domain.shifts import current_shift
from cadence.domain.states import StateChange
from cadence.ports import TimeSeriesStore

US = 1_000_000
# Strokes read to count a shift's parts: a 3 s cycle for 8 hours is 9,600 strokes.
MAX_STROKES_PER_SHIFT = 20_000


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    name: str | None  # None outside the shift calendar
    start_us: int
    end_us: int


@dataclass(frozen=True, slots=True)
class Tile:
    machine: Machine
    state: StateChange | None
    good: int
    scrap: int
    last_stroke: Stroke | None
    oee: OeeResult | None
    active_alarms: int
    shift: ShiftWindow

    @property
    def last_cycle_s(self) -> float | None:
        if self.last_stroke is None:
            return None
        return self.last_stroke.features.get("cycle_time_s")


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
    changes = store.states(machine.id, 0, now_us + 1)
    strokes = store.strokes(machine.id, window.start_us, window.end_us + 1, limit=MAX_STROKES_PER_SHIFT)
    good = sum(1 for s in strokes if s.good)
    scrap = len(strokes) - good
    result = None
    if machine.target_cycle_s and changes:
        durations = time_in_states(
            ((c.ts_us / US, c.state.value) for c in changes), window.start_us / US, window.end_us / US
        )
        if sum(durations.values()) > 0:
            result = shift_oee(durations, machine.target_cycle_s, pq=len(strokes), gq=good)
    return Tile(
        machine=machine,
        state=changes[-1] if changes else None,
        good=good,
        scrap=scrap,
        last_stroke=strokes[0] if strokes else None,  # the store returns strokes newest first
        oee=result,
        active_alarms=alarms,
        shift=window,
    )
