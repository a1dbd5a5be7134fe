"""The operator's pages on the tablet: qualify stops, declare scrap, start and end orders, the shift logbook.

Plain HTML forms posting to these routes (no script needed; the CSRF token travels as a hidden field), each
answered by a redirect back to the page with a success message, or by the page again with the problem in
the visitor's language and what they typed. Everything goes through :class:`OperatorService`, so the pages
and the JSON API (``routes/operator.py``) accept and refuse exactly the same things.

Who sees a form is the policy table's decision (``allowed``); the write routes declare their permission
themselves, so a hidden form is not the only guard.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cadence.auth import Permission, allowed, require_session
from cadence.auth.service import CurrentSession
from cadence.clock import to_datetime
from cadence.domain.operator import MAX_NOTE_CHARS, LogbookNote, OrderKind, ScrapDeclaration
from cadence.domain.plant import Machine
from cadence.domain.states import ReasonCode
from cadence.errors import CadenceError, InvalidInput, NotFound
from cadence.services.operator import OperatorService, Stop
from cadence.services.overview import ShiftWindow, shift_window, tile
from cadence.services.timerange import parse_instant
from cadence.web.deps import RuntimeDep
from cadence.web.i18n import translations
from cadence.web.routes.operator import get_operator_service
from cadence.web.routes.operator_marks import order_row, press_marks, reason_label, reason_labels
from cadence.web.routes.pages import ViewSession, page_locale, render, who
from cadence.web.vocabulary import N_

router = APIRouter(include_in_schema=False)

Gettext = Callable[[str], str]

# Qualified stops listed under the waiting ones, so a wrong reason can be changed: the latest few.
QUALIFIED_SHOWN = 8
# Scrap declarations and notes listed on the operator page: the latest of the shift.
RECENT_SHOWN = 6

# Headings of the reason tree's top-level groups (the first part of a code: ``breakdown.die``). A group
# not listed here is headed by the label of its own code, else by its name.
GROUP_LABELS: dict[str, str] = {
    "waiting": N_("Waiting"),
    "breakdown": N_("Breakdown"),
    "fault": N_("Fault"),
    "setup": N_("Setup"),
    "planned": N_("Planned"),
}

# The messages a page may show after a successful post (``?ok=<key>`` on the redirect).
SUCCESS: dict[str, str] = {
    "reason": N_("Reason saved."),
    "scrap": N_("Scrap declared."),
    "order_start": N_("Order started."),
    "order_end": N_("Order ended."),
    "note": N_("Note saved."),
}


# --- the domain's problems, in the visitor's language -------------------------------------------------

# The service answers problems in English (the API's language), joined with "; ". The pages show each in the
# visitor's language; one not recognised here is shown as written rather than hidden.
_FIELDS = {
    "the user": N_("User"),
    "the order": N_("Order"),
    "the part number": N_("Part number"),
    "the lot": N_("Lot"),
    "the material lot": N_("Material lot (heat)"),
    "the die": N_("Die"),
    "the cause": N_("Cause"),
    "the text": N_("Note"),
}
_FIELD = "(?P<field>" + "|".join(re.escape(f) for f in _FIELDS) + ")"
_PROBLEMS: list[tuple[re.Pattern[str], Callable[[re.Match[str], Gettext], str]]] = [
    (
        re.compile(_FIELD + " is required"),
        lambda m, _: _("%(field)s: required") % {"field": _(_FIELDS[m["field"]])},
    ),
    (
        re.compile(_FIELD + r" is (?P<n>\d+) characters long; at most (?P<max>\d+) are allowed"),
        lambda m, _: (
            _("%(field)s: %(max)s characters at most (%(n)s typed)")
            % {"field": _(_FIELDS[m["field"]]), "max": m["max"], "n": m["n"]}
        ),
    ),
    (
        re.compile(r"the quantity must be a whole number above 0, got -?\d+"),
        lambda m, _: _("The quantity must be at least 1."),
    ),
    (
        re.compile(r"unknown reason code '(?P<code>[^']*)'; allowed codes: [^;]*"),
        lambda m, _: _("Unknown reason: %(code)s") % {"code": m["code"]},
    ),
    (
        re.compile(r"no machine '(?P<machine>[^']*)' in the plant"),
        lambda m, _: _("Unknown press: %(machine)s") % {"machine": m["machine"]},
    ),
    (re.compile(r"a stop cannot begin after now"), lambda m, _: _("This stop has not begun yet.")),
    (
        re.compile(r"no order is running on (?P<machine>\S+)"),
        lambda m, _: _("No order is running on %(machine)s.") % {"machine": m["machine"]},
    ),
    (
        re.compile(r"order (?P<order>.+?) is not running on (?P<machine>\S+); (?P<running>.+?) is$"),
        lambda m, _: (
            _("Order %(order)s is no longer running; %(running)s is.")
            % {"order": m["order"], "running": m["running"]}
        ),
    ),
]


def explain(message: str, gettext: Gettext) -> str:
    """The service's ``message`` (problems joined by "; ") in the catalog's language, problem by problem.

    >>> explain("the order is required; the part number is required", lambda s: s)
    'Order: required · Part number: required'
    >>> explain("something new", lambda s: s)
    'something new'
    """
    shown: list[str] = []
    pos = 0
    while pos < len(message):
        for pattern, say in _PROBLEMS:
            found = pattern.match(message, pos)
            if found:
                shown.append(say(found, gettext))
                pos = found.end()
                break
        else:
            return message
        if message.startswith("; ", pos):
            pos += 2
        elif pos < len(message):
            return message
    return " · ".join(shown)


def _error_text(request: Request, session: CurrentSession, err: CadenceError) -> str:
    return explain(err.message, translations(page_locale(request, session.user)).gettext)


# --- what the pages show ----------------------------------------------------------------------------


def reason_groups(
    service: OperatorService, locale: str, gettext: Gettext, first_state: str | None
) -> list[dict[str, Any]]:
    """The reason tree as the picker shows it: top-level groups with their codes, those that fit the
    stop's state first (a machine reporting ``down`` was most likely broken, not on a break)."""
    groups: dict[str, list[ReasonCode]] = {}
    for reason in service.reasons:
        groups.setdefault(reason.category, []).append(reason)
    out = []
    for category, codes in groups.items():
        own = next((r for r in codes if r.code == category), None)
        if own is not None:
            heading = reason_label(own, locale)
        elif category in GROUP_LABELS:
            heading = gettext(GROUP_LABELS[category])
        else:
            heading = category
        out.append(
            {
                "heading": heading,
                "state": codes[0].state.value,
                "codes": [{"code": r.code, "label": reason_label(r, locale)} for r in codes],
            }
        )
    # A stable sort: the tree's order is kept within each half.
    return sorted(out, key=lambda g: g["state"] != first_state)


def _stop_row(stop: Stop, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "start_us": stop.start_us,
        "start": to_datetime(stop.start_us),
        "duration_s": stop.duration_s,
        "state": stop.state.value,
        "reason": None if stop.reason is None else labels.get(stop.reason, stop.reason),
        "by": None if stop.given is None else stop.given.by,
        "ongoing": stop.ongoing,
    }


def _shift(runtime: Any, service: OperatorService) -> tuple[ShiftWindow, int]:
    now = service.now_us()
    return shift_window(runtime.plant, now), now


def _can(role: Any) -> dict[str, bool]:
    return {
        "reason": allowed(role, Permission.RECORD_STOP_REASON),
        "scrap": allowed(role, Permission.DECLARE_SCRAP),
        "orders": allowed(role, Permission.MANAGE_ORDERS),
        "note": allowed(role, Permission.WRITE_LOGBOOK),
    }


def _note_row(note: LogbookNote) -> dict[str, Any]:
    return {"machine": note.machine, "at": to_datetime(note.at_us), "text": note.text, "by": note.by}


def _scrap_row(scrap: ScrapDeclaration) -> dict[str, Any]:
    return {"at": to_datetime(scrap.at_us), "quantity": scrap.quantity, "cause": scrap.cause, "by": scrap.by}


def _success(request: Request, gettext: Gettext) -> str | None:
    key = request.query_params.get("ok")
    return gettext(SUCCESS[key]) if key in SUCCESS else None


def _machine(runtime: Any, machine_id: str) -> Machine:
    machine: Machine = runtime.data.machine(machine_id)  # NotFound → the error envelope
    return machine


def _operator_page(
    request: Request,
    runtime: Any,
    machine: Machine,
    session: CurrentSession,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = get_operator_service(request)
    locale = page_locale(request, session.user)
    gettext = translations(locale).gettext
    window, now = _shift(runtime, service)
    labels = reason_labels(service, locale)
    stops = service.stops(machine.id, window.start_us, window.end_us)
    page = render(
        request,
        "operator.html",
        nav="overview",
        machine=machine,
        tile=tile(runtime.plant, runtime.store, machine, now),
        success=None if error else _success(request, gettext),
        error=error,
        form=defaultdict(str, form or {}),
        can=_can(session.user.role),
        waiting=[_stop_row(s, labels) for s in stops if s.unqualified],
        qualified=[_stop_row(s, labels) for s in stops if not s.unqualified][:QUALIFIED_SHOWN],
        order=order_row(service.current_order(machine.id)),
        causes=service.common_scrap_causes(machine.id),
        scrap=[_scrap_row(s) for s in reversed(service.scrap(machine.id, window.start_us, now + 1))][
            :RECENT_SHOWN
        ],
        notes=[_note_row(n) for n in reversed(service.logbook(window.start_us, now + 1, machine.id))][
            :RECENT_SHOWN
        ],
        max_note=MAX_NOTE_CHARS,
        **who(session),
    )
    page.status_code = status
    return page


async def _form_fields(request: Request) -> dict[str, str]:
    """The submitted form's text fields, as one dict: these forms are validated by the domain's
    ``problems()`` (whose messages the page translates), not field by field by FastAPI, so that a bad value
    comes back as the form with a message rather than as a JSON 422."""
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(_form_fields)]


def _back(machine_id: str, ok: str) -> RedirectResponse:
    # Post, redirect, get: reloading the page afterwards cannot post the same scrap twice.
    return RedirectResponse(f"/presses/{machine_id}/operator?ok={ok}", status_code=303)


# --- the operator page of one press -------------------------------------------------------------------


@router.get("/presses/{machine_id}/operator", response_class=HTMLResponse)
def operator_page(
    machine_id: str, request: Request, runtime: RuntimeDep, session: ViewSession
) -> HTMLResponse:
    """Stops waiting for a reason, the running order, scrap and notes of one press; forms for who may."""
    return _operator_page(request, runtime, _machine(runtime, machine_id), session)


@router.get("/presses/{machine_id}/operator/stops/{stop_start_us}", response_class=HTMLResponse)
def reason_picker(
    machine_id: str,
    stop_start_us: int,
    request: Request,
    runtime: RuntimeDep,
    session: Annotated[CurrentSession, require_session(Permission.RECORD_STOP_REASON)],
) -> HTMLResponse:
    """The reason tree as big buttons for one stop of this shift: one tap saves."""
    machine = _machine(runtime, machine_id)
    service = get_operator_service(request)
    window, _now = _shift(runtime, service)
    stop = next(
        (s for s in service.stops(machine.id, window.start_us, window.end_us) if s.start_us == stop_start_us),
        None,
    )
    if stop is None:
        raise NotFound(f"no stop of {machine.id} began at {stop_start_us} this shift", machine=machine.id)
    locale = page_locale(request, session.user)
    gettext = translations(locale).gettext
    return render(
        request,
        "operator_reason.html",
        nav="overview",
        machine=machine,
        stop=_stop_row(stop, reason_labels(service, locale)),
        current=stop.reason,
        groups=reason_groups(service, locale, gettext, stop.state.value),
        **who(session),
    )


@router.post("/presses/{machine_id}/operator/stops/{stop_start_us}", response_class=HTMLResponse)
def reason_submit(
    machine_id: str,
    stop_start_us: int,
    request: Request,
    runtime: RuntimeDep,
    session: Annotated[CurrentSession, require_session(Permission.RECORD_STOP_REASON)],
    fields: FormFields,
) -> Response:
    """Save the reason tapped; a later one replaces it (the service keeps the history)."""
    machine = _machine(runtime, machine_id)
    reason = fields.get("reason", "")
    try:
        get_operator_service(request).record_stop_reason(machine.id, stop_start_us, reason, session.user.name)
    except InvalidInput as err:
        return _operator_page(
            request, runtime, machine, session, error=_error_text(request, session, err), status=err.status
        )
    return _back(machine.id, "reason")


@router.post("/presses/{machine_id}/operator/scrap", response_class=HTMLResponse)
def scrap_submit(
    machine_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: Annotated[CurrentSession, require_session(Permission.DECLARE_SCRAP)],
    fields: FormFields,
) -> Response:
    """Declare scrap: the typed cause wins over a tapped one (it is the more deliberate of the two)."""
    machine = _machine(runtime, machine_id)
    quantity, cause, other_cause = (fields.get(k, "") for k in ("quantity", "cause", "other_cause"))
    form = {"quantity": quantity, "cause": cause, "other_cause": other_cause}
    chosen = other_cause if other_cause.strip() else cause
    try:
        try:
            count = int(quantity.strip())
        except ValueError:
            gettext = translations(page_locale(request, session.user)).gettext
            return _operator_page(
                request,
                runtime,
                machine,
                session,
                error=gettext("The quantity must be a whole number."),
                form=form,
                status=InvalidInput.status,
            )
        get_operator_service(request).declare_scrap(machine.id, count, chosen, session.user.name)
    except InvalidInput as err:
        return _operator_page(
            request,
            runtime,
            machine,
            session,
            error=_error_text(request, session, err),
            form=form,
            status=err.status,
        )
    return _back(machine.id, "scrap")


@router.post("/presses/{machine_id}/operator/order", response_class=HTMLResponse)
def order_submit(
    machine_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: Annotated[CurrentSession, require_session(Permission.MANAGE_ORDERS)],
    fields: FormFields,
) -> Response:
    """Start an order (replacing any still running) or end the one the page showed."""
    machine = _machine(runtime, machine_id)
    kind = fields.get("kind", "")
    form = {k: fields.get(k, "") for k in ("order", "part_number", "lot", "material_lot", "die")}
    try:
        try:
            order_kind = OrderKind(kind)
        except ValueError as err:
            raise InvalidInput(f"kind must be start or end, got {kind!r}") from err
        get_operator_service(request).order_event(
            machine.id,
            order_kind,
            session.user.name,
            order=form["order"],
            part_number=form["part_number"],
            lot=form["lot"],
            material_lot=form["material_lot"],
            die=form["die"],
        )
    except InvalidInput as err:
        shown = form if kind == OrderKind.START else {}
        return _operator_page(
            request,
            runtime,
            machine,
            session,
            error=_error_text(request, session, err),
            form=shown,
            status=err.status,
        )
    return _back(machine.id, "order_start" if order_kind is OrderKind.START else "order_end")


@router.post("/presses/{machine_id}/operator/note", response_class=HTMLResponse)
def press_note_submit(
    machine_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: Annotated[CurrentSession, require_session(Permission.WRITE_LOGBOOK)],
    fields: FormFields,
) -> Response:
    """A logbook note about this press."""
    machine = _machine(runtime, machine_id)
    text = fields.get("text", "")
    try:
        get_operator_service(request).write_note(machine.id, text, session.user.name)
    except InvalidInput as err:
        return _operator_page(
            request,
            runtime,
            machine,
            session,
            error=_error_text(request, session, err),
            form={"text": text},
            status=err.status,
        )
    return _back(machine.id, "note")


# --- chart markers ------------------------------------------------------------------------------------


@router.get("/presses/{machine_id}/annotations")
def annotations_json(
    machine_id: str, request: Request, session: ViewSession, start: str = "-15m", end: str = "now"
) -> dict[str, Any]:
    """The markers of the press charts for a range (same forms as the API: ``-1h``, ISO 8601…)."""
    service = get_operator_service(request)
    now = service.now_us()
    lo, hi = parse_instant(start, now), parse_instant(end, now) + 1
    locale = page_locale(request, session.user)
    # The range comes back so the chart spans exactly it, on the server's (possibly simulated) clock.
    return {
        "ok": True,
        "start_us": lo,
        "end_us": hi - 1,
        "annotations": press_marks(service, machine_id, lo, hi, locale),
    }


# --- the shift logbook --------------------------------------------------------------------------------


def _logbook_page(
    request: Request,
    runtime: Any,
    session: CurrentSession,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = get_operator_service(request)
    gettext = translations(page_locale(request, session.user)).gettext
    window, now = _shift(runtime, service)
    page = render(
        request,
        "logbook.html",
        nav="logbook",
        success=None if error else _success(request, gettext),
        error=error,
        form=defaultdict(str, form or {}),
        can_write=allowed(session.user.role, Permission.WRITE_LOGBOOK),
        machines=runtime.plant.machines,
        shift=window,
        shift_start=to_datetime(window.start_us),
        notes=[_note_row(n) for n in reversed(service.logbook(window.start_us, now + 1))],
        max_note=MAX_NOTE_CHARS,
        **who(session),
    )
    page.status_code = status
    return page


@router.get("/logbook", response_class=HTMLResponse)
def logbook_page(request: Request, runtime: RuntimeDep, session: ViewSession) -> HTMLResponse:
    """The notes of the current shift, plant-wide and per press, newest first; a form for who may write."""
    return _logbook_page(request, runtime, session)


@router.post("/logbook", response_class=HTMLResponse)
def logbook_submit(
    request: Request,
    runtime: RuntimeDep,
    session: Annotated[CurrentSession, require_session(Permission.WRITE_LOGBOOK)],
    fields: FormFields,
) -> Response:
    """A note about the whole plant (no press chosen) or one press."""
    text, machine = fields.get("text", ""), fields.get("machine", "")
    form = {"text": text, "machine": machine}
    try:
        get_operator_service(request).write_note(machine or None, text, session.user.name)
    except (InvalidInput, NotFound) as err:
        return _logbook_page(
            request, runtime, session, error=_error_text(request, session, err), form=form, status=err.status
        )
    return RedirectResponse("/logbook?ok=note", status_code=303)
