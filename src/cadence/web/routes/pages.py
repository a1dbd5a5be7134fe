"""The tablet pages: plant overview, press detail, alarms; and the language switch.

Server-rendered (Jinja2, one environment per locale); live figures then arrive on one server-sent-event
stream per page (``/api/v1/live``), read by ``static/cadence.js``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from cadence.analytics.intervals import tile as tile_intervals
from cadence.auth import PUBLIC, Permission, User, allowed, require, require_session
from cadence.auth.service import CurrentSession
from cadence.auth.web import CSRF_HEADER, check_csrf, current_session, get_auth, sign_in, sign_out
from cadence.clock import to_datetime
from cadence.domain.states import MachineState
from cadence.errors import CadenceError
from cadence.services.alarms import AlarmService
from cadence.services.overview import shift_window, tile, tiles
from cadence.services.production import decisive_changes
from cadence.web.deps import RuntimeDep
from cadence.web.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, jinja_env, negotiate, translations
from cadence.web.routes.operator_marks import press_context
from cadence.web.vocabulary import ROLE_LABELS, STATE_LABELS

router = APIRouter(include_in_schema=False)

LOCALE_COOKIE = "cadence_locale"
LOCALE_COOKIE_MAX_AGE_S = 400 * 86_400  # a tablet keeps its language for good (browsers cap at 400 days)
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
# Icons next to the state word and colour: three cues, so a state reads from 3 m and without colour vision.
STATE_ICONS = {
    MachineState.RUNNING.value: "▶",
    MachineState.IDLE.value: "⏸",
    MachineState.DOWN.value: "✖",
    MachineState.SETUP.value: "⚙",
    MachineState.PLANNED_STOP.value: "■",
    MachineState.OFFLINE.value: "○",
}
RECENT_STROKES = 15


@cache
def _env(locale: str, tz: str) -> Environment:
    return jinja_env(TEMPLATES, locale, tz)


def page_locale(request: Request, user: User | None = None) -> str:
    """The visitor's language: their own choice (account, else this tablet's cookie), else French.

    The browser's Accept-Language is ignored on purpose: shop-floor tablets often ship with an English
    system, and the plant's language is French until a person chooses otherwise.
    """
    choice = user.locale if user is not None and user.locale else request.cookies.get(LOCALE_COOKIE)
    return negotiate(None, choice)


def _labels() -> dict[str, str]:
    return {state.value: label for state, label in STATE_LABELS.items()}


def _permissions(account: Any) -> frozenset[str]:
    role = getattr(account, "role", None)
    if role is None:
        return frozenset()
    return frozenset(p.value for p in Permission if allowed(role, p))


def render(request: Request, template: str, **context: Any) -> HTMLResponse:
    """Render ``template`` in the visitor's locale with the variables every page needs."""
    runtime = request.app.state.runtime
    account = context.pop("account", None)
    locale = page_locale(request, account)
    gettext = translations(locale).gettext
    formats = {
        "state_labels": {k: gettext(v) for k, v in _labels().items()},
        "state_icons": STATE_ICONS,
        "live_label": gettext("Live"),
        "lost_label": gettext("Connection lost, retrying…"),
        "no_stroke_label": gettext("No stroke yet"),
        "pressure_label": gettext("Pressure"),
        "position_label": gettext("Position"),
        "count_label": gettext("Strokes"),
        "time_label": gettext("Time"),
        "timezone": runtime.plant.site.timezone,
    }
    base: dict[str, Any] = {
        "site_name": runtime.plant.site.name,
        "user": context.pop("user", None),
        "csrf_token": context.pop("csrf_token", None),
        # The badge counts what still needs a person: active alarms nobody has acknowledged.
        "alarm_count": len(runtime.store.alarms(limit=1_000, active=True, unacknowledged=True)),
        # The language switch comes back here, query included: a comparison on screen stays on screen.
        "request_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        # The menu offers only the pages the visitor may open; the routes check again on their own.
        "granted": _permissions(account),
        "state_labels": _labels(),
        "state_icons": STATE_ICONS,
        # Inside a <script type="application/json">: "</" must not end the element early.
        "formats_json": json.dumps(formats, ensure_ascii=False).replace("</", "<\\/"),
        "nav": context.pop("nav", ""),
    }
    html = _env(locale, runtime.plant.site.timezone).get_template(template).render(**base, **context)
    return HTMLResponse(html)


ViewSession = Annotated[CurrentSession, require_session(Permission.VIEW_PLANT)]


def visitor(user: User, csrf_token: str) -> dict[str, Any]:
    """What every signed-in page passes to :func:`render` about its visitor: name and role for the bar,
    the CSRF token for its forms, and the account (language, and the menu's permissions)."""
    return {
        "user": {"name": user.name, "role_label": ROLE_LABELS[user.role]},
        "csrf_token": csrf_token,
        "account": user,
    }


def who(session: CurrentSession) -> dict[str, Any]:
    """:func:`visitor` of a session."""
    return visitor(session.user, session.csrf_token)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, runtime: RuntimeDep, session: ViewSession) -> HTMLResponse:
    """One tile per press: state, order, good and scrap this shift, last cycle against target, OEE."""
    now = runtime.clock.now_us()
    found = tiles(runtime.plant, runtime.store, now)
    oil = {v.machine: v.value for v in runtime.store.latest() if v.signal == "oil_temp"}
    window = found[0].shift if found else shift_window(runtime.plant, now)
    return render(
        request,
        "overview.html",
        nav="overview",
        tiles=found,
        oil=oil,
        shift=window,
        shift_start=to_datetime(window.start_us),
        **who(session),
    )


@router.get("/fragments/tiles", response_class=HTMLResponse)
def tiles_fragment(request: Request, runtime: RuntimeDep, session: ViewSession) -> HTMLResponse:
    """The overview's tiles alone, for htmx's periodic refresh of the shift figures."""
    now = runtime.clock.now_us()
    oil = {v.machine: v.value for v in runtime.store.latest() if v.signal == "oil_temp"}
    return render(
        request, "tiles.html", tiles=tiles(runtime.plant, runtime.store, now), oil=oil, **who(session)
    )


@router.get("/presses/{machine_id}", response_class=HTMLResponse)
def press(machine_id: str, request: Request, runtime: RuntimeDep, session: ViewSession) -> HTMLResponse:
    """One press: live trends, the last stroke over the envelope of normal ones, cycle times, states."""
    machine = runtime.data.machine(machine_id)  # NotFound → the error envelope
    now = runtime.clock.now_us()
    found = tile(runtime.plant, runtime.store, machine, now)
    window = found.shift
    strokes = runtime.store.strokes(machine.id, window.start_us, window.end_us + 1, limit=20_000)
    cycle_times = [s.features["cycle_time_s"] for s in strokes if "cycle_time_s" in s.features]
    recent = [
        {
            "start": to_datetime(s.start_us),
            "n": s.n,
            "cycle": s.features.get("cycle_time_s"),
            "peak": s.features.get("peak_pressure_bar"),
            "good": s.good,
            "reason": s.scrap_reason,
        }
        for s in strokes[:RECENT_STROKES]
    ]
    operator = press_context(
        request, machine.id, window.start_us, window.end_us, page_locale(request, session.user)
    )
    return render(
        request,
        "press.html",
        nav="overview",
        machine=machine,
        tile=found,
        shift=window,
        timeline=_timeline(runtime, machine.id, window.start_us, window.end_us),
        recent=recent,
        cycle_times_json=json.dumps(cycle_times),
        open_work_orders=len(runtime.store.work_orders(machine=machine.id, open_only=True, limit=1000)),
        **operator,
        **who(session),
    )


def _timeline(runtime: Any, machine: str, start_us: int, end_us: int) -> list[dict[str, Any]]:
    """Segments of the shift's state timeline as shares of the window (what was unknown is 'offline').

    The state engine cuts the window; each segment is coloured by the state the machine reported.
    """
    span = max(end_us - start_us, 1)
    changes = decisive_changes(runtime.store, machine, start_us, end_us + 1)
    return [
        {
            "state": MachineState.OFFLINE.value if iv.source is None else iv.source.state.value,
            "share": (iv.end_us - iv.start_us) / span,
        }
        for iv in tile_intervals(changes, [], start_us, end_us)
    ]


@router.get("/alarms", response_class=HTMLResponse)
def alarms_page(request: Request, runtime: RuntimeDep, session: ViewSession) -> HTMLResponse:
    """Active alarms with their acknowledgement, and the history."""
    return render(
        request, "alarms.html", nav="alarms", **alarm_context(runtime, session.user), **who(session)
    )


@router.post("/alarms/{alarm_id}/ack", response_class=HTMLResponse)
def acknowledge_from_page(
    alarm_id: int,
    request: Request,
    runtime: RuntimeDep,
    user: Annotated[User, require(Permission.ACKNOWLEDGE_ALARM)],
) -> HTMLResponse:
    """Acknowledge in the name of the signed-in user; answers the refreshed list of active alarms."""
    AlarmService(runtime.store, runtime.clock).acknowledge(alarm_id, user.name)
    return render(request, "alarm_rows.html", account=user, **alarm_context(runtime, user))


def alarm_context(runtime: Any, user: User) -> dict[str, Any]:
    service = AlarmService(runtime.store, runtime.clock)
    return {
        "active": [_alarm_row(a) for a in service.active(limit=200)],
        "history": [_alarm_row(a) for a in service.history(limit=200)],
        "can_ack": allowed(user.role, Permission.ACKNOWLEDGE_ALARM),
    }


def _alarm_row(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "severity": a.severity.name.lower(),
        "text": {lang: a.text(lang) for lang in SUPPORTED_LOCALES},  # the template shows its reader's
        "machine": a.machine,
        "source": a.source,  # "health": the row links to the press's health page
        "raised": to_datetime(a.raised_us),
        "acked": None if a.acked_us is None else to_datetime(a.acked_us),
        "acked_by": a.acked_by,
    }


# --- signing in ----------------------------------------------------------------------------------------


def _safe_next(target: str) -> str:
    """A local path to go back to after signing in; anything else goes to the overview."""
    # "//host" and "/\\host" are other sites to a browser, not paths of this one.
    ok = target.startswith("/") and not target.startswith(("//", "/\\")) and not urlsplit(target).netloc
    return target if ok else "/"


@router.get("/login", response_class=HTMLResponse, dependencies=[PUBLIC])
def login_page(request: Request, next: str = "/") -> Response:
    """The login form; the first-start form instead while no administrator exists."""
    if not get_auth(request).service.has_admin():
        return RedirectResponse("/setup", status_code=303)
    return render(request, "login.html", next=_safe_next(next), name="", error=None)


@router.post("/login", response_class=HTMLResponse, dependencies=[PUBLIC])
def login_submit(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Sign in (SameSite=Strict cookies keep a cross-site form from logging a tablet in elsewhere)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    try:
        sign_in(request, response, name, password)
    except CadenceError as err:
        page = render(request, "login.html", next=_safe_next(next), name=name, error=_message(request, err))
        page.status_code = err.status
        return page
    return response


@router.get("/setup", response_class=HTMLResponse, dependencies=[PUBLIC])
def setup_page(request: Request) -> Response:
    """Create the first administrator with the setup token; gone once an administrator exists."""
    if get_auth(request).service.has_admin():
        return RedirectResponse("/login", status_code=303)
    return render(request, "setup.html", name="", error=None)


@router.post("/setup", response_class=HTMLResponse, dependencies=[PUBLIC])
def setup_submit(
    request: Request,
    token: Annotated[str, Form(max_length=200)],
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Consume the token, create the administrator and sign them in."""
    auth = get_auth(request)
    response = RedirectResponse("/", status_code=303)
    try:
        auth.service.create_admin_with_setup_token(token, name, password, page_locale(request))
        sign_in(request, response, name, password)
    except CadenceError as err:
        page = render(request, "setup.html", name=name, error=_message(request, err))
        page.status_code = err.status
        return page
    return response


@router.post("/logout")
def logout_submit(
    request: Request, session: Annotated[CurrentSession, require_session(Permission.OWN_ACCOUNT)]
) -> Response:
    """End the session and go back to the login form."""
    response = RedirectResponse("/login", status_code=303)
    sign_out(request, response, session)
    return response


def _message(request: Request, err: CadenceError) -> str:
    """The error in the visitor's language (codes are stable, their English text is not for tablets)."""
    gettext = translations(page_locale(request)).gettext
    known = {
        "auth.login_failed": gettext("Wrong name or password, or the account is locked for a while."),
        "auth.setup_refused": gettext("This setup token is not valid (expired, already used or mistyped)."),
        "auth.weak_password": gettext("The password is too weak: at least 12 characters, not the user name."),
    }
    return known.get(err.code, err.message)


@router.post("/language", dependencies=[PUBLIC])
def switch_language(
    request: Request,
    locale: Annotated[str, Form()] = DEFAULT_LOCALE,
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Remember the chosen language (the account's when signed in, this tablet's cookie) and go back."""
    # Only a display preference, hence public (the login page has it too) and without a CSRF token.
    chosen = locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE
    response = RedirectResponse(_safe_next(next), status_code=303)
    try:
        session = current_session(request)
    except CadenceError:  # not signed in: the choice is this tablet's only
        session = None
    if session is not None:  # changing the account needs the session's CSRF token, like any change
        check_csrf(request, session, csrf_token or request.headers.get(CSRF_HEADER))
        get_auth(request).service.set_locale(session.user, chosen)
    response.set_cookie(
        LOCALE_COOKIE, chosen, max_age=LOCALE_COOKIE_MAX_AGE_S, httponly=True, samesite="strict", path="/"
    )
    return response
