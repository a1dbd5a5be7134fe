"""The ROI comparison in words and formatted numbers: the table's cells, the summary sentences, the
periods and scope, in the reader's language. Shared by the page and the PDF (:mod:`cadence.reports.roi_pdf`),
and free of the PDF library, so the web process does not load it to show a page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from cadence.analytics.roi import Metric, MetricComparison, Verdict
from cadence.clock import to_datetime
from cadence.services.roi import VERDICT_TEXTS, RoiReport, Row
from cadence.web.i18n import format_date, format_number, format_percent, translations


@dataclass(frozen=True, slots=True)
class Cell:
    """One formatted row of the table (page and PDF), in the reader's language."""

    key: str
    label: str
    unit: str
    baseline: str
    current: str
    difference: str
    relative: str
    verdict: Verdict
    verdict_text: str


def _digits(key: str) -> int:
    return {"yield": 1, "oee": 1, "scrap_rate": 2, "energy_per_good": 1, "downtime": 2, "co2": 2}[key]


def format_rows(rows: Sequence[Row], locale: str) -> list[Cell]:
    """Table cells for ``rows``: values in display units, "—" where there is no data, never 0."""
    _ = translations(locale).gettext
    out = []
    for row in rows:
        m = row.shown
        d = _digits(row.key)

        def num(v: float | None, signed: bool = False, digits: int = d) -> str:
            if v is None:
                return "—"
            text = format_number(abs(v) if signed else v, locale, digits)
            return (("+" if v >= 0 else "−") + text) if signed else text

        unit = _(row.text.unit) if row.text.unit not in ("%", "Wh", "gCO2e") else row.text.unit
        if m.difference is None:
            difference = "—"
        else:
            difference = num(m.difference, signed=True)
            if m.half_width is not None:
                difference += f" ± {num(m.half_width)}"
            if row.text.percent:
                difference += " " + _("pts")
        relative = "—"
        if row.comparison.relative is not None:
            relative = ("+" if row.comparison.relative >= 0 else "−") + format_percent(
                abs(row.comparison.relative), locale, 1
            )
            if row.comparison.relative_half_width is not None:
                relative += " ± " + format_percent(row.comparison.relative_half_width, locale, 1)
        out.append(
            Cell(
                key=row.key,
                label=_(row.text.label),
                unit=unit,
                baseline=num(m.baseline),
                current=num(m.current),
                difference=difference,
                relative=relative,
                verdict=m.verdict,
                verdict_text=_(VERDICT_TEXTS[m.verdict.value]),
            )
        )
    return out


def _sentence(row: Row, gettext: Callable[[str], str], locale: str) -> str | None:
    """One sentence for one metric: the change, its uncertainty, and whether it is significant."""
    _ = gettext
    c: MetricComparison = row.comparison
    if c.verdict is Verdict.NO_DATA or c.difference is None:
        return None
    up = c.difference >= 0
    if row.key in (Metric.OEE, Metric.SCRAP_RATE):
        # Ratios read as percentage points: "+2 %" of a 60 % OEE would be ambiguous.
        shown = row.shown
        digits = _digits(row.key)
        change = format_number(abs(shown.difference or 0.0), locale, digits)
        margin = "?" if shown.half_width is None else format_number(shown.half_width, locale, digits)
    else:
        change = format_percent(abs(c.relative or 0.0), locale, 0)
        half = c.relative_half_width
        margin = "?" if half is None else format_percent(half, locale, 0)
    templates = {
        Metric.YIELD: (
            _("Yield rose by %(change)s (± %(margin)s)."),
            _("Yield fell by %(change)s (± %(margin)s)."),
        ),
        Metric.OEE: (
            _("OEE gained %(change)s points (± %(margin)s)."),
            _("OEE lost %(change)s points (± %(margin)s)."),
        ),
        Metric.SCRAP_RATE: (
            _("The scrap rate rose by %(change)s points (± %(margin)s)."),
            _("The scrap rate fell by %(change)s points (± %(margin)s)."),
        ),
        Metric.ENERGY_PER_GOOD: (
            _("Energy per good part rose by %(change)s (± %(margin)s)."),
            _("Energy per good part fell by %(change)s (± %(margin)s)."),
        ),
        Metric.DOWNTIME: (
            _("Downtime rose by %(change)s (± %(margin)s)."),
            _("Downtime fell by %(change)s (± %(margin)s)."),
        ),
    }
    if row.key not in templates:
        return None
    rose, fell = templates[Metric(row.key)]
    text = (rose if up else fell) % {"change": change, "margin": margin}
    verdicts = {
        Verdict.BETTER: _("A significant improvement."),
        Verdict.WORSE: _("A significant deterioration."),
        Verdict.NOT_SIGNIFICANT: _("Not significant: the change is within the uncertainty."),
    }
    return f"{text} {verdicts[c.verdict]}"


def summary_sentences(report: RoiReport, locale: str) -> list[str]:
    """The comparison in plain words, one sentence per metric with data, then the caveats."""
    _ = translations(locale).gettext
    if min(report.comparison.baseline.days, report.comparison.current.days) == 0:
        return [_("No production recorded in one of the periods: there is nothing to compare.")]
    out = [s for row in report.rows if (s := _sentence(row, _, locale)) is not None]
    if report.comparison.metric(Metric.ENERGY_PER_GOOD).verdict is Verdict.NO_DATA:
        out.append(_("No energy data in one of the periods: energy and CO2 per good part are not compared."))
    return out


def scope_text(report: RoiReport, locale: str) -> str:
    """ "Whole plant", "Line L1 — …" or "Press P01 — …" in the reader's language."""
    _ = translations(locale).gettext
    if report.scope.kind.value == "plant":
        return _("Whole plant")
    # "L1 — Ligne 1 — supports": plant files already name lines and presses by what they are.
    return report.scope_name


def table_headers(locale: str) -> list[str]:
    """The column titles of the comparison table (the page's and the PDF's)."""
    _ = translations(locale).gettext
    return [
        _("Metric"),
        _("Baseline"),
        _("Current"),
        _("Difference (95 %)"),
        _("Relative change"),
        _("Verdict"),
    ]


def method_note(locale: str) -> str:
    """How to read ± and "not significant", in one sentence under the table."""
    _ = translations(locale).gettext
    return _(
        "± is half the width of the interval (95 %) of the difference, from a bootstrap over days. "
        "Not significant: the interval contains zero, the change may be chance."
    )


def unreliable_text(report: RoiReport, locale: str) -> str | None:
    """The warning shown when a period has too few days for its interval to be trusted, else None."""
    if not report.comparison.unreliable:
        return None
    _ = translations(locale).gettext
    return _("Fewer than %(n)d days with production in a period: the uncertainty is underestimated.") % {
        "n": report.comparison.min_days
    }


def period_text(report: RoiReport, which: str, locale: str) -> str:
    """ "01/01/2026 – 31/03/2026 · 62 days · 1 488 planned h · 123 456 parts" in the reader's language."""
    _ = translations(locale).gettext
    period = report.baseline if which == "baseline" else report.current
    totals = report.comparison.baseline if which == "baseline" else report.comparison.current
    start_us, end_us = period.bounds_us(ZoneInfo(report.timezone))
    span = (
        f"{format_date(to_datetime(start_us), locale, 'short', report.timezone)} – "
        f"{format_date(to_datetime(end_us - 1), locale, 'short', report.timezone)}"
    )
    return " · ".join(
        [
            span,
            _("%(n)s days with production") % {"n": format_number(totals.days, locale)},
            _("%(h)s planned h") % {"h": format_number(totals.planned_h, locale, 0)},
            _("%(n)s parts") % {"n": format_number(totals.pq, locale)},
        ]
    )
