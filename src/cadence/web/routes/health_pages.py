"""Press health on the tablet and in the JSON API: is the press wearing, which part of it, how fast, and
what to do about it (docs/guides/press-health.md).

Everything comes from :meth:`cadence.services.health.HealthService.view`, so the page, the API and the
alert on the alarms page say the same thing. Whoever sees the press sees its health (``view_plant``); the
page only links to the work-order form, which checks ``manage_work_orders`` on its own.

* ``GET /presses/{id}/health?days=`` — the page: the sentence to act on, the suspected fault and the
  labelled episodes it resembles, one card per followed subsystem (health, state word, forecast, the
  features that moved), the levels over 7, 30 or 90 days against the alert threshold and failure, the
  press's open health alarms;
* ``GET /api/v1/machines/{id}/health?days=&lang=`` — the same view as JSON (``view_json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from cadence.analytics.health.classify import Similar
from cadence.analytics.health.explain import FEATURE_NAMES, MODE_HEADS, Lang
from cadence.analytics.health.monitor import Contribution, HealthConfig
from cadence.analytics.health.subsystems import SUBSYSTEMS
from cadence.analytics.health.trend import Forecast
from cadence.auth import Permission, allowed, require
from cadence.clock import to_datetime
from cadence.domain.plant import Machine
from cadence.errors import BadRequest
from cadence.services.health import ALARM_SOURCE, HealthService, HealthView, SubsystemView, view_json
from cadence.web.deps import RuntimeDep
from cadence.web.i18n import format_number, format_percent, translations
from cadence.web.routes.pages import ViewSession, page_locale, render, who
from cadence.web.routes.workorders import FAULT_MODE_LABELS
from cadence.web.vocabulary import FEATURE_LABELS, N_

router = APIRouter()

# The page's quick choices, in days of history; the API takes any number up to MAX_DAYS.
PERIODS: dict[int, str] = {7: N_("7 days"), 30: N_("30 days"), 90: N_("90 days")}
DEFAULT_DAYS = 30
MAX_DAYS = 366
FAILURE_LEVEL = 1.0  # a level is the share of the way to functional failure (cadence.analytics.health)
MAX_ALARMS = 20

STATE_WORDS: dict[str, str] = {"ok": N_("OK"), "watch": N_("Watch"), "alert": N_("Alert")}
LEARNING = N_("Learning in progress (%(num)s strokes)")
NO_DATA = N_("No health data yet for this press: its strokes have not been read.")
HEALTHY = N_("Press in good health")
HEALTH_FIGURE = N_("Health %(pct)s")
NO_TREND = N_("No trend towards the threshold")
THRESHOLD_REACHED = N_("Threshold reached")
THRESHOLD_DAYS = N_("Threshold expected in %(days)s ± %(band)s days")
THRESHOLD_HOURS = N_("Threshold expected in %(hours)s h")
WITHIN_NOISE = N_("within its usual spread")


def _service(runtime: Any) -> HealthService:
    # The runtime's service has the monitor configuration the evaluation loop uses: a view read with
    # other settings would judge the stored state by other thresholds.
    service: HealthService = runtime.health
    return service


def _lang(locale: str) -> Lang:
    return "en" if locale == "en" else "fr"


# --- the API -------------------------------------------------------------------------------------------


@router.get(
    "/api/v1/machines/{machine_id}/health",
    tags=["machines"],
    dependencies=[require(Permission.VIEW_PLANT)],
)
def machine_health(
    machine_id: str,
    runtime: RuntimeDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="days of hourly history")] = DEFAULT_DAYS,
    lang: Annotated[Literal["fr", "en"], Query(description="language of the sentences")] = "fr",
) -> dict[str, Any]:
    """A press's health: per subsystem its level (0 healthy … 1 functional failure), evidence, alert,
    contributing features, forecast to failure and hourly history over ``days``; the suspected fault with
    the labelled episodes it resembles; the sentence to act on, in ``lang``."""
    machine = runtime.data.machine(machine_id)  # NotFound → 404
    return view_json(_service(runtime).view(machine.id, days=days, lang=lang))


# --- the page ------------------------------------------------------------------------------------------


def subsystem_label(name: str, lang: Lang) -> str:
    """A subsystem's name as a title: "Pompe", "Valves and seals".

    >>> subsystem_label("valves_seals", "fr"), subsystem_label("pump", "en")
    ('Distributeurs et joints', 'Pump')
    """
    sub = SUBSYSTEMS.get(name)
    text = name if sub is None else (sub.label_fr if lang == "fr" else sub.label_en)
    return text[:1].upper() + text[1:]


def state_of(level: float, alert: bool, alert_level: float) -> str:
    """``ok``, ``watch`` (half-way to the alert threshold or more) or ``alert`` (the monitor's alert is open).

    >>> state_of(0.05, False, 0.2), state_of(0.12, False, 0.2), state_of(0.3, True, 0.2)
    ('ok', 'watch', 'alert')
    """
    if alert:
        return "alert"
    return "watch" if level >= alert_level / 2 else "ok"


def health_share(level: float) -> float:
    """What the card shows: the share of health left, 1 − level, never below 0.

    >>> health_share(0.28), health_share(1.4)
    (0.72, 0.0)
    """
    return max(0.0, round(1.0 - level, 6))


def forecast_text(forecast: Forecast | None, locale: str, gettext: Callable[[str], str]) -> str:
    """ "Seuil attendu dans 9 ± 3 jours", in hours under a day and a half, or no trend."""
    if forecast is None:
        return gettext(NO_TREND)
    if forecast.eta_days <= 0:
        return gettext(THRESHOLD_REACHED)
    if forecast.eta_days < 1.5:
        return gettext(THRESHOLD_HOURS) % {"hours": max(1, round(forecast.eta_days * 24))}
    return gettext(THRESHOLD_DAYS) % {
        "days": round(forecast.eta_days),
        "band": max(1, round(forecast.plus_minus_days)),
    }


def change_text(c: Contribution, locale: str) -> str:
    """A feature's change, signed: a share of its baseline (+18 %) or in its unit (+4.1 °C).

    >>> change_text(Contribution("buildup_time_s", 0.184, "relative", 0.18, 40.0), "en")
    '+18%'
    >>> change_text(Contribution("oil_excess_c", 4.06, "absolute", 0.27, 9.0), "fr")
    '+4,1 °C'
    """
    if c.scale == "relative":
        text = format_percent(c.change, locale, 0)
        return text if text.startswith(("-", "−")) else f"+{text}"
    unit = FEATURE_NAMES.get(c.feature, ("", "", ""))[2]
    digits = 1 if abs(c.change) >= 0.1 else 3
    number = format_number(c.change, locale, digits)
    number = number if number.startswith(("-", "−")) else f"+{number}"
    return f"{number} {unit}".rstrip()


def _contributions(
    s: SubsystemView, significant: float, locale: str, gettext: Callable[[str], str]
) -> list[dict[str, Any]]:
    """The subsystem's watched features: the significant ones first (largest share of failure first),
    then those still within their usual spread."""
    ranked = sorted(s.health.contributions, key=lambda c: (c.evidence < significant, -c.share))
    return [
        {
            "feature": c.feature,
            "label": gettext(FEATURE_LABELS.get(c.feature, c.feature)),
            "change": change_text(c, locale),
            "significant": c.evidence >= significant,
            "worse": c.share > 0,
        }
        for c in ranked
    ]


def _order_id(reference: str) -> int | None:
    """The work order an episode comes from ("#12" → 12)."""
    text = reference.lstrip("#")
    return int(text) if text.isdigit() else None


def _similar(
    similar: tuple[Similar, ...], locale: str, gettext: Callable[[str], str]
) -> list[dict[str, Any]]:
    return [
        {
            "order": _order_id(s.episode.reference),
            "reference": s.episode.reference,
            "machine": s.episode.machine or "—",
            "fault": gettext(FAULT_MODE_LABELS[s.episode.mode])
            if s.episode.mode in FAULT_MODE_LABELS
            else s.episode.mode,
            "ended": None if s.episode.ended_us is None else to_datetime(s.episode.ended_us),
            "similarity": format_percent(max(0.0, min(1.0, s.similarity)), locale, 0),
        }
        for s in similar
    ]


def _alert_level(subsystem: str, config: HealthConfig) -> float:
    """The level at which ``subsystem`` raises its alert (the monitor's rule)."""
    return config.alert_level_of(SUBSYSTEMS[subsystem]) if subsystem in SUBSYSTEMS else config.alert_level


def _chart_json(view: HealthView, lang: Lang, config: HealthConfig) -> str:
    """What static/health.js draws: hourly times (s), each followed subsystem's level in % of failure
    (null where the hour has none) with its own alert threshold, the plant's alert threshold and failure
    in %."""
    names = [s.name for s in view.subsystems]
    data = {
        "t": [p.ts_us / 1e6 for p in view.points],
        "series": [
            {
                "name": name,
                "label": subsystem_label(name, lang),
                "alert": round(100 * _alert_level(name, config), 2),
                "values": [
                    round(100 * p.levels[name], 2)
                    if name in p.levels and math.isfinite(p.levels[name])
                    else None
                    for p in view.points
                ],
            }
            for name in names
        ],
        "alert": round(100 * config.alert_level, 2),
        "failure": round(100 * FAILURE_LEVEL, 2),
    }
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def _open_alarms(runtime: Any, machine: str, lang: Lang) -> list[dict[str, Any]]:
    found = [
        a
        for a in runtime.store.alarms(MAX_ALARMS * 5, active=True, machine=machine)
        if a.source == ALARM_SOURCE
    ]
    return [
        {
            "id": a.id,
            "subsystem": subsystem_label(a.code.removeprefix("health."), lang),
            "severity": a.severity.name.lower(),
            "message": a.text(lang),
            "raised": to_datetime(a.raised_us),
            "acked_by": a.acked_by,
        }
        for a in found[:MAX_ALARMS]
    ]


def _page_url(machine: Machine, days: int) -> str:
    return f"/presses/{machine.id}/health?{urlencode({'days': days})}"


def _new_order_url(machine: Machine, subsystem: str) -> str:
    return f"/workorders/new?{urlencode({'machine': machine.id, 'subsystem': subsystem})}"


@router.get("/presses/{machine_id}/health", response_class=HTMLResponse, include_in_schema=False)
def health_page(
    machine_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: ViewSession,
    days: int = DEFAULT_DAYS,
) -> HTMLResponse:
    """The press's health: sentence, suspected fault, one card per subsystem, levels over the period."""
    machine = runtime.data.machine(machine_id)  # NotFound → the error envelope
    if days not in PERIODS:
        raise BadRequest(f"days must be one of {', '.join(map(str, PERIODS))}", days=days)
    locale = page_locale(request, session.user)
    gettext = translations(locale).gettext
    lang = _lang(locale)
    service = _service(runtime)
    config = service.config
    view = service.view(machine.id, days=days, lang=lang)
    if view.explanation:
        headline, mood = view.explanation, "drift"
    elif view.at_us is None:
        headline, mood = gettext(NO_DATA), "empty"
    elif view.learning:
        headline, mood = gettext(LEARNING) % {"num": format_number(view.strokes, locale)}, "learning"
    else:
        headline, mood = gettext(HEALTHY), "healthy"
    ranked = sorted(view.subsystems, key=lambda s: -s.health.level)
    cards = []
    for s in ranked:
        state = state_of(s.health.level, s.health.alert, _alert_level(s.name, config))
        cards.append(
            {
                "name": s.name,
                "label": subsystem_label(s.name, lang),
                "health": format_percent(health_share(s.health.level), locale, 0),
                "state": state,
                "state_word": gettext(STATE_WORDS[state]),
                "forecast": forecast_text(s.forecast, locale, gettext),
                "has_forecast": s.forecast is not None,
                "explanation": s.explanation,
                "contributions": _contributions(s, config.significant, locale, gettext),
                "new_order_url": _new_order_url(machine, s.name),
            }
        )
    diagnosis = view.diagnosis
    suspected = None
    if diagnosis.mode is not None:
        heads = MODE_HEADS.get(diagnosis.mode)
        suspected = {
            "mode": diagnosis.mode,
            "text": diagnosis.mode if heads is None else heads[0 if lang == "fr" else 1],
            "confidence": format_percent(diagnosis.confidence, locale, 0),
        }
    # The main button opens an order on the worst subsystem when one needs watching.
    worst = ranked[0].name if ranked and cards[0]["state"] != "ok" else None
    return render(
        request,
        "health.html",
        nav="overview",
        machine=machine,
        view=view,
        headline=headline,
        mood=mood,
        suspected=suspected,
        similar=_similar(diagnosis.similar, locale, gettext),
        cards=cards,
        within_noise=gettext(WITHIN_NOISE),
        days=days,
        periods=[
            {"key": k, "label": gettext(label), "url": _page_url(machine, k)} for k, label in PERIODS.items()
        ],
        at=None if view.at_us is None else to_datetime(view.at_us),
        points_count=len(view.points),
        chart_json=_chart_json(view, lang, config),
        alert_pct=format_percent(config.alert_level, locale, 0),
        # Subsystems alerting at their own threshold get their own dashed line, named in the legend.
        own_alerts=[
            {
                "name": s.name,
                "label": subsystem_label(s.name, lang),
                "pct": format_percent(_alert_level(s.name, config), locale, 0),
            }
            for s in view.subsystems
            if _alert_level(s.name, config) != config.alert_level
        ],
        alarms=_open_alarms(runtime, machine.id, lang),
        can_order=allowed(session.user.role, Permission.MANAGE_WORK_ORDERS),
        main_order_url=_new_order_url(machine, worst) if worst else f"/workorders/new?machine={machine.id}",
        api_url=f"/api/v1/machines/{machine.id}/health?" + urlencode({"days": days, "lang": lang}),
        **who(session),
    )
