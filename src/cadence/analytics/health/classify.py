"""Which fault a press's deviations look like: nearest signatures, built in and learned from past repairs.

A press's state is read as a vector: for every watched feature, its change as a signed share of the
change at functional failure (positive = worse; :meth:`HealthSnapshot.vector`). Each fault mode moves
these features in its own proportions — a leaking pump slows the approach and lengthens the build-up
before anything else; a worn seal lets the dwell pressure sag while the approach stays fast — so the
*direction* of the vector, not its length, says which fault it is. Directions are compared by cosine
similarity with:

* the built-in signatures (:data:`SIGNATURES`), the directions the plant simulator's physics gives for
  each mode at moderate severity, and
* every labelled episode of the plant: when a work order is closed with what was found, the vector the
  press showed becomes a signature of that mode, so diagnoses improve with the plant's own history; an
  episode closed as "nothing found" teaches what a false alarm looks like.

The answer ranks modes by their best similarity, turned into shares by a softmax (``sharpness``), and
lists the most similar past episodes — what a technician wants to read before opening the press.

Once a plant has labelled enough episodes, a linear classifier is also fitted on their directions and the
built-in ones (:func:`training_rows`; the fit runs in the learning worker, never in the web or ingest
process) and its probabilities are averaged with the similarity shares: the nearest signature says what
a vector looks like most, the classifier what separates the modes this plant has actually seen.

>>> diagnosis = classify({"buildup_time_s": 0.30, "approach_speed_mm_s": 0.25, "energy_kj": 0.28,
...                       "stroke_time_s": 0.30})
>>> diagnosis.mode, round(diagnosis.confidence, 2)
('pump_leak', 1.0)
>>> classify({"dwell_decay_bar_s": 0.3, "dwell_pressure_bar": 0.25}).mode
'seal_wear'
>>> classify({}).mode is None          # nothing deviates: nothing to diagnose
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cadence.analytics.health.subsystems import watched_features
from cadence.analytics.linear_classifier import LinearClassifier

MIN_NORM = 0.05  # a vector shorter than this (5 % of the way to failure) is too small to have a direction
SHARPNESS = 12.0  # softmax temperature on cosine similarities: 0.1 of cosine ≈ a factor 3.3 in odds

# Directions (shares of failure, any length; only the worsening parts) of each simulated fault mode at
# severity 0.3, averaged over the example plant's presses and parts. A fault can have more than one: a
# worn die deepens nothing on a part pressed to a set pressure (the bottom dead centre rises) but raises
# the force on a part pressed to a set position. Kept true by tests/unit/analytics/health/test_classify.py,
# which re-derives them from the simulator's physics.
SIGNATURES: dict[str, tuple[dict[str, float], ...]] = {
    "pump_leak": (
        {
            "idle_power_kw": 0.79,  # the worn pump's drag: idle power +5 % at severity 0.3
            "buildup_time_s": 0.70,
            "energy_kj": 0.60,  # the same drag over every stroke adds to the leaked flow's energy
            "stroke_time_s": 0.39,
            "peak_pressure_bar": 0.26,
            "approach_speed_mm_s": 0.22,
            "bdc_position_mm": 0.21,
            "dwell_pressure_bar": 0.13,
        },
    ),
    "seal_wear": ({"dwell_decay_bar_s": 0.90, "dwell_pressure_bar": 0.40},),
    "cooler_fouling": ({"oil_excess_c": 1.0},),
    "valve_lag": (
        {
            "command_lag_s": 1.18,
            "decompression_time_s": 1.21,
            "peak_force_kn": 0.25,
            "stroke_time_s": 0.23,
            "energy_kj": 0.15,
        },
    ),
    "die_wear": ({"bdc_position_mm": 1.0}, {"peak_force_kn": 0.41}),
}


# The subsystem each fault mode wears, i.e. whose alert it should raise and name.
MODE_SUBSYSTEM: dict[str, str] = {
    "pump_leak": "pump",
    "seal_wear": "valves_seals",
    "valve_lag": "valves_seals",
    "cooler_fouling": "cooler",
    "die_wear": "tooling",
}


@dataclass(frozen=True, slots=True)
class Episode:
    """A labelled past episode: what the press showed and what the technician found."""

    mode: str
    vector: Mapping[str, float]
    reference: str = ""  # e.g. the work order, for the page to link to
    machine: str | None = None
    ended_us: int | None = None


@dataclass(frozen=True, slots=True)
class Similar:
    episode: Episode
    similarity: float


@dataclass(frozen=True, slots=True)
class Diagnosis:
    mode: str | None  # None: no deviation worth a diagnosis
    confidence: float
    shares: Mapping[str, float]  # mode → share of belief, summing to 1
    similar: tuple[Similar, ...]  # the closest labelled episodes, best first


def _cosine(a: Mapping[str, float], b: Mapping[str, float], names: Sequence[str]) -> float:
    dot = sum(a.get(n, 0.0) * b.get(n, 0.0) for n in names)
    na = math.sqrt(sum(a.get(n, 0.0) ** 2 for n in names))
    nb = math.sqrt(sum(b.get(n, 0.0) ** 2 for n in names))
    if na == 0 or nb == 0:
        return 0.0
    return dot / (na * nb)


def direction(vector: Mapping[str, float]) -> dict[str, float]:
    """The worsening part of ``vector`` scaled to unit length (empty when nothing worsens)."""
    worse = {k: max(v, 0.0) for k, v in vector.items() if math.isfinite(v) and v > 0}
    norm = math.sqrt(sum(v * v for v in worse.values()))
    return {k: v / norm for k, v in worse.items()} if norm > 0 else {}


def training_rows(
    episodes: Iterable[Episode], builtin: Mapping[str, Sequence[Mapping[str, float]]] = SIGNATURES
) -> tuple[list[str], list[list[float]], list[str]]:
    """Feature names, rows (unit directions) and labels to fit a classifier of directions on: every
    labelled episode, and every built-in signature so that modes the plant has not met yet stay known.

    >>> names, rows, labels = training_rows([Episode("none", {"peak_force_kn": 0.3})])
    >>> len(rows) == len(labels) == 1 + sum(len(s) for s in SIGNATURES.values()), labels[-1]
    (True, 'none')
    >>> round(sum(v * v for v in rows[-1]), 6)
    1.0
    """
    pairs = [(mode, direction(sig)) for mode, sigs in builtin.items() for sig in sigs]
    pairs += [(e.mode, direction(e.vector)) for e in episodes]
    pairs = [(mode, d) for mode, d in pairs if d]
    names = list(dict.fromkeys([*watched_features(), *(k for _, d in pairs for k in d)]))
    return names, [[d.get(n, 0.0) for n in names] for _, d in pairs], [mode for mode, _ in pairs]


def classify(
    vector: Mapping[str, float],
    episodes: Iterable[Episode] = (),
    *,
    builtin: Mapping[str, Sequence[Mapping[str, float]]] = SIGNATURES,
    sharpness: float = SHARPNESS,
    similar: int = 3,
    model: LinearClassifier | None = None,
) -> Diagnosis:
    """The fault mode ``vector`` looks most like, with the closest labelled ``episodes``; with a
    ``model`` fitted on :func:`training_rows`, its probabilities averaged in."""
    names = tuple(dict.fromkeys([*watched_features(), *vector]))
    # Improvements (negative shares) carry no fault direction; they would only blur the comparison.
    worse = {k: max(v, 0.0) for k, v in vector.items() if math.isfinite(v)}
    if math.sqrt(sum(v * v for v in worse.values())) < MIN_NORM:
        return Diagnosis(None, 0.0, {}, ())
    best: dict[str, float] = {
        mode: max(_cosine(worse, sig, names) for sig in signatures) for mode, signatures in builtin.items()
    }
    scored: list[Similar] = []
    for episode in episodes:
        cos = _cosine(worse, {k: max(v, 0.0) for k, v in episode.vector.items()}, names)
        scored.append(Similar(episode, cos))
        best[episode.mode] = max(best.get(episode.mode, -1.0), cos)
    top = max(best.values())
    weights = {mode: math.exp(sharpness * (cos - top)) for mode, cos in best.items()}
    total = sum(weights.values())
    blended = {mode: w / total for mode, w in weights.items()}
    if model is not None:
        unit = direction(worse)
        learned = model.predict_proba({name: unit.get(name, 0.0) for name in model.features})
        modes = set(blended) | {str(c) for c in learned}
        blended = {m: 0.5 * blended.get(m, 0.0) + 0.5 * learned.get(m, 0.0) for m in modes}
    shares = dict(sorted(blended.items(), key=lambda kv: -kv[1]))
    mode = next(iter(shares))
    scored.sort(key=lambda s: -s.similarity)
    return Diagnosis(mode, shares[mode], shares, tuple(scored[:similar]))
