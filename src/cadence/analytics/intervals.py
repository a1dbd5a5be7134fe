"""The state engine: turn a press's state changes and strokes into intervals that tile a period.

A machine reports state *changes*; each change holds until the next one. :func:`tile` cuts a period
``[start_us, end_us)`` into contiguous, non-overlapping intervals, each with one :class:`Category`, the
reason code it was given and the change it came from, so every minute of a KPI can be traced back to a
message. The rules (docs/guides/kpis.md explains why):

* before the first change the state is unknown (``UNKNOWN``); an ``offline`` state is unknown too;
* an ``idle`` or ``down`` stop strictly shorter than ``micro_stop_s`` (default 300 s) is a ``MICRO_STOP``,
  whatever its reason, measured over the whole stop, not only the part inside the period;
* an ``idle`` stop whose reason is one of ``no_order_reasons`` (or below one) is ``NO_ORDER``;
* a stop without a reason is ``unqualified`` (an operator still has to give one), except micro-stops,
  which are not coded one by one (docs/domain.md §2.8);
* with ``max_stroke_gap_s`` set, a ``running`` stretch without any stroke for strictly longer than that is
  a stop (``inferred=True``): a press that says it runs but makes no part is not producing.

>>> from cadence.domain.states import MachineState, StateChange
>>> changes = [StateChange(0, MachineState.RUNNING), StateChange(60_000_000, MachineState.IDLE),
...            StateChange(90_000_000, MachineState.DOWN, "breakdown.hydraulic")]
>>> for i in tile(changes, [], start_us=-10_000_000, end_us=1_000_000_000):
...     print(i.start_us // 1_000_000, i.end_us // 1_000_000, i.category, i.reason, i.unqualified)
-10 0 unknown None False
0 60 running None False
60 90 micro_stop None False
90 1000 down breakdown.hydraulic False
"""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from cadence.domain.states import MachineState, StateChange

US_PER_S = 1_000_000
# docs/domain.md §2.8: the micro-stop threshold lies between 1 and 10 min, usually 5 min.
DEFAULT_MICRO_STOP_S = 300.0
# A reason code for "available, no order released" (ADOT); not in DEFAULT_REASONS yet, so configurable.
DEFAULT_NO_ORDER_REASONS: tuple[str, ...] = ("waiting.order",)


class Category(enum.StrEnum):
    """What an interval of time was, after the state engine's rules."""

    RUNNING = "running"
    IDLE = "idle"  # waiting (operator, material…) for at least the micro-stop threshold
    MICRO_STOP = "micro_stop"  # an idle or down stop shorter than the threshold
    DOWN = "down"  # unplanned stop: breakdown, fault
    PLANNED_STOP = "planned_stop"
    SETUP = "setup"
    NO_ORDER = "no_order"  # idle with a no-order reason
    UNKNOWN = "unknown"  # no data: before the first change, or offline


@dataclass(frozen=True, slots=True)
class Interval:
    """``[start_us, end_us)`` spent in ``category``.

    ``source`` is the state change the interval comes from (``None`` before the first change);
    ``inferred`` marks a stop found from a stroke gap while the machine reported ``running``.
    """

    start_us: int
    end_us: int
    category: Category
    reason: str | None = None
    source: StateChange | None = None
    unqualified: bool = False
    inferred: bool = False

    @property
    def duration_s(self) -> float:
        return (self.end_us - self.start_us) / US_PER_S


def _normalise(changes: Iterable[StateChange]) -> list[StateChange]:
    # Sorted by time; for equal timestamps the last one given wins (a correction re-sent for the same
    # instant); repeats of the same state and reason are one stop, so the micro-stop rule sees its full
    # length and drill-down points at the change that started it.
    by_ts: dict[int, StateChange] = {}
    for change in changes:
        by_ts[change.ts_us] = change
    out: list[StateChange] = []
    for ts in sorted(by_ts):
        change = by_ts[ts]
        if out and out[-1].state is change.state and out[-1].reason == change.reason:
            continue
        out.append(change)
    return out


def _is_no_order(reason: str | None, no_order_reasons: Sequence[str]) -> bool:
    return reason is not None and any(reason == r or reason.startswith(r + ".") for r in no_order_reasons)


def _stop(
    begin: int,
    stop: int,
    change: StateChange,
    micro_stop_us: float,
    no_order_reasons: Sequence[str],
    *,
    inferred: bool = False,
) -> Interval:
    state = MachineState.IDLE if inferred else change.state
    reason = None if inferred else change.reason
    if state is MachineState.OFFLINE:
        return Interval(begin, stop, Category.UNKNOWN, reason, change)
    if state in (MachineState.IDLE, MachineState.DOWN) and stop - begin < micro_stop_us:
        category = Category.MICRO_STOP
    elif state is MachineState.IDLE:
        category = Category.NO_ORDER if _is_no_order(reason, no_order_reasons) else Category.IDLE
    else:
        category = Category(state.value)
    unqualified = reason is None and category is not Category.MICRO_STOP
    return Interval(begin, stop, category, reason, change, unqualified, inferred)


class _Strokes:
    """Stroke spans sorted by start, with the running maximum of their ends for range queries."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        self.spans = sorted(spans)
        self.starts = [s for s, _ in self.spans]
        self.max_ends = list(accumulate((e for _, e in self.spans), max))

    def busy(self, begin: int, stop: int) -> list[tuple[int, int]]:
        """The union of stroke spans that touch ``[begin, stop)``, clipped to it, in time order."""
        first = bisect_left(self.max_ends, begin)  # earlier strokes all ended before ``begin``
        last = bisect_left(self.starts, stop)
        merged: list[tuple[int, int]] = []
        for s, e in self.spans[first:last]:
            if e < begin:
                continue
            lo, hi = max(s, begin), min(e, stop)
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        return merged


def _running(
    change: StateChange,
    stop: int,
    strokes: _Strokes,
    *,
    max_gap_us: float | None,
    micro_stop_us: float,
    no_order_reasons: Sequence[str],
) -> list[Interval]:
    begin = change.ts_us
    if max_gap_us is None:
        return [Interval(begin, stop, Category.RUNNING, change.reason, change)]
    # Gaps between stroke activity (and from the start of the stretch to the first stroke, and from the
    # last stroke to its end) longer than the allowed gap are stops.
    gaps: list[tuple[int, int]] = []
    cursor = begin
    for s, e in [*strokes.busy(begin, stop), (stop, stop)]:
        if s - cursor > max_gap_us:
            gaps.append((cursor, s))
        cursor = max(cursor, e)
    out: list[Interval] = []
    position = begin
    for gap_start, gap_end in gaps:
        if gap_start > position:
            out.append(Interval(position, gap_start, Category.RUNNING, change.reason, change))
        out.append(_stop(gap_start, gap_end, change, micro_stop_us, no_order_reasons, inferred=True))
        position = gap_end
    if position < stop:
        out.append(Interval(position, stop, Category.RUNNING, change.reason, change))
    return out


def tile(
    changes: Iterable[StateChange],
    strokes: Iterable[tuple[int, int]],
    start_us: int,
    end_us: int,
    *,
    micro_stop_s: float = DEFAULT_MICRO_STOP_S,
    max_stroke_gap_s: float | None = None,
    no_order_reasons: Sequence[str] = DEFAULT_NO_ORDER_REASONS,
) -> list[Interval]:
    """Cut ``[start_us, end_us)`` into contiguous, non-overlapping, categorised intervals.

    Parameters
    ----------
    changes
        The machine's state changes, in any order; several at one timestamp keep the last one given.
        Changes before and after the period matter: they bound the stops that cross its edges.
    strokes
        ``(start_us, end_us)`` of the machine's strokes (``[(s.start_us, s.end_us) for s in strokes]``);
        used only when ``max_stroke_gap_s`` is set.
    start_us, end_us
        The period, in microseconds.
    micro_stop_s
        An ``idle`` or ``down`` stop strictly shorter than this is a micro-stop (docs/domain.md §2.8).
    max_stroke_gap_s
        While ``running``, a stretch without stroke activity strictly longer than this becomes an
        ``inferred`` stop; ``None`` trusts the reported state. A sensible value is 3 × the planned cycle.
    no_order_reasons
        Reason codes (and their children) that make an ``idle`` stop ``NO_ORDER``.

    Returns
    -------
    list[Interval]
        Sorted intervals; the first starts at ``start_us``, each starts where the previous one ends and
        the last ends at ``end_us`` (empty when the period is empty).

    References
    ----------
    ISO 22400-2:2014, time elements of a work unit; docs/domain.md §2.2 and §2.8.

    Examples
    --------
    A running press that makes no stroke for 100 s (more than 3 × its 12 s cycle) has a micro-stop:

    >>> from cadence.domain.states import MachineState, StateChange
    >>> strokes = [(t * 1_000_000, (t + 8) * 1_000_000) for t in (0, 12, 24, 124, 136)]
    >>> for i in tile([StateChange(0, MachineState.RUNNING)], strokes, 0, 150_000_000,
    ...               max_stroke_gap_s=36):
    ...     print(i.start_us // 1_000_000, i.end_us // 1_000_000, i.category, i.inferred)
    0 32 running False
    32 124 micro_stop True
    124 150 running False
    """
    if end_us < start_us:
        raise ValueError(f"period ends ({end_us}) before it starts ({start_us})")
    if micro_stop_s < 0:
        raise ValueError(f"micro_stop_s must be >= 0, got {micro_stop_s}")
    if max_stroke_gap_s is not None and max_stroke_gap_s < 0:
        raise ValueError(f"max_stroke_gap_s must be >= 0 or None, got {max_stroke_gap_s}")
    if end_us == start_us:
        return []
    micro_us = micro_stop_s * US_PER_S
    gap_us = None if max_stroke_gap_s is None else max_stroke_gap_s * US_PER_S
    spans = _Strokes(strokes)
    ordered = _normalise(changes)

    # Only the change in force at ``start_us`` and the ones up to ``end_us`` matter; the first change at or
    # after ``end_us`` still bounds the last stop, so its full length decides whether it is a micro-stop.
    first = max(0, bisect_left([c.ts_us for c in ordered], start_us + 1) - 1)
    out: list[Interval] = []
    if not ordered or ordered[first].ts_us > start_us:
        head_end = min(end_us, ordered[first].ts_us) if ordered else end_us
        out.append(Interval(start_us, head_end, Category.UNKNOWN))
    for k in range(first, len(ordered)):
        change = ordered[k]
        if change.ts_us >= end_us:
            break
        # The last change's stop is open: measured to the period's end until the next change arrives.
        seg_end = ordered[k + 1].ts_us if k + 1 < len(ordered) else end_us
        if change.state is MachineState.RUNNING:
            pieces = _running(
                change,
                seg_end,
                spans,
                max_gap_us=gap_us,
                micro_stop_us=micro_us,
                no_order_reasons=no_order_reasons,
            )
        else:
            pieces = [_stop(change.ts_us, seg_end, change, micro_us, no_order_reasons)]
        for piece in pieces:
            begin, stop = max(piece.start_us, start_us), min(piece.end_us, end_us)
            if stop > begin:
                out.append(
                    Interval(
                        begin,
                        stop,
                        piece.category,
                        piece.reason,
                        piece.source,
                        piece.unqualified,
                        piece.inferred,
                    )
                )
    return out


def durations_by_category(intervals: Iterable[Interval]) -> dict[Category, float]:
    """Seconds spent in each category (every category present, zero when absent).

    Examples
    --------
    >>> from cadence.domain.states import MachineState, StateChange
    >>> spans = tile([StateChange(0, MachineState.RUNNING), StateChange(600_000_000, MachineState.SETUP)],
    ...              [], start_us=0, end_us=900_000_000)
    >>> d = durations_by_category(spans)
    >>> d[Category.RUNNING], d[Category.SETUP], d[Category.DOWN]
    (600.0, 300.0, 0.0)
    """
    totals = dict.fromkeys(Category, 0.0)
    for interval in intervals:
        totals[interval.category] += interval.duration_s
    return totals
