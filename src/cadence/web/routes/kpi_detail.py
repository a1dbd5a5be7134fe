"""Every KPI of a press traced back to the intervals and strokes it was computed from (issue 4).

``GET /api/v1/machines/{machine_id}/kpi?from=&to=&strokes=true`` and the page ``/presses/{machine_id}/kpi``
read the period once through :func:`cadence.services.production.press_period` (the reading of the tiles,
the press page and the shift report, so the figures are the same) and shape it with :func:`drilldown_json`:
each ISO 22400-2 time element names the interval categories it sums and lists the intervals themselves,
so "ADET = these 3 intervals" can be checked by anyone, by hand or by a script.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from cadence.analytics.intervals import Category, Interval
from cadence.analytics.kpi import KpiReport
from cadence.auth import Permission, allowed, require
from cadence.clock import from_datetime, to_datetime
from cadence.domain.cycles import Stroke
from cadence.domain.plant import Machine, Plant
from cadence.domain.shifts import shifts_between
from cadence.errors import BadRequest
from cadence.services.overview import ShiftWindow, shift_window
from cadence.services.production import PressPeriod, press_period
from cadence.services.timerange import parse_instant
from cadence.web.deps import RuntimeDep
from cadence.web.i18n import translations
from cadence.web.routes.operator import get_operator_service
from cadence.web.routes.operator_marks import reason_labels
from cadence.web.routes.pages import ViewSession, page_locale, render, who
from cadence.web.vocabulary import N_

router = APIRouter()

# A drill-down reads raw intervals and strokes (no rollups): a month of one press is about a million
# strokes at most, beyond that the rollup API (/api/v1/kpis) is the right tool.
MAX_DRILL_DAYS = 31
MAX_DRILL_US = MAX_DRILL_DAYS * 86_400 * 1_000_000
# Strokes read for one period; past it the answer says ``truncated`` (counts are then a lower bound).
MAX_STROKES = 1_000_000
# Strokes per page of the API's listing, and the most one page may hold.
DEFAULT_STROKE_LIMIT = 500
MAX_STROKE_LIMIT = 10_000
# Intervals listed on the page; a long period has many micro-stops, and the API has them all.
MAX_ROWS = 400
# How far back the "previous shift" is looked for (a long weekend without shifts).
PREVIOUS_SHIFT_LOOKBACK = timedelta(days=7)

_ALL = tuple(Category)
_BUSY = tuple(c for c in Category if c is not Category.PLANNED_STOP)

# Each time element: its abbreviation, the KpiReport attribute holding it, the interval categories it sums
# (docs/guides/kpis.md), and its name on the page.
ELEMENTS: tuple[tuple[str, str, tuple[Category, ...], str], ...] = (
    ("pot", "pot_s", _ALL, N_("Planned operation time")),
    ("pdot", "pdot_s", (Category.PLANNED_STOP,), N_("Planned downtime")),
    ("pbt", "pbt_s", _BUSY, N_("Planned busy time")),
    ("adot", "adot_s", (Category.NO_ORDER, Category.IDLE), N_("Waiting, no order")),
    ("aust", "aust_s", (Category.SETUP,), N_("Setup")),
    ("adet", "adet_s", (Category.DOWN, Category.MICRO_STOP), N_("Breakdowns and micro-stops")),
    ("unknown", "unknown_s", (Category.UNKNOWN,), N_("No data")),
    ("apt", "apt_s", (Category.RUNNING,), N_("Actual production time")),
    ("aupt", "aupt_s", (Category.RUNNING, Category.SETUP), N_("Processing time")),
    (
        "aubt",
        "aubt_s",
        (Category.RUNNING, Category.SETUP, Category.DOWN, Category.MICRO_STOP),
        N_("Busy time"),
    ),
    # Nakajima / NF E60-182: operating time ("temps brut de fonctionnement") keeps the micro-stops.
    ("trs_operating", "trs_operating_s", (Category.RUNNING, Category.MICRO_STOP), N_("Operating time")),
)
_ELEMENT_NAMES = {key: name for key, _attr, _cats, name in ELEMENTS}

CATEGORY_LABELS: dict[Category, str] = {
    Category.RUNNING: N_("Running"),
    Category.IDLE: N_("Waiting"),
    Category.MICRO_STOP: N_("Micro-stop"),
    Category.DOWN: N_("Breakdown"),
    Category.PLANNED_STOP: N_("Planned stop"),
    Category.SETUP: N_("Setup"),
    Category.NO_ORDER: N_("No order"),
    Category.UNKNOWN: N_("No data"),
}

PRESETS: dict[str, str] = {
    "shift": N_("This shift"),
    "previous": N_("Previous shift"),
    "today": N_("Today"),
}

From = Annotated[
    str | None,
    Query(alias="from", description="ISO 8601 with a zone, µs, 'now' or -8h; default: the current shift"),
]
To = Annotated[str | None, Query(alias="to", description="as from; default: now")]


# --- the JSON shaping, shared by the API and the page -------------------------------------------------


def _iso(ts_us: int) -> str:
    return to_datetime(ts_us).isoformat()


def interval_json(index: int, iv: Interval) -> dict[str, Any]:
    """One interval as the drill-down lists it, with the state change it came from."""
    source = iv.source
    return {
        "index": index,
        "start": _iso(iv.start_us),
        "end": _iso(iv.end_us),
        "start_us": iv.start_us,
        "end_us": iv.end_us,
        "duration_s": iv.duration_s,
        "category": iv.category.value,
        "reason": iv.reason,
        "unqualified": iv.unqualified,
        "inferred": iv.inferred,
        "source": None
        if source is None
        else {
            "ts": _iso(source.ts_us),
            "ts_us": source.ts_us,
            "state": source.state.value,
            "reason": source.reason,
        },
    }


def stroke_row(stroke: Stroke) -> dict[str, Any]:
    return {
        "n": stroke.n,
        "start": _iso(stroke.start_us),
        "end": _iso(stroke.end_us),
        "start_us": stroke.start_us,
        "end_us": stroke.end_us,
        "good": stroke.good,
        "scrap_reason": stroke.scrap_reason,
    }


def drilldown_json(
    period: PressPeriod,
    *,
    strokes: bool = False,
    limit: int = DEFAULT_STROKE_LIMIT,
    offset: int = 0,
) -> dict[str, Any]:
    """The KPIs of ``period`` with what each was computed from.

    Every time element gives its seconds (from the :class:`~cadence.analytics.kpi.KpiReport`), the interval
    categories it sums and the indices of those intervals in ``intervals``; ratios are ``None`` where they
    need a planned cycle time the press does not have. With ``strokes``, the counted strokes, oldest first,
    ``limit`` of them from ``offset``, and their ``total`` (PQ).
    """
    kpi = period.kpi
    pri = period.has_pri
    intervals = [interval_json(i, iv) for i, iv in enumerate(kpi.intervals)]
    elements: dict[str, Any] = {}
    for key, attr, categories, _name in ELEMENTS:
        wanted = set(categories)
        elements[key] = {
            "seconds": getattr(kpi, attr),
            "categories": [c.value for c in categories],
            "intervals": [i for i, iv in enumerate(kpi.intervals) if iv.category in wanted],
        }

    def ratio(value: float) -> float | None:
        return value if pri else None

    out: dict[str, Any] = {
        "ok": True,
        "machine": {
            "id": period.machine.id,
            "name": period.machine.name,
            "target_cycle_s": period.machine.target_cycle_s,
        },
        "period": {
            "from": _iso(period.start_us),
            "to": _iso(period.end_us),
            "from_us": period.start_us,
            "to_us": period.end_us,
        },
        "has_pri": pri,
        "truncated": period.truncated,
        "time_elements": elements,
        "iso22400": {
            "label": "ISO 22400-2",
            "micro_stops_lower": "availability",
            "availability": kpi.availability,
            "effectiveness": ratio(kpi.effectiveness),
            "effectiveness_exceeds_plan": pri and kpi.effectiveness_exceeds_plan,
            "quality_ratio": kpi.quality_ratio,
            "oee": ratio(kpi.oee),
        },
        "trs": {
            "label": "Nakajima / NF E60-182 (TRS)",
            "micro_stops_lower": "performance",
            "operating_s": kpi.trs_operating_s,
            "availability": kpi.trs_availability,
            "performance": ratio(kpi.trs_performance),
            "quality": kpi.trs_quality,
            "trs": ratio(kpi.trs),
        },
        "quantities": {
            "pq": kpi.pq,
            "gq": kpi.gq,
            "sq": kpi.sq,
            "rq": kpi.rq,
            "declared": kpi.declared,
            "declared_counted": kpi.declared_sq,
            "declared_uncounted": kpi.declared_uncounted,
            "pri_pq_s": kpi.pri_pq_s,
            "pri_gq_s": kpi.pri_gq_s,
        },
        "reliability": {
            "failure_events": kpi.failure_events,
            "ttr_s": kpi.ttr_s,
            "mttr_s": kpi.mttr_s,
            "mtbf_s": kpi.mtbf_s,
            "mtbf_operating_s": kpi.mtbf_operating_s,
        },
        "intervals": intervals,
        "declarations": [
            {"at": _iso(d.at_us), "at_us": d.at_us, "quantity": d.quantity, "cause": d.cause, "by": d.by}
            for d in kpi.declarations
        ],
    }
    if strokes:
        ordered = sorted(kpi.strokes, key=lambda s: (s.end_us, s.n))
        out["strokes"] = {
            "total": len(ordered),
            "limit": limit,
            "offset": offset,
            "items": [stroke_row(s) for s in ordered[offset : offset + limit]],
        }
    return out


# --- the period asked for ------------------------------------------------------------------------------


def _bounded(start_us: int, end_us: int, now_us: int, start: str, end: str) -> tuple[int, int]:
    # The future has no intervals yet: the last state would otherwise be counted on to the end.
    end_us = min(end_us, now_us)
    if end_us <= start_us:
        raise BadRequest("'to' must be after 'from', and 'from' before now", start=start, end=end)
    if end_us - start_us > MAX_DRILL_US:
        raise BadRequest(
            f"the period is longer than {MAX_DRILL_DAYS} days: use /api/v1/kpis for long periods",
            start=start,
            end=end,
        )
    return start_us, end_us


def period_bounds(plant: Plant, now_us: int, start: str | None, end: str | None) -> tuple[int, int]:
    """``[from, to)`` in µs: the current shift window by default, ``to`` now when only ``from`` is given."""
    window = shift_window(plant, now_us)
    if start is None and end is None:
        if window.end_us <= window.start_us:  # the very instant a shift starts: nothing to show yet
            raise BadRequest("the shift has just started: nothing to show yet")
        return window.start_us, window.end_us
    start_us = window.start_us if start is None else parse_instant(start, now_us)
    end_us = now_us if end is None else parse_instant(end, now_us)
    return _bounded(start_us, end_us, now_us, start or "", end or "")


def previous_shift(plant: Plant, window: ShiftWindow, now_us: int) -> tuple[int, int] | None:
    """The last shift that ended before the current one began (before now outside the calendar)."""
    tz = ZoneInfo(plant.site.timezone)
    limit = window.start_us if window.name is not None else now_us
    upto = to_datetime(limit).astimezone(tz)
    found = [
        s
        for s in shifts_between(plant.shifts, upto - PREVIOUS_SHIFT_LOOKBACK, upto)
        if from_datetime(s.end) <= limit
    ]
    if not found:
        return None
    last = found[-1]
    return from_datetime(last.start), from_datetime(last.end)


def preset_bounds(plant: Plant, now_us: int, preset: str) -> tuple[int, int] | None:
    window = shift_window(plant, now_us)
    if preset == "previous":
        return previous_shift(plant, window, now_us)
    if preset == "today":
        local = to_datetime(now_us).astimezone(ZoneInfo(plant.site.timezone))
        return from_datetime(datetime.combine(local.date(), time(0), local.tzinfo)), now_us
    return window.start_us, window.end_us


# --- the API -----------------------------------------------------------------------------------------------


@router.get(
    "/api/v1/machines/{machine_id}/kpi",
    tags=["machines"],
    dependencies=[require(Permission.VIEW_PLANT)],
)
def machine_kpi(
    machine_id: str,
    runtime: RuntimeDep,
    start: From = None,
    end: To = None,
    strokes: Annotated[bool, Query(description="list the counted strokes, paged")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_STROKE_LIMIT)] = DEFAULT_STROKE_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """A press's ISO 22400-2 and TRS figures over a period (default: the current shift, at most 31 days),
    with every interval and, with ``strokes=true``, the counted strokes they were computed from."""
    machine = runtime.data.machine(machine_id)  # NotFound → 404
    now_us = runtime.clock.now_us()
    start_us, end_us = period_bounds(runtime.plant, now_us, start, end)
    period = press_period(runtime.store, machine, start_us, end_us, now_us=now_us, max_strokes=MAX_STROKES)
    return drilldown_json(period, strokes=strokes, limit=limit, offset=offset)


# --- the page --------------------------------------------------------------------------------------------


def _element_rows(body: dict[str, Any], gettext: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for key, element in body["time_elements"].items():
        out[key] = {
            "key": key,
            "abbr": "" if key in ("unknown", "trs_operating") else key.upper(),
            "name": gettext(_ELEMENT_NAMES[key]),
            "seconds": element["seconds"],
            "count": len(element["intervals"]),
            "categories": element["categories"],
        }
    return out


def _step(kind: str, key: str, abbr: str, name: str, seconds: float, left_s: float) -> dict[str, Any]:
    return {"kind": kind, "key": key, "abbr": abbr, "name": name, "seconds": seconds, "left_s": left_s}


def waterfalls(kpi: KpiReport, has_pri: bool, gettext: Any) -> dict[str, list[dict[str, Any]]]:
    """The ISO and TRS waterfalls, from POT (resp. PBT) down to the good parts' planned time, as steps:
    ``total`` bars start at 0, ``loss`` bars hang where the running total was (``left_s``).

    Each loss is the difference of the totals around it, so the steps always add up; the speed loss is
    shown only with a planned cycle time, and never below 0 (parts faster than planned)."""
    adet_names = gettext("Breakdowns and micro-stops")
    iso: list[dict[str, Any]] = [
        _step("total", "pot", "POT", gettext("Planned operation time"), kpi.pot_s, 0)
    ]

    def loss(
        rows: list[dict[str, Any]], key: str, abbr: str, name: str, seconds: float, cursor: float
    ) -> float:
        rows.append(_step("loss", key, abbr, name, seconds, cursor - seconds))
        return cursor - seconds

    loss(iso, "pdot", "PDOT", gettext("Planned downtime"), kpi.pdot_s, kpi.pot_s)
    iso.append(_step("total", "pbt", "PBT", gettext("Planned busy time"), kpi.pbt_s, 0))
    c = loss(iso, "adot", "ADOT", gettext("Waiting, no order"), kpi.adot_s, kpi.pbt_s)
    c = loss(iso, "aust", "AUST", gettext("Setup"), kpi.aust_s, c)
    c = loss(iso, "adet", "ADET", adet_names, kpi.adet_s, c)
    loss(iso, "unknown", "", gettext("No data"), kpi.unknown_s, c)
    iso.append(_step("total", "apt", "APT", gettext("Actual production time"), kpi.apt_s, 0))
    trs: list[dict[str, Any]] = [_step("total", "pbt", "", gettext("Opening time"), kpi.pbt_s, 0)]
    stops = kpi.adot_s + kpi.aust_s + kpi.malfunction_s + kpi.unknown_s
    loss(trs, "trs_stops", "", gettext("Stops: waiting, setup, breakdowns, no data"), stops, kpi.pbt_s)
    trs.append(_step("total", "trs_operating", "", gettext("Operating time"), kpi.trs_operating_s, 0))
    if has_pri:
        net = min(kpi.pri_pq_s, kpi.apt_s)
        loss(iso, "speed", "", gettext("Speed loss"), kpi.apt_s - net, kpi.apt_s)
        iso.append(_step("total", "net", "PRI·PQ", gettext("Net time (parts made)"), net, 0))
        loss(iso, "quality", "", gettext("Quality loss"), net - min(kpi.pri_gq_s, net), net)
        iso.append(_step("total", "useful", "PRI·GQ", gettext("Useful time (good parts)"), kpi.pri_gq_s, 0))
        trs_net = min(kpi.pri_pq_s, kpi.trs_operating_s)
        loss(
            trs,
            "trs_speed",
            "",
            gettext("Micro-stops and speed loss"),
            kpi.trs_operating_s - trs_net,
            kpi.trs_operating_s,
        )
        trs.append(_step("total", "net", "", gettext("Net time (parts made)"), trs_net, 0))
        loss(trs, "quality", "", gettext("Quality loss"), trs_net - min(kpi.pri_gq_s, trs_net), trs_net)
        trs.append(_step("total", "useful", "", gettext("Useful time (good parts)"), kpi.pri_gq_s, 0))
    scale = max(kpi.pot_s, 1e-9)
    for row in iso + trs:
        row["x"] = round(1000 * max(row["left_s"], 0.0) / scale, 2)
        row["w"] = round(1000 * max(row["seconds"], 0.0) / scale, 2)
    return {"iso": iso, "trs": trs}


def _scrap_rows(period: PressPeriod) -> list[tuple[str | None, int]]:
    bad = Counter(s.scrap_reason for s in period.kpi.strokes if not s.good)
    return sorted(bad.items(), key=lambda kv: (-kv[1], kv[0] or ""))


def _page_url(machine: Machine, **params: str) -> str:
    return f"/presses/{machine.id}/kpi" + (f"?{urlencode(params)}" if params else "")


@router.get("/presses/{machine_id}/kpi", response_class=HTMLResponse, include_in_schema=False)
def kpi_page(
    machine_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: ViewSession,
    start: From = None,
    end: To = None,
    preset: Annotated[Literal["shift", "previous", "today"] | None, Query(alias="period")] = None,
    only: Annotated[str | None, Query(description="an element's key: list only its intervals")] = None,
) -> HTMLResponse:
    """The OEE of a press taken apart: ISO and TRS waterfalls, the intervals and the strokes behind them."""
    machine = runtime.data.machine(machine_id)  # NotFound → the error envelope
    now_us = runtime.clock.now_us()
    locale = page_locale(request, session.user)
    gettext = translations(locale).gettext
    service = get_operator_service(request)
    window = shift_window(runtime.plant, now_us)
    previous = previous_shift(runtime.plant, window, now_us)
    if preset is not None and (start, end) == (None, None):
        bounds = preset_bounds(runtime.plant, now_us, preset)
        if bounds is None:
            raise BadRequest("no previous shift in the last 7 days", machine=machine.id)
        start_us, end_us = _bounded(*bounds, now_us, preset, preset)
        chosen: str = preset
    else:
        start_us, end_us = period_bounds(runtime.plant, now_us, start, end)
        chosen = "shift" if (start, end) == (None, None) else ""
    period = press_period(runtime.store, machine, start_us, end_us, now_us=now_us, max_strokes=MAX_STROKES)
    body = drilldown_json(period)
    elements = _element_rows(body, gettext)
    if only is not None and only not in elements:
        raise BadRequest(f"unknown time element {only!r}", only=only)

    # Stops an operator may still qualify from the operator page: unqualified stops of the current shift.
    can_qualify = allowed(session.user.role, Permission.RECORD_STOP_REASON)
    qualifiable = (
        {s.start_us for s in service.stops(machine.id, window.start_us, window.end_us) if s.unqualified}
        if can_qualify and window.end_us > window.start_us
        else set()
    )
    labels = reason_labels(service, locale)
    shown = body["intervals"]
    if only is not None:
        keep = set(body["time_elements"][only]["intervals"])
        shown = [iv for iv in shown if iv["index"] in keep]
    rows = [
        {
            **iv,
            "begin": to_datetime(iv["start_us"]),
            "source_at": None if iv["source"] is None else to_datetime(iv["source"]["ts_us"]),
            "label": gettext(CATEGORY_LABELS[Category(iv["category"])]),
            "reason_label": None if iv["reason"] is None else labels.get(iv["reason"], iv["reason"]),
            "qualify": iv["unqualified"]
            and iv["source"] is not None
            and iv["source"]["ts_us"] in qualifiable,
        }
        for iv in shown
    ]
    kept = {"from": start, "to": end} if chosen == "" else {"period": chosen}
    kept = {k: v for k, v in kept.items() if v}
    return render(
        request,
        "kpi_detail.html",
        nav="overview",
        machine=machine,
        body=body,
        kpi=period.kpi,
        elements=elements,
        period_start=to_datetime(start_us),
        period_end=to_datetime(end_us),
        presets={k: v for k, v in PRESETS.items() if k != "previous" or previous is not None},
        chosen=chosen,
        rows=rows[:MAX_ROWS],
        rows_total=len(rows),
        only=only,
        only_total_s=None if only is None else body["time_elements"][only]["seconds"],
        all_url=_page_url(machine, **kept) + "#intervals",
        element_url={key: _page_url(machine, **kept, only=key) + "#intervals" for key in elements},
        api_url=f"/api/v1/machines/{machine.id}/kpi?"
        + urlencode({"from": str(start_us), "to": str(end_us), "strokes": "true"}),
        scrap_rows=_scrap_rows(period),
        steps=waterfalls(period.kpi, period.has_pri, gettext),
        **who(session),
    )
