"""The ROI one-page PDF: one page, the table's figures, the chart drawn, the summary, both languages."""

from __future__ import annotations

import io
import re
from datetime import date

import numpy as np
import pytest
from pypdf import PdfReader

from cadence.analytics.roi import DayFigures, Metric, Verdict, compare
from cadence.reports.roi_pdf import roi_pdf
from cadence.reports.roi_text import format_rows, summary_sentences
from cadence.services.roi import DateRange, RoiReport, Scope
from cadence.web.i18n import format_number, format_percent

GENERATED_US = 1_782_900_000_000_000  # 2026-07-01, after both periods


def _days(
    rng: np.random.Generator, n: int, pq: float, scrap: float, *, down_h: float, energy: bool
) -> list[DayFigures]:
    out = []
    for _ in range(n):
        made = int(rng.poisson(pq))
        bad = int(rng.binomial(made, scrap))
        out.append(
            DayFigures(
                planned_s=16 * 3600.0,
                pq=made,
                gq=made - bad,
                sq=bad,
                pri_gq_s=(made - bad) * 9.0,
                energy_kwh=float(rng.normal(160, 8)) if energy else None,
                downtime_s=float(rng.gamma(2.0, down_h / 2)) * 3600,
            )
        )
    return out


def _report(*, energy: bool = True, days: int = 30) -> RoiReport:
    rng = np.random.default_rng(4)
    comparison = compare(
        _days(rng, days, 4200, 0.03, down_h=2.5, energy=energy),
        _days(rng, days, 4700, 0.02, down_h=1.6, energy=energy),
        rng=np.random.default_rng(5),
    )
    return RoiReport(
        site_name="Emboutissage du Rhône",
        timezone="Europe/Paris",
        scope=Scope.parse("line:L1"),
        scope_name="L1 — Ligne 1 — supports",
        baseline=DateRange(date(2026, 1, 1), date(2026, 3, 31)),
        current=DateRange(date(2026, 4, 1), date(2026, 6, 30)),
        comparison=comparison,
        co2=comparison.metric(Metric.ENERGY_PER_GOOD).scaled(53.0),
        co2_g_per_kwh=53.0,
        co2_source="Arrêté du 10 avril 2012",
        generated_us=GENERATED_US,
    )


def _text(data: bytes) -> tuple[int, str, PdfReader]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), reader.pages[0].extract_text(), reader


def test_one_page_with_the_table_chart_summary_and_definitions_in_french() -> None:
    report = _report()
    pages, text, reader = _text(roi_pdf(report, "fr"))
    assert pages == 1
    flat = " ".join(text.split())
    assert "Avant / après" in flat
    assert "Référence" in flat and "Actuelle" in flat
    assert "01/01/2026 – 31/03/2026" in flat and "01/04/2026 – 30/06/2026" in flat
    assert "L1 — Ligne 1 — supports" in flat
    for cell in format_rows(report.rows, "fr"):
        assert cell.label in flat
        assert cell.baseline in flat and cell.current in flat, cell
        assert cell.verdict_text in flat
    # The summary, with the yield's change and its uncertainty as the comparison computed them.
    y = report.comparison.metric(Metric.YIELD)
    assert y.verdict is Verdict.BETTER and y.relative is not None and y.relative_half_width is not None
    change = format_percent(y.relative, "fr", 0)
    margin = format_percent(y.relative_half_width, "fr", 0)
    expected = f"Le rendement a augmenté de {change} (± {margin})"
    assert " ".join(expected.split()) in flat
    assert "Définitions et méthode" in flat and "53 gCO2e/kWh" in flat
    # The chart: one bar per metric and whiskers, drawn as vector rectangles and lines.
    content = reader.pages[0].get_contents()
    assert content is not None
    ops = content.get_data()
    assert ops.count(b" re") >= len(report.rows) + 6
    assert len(re.findall(rb" l\b", ops)) >= 3 * len(report.rows)


def test_english_and_no_energy_data() -> None:
    report = _report(energy=False)
    pages, text, _ = _text(roi_pdf(report, "en"))
    flat = " ".join(text.split())
    assert pages == 1
    assert "Before and after" in flat and "Baseline" in flat
    energy = next(c for c in format_rows(report.rows, "en") if c.key == "energy_per_good")
    assert energy.baseline == "—" and energy.verdict_text == "no data"
    assert "no data" in flat
    assert any("No energy data" in s for s in summary_sentences(report, "en"))


def test_few_days_are_flagged_on_the_page() -> None:
    report = _report(days=3)
    assert report.comparison.unreliable
    _, text, _ = _text(roi_pdf(report, "fr"))
    assert "Moins de 5 jours" in " ".join(text.split())


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_table_cells_use_the_locale_and_never_show_zero_for_missing_data(locale: str) -> None:
    report = _report(energy=False)
    cells = {c.key: c for c in format_rows(report.rows, locale)}
    oee = report.comparison.metric(Metric.OEE)
    assert oee.baseline is not None
    assert cells["oee"].baseline == format_number(oee.baseline * 100, locale, 1)
    assert cells["co2"].current == "—" and cells["energy_per_good"].difference == "—"
