"""ISO 22400-2 time elements and KPIs of one work unit, with the Nakajima/TRS split beside them.

:func:`kpi_report` sums the intervals of :func:`cadence.analytics.intervals.tile` into the ISO 22400-2
time elements and counts the strokes that ended in the period:

==================  ======================================================================
element             categories (docs/guides/kpis.md)
==================  ======================================================================
POT                 the whole period
PDOT                ``planned_stop``
ADOT                ``no_order`` and ``idle`` (available, waiting: docs/domain.md §2.8)
AUST                ``setup``
ADET                ``down`` (malfunction) + ``micro_stop`` (minor stoppages), ISO/DIS wording
unknown             ``unknown`` (no data): a loss, so a dead gateway never raises OEE
APT                 ``running`` = PBT − ADOT − AUST − ADET − unknown
==================  ======================================================================

The Nakajima / NF E60-182 (TRS) reading puts micro-stops in performance instead of availability: its
operating time ("temps brut de fonctionnement") is APT + micro-stops. The OEE is the same either way.

>>> from cadence.domain.states import MachineState as S, StateChange
>>> from cadence.domain.cycles import Stroke
>>> from cadence.analytics.intervals import tile
>>> changes = [StateChange(0, S.RUNNING), StateChange(3_000_000_000, S.DOWN, "breakdown.die"),
...            StateChange(3_300_000_000, S.RUNNING)]
>>> strokes = [Stroke("P01", n, n * 12_000_000, n * 12_000_000 + 8_000_000, good=n % 10 != 0)
...            for n in range(1, 300) if not 250 <= n < 275]
>>> report = kpi_report(tile(changes, [], 0, 3_600_000_000), strokes, pri_s=12)
>>> report.pq, report.gq, report.adet_s, report.apt_s
(274, 248, 300.0, 3300.0)
>>> round(report.availability, 4), round(report.effectiveness, 4), round(report.oee, 4)
(0.9167, 0.9964, 0.8267)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from cadence.analytics.intervals import US_PER_S, Category, Interval, durations_by_category
from cadence.domain.cycles import Stroke
from cadence.domain.operator import ScrapDeclaration

# Non-good strokes whose scrap reason is below this code are rework (RQ), the others scrap (SQ).
DEFAULT_REWORK_PREFIX = "rework"


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


@dataclass(frozen=True, slots=True)
class KpiReport:
    """The time elements (seconds), quantities and ratios of one period, with what they came from.

    ``intervals``, ``strokes`` and ``declarations`` are the inputs actually counted, for drill-down.
    ``pri_pq_s`` is the planned time of the parts produced (PRI · PQ, summed per part when PRI differs by
    part) and ``pri_gq_s`` that of the good parts. ``declared`` is the scrap operators declared in the
    period and ``declared_sq`` the part of it counted in SQ (at most the good parts the press made: see
    :func:`kpi_report`).
    """

    intervals: tuple[Interval, ...]
    strokes: tuple[Stroke, ...]
    pot_s: float
    pdot_s: float
    adot_s: float
    aust_s: float
    malfunction_s: float
    micro_stop_s: float
    unknown_s: float
    apt_s: float
    pri_pq_s: float
    pri_gq_s: float
    pq: int
    gq: int
    sq: int
    rq: int
    failure_events: int
    ttr_s: float
    declarations: tuple[ScrapDeclaration, ...] = ()
    declared: int = 0
    declared_sq: int = 0

    @property
    def declared_uncounted(self) -> int:
        """Declared scrap beyond the period's good parts, not counted so that GQ never goes below 0."""
        return self.declared - self.declared_sq

    # ISO 22400-2 time elements derived from the sums.
    @property
    def pbt_s(self) -> float:
        """Planned busy time PBT = POT − PDOT."""
        return self.pot_s - self.pdot_s

    @property
    def adet_s(self) -> float:
        """Actual unit delay time: malfunctions and minor stoppages (ISO/DIS wording)."""
        return self.malfunction_s + self.micro_stop_s

    @property
    def aupt_s(self) -> float:
        """Actual unit processing time AUPT = APT + AUST."""
        return self.apt_s + self.aust_s

    @property
    def aubt_s(self) -> float:
        """Actual unit busy time AUBT = AUPT + ADET."""
        return self.aupt_s + self.adet_s

    # ISO 22400-2 ratios.
    @property
    def availability(self) -> float:
        """A = APT / PBT."""
        return _ratio(self.apt_s, self.pbt_s)

    @property
    def effectiveness(self) -> float:
        """E = PRI · PQ / APT; above 1 when parts came faster than planned (never clipped)."""
        return _ratio(self.pri_pq_s, self.apt_s)

    @property
    def effectiveness_exceeds_plan(self) -> bool:
        """True when E > 1: PRI is slower than the press really is, worth a look (docs/domain.md §2.3)."""
        return self.effectiveness > 1.0

    @property
    def quality_ratio(self) -> float:
        """QR = GQ / PQ."""
        return _ratio(self.gq, self.pq)

    @property
    def oee(self) -> float:
        """OEE = A · E · QR, computed as PRI · GQ / PBT (the same, without rounding between factors)."""
        return _ratio(self.pri_gq_s, self.pbt_s)

    @property
    def nee(self) -> float:
        """Net equipment effectiveness = AUPT / PBT · E · QR."""
        return _ratio(self.aupt_s, self.pbt_s) * self.effectiveness * self.quality_ratio

    @property
    def allocation_efficiency(self) -> float:
        """AUBT / PBT."""
        return _ratio(self.aubt_s, self.pbt_s)

    @property
    def utilization_efficiency(self) -> float:
        """APT / AUBT."""
        return _ratio(self.apt_s, self.aubt_s)

    @property
    def technical_efficiency(self) -> float:
        """APT / (APT + ADET)."""
        return _ratio(self.apt_s, self.apt_s + self.adet_s)

    @property
    def setup_rate(self) -> float:
        """AUST / AUPT."""
        return _ratio(self.aust_s, self.aupt_s)

    @property
    def scrap_ratio(self) -> float:
        """SQ / PQ."""
        return _ratio(self.sq, self.pq)

    @property
    def rework_ratio(self) -> float:
        """RQ / PQ."""
        return _ratio(self.rq, self.pq)

    @property
    def throughput_per_h(self) -> float:
        """Parts produced per hour of planned busy time."""
        return _ratio(self.pq * 3600.0, self.pbt_s)

    @property
    def mttr_s(self) -> float | None:
        """Mean time to repair ΣTTR / FE over unplanned-down stops; ``None`` without a failure."""
        return self.ttr_s / self.failure_events if self.failure_events else None

    @property
    def mtbf_s(self) -> float | None:
        """Mean time between failures, DIS wording of TBF: busy time without delays, AUPT / FE."""
        return self.aupt_s / self.failure_events if self.failure_events else None

    @property
    def mtbf_operating_s(self) -> float | None:
        """The other common convention: (AUBT − ΣTTR) / FE, minor stoppages counted as operating."""
        return (self.aubt_s - self.ttr_s) / self.failure_events if self.failure_events else None

    def teep(self, calendar_s: float) -> float:
        """TEEP = PRI · GQ / calendar time: OEE against all the time there is (e.g. 24 h)."""
        return _ratio(self.pri_gq_s, calendar_s)

    # Nakajima / NF E60-182 (TRS): setup, breakdowns and no-order time lower availability; micro-stops
    # lower performance (docs/domain.md §2.4).
    @property
    def trs_operating_s(self) -> float:
        """Operating time (temps brut de fonctionnement) = APT + micro-stops."""
        return self.apt_s + self.micro_stop_s

    @property
    def trs_availability(self) -> float:
        """Operating time / PBT (taux de disponibilité opérationnelle)."""
        return _ratio(self.trs_operating_s, self.pbt_s)

    @property
    def trs_performance(self) -> float:
        """PRI · PQ / operating time (taux de performance): speed loss and micro-stops."""
        return _ratio(self.pri_pq_s, self.trs_operating_s)

    @property
    def trs_quality(self) -> float:
        """GQ / PQ (taux de qualité), as QR."""
        return self.quality_ratio

    @property
    def trs(self) -> float:
        """TRS = availability · performance · quality = PRI · GQ / PBT, equal to the ISO OEE."""
        return self.oee


def _pri_of(stroke: Stroke, pri_s: float | Mapping[str, float]) -> float:
    if not isinstance(pri_s, Mapping):
        return float(pri_s)
    if stroke.part is None or stroke.part not in pri_s:
        raise ValueError(f"stroke {stroke.n}: no planned run time for part {stroke.part!r}")
    return float(pri_s[stroke.part])


def kpi_report(
    intervals: Sequence[Interval],
    strokes: Iterable[Stroke],
    pri_s: float | Mapping[str, float],
    *,
    declarations: Iterable[ScrapDeclaration] = (),
    rework_prefix: str = DEFAULT_REWORK_PREFIX,
) -> KpiReport:
    """The ISO 22400-2 time elements, quantities and KPIs of the period the intervals tile.

    Parameters
    ----------
    intervals
        Contiguous intervals in time order, as :func:`~cadence.analytics.intervals.tile` returns them;
        they define the period.
    strokes
        The machine's strokes; those that *end* within the period are counted (a part exists once its
        stroke is over). Not good ones are scrap (SQ), or rework (RQ) when their scrap reason is
        ``rework_prefix`` or below it. GQ = PQ − SQ − RQ.
    pri_s
        Planned run time per item, in seconds: one value, or one per ``Stroke.part``.
    declarations
        Scrap that operators declared (parts the press judged good, found bad later, e.g. at inspection);
        those *made* within the period count in it, like strokes. Their quantity D moves parts from good to
        scrap: SQ += min(D, GQ) and GQ −= min(D, GQ), PQ unchanged (the parts were produced). GQ never
        goes below 0: a declaration larger than the period's good parts (parts made in an earlier shift)
        is counted up to them and the rest is kept apart in ``declared_uncounted``. With one PRI per part,
        the good parts' planned time shrinks in proportion (declarations do not name a part).
    rework_prefix
        The scrap-reason code that marks rework.

    Returns
    -------
    KpiReport
        Failure events (FE) are the runs of contiguous ``down`` intervals; their durations are the TTR.

    References
    ----------
    ISO 22400-2:2014, Automation systems and integration — KPIs for manufacturing operations management;
    S. Nakajima, Introduction to TPM (1988); NF E60-182 (TRS); docs/domain.md §2.2–§2.5.

    Examples
    --------
    >>> from cadence.analytics.intervals import Interval, Category
    >>> spans = [Interval(0, 3_000_000_000, Category.RUNNING), Interval(3_000_000_000, 3_600_000_000,
    ...          Category.PLANNED_STOP)]
    >>> strokes = [Stroke("P01", n, n * 15_000_000, n * 15_000_000 + 9_000_000, good=True)
    ...            for n in range(200)]
    >>> r = kpi_report(spans, strokes, pri_s=12)
    >>> r.pbt_s, r.pq, round(r.effectiveness, 2), r.mtbf_s is None
    (3000.0, 200, 0.8, True)

    Twelve parts found cracked at inspection: they leave GQ for SQ, and the OEE falls with GQ. A
    declaration of 500 parts counts only the 200 good ones there are:

    >>> from cadence.domain.operator import ScrapDeclaration
    >>> found = [ScrapDeclaration("P01", 1_800_000_000, 12, "crack at inspection", by="lea")]
    >>> d = kpi_report(spans, strokes, pri_s=12, declarations=found)
    >>> d.pq, d.gq, d.sq, round(r.oee, 3), round(d.oee, 3)
    (200, 188, 12, 0.8, 0.752)
    >>> big = kpi_report(spans, strokes, pri_s=12, declarations=[ScrapDeclaration("P01", 0, 500, "x", "lea")])
    >>> big.gq, big.sq, big.declared, big.declared_sq, big.declared_uncounted
    (0, 200, 500, 200, 300)
    """
    spans = tuple(intervals)
    if not spans:
        raise ValueError("no intervals: the period is empty")
    for before, after in pairwise(spans):
        if after.start_us != before.end_us:
            raise ValueError(f"intervals must be contiguous: {before.end_us} then {after.start_us}")
    start_us, end_us = spans[0].start_us, spans[-1].end_us
    d = durations_by_category(spans)

    counted = tuple(s for s in strokes if start_us <= s.end_us < end_us)
    pq = len(counted)
    bad = [s for s in counted if not s.good]
    rq = sum(
        1
        for s in bad
        if s.scrap_reason is not None
        and (s.scrap_reason == rework_prefix or s.scrap_reason.startswith(rework_prefix + "."))
    )
    sq = len(bad) - rq

    press_gq = pq - sq - rq
    pri_gq = sum(_pri_of(s, pri_s) for s in counted if s.good)
    found = tuple(d for d in declarations if start_us <= d.at_us < end_us)
    declared = sum(d.quantity for d in found)
    declared_sq = min(declared, press_gq)
    if declared_sq:
        if isinstance(pri_s, Mapping):
            pri_gq *= (press_gq - declared_sq) / press_gq
        else:
            pri_gq = float(pri_s) * (press_gq - declared_sq)  # exact, as without declarations

    events = 0
    ttr = 0.0
    previous: Category | None = None
    for span in spans:
        if span.category is Category.DOWN:
            events += previous is not Category.DOWN
            ttr += span.duration_s
        previous = span.category

    return KpiReport(
        intervals=spans,
        strokes=counted,
        pot_s=(end_us - start_us) / US_PER_S,
        pdot_s=d[Category.PLANNED_STOP],
        adot_s=d[Category.NO_ORDER] + d[Category.IDLE],
        aust_s=d[Category.SETUP],
        malfunction_s=d[Category.DOWN],
        micro_stop_s=d[Category.MICRO_STOP],
        unknown_s=d[Category.UNKNOWN],
        apt_s=d[Category.RUNNING],
        pri_pq_s=sum(_pri_of(s, pri_s) for s in counted),
        pri_gq_s=pri_gq,
        pq=pq,
        gq=press_gq - declared_sq,
        sq=sq + declared_sq,
        rq=rq,
        failure_events=events,
        ttr_s=ttr,
        declarations=found,
        declared=declared,
        declared_sq=declared_sq,
    )
