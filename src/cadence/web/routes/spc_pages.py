"""SPC of a press on the tablet and in the JSON API: the control chart of one per-stroke feature with its
limits and zones, the rule violations in plain words, capability, and the limits established from a
chosen baseline (issue 5).

Everything is read and written through :class:`~cadence.services.spc.SpcService`, so the page and the
API show the same points, limits and violations. Seeing needs ``view_plant``; establishing limits again
needs ``manage_spc`` (the policy table says who holds it), and the service keeps who, when and why.

* ``GET /presses/{id}/spc?feature=&period=`` — the page (periods: this shift, 24 h, 7 days);
* ``POST /presses/{id}/spc/limits`` — its form: limits from a baseline, answered by a redirect to the
  chart, or by the page again with the problem in the visitor's language;
* ``GET /api/v1/machines/{id}/spc/{feature}?from=&to=`` and ``POST …/spc/{feature}/limits`` — the same
  as JSON (explanations in French and English).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from cadence.analytics.spc.base import Violation
from cadence.analytics.spc.capability import Capability, Estimate
from cadence.analytics.spc.rules import NELSON, WESTERN_ELECTRIC, explain
from cadence.auth import Permission, allowed, require, require_session
from cadence.auth.service import CurrentSession
from cadence.clock import from_datetime, to_datetime
from cadence.domain.plant import Machine
from cadence.errors import BadRequest, CadenceError, InvalidInput
from cadence.services.overview import shift_window
from cadence.services.spc import SPC_FEATURES, SpcLimitsRecord, SpcService, SpcView
from cadence.services.timerange import parse_instant
from cadence.web.deps import RuntimeDep
from cadence.web.i18n import translations
from cadence.web.routes.pages import ViewSession, page_locale, render, who
from cadence.web.vocabulary import FEATURE_LABELS, N_

router = APIRouter()

ManageSession = Annotated[CurrentSession, require_session(Permission.MANAGE_SPC)]

HOUR_US = 3_600_000_000
# The quick choices of the page: the shift so far, the last day (three shifts), the last week.
PERIODS: dict[str, str] = {"shift": N_("This shift"), "24h": N_("24 h"), "7d": N_("7 days")}
PERIOD_SPAN_US = {"24h": 24 * HOUR_US, "7d": 7 * 24 * HOUR_US}
DEFAULT_PERIOD: Literal["shift", "24h", "7d"] = "24h"
# Points drawn at most: a week of a 6 s press is 100 000 strokes; the service thins beyond this.
MAX_POINTS = 2000
# The API reads at most this long a period (a month of strokes); the page's longest choice is 7 days.
MAX_SPAN_US = 31 * 24 * HOUR_US
# Alerts listed on the page, the latest first: a drift beyond the limits reports every point (rule 1), and
# the first screenful says what to do; the API lists them all.
MAX_LISTED = 12
# The rules that fire on a single point beyond the limits, grouped into runs on the page.
BEYOND_LIMITS = frozenset({"we1", "nelson1"})
RUN_BEYOND_LIMITS = N_(
    "%(num)d points in a row beyond the control limits (points %(first)d to %(last)d): a special cause "
    "has probably acted."
)
MAX_WHY = 500  # a sentence or two; longer is a report, which belongs in the logbook
# Rule 1 alone is the default: on a chart of every stroke, Western Electric's four rules raise a false
# alarm every 92 points in control (one every ~20 min at a 12 s cycle), rule 1 every 370 (docs/guides/spc.md).
RULE_SETS = {"limits": frozenset({"we1"}), "we": WESTERN_ELECTRIC, "nelson": NELSON}
RULE_SET_LABELS = {
    "limits": N_("Limits only (rule 1)"),
    "we": N_("Western Electric"),
    "nelson": N_("Nelson"),
}
CHARTS = ("imr", "xbar_r")
CHART_LABELS = {"imr": N_("Individuals (I-MR)"), "xbar_r": N_("Subgroup means (X̄-R)")}
MAX_SUBGROUP = 25  # the constants tables stop at 25
CAVEATS: dict[str, str] = {
    "non_normal": N_(
        "The values do not follow a normal law: the indices misjudge the tails, read them with care."
    ),
    "normality_untested": N_("Too few values to test normality."),
    "few_values": N_("Fewer than 30 values: the intervals are wide."),
    "not_in_control": N_(
        "The chart shows special causes: the capability of an unstable process predicts nothing."
    ),
}
SUCCESS = N_("New limits in force.")
# The service's refusals (``problem`` in the error's context) in the visitor's words; one not listed here
# is shown as the service wrote it.
PROBLEMS: dict[str, str] = {
    "spc.too_few_points": N_(
        "The baseline gives %(points)s points; limits need at least %(required)s. Choose a longer period."
    ),
    "spc.feature_absent": N_("No stroke of this period carries this measure."),
    "spc.flat_baseline": N_(
        "Every value of the baseline is the same: there is no spread to set limits from."
    ),
    "spc.baseline_too_long": N_("The baseline holds too many strokes: choose a shorter period."),
}


# --- shaping, shared by the API and the page ---------------------------------------------------------


def _iso(ts_us: int) -> str:
    return to_datetime(ts_us).isoformat()


def _num(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such a value is shown as absent."""
    return None if value is None or not math.isfinite(value) else value


def limits_json(record: SpcLimitsRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "machine": record.machine,
        "feature": record.feature,
        "chart": record.chart,
        "subgroup_size": record.subgroup_size,
        "center": _num(record.center),
        "sigma": _num(record.sigma),
        "lcl": _num(record.lcl),
        "ucl": _num(record.ucl),
        "baseline": {
            "from": _iso(record.baseline_start_us),
            "to": _iso(record.baseline_end_us),
            "from_us": record.baseline_start_us,
            "to_us": record.baseline_end_us,
        },
        "points": record.points,
        "excluded": list(record.excluded),
        "rules": list(record.rules),
        "lsl": _num(record.lsl),
        "usl": _num(record.usl),
        "by": record.by,
        "at": _iso(record.at_us),
        "at_us": record.at_us,
        "why": record.why,
    }


def _estimate(e: Estimate | None) -> dict[str, float | None] | None:
    return None if e is None else {"value": _num(e.value), "low": _num(e.low), "high": _num(e.high)}


def capability_json(cap: Capability) -> dict[str, Any]:
    normality = cap.normality
    return {
        "n": cap.n,
        "mean": _num(cap.mean),
        "sigma_within": _num(cap.sigma_within),
        "sigma_overall": _num(cap.sigma_overall),
        "lsl": cap.lsl,
        "usl": cap.usl,
        "confidence": cap.confidence,
        **{k: _estimate(getattr(cap, k)) for k in ("cp", "cpk", "pp", "ppk", "cpu", "cpl", "ppu", "ppl")},
        "normality": None
        if normality is None
        else {
            "test": "anderson-darling",
            "a2_adjusted": _num(normality.a2_adjusted),
            "p_value": _num(normality.p_value),
            "plausible": normality.plausible,
        },
        "caveats": list(cap.caveats),
    }


def view_json(view: SpcView) -> dict[str, Any]:
    """Points (with their time), limits in force, violations explained in French and English, capability."""
    return {
        "ok": True,
        "machine": view.machine,
        "feature": view.feature,
        "limits": None if view.limits is None else limits_json(view.limits),
        "points": [
            {
                "index": p.index,
                "t": _iso(t),
                "t_us": t,
                "value": _num(p.value),
                "center": _num(p.center),
                "lcl": _num(p.lcl),
                "ucl": _num(p.ucl),
                "sigma": _num(p.sigma),
            }
            for p, t in zip(view.points, view.times_us, strict=False)
        ],
        "violations": [
            {
                "rule": v.rule,
                "index": v.index,
                "points": list(v.points),
                "explanation": {"fr": explain(v, "fr"), "en": explain(v, "en")},
            }
            for v in view.violations
        ],
        "capability": None if view.capability is None else capability_json(view.capability),
    }


def _service(runtime: Any) -> SpcService:
    return SpcService(runtime.plant, runtime.store, runtime.clock)


def _feature(feature: str) -> str:
    if feature not in SPC_FEATURES:
        raise BadRequest(
            f"no SPC chart for {feature!r}; charted features: {', '.join(SPC_FEATURES)}", feature=feature
        )
    return feature


def _span(start_us: int, end_us: int) -> tuple[int, int]:
    if end_us <= start_us:
        raise BadRequest("'to' must be after 'from'", start_us=start_us, end_us=end_us)
    if end_us - start_us > MAX_SPAN_US:
        raise BadRequest("the period is longer than 31 days", start_us=start_us, end_us=end_us)
    return start_us, end_us


# --- the API -------------------------------------------------------------------------------------------

From = Annotated[
    str | None, Query(alias="from", description="ISO 8601 with a zone, µs, 'now' or -8h; default -24h")
]
To = Annotated[str | None, Query(alias="to", description="as from; default now")]


@router.get(
    "/api/v1/machines/{machine_id}/spc/{feature}",
    tags=["machines"],
    dependencies=[require(Permission.VIEW_PLANT)],
)
def machine_spc(
    machine_id: str, feature: str, runtime: RuntimeDep, start: From = None, end: To = None
) -> dict[str, Any]:
    """A feature's control chart over a period (default the last 24 h, at most 31 days): points, limits in
    force, rule violations with their explanation in French and English, capability when spec limits are
    set."""
    machine = runtime.data.machine(machine_id)  # NotFound → 404
    now = runtime.clock.now_us()
    start_us = now - PERIOD_SPAN_US["24h"] if start is None else parse_instant(start, now)
    end_us = now if end is None else parse_instant(end, now)
    start_us, end_us = _span(start_us, end_us)
    view = _service(runtime).view(machine.id, _feature(feature), start_us, end_us, max_points=MAX_POINTS)
    body = view_json(view)
    body["period"] = {"from": _iso(start_us), "to": _iso(end_us), "from_us": start_us, "to_us": end_us}
    return body


class LimitsRequest(BaseModel):
    """Limits from a baseline period: ``from`` and ``to`` as the query parameters of the GET."""

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    why: str = Field(min_length=1, max_length=MAX_WHY)
    chart: Literal["imr", "xbar_r"] = "imr"
    subgroup_size: int = Field(default=1, ge=1, le=MAX_SUBGROUP)
    rules: Literal["limits", "we", "nelson"] = "limits"
    lsl: float | None = None
    usl: float | None = None


@router.post("/api/v1/machines/{machine_id}/spc/{feature}/limits", tags=["machines"], status_code=201)
def establish_limits(
    machine_id: str,
    feature: str,
    body: LimitsRequest,
    runtime: RuntimeDep,
    session: ManageSession,
) -> dict[str, Any]:
    """Establish a feature's limits from a baseline period (phase I); the record keeps who, when and why.
    Too few strokes in the baseline: 422 ``invalid_input``."""
    machine = runtime.data.machine(machine_id)
    now = runtime.clock.now_us()
    start_us, end_us = _span(parse_instant(body.start, now), parse_instant(body.end, now))
    if not body.why.strip():
        raise InvalidInput("why is required")
    record = _service(runtime).establish(
        machine.id,
        _feature(feature),
        start_us,
        end_us,
        by=session.user.name,
        why=body.why.strip(),
        chart=body.chart,
        subgroup_size=body.subgroup_size if body.chart == "xbar_r" else 1,
        rules=RULE_SETS[body.rules],
        lsl=body.lsl,
        usl=body.usl,
    )
    return {"ok": True, "limits": limits_json(record)}


# --- the page ------------------------------------------------------------------------------------------


def _period_bounds(runtime: Any, period: str, now_us: int) -> tuple[int, int]:
    if period == "shift":
        window = shift_window(runtime.plant, now_us)
        return window.start_us, max(window.end_us, window.start_us + 1)
    return now_us - PERIOD_SPAN_US[period], now_us


def _local_input(ts_us: int, tz: str) -> str:
    """A ``datetime-local`` field's value: the plant's wall-clock time to the minute."""
    return to_datetime(ts_us).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def _parse_local(text: str, tz: str) -> int:
    """A ``datetime-local`` value (the plant's time) or any instant the API takes, in µs."""
    text = text.strip()
    moment = datetime.fromisoformat(text)  # ValueError: not a time
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return from_datetime(moment)


def _chart_json(view: SpcView) -> str:
    """What the chart script draws: point numbers from 1 (as the explanations count), values, centre,
    limits, σ for the zones, the points a rule fired on, and each point's time for the cursor."""
    involved = sorted({i for v in view.violations for i in v.points})
    fired = sorted({v.index for v in view.violations})
    data = {
        "n": [p.index + 1 for p in view.points],
        "t": [t // 1000 for t in view.times_us],  # ms, for the browser's Date
        "v": [_num(p.value) for p in view.points],
        "c": [_num(p.center) for p in view.points],
        "lcl": [_num(p.lcl) for p in view.points],
        "ucl": [_num(p.ucl) for p in view.points],
        "s": [_num(p.sigma) for p in view.points],
        "bad": involved,
        "fired": fired,
    }
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def _page_url(machine: Machine, **params: str) -> str:
    return f"/presses/{machine.id}/spc?{urlencode(params)}"


def _rule_set_of(rules: Sequence[str]) -> str:
    """The form's choice that gave ``rules`` (a set saved through the API may match none: then the
    closest family)."""
    chosen = frozenset(rules)
    for key, rule_set in RULE_SETS.items():
        if chosen == rule_set:
            return key
    return "nelson" if any(r.startswith("nelson") for r in chosen) else "we"


def _alert_text(v: Violation, locale: str, gettext: Callable[[str], str]) -> str:
    if len(v.points) == 1 or v.rule not in BEYOND_LIMITS:
        return explain(v, locale)
    return gettext(RUN_BEYOND_LIMITS) % {"num": len(v.points), "first": v.points[0] + 1, "last": v.index + 1}


def grouped_alerts(violations: Sequence[Violation]) -> list[Violation]:
    """The violations as a person reads them: rule 1 reports every point beyond the limits, so a drift
    past them would fill the list with one line per stroke; consecutive points beyond the limits become
    one alert naming them all. The other rules already report once per episode.

    >>> beyond = [Violation("we1", i, (i,)) for i in (4, 5, 6, 9)]
    >>> [(v.rule, v.points) for v in grouped_alerts([*beyond, Violation("we2", 6, (5, 6))])]
    [('we1', (4, 5, 6)), ('we2', (5, 6)), ('we1', (9,))]
    """
    out: list[Violation] = []
    for v in sorted(violations, key=lambda v: v.index):
        same = [k for k, w in enumerate(out) if w.rule == v.rule and w.rule in BEYOND_LIMITS]
        last = out[same[-1]] if same else None
        if v.rule in BEYOND_LIMITS and last is not None and last.index == v.index - 1:
            out[same[-1]] = Violation(v.rule, v.index, (*last.points, v.index))
        else:
            out.append(v)
    return sorted(out, key=lambda v: v.index)


def _spc_page(
    request: Request,
    runtime: Any,
    machine: Machine,
    session: CurrentSession,
    feature: str,
    period: str,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    locale = page_locale(request, session.user)
    gettext = translations(locale).gettext
    tz = runtime.plant.site.timezone
    now = runtime.clock.now_us()
    start_us, end_us = _period_bounds(runtime, period, now)
    service = _service(runtime)
    view = service.view(machine.id, feature, start_us, end_us, max_points=MAX_POINTS)
    times = view.times_us
    violations = [
        {
            "rule": v.rule,
            "text": explain(v, locale)
            if len(v.points) == 1 or v.rule not in BEYOND_LIMITS
            else gettext(RUN_BEYOND_LIMITS)
            % {"num": len(v.points), "first": v.points[0] + 1, "last": v.index + 1},
            "first": v.points[0] + 1 if v.points else v.index + 1,
            "last": v.index + 1,
            "count": len(v.points),
            "at": to_datetime(times[v.index]) if v.index < len(times) else None,
        }
        for v in reversed(grouped_alerts(view.violations))  # the latest first: the one to act on
    ]
    cap = view.capability
    limits = view.limits
    defaults = {
        "from": _local_input(limits.baseline_start_us if limits else start_us, tz),
        "to": _local_input(limits.baseline_end_us if limits else end_us, tz),
        "chart": limits.chart if limits else "imr",
        "subgroup_size": str(limits.subgroup_size if limits and limits.chart == "xbar_r" else 5),
        "rules": _rule_set_of(limits.rules) if limits else "limits",
        "lsl": "" if limits is None or limits.lsl is None else f"{limits.lsl:g}",
        "usl": "" if limits is None or limits.usl is None else f"{limits.usl:g}",
        "why": "",
    }
    page = render(
        request,
        "spc.html",
        nav="overview",
        machine=machine,
        feature=feature,
        feature_label=gettext(FEATURE_LABELS.get(feature, feature)),
        features=[
            {
                "key": f,
                "label": gettext(FEATURE_LABELS.get(f, f)),
                "url": _page_url(machine, feature=f, period=period),
            }
            for f in SPC_FEATURES
        ],
        periods=[
            {"key": k, "label": gettext(label), "url": _page_url(machine, feature=feature, period=k)}
            for k, label in PERIODS.items()
        ],
        period=period,
        period_start=to_datetime(start_us),
        period_end=to_datetime(end_us),
        view=view,
        points_count=len(view.points),
        chart_json=_chart_json(view),
        violations=violations[:MAX_LISTED],
        violations_total=len(violations),
        cap=cap,
        caveats=[gettext(CAVEATS.get(c, c)) for c in cap.caveats] if cap is not None else [],
        limits=limits,
        limits_at=None if limits is None else to_datetime(limits.at_us),
        baseline=None
        if limits is None
        else (to_datetime(limits.baseline_start_us), to_datetime(limits.baseline_end_us)),
        history=[
            {
                "at": to_datetime(r.at_us),
                "by": r.by,
                "why": r.why,
                "chart": r.chart,
                "center": r.center,
                "lcl": r.lcl,
                "ucl": r.ucl,
                "from": to_datetime(r.baseline_start_us),
                "to": to_datetime(r.baseline_end_us),
                "current": limits is not None and r.id == limits.id,
            }
            for r in service.history(machine.id, feature)
        ],
        can_manage=allowed(session.user.role, Permission.MANAGE_SPC),
        form={**defaults, **(form or {})},
        charts={k: gettext(v) for k, v in CHART_LABELS.items()},
        rule_sets={k: gettext(v) for k, v in RULE_SET_LABELS.items()},
        error=error,
        success=gettext(SUCCESS) if request.query_params.get("ok") == "limits" and not error else None,
        api_url=f"/api/v1/machines/{machine.id}/spc/{feature}?"
        + urlencode({"from": str(start_us), "to": str(end_us)}),
        max_why=MAX_WHY,
        **who(session),
    )
    page.status_code = status
    return page


@router.get("/presses/{machine_id}/spc", response_class=HTMLResponse, include_in_schema=False)
def spc_page(
    machine_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: ViewSession,
    feature: str | None = None,
    period: Annotated[Literal["shift", "24h", "7d"], Query()] = DEFAULT_PERIOD,
) -> HTMLResponse:
    """A feature's control chart with its zones and violations, capability, the limits and their history."""
    machine = runtime.data.machine(machine_id)  # NotFound → the error envelope
    chosen = _feature(feature) if feature is not None else SPC_FEATURES[0]
    return _spc_page(request, runtime, machine, session, chosen, period)


async def _form_fields(request: Request) -> dict[str, str]:
    """The form's text fields: checked here, so a bad value comes back as the form with a message."""
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(_form_fields)]


class _Refused(ValueError):
    """A form field cannot be used; the message is a msgid."""


def _form_number(text: str, label: str) -> float | None:
    text = text.strip().replace(",", ".")  # French keyboards type a decimal comma
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _Refused(label) from None
    if not math.isfinite(value):
        raise _Refused(label)
    return value


def _read_form(fields: dict[str, str], tz: str) -> dict[str, Any]:
    """The form's values for :meth:`SpcService.establish`, or :class:`_Refused` with what is wrong."""
    try:
        start_us = _parse_local(fields.get("from", ""), tz)
        end_us = _parse_local(fields.get("to", ""), tz)
    except ValueError:
        raise _Refused(N_("Give the start and the end of the baseline.")) from None
    if end_us <= start_us:
        raise _Refused(N_("The end of the baseline must come after its start."))
    if end_us - start_us > MAX_SPAN_US:
        raise _Refused(N_("The baseline is longer than 31 days."))
    chart = fields.get("chart", "imr")
    if chart not in CHARTS:
        raise _Refused(N_("Choose the kind of chart."))
    size = 1
    if chart == "xbar_r":
        try:
            size = int(fields.get("subgroup_size", "").strip())
        except ValueError:
            raise _Refused(N_("The subgroup size must be a whole number from 2 to 25.")) from None
        if not 2 <= size <= MAX_SUBGROUP:
            raise _Refused(N_("The subgroup size must be a whole number from 2 to 25."))
    rules = fields.get("rules", "limits")
    if rules not in RULE_SETS:
        raise _Refused(N_("Choose the rules."))
    lsl = _form_number(fields.get("lsl", ""), N_("The lower specification limit is not a number."))
    usl = _form_number(fields.get("usl", ""), N_("The upper specification limit is not a number."))
    if lsl is not None and usl is not None and lsl >= usl:
        raise _Refused(N_("The lower specification limit must be below the upper one."))
    why = fields.get("why", "").strip()
    if not why:
        raise _Refused(N_("Say why the limits are set again."))
    if len(why) > MAX_WHY:
        raise _Refused(N_("The reason is too long (500 characters at most)."))
    return {
        "start_us": start_us,
        "end_us": end_us,
        "chart": chart,
        "subgroup_size": size,
        "rules": RULE_SETS[rules],
        "lsl": lsl,
        "usl": usl,
        "why": why,
    }


@router.post("/presses/{machine_id}/spc/limits", response_class=HTMLResponse, include_in_schema=False)
def limits_submit(
    machine_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: ManageSession,
    fields: FormFields,
) -> Response:
    """Establish limits from the baseline typed; post, redirect, get back to the chart."""
    machine = runtime.data.machine(machine_id)
    gettext = translations(page_locale(request, session.user)).gettext
    feature = fields.get("feature", "")
    if feature not in SPC_FEATURES:
        feature = SPC_FEATURES[0]
    period = fields.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    form = {
        k: fields.get(k, "") for k in ("from", "to", "chart", "subgroup_size", "rules", "lsl", "usl", "why")
    }
    try:
        values = _read_form(fields, runtime.plant.site.timezone)
    except _Refused as err:
        return _spc_page(
            request,
            runtime,
            machine,
            session,
            feature,
            period,
            error=gettext(str(err)),
            form=form,
            status=422,
        )
    start_us, end_us = values.pop("start_us"), values.pop("end_us")
    try:
        _service(runtime).establish(machine.id, feature, start_us, end_us, by=session.user.name, **values)
    except CadenceError as err:
        if not isinstance(err, InvalidInput):
            raise
        problem = err.context.get("problem", "")
        try:
            reason = gettext(PROBLEMS[problem]) % err.context if problem in PROBLEMS else err.message
        except (KeyError, TypeError, ValueError):  # the context lacks a figure the sentence names
            reason = err.message
        message = gettext("These limits cannot be established: %(reason)s") % {"reason": reason}
        return _spc_page(
            request, runtime, machine, session, feature, period, error=message, form=form, status=err.status
        )
    return RedirectResponse(
        _page_url(machine, feature=feature, period=period, ok="limits") + "#chart", status_code=303
    )
