"""KPIs over long periods: hour rollups kept in the store, and period figures that are exact and current.

A shift's KPIs come from the raw state changes and strokes (:func:`cadence.analytics.intervals.tile`, then
:func:`cadence.analytics.kpi.kpi_report`); a year of twenty presses is far too much raw data for that.
This module keeps, per machine and clock hour, the sums those two functions would produce
(:class:`cadence.ports.KpiRollup`: seconds per interval category, PQ, GQ, SQ, RQ, declared scrap, PRI·PQ,
PRI·GQ, failure events, energy, downtime by reason), and the store keeps the sum of every whole local day.
docs/guides/kpis.md ("Rollups") explains when an hour closes, how late data invalidates it, and why the
sums are exact.

API (stable: the ROI view and the ``/api/v1/kpis`` route use it)
-----------------------------------------------------------------

``period_figures(plant, store, start_us, end_us, machines=None, by=None, tz=None, *, now_us=None)``
    ``list[PeriodFigures]``: one per machine (plant order) and per bucket (time order). ``by`` is
    ``None`` (one bucket, the whole period), ``"day"`` (local days in ``tz``, default the plant's time
    zone; the first and last are cut by the period) or ``"hour"``. Day sums and clean hour rollups are
    used where they lie inside a bucket; everything else (the current hour, hours not closed yet, hours
    made dirty by late data) is computed live from the raw data, so the answer is the one ``tile`` +
    ``kpi_report`` give over the same period. ``now_us`` cuts the period at "now" (time to come is not
    a loss) and measures stops still open up to it.
``PeriodFigures``
    Frozen: ``machine`` (None when pooled), ``machines``, ``start_us``, ``end_us``, the time elements in
    seconds (``running_s``, ``idle_s``, ``micro_stop_s``, ``down_s``, ``planned_stop_s``, ``setup_s``,
    ``no_order_s``, ``unknown_s``), ``pq``, ``gq``, ``sq``, ``rq`` (declared scrap included, as
    ``kpi_report`` counts it), ``declared``, ``pri_pq_s`` and ``pri_gq_s`` (None without a target cycle),
    ``failure_events``, ``energy_kwh`` (None without a motor power signal), ``metered_gq`` (the good parts
    of metered machines) and ``downtime_by_reason`` (seconds; ``unqualified`` and ``micro_stop`` keys of
    their own; :func:`pool` orders them longest first). Properties: ``pot_s``, ``pbt_s``, ``apt_s``,
    ``adot_s``, ``aust_s``, ``adet_s``, ``stop_s``, ``availability``, ``effectiveness``,
    ``quality_ratio``, ``oee``, ``good_per_planned_hour``, ``scrap_rate``, ``energy_per_good_part_kwh``,
    ``mttr_s``, ``mtbf_s``.
``pool(figures)`` / ``PeriodFigures.pooled(figures)``
    Several machines or buckets as one: sums, so every ratio is a ratio of sums.
``pooled_figures(plant, store, start_us, end_us, machines=None, by=None, tz=None, *, now_us=None,
skip_missing=False)``
    One figure per bucket, the machines pooled: :func:`pool` of each bucket of ``period_figures``, with
    the plant's local days summed across machines by the store (365 rows for a year of a plant, not
    7,300 figures). ``skip_missing`` passes each machine's bucket through :func:`present` first (the ROI
    view's rule: missing data is not zero).
``refresh(plant, store, now_us)``
    Computes the closed hours not rolled up yet and the dirty ones; the runtime's maintenance loop calls
    it every ``kpi_refresh_interval_s``.

>>> f = PeriodFigures(machine="P01", machines=("P01",), start_us=0, end_us=3_600_000_000,
...                   running_s=3000.0, down_s=300.0, planned_stop_s=300.0, pq=300, gq=290, sq=10,
...                   pri_pq_s=2700.0, pri_gq_s=2610.0, failure_events=1, energy_kwh=9.5, metered_gq=290)
>>> round(f.availability, 4), round(f.oee, 4), f.mttr_s, round(f.energy_per_good_part_kwh, 4)
(0.9091, 0.7909, 300.0, 0.0328)
>>> from dataclasses import replace
>>> g = pool([f, replace(f, machine="P02", machines=("P02",), pq=100, gq=100, sq=0, pri_gq_s=900.0)])
>>> g.machine, g.machines, g.pq, g.gq, round(g.oee, 4)
(None, ('P01', 'P02'), 400, 390, 0.5318)
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np

from cadence.analytics.intervals import DEFAULT_MICRO_STOP_S, US_PER_S, Category, Interval, tile
from cadence.analytics.kpi import kpi_report
from cadence.clock import from_datetime, to_datetime
from cadence.domain.cycles import Stroke
from cadence.domain.operator import ScrapDeclaration
from cadence.domain.plant import Machine, Plant
from cadence.errors import BadRequest, NotFound
from cadence.ports import KpiDayPool, KpiRollup, Resolution, TimeSeriesStore, sum_rollups
from cadence.services.production import STROKE_LOOKBACK_US, decisive_changes

logger = logging.getLogger(__name__)

HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
# The store's invalidation looks back one hour before a late state change (ops.KPI_LOOKBACK_US): rollups
# are only kept for micro-stop thresholds up to that.
MAX_ROLLUP_MICRO_STOP_S = 3600.0
# A 3 s cycle for a week of hours is 201,600 strokes; the refresh works a week per machine at most.
MAX_STROKES = 250_000
# Hours one refresh pass computes per machine: a week, about a second of work per press (benchmarks),
# so a first start on a year of history catches up in passes instead of holding the loop for minutes.
# The store does not mark hours dirty more than 31 days past a machine's rollups (ops.KPI_MAX_AHEAD_US): a
# pass must stay within that.
REFRESH_MAX_HOURS = 7 * 24
# The motor power signal that gives energy (docs/reference/plant-file.md), and its units in kW.
POWER_SIGNAL = "motor_power"
POWER_UNITS_KW = {"kW": 1.0, "W": 1e-3, "MW": 1e3}
# Pareto keys that are not reason codes, the same as the shift report's (cadence.reports.shift).
UNQUALIFIED = "unqualified"
MICRO_STOPS = "micro_stop"
BUCKETS = ("day", "hour")

_STOPS = frozenset(Category) - {Category.RUNNING, Category.UNKNOWN}
_FIELD_OF = {
    Category.RUNNING: "running_us",
    Category.IDLE: "idle_us",
    Category.MICRO_STOP: "micro_stop_us",
    Category.DOWN: "down_us",
    Category.PLANNED_STOP: "planned_stop_us",
    Category.SETUP: "setup_us",
    Category.NO_ORDER: "no_order_us",
    Category.UNKNOWN: "unknown_us",
}


class SecondsView(Mapping[str, float]):
    """Microsecond values read as seconds, without copying: a year of a plant by day makes 7,300 of these.

    >>> dict(SecondsView({"breakdown.die": 90_000_000}))
    {'breakdown.die': 90.0}
    """

    __slots__ = ("_us",)

    def __init__(self, us: Mapping[str, int]) -> None:
        self._us = us

    def __getitem__(self, key: str) -> float:
        return self._us[key] / US_PER_S

    def __iter__(self) -> Iterator[str]:
        return iter(self._us)

    def __len__(self) -> int:
        return len(self._us)

    def __repr__(self) -> str:
        return repr(dict(self))


def _ratio(num: float | None, den: float) -> float | None:
    if num is None:
        return None
    return num / den if den > 0 else 0.0


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """The KPI time elements (seconds) and quantities of one machine (or a pool) over one period."""

    machine: str | None
    start_us: int
    end_us: int
    machines: tuple[str, ...] = ()
    running_s: float = 0.0
    idle_s: float = 0.0
    micro_stop_s: float = 0.0
    down_s: float = 0.0
    planned_stop_s: float = 0.0
    setup_s: float = 0.0
    no_order_s: float = 0.0
    unknown_s: float = 0.0
    pq: int = 0
    gq: int = 0
    sq: int = 0
    rq: int = 0
    declared: int = 0
    pri_pq_s: float | None = None
    pri_gq_s: float | None = None
    failure_events: int = 0
    energy_kwh: float | None = None
    metered_gq: int = 0
    downtime_by_reason: Mapping[str, float] = field(default_factory=dict)

    # ISO 22400-2 time elements (docs/guides/kpis.md).
    @property
    def pot_s(self) -> float:
        """Planned operation time: every second of the period (of every pooled machine)."""
        return (
            self.running_s
            + self.idle_s
            + self.micro_stop_s
            + self.down_s
            + self.planned_stop_s
            + self.setup_s
            + self.no_order_s
            + self.unknown_s
        )

    @property
    def pbt_s(self) -> float:
        """Planned busy time PBT = POT − PDOT."""
        return self.pot_s - self.planned_stop_s

    @property
    def apt_s(self) -> float:
        return self.running_s

    @property
    def adot_s(self) -> float:
        return self.idle_s + self.no_order_s

    @property
    def aust_s(self) -> float:
        return self.setup_s

    @property
    def adet_s(self) -> float:
        """Malfunctions and minor stoppages."""
        return self.down_s + self.micro_stop_s

    @property
    def stop_s(self) -> float:
        """Every stop (the downtime Pareto's total): all but running and unknown time."""
        return self.pot_s - self.running_s - self.unknown_s

    @property
    def availability(self) -> float:
        """A = APT / PBT."""
        return self.running_s / self.pbt_s if self.pbt_s > 0 else 0.0

    @property
    def effectiveness(self) -> float | None:
        """E = PRI · PQ / APT; None without a target cycle."""
        return _ratio(self.pri_pq_s, self.running_s)

    @property
    def quality_ratio(self) -> float:
        """QR = GQ / PQ."""
        return self.gq / self.pq if self.pq else 0.0

    @property
    def oee(self) -> float | None:
        """OEE = PRI · GQ / PBT; None without a target cycle."""
        return _ratio(self.pri_gq_s, self.pbt_s)

    @property
    def good_per_planned_hour(self) -> float:
        """Good parts per hour of planned busy time."""
        return self.gq * 3600.0 / self.pbt_s if self.pbt_s > 0 else 0.0

    @property
    def scrap_rate(self) -> float:
        """SQ / PQ."""
        return self.sq / self.pq if self.pq else 0.0

    @property
    def energy_per_good_part_kwh(self) -> float | None:
        """Energy of the metered machines over their good parts; None without energy or good parts."""
        if self.energy_kwh is None or not self.metered_gq:
            return None
        return self.energy_kwh / self.metered_gq

    @property
    def mttr_s(self) -> float | None:
        """Σ down time / failure events; None without a failure."""
        return self.down_s / self.failure_events if self.failure_events else None

    @property
    def mtbf_s(self) -> float | None:
        """AUPT / failure events (ISO/DIS wording, as :attr:`KpiReport.mtbf_s`); None without a failure."""
        return (self.running_s + self.setup_s) / self.failure_events if self.failure_events else None

    @classmethod
    def pooled(cls, figures: Sequence[PeriodFigures]) -> PeriodFigures:
        """Several machines and/or periods as one; every ratio becomes a ratio of sums."""
        return pool(figures)


def pool(figures: Sequence[PeriodFigures]) -> PeriodFigures:
    """Sum figures of several machines or buckets: ratios of sums, never means of ratios.

    ``pri_*`` is None when any part lacks a target cycle (OEE would be wrong, not lower); ``energy_kwh``
    sums the metered parts (None if none is), with ``metered_gq`` their good parts. Pooling consecutive
    buckets of one machine adds their failure events as they are: a breakdown across midnight counts in
    both days, as ``kpi_report`` of each day counts it (ask for the whole period to count it once).
    """
    if not figures:
        raise ValueError("nothing to pool")
    machines = tuple(dict.fromkeys(m for f in figures for m in f.machines))
    with_pri = all(f.pri_pq_s is not None for f in figures)
    energies = [f.energy_kwh for f in figures if f.energy_kwh is not None]
    downtime: dict[str, float] = {}
    for f in figures:
        for key, s in f.downtime_by_reason.items():
            downtime[key] = downtime.get(key, 0.0) + s
    return PeriodFigures(
        machine=machines[0] if len(machines) == 1 else None,
        start_us=min(f.start_us for f in figures),
        end_us=max(f.end_us for f in figures),
        machines=machines,
        running_s=sum(f.running_s for f in figures),
        idle_s=sum(f.idle_s for f in figures),
        micro_stop_s=sum(f.micro_stop_s for f in figures),
        down_s=sum(f.down_s for f in figures),
        planned_stop_s=sum(f.planned_stop_s for f in figures),
        setup_s=sum(f.setup_s for f in figures),
        no_order_s=sum(f.no_order_s for f in figures),
        unknown_s=sum(f.unknown_s for f in figures),
        pq=sum(f.pq for f in figures),
        gq=sum(f.gq for f in figures),
        sq=sum(f.sq for f in figures),
        rq=sum(f.rq for f in figures),
        declared=sum(f.declared for f in figures),
        pri_pq_s=sum(f.pri_pq_s or 0.0 for f in figures) if with_pri else None,
        pri_gq_s=sum(f.pri_gq_s or 0.0 for f in figures) if with_pri else None,
        failure_events=sum(f.failure_events for f in figures),
        energy_kwh=sum(energies) if energies else None,
        metered_gq=sum(f.metered_gq for f in figures),
        downtime_by_reason=dict(sorted(downtime.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def figures_of(machine: Machine, total: KpiRollup) -> PeriodFigures:
    """The figures of a rollup (one span of one machine): declared scrap capped at the span's good parts and
    the down run in progress at its start counted, exactly as :func:`kpi_report` does for that span."""
    t = total
    declared_sq = min(t.declared, t.gq)
    gq = t.gq - declared_sq
    pri = machine.target_cycle_s
    pri_gq: float | None = None
    if pri is not None:
        pri_gq = float(pri) * gq if declared_sq else t.pri_gq_s
    # Positional, in field order: a year of a plant by day builds 7,300 of these.
    return PeriodFigures(
        machine.id,
        t.start_us,
        t.end_us,
        (machine.id,),
        t.running_us / US_PER_S,
        t.idle_us / US_PER_S,
        t.micro_stop_us / US_PER_S,
        t.down_us / US_PER_S,
        t.planned_stop_us / US_PER_S,
        t.setup_us / US_PER_S,
        t.no_order_us / US_PER_S,
        t.unknown_us / US_PER_S,
        t.pq,
        gq,
        t.sq + declared_sq,
        t.rq,
        t.declared,
        t.pri_pq_s if pri is not None else None,
        pri_gq,
        t.failure_events + t.down_carry,
        t.energy_kwh,
        gq if t.energy_kwh is not None else 0,
        SecondsView(t.downtime_us),
    )


# --- computing rollups from raw data -------------------------------------------------------------------


def _floor_hour(ts_us: int) -> int:
    return (ts_us // HOUR_US) * HOUR_US


def _power_kw_factor(machine: Machine) -> float | None:
    for spec in machine.signals:
        if spec.name == POWER_SIGNAL:
            return POWER_UNITS_KW.get(spec.unit)
    return None


def _energy(store: TimeSeriesStore, machine: Machine, cuts: Sequence[int]) -> list[float | None]:
    """kWh of each span between consecutive ``cuts``: mean power of each minute (the store's 1-minute
    rollups) × the part of the minute inside the span. A minute without samples adds nothing. Past the
    1-minute rollups' retention (400 days by default), the hourly ones stand in, the same way."""
    factor = _power_kw_factor(machine)
    if factor is None:
        return [None] * (len(cuts) - 1)
    width = MINUTE_US
    series = store.series(machine.id, POWER_SIGNAL, cuts[0] - width, cuts[-1], Resolution.MINUTE)
    if not len(series):
        width = HOUR_US
        series = store.series(machine.id, POWER_SIGNAL, cuts[0] - width, cuts[-1], Resolution.HOUR)
    starts = series.ts_us.astype(np.int64)
    means = series.values.astype(np.float64)
    out: list[float | None] = []
    for a, b in pairwise(cuts):
        lo = int(np.searchsorted(starts, a - width, side="right"))
        hi = int(np.searchsorted(starts, b, side="left"))
        s = starts[lo:hi]
        overlap_us = np.minimum(s + width, b) - np.maximum(s, a)
        kws = means[lo:hi] * np.clip(overlap_us, 0, None)
        out.append(float(kws.sum()) / US_PER_S / 3600.0 * factor)
    return out


def compute_rollups(
    store: TimeSeriesStore,
    machine: Machine,
    start_us: int,
    end_us: int,
    *,
    cuts: Iterable[int] = (),
    now_us: int | None = None,
    micro_stop_s: float = DEFAULT_MICRO_STOP_S,
) -> list[KpiRollup]:
    """Rollups of ``[start_us, end_us)`` from the raw data, one per span between ``cuts`` (the refresh cuts
    at every clock hour; a live query at its buckets' edges).

    A stop is classified by its whole length, read up to ``micro_stop_s`` past the end (or up to
    ``now_us``, when sooner): once that much is known its category cannot change, which is what makes an
    hour "closed". Failure events count the down runs that start in a span; a span beginning inside a
    down run carries it (``down_carry``), so sums of consecutive spans count each run once.
    """
    if end_us <= start_us:
        return []
    bounds = sorted({start_us, end_us, *(c for c in cuts if start_us < c < end_us)})
    tile_end = end_us + round(micro_stop_s * US_PER_S)
    if now_us is not None:
        tile_end = max(end_us, min(tile_end, now_us))
    changes = decisive_changes(store, machine.id, start_us - 1, tile_end)
    # One microsecond before the start tells what the span begins after: a down run in progress or not.
    intervals = tile(changes, [], start_us - 1, tile_end, micro_stop_s=micro_stop_s)
    strokes = [
        s
        for s in store.strokes(machine.id, start_us - STROKE_LOOKBACK_US, end_us, limit=MAX_STROKES)
        if start_us <= s.end_us < end_us
    ]
    if len(strokes) >= MAX_STROKES:
        logger.warning(
            "%s: more than %d strokes in one span; counts are a lower bound", machine.id, MAX_STROKES
        )
    strokes.sort(key=lambda s: s.end_us)
    stroke_ends = [s.end_us for s in strokes]
    declarations = store.scrap_declarations(machine.id, start_us, end_us)
    energy = _energy(store, machine, bounds)
    pri = machine.target_cycle_s or 0.0

    out: list[KpiRollup] = []
    k = 0  # index of the interval covering the span's start
    for n, (a, b) in enumerate(pairwise(bounds)):
        while intervals[k].end_us <= a:
            k += 1
        pieces: list[Interval] = []
        j = k
        while j < len(intervals) and intervals[j].start_us < b:
            i = intervals[j]
            pieces.append(replace(i, start_us=max(i.start_us, a), end_us=min(i.end_us, b)))
            j += 1
        # What the span begins after: the interval at a − 1 µs (the tiling starts before ``start_us``).
        before = intervals[k].category if intervals[k].start_us < a else intervals[k - 1].category
        times = dict.fromkeys(_FIELD_OF.values(), 0)
        downtime: dict[str, int] = {}
        events = 0
        last = before
        for piece in pieces:
            us = piece.end_us - piece.start_us
            times[_FIELD_OF[piece.category]] += us
            if piece.category is Category.DOWN and last is not Category.DOWN:
                events += 1
            last = piece.category
            if piece.category in _STOPS:
                if piece.category is Category.MICRO_STOP:
                    key = MICRO_STOPS
                elif piece.unqualified or piece.reason is None:
                    key = UNQUALIFIED
                else:
                    key = piece.reason
                downtime[key] = downtime.get(key, 0) + us
        # A run in progress at the start is not counted here (``last`` began as ``before``) but carried.
        carry = pieces[0].category is Category.DOWN and before is Category.DOWN
        lo, hi = bisect_left(stroke_ends, a), bisect_left(stroke_ends, b)
        mine: list[Stroke] = strokes[lo:hi]
        report = kpi_report(pieces, mine, pri_s=pri)
        found: list[ScrapDeclaration] = [d for d in declarations if a <= d.at_us < b]
        out.append(
            KpiRollup(
                machine.id,
                a,
                b,
                pq=report.pq,
                gq=report.gq,
                sq=report.sq,
                rq=report.rq,
                declared=sum(d.quantity for d in found),
                pri_pq_s=report.pri_pq_s,
                pri_gq_s=report.pri_gq_s,
                failure_events=events,
                down_carry=carry,
                energy_kwh=energy[n],
                downtime_us=downtime,
                **times,
            )
        )
    return out


# --- period queries ------------------------------------------------------------------------------------


def local_days(start_us: int, end_us: int, tz: str) -> list[tuple[int, int]]:
    """The local days of ``tz`` overlapping ``[start_us, end_us)``, as UTC µs spans (23 or 25 hours on the
    days clocks change).

    >>> [(a // 3_600_000_000, b // 3_600_000_000) for a, b in local_days(0, 86_400_000_000, "Europe/Paris")]
    [(-1, 23), (23, 47)]
    """
    zone = ZoneInfo(tz)
    day = to_datetime(start_us).astimezone(zone).date()
    out: list[tuple[int, int]] = []
    while True:
        a = from_datetime(datetime.combine(day, time(0), zone))
        b = from_datetime(datetime.combine(day + timedelta(days=1), time(0), zone))
        if a >= end_us:
            return out
        out.append((a, b))
        day += timedelta(days=1)


def _edges(start_us: int, end_us: int, by: str | None, tz: str) -> list[int]:
    """Bucket edges: the period's ends and every hour or local midnight strictly inside it."""
    if by is None:
        inner: list[int] = []
    elif by == "hour":
        inner = list(range(_floor_hour(start_us) + HOUR_US, end_us, HOUR_US))
    elif by == "day":
        inner = [a for a, _ in local_days(start_us, end_us, tz) if start_us < a < end_us]
    else:
        raise BadRequest(f"by must be one of {', '.join(BUCKETS)} or absent, got {by!r}", value=by)
    return [start_us, *inner, end_us]


def _gaps(start_us: int, end_us: int, covered: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of ``[start_us, end_us)`` that the (sorted, non-overlapping) spans leave uncovered."""
    out: list[tuple[int, int]] = []
    cursor = start_us
    for a, b in covered:
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end_us:
        out.append((cursor, end_us))
    return out


def _inside_one_bucket(r: KpiRollup, edges: Sequence[int]) -> bool:
    i = bisect_right(edges, r.start_us) - 1
    return 0 <= i < len(edges) - 1 and r.end_us <= edges[i + 1]


def machine_parts(
    store: TimeSeriesStore,
    machine: Machine,
    edges: Sequence[int],
    days: Sequence[KpiRollup],
    *,
    now_us: int | None,
    micro_stop_s: float,
) -> list[KpiRollup]:
    """Rollups tiling ``[edges[0], edges[-1])`` exactly, none straddling an edge: the day sums given, then
    clean hours, then live computation for what is left."""
    use_rollups = micro_stop_s == DEFAULT_MICRO_STOP_S
    following = dict(pairwise(edges))  # bucket start → its end: most rollups start a bucket

    def inside(r: KpiRollup) -> bool:
        end = following.get(r.start_us)
        return r.end_us <= end if end is not None else _inside_one_bucket(r, edges)

    parts = [d for d in days if inside(d)] if use_rollups else []
    rest = _fill(store, machine, edges, [(d.start_us, d.end_us) for d in parts], inside, now_us, micro_stop_s)
    return sorted([*parts, *rest], key=lambda r: r.start_us) if rest else parts


def _fill(  # noqa: PLR0917 - the pieces machine_parts and pooled_figures share
    store: TimeSeriesStore,
    machine: Machine,
    edges: Sequence[int],
    covered: Sequence[tuple[int, int]],
    inside: Callable[[KpiRollup], bool],
    now_us: int | None,
    micro_stop_s: float,
) -> list[KpiRollup]:
    """Rollups of what ``covered`` (sorted spans, none straddling an edge) leaves of the period, none
    straddling an edge, in time order: clean hours, then live computation."""
    start_us, end_us = edges[0], edges[-1]
    hours: list[KpiRollup] = []
    if micro_stop_s == DEFAULT_MICRO_STOP_S:
        for a, b in _gaps(start_us, end_us, covered):
            hours += [h for h in store.kpi_hours(machine.id, a, b) if inside(h)]
    spans = sorted([*covered, *((h.start_us, h.end_us) for h in hours)])
    live: list[KpiRollup] = []
    for a, b in _gaps(start_us, end_us, spans):
        inner = edges[bisect_right(edges, a) : bisect_left(edges, b)]
        live += compute_rollups(store, machine, a, b, cuts=inner, now_us=now_us, micro_stop_s=micro_stop_s)
    return sorted([*hours, *live], key=lambda r: r.start_us) if live else hours


def period_figures(  # noqa: PLR0917 - the signature the ROI view and the API share
    plant: Plant,
    store: TimeSeriesStore,
    start_us: int,
    end_us: int,
    machines: Sequence[str] | None = None,
    by: str | None = None,
    tz: str | None = None,
    *,
    now_us: int | None = None,
    micro_stop_s: float = DEFAULT_MICRO_STOP_S,
) -> list[PeriodFigures]:
    """Figures per machine (plant order) and bucket (time order) over ``[start_us, end_us)``.

    See the module docstring. ``micro_stop_s`` other than the default computes everything live (the
    rollups are kept for the default threshold only). Raises :class:`~cadence.errors.NotFound` for an
    unknown machine and :class:`~cadence.errors.BadRequest` for an unknown ``by``.
    """
    chosen = _machines(plant, machines)
    if now_us is not None:
        end_us = min(end_us, now_us)
    if end_us <= start_us:
        return []
    edges = _edges(start_us, end_us, by, tz or plant.site.timezone)
    ids = [m.id for m in chosen]
    # One bucket: SQLite sums the days (one row per machine). Days missing in between (a dirty hour) make
    # that sum non-contiguous: then the days are read one by one.
    days = store.kpi_days(ids, start_us, end_us, summed=by is None) if by != "hour" else []
    gapped = [d.machine for d in days if by is None and _covered_us(d) != d.end_us - d.start_us]
    days = [d for d in days if d.machine not in gapped] + store.kpi_days(gapped, start_us, end_us)
    by_machine: dict[str, list[KpiRollup]] = {}
    for d in days:
        by_machine.setdefault(d.machine, []).append(d)
    out: list[PeriodFigures] = []
    for machine in chosen:
        parts = machine_parts(
            store, machine, edges, by_machine.get(machine.id, []), now_us=now_us, micro_stop_s=micro_stop_s
        )
        k = 0
        for a, b in pairwise(edges):
            if k < len(parts) and parts[k].start_us == a and parts[k].end_us == b:
                out.append(figures_of(machine, parts[k]))  # a day sum is its own bucket: the usual case
                k += 1
                continue
            mine: list[KpiRollup] = []
            while k < len(parts) and parts[k].start_us < b:
                mine.append(parts[k])
                k += 1
            _check_tiling(mine, a, b)
            out.append(figures_of(machine, sum_rollups(mine)))
    return out


def present(f: PeriodFigures) -> PeriodFigures | None:
    """Figures with data missing rather than zero left out: ``None`` for a machine's bucket without any part
    and with every second unknown (before the installation, a dead gateway: not a bucket of zero
    production), and an energy of 0 kWh or less with good parts made counted as no energy data (a meter
    that sent nothing, not free parts).

    >>> present(PeriodFigures("P01", 0, 3_600_000_000, ("P01",), unknown_s=3600.0)) is None
    True
    >>> metered = PeriodFigures("P01", 0, 1, ("P01",), pq=2, gq=2, energy_kwh=0.0, metered_gq=2)
    >>> kept = present(metered)
    >>> kept is not None and (kept.energy_kwh, kept.metered_gq)
    (None, 0)
    """
    if f.pq == 0 and f.unknown_s >= f.pot_s:
        return None
    if f.energy_kwh is not None and f.energy_kwh <= 0 and f.gq > 0:
        return replace(f, energy_kwh=None, metered_gq=0)
    return f


def pooled_figures(  # noqa: PLR0917 - period_figures' signature
    plant: Plant,
    store: TimeSeriesStore,
    start_us: int,
    end_us: int,
    machines: Sequence[str] | None = None,
    by: str | None = None,
    tz: str | None = None,
    *,
    now_us: int | None = None,
    micro_stop_s: float = DEFAULT_MICRO_STOP_S,
    skip_missing: bool = False,
) -> list[PeriodFigures]:
    """One figure per bucket (time order), the machines pooled: what :func:`pool` makes of
    :func:`period_figures`' figures of each bucket, without building one per machine and bucket.

    Local days of the plant's time zone are summed by the store, machines and day together
    (:meth:`~cadence.ports.TimeSeriesStore.kpi_day_pools`), the declared-scrap cap and the down carry
    applied per machine and day as :func:`figures_of` applies them; what no day sum covers (the cut first
    and last days, today, days with a dirty hour) is figured per machine as in :func:`period_figures` and
    pooled with them. Other buckets pool :func:`period_figures`. With ``skip_missing``, each machine's
    bucket goes through :func:`present` before pooling, and a bucket where no machine has data is left out.
    """
    chosen = _machines(plant, machines)
    if now_us is not None:
        end_us = min(end_us, now_us)
    if end_us <= start_us or not chosen:
        return []
    zone = tz or plant.site.timezone
    edges = _edges(start_us, end_us, by, zone)
    if by != "day" or zone != plant.site.timezone or micro_stop_s != DEFAULT_MICRO_STOP_S:
        # Day sums are kept in the plant's zone and for the default threshold only.
        per_bucket: dict[int, list[PeriodFigures]] = {}
        for f in period_figures(
            plant,
            store,
            start_us,
            end_us,
            [m.id for m in chosen],
            by,
            zone,
            now_us=now_us,
            micro_stop_s=micro_stop_s,
        ):
            kept = present(f) if skip_missing else f
            if kept is not None:
                per_bucket.setdefault(f.start_us, []).append(kept)
        return [pool(per_bucket[a]) for a, _ in pairwise(edges) if a in per_bucket]
    following = dict(pairwise(edges))
    days = {
        d.start_us: d
        for d in store.kpi_day_pools([m.id for m in chosen], start_us, end_us, skip_missing=skip_missing)
        if following.get(d.start_us) == d.end_us  # a whole bucket (always, in the plant's zone)
    }
    covered: dict[str, list[tuple[int, int]]] = {m.id: [] for m in chosen}
    for d in days.values():
        for m in d.machines:
            covered[m].append((d.start_us, d.end_us))
    # What the day sums leave, machine by machine: the buckets' figures exactly as period_figures has them.
    rest: dict[int, list[PeriodFigures]] = {}
    for machine in chosen:
        parts = _fill(
            store,
            machine,
            edges,
            covered[machine.id],
            lambda r: following.get(r.start_us, -1) >= r.end_us or _inside_one_bucket(r, edges),
            now_us,
            micro_stop_s,
        )
        k = 0
        while k < len(parts):
            i = bisect_right(edges, parts[k].start_us) - 1
            a, b = edges[i], edges[i + 1]
            mine: list[KpiRollup] = []
            while k < len(parts) and parts[k].start_us < b:
                mine.append(parts[k])
                k += 1
            _check_tiling(mine, a, b)
            f = figures_of(machine, sum_rollups(mine))
            kept = present(f) if skip_missing else f
            if kept is not None:
                rest.setdefault(a, []).append(kept)
    targets = {m.id: m.target_cycle_s for m in chosen}
    order = {m.id: n for n, m in enumerate(chosen)}
    out: list[PeriodFigures] = []
    for a, _ in pairwise(edges):
        day = days.get(a)
        found = [_figures_of_pool(day, targets)] if day is not None and day.pooled else []
        found += rest.get(a, [])
        if len(found) == 1 and day is not None and day.pooled:
            out.append(found[0])  # the usual bucket: one row of the store, already pooled
        elif found:
            f = pool(found)
            machines_in_order = tuple(sorted(f.machines, key=order.__getitem__))
            out.append(replace(f, machines=machines_in_order))
    return out


def _figures_of_pool(day: KpiDayPool, targets: Mapping[str, float | None]) -> PeriodFigures:
    """The figures of one pooled day: :func:`pool` of :func:`figures_of` over its machines' day sums."""
    with_pri = all(targets[m] is not None for m in day.pooled)
    pri_gq: float | None = None
    if with_pri:
        pri_gq = day.pri_gq_s + sum(float(targets[m] or 0.0) * gq for m, gq in day.recounted_gq.items())
    downtime = sorted(day.downtime_us.items(), key=lambda kv: (-kv[1], kv[0]))
    return PeriodFigures(
        day.pooled[0] if len(day.pooled) == 1 else None,
        day.start_us,
        day.end_us,
        day.pooled,
        day.running_us / US_PER_S,
        day.idle_us / US_PER_S,
        day.micro_stop_us / US_PER_S,
        day.down_us / US_PER_S,
        day.planned_stop_us / US_PER_S,
        day.setup_us / US_PER_S,
        day.no_order_us / US_PER_S,
        day.unknown_us / US_PER_S,
        day.pq,
        day.gq,
        day.sq,
        day.rq,
        day.declared,
        day.pri_pq_s if with_pri else None,
        pri_gq,
        day.failure_events,
        day.energy_kwh,
        day.metered_gq,
        {key: us / US_PER_S for key, us in downtime},
    )


def _covered_us(r: KpiRollup) -> int:
    return (
        r.running_us
        + r.idle_us
        + r.micro_stop_us
        + r.down_us
        + r.planned_stop_us
        + r.setup_us
        + r.no_order_us
        + r.unknown_us
    )


def _check_tiling(parts: Sequence[KpiRollup], start_us: int, end_us: int) -> None:
    # A gap or overlap here would be a bug in the covering logic: fail loudly rather than report wrong sums.
    cursor = start_us
    for p in parts:
        if p.start_us != cursor:
            raise AssertionError(
                f"KPI parts of {p.machine} do not tile the bucket at {cursor} ({p.start_us})"
            )
        cursor = p.end_us
    if cursor != end_us:
        raise AssertionError(f"KPI parts end at {cursor}, not at the bucket's end {end_us}")


def _machines(plant: Plant, machines: Sequence[str] | None) -> list[Machine]:
    if machines is None:
        return list(plant.machines)
    wanted = set(machines)
    unknown = sorted(wanted - {m.id for m in plant.machines})
    if unknown:
        known = ", ".join(m.id for m in plant.machines)
        raise NotFound(f"no machine {', '.join(unknown)}; known machines: {known}", machine=unknown[0])
    return [m for m in plant.machines if m.id in wanted]


# --- refresh -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What one refresh pass did: hours computed (new and dirty) and whether closed hours remain."""

    hours: int = 0
    dirty: int = 0
    pending: bool = False


def closed_until(now_us: int, micro_stop_s: float = DEFAULT_MICRO_STOP_S) -> int:
    """End of the last closed hour: an hour closes once ``micro_stop_s`` has passed after it, when no stop
    touching it can still become or stop being a micro-stop."""
    return _floor_hour(now_us - round(micro_stop_s * US_PER_S))


def refresh(
    plant: Plant,
    store: TimeSeriesStore,
    now_us: int,
    *,
    max_hours: int = REFRESH_MAX_HOURS,
    machines: Sequence[str] | None = None,
) -> RefreshReport:
    """Roll up each machine's closed hours not rolled up yet, and recompute the dirty ones (those first),
    at most ``max_hours`` per machine; day sums (plant time zone) are rebuilt as their hours complete."""
    if not 0 < max_hours <= 31 * 24:
        raise ValueError(f"max_hours must be within 1..744 (31 days), got {max_hours}")
    limit = closed_until(now_us)
    computed = dirty_done = 0
    pending = False
    for machine in _machines(plant, machines):
        status = store.kpi_status(machine.id)
        dirty = [h for h in status.dirty_hours if h + HOUR_US <= limit]
        start = status.rolled_until_us
        if start is None and status.first_data_us is not None:
            start = _floor_hour(status.first_data_us)
        new = list(range(start, limit, HOUR_US)) if start is not None else []
        todo = sorted(set(dirty[:max_hours]) | set(new[: max(0, max_hours - len(dirty))]))
        pending |= len(dirty) + len(new) > len(todo)
        if not todo:
            continue
        rows: list[KpiRollup] = []
        for a, b in _runs(todo):
            rows += compute_rollups(store, machine, a, b, cuts=range(a, b, HOUR_US), now_us=now_us)
        days = {
            (machine.id, da, db)
            for da, db in local_days(todo[0], todo[-1] + HOUR_US, plant.site.timezone)
            if any(da <= h < db for h in todo)
        }
        store.put_kpi_hours(rows, token=status.token, days=sorted(days))
        computed += len(todo)
        dirty_done += len(set(dirty) & set(todo))
        logger.debug("%s: %d KPI hours rolled up (%d dirty)", machine.id, len(todo), dirty_done)
    return RefreshReport(hours=computed, dirty=dirty_done, pending=pending)


def _runs(hours: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted hour starts as ``[start, end)`` runs of consecutive hours."""
    runs: list[tuple[int, int]] = []
    for h in hours:
        if runs and runs[-1][1] == h:
            runs[-1] = (runs[-1][0], h + HOUR_US)
        else:
            runs.append((h, h + HOUR_US))
    return runs
