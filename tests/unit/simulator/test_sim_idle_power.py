"""Motor power at idle: the physics (oil viscosity, pump wear) and what the gateway reports per stroke."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from simulator_testkit import Run, lean_plant, simulate

from cadence.domain.cycles import Stroke
from cadence.simulator import OperationConfig, parse_scenario
from cadence.simulator.faults import FaultMode, condition_of, healthy_condition
from cadence.simulator.params import (
    DRAG_VISCOSITY_EXPONENT,
    LEAK_REF_C,
    PUMP_DRAG_SHARE,
    VISCOSITY_HALVING_K,
    press_params,
)
from cadence.simulator.parts import make_parts
from cadence.simulator.press import Phase, simulate_stroke
from cadence.simulator.thermal import heat_to_oil_kw

PARAMS = press_params("P01", 100, np.random.default_rng(0))


def test_idle_power_falls_as_the_oil_warms_and_rises_with_pump_wear() -> None:
    temps = [20.0, 30.0, 45.0, 60.0]
    idle = [PARAMS.idle_kw_at(t) for t in temps]
    assert idle == sorted(idle, reverse=True)
    assert 1.05 < idle[0] / idle[2] < 1.25  # cold oil costs, modestly: only the pump's drag follows it
    worn = condition_of(PARAMS, {FaultMode.PUMP_LEAK: 1.0})
    rise = PARAMS.idle_kw_at(LEAK_REF_C, worn.pump_drag) / PARAMS.idle_kw - 1
    assert 0.15 <= rise <= 0.25
    assert healthy_condition(PARAMS).pump_drag == 1.0


def test_the_extra_drag_heats_the_oil_and_strokes_pay_it_too() -> None:
    worn = condition_of(PARAMS, {FaultMode.PUMP_LEAK: 0.5})
    cold, warm = PARAMS.no_load_at(25.0, worn.pump_drag), PARAMS.no_load_kw
    at_idle = heat_to_oil_kw(PARAMS, np.array([PARAMS.idle_kw_at(25.0, worn.pump_drag)]), cold)[0]
    new_idle = heat_to_oil_kw(PARAMS, np.array([PARAMS.idle_kw]))[0]
    assert at_idle - new_idle == pytest.approx(cold - warm)  # the motor's own losses do not change
    # The stroke draws the same no-load loss: with the pump unloaded (dwell) it is the idle power.
    recipe = make_parts(PARAMS, np.random.default_rng(0))[0].recipe
    curves = simulate_stroke(PARAMS, worn, recipe, oil_temp_c=25.0)
    dwell = curves.power_true_kw[curves.phase_slice(Phase.DWELL)]
    assert dwell == pytest.approx(PARAMS.idle_kw_at(25.0, worn.pump_drag))


def _strokes(
    scenario: str, hours: float, operation: OperationConfig | None = None
) -> tuple[Run, list[Stroke]]:
    plant = lean_plant()
    run = simulate(plant, scenario=parse_scenario(scenario, plant), hours=hours, operation=operation)
    return run, [s for b in run.batches() for s in b.strokes]


def test_the_gateway_reports_idle_power_as_its_meter_reads_it() -> None:
    steady = OperationConfig(mtbf_h=1e6, microstops_per_h=0.0, order_quantity=(1_000_000, 1_000_000))
    run, strokes = _strokes("P01=healthy", 0.5, steady)
    assert "idle_power_kw" not in strokes[0].features  # nothing before the first stroke
    idle = np.array([s.features["idle_power_kw"] for s in strokes[1:]])  # every other one has its gap
    # The published motor_power samples of each gap tell the same level (another draw of the meter noise).
    blocks = [b for batch in run.batches() for b in batch.samples if b.signal == "motor_power"]
    ts = np.concatenate([b.ts_us for b in blocks])
    kw = np.concatenate([b.values for b in blocks])
    published = np.array(
        [
            np.median(kw[(ts >= prev.end_us + 300_000) & (ts < s.start_us)])
            for prev, s in itertools.pairwise(strokes)
        ]
    )
    assert abs(float(np.median(idle - published))) < 0.01
    # Healthy, steady production: constant to a few tenths of a percent, at the press's idle power.
    assert idle.std() / idle.mean() < 0.005
    oil = np.array([s.features["oil_temp_c"] for s in strokes[1:]])
    expected = PARAMS.idle_kw_at(float(oil.mean()))
    assert abs(idle.mean() / expected - 1) < 0.01


def test_idle_power_follows_the_oil_temperature_after_stops_and_rises_on_a_leaking_pump() -> None:
    # Frequent breakdowns: the oil cools while the motor is off and warms again, a range of temperatures.
    stops = OperationConfig(mtbf_h=0.4, mttr_h=0.5, microstops_per_h=0.0)
    _, strokes = _strokes("P01=healthy", 4.0, stops)
    rows = np.array(
        [
            (s.features["oil_temp_c"], s.features["idle_power_kw"])
            for s in strokes
            if "idle_power_kw" in s.features
        ]
    )
    assert np.ptp(rows[:, 0]) > 5.0
    slope = np.polyfit(rows[:, 0] - LEAK_REF_C, rows[:, 1], 1)[0]
    # d(idle)/dT of the drag law near the reference temperature
    law = -PUMP_DRAG_SHARE * PARAMS.no_load_kw * DRAG_VISCOSITY_EXPONENT * math.log(2) / VISCOSITY_HALVING_K
    assert slope == pytest.approx(law, rel=0.3)

    healthy = _strokes("P01=healthy", 0.5)[1]
    leaking = _strokes("P01=pump_leak:0.8@1000h", 0.5)[1]
    h = np.median([s.features["idle_power_kw"] for s in healthy if "idle_power_kw" in s.features])
    w = np.median([s.features["idle_power_kw"] for s in leaking if "idle_power_kw" in s.features])
    assert w > 1.08 * h  # +32 % pump drag: idle ≈ +14 % at equal oil temperature (the leak heats it a little)
