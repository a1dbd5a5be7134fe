"""The ROI view: two periods, a scope, the five metrics compared, and the one-page PDF of the same.

Plain GET forms (no script): the page and its PDF read the same query, so the PDF button downloads
exactly the comparison on the screen. ``preset`` (``30d``, ``month``, ``month_yoy``, ``quarter``) sets
both periods from today's date in the plant's time zone; otherwise ``b_from``/``b_to`` and
``c_from``/``c_to`` give them as local dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from cadence.auth import Permission, require_session
from cadence.auth.service import CurrentSession
from cadence.errors import BadRequest, CadenceError
from cadence.reports.roi_text import (
    format_rows,
    method_note,
    period_text,
    scope_text,
    summary_sentences,
    table_headers,
    unreliable_text,
)
from cadence.runtime import Runtime
from cadence.services.roi import PRESET_LABELS, DateRange, RoiReport, Scope, presets, roi_report
from cadence.web.deps import RuntimeDep
from cadence.web.i18n import translations
from cadence.web.routes.pages import page_locale, render, who

router = APIRouter(include_in_schema=False)

RoiSession = Annotated[CurrentSession, require_session(Permission.VIEW_ROI)]
DateQuery = Annotated[str | None, Query(max_length=10)]
DEFAULT_PRESET = "30d"


@dataclass(frozen=True, slots=True)
class Choice:
    """What the form asked for, resolved to two periods and a scope."""

    baseline: DateRange
    current: DateRange
    scope: Scope
    preset: str | None

    @property
    def query(self) -> str:
        return urlencode(
            {
                "b_from": self.baseline.first.isoformat(),
                "b_to": self.baseline.last.isoformat(),
                "c_from": self.current.first.isoformat(),
                "c_to": self.current.last.isoformat(),
                "scope": str(self.scope),
            }
        )


def _today(runtime: Runtime) -> date:
    return runtime.clock.now().astimezone(ZoneInfo(runtime.plant.site.timezone)).date()


def _choice(
    runtime: Runtime,
    preset: str | None,
    b_from: str | None,
    b_to: str | None,
    c_from: str | None,
    c_to: str | None,
    scope: str,
) -> Choice:
    chosen = Scope.parse(scope)
    chosen.machines(runtime.plant)  # an unknown line or press is refused here, not after the reads
    given = (b_from, b_to, c_from, c_to)
    if preset is None and not all(given):
        preset = DEFAULT_PRESET
    if preset is not None:
        table = presets(_today(runtime))
        if preset not in table:
            raise BadRequest(f"preset {preset!r}: use one of {', '.join(table)}", value=preset)
        baseline, current = table[preset]
        return Choice(baseline, current, chosen, preset)
    return Choice(DateRange.parse(f"{b_from}:{b_to}"), DateRange.parse(f"{c_from}:{c_to}"), chosen, None)


def _report(runtime: Runtime, choice: Choice) -> RoiReport:
    settings = runtime.settings
    return roi_report(
        runtime.plant,
        runtime.store,
        choice.baseline,
        choice.current,
        choice.scope,
        co2_g_per_kwh=settings.co2_grid_g_per_kwh,
        co2_source=settings.co2_grid_source,
        now_us=runtime.clock.now_us(),
    )


def _scopes(runtime: Runtime) -> list[tuple[str, str, str]]:
    """(value, kind, name) of every scope the selector offers: the plant, each line, each press."""
    plant = runtime.plant
    out = [("plant", "plant", plant.site.name)]
    out += [(f"line:{line.id}", "line", f"{line.id} — {line.name}") for line in plant.lines]
    out += [(f"press:{m.id}", "press", f"{m.id} — {m.name}") for m in plant.machines]
    return out


@router.get("/roi", response_class=HTMLResponse)
def roi_page(
    request: Request,
    runtime: RuntimeDep,
    session: RoiSession,
    preset: Annotated[str | None, Query(max_length=20)] = None,
    b_from: DateQuery = None,
    b_to: DateQuery = None,
    c_from: DateQuery = None,
    c_to: DateQuery = None,
    scope: Annotated[str, Query(max_length=60)] = "plant",
) -> HTMLResponse:
    """The comparison table for the chosen periods and scope, with presets and the PDF button."""
    locale = page_locale(request, session.user)
    error: str | None = None
    report: RoiReport | None = None
    try:
        choice = _choice(runtime, preset, b_from, b_to, c_from, c_to, scope)
        report = _report(runtime, choice)
    except CadenceError as err:
        refused = translations(locale).gettext("These periods or this scope cannot be compared.")
        error = f"{refused} ({err.message})"
        choice = _choice(runtime, DEFAULT_PRESET, None, None, None, None, "plant")
    page = render(
        request,
        "roi.html",
        nav="roi",
        choice=choice,
        report=report,
        error=error,
        cells=format_rows(report.rows, locale) if report else [],
        sentences=summary_sentences(report, locale) if report else [],
        warning=unreliable_text(report, locale) if report else None,
        baseline_text=period_text(report, "baseline", locale) if report else "",
        current_text=period_text(report, "current", locale) if report else "",
        scope_label=scope_text(report, locale) if report else "",
        headers=table_headers(locale),
        method=method_note(locale),
        presets=PRESET_LABELS,
        scopes=_scopes(runtime),
        **who(session),
    )
    if error is not None:
        page.status_code = 400
    return page


@router.get("/roi.pdf")
def roi_pdf_download(
    request: Request,
    runtime: RuntimeDep,
    session: RoiSession,
    preset: Annotated[str | None, Query(max_length=20)] = None,
    b_from: DateQuery = None,
    b_to: DateQuery = None,
    c_from: DateQuery = None,
    c_to: DateQuery = None,
    scope: Annotated[str, Query(max_length=60)] = "plant",
) -> Response:
    """The one-page PDF of the same comparison, as a download."""
    # Imported here: the PDF library costs the web process memory from the first PDF on, not from start-up.
    from cadence.reports.roi_pdf import roi_pdf  # noqa: PLC0415

    choice = _choice(runtime, preset, b_from, b_to, c_from, c_to, scope)
    report = _report(runtime, choice)
    # Only safe characters in the header, whatever a plant file names its lines and presses.
    scope_part = re.sub(r"[^A-Za-z0-9_-]", "_", str(choice.scope).replace(":", "-"))
    name = f"roi-{scope_part}-{choice.current.first:%Y%m%d}-{choice.current.last:%Y%m%d}.pdf"
    return Response(
        roi_pdf(report, page_locale(request, session.user)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
