"""Maintenance work orders on the tablet and in the JSON API (the maintenance loop).

Everything goes through :class:`~cadence.services.workorders.WorkOrderService`. Seeing needs
``view_plant`` (every signed-in role); opening, assigning, starting, closing and cancelling need
``manage_work_orders`` (maintenance and the shift lead).

* ``GET /workorders`` — open orders first (urgent first, then the oldest), filters by press and status,
  the closed history;
* ``GET /workorders/new`` (``?alarm=ID`` pre-fills from an alert, ``?machine=`` chooses the press) and
  ``POST /workorders/new``;
* ``GET /workorders/{id}`` — details, the audit trail, and the forms of the next steps; each posts to
  ``/workorders/{id}/assign|start|close|cancel`` and is answered by a redirect back (post, redirect, get)
  or by the page again with the problem in the visitor's language;
* ``GET/POST /api/v1/workorders``, ``GET /api/v1/workorders/{id}``,
  ``POST /api/v1/workorders/{id}/transition`` — the same as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from cadence.auth import Permission, allowed, require, require_session
from cadence.auth.service import CurrentSession
from cadence.clock import from_datetime, to_datetime
from cadence.domain.workorders import (
    FAULT_MODES,
    MAX_PART_CHARS,
    MAX_PARTS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    PRIORITIES,
    SUBSYSTEMS,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderStatus,
)
from cadence.errors import BadRequest, CadenceError, InvalidInput, NotFound, WorkOrderConflict
from cadence.services.timerange import parse_instant
from cadence.services.workorders import WorkOrderService, work_order_event_json, work_order_json
from cadence.web.deps import RuntimeDep
from cadence.web.i18n import format_datetime, translations
from cadence.web.routes.pages import ViewSession, page_locale, render, who
from cadence.web.vocabulary import N_

router = APIRouter()

ManageSession = Annotated[CurrentSession, require_session(Permission.MANAGE_WORK_ORDERS)]

STATUS_LABELS: dict[str, str] = {
    "open": N_("Open"),
    "assigned": N_("Assigned"),
    "in_progress": N_("In progress"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
PRIORITY_LABELS: dict[str, str] = {
    "low": N_("Low"),
    "normal": N_("Normal"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
}
SUBSYSTEM_LABELS: dict[str, str] = {
    "pump": N_("Pump"),
    "valves_seals": N_("Valves and seals"),
    "cooler": N_("Cooler"),
    "accumulator": N_("Accumulator"),
    "tooling": N_("Tooling"),
    "electrical": N_("Electrical"),
    "other": N_("Other"),
}
FAULT_MODE_LABELS: dict[str, str] = {
    "pump_leak": N_("Pump leak"),
    "seal_wear": N_("Seal wear"),
    "cooler_fouling": N_("Cooler fouling"),
    "valve_lag": N_("Valve lag"),
    "die_wear": N_("Die wear"),
    "other": N_("Other fault"),
    "none": N_("Nothing found (false alarm)"),
}
EVENT_LABELS: dict[str, str] = {
    "created": N_("Opened"),
    "assigned": N_("Assigned"),
    "started": N_("Started"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
DETAIL_LABELS: dict[str, str] = {
    "title": N_("Title"),
    "priority": N_("Priority"),
    "alarm": N_("Alert"),
    "subsystem": N_("Subsystem"),
    "assignee": N_("Assigned to"),
    "due": N_("Due"),
    "fault_mode": N_("Found"),
    "parts_replaced": N_("Parts replaced"),
    "rebaseline": N_("Re-baseline"),
    "episode_start": N_("Episode start"),
    "episode_end": N_("Episode end"),
    "work_done": N_("Work done"),
    "reason": N_("Reason"),
}
SUCCESS: dict[str, str] = {
    "created": N_("Work order opened."),
    "assigned": N_("Work order assigned."),
    "started": N_("Work started."),
    "closed": N_("Work order closed."),
    "cancelled": N_("Work order cancelled."),
}
# The service's refusals in the visitor's words, by the field they concern (``field`` in the context).
FIELD_PROBLEMS: dict[str, str] = {
    "title": N_("Give the order a title."),
    "machine": N_("Choose the press."),
    "assignee": N_("Say who the order is for."),
    "fault_mode": N_("Choose what was found."),
    "work_done": N_("Say what was done."),
    "the reason": N_("Say why the order is cancelled."),
    "subsystem": N_("Choose the subsystem whose normal behaviour is learnt again."),
    "episode_end_us": N_("The episode must end after it starts, and not after the closing."),
}
CONFLICT = N_("This work order changed meanwhile (or its status does not allow this step): check it below.")
PRIORITY_ORDER = {p: k for k, p in enumerate(reversed(PRIORITIES))}  # urgent first
HISTORY_PAGE = 30
LISTED_OPEN = 200
STATUS_FILTERS = ("all", "open", "assigned", "in_progress", "closed", "cancelled")


def _service(runtime: Any) -> WorkOrderService:
    return WorkOrderService(runtime.plant, runtime.store, runtime.clock)


# --- the API -------------------------------------------------------------------------------------------


@router.get("/api/v1/workorders", tags=["workorders"], dependencies=[require(Permission.VIEW_PLANT)])
def list_work_orders(
    runtime: RuntimeDep,
    machine: str | None = None,
    status: WorkOrderStatus | None = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    subsystem: str | None = None,
    alarm_id: int | None = None,
    closed_since: Annotated[str | None, Query(description="ISO 8601, µs, 'now' or -30d")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Work orders newest first; ``open=true`` keeps those neither closed nor cancelled."""
    since = None if closed_since is None else parse_instant(closed_since, runtime.clock.now_us())
    found = _service(runtime).find(
        machine=machine,
        status=status,
        open_only=open_only,
        subsystem=subsystem,
        alarm_id=alarm_id,
        closed_since_us=since,
        limit=limit,
        offset=offset,
    )
    return {"ok": True, "work_orders": [work_order_json(o) for o in found]}


@router.get(
    "/api/v1/workorders/{order_id}", tags=["workorders"], dependencies=[require(Permission.VIEW_PLANT)]
)
def get_work_order(order_id: int, runtime: RuntimeDep) -> dict[str, Any]:
    """One work order with its audit trail (oldest first)."""
    service = _service(runtime)
    order = service.get(order_id)
    return {
        "ok": True,
        "work_order": work_order_json(order),
        "events": [work_order_event_json(e) for e in service.events(order_id)],
    }


class CreateRequest(BaseModel):
    """A new order: by hand (``machine`` and ``title`` required) or from an alert (``alarm_id``; the rest
    is pre-filled from it unless given)."""

    alarm_id: int | None = None
    machine: str | None = Field(default=None, max_length=100)
    title: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    description: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    subsystem: str | None = Field(default=None, max_length=50)
    priority: str | None = Field(default=None, max_length=50)
    assignee: str | None = Field(default=None, max_length=100)
    due: str | None = None


@router.post("/api/v1/workorders", tags=["workorders"], status_code=201)
def create_work_order(body: CreateRequest, runtime: RuntimeDep, session: ManageSession) -> dict[str, Any]:
    """Open a work order; from an alert, the alert is acknowledged in the caller's name."""
    service = _service(runtime)
    due_us = None if not body.due else parse_instant(body.due, runtime.clock.now_us())
    if body.alarm_id is not None:
        order = service.create_from_alarm(
            body.alarm_id,
            by=session.user.name,
            machine=body.machine,
            title=body.title,
            description=body.description,
            subsystem=body.subsystem,
            priority=body.priority,
            assignee=body.assignee,
            due_us=due_us,
        )
    else:
        if not body.machine or not body.title:
            raise InvalidInput("machine and title are required for an order not opened from an alert")
        order = service.create(
            body.machine,
            body.title,
            by=session.user.name,
            description=body.description or "",
            subsystem=body.subsystem,
            priority=body.priority or "normal",
            assignee=body.assignee,
            due_us=due_us,
        )
    return {"ok": True, "work_order": work_order_json(order)}


class TransitionRequest(BaseModel):
    """One step: ``assign`` (assignee, due), ``start``, ``close`` (work_done, fault_mode, parts_replaced,
    subsystem, rebaseline, episode_start, episode_end) or ``cancel`` (reason)."""

    action: Literal["assign", "start", "close", "cancel"]
    assignee: str | None = Field(default=None, max_length=100)
    due: str | None = None
    work_done: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    fault_mode: str | None = Field(default=None, max_length=50)
    parts_replaced: list[str] = Field(default_factory=list, max_length=MAX_PARTS)
    subsystem: str | None = Field(default=None, max_length=50)
    rebaseline: bool | None = None
    episode_start: str | None = None
    episode_end: str | None = None
    reason: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)


@router.post("/api/v1/workorders/{order_id}/transition", tags=["workorders"])
def transition_work_order(
    order_id: int, body: TransitionRequest, runtime: RuntimeDep, session: ManageSession
) -> dict[str, Any]:
    """Move a work order one step; a step its status does not allow: 409 ``workorder.conflict``."""
    service = _service(runtime)
    now = runtime.clock.now_us()
    by = session.user.name

    def instant(text: str | None) -> int | None:
        return None if not text else parse_instant(text, now)

    if body.action == "assign":
        order = service.assign(order_id, body.assignee or "", by=by, due_us=instant(body.due))
    elif body.action == "start":
        order = service.start(order_id, by=by)
    elif body.action == "close":
        order = service.close(
            order_id,
            by=by,
            work_done=body.work_done or "",
            fault_mode=body.fault_mode,
            parts_replaced=body.parts_replaced,
            subsystem=body.subsystem,
            rebaseline=body.rebaseline,
            episode_start_us=instant(body.episode_start),
            episode_end_us=instant(body.episode_end),
        )
    else:
        order = service.cancel(order_id, by=by, reason=body.reason or "")
    return {"ok": True, "work_order": work_order_json(order)}


# --- the pages -----------------------------------------------------------------------------------------


async def _form_fields(request: Request) -> dict[str, str]:
    """The form's text fields: checked by the service, so a bad value comes back as the form."""
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(_form_fields)]


def _local_input(ts_us: int | None, tz: str) -> str:
    """A ``datetime-local`` field's value: the plant's wall-clock time to the minute."""
    if ts_us is None:
        return ""
    return to_datetime(ts_us).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def _parse_local(text: str, tz: str, name: str) -> int | None:
    """A ``datetime-local`` value (the plant's time) in µs; empty is None."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} is not a date and time", field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return from_datetime(moment)


def _labels(gettext: Callable[[str], str]) -> dict[str, dict[str, str]]:
    return {
        "status": {k: gettext(v) for k, v in STATUS_LABELS.items()},
        "priority": {k: gettext(v) for k, v in PRIORITY_LABELS.items()},
        "subsystem": {k: gettext(v) for k, v in SUBSYSTEM_LABELS.items()},
        "fault": {k: gettext(v) for k, v in FAULT_MODE_LABELS.items()},
        "event": {k: gettext(v) for k, v in EVENT_LABELS.items()},
        "detail": {k: gettext(v) for k, v in DETAIL_LABELS.items()},
        "yesno": {"yes": gettext("Yes"), "no": gettext("No")},
    }


def _problem(err: CadenceError, gettext: Callable[[str], str]) -> str:
    """A refusal in the visitor's language (the service's English text when it is not a known one)."""
    if isinstance(err, WorkOrderConflict):
        return gettext(CONFLICT)
    field = err.context.get("field")
    if isinstance(field, str) and field in FIELD_PROBLEMS:
        return str(gettext(FIELD_PROBLEMS[field]))
    return err.message


def _row(order: WorkOrder, now_us: int) -> dict[str, Any]:
    return {
        "order": order,
        "created": to_datetime(order.created_us),
        "closed": None if order.closed_us is None else to_datetime(order.closed_us),
        "due": None if order.due_us is None else to_datetime(order.due_us),
        "late": order.due_us is not None and order.is_open and order.due_us < now_us,
        # "in 0 seconds" reads oddly: under a minute old is "just now".
        "fresh": abs(now_us - order.created_us) < 60_000_000,
    }


def _people(runtime: Any, user: str) -> list[str]:
    """Names to offer when assigning: the signed-in person and whoever recently opened, was given or closed
    an order (the user store offers no list of names to the pages)."""
    names = {user}
    for order in runtime.store.work_orders(limit=300):
        names.update(n for n in (order.assignee, order.created_by, order.closed_by) if n)
    return sorted(names, key=str.casefold)


@router.get("/workorders", response_class=HTMLResponse, include_in_schema=False)
def work_orders_page(
    request: Request,
    runtime: RuntimeDep,
    session: ViewSession,
    machine: str | None = None,
    status: str = "all",
    page: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> HTMLResponse:
    """Open orders first (urgent first, then the oldest), then the closed history, newest first."""
    if status not in STATUS_FILTERS:
        raise BadRequest(f"unknown status filter {status!r}; allowed: {', '.join(STATUS_FILTERS)}")
    machine = machine or None
    service = _service(runtime)
    now = runtime.clock.now_us()
    gettext = translations(page_locale(request, session.user)).gettext
    if status == "all":
        opened = service.find(machine=machine, open_only=True, limit=LISTED_OPEN)
        ended_filter: dict[str, Any] = {"closed_since_us": 0}
    elif status in ("closed", "cancelled"):
        opened = []
        ended_filter = {"status": WorkOrderStatus(status)}
    else:
        opened = service.find(machine=machine, status=WorkOrderStatus(status), limit=LISTED_OPEN)
        ended_filter = {}
    opened.sort(key=lambda o: (PRIORITY_ORDER[o.priority], o.created_us, o.id))
    history: list[WorkOrder] = []
    if ended_filter:
        history = service.find(
            machine=machine, limit=HISTORY_PAGE + 1, offset=page * HISTORY_PAGE, **ended_filter
        )

    def url(**params: Any) -> str:
        chosen = {"machine": machine or "", "status": status, **params}
        return "/workorders?" + urlencode({k: v for k, v in chosen.items() if v not in ("", None, 0, "all")})

    return render(
        request,
        "workorders.html",
        nav="workorders",
        opened=[_row(o, now) for o in opened],
        history=[_row(o, now) for o in history[:HISTORY_PAGE]],
        more=len(history) > HISTORY_PAGE,
        page=page,
        now=to_datetime(now),
        machine=machine,
        status=status,
        show_open=status not in ("closed", "cancelled"),
        presses=[{"id": "", "label": gettext("All presses"), "url": url(machine="", page=0)}]
        + [{"id": m.id, "label": m.id, "url": url(machine=m.id, page=0)} for m in runtime.plant.machines],
        statuses=[
            {
                "key": s,
                "label": gettext("All") if s == "all" else gettext(STATUS_LABELS[s]),
                "url": url(status=s),
            }
            for s in STATUS_FILTERS
        ],
        next_url=url(page=page + 1),
        prev_url=url(page=page - 1) if page else None,
        labels=_labels(gettext),
        can_manage=allowed(session.user.role, Permission.MANAGE_WORK_ORDERS),
        **who(session),
    )


def _new_page(
    request: Request,
    runtime: Any,
    session: CurrentSession,
    form: dict[str, str],
    *,
    alarm: Any = None,
    existing: WorkOrder | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    gettext = translations(page_locale(request, session.user)).gettext
    page = render(
        request,
        "workorder_new.html",
        nav="workorders",
        form=form,
        alarm=alarm,
        alarm_raised=None if alarm is None else to_datetime(alarm.raised_us),
        existing=existing,
        presses=[m.id for m in runtime.plant.machines],
        subsystems=SUBSYSTEMS,
        priorities=PRIORITIES,
        people=_people(runtime, session.user.name),
        labels=_labels(gettext),
        error=error,
        max_title=MAX_TITLE_CHARS,
        max_text=MAX_TEXT_CHARS,
        **who(session),
    )
    page.status_code = status
    return page


@router.get("/workorders/new", response_class=HTMLResponse, include_in_schema=False)
def new_work_order_page(
    request: Request,
    runtime: RuntimeDep,
    session: ManageSession,
    alarm: int | None = None,
    machine: str | None = None,
    subsystem: str | None = None,
) -> HTMLResponse:
    """The form of a new order; from an alert, pre-filled from it; from the press health page, with the
    press and the subsystem it was opened on."""
    service = _service(runtime)
    chosen = subsystem if subsystem in SUBSYSTEMS else ""  # an unknown name is ignored, not an error page
    form = {
        "machine": machine or "",
        "title": "",
        "description": "",
        "subsystem": chosen,
        "priority": "normal",
    }
    found = existing = None
    if alarm is not None:
        # NotFound → the error envelope
        draft = service.draft_from_alarm(alarm, page_locale(request, session.user))
        found = draft["alarm"]
        form.update(
            machine=draft["machine"] or form["machine"],
            title=draft["title"],
            description=draft["description"],
            subsystem=draft["subsystem"] or "",
            priority=draft["priority"],
        )
        already = service.find(alarm_id=alarm, open_only=True, limit=1)
        existing = already[0] if already else None
    form.update(alarm=str(alarm) if alarm is not None else "", assignee="", due="")
    return _new_page(request, runtime, session, form, alarm=found, existing=existing)


@router.post("/workorders/new", response_class=HTMLResponse, include_in_schema=False)
def new_work_order_submit(
    request: Request, runtime: RuntimeDep, session: ManageSession, fields: FormFields
) -> Response:
    """Open the order; post, redirect, get to its page."""
    service = _service(runtime)
    gettext = translations(page_locale(request, session.user)).gettext
    tz = runtime.plant.site.timezone
    keys = ("alarm", "machine", "title", "description", "subsystem", "priority", "assignee", "due")
    form = {k: fields.get(k, "").strip() for k in keys}
    try:
        alarm_id = int(form["alarm"]) if form["alarm"] else None
    except ValueError:
        raise BadRequest("the alert id is not a number") from None
    alarm = None if alarm_id is None else service.alarm(alarm_id)  # NotFound → the error envelope
    try:
        due_us = _parse_local(form["due"], tz, "due")
        if form["subsystem"] and form["subsystem"] not in SUBSYSTEMS:
            raise InvalidInput("unknown subsystem", field="subsystem_choice")
        if alarm_id is not None:
            order = service.create_from_alarm(
                alarm_id,
                by=session.user.name,
                machine=form["machine"] or None,
                title=form["title"] or None,
                description=form["description"] if "description" in fields else None,
                subsystem=form["subsystem"] or None,
                priority=form["priority"] or None,
                assignee=form["assignee"] or None,
                due_us=due_us,
            )
        else:
            if not form["machine"]:
                raise InvalidInput("choose the press", field="machine")
            order = service.create(
                form["machine"],
                form["title"],
                by=session.user.name,
                description=form["description"],
                subsystem=form["subsystem"] or None,
                priority=form["priority"] or "normal",
                assignee=form["assignee"] or None,
                due_us=due_us,
            )
    except (InvalidInput, WorkOrderConflict, NotFound) as err:
        if isinstance(err, NotFound) and "machine" not in err.context:
            raise
        message = gettext(FIELD_PROBLEMS["machine"]) if isinstance(err, NotFound) else _problem(err, gettext)
        existing = None
        if isinstance(err, WorkOrderConflict) and "order_id" in err.context:
            existing = service.get(int(err.context["order_id"]))
            message = gettext("This alert already has an open work order.")
        return _new_page(
            request, runtime, session, form, alarm=alarm, existing=existing, error=message, status=err.status
        )
    return RedirectResponse(f"/workorders/{order.id}?ok=created", status_code=303)


# Details holding an instant (ISO 8601 text in the trail): shown in the plant's time, in the visitor's format.
_INSTANT_DETAILS = frozenset({"due", "episode_start", "episode_end"})


def _event_row(
    event: WorkOrderEvent, labels: dict[str, dict[str, str]], when: Callable[[datetime], str]
) -> dict[str, Any]:
    # Stored values are codes (a fault mode, a subsystem…): shown by their label in the visitor's language.
    named = {"priority": "priority", "subsystem": "subsystem", "fault_mode": "fault", "rebaseline": "yesno"}
    shown = []
    for key, value in event.details:
        if not value or key == "title":
            continue
        text = value
        if key in named:
            text = labels[named[key]].get(value, value)
        elif key == "alarm":
            text = f"#{value}"
        elif key in _INSTANT_DETAILS:
            try:
                text = when(datetime.fromisoformat(value))
            except ValueError:  # not an instant after all: shown as stored
                text = value
        shown.append((labels["detail"].get(key, key), text, key))
    return {"event": event, "at": to_datetime(event.at_us), "details": shown}


def _detail_page(
    request: Request,
    runtime: Any,
    session: CurrentSession,
    order_id: int,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = _service(runtime)
    order = service.get(order_id)  # NotFound → the error envelope
    locale = page_locale(request, session.user)
    gettext = translations(locale).gettext
    labels = _labels(gettext)
    tz = runtime.plant.site.timezone
    now = runtime.clock.now_us()
    ok = request.query_params.get("ok", "")
    defaults = {
        "assignee": order.assignee or "",
        "due": _local_input(order.due_us, tz),
        "work_done": "",
        "parts": "",
        "fault_mode": "",
        "subsystem": order.subsystem or "",
        "rebaseline": "1" if order.subsystem else "",
        "episode_start": _local_input(order.episode_start_us or order.created_us, tz),
        "episode_end": "",
        "reason": "",
    }
    alarm = runtime.store.alarm(order.alarm_id) if order.alarm_id is not None else None
    page = render(
        request,
        "workorder.html",
        nav="workorders",
        row=_row(order, now),
        order=order,
        alarm=alarm,
        now=to_datetime(now),
        episode=(
            None if order.episode_start_us is None else to_datetime(order.episode_start_us),
            None if order.episode_end_us is None else to_datetime(order.episode_end_us),
        ),
        events=[
            _event_row(e, labels, lambda d: format_datetime(d, locale, "short", tz))
            for e in service.events(order_id)
        ],
        labels=labels,
        subsystems=SUBSYSTEMS,
        fault_modes=FAULT_MODES,
        people=_people(runtime, session.user.name),
        can_manage=allowed(session.user.role, Permission.MANAGE_WORK_ORDERS),
        can_start=order.status in (WorkOrderStatus.OPEN, WorkOrderStatus.ASSIGNED),
        form={**defaults, **(form or {})},
        error=error,
        success=gettext(SUCCESS[ok]) if ok in SUCCESS and not error else None,
        max_text=MAX_TEXT_CHARS,
        max_part=MAX_PART_CHARS,
        **who(session),
    )
    page.status_code = status
    return page


@router.get("/workorders/{order_id}", response_class=HTMLResponse, include_in_schema=False)
def work_order_page(
    order_id: int, request: Request, runtime: RuntimeDep, session: ViewSession
) -> HTMLResponse:
    """One order: what, where, who, the next steps' forms and the audit trail."""
    return _detail_page(request, runtime, session, order_id)


def _step(
    request: Request,
    runtime: Any,
    session: CurrentSession,
    order_id: int,
    ok: str,
    form: dict[str, str],
    act: Any,
) -> Response:
    gettext = translations(page_locale(request, session.user)).gettext
    try:
        act()
    except (InvalidInput, WorkOrderConflict) as err:
        return _detail_page(
            request, runtime, session, order_id, error=_problem(err, gettext), form=form, status=err.status
        )
    return RedirectResponse(f"/workorders/{order_id}?ok={ok}", status_code=303)


@router.post("/workorders/{order_id}/assign", response_class=HTMLResponse, include_in_schema=False)
def assign_submit(
    order_id: int, request: Request, runtime: RuntimeDep, session: ManageSession, fields: FormFields
) -> Response:
    """Give the order to a person (and a due time)."""
    form = {"assignee": fields.get("assignee", "").strip(), "due": fields.get("due", "").strip()}
    tz = runtime.plant.site.timezone

    def act() -> None:
        due = _parse_local(form["due"], tz, "due")
        _service(runtime).assign(order_id, form["assignee"], by=session.user.name, due_us=due)

    return _step(request, runtime, session, order_id, "assigned", form, act)


@router.post("/workorders/{order_id}/start", response_class=HTMLResponse, include_in_schema=False)
def start_submit(order_id: int, request: Request, runtime: RuntimeDep, session: ManageSession) -> Response:
    """Work begins."""
    return _step(
        request,
        runtime,
        session,
        order_id,
        "started",
        {},
        lambda: _service(runtime).start(order_id, by=session.user.name),
    )


@router.post("/workorders/{order_id}/close", response_class=HTMLResponse, include_in_schema=False)
def close_submit(
    order_id: int, request: Request, runtime: RuntimeDep, session: ManageSession, fields: FormFields
) -> Response:
    """Close with what was done, the parts replaced (one per line) and what was found."""
    keys = ("work_done", "parts", "fault_mode", "subsystem", "rebaseline", "episode_start", "episode_end")
    form = {k: fields.get(k, "").strip() for k in keys}
    tz = runtime.plant.site.timezone

    order = _service(runtime).get(order_id)
    # The start shown by the form is cut to the minute: left as shown, the order's exact start is kept.
    unchanged_start = form["episode_start"] == _local_input(order.episode_start_us or order.created_us, tz)

    def act() -> None:
        if form["subsystem"] and form["subsystem"] not in SUBSYSTEMS:
            raise InvalidInput("unknown subsystem", field="subsystem")
        if form["fault_mode"] and form["fault_mode"] not in FAULT_MODES:
            raise InvalidInput("unknown fault mode", field="fault_mode")
        parts = form["parts"].splitlines()
        if len([p for p in parts if p.strip()]) > MAX_PARTS:
            raise InvalidInput(f"at most {MAX_PARTS} replaced parts", field="parts_replaced")
        _service(runtime).close(
            order_id,
            by=session.user.name,
            work_done=form["work_done"],
            fault_mode=form["fault_mode"] or None,
            parts_replaced=parts,
            subsystem=form["subsystem"] or None,
            rebaseline=form["rebaseline"] == "1",
            episode_start_us=None
            if unchanged_start
            else _parse_local(form["episode_start"], tz, "episode_start_us"),
            episode_end_us=_parse_local(form["episode_end"], tz, "episode_end_us"),
        )

    return _step(request, runtime, session, order_id, "closed", form, act)


@router.post("/workorders/{order_id}/cancel", response_class=HTMLResponse, include_in_schema=False)
def cancel_submit(
    order_id: int, request: Request, runtime: RuntimeDep, session: ManageSession, fields: FormFields
) -> Response:
    """Abandon the order, saying why."""
    form = {"reason": fields.get("reason", "").strip()}
    return _step(
        request,
        runtime,
        session,
        order_id,
        "cancelled",
        form,
        lambda: _service(runtime).cancel(order_id, by=session.user.name, reason=form["reason"]),
    )
