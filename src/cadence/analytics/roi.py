r"""Before/after comparison of two periods for the ROI view: five metrics, their differences, and how sure.

Each period is a list of :class:`DayFigures`: the sums of one day (or one shift) over the scope —
planned busy time, parts, planned time of the good parts, energy, downtime. Every metric is a **ratio of
sums over the period** (Σ numerator / Σ denominator), never a mean of daily ratios: a short day with
three parts would otherwise weigh as much as a full one.

=====================  ===========================  ========================  =================
metric                 numerator                    denominator               better when
=====================  ===========================  ========================  =================
``yield``              GQ                           PBT, in hours             higher
``oee``                PRI · GQ (seconds)           PBT (seconds)             higher
``scrap_rate``         SQ                           PQ                        lower
``energy_per_good``    energy (kWh, metered days)   GQ (same days)            lower
``downtime``           downtime (hours)             PBT / 100, in hours       lower
=====================  ===========================  ========================  =================

``downtime`` is in hours per 100 planned hours, not a total: two periods seldom have the same planned
time (a holiday, a third shift added), and a total would compare calendars rather than the presses.

**Uncertainty.** The 95 % interval of each difference (current − baseline) comes from a bootstrap over
days: the days of each period are resampled with replacement, the ratio of sums recomputed, and the
2.5 and 97.5 percentiles of the replicated differences kept (percentile bootstrap). Days are the units
because they are what is close to independent (strokes within a day are not: one breakdown removes a
hundred of them together), and the ratio of two random sums is neither normal nor unbiased for the
handful of days a small plant compares, so no closed-form normal interval is assumed. The same
resampled days serve every metric, so the metrics stay consistent with each other. Limits: consecutive
days are not fully independent (a slow drift, a breakdown over midnight), which makes the interval a
little too narrow; below :data:`MIN_DAYS` days in a period the percentile bootstrap under-covers, and
the comparison says so (``unreliable``). docs/guides/roi.md explains how to read the result.

>>> import numpy as np
>>> before = [DayFigures(planned_s=16 * 3600, pq=2000, gq=1900, sq=100, pri_gq_s=1900 * 12.0,
...                      energy_kwh=120.0, downtime_s=(3 + d % 3) * 3600) for d in range(20)]
>>> after = [DayFigures(planned_s=16 * 3600, pq=2200, gq=2150, sq=50, pri_gq_s=2150 * 12.0,
...                     energy_kwh=118.0, downtime_s=(1 + d % 3) * 3600) for d in range(20)]
>>> result = compare(before, after, rng=np.random.default_rng(7))
>>> y = result.metric(Metric.YIELD)
>>> round(y.baseline, 2), round(y.current, 2), round(y.relative, 3), y.verdict.value
(118.75, 134.38, 0.132, 'better')
>>> result.metric(Metric.DOWNTIME).verdict.value, result.unreliable
('better', False)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Fewer days than this in either period and the percentile bootstrap under-covers noticeably (its
# interval is too narrow for n < 5–10 even on well-behaved data): the comparison is flagged.
MIN_DAYS = 5
# Resamples: with 2 000 the Monte Carlo error of a 2.5 % percentile is well under a tenth of the
# interval's half-width, and a comparison of two 90-day periods takes a few milliseconds.
DEFAULT_RESAMPLES = 2_000
DEFAULT_CONFIDENCE = 0.95
# A metric whose denominator is zero in more than this share of the resamples has no usable interval
# (e.g. energy metered on one day out of thirty): the interval is left out rather than made up.
MAX_UNDEFINED_SHARE = 0.05
_SECONDS_PER_HOUR = 3600.0

FloatArray = npt.NDArray[np.float64]


class Metric(enum.StrEnum):
    """The compared metrics, in the order of the table."""

    YIELD = "yield"
    OEE = "oee"
    SCRAP_RATE = "scrap_rate"
    ENERGY_PER_GOOD = "energy_per_good"
    DOWNTIME = "downtime"


# True when a larger value is an improvement.
HIGHER_IS_BETTER: dict[Metric, bool] = {
    Metric.YIELD: True,
    Metric.OEE: True,
    Metric.SCRAP_RATE: False,
    Metric.ENERGY_PER_GOOD: False,
    Metric.DOWNTIME: False,
}


class Verdict(enum.StrEnum):
    """What a difference means, in words (the page and the PDF never rely on colour alone)."""

    BETTER = "better"
    WORSE = "worse"
    NOT_SIGNIFICANT = "not_significant"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class DayFigures:
    """The sums of one day (or shift) over the compared scope, as plain numbers.

    ``pri_gq_s`` is ``None`` when a machine of the scope has no planned cycle time (OEE cannot be
    computed); ``energy_kwh`` is ``None`` when the day has no energy data (never 0: a day without a
    meter did not use no energy). ``metered_gq`` is the good parts of the machines whose energy is in
    ``energy_kwh`` (``None``: all of them, ``gq``), so a press without a meter does not dilute the ratio.
    """

    planned_s: float
    pq: int
    gq: int
    sq: int
    pri_gq_s: float | None
    energy_kwh: float | None
    downtime_s: float
    metered_gq: int | None = None

    @property
    def energy_gq(self) -> int:
        """The good parts the day's energy is divided by (0 without energy)."""
        if self.energy_kwh is None:
            return 0
        return self.gq if self.metered_gq is None else self.metered_gq

    @property
    def empty(self) -> bool:
        """Nothing planned and nothing made: a weekend or a closed day, not a day of the comparison."""
        return self.planned_s <= 0 and self.pq == 0


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    """What a period is made of: days counted, planned hours, parts, energy and downtime."""

    days: int
    planned_h: float
    pq: int
    gq: int
    sq: int
    energy_kwh: float | None
    energy_days: int
    energy_gq: int
    downtime_h: float


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """One metric in both periods, the difference current − baseline and its interval.

    Every value is ``None`` when the metric cannot be computed in a period (``verdict`` is then
    ``NO_DATA``); ``low``/``high`` (and ``relative_low``/``relative_high``) are ``None`` when the
    bootstrap could not give an interval. ``relative`` is the difference over the baseline.
    """

    metric: Metric
    baseline: float | None
    current: float | None
    difference: float | None
    low: float | None
    high: float | None
    relative: float | None
    relative_low: float | None
    relative_high: float | None
    verdict: Verdict

    @property
    def higher_is_better(self) -> bool:
        return HIGHER_IS_BETTER[self.metric]

    @property
    def half_width(self) -> float | None:
        """Half the interval's width, for a "± x" display (the interval itself need not be symmetric)."""
        return None if self.low is None or self.high is None else (self.high - self.low) / 2

    @property
    def relative_half_width(self) -> float | None:
        if self.relative_low is None or self.relative_high is None:
            return None
        return (self.relative_high - self.relative_low) / 2

    def scaled(self, factor: float) -> MetricComparison:
        """The same comparison in another unit (e.g. kWh → gCO2e): a linear change scales the interval."""

        def s(v: float | None) -> float | None:
            return None if v is None else v * factor

        low, high = s(self.low), s(self.high)
        if factor < 0 and low is not None and high is not None:
            low, high = high, low
        return MetricComparison(
            self.metric,
            s(self.baseline),
            s(self.current),
            s(self.difference),
            low,
            high,
            self.relative,
            self.relative_low,
            self.relative_high,
            self.verdict,
        )


@dataclass(frozen=True, slots=True)
class Comparison:
    """The five metrics compared, what each period holds, and how the interval was obtained."""

    metrics: tuple[MetricComparison, ...]
    baseline: PeriodTotals
    current: PeriodTotals
    confidence: float
    resamples: int
    min_days: int

    @property
    def unreliable(self) -> bool:
        """Too few days in a period for the interval to be trusted (fewer than ``min_days``)."""
        return min(self.baseline.days, self.current.days) < self.min_days

    def metric(self, which: Metric) -> MetricComparison:
        return next(m for m in self.metrics if m.metric is which)


@dataclass(frozen=True, slots=True)
class _Columns:
    """Per-day numerators and denominators of every metric, as arrays (NaN where a day has no data)."""

    num: dict[Metric, FloatArray]
    den: dict[Metric, FloatArray]

    @classmethod
    def of(cls, days: Sequence[DayFigures]) -> _Columns:
        def col(values: list[float | None]) -> FloatArray:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        planned_h = col([d.planned_s / _SECONDS_PER_HOUR for d in days])
        gq = col([float(d.gq) for d in days])
        energy = col([d.energy_kwh for d in days])
        metered = ~np.isnan(energy)
        energy_gq = col([float(d.energy_gq) for d in days])
        return cls(
            num={
                Metric.YIELD: gq,
                Metric.OEE: col([d.pri_gq_s for d in days]),
                Metric.SCRAP_RATE: col([float(d.sq) for d in days]),
                # Energy per good part counts the good parts of metered days only: numerator and
                # denominator must cover the same days.
                Metric.ENERGY_PER_GOOD: np.where(metered, energy, 0.0),
                Metric.DOWNTIME: col([d.downtime_s / _SECONDS_PER_HOUR for d in days]),
            },
            den={
                Metric.YIELD: planned_h,
                Metric.OEE: planned_h * _SECONDS_PER_HOUR,
                Metric.SCRAP_RATE: col([float(d.pq) for d in days]),
                Metric.ENERGY_PER_GOOD: np.where(metered, energy_gq, 0.0),
                Metric.DOWNTIME: planned_h / 100.0,
            },
        )

    def available(self, metric: Metric) -> bool:
        """False when a day lacks the numerator (OEE without PRI) or no day has it (energy unmetered)."""
        num = self.num[metric]
        if metric is Metric.ENERGY_PER_GOOD:
            return bool(self.den[metric].sum() > 0)
        return not bool(np.isnan(num).any()) and bool(self.den[metric].sum() > 0)


def _totals(days: Sequence[DayFigures]) -> PeriodTotals:
    metered = [d.energy_kwh for d in days if d.energy_kwh is not None]
    return PeriodTotals(
        days=len(days),
        planned_h=sum(d.planned_s for d in days) / _SECONDS_PER_HOUR,
        pq=sum(d.pq for d in days),
        gq=sum(d.gq for d in days),
        sq=sum(d.sq for d in days),
        energy_kwh=sum(metered) if metered else None,
        energy_days=len(metered),
        energy_gq=sum(d.energy_gq for d in days),
        downtime_h=sum(d.downtime_s for d in days) / _SECONDS_PER_HOUR,
    )


def _replicates(num: FloatArray, den: FloatArray, picks: npt.NDArray[np.intp]) -> FloatArray:
    """The ratio of sums of each resample (rows of ``picks``); NaN where a resample's denominator is 0."""
    nums = num[picks].sum(axis=1)
    dens = den[picks].sum(axis=1)
    out = np.full(len(picks), np.nan)
    np.divide(nums, dens, out=out, where=dens > 0)
    return out


def _interval(values: FloatArray, confidence: float) -> tuple[float, float] | None:
    finite = values[np.isfinite(values)]
    if len(values) == 0 or len(finite) < (1 - MAX_UNDEFINED_SHARE) * len(values):
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def _verdict(metric: Metric, interval: tuple[float, float] | None) -> Verdict:
    if interval is None:
        return Verdict.NOT_SIGNIFICANT
    low, high = interval
    if low > 0 or high < 0:
        return Verdict.BETTER if (low > 0) == HIGHER_IS_BETTER[metric] else Verdict.WORSE
    return Verdict.NOT_SIGNIFICANT


def compare(
    baseline: Sequence[DayFigures],
    current: Sequence[DayFigures],
    *,
    rng: np.random.Generator,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    min_days: int = MIN_DAYS,
) -> Comparison:
    """Compare ``current`` with ``baseline``: each metric as a ratio of sums, the difference, its interval.

    Parameters
    ----------
    baseline, current
        The days (or shifts) of each period. Empty days (nothing planned, nothing made) are left out:
        they are not days of production and would only add noise to the resampling.
    rng
        The random generator of the bootstrap (injected: a fixed seed gives the same intervals).
    resamples
        Bootstrap resamples per period.
    confidence
        Coverage of the intervals (0.95 gives the 2.5 and 97.5 percentiles).
    min_days
        Below this many days in a period the comparison is flagged ``unreliable``.

    Returns
    -------
    Comparison
        A difference is ``better`` or ``worse`` only when its interval excludes 0, otherwise
        ``not_significant``; ``no_data`` when a period cannot give the metric (no energy meter, no
        planned cycle time, nothing planned).

    Examples
    --------
    Identical periods give a zero difference and an interval around it:

    >>> days = [DayFigures(8 * 3600, 900 + 10 * (d % 4), 880, 20, 880 * 9.0, None, 1800.0 * (d % 3))
    ...         for d in range(12)]
    >>> same = compare(days, days, rng=np.random.default_rng(1))
    >>> m = same.metric(Metric.SCRAP_RATE)
    >>> m.difference, m.low < 0 < m.high, m.verdict.value
    (0.0, True, 'not_significant')
    >>> same.metric(Metric.ENERGY_PER_GOOD).verdict.value
    'no_data'
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    if resamples < 100:
        raise ValueError(f"at least 100 resamples are needed for a percentile interval, got {resamples}")
    base_days = [d for d in baseline if not d.empty]
    cur_days = [d for d in current if not d.empty]
    base, cur = _Columns.of(base_days), _Columns.of(cur_days)
    # One set of resampled days per period, shared by every metric.
    base_picks = rng.integers(0, max(len(base_days), 1), size=(resamples, len(base_days)))
    cur_picks = rng.integers(0, max(len(cur_days), 1), size=(resamples, len(cur_days)))

    results = []
    for metric in Metric:
        if not (base.available(metric) and cur.available(metric)):
            results.append(
                MetricComparison(metric, None, None, None, None, None, None, None, None, Verdict.NO_DATA)
            )
            continue
        # available() checked that both denominators are positive.
        b = float(base.num[metric].sum()) / float(base.den[metric].sum())
        c = float(cur.num[metric].sum()) / float(cur.den[metric].sum())
        b_rep = _replicates(base.num[metric], base.den[metric], base_picks)
        c_rep = _replicates(cur.num[metric], cur.den[metric], cur_picks)
        diff = _interval(c_rep - b_rep, confidence)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel_rep = np.where(b_rep != 0, c_rep / b_rep - 1, np.nan)
        rel = _interval(rel_rep, confidence) if b != 0 else None
        results.append(
            MetricComparison(
                metric=metric,
                baseline=b,
                current=c,
                difference=c - b,
                low=None if diff is None else diff[0],
                high=None if diff is None else diff[1],
                relative=(c / b - 1) if b != 0 else None,
                relative_low=None if rel is None else rel[0],
                relative_high=None if rel is None else rel[1],
                verdict=_verdict(metric, diff),
            )
        )
    return Comparison(
        metrics=tuple(results),
        baseline=_totals(base_days),
        current=_totals(cur_days),
        confidence=confidence,
        resamples=resamples,
        min_days=min_days,
    )
