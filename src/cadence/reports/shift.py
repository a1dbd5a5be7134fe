"""The figures of an end-of-shift report, per press and per line, read from the store (no rendering).

Every press is read by :func:`cadence.services.production.press_period`, the reading the overview tiles
use too: the operators' stop reasons are put on the stops before the state engine
(:func:`cadence.analytics.intervals.tile`) cuts the time, and :func:`cadence.analytics.kpi.kpi_report`
sums it with the press's ``target_cycle_s`` as PRI and the scrap declared during the shift, so the report
gives exactly the numbers of the KPI guide (docs/guides/kpis.md). A line's figures pool its presses' time
elements and quantities (ratios of sums, never means of ratios). The shift's logbook notes come with it,
per press and plant-wide. docs/guides/shift-reports.md describes every figure.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from cadence.analytics.intervals import DEFAULT_MICRO_STOP_S, Category, Interval
from cadence.analytics.kpi import KpiReport
from cadence.clock import from_datetime, to_datetime
from cadence.domain.alarms import Alarm
from cadence.domain.cycles import Stroke
from cadence.domain.operator import LogbookNote, ScrapDeclaration
from cadence.domain.plant import Line, Machine, Plant
from cadence.domain.shifts import Shift, current_shift, shifts_between
from cadence.errors import ConfigError
from cadence.ports import TimeSeriesStore
from cadence.services.production import MAX_STROKES, press_period

# Pareto keys that are not reason codes: stops nobody has qualified yet, and micro-stops (not coded one
# by one, docs/domain.md §2.8). Scrap without a reason gets its own key too.
UNQUALIFIED = "unqualified"
MICRO_STOPS = "micro_stop"
NO_SCRAP_REASON = "no_reason"
MAX_ALARMS = 10_000
# Far above what a shift's tablets write; past it the notes are cut (the report says so).
MAX_NOTES = 2_000
# How far back the last ended shift is looked for: a weekly calendar leaves at most a week and a day
# without shifts, but holidays stretch that (a French plant closes three weeks in August, plus a weekend
# on each side).
REPORT_LOOKBACK_DAYS = 40
_STOP_CATEGORIES = frozenset(Category) - {Category.RUNNING, Category.UNKNOWN}


@dataclass(frozen=True, slots=True)
class ParetoBar:
    """One bar: a reason code (or UNQUALIFIED / MICRO_STOPS / NO_SCRAP_REASON), its total and occurrences."""

    key: str
    value: float  # seconds for downtime, parts for scrap
    count: int


@dataclass(frozen=True, slots=True)
class CycleStats:
    """Statistics of the strokes' ``cycle_time_s`` feature, in seconds."""

    count: int
    mean_s: float
    median_s: float
    p95_s: float
    min_s: float
    max_s: float

    @classmethod
    def of(cls, values: Sequence[float]) -> CycleStats | None:
        """``None`` when no stroke carries the feature."""
        if not values:
            return None
        a = np.asarray(values, dtype=np.float64)
        return cls(
            count=len(a),
            mean_s=float(a.mean()),
            median_s=float(np.median(a)),
            p95_s=float(np.percentile(a, 95)),
            min_s=float(a.min()),
            max_s=float(a.max()),
        )


def _ratio(num: float | None, den: float) -> float | None:
    if num is None:
        return None
    return num / den if den > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Figures:
    """Time elements (seconds) and quantities summed over one or more presses, with their ratios.

    ``pri_pq_s`` and ``pri_gq_s`` are ``None`` when a press has no planned cycle time: effectiveness and
    OEE cannot be computed then, and showing 0 % would be a lie.
    """

    pot_s: float
    pdot_s: float
    adot_s: float
    aust_s: float
    malfunction_s: float
    micro_stop_s: float
    unknown_s: float
    apt_s: float
    pq: int
    gq: int
    sq: int
    rq: int
    failure_events: int
    pri_pq_s: float | None
    pri_gq_s: float | None
    declared: int = 0  # scrap declared by operators; declared_sq of it is in sq (kpi_report's capping)
    declared_sq: int = 0

    @classmethod
    def pooled(cls, reports: Iterable[tuple[KpiReport, bool]]) -> Figures:
        """Sum ``(report, has_pri)`` pairs; ratios of the sums weight each press by its time."""
        items = list(reports)
        with_pri = all(has for _, has in items)
        return cls(
            pot_s=sum(r.pot_s for r, _ in items),
            pdot_s=sum(r.pdot_s for r, _ in items),
            adot_s=sum(r.adot_s for r, _ in items),
            aust_s=sum(r.aust_s for r, _ in items),
            malfunction_s=sum(r.malfunction_s for r, _ in items),
            micro_stop_s=sum(r.micro_stop_s for r, _ in items),
            unknown_s=sum(r.unknown_s for r, _ in items),
            apt_s=sum(r.apt_s for r, _ in items),
            pq=sum(r.pq for r, _ in items),
            gq=sum(r.gq for r, _ in items),
            sq=sum(r.sq for r, _ in items),
            rq=sum(r.rq for r, _ in items),
            failure_events=sum(r.failure_events for r, _ in items),
            pri_pq_s=sum(r.pri_pq_s for r, _ in items) if with_pri else None,
            pri_gq_s=sum(r.pri_gq_s for r, _ in items) if with_pri else None,
            declared=sum(r.declared for r, _ in items),
            declared_sq=sum(r.declared_sq for r, _ in items),
        )

    @property
    def declared_uncounted(self) -> int:
        """Declared scrap beyond the good parts the presses made in the shift, left out of SQ."""
        return self.declared - self.declared_sq

    @property
    def pbt_s(self) -> float:
        return self.pot_s - self.pdot_s

    @property
    def availability(self) -> float:
        return self.apt_s / self.pbt_s if self.pbt_s > 0 else 0.0

    @property
    def effectiveness(self) -> float | None:
        return _ratio(self.pri_pq_s, self.apt_s)

    @property
    def quality_ratio(self) -> float:
        return self.gq / self.pq if self.pq else 0.0

    @property
    def oee(self) -> float | None:
        """PRI · GQ / PBT, the arithmetic of :attr:`KpiReport.oee`."""
        return _ratio(self.pri_gq_s, self.pbt_s)

    @property
    def trs_operating_s(self) -> float:
        return self.apt_s + self.micro_stop_s

    @property
    def trs_availability(self) -> float:
        return self.trs_operating_s / self.pbt_s if self.pbt_s > 0 else 0.0

    @property
    def trs_performance(self) -> float | None:
        return _ratio(self.pri_pq_s, self.trs_operating_s)


@dataclass(frozen=True, slots=True)
class PressReport:
    """One press over the shift. ``kpi`` keeps the intervals and strokes every figure comes from."""

    machine: Machine
    kpi: KpiReport
    figures: Figures
    downtime: tuple[ParetoBar, ...]
    scrap: tuple[ParetoBar, ...]
    cycle: CycleStats | None
    alarms: tuple[Alarm, ...]
    truncated: bool  # more strokes than MAX_STROKES: counts are a lower bound
    notes: tuple[LogbookNote, ...] = ()  # this press's logbook notes of the shift, oldest first

    @property
    def declarations(self) -> tuple[ScrapDeclaration, ...]:
        """The scrap declared for this press during the shift, counted in its figures."""
        return self.kpi.declarations

    @property
    def has_pri(self) -> bool:
        return self.figures.pri_gq_s is not None


@dataclass(frozen=True, slots=True)
class LineReport:
    """A line's presses and their pooled figures and Paretos."""

    line: Line
    presses: tuple[PressReport, ...]
    figures: Figures
    downtime: tuple[ParetoBar, ...]
    scrap: tuple[ParetoBar, ...]


@dataclass(frozen=True, slots=True)
class ShiftReport:
    """Everything an end-of-shift report shows. ``in_progress``: the shift had not ended at ``end_us``.

    ``notes`` are every logbook note written during the shift, oldest first: plant-wide ones
    (:attr:`plant_notes`) and each press's (also on its :class:`PressReport`). ``notes_truncated``: more
    than MAX_NOTES were written and only the first are kept.
    """

    plant: Plant
    shift_name: str
    start_us: int
    end_us: int
    shift_end_us: int
    presses: tuple[PressReport, ...]
    lines: tuple[LineReport, ...]
    figures: Figures
    downtime: tuple[ParetoBar, ...]
    scrap: tuple[ParetoBar, ...]
    alarms: tuple[Alarm, ...]  # every alarm raised in the shift, plant-wide ones included
    notes: tuple[LogbookNote, ...] = ()
    notes_truncated: bool = False

    @property
    def in_progress(self) -> bool:
        return self.end_us < self.shift_end_us

    @property
    def plant_notes(self) -> tuple[LogbookNote, ...]:
        """Notes about no press in particular, or about a machine the plant file no longer has."""
        known = {m.id for m in self.plant.machines}
        return tuple(n for n in self.notes if n.machine is None or n.machine not in known)


def downtime_pareto(intervals: Iterable[Interval]) -> tuple[ParetoBar, ...]:
    """Stop time by reason, longest first. Unqualified stops and micro-stops are bars of their own; unknown
    time (no data) is not a stop and is reported beside the Pareto, not in it."""
    seconds: dict[str, float] = defaultdict(float)
    count: Counter[str] = Counter()
    previous: tuple[str, object] | None = None
    for interval in intervals:
        if interval.category not in _STOP_CATEGORIES:
            previous = None
            continue
        if interval.category is Category.MICRO_STOP:
            key = MICRO_STOPS
        elif interval.unqualified or interval.reason is None:
            key = UNQUALIFIED
        else:
            key = interval.reason
        seconds[key] += interval.duration_s
        # One stop split in pieces (an inferred gap inside running, a re-sent change) is counted once.
        if previous != (key, interval.source):
            count[key] += 1
        previous = (key, interval.source)
    return _ranked(seconds, count)


def scrap_pareto(
    strokes: Iterable[Stroke], declarations: Iterable[ScrapDeclaration] = ()
) -> tuple[ParetoBar, ...]:
    """Not-good parts by scrap reason (rework included, under its own code), most first.

    Declared scrap adds its quantity under its cause (``count`` is then the number of declarations): the
    bars show what operators found, in full, even the part of a declaration beyond the shift's good parts
    that the quality figures leave out (``Figures.declared_uncounted``).
    """
    parts: dict[str, float] = defaultdict(float)
    count: Counter[str] = Counter()
    for s in strokes:
        if s.good:
            continue
        key = s.scrap_reason or NO_SCRAP_REASON
        parts[key] += 1
        count[key] += 1
    for d in declarations:
        parts[d.cause] += d.quantity
        count[d.cause] += 1
    return _ranked(parts, count)


def _ranked(values: dict[str, float], count: Counter[str]) -> tuple[ParetoBar, ...]:
    return tuple(ParetoBar(k, v, count[k]) for k, v in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))


def _merge(groups: Iterable[Sequence[ParetoBar]]) -> tuple[ParetoBar, ...]:
    values: dict[str, float] = defaultdict(float)
    count: Counter[str] = Counter()
    for bars in groups:
        for bar in bars:
            values[bar.key] += bar.value
            count[bar.key] += bar.count
    return _ranked(values, count)


def report_shift(plant: Plant, at: datetime) -> tuple[Shift, bool]:
    """The shift running at ``at`` (``True``), else the last one ended before it (``False``).

    Raises :class:`~cadence.errors.ConfigError` when the plant has no shift calendar, or no shift in
    the past :data:`REPORT_LOOKBACK_DAYS` days.
    """
    if at.tzinfo is None:
        raise ValueError("report_shift needs a timezone-aware datetime")
    if not plant.shifts:
        raise ConfigError("the plant file defines no shifts: there is no shift to report on")
    local = at.astimezone(ZoneInfo(plant.site.timezone))
    running = current_shift(plant.shifts, local)
    if running is not None:
        return running, True
    since = local - timedelta(days=REPORT_LOOKBACK_DAYS)
    ended = [s for s in shifts_between(plant.shifts, since, local) if s.end <= local]
    if not ended:
        raise ConfigError(f"no shift ended in the {REPORT_LOOKBACK_DAYS} days before {local.isoformat()}")
    return ended[-1], False


def _press(
    machine: Machine,
    store: TimeSeriesStore,
    start_us: int,
    end_us: int,
    alarms: Sequence[Alarm],
    *,
    notes: Sequence[LogbookNote],
    micro_stop_s: float,
    now_us: int | None,
) -> PressReport:
    period = press_period(
        store, machine, start_us, end_us, now_us=now_us, micro_stop_s=micro_stop_s, max_strokes=MAX_STROKES
    )
    kpi = period.kpi
    cycles = [s.features["cycle_time_s"] for s in kpi.strokes if "cycle_time_s" in s.features]
    return PressReport(
        machine=machine,
        kpi=kpi,
        figures=Figures.pooled([(kpi, period.has_pri)]),
        downtime=downtime_pareto(period.intervals),
        scrap=scrap_pareto(kpi.strokes, kpi.declarations),
        cycle=CycleStats.of(cycles),
        alarms=tuple(sorted((a for a in alarms if a.machine == machine.id), key=lambda a: a.raised_us)),
        truncated=period.truncated,
        notes=tuple(n for n in notes if n.machine == machine.id),
    )


def shift_report_data(
    plant: Plant,
    store: TimeSeriesStore,
    shift: Shift | tuple[int, int],
    *,
    until_us: int | None = None,
    micro_stop_s: float = DEFAULT_MICRO_STOP_S,
) -> ShiftReport:
    """The report's figures for a shift, or for a ``(start_us, end_us)`` window named after no shift.

    ``until_us`` cuts a running shift at "now": time after it has not happened and is not a loss.
    """
    if isinstance(shift, Shift):
        name, start_us, shift_end_us = shift.name, from_datetime(shift.start), from_datetime(shift.end)
    else:
        name, (start_us, shift_end_us) = "", shift
    end_us = shift_end_us if until_us is None else max(start_us, min(shift_end_us, until_us))
    if end_us <= start_us:
        raise ValueError(f"empty report period: {to_datetime(start_us)} to {to_datetime(end_us)}")
    raised = [a for a in store.alarms(limit=MAX_ALARMS) if start_us <= a.raised_us < end_us]
    notes = store.logbook(start_us, end_us)
    presses = tuple(
        _press(
            m,
            store,
            start_us,
            end_us,
            raised,
            notes=notes[:MAX_NOTES],
            micro_stop_s=micro_stop_s,
            now_us=until_us,
        )
        for m in plant.machines
    )
    lines = []
    for line in plant.lines:
        mine = tuple(p for p in presses if p.machine.line == line.id)
        if not mine:
            continue
        lines.append(
            LineReport(
                line=line,
                presses=mine,
                figures=Figures.pooled((p.kpi, p.has_pri) for p in mine),
                downtime=_merge(p.downtime for p in mine),
                scrap=_merge(p.scrap for p in mine),
            )
        )
    return ShiftReport(
        plant=plant,
        shift_name=name,
        start_us=start_us,
        end_us=end_us,
        shift_end_us=shift_end_us,
        presses=presses,
        lines=tuple(lines),
        figures=Figures.pooled((p.kpi, p.has_pri) for p in presses),
        downtime=_merge(p.downtime for p in presses),
        scrap=_merge(p.scrap for p in presses),
        alarms=tuple(sorted(raised, key=lambda a: a.raised_us)),
        notes=tuple(notes[:MAX_NOTES]),
        notes_truncated=len(notes) > MAX_NOTES,
    )
