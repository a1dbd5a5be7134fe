"""The Reports page: the archived shift reports (made automatically at each shift end), their PDF and CSV
downloads, and "regenerate" for any past shift (docs/guides/shift-reports.md).

Reading needs ``view_reports``; regenerating needs ``regenerate_reports`` (cadence.auth.roles.POLICY).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from cadence.auth import Permission, User, allowed, require, require_session
from cadence.auth.service import CurrentSession
from cadence.clock import to_datetime
from cadence.errors import InvalidInput
from cadence.reports.archive import ArchivedReport, FileKind, Trigger
from cadence.web.deps import RuntimeDep
from cadence.web.i18n import translations
from cadence.web.routes.pages import page_locale, render, visitor

router = APIRouter(include_in_schema=False)

LISTED = 120  # 40 days of a 3×8 calendar: older reports stay in the archive and on `cadence report list`
REGENERATE_DAYS = 400  # how far back the date picker goes (a year and a bit: last year's same shift)
_MEDIA = {FileKind.PDF: "application/pdf", FileKind.CSV: "text/csv; charset=utf-8"}

ReportsSession = Annotated[CurrentSession, require_session(Permission.VIEW_REPORTS)]


def _row(report: ArchivedReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "shift": report.shift_name,
        "start": to_datetime(report.shift_start_us),
        "end": to_datetime(report.shift_end_us),
        "until": to_datetime(report.until_us),
        "final": report.final,
        "generated": to_datetime(report.generated_us),
        "automatic": report.trigger is Trigger.SCHEDULER,
        "by": report.requested_by,
        "pdf_kb": max(1, round(report.pdf_bytes / 1024)),
        "csv_kb": max(1, round(report.csv_bytes / 1024)),
    }


def _page(
    request: Request,
    runtime: Any,
    user: User,
    csrf_token: str,
    *,
    made: int | None = None,
    error: str | None = None,
    chosen_shift: str | None = None,
    chosen_date: str | None = None,
) -> HTMLResponse:
    reports = runtime.reports
    days = reports.past_days(days=REGENERATE_DAYS)
    shift_names = [p.name for p in runtime.plant.shifts]
    failures = [
        {
            "shift": f.shift_name,
            "start": to_datetime(f.shift_start_us),
            "attempts": f.attempts,
            "error": f.last_error,
        }
        for f in reports.archive.failures()
    ]
    return render(
        request,
        "reports.html",
        nav="reports",
        reports=[_row(r) for r in reports.recent(limit=LISTED)],
        failures=failures,
        can_regenerate=allowed(user.role, Permission.REGENERATE_REPORTS),
        shift_names=shift_names,
        chosen_shift=chosen_shift or (shift_names[0] if shift_names else ""),
        chosen_date=chosen_date or days[0].isoformat(),
        min_date=days[-1].isoformat(),
        max_date=days[0].isoformat(),
        made=made,
        error=error,
        **visitor(user, csrf_token),
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request, runtime: RuntimeDep, session: ReportsSession, made: int | None = None
) -> HTMLResponse:
    """The archived shift reports, newest first, with their downloads and the regenerate form."""
    return _page(request, runtime, session.user, session.csrf_token, made=made)


@router.get("/reports/{report_id}/pdf", dependencies=[require(Permission.VIEW_REPORTS)])
def report_pdf(report_id: int, runtime: RuntimeDep) -> Response:
    """The report's PDF, as an attachment named after the shift."""
    return _download(runtime, report_id, FileKind.PDF)


@router.get("/reports/{report_id}/csv", dependencies=[require(Permission.VIEW_REPORTS)])
def report_csv(report_id: int, runtime: RuntimeDep) -> Response:
    """The report's CSV (one row per press), as an attachment named after the shift."""
    return _download(runtime, report_id, FileKind.CSV)


def _download(runtime: Any, report_id: int, kind: FileKind) -> Response:
    archive = runtime.reports.archive
    report = archive.get(report_id)  # NotFound → the error envelope (404)
    return FileResponse(
        archive.path(report, kind), media_type=_MEDIA[kind], filename=report.download_name(kind)
    )


async def _form_fields(request: Request) -> dict[str, str]:
    """The submitted form's text fields, read by a dependency declared after the session's: declared as
    ``Form`` parameters they would be read first, and the CSRF check would then find the body consumed."""
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


@router.post("/reports/regenerate", response_class=HTMLResponse)
def regenerate(
    request: Request,
    runtime: RuntimeDep,
    session: Annotated[CurrentSession, require_session(Permission.REGENERATE_REPORTS)],
    fields: Annotated[dict[str, str], Depends(_form_fields)],
) -> Response:
    """Make the report of the form's ``shift`` started on its ``date`` (local) again, then show it."""
    gettext = translations(page_locale(request, session.user)).gettext
    shift, day = fields.get("shift", "")[:100], fields.get("date", "")[:10]
    try:
        try:
            when = date.fromisoformat(day)
        except ValueError:
            raise InvalidInput(f"date {day!r}: expected YYYY-MM-DD", reason="bad_date") from None
        made = runtime.reports.regenerate(shift, when, Trigger.PAGE, requested_by=session.user.name)
    except InvalidInput as err:
        known = {
            "bad_date": gettext("Choose a date."),
            "unknown_shift": gettext("Unknown shift."),
            "not_scheduled": gettext("This shift does not run on that day (day off or holiday)."),
            "not_begun": gettext("This shift has not begun yet."),
        }
        message = known.get(str(err.context.get("reason")), err.message)
        page = _page(
            request,
            runtime,
            session.user,
            session.csrf_token,
            error=message,
            chosen_shift=shift,
            chosen_date=day,
        )
        page.status_code = err.status
        return page
    return RedirectResponse(f"/reports?made={made.id}#report-{made.id}", status_code=303)
