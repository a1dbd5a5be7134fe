"""The shift report as a PDF (ReportLab platypus): a plant and line summary page, then one page per press.

Charts are drawn with ReportLab's own graphics (no matplotlib in the process). Text uses DejaVu Sans,
registered from the system fonts, because ReportLab's built-in Helvetica has no glyphs beyond Latin-1
(œ, €, ≥…). French labels by default; English with ``locale="en"``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from cadence.clock import to_datetime
from cadence.domain.alarms import Alarm
from cadence.domain.operator import LogbookNote
from cadence.errors import ConfigError
from cadence.reports.shift import (
    MICRO_STOPS,
    NO_SCRAP_REASON,
    UNQUALIFIED,
    Figures,
    ParetoBar,
    PressReport,
    ShiftReport,
)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
# Bars beyond this are summed into "others": a Pareto's point is the few reasons that matter.
MAX_BARS = 8
MAX_ALARM_ROWS = 25
# Cells longer than this wrap as a paragraph instead of running into the next column.
WRAP_CHARS = 40
PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
BODY_W = PAGE_W - 2 * MARGIN

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Rapport de fin de poste",
        "site": "Site",
        "shift": "Poste",
        "period": "Période",
        "in_progress": "poste en cours",
        "generated": "Édité le",
        "summary": "Synthèse usine et lignes",
        "plant": "Usine",
        "line": "Ligne",
        "press": "Presse",
        "output": "Produites",
        "good": "Bonnes",
        "scrap": "Rebut",
        "rework": "Retouche",
        "oee": "TRS",
        "iso_split": "Décomposition ISO 22400-2",
        "trs_split": "Décomposition TRS (NF E60-182)",
        "availability": "Disponibilité",
        "effectiveness": "Efficacité",
        "availability_short": "Dispo.",
        "effectiveness_short": "Effic.",
        "performance": "Performance",
        "quality": "Qualité",
        "times": "Temps (min)",
        "pbt": "Temps requis",
        "apt": "Production",
        "setup": "Réglage",
        "waiting": "Attente",
        "breakdown": "Pannes",
        "micro": "Micro-arrêts",
        "unknown": "Sans données",
        "failures": "Pannes (nombre)",
        "downtime_pareto": "Pareto des arrêts (min)",
        "scrap_pareto": "Pareto du rebut (pièces)",
        "reason": "Motif",
        "minutes": "Minutes",
        "count": "Nombre",
        "parts": "Pièces",
        "no_stop": "Aucun arrêt pendant le poste.",
        "no_scrap": "Aucune pièce mauvaise pendant le poste.",
        "cycle": "Temps de cycle (s)",
        "planned": "Prévu",
        "mean": "Moyenne",
        "median": "Médiane",
        "p95": "P95",
        "min": "Min",
        "max": "Max",
        "no_cycle": "Aucun cycle mesuré.",
        "alarms": "Alarmes levées",
        "no_alarm": "Aucune alarme levée pendant le poste.",
        "time": "Heure",
        "code": "Code",
        "message": "Message",
        "more_alarms": "… et {n} autres",
        UNQUALIFIED: "Non qualifié",
        MICRO_STOPS: "Micro-arrêts",
        NO_SCRAP_REASON: "Sans motif",
        "others": "Autres",
        "truncated": "Attention : trop de coups, comptes incomplets.",
        "no_pri": "Pas de cadence prévue : efficacité et TRS non calculables.",
        "logbook": "Cahier de liaison",
        "plant_logbook": "Cahier de liaison — usine",
        "no_note": "Aucune note pendant le poste.",
        "by": "Par",
        "note": "Note",
        "notes_truncated": "Attention : trop de notes, seules les premières figurent ici.",
        "declared": "Rebut déclaré par les opérateurs : {n} pièces, compris dans le rebut.",
        "declared_uncounted": "{n} pièces déclarées au-delà des bonnes pièces du poste : non comptées.",
    },
    "en": {
        "title": "End-of-shift report",
        "site": "Site",
        "shift": "Shift",
        "period": "Period",
        "in_progress": "shift in progress",
        "generated": "Generated",
        "summary": "Plant and line summary",
        "plant": "Plant",
        "line": "Line",
        "press": "Press",
        "output": "Output",
        "good": "Good",
        "scrap": "Scrap",
        "rework": "Rework",
        "oee": "OEE",
        "iso_split": "ISO 22400-2 split",
        "trs_split": "TRS split (NF E60-182)",
        "availability": "Availability",
        "effectiveness": "Effectiveness",
        "availability_short": "Avail.",
        "effectiveness_short": "Effect.",
        "performance": "Performance",
        "quality": "Quality",
        "times": "Time (min)",
        "pbt": "Planned busy",
        "apt": "Production",
        "setup": "Setup",
        "waiting": "Waiting",
        "breakdown": "Breakdowns",
        "micro": "Micro-stops",
        "unknown": "No data",
        "failures": "Failures (count)",
        "downtime_pareto": "Downtime Pareto (min)",
        "scrap_pareto": "Scrap Pareto (parts)",
        "reason": "Reason",
        "minutes": "Minutes",
        "count": "Count",
        "parts": "Parts",
        "no_stop": "No stop during the shift.",
        "no_scrap": "No bad part during the shift.",
        "cycle": "Cycle time (s)",
        "planned": "Planned",
        "mean": "Mean",
        "median": "Median",
        "p95": "P95",
        "min": "Min",
        "max": "Max",
        "no_cycle": "No cycle measured.",
        "alarms": "Alarms raised",
        "no_alarm": "No alarm raised during the shift.",
        "time": "Time",
        "code": "Code",
        "message": "Message",
        "more_alarms": "… and {n} more",
        UNQUALIFIED: "Unqualified",
        MICRO_STOPS: "Micro-stops",
        NO_SCRAP_REASON: "No reason",
        "others": "Others",
        "truncated": "Warning: too many strokes, counts are incomplete.",
        "no_pri": "No planned cycle time: effectiveness and OEE cannot be computed.",
        "logbook": "Logbook",
        "plant_logbook": "Logbook — plant",
        "no_note": "No note during the shift.",
        "by": "By",
        "note": "Note",
        "notes_truncated": "Warning: too many notes, only the first ones are shown.",
        "declared": "Scrap declared by operators: {n} parts, included in scrap.",
        "declared_uncounted": "{n} parts declared beyond the shift's good parts: not counted.",
    },
}


def register_fonts(font_dir: Path = FONT_DIR) -> None:
    """Register DejaVu Sans (regular and bold) once; :class:`~cadence.errors.ConfigError` if missing."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    regular, bold = font_dir / "DejaVuSans.ttf", font_dir / "DejaVuSans-Bold.ttf"
    missing = [str(p) for p in (regular, bold) if not p.is_file()]
    if missing:
        raise ConfigError(
            f"PDF fonts not found: {', '.join(missing)}; install the DejaVu fonts "
            "(Debian/Ubuntu: apt-get install fonts-dejavu-core)"
        )
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


class _Renderer:
    """Builds the flowables of one report in one locale."""

    def __init__(self, report: ShiftReport, locale: str) -> None:
        if locale not in LABELS:
            raise ValueError(f"locale must be one of {sorted(LABELS)}, got {locale!r}")
        self.report = report
        self.locale = locale
        self.t = LABELS[locale]
        self.tz = ZoneInfo(report.plant.site.timezone)
        # Stop reasons are shown by their label in the report's language when the plant's tree has one.
        self.reasons = {r.code: r for r in report.plant.reasons}
        self.h1 = ParagraphStyle("h1", fontName=FONT_BOLD, fontSize=14, leading=18, spaceAfter=4)
        self.h2 = ParagraphStyle(
            "h2", fontName=FONT_BOLD, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=3
        )
        self.body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
        self.th = ParagraphStyle("th", fontName=FONT_BOLD, fontSize=7, leading=8.5, alignment=TA_RIGHT)
        self.th_left = ParagraphStyle("th_left", parent=self.th, alignment=TA_LEFT)
        self.note = ParagraphStyle("note", parent=self.body, textColor=colors.HexColor("#8a3b00"))

    # --- formatting ---------------------------------------------------------------------------------------
    def pct(self, ratio: float | None) -> str:
        return "—" if ratio is None else format_percent(ratio, "#,##0.0 %", locale=self.locale)

    def num(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "—"
        return format_decimal(value, f"#,##0.{'0' * digits}" if digits else "#,##0", locale=self.locale)

    def when(self, ts_us: int, pattern: str = "dd/MM/yyyy HH:mm") -> str:
        return format_datetime(to_datetime(ts_us), pattern, tzinfo=self.tz, locale=self.locale)

    def label(self, key: str) -> str:
        """A Pareto key in words: the report's own keys, else the reason tree's label in the report's
        language, else the code as the controller sent it (a plant's own codes stay readable)."""
        if key in self.t:
            return self.t[key]
        reason = self.reasons.get(key)
        if reason is None:
            return key
        return reason.label_fr if self.locale == "fr" else reason.label_en

    # --- building blocks ----------------------------------------------------------------------------------
    def table(
        self,
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        header_rows: int = 1,
        *,
        text: bool = False,
    ) -> Table:
        """A table of figures, right-aligned after the first column; ``text``: every column left-aligned
        (free text such as notes reads from the left)."""
        # Header cells are paragraphs so that a long French label wraps instead of running into the next.
        cells: list[list[str | Paragraph]] = [
            [Paragraph(c, self.th_left if k == 0 or text else self.th) for k, c in enumerate(row)]
            for row in rows[:header_rows]
        ]
        cells += [[self.wrap(c) for c in row] for row in rows[header_rows:]]
        table = Table(cells, colWidths=list(widths), repeatRows=header_rows, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                    ("FONT", (0, 0), (-1, header_rows - 1), FONT_BOLD, 8.5),
                    ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#e4e9f0")),
                    (
                        "ROWBACKGROUNDS",
                        (0, header_rows),
                        (-1, -1),
                        [colors.white, colors.HexColor("#f6f7f9")],
                    ),
                    ("ALIGN", (1, 0), (-1, -1), "LEFT" if text else "RIGHT"),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    (
                        "LINEBELOW",
                        (0, header_rows - 1),
                        (-1, header_rows - 1),
                        0.6,
                        colors.HexColor("#7b8794"),
                    ),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("LEFTPADDING", (0, 0), (-1, -1), 3),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return table

    def wrap(self, text: str) -> str | Paragraph:
        """A long or multi-line cell as a paragraph; free text (alarm messages, notes) is escaped, since a
        paragraph reads its text as markup."""
        if len(text) <= WRAP_CHARS and "\n" not in text:
            return text
        return Paragraph(escape(text).replace("\n", "<br/>"), self.body)

    def logbook(self, notes: Sequence[LogbookNote], *, with_press: bool) -> list[Flowable]:
        """The notes in writing order: time, (press,) author, text."""
        t = self.t
        if not notes:
            return [Paragraph(t["no_note"], self.body)]
        head = [t["time"], *([t["press"]] if with_press else []), t["by"], t["note"]]
        rows = [head]
        for n in notes:
            press = [n.machine or "—"] if with_press else []
            rows.append([self.when(n.at_us, "HH:mm"), *press, n.by, n.text])
        fixed = [16 * mm, *([18 * mm] if with_press else []), 28 * mm]
        return [self.table(rows, [*fixed, BODY_W - sum(fixed)], text=True)]

    def declared(self, f: Figures) -> list[Flowable]:
        out: list[Flowable] = []
        if f.declared:
            out.append(Paragraph(self.t["declared"].format(n=self.num(f.declared_sq, 0)), self.body))
        if f.declared_uncounted:
            uncounted = self.num(f.declared_uncounted, 0)
            out.append(Paragraph(self.t["declared_uncounted"].format(n=uncounted), self.note))
        return out

    def pareto_chart(self, bars: Sequence[ParetoBar], scale: float, color: str) -> Drawing:
        """A horizontal bar chart, biggest bar on top; the tail beyond MAX_BARS is one "others" bar."""
        shown = list(bars[:MAX_BARS])
        rest = bars[MAX_BARS:]
        labels = [self.label(b.key) for b in shown]
        values = [b.value / scale for b in shown]
        if rest:
            labels.append(self.label("others"))
            values.append(sum(b.value for b in rest) / scale)
        height = 22 + 17 * len(values)
        drawing = Drawing(BODY_W, height)
        chart = HorizontalBarChart()
        chart.x, chart.y = 150, 14
        chart.width, chart.height = BODY_W - 200, height - 22
        # The chart draws the first category at the bottom; reverse so the biggest loss reads first.
        chart.data = [list(reversed(values))]
        chart.categoryAxis.categoryNames = list(reversed(labels))
        chart.categoryAxis.labels.fontName = FONT
        chart.categoryAxis.labels.fontSize = 8
        chart.categoryAxis.labels.boxAnchor = "e"
        chart.categoryAxis.labels.dx = -4
        chart.valueAxis.valueMin = 0
        if scale == 1.0 and max(values) < 10:
            # Parts are whole: no 0.2-part ticks on a small scrap count.
            chart.valueAxis.valueMax = 10 if max(values) > 5 else 5
            chart.valueAxis.valueStep = 1
        chart.valueAxis.labels.fontName = FONT
        chart.valueAxis.labels.fontSize = 7.5
        chart.valueAxis.visibleGrid = True
        chart.valueAxis.gridStrokeColor = colors.HexColor("#d9dee5")
        chart.bars[0].fillColor = colors.HexColor(color)
        chart.bars[0].strokeColor = None
        chart.barLabelFormat = lambda v: self.num(v, 1)
        chart.barLabels.fontName = FONT
        chart.barLabels.fontSize = 7.5
        chart.barLabels.boxAnchor = "w"
        chart.barLabels.dx = 3
        drawing.add(chart)
        return drawing

    def pareto(self, title: str, bars: Sequence[ParetoBar], *, downtime: bool) -> list[Flowable]:
        out: list[Flowable] = [Paragraph(title, self.h2)]
        if not bars:
            out.append(Paragraph(self.t["no_stop" if downtime else "no_scrap"], self.body))
            return out
        scale = 60.0 if downtime else 1.0
        out.append(self.pareto_chart(bars, scale, "#c2410c" if downtime else "#7c3aed"))
        unit = self.t["minutes"] if downtime else self.t["parts"]
        rows = [[self.t["reason"], unit, self.t["count"]]]
        rows += [
            [self.label(b.key), self.num(b.value / scale, 1 if downtime else 0), str(b.count)] for b in bars
        ]
        out.append(self.table(rows, [90 * mm, 30 * mm, 25 * mm]))
        return out

    def alarm_table(self, alarms: Sequence[Alarm], *, with_press: bool) -> list[Flowable]:
        """The first MAX_ALARM_ROWS alarms in raise order, and how many more there were."""
        t = self.t
        if not alarms:
            return [Paragraph(t["no_alarm"], self.body)]
        head = [t["time"], *([t["press"]] if with_press else []), t["code"], t["message"]]
        rows = [head]
        for a in alarms[:MAX_ALARM_ROWS]:
            press = [a.machine or "—"] if with_press else []
            rows.append([self.when(a.raised_us, "HH:mm:ss"), *press, a.code, a.message])
        fixed = [20 * mm, *([18 * mm] if with_press else []), 50 * mm]
        out: list[Flowable] = [self.table(rows, [*fixed, BODY_W - sum(fixed)])]
        if len(alarms) > MAX_ALARM_ROWS:
            out.append(Paragraph(t["more_alarms"].format(n=len(alarms) - MAX_ALARM_ROWS), self.body))
        return out

    def header(self, subtitle: str) -> list[Flowable]:
        r = self.report
        period = f"{self.when(r.start_us)} – {self.when(r.end_us, 'HH:mm')}"
        if r.in_progress:
            period += f" ({self.t['in_progress']})"
        shift = r.shift_name or "—"
        line = (
            f"<b>{self.t['site']}</b> {r.plant.site.name} · <b>{self.t['shift']}</b> {shift} · "
            f"<b>{self.t['period']}</b> {period}"
        )
        return [
            Paragraph(f"{self.t['title']} — {subtitle}", self.h1),
            Paragraph(line, self.body),
            Spacer(1, 4),
        ]

    def figures_rows(self, name: str, f: Figures) -> list[str]:
        return [
            name,
            f"{f.pq:,}".replace(",", " "),
            f"{f.gq:,}".replace(",", " "),
            str(f.sq),
            str(f.rq),
            self.pct(f.availability),
            self.pct(f.effectiveness),
            self.pct(f.quality_ratio),
            self.pct(f.oee),
        ]

    def summary(self) -> list[Flowable]:
        r = self.report
        t = self.t
        head = [
            "",
            t["output"],
            t["good"],
            t["scrap"],
            t["rework"],
            # Short labels: nine columns on a portrait page leave no room for "Disponibilité".
            t["availability_short"],
            t["effectiveness_short"],
            t["quality"],
            t["oee"],
        ]
        widths = [38 * mm] + [(BODY_W - 38 * mm) / 8] * 8
        out = self.header(t["summary"])
        rows = [head, self.figures_rows(f"{t['plant']} {r.plant.site.id}", r.figures)]
        for line in r.lines:
            rows.append(self.figures_rows(f"{t['line']} {line.line.id}", line.figures))
        out += [Paragraph(t["plant"], self.h2), self.table(rows, widths), *self.declared(r.figures)]
        for line in r.lines:
            rows = [head] + [
                self.figures_rows(f"{p.machine.id} {p.machine.name}", p.figures) for p in line.presses
            ]
            out += [
                Paragraph(f"{t['line']} {line.line.id} — {line.line.name}", self.h2),
                self.table(rows, widths),
            ]
        out += self.pareto(t["downtime_pareto"], r.downtime, downtime=True)
        out += self.pareto(t["scrap_pareto"], r.scrap, downtime=False)
        out.append(Paragraph(f"{t['plant_logbook']} ({len(r.plant_notes)})", self.h2))
        if r.notes_truncated:
            out.append(Paragraph(t["notes_truncated"], self.note))
        out += self.logbook(r.plant_notes, with_press=False)
        out.append(Paragraph(f"{t['alarms']} ({len(r.alarms)})", self.h2))
        out += self.alarm_table(r.alarms, with_press=True)
        return out

    def press_page(self, p: PressReport) -> list[Flowable]:
        t = self.t
        f = p.figures
        out = self.header(f"{t['press']} {p.machine.id} · {p.machine.name}")
        if p.truncated:
            out.append(Paragraph(t["truncated"], self.note))
        if not p.has_pri:
            out.append(Paragraph(t["no_pri"], self.note))
        quantities = [
            [t["output"], t["good"], t["scrap"], t["rework"], t["failures"], t["oee"]],
            [str(f.pq), str(f.gq), str(f.sq), str(f.rq), str(f.failure_events), self.pct(f.oee)],
        ]
        split = [
            ["", t["availability"], f"{t['effectiveness']} / {t['performance']}", t["quality"], t["oee"]],
            [
                t["iso_split"],
                self.pct(f.availability),
                self.pct(f.effectiveness),
                self.pct(f.quality_ratio),
                self.pct(f.oee),
            ],
            [
                t["trs_split"],
                self.pct(f.trs_availability),
                self.pct(f.trs_performance),
                self.pct(f.quality_ratio),
                self.pct(f.oee),
            ],
        ]
        times = [
            [t["pbt"], t["apt"], t["setup"], t["waiting"], t["breakdown"], t["micro"], t["unknown"]],
            [
                self.num(sec / 60)
                for sec in (
                    f.pbt_s,
                    f.apt_s,
                    f.aust_s,
                    f.adot_s,
                    f.malfunction_s,
                    f.micro_stop_s,
                    f.unknown_s,
                )
            ],
        ]
        out += [self.table(quantities, [BODY_W / 6] * 6), *self.declared(f)]
        out += [
            Spacer(1, 5),
            self.table(split, [55 * mm, 30 * mm, 40 * mm, 25 * mm, 25 * mm]),
            Paragraph(t["times"], self.h2),
            self.table(times, [BODY_W / 7] * 7),
        ]
        out += self.pareto(t["downtime_pareto"], p.downtime, downtime=True)
        out += self.pareto(t["scrap_pareto"], p.scrap, downtime=False)
        out.append(Paragraph(t["cycle"], self.h2))
        if p.cycle is None:
            out.append(Paragraph(t["no_cycle"], self.body))
        else:
            c = p.cycle
            out.append(
                self.table(
                    [
                        [t["planned"], t["mean"], t["median"], t["p95"], t["min"], t["max"], t["count"]],
                        [self.num(p.machine.target_cycle_s, 2)]
                        + [self.num(v, 2) for v in (c.mean_s, c.median_s, c.p95_s, c.min_s, c.max_s)]
                        + [str(c.count)],
                    ],
                    [BODY_W / 7] * 7,
                )
            )
        out.append(Paragraph(f"{t['logbook']} ({len(p.notes)})", self.h2))
        out += self.logbook(p.notes, with_press=False)
        out.append(Paragraph(f"{t['alarms']} ({len(p.alarms)})", self.h2))
        out += self.alarm_table(p.alarms, with_press=False)
        return out

    def footer(self, canvas: Canvas, doc: object) -> None:
        # Every page says which report it belongs to: pages get printed and pinned up separately.
        r = self.report
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        where = f"{r.plant.site.name} · {self.t['shift']} {r.shift_name or '—'}"
        canvas.drawString(MARGIN, 9 * mm, f"{where} · {self.when(r.start_us, 'dd/MM/yyyy')}")
        canvas.drawRightString(PAGE_W - MARGIN, 9 * mm, str(canvas.getPageNumber()))
        canvas.restoreState()

    def render(self) -> bytes:
        story: list[Flowable] = self.summary()
        for press in self.report.presses:
            story.append(PageBreak())
            story += self.press_page(press)
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN + 4 * mm,
            title=f"{self.t['title']} {self.report.shift_name}",
            author="Cadence",
        )
        doc.build(story, onFirstPage=self.footer, onLaterPages=self.footer)
        return buffer.getvalue()


def shift_report_pdf(report: ShiftReport, locale: str = "fr") -> bytes:
    """The PDF bytes of ``report``: the summary page, then one page per press."""
    register_fonts()
    return _Renderer(report, locale).render()
