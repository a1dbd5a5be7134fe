"""One reading of what a press did in a period, shared by every KPI view: tiles, press page and reports.

The store holds what the press reported (state changes, strokes) and what operators recorded about it
(stop reasons, scrap found later). :func:`press_period` reads both for ``[start_us, end_us)`` and hands
them to the pure core in one fixed way:

1. the changes needed to tile the period: the one in force at its start (however old, one index seek),
   those inside it, and those up to ``micro_stop_s`` past its end (a stop crossing the end is a
   micro-stop or not by its whole length);
2. the operators' latest reason for each stop put on those changes
   (:func:`cadence.domain.operator.apply_stop_reasons`) *before* tiling, so a qualified stop is no longer
   ``unqualified`` and an ``idle`` stop given a no-order reason counts as no order;
3. :func:`cadence.analytics.intervals.tile`, then :func:`cadence.analytics.kpi.kpi_report` with the
   strokes that end in the period and the scrap declared in it, with ``target_cycle_s`` as PRI.

So the overview tile, the press page and the end-of-shift report give the same OEE for the same window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cadence.analytics.intervals import DEFAULT_MICRO_STOP_S, US_PER_S, Interval, tile
from cadence.analytics.kpi import KpiReport, kpi_report
from cadence.domain.cycles import Stroke
from cadence.domain.operator import apply_stop_reasons
from cadence.domain.plant import Machine
from cadence.domain.states import StateChange
from cadence.ports import TimeSeriesStore

# Strokes are looked up by their start but counted in the period in which they end: look back enough to
# catch a stroke that began before the period (no press stroke lasts 10 minutes).
STROKE_LOOKBACK_US = 10 * 60 * US_PER_S
# Earlier repeats of a stop read at most: a gateway re-sending its state on each reconnect, not a history.
MAX_REPEATS = 1_000
# A 3 s cycle over a 12-hour shift is 14,400 strokes; far above that means the read was cut short.
MAX_STROKES = 200_000


@dataclass(frozen=True, slots=True)
class PressPeriod:
    """A press over ``[start_us, end_us)``: the inputs read and the KPI report made from them.

    ``changes`` carry the operators' reasons; ``strokes`` are those read (newest first, the look-back
    included), ``kpi.strokes`` those counted. ``truncated``: ``max_strokes`` were read, counts are a
    lower bound. ``has_pri``: the press has a planned cycle time, so effectiveness and OEE mean something.
    """

    machine: Machine
    start_us: int
    end_us: int
    changes: tuple[StateChange, ...]
    strokes: tuple[Stroke, ...]
    intervals: tuple[Interval, ...]
    kpi: KpiReport
    truncated: bool

    @property
    def has_pri(self) -> bool:
        return self.machine.target_cycle_s is not None


def decisive_changes(store: TimeSeriesStore, machine: str, start_us: int, end_us: int) -> list[StateChange]:
    """The state changes that decide ``[start_us, end_us)``, oldest first, operators' reasons applied.

    The change in force at ``start_us`` comes from one index seek. When it is a stop, the earlier changes
    of the same state are read too: once the operators' reasons are applied, those that end up with the
    same reason (a gateway re-publishing its state after a reconnect, or a stop the operator qualified
    with the reason the controller later sent) are one stop for the state engine, whose first change
    keys the reason and whose whole length decides whether it is a micro-stop.
    """
    changes = store.states_since(machine, start_us, end_us)
    if not changes:
        return []
    head = changes[0]
    earlier: list[StateChange] = []
    if head.state.is_stop:
        for _ in range(MAX_REPEATS):
            prev = store.state_at(machine, head.ts_us - 1)
            if prev is None or prev.state != head.state:
                break
            earlier.append(prev)
            head = prev
        changes = earlier[::-1] + changes
    # Reasons are keyed by their stop's start: the stop in force at start_us may have begun long ago.
    applied = apply_stop_reasons(changes, store.stop_reasons(machine, changes[0].ts_us, end_us))
    # Keep the stop in force at start_us from its first change: the same-state changes before it that
    # kept another reason are another stop, over before the period.
    first = len(earlier)
    while first > 0 and (applied[first - 1].state, applied[first - 1].reason) == (
        applied[first].state,
        applied[first].reason,
    ):
        first -= 1
    return applied[first:]


def press_period(
    store: TimeSeriesStore,
    machine: Machine,
    start_us: int,
    end_us: int,
    *,
    now_us: int | None = None,
    micro_stop_s: float = DEFAULT_MICRO_STOP_S,
    max_strokes: int = MAX_STROKES,
) -> PressPeriod:
    """Read ``machine``'s period from ``store`` and compute its KPIs (``end_us`` > ``start_us``).

    A stop crossing ``end_us`` is classified by its length up to ``micro_stop_s`` past the end: the state
    engine tiles that far, then the intervals are cut at ``end_us``. ``now_us``, when given, caps that
    look-ahead: what has not happened yet cannot lengthen a stop.
    """
    if end_us <= start_us:
        raise ValueError(f"empty period: {start_us} to {end_us}")
    tile_end = end_us + int(micro_stop_s * US_PER_S) + 1
    if now_us is not None:
        tile_end = max(end_us, min(tile_end, now_us))
    changes = decisive_changes(store, machine.id, start_us, tile_end)
    strokes = store.strokes(machine.id, start_us - STROKE_LOOKBACK_US, end_us, limit=max_strokes)
    declarations = store.scrap_declarations(machine.id, start_us, end_us)
    intervals = [
        replace(iv, end_us=min(iv.end_us, end_us))
        for iv in tile(changes, [], start_us, tile_end, micro_stop_s=micro_stop_s)
        if iv.start_us < end_us
    ]
    kpi = kpi_report(intervals, strokes, pri_s=machine.target_cycle_s or 0.0, declarations=declarations)
    return PressPeriod(
        machine=machine,
        start_us=start_us,
        end_us=end_us,
        changes=tuple(changes),
        strokes=tuple(strokes),
        intervals=tuple(intervals),
        kpi=kpi,
        truncated=len(strokes) >= max_strokes,
    )
