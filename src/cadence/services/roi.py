"""The ROI view's use case: two periods of local dates, a scope, and the comparison of the five metrics.

Periods are whole local days in the plant's time zone (``2026-01-01:2026-03-31`` includes both ends).
The figures of each day come from :func:`cadence.services.kpi_history.pooled_figures` — the same state
engine and ISO 22400-2 definitions as every other KPI of Cadence, in both periods — pooled over the
machines of the scope, then compared by :func:`cadence.analytics.roi.compare` (ratios of sums,
bootstrap over days). CO2 per good part is the energy per good part times the configured grid factor
(``co2_grid_g_per_kwh``). docs/guides/roi.md describes every figure.

>>> DateRange.parse("2026-04-01:2026-06-30").days
91
>>> Scope.parse("line:L1"), str(Scope.parse("press:P01"))
(Scope(kind=<ScopeKind.LINE: 'line'>, id='L1'), 'press:P01')
>>> baseline, current = presets(date(2026, 5, 15))["30d"]
>>> str(baseline), str(current)
('2026-03-16:2026-04-14', '2026-04-15:2026-05-14')
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from cadence.analytics.roi import Comparison, DayFigures, Metric, MetricComparison, compare
from cadence.clock import from_datetime
from cadence.domain.plant import Plant
from cadence.errors import BadRequest, NotFound
from cadence.ports import TimeSeriesStore
from cadence.services.kpi_history import PeriodFigures, pooled_figures

# A year and a bit: a period longer than this is not a before/after comparison, and the read would be
# heavy (a day sum per machine and per day to pool).
MAX_PERIOD_DAYS = 400
# The bootstrap's seed is fixed so that the page and its PDF (and any later view) show the same interval.
ROI_SEED = 20_260_401


def N_(message: str) -> str:
    """Marks a message for the catalog (pybabel's default keyword); translated where it is shown."""
    return message


class ScopeKind(enum.StrEnum):
    PLANT = "plant"
    LINE = "line"
    PRESS = "press"


@dataclass(frozen=True, slots=True)
class Scope:
    """The whole plant, one line or one press."""

    kind: ScopeKind
    id: str | None = None

    @classmethod
    def parse(cls, text: str) -> Scope:
        """``plant``, ``line:<id>`` or ``press:<id>`` (the form of the page's selector and of the API)."""
        kind, _, ident = text.strip().partition(":")
        try:
            scope_kind = ScopeKind(kind)
        except ValueError:
            raise BadRequest(f"scope {text!r}: use plant, line:<id> or press:<id>", value=text) from None
        if (scope_kind is ScopeKind.PLANT) != (not ident):
            raise BadRequest(f"scope {text!r}: use plant, line:<id> or press:<id>", value=text)
        return cls(scope_kind, ident or None)

    def __str__(self) -> str:
        return self.kind.value if self.id is None else f"{self.kind.value}:{self.id}"

    def machines(self, plant: Plant) -> tuple[str, ...]:
        """The machine ids of the scope; :class:`NotFound` for an unknown line or press."""
        if self.kind is ScopeKind.PLANT:
            return tuple(m.id for m in plant.machines)
        if self.kind is ScopeKind.LINE:
            found = plant.machines_of_line(self.id or "")
            if not found:
                raise NotFound(f"line {self.id!r} not found", line=self.id)
            return tuple(m.id for m in found)
        if not plant.has_machine(self.id or ""):
            raise NotFound(f"press {self.id!r} not found", machine=self.id)
        return (plant.machine(self.id or "").id,)

    def name(self, plant: Plant) -> str:
        """What people call it: the site's, line's or press's name."""
        if self.kind is ScopeKind.PLANT:
            return plant.site.name
        if self.kind is ScopeKind.LINE:
            line = next((x for x in plant.lines if x.id == self.id), None)
            return f"{self.id} — {line.name}" if line else str(self.id)
        return f"{self.id} — {plant.machine(self.id or '').name}"


@dataclass(frozen=True, slots=True)
class DateRange:
    """Whole local days, both ends included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise BadRequest(f"period {self}: the end is before the start", value=str(self))
        if self.days > MAX_PERIOD_DAYS:
            raise BadRequest(f"period {self}: longer than {MAX_PERIOD_DAYS} days", value=str(self))

    @classmethod
    def parse(cls, text: str) -> DateRange:
        """``YYYY-MM-DD:YYYY-MM-DD`` (a single date is a one-day period)."""
        first, _, last = text.strip().partition(":")
        try:
            start = date.fromisoformat(first)
            end = date.fromisoformat(last) if last else start
        except ValueError:
            raise BadRequest(f"period {text!r}: use YYYY-MM-DD:YYYY-MM-DD", value=text) from None
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.first.isoformat()}:{self.last.isoformat()}"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds_us(self, tz: ZoneInfo) -> tuple[int, int]:
        """Local midnight of the first day to local midnight after the last (DST days are 23 or 25 h)."""
        start = datetime.combine(self.first, time(0), tzinfo=tz)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz)
        return from_datetime(start), from_datetime(end)


def _month_end(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _same_day_last_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def presets(today: date) -> dict[str, tuple[DateRange, DateRange]]:
    """The quick choices of the page, as (baseline, current); periods end yesterday (today is not over).

    ``30d``: the last 30 days and the 30 before; ``month``: last month and the month before;
    ``month_yoy``: this month so far and the same days a year before; ``quarter``: the last full
    quarter and the one before.
    """
    yesterday = today - timedelta(days=1)
    last30 = DateRange(yesterday - timedelta(days=29), yesterday)
    before30 = DateRange(last30.first - timedelta(days=30), last30.first - timedelta(days=1))
    last_month_end = today.replace(day=1) - timedelta(days=1)
    last_month = DateRange(last_month_end.replace(day=1), last_month_end)
    prev_end = last_month.first - timedelta(days=1)
    month_before = DateRange(prev_end.replace(day=1), prev_end)
    # On the 1st, "this month so far" is empty: compare the month just ended with a year before.
    this_month = DateRange(today.replace(day=1), yesterday) if today.day > 1 else last_month
    year_before = DateRange(_same_day_last_year(this_month.first), _same_day_last_year(this_month.last))
    q_start_month = 3 * ((today.month - 1) // 3) + 1
    quarter_end = date(today.year, q_start_month, 1) - timedelta(days=1)
    quarter = DateRange(date(quarter_end.year, quarter_end.month - 2, 1), quarter_end)
    prev_q_end = quarter.first - timedelta(days=1)
    prev_quarter = DateRange(date(prev_q_end.year, prev_q_end.month - 2, 1), prev_q_end)
    return {
        "30d": (before30, last30),
        "month": (month_before, last_month),
        "month_yoy": (year_before, this_month),
        "quarter": (prev_quarter, quarter),
    }


PRESET_LABELS: dict[str, str] = {
    "30d": N_("Last 30 days vs the 30 before"),
    "month": N_("Last month vs the month before"),
    "month_yoy": N_("This month vs a year ago"),
    "quarter": N_("Last quarter vs the one before"),
}


@dataclass(frozen=True, slots=True)
class MetricText:
    """How a metric is named, in which unit it is shown, and its definition (for the page and the PDF)."""

    label: str
    unit: str
    definition: str
    # Shown as percentage points (a ratio like OEE), else in its unit; relative change in % either way.
    percent: bool = False


METRIC_TEXTS: dict[str, MetricText] = {
    Metric.YIELD: MetricText(
        N_("Yield"),
        N_("good parts per planned hour"),
        N_("Good parts divided by planned busy time (planned time minus planned stops), in hours."),
    ),
    Metric.OEE: MetricText(
        N_("OEE"),
        "%",
        N_("Planned cycle time of the good parts divided by planned busy time (ISO 22400-2)."),
        percent=True,
    ),
    Metric.SCRAP_RATE: MetricText(
        N_("Scrap rate"),
        "%",
        N_("Scrapped parts divided by parts produced."),
        percent=True,
    ),
    Metric.ENERGY_PER_GOOD: MetricText(
        N_("Energy per good part"),
        "Wh",
        N_("Metered energy divided by the good parts of the metered days (idle and scrap included)."),
    ),
    Metric.DOWNTIME: MetricText(
        N_("Downtime"),
        N_("h per 100 planned h"),
        N_("Breakdowns and micro-stops, in hours per 100 hours of planned busy time."),
    ),
    "co2": MetricText(
        N_("CO2 per good part"),
        "gCO2e",
        N_("Energy per good part times the grid's carbon intensity."),
    ),
}
# Units shown on the page and the PDF, per metric: the analytics work in kWh and ratios.
DISPLAY_SCALE: dict[str, float] = {
    Metric.YIELD: 1.0,
    Metric.OEE: 100.0,
    Metric.SCRAP_RATE: 100.0,
    Metric.ENERGY_PER_GOOD: 1000.0,  # kWh → Wh
    Metric.DOWNTIME: 1.0,
    "co2": 1.0,
}

VERDICT_TEXTS: dict[str, str] = {
    "better": N_("better"),
    "worse": N_("worse"),
    "not_significant": N_("not significant"),
    "no_data": N_("no data"),
}


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table, in display units (``key`` is a Metric value or ``co2``)."""

    key: str
    comparison: MetricComparison

    @property
    def text(self) -> MetricText:
        return METRIC_TEXTS[self.key]

    @property
    def shown(self) -> MetricComparison:
        """The comparison in the unit of the table (percent, Wh…)."""
        return self.comparison.scaled(DISPLAY_SCALE[self.key])


@dataclass(frozen=True, slots=True)
class RoiReport:
    """Everything the page, the PDF, the JSON and the CLI show."""

    site_name: str
    timezone: str
    scope: Scope
    scope_name: str
    baseline: DateRange
    current: DateRange
    comparison: Comparison
    co2: MetricComparison
    co2_g_per_kwh: float
    co2_source: str
    generated_us: int

    @property
    def rows(self) -> tuple[Row, ...]:
        rows = [Row(m.metric.value, m) for m in self.comparison.metrics]
        return (*rows, Row("co2", self.co2))

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary (analysis units: ratios, kWh; ``null`` where there is no data)."""
        c = self.comparison
        return {
            "site": self.site_name,
            "scope": str(self.scope),
            "scope_name": self.scope_name,
            "baseline": {"period": str(self.baseline), **asdict(c.baseline)},
            "current": {"period": str(self.current), **asdict(c.current)},
            "confidence": c.confidence,
            "resamples": c.resamples,
            "unreliable": c.unreliable,
            "min_days": c.min_days,
            "co2_g_per_kwh": self.co2_g_per_kwh,
            "co2_source": self.co2_source,
            "metrics": {
                row.key: {
                    "baseline": row.comparison.baseline,
                    "current": row.comparison.current,
                    "difference": row.comparison.difference,
                    "low": row.comparison.low,
                    "high": row.comparison.high,
                    "relative": row.comparison.relative,
                    "relative_low": row.comparison.relative_low,
                    "relative_high": row.comparison.relative_high,
                    "verdict": row.comparison.verdict.value,
                }
                for row in self.rows
            },
        }


def as_day(f: PeriodFigures) -> DayFigures:
    """The numbers the comparison needs from one (pooled) day, with the KPI history's definitions."""
    return DayFigures(
        planned_s=f.pbt_s,
        pq=f.pq,
        gq=f.gq,
        sq=f.sq,
        pri_gq_s=f.pri_gq_s,
        energy_kwh=f.energy_kwh,
        downtime_s=f.adet_s,
        metered_gq=f.metered_gq if f.energy_kwh is not None else None,
    )


def daily_figures(
    plant: Plant,
    store: TimeSeriesStore,
    period: DateRange,
    machines: Sequence[str],
    *,
    now_us: int | None = None,
) -> list[DayFigures]:
    """The period's days, each pooled over ``machines``, from the KPI history (the same definitions as
    every KPI of Cadence, in both periods).

    Data missing rather than zero is left out machine by machine before pooling
    (:func:`~cadence.services.kpi_history.present`): a day a press never reported on (before the
    installation, a dead gateway) is not a day of zero production, and 0 kWh with parts made is a meter
    that sent nothing; a day no press reported on is not a day of the comparison. The store pools the
    whole days (:func:`~cadence.services.kpi_history.pooled_figures`): a year of twenty presses is 365
    pooled rows, not 7,300 figures.
    """
    tz = ZoneInfo(plant.site.timezone)
    start_us, end_us = period.bounds_us(tz)
    if now_us is not None and now_us <= start_us:
        return []  # a period still to come has no days yet
    found = pooled_figures(
        plant,
        store,
        start_us,
        end_us,
        list(machines),
        "day",
        plant.site.timezone,
        now_us=now_us,
        skip_missing=True,
    )
    return [as_day(f) for f in found]


def roi_report(
    plant: Plant,
    store: TimeSeriesStore,
    baseline: DateRange,
    current: DateRange,
    scope: Scope,
    *,
    co2_g_per_kwh: float,
    co2_source: str,
    now_us: int,
    seed: int = ROI_SEED,
) -> RoiReport:
    """Compare ``current`` with ``baseline`` over ``scope``; see the module's docstring."""
    machines = scope.machines(plant)
    before = daily_figures(plant, store, baseline, machines, now_us=now_us)
    after = daily_figures(plant, store, current, machines, now_us=now_us)
    comparison = compare(before, after, rng=np.random.default_rng(seed))
    energy = comparison.metric(Metric.ENERGY_PER_GOOD)
    return RoiReport(
        site_name=plant.site.name,
        timezone=plant.site.timezone,
        scope=scope,
        scope_name=scope.name(plant),
        baseline=baseline,
        current=current,
        comparison=comparison,
        co2=energy.scaled(co2_g_per_kwh),
        co2_g_per_kwh=co2_g_per_kwh,
        co2_source=co2_source,
        generated_us=now_us,
    )
