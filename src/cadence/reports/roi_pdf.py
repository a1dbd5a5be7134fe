"""The ROI comparison as a one-page PDF for the plant manager, and its plain-language summary.

One A4 page: title, site, scope and periods with what they hold, the table of the metrics (baseline,
current, difference ± half-interval, verdict in words), a bar chart of the relative changes with their
95 % intervals as whiskers, the summary in sentences, and the definitions and method used. Fonts and
table style come from :mod:`cadence.reports.pdf`; words from the gettext catalog (French or English),
numbers formatted the locale's way.
"""

from __future__ import annotations

import io

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from cadence.analytics.roi import Verdict
from cadence.clock import to_datetime
from cadence.reports.pdf import FONT, FONT_BOLD, register_fonts
from cadence.reports.roi_text import (
    format_rows,
    period_text,
    scope_text,
    summary_sentences,
    table_headers,
    unreliable_text,
)
from cadence.services.roi import RoiReport
from cadence.web.i18n import format_datetime, format_number, translations

PAGE_W, PAGE_H = A4
MARGIN = 14 * mm
BODY_W = PAGE_W - 2 * MARGIN
VERDICT_COLORS = {
    Verdict.BETTER: "#0b7a3b",
    Verdict.WORSE: "#c4161c",
    Verdict.NOT_SIGNIFICANT: "#7b8794",
    Verdict.NO_DATA: "#c9ced6",
}
# The chart's axis is at least ±10 %: a 1 % change should not fill the page's width.
MIN_AXIS_PCT = 10.0
NICE_AXIS_PCT = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 150.0, 200.0, 300.0, 500.0)


class _Renderer:
    def __init__(self, report: RoiReport, locale: str) -> None:
        self.report = report
        self.locale = locale
        self._ = translations(locale).gettext
        self.h1 = ParagraphStyle("h1", fontName=FONT_BOLD, fontSize=15, leading=19, spaceAfter=2)
        self.h2 = ParagraphStyle(
            "h2", fontName=FONT_BOLD, fontSize=10.5, leading=13, spaceBefore=6, spaceAfter=3
        )
        self.body = ParagraphStyle("body", fontName=FONT, fontSize=8.8, leading=11.5)
        self.small = ParagraphStyle(
            "small", fontName=FONT, fontSize=7.4, leading=9.4, textColor=colors.HexColor("#333a44")
        )
        self.note = ParagraphStyle("note", parent=self.body, textColor=colors.HexColor("#8a3b00"))
        self.cells = format_rows(report.rows, locale)

    def header(self) -> list[Flowable]:
        _ = self._
        r = self.report
        scope = scope_text(r, self.locale)
        printed, baseline, current = _("Printed"), _("Baseline"), _("Current")
        generated = format_datetime(to_datetime(r.generated_us), self.locale, "short", r.timezone)
        return [
            Paragraph(_("Before and after: what changed"), self.h1),
            Paragraph(
                f"<b>{r.site_name}</b> · {scope} · {printed} {generated}",
                self.body,
            ),
            Spacer(1, 3),
            Paragraph(f"<b>{baseline}</b> {period_text(r, 'baseline', self.locale)}", self.body),
            Paragraph(f"<b>{current}</b> {period_text(r, 'current', self.locale)}", self.body),
        ]

    def table(self) -> Table:
        _ = self._
        head = table_headers(self.locale)
        th = ParagraphStyle("th", fontName=FONT_BOLD, fontSize=7.8, leading=9.5)
        label = ParagraphStyle("label", fontName=FONT, fontSize=8.2, leading=10)
        rows: list[list[object]] = [[Paragraph(h, th) for h in head]]
        for cell in self.cells:
            rows.append(
                [
                    Paragraph(f"{cell.label}<br/><font size=6.8 color='#4a5361'>{cell.unit}</font>", label),
                    cell.baseline,
                    cell.current,
                    cell.difference,
                    cell.relative,
                    cell.verdict_text,
                ]
            )
        widths = [44 * mm, 20 * mm, 20 * mm, 39 * mm, 31 * mm]
        widths.append(BODY_W - sum(widths))
        table = Table(rows, colWidths=widths, hAlign="LEFT")
        style: list[tuple[object, ...]] = [
            ("FONT", (0, 0), (-1, -1), FONT, 8.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e9f0")),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f7f9")]),
            ("ALIGN", (1, 1), (-2, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#7b8794")),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        for i, cell in enumerate(self.cells, start=1):
            # The verdict is written in words; the colour only repeats it.
            style.append(("TEXTCOLOR", (-1, i), (-1, i), colors.HexColor(VERDICT_COLORS[cell.verdict])))
            style.append(("FONT", (-1, i), (-1, i), FONT_BOLD, 8.5))
        table.setStyle(TableStyle(style))
        return table

    def chart(self) -> Drawing:
        """Relative change per metric (bar) with its 95 % interval (whisker); zero in the middle."""
        rows = [r for r in self.report.rows if r.comparison.relative is not None]
        label_w, right_w, row_h = 140.0, 70.0, 17.0
        height = 26 + row_h * max(len(rows), 1)
        drawing = Drawing(BODY_W, height)
        if not rows:
            drawing.add(String(0, height / 2, self._("No metric to compare."), fontName=FONT, fontSize=8))
            return drawing
        extent = max(
            [MIN_AXIS_PCT]
            + [
                abs(v) * 100
                for r in rows
                for v in (r.comparison.relative, r.comparison.relative_low, r.comparison.relative_high)
                if v is not None
            ]
        )
        # A round axis end, so the ticks read as -50 %, -25 %, 0, 25 %, 50 %.
        extent = next((n for n in NICE_AXIS_PCT if n >= extent * 1.05), NICE_AXIS_PCT[-1])
        x0, x1 = label_w, float(BODY_W) - right_w
        zero = (x0 + x1) / 2

        def x(pct: float) -> float:
            pct = max(-extent, min(extent, pct))
            return zero + pct / extent * (x1 - x0) / 2

        grid = colors.HexColor("#d9dee5")
        for tick in (-extent, -extent / 2, 0.0, extent / 2, extent):
            drawing.add(Line(x(tick), 14, x(tick), height - 6, strokeColor=grid, strokeWidth=0.5))
            drawing.add(
                String(
                    x(tick),
                    4,
                    format_number(tick, self.locale, 0) + " %",
                    fontName=FONT,
                    fontSize=6.5,
                    textAnchor="middle",
                )
            )
        drawing.add(Line(zero, 14, zero, height - 6, strokeColor=colors.HexColor("#111418"), strokeWidth=0.8))
        by_key = {c.key: c for c in self.cells}
        for i, row in enumerate(rows):
            y = height - 14 - row_h * (i + 1) + 4
            c = row.comparison
            cell = by_key[row.key]
            color = colors.HexColor(VERDICT_COLORS[c.verdict])
            rel = (c.relative or 0.0) * 100
            left, right = sorted((zero, x(rel)))
            drawing.add(Rect(left, y, max(right - left, 0.6), row_h - 7, fillColor=color, strokeColor=None))
            if c.relative_low is not None and c.relative_high is not None:
                lo, hi = x(c.relative_low * 100), x(c.relative_high * 100)
                mid = y + (row_h - 7) / 2
                ink = colors.HexColor("#111418")
                drawing.add(Line(lo, mid, hi, mid, strokeColor=ink, strokeWidth=0.9))
                drawing.add(Line(lo, mid - 3, lo, mid + 3, strokeColor=ink, strokeWidth=0.9))
                drawing.add(Line(hi, mid - 3, hi, mid + 3, strokeColor=ink, strokeWidth=0.9))
            drawing.add(String(0, y + 2, cell.label, fontName=FONT, fontSize=7.8))
            drawing.add(
                String(x1 + 6, y + 2, cell.verdict_text, fontName=FONT_BOLD, fontSize=7.2, fillColor=color)
            )
        return drawing

    def definitions(self) -> list[Flowable]:
        _ = self._
        r = self.report
        out: list[Flowable] = [Paragraph(_("Definitions and method"), self.h2)]
        for row in r.rows:
            out.append(Paragraph(f"<b>{_(row.text.label)}</b> — {_(row.text.definition)}", self.small))
        out.append(
            Paragraph(
                _("CO2 factor: %(factor)s gCO2e/kWh (%(source)s).")
                % {"factor": format_number(r.co2_g_per_kwh, self.locale), "source": r.co2_source},
                self.small,
            )
        )
        out.append(
            Paragraph(
                _(
                    "Every metric is a ratio of sums over the period, with the same definitions in both "
                    "periods. The ± is half the 95 %% interval of the difference, from a bootstrap over "
                    "days (%(n)s resamples): days are resampled within each period and the ratios "
                    "recomputed. A difference whose interval contains zero is not significant."
                )
                % {"n": format_number(r.comparison.resamples, self.locale)},
                self.small,
            )
        )
        return out

    def render(self) -> bytes:
        _ = self._
        story: list[Flowable] = self.header()
        if (warning := unreliable_text(self.report, self.locale)) is not None:
            story += [Spacer(1, 3), Paragraph(warning, self.note)]
        story += [
            Spacer(1, 6),
            self.table(),
            Paragraph(_("Relative change and its interval (95 %)"), self.h2),
            self.chart(),
            Paragraph(_("In short"), self.h2),
        ]
        story += [Paragraph("• " + s, self.body) for s in summary_sentences(self.report, self.locale)]
        story += self.definitions()
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            title=_("Before and after: what changed"),
            author="Cadence",
        )
        # One page, always: should a long site name or source push the text over, shrink it to fit.
        frame_h = PAGE_H - 2 * MARGIN - 12
        doc.build([KeepInFrame(BODY_W, frame_h, story, mode="shrink")])
        return buffer.getvalue()


def roi_pdf(report: RoiReport, locale: str = "fr") -> bytes:
    """The one-page PDF of ``report`` in ``locale`` (``fr`` or ``en``)."""
    register_fonts()
    return _Renderer(report, locale).render()
