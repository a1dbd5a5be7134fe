"""Sentences a maintenance technician can act on, in French and English.

An explanation names the suspected fault (or the subsystem when no fault stands out), the two or three
features that moved most with how much and over how long, and when the threshold is expected — the
same facts the press health page shows, in one line for an alert and a tablet.

>>> from cadence.analytics.health.trend import Forecast
>>> eta = Forecast(9.2, 5.4, 12.9, "linear", 0.05, 120)
>>> leak = [Move("buildup_time_s", 0.18, "relative")]
>>> print(explain("pump_leak", "pump", leak, over_days=6.2, forecast=eta, lang="fr"))
Fuite interne de pompe suspectée : temps de montée en pression +18 % en 6 jours ; seuil attendu dans 9 ± 4 jours.
>>> hot = [Move("oil_excess_c", 4.1, "absolute"), Move("energy_kj", 0.031, "relative")]
>>> print(explain("cooler_fouling", "cooler", hot, over_days=6.2, forecast=None, lang="en"))
Suspected cooler fouling: oil +4.1 °C at equal load over 6 days, energy per stroke +3%; no trend towards the threshold yet.
>>> print(explain(None, "valves_seals", [Move("dwell_decay_bar_s", 2.5, "absolute")], over_days=0.4,
...               forecast=None, lang="fr"))
Dérive des distributeurs et joints : chute de pression en maintien +2,5 bar/s en 10 heures ; pas encore de tendance vers le seuil.
"""  # noqa: E501 (doctest output lines are whole sentences)

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cadence.analytics.health.trend import Forecast

Lang = Literal["fr", "en"]

# Sentence heads: the suspected fault, or the drifting subsystem when no fault stands out.
MODE_HEADS: dict[str, tuple[str, str]] = {
    "pump_leak": ("Fuite interne de pompe suspectée", "Suspected pump internal leakage"),
    "seal_wear": ("Usure des joints du vérin suspectée", "Suspected cylinder seal wear"),
    "cooler_fouling": ("Encrassement du refroidisseur suspecté", "Suspected cooler fouling"),
    "valve_lag": ("Distributeur lent suspecté", "Suspected sluggish valve"),
    "die_wear": ("Usure de l'outil suspectée", "Suspected die wear"),
    "other": ("Autre défaut suspecté", "Suspected other fault"),
    "none": ("Ressemble à une fausse alerte déjà vue", "Looks like a false alarm seen before"),
}

SUBSYSTEM_HEADS: dict[str, tuple[str, str]] = {
    "pump": ("Dérive de la pompe", "Pump drifting"),
    "valves_seals": ("Dérive des distributeurs et joints", "Valves and seals drifting"),
    "cooler": ("Dérive du refroidisseur", "Cooler drifting"),
    "accumulator": ("Dérive de l'accumulateur", "Accumulator drifting"),
    "tooling": ("Dérive de l'outillage", "Tooling drifting"),
}

# Short names of the watched features, and the unit of an absolute change.
FEATURE_NAMES: dict[str, tuple[str, str, str]] = {
    "buildup_time_s": ("temps de montée en pression", "pressure build-up time", "s"),
    "approach_speed_mm_s": ("vitesse d'approche", "approach speed", "mm/s"),
    "stroke_time_s": ("durée de course", "stroke time", "s"),
    "energy_kj": ("énergie par course", "energy per stroke", "kJ"),
    "peak_pressure_bar": ("pression maximale", "peak pressure", "bar"),
    "dwell_pressure_bar": ("pression de maintien", "dwell pressure", "bar"),
    "dwell_decay_bar_s": ("chute de pression en maintien", "dwell pressure decay", "bar/s"),
    "decompression_time_s": ("temps de décompression", "decompression time", "s"),
    "command_lag_s": ("temps de réponse du distributeur", "valve response time", "s"),
    "peak_force_kn": ("effort maximal", "peak force", "kN"),
    "bdc_position_mm": ("point mort bas", "bottom dead centre", "mm"),
    "accumulator_precharge_bar": ("précharge de l'accumulateur", "accumulator precharge", "bar"),
    "oil_excess_c": ("huile", "oil", "°C"),
    "idle_power_kw": ("puissance à vide", "idle power", "kW"),
}


@dataclass(frozen=True, slots=True)
class Move:
    """How much one feature changed: a share of its baseline ("relative") or in its unit ("absolute")."""

    feature: str
    change: float
    scale: Literal["relative", "absolute"] | str


def _number(value: float, lang: Lang, digits: int) -> str:
    text = f"{value:+.{digits}f}"
    return text.replace(".", ",") if lang == "fr" else text


def describe_move(move: Move, lang: Lang) -> str:
    """ "temps de montée en pression +18 %" / "oil +4.1 °C at equal load"."""
    fr, en, unit = FEATURE_NAMES.get(move.feature, (move.feature, move.feature, ""))
    name = fr if lang == "fr" else en
    if move.scale == "relative":
        amount = _number(100 * move.change, lang, 0)
        return f"{name} {amount} %" if lang == "fr" else f"{name} {amount}%"
    digits = 1 if abs(move.change) >= 0.1 else 3
    text = f"{name} {_number(move.change, lang, digits)} {unit}".rstrip()
    if move.feature == "oil_excess_c":
        text += " à charge égale" if lang == "fr" else " at equal load"
    return text


def _duration(days: float, lang: Lang) -> str:
    if days >= 1.5:
        n = round(days)
        return f"en {n} jours" if lang == "fr" else f"over {n} days"
    hours = max(1, round(days * 24))
    if lang == "fr":
        return f"en {hours} heure{'s' if hours > 1 else ''}"
    return f"over {hours} hour{'s' if hours > 1 else ''}"


def _forecast(forecast: Forecast | None, lang: Lang) -> str:
    if forecast is None:
        return (
            "pas encore de tendance vers le seuil" if lang == "fr" else "no trend towards the threshold yet"
        )
    if forecast.eta_days <= 0:
        return "seuil atteint" if lang == "fr" else "threshold reached"
    eta, band = round(forecast.eta_days), max(1, round(forecast.plus_minus_days))
    if forecast.eta_days < 1.5:
        hours = max(1, round(forecast.eta_days * 24))
        return f"seuil attendu dans {hours} h" if lang == "fr" else f"threshold expected in {hours} h"
    if lang == "fr":
        return f"seuil attendu dans {eta} ± {band} jours"
    return f"threshold expected in {eta} ± {band} days"


def explain(
    mode: str | None,
    subsystem: str,
    moves: Sequence[Move],
    *,
    over_days: float,
    forecast: Forecast | None,
    lang: Lang = "fr",
) -> str:
    """One sentence: suspected fault (or drifting subsystem), top moves over ``over_days``, forecast."""
    heads = MODE_HEADS.get(mode) if mode is not None else None
    if heads is None:
        heads = SUBSYSTEM_HEADS.get(subsystem, (f"Dérive : {subsystem}", f"{subsystem} drifting"))
    head = heads[0] if lang == "fr" else heads[1]
    parts = [describe_move(m, lang) for m in moves[:3]]
    if parts:
        parts[0] = f"{parts[0]} {_duration(over_days, lang)}"
    body = ", ".join(parts)
    if lang == "fr":  # French puts a space before the colon and the semicolon
        return f"{head} : {body} ; {_forecast(forecast, lang)}."
    return f"{head}: {body}; {_forecast(forecast, lang)}."
