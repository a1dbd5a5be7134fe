"""Fault diagnosis: the built-in signatures still match the simulator's physics, and labelled episodes
teach the plant's own signatures (including what a false alarm looks like)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cadence.analytics.health.classify import SIGNATURES, Episode, classify
from cadence.analytics.health.subsystems import SUBSYSTEMS
from cadence.analytics.stroke_features import stroke_features
from cadence.simulator.faults import FaultMode, condition_of, healthy_condition
from cadence.simulator.params import press_params
from cadence.simulator.parts import make_parts
from cadence.simulator.press import simulate_stroke

WATCHES = {w.feature: w for s in SUBSYSTEMS.values() for w in s.watches}


def _direction(mode: FaultMode, machine: str, tonnage: float, part_index: int) -> dict[str, float]:
    """The worsening direction a fault gives one part at severity 0.3, in shares of failure."""
    params = press_params(machine, tonnage, np.random.default_rng(0))
    part = make_parts(params, np.random.default_rng(0))[part_index]
    healthy, faulty = healthy_condition(params), condition_of(params, {mode: 0.3})
    base = stroke_features(simulate_stroke(params, healthy, part.recipe), 45.0, 4.0)
    worn = stroke_features(simulate_stroke(params, faulty, part.recipe), 45.0, 4.0)
    # What the gateway reads between strokes: the motor turning the unloaded pump in oil at 45 °C.
    base["idle_power_kw"] = params.idle_kw_at(45.0, healthy.pump_drag)
    worn["idle_power_kw"] = params.idle_kw_at(45.0, faulty.pump_drag)
    out = {}
    for name, watch in WATCHES.items():
        if name not in base:
            continue
        change = worn[name] - base[name]
        if watch.scale == "relative":
            change /= abs(base[name])
        out[name] = max(watch.direction * change / watch.failure, 0.0)
    return out


def _cos(a: dict[str, float], b: dict[str, float]) -> float:
    names = set(a) | set(b)
    dot = sum(a.get(n, 0.0) * b.get(n, 0.0) for n in names)
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


@pytest.mark.parametrize(
    "mode", [FaultMode.PUMP_LEAK, FaultMode.SEAL_WEAR, FaultMode.VALVE_LAG, FaultMode.DIE_WEAR]
)
@pytest.mark.parametrize(("machine", "tonnage", "part"), [("P01", 100, 0), ("P03", 160, 1), ("P05", 250, 2)])
def test_builtin_signatures_match_the_simulator(
    mode: FaultMode, machine: str, tonnage: float, part: int
) -> None:
    direction = _direction(mode, machine, tonnage, part)
    best = max(_cos(direction, sig) for sig in SIGNATURES[mode.value])
    assert best > 0.9, (
        f"{mode} on {machine} part {part}: the table no longer matches the physics ({best:.2f})"
    )
    # ... and the whole vector is diagnosed as that mode, not another.
    assert classify(direction).mode == mode.value


def test_nothing_deviating_gives_no_diagnosis_and_improvements_do_not_count() -> None:
    assert classify({"buildup_time_s": 0.01}).mode is None
    assert classify({"buildup_time_s": -0.5, "energy_kj": -0.4}).mode is None


def test_shares_sum_to_one_and_rank_the_modes() -> None:
    d = classify({"dwell_decay_bar_s": 0.3, "dwell_pressure_bar": 0.1})
    assert d.mode == "seal_wear"
    assert sum(d.shares.values()) == pytest.approx(1.0)
    assert next(iter(d.shares)) == "seal_wear"
    assert d.confidence == d.shares["seal_wear"]


def test_a_labelled_episode_teaches_a_signature_the_builtins_lack() -> None:
    # This plant's accumulators lose precharge; the built-in table knows no such mode.
    vector = {"accumulator_precharge_bar": 0.4, "stroke_time_s": 0.1}
    assert classify(vector).mode != "other"
    past = [Episode("other", {"accumulator_precharge_bar": 0.5, "stroke_time_s": 0.15}, "#12", "P04", 1)]
    d = classify(vector, past)
    assert d.mode == "other"
    assert d.similar[0].episode.reference == "#12"
    assert d.similar[0].similarity > 0.99


def test_an_episode_closed_as_nothing_found_makes_the_same_pattern_look_like_a_false_alarm() -> None:
    # A tooling drift that twice turned out to be a new material supplier, not the die.
    vector = {"peak_force_kn": 0.25}
    assert classify(vector).mode == "die_wear"
    past = [Episode("none", {"peak_force_kn": 0.3}, f"#{n}", "P05", n) for n in (3, 8)]
    d = classify(vector, past)
    assert d.shares["none"] >= d.shares["die_wear"]
    assert [s.episode.reference for s in d.similar] == ["#3", "#8"]
