"""One stroke: phases in the curves, sensors, features measured from the curves, physical fault effects."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cadence.analytics.stroke_features import stroke_features
from cadence.domain.cycles import STANDARD_FEATURES
from cadence.simulator.faults import FaultMode, condition_of, healthy_condition
from cadence.simulator.params import LEAK_REF_C, PressParams, press_params
from cadence.simulator.parts import BDC_TOLERANCE_MM, MATERIAL_SD, PartSpec, judge, make_parts
from cadence.simulator.press import Phase, StopMode, simulate_stroke
from cadence.simulator.thermal import OilThermal


def _press(tonnage: float = 100.0, seed: int = 3) -> tuple[PressParams, tuple[PartSpec, ...]]:
    params = press_params("P01", tonnage, np.random.default_rng(seed))
    return params, make_parts(params, np.random.default_rng(seed + 1))


@pytest.mark.parametrize("tonnage", [63, 100, 250])
def test_position_goes_down_then_up_and_pressure_peaks_while_pressing(tonnage: float) -> None:
    params, parts = _press(tonnage)
    for part in parts:
        curves = simulate_stroke(params, healthy_condition(params), part.recipe)  # no noise: the shape itself
        x, p = curves.position_mm, curves.pressure_bar
        bottom = int(np.argmax(x))
        assert abs(x[0]) < 0.05 and abs(x[-1]) < 0.05  # starts and ends at top dead centre
        assert x[bottom] > 200.0
        assert np.diff(x[:bottom]).min() >= 0.0  # going down
        assert np.diff(x[bottom:]).max() <= 0.0  # then back up
        peak = int(np.argmax(p))
        starts = curves.phase_starts
        assert starts == tuple(sorted(starts)) and len(set(starts)) == len(Phase)  # every phase present
        assert starts[Phase.PRESSING] < peak <= starts[Phase.DWELL]
        assert x[peak] > x[bottom] - 0.5  # the peak is at the bottom of the stroke
        assert p[curves.phase_slice(Phase.APPROACH)].max() < 0.2 * p[peak]
        assert p[curves.phase_slice(Phase.RETURN)].max() < 5.0  # cap side back to tank


def test_sensors_add_noise_and_quantise_to_the_signal_resolution() -> None:
    params, parts = _press()
    clean = simulate_stroke(params, healthy_condition(params), parts[0].recipe)
    noisy_a = simulate_stroke(
        params, healthy_condition(params), parts[0].recipe, rng=np.random.default_rng(1)
    )
    noisy_b = simulate_stroke(
        params, healthy_condition(params), parts[0].recipe, rng=np.random.default_rng(2)
    )
    for curves in (clean, noisy_a):
        for values, steps_per_unit in (
            (curves.pressure_bar, 100),
            (curves.force_kn, 10),
            (curves.position_mm, 100),
        ):
            steps = values * steps_per_unit
            assert np.abs(steps - np.rint(steps)).max() < 1e-6
    assert not np.array_equal(noisy_a.pressure_bar, noisy_b.pressure_bar)
    residual = noisy_a.pressure_bar - clean.pressure_bar
    assert 0.2 < residual.std() < 0.8  # ≈ 0.1 % of the 0-400 bar full scale
    dwell = clean.pressure_bar[clean.phase_slice(Phase.DWELL)]
    assert dwell[0] > dwell[-1]  # without noise the dwell decay is plain


def test_features_come_from_the_curves() -> None:
    params, parts = _press()
    curves = simulate_stroke(params, healthy_condition(params), parts[0].recipe, rng=np.random.default_rng(5))
    features = stroke_features(curves, oil_temp_c=47.5, gap_s=3.0)
    assert tuple(features) == STANDARD_FEATURES
    assert features["peak_pressure_bar"] == pytest.approx(curves.pressure_bar.max())
    assert features["peak_force_kn"] == pytest.approx(curves.force_kn.max())
    assert features["stroke_time_s"] == pytest.approx(curves.duration_us / 1e6, abs=1e-4)
    assert features["cycle_time_s"] == pytest.approx(curves.duration_us / 1e6 + 3.0, abs=1e-4)
    assert features["energy_kj"] == pytest.approx(np.trapezoid(curves.power_kw, dx=0.002), rel=1e-3)
    assert features["oil_temp_c"] == 47.5
    assert 100 < features["approach_speed_mm_s"] < 500 and 100 < features["return_speed_mm_s"] < 400
    assert 0.1 < features["decompression_time_s"] < 0.5
    assert 0.0 < features["buildup_time_s"] < features["stroke_time_s"]
    # Change the curve, the feature follows: nothing is copied from the parameters.
    halved = replace(curves, pressure_bar=curves.pressure_bar / 2)
    assert stroke_features(halved, 47.5, 3.0)["peak_pressure_bar"] == pytest.approx(
        features["peak_pressure_bar"] / 2
    )


def _mean_features(
    params: PressParams, part: PartSpec, severities: dict[FaultMode, float], n: int = 8
) -> dict[str, float]:
    condition = condition_of(params, severities)
    rng = np.random.default_rng(11)
    rows = [
        stroke_features(simulate_stroke(params, condition, part.recipe, rng=rng), 45.0, 3.0) for _ in range(n)
    ]
    return {k: float(np.mean([r[k] for r in rows])) for k in STANDARD_FEATURES}


def test_pump_leak_slows_the_press_and_costs_energy() -> None:
    params, parts = _press()
    healthy = _mean_features(params, parts[0], {})
    leaking = _mean_features(params, parts[0], {FaultMode.PUMP_LEAK: 0.7})
    assert leaking["buildup_time_s"] > 1.1 * healthy["buildup_time_s"]
    assert leaking["stroke_time_s"] > healthy["stroke_time_s"] + 0.2
    assert leaking["approach_speed_mm_s"] < 0.97 * healthy["approach_speed_mm_s"]
    assert leaking["energy_kj"] > 1.05 * healthy["energy_kj"]


def test_dwell_decay_follows_the_seal_bypass_time_constant() -> None:
    params, parts = _press()
    part = parts[0]
    decays = []
    for severity in (0.0, 0.4, 0.8):
        condition = condition_of(params, {FaultMode.SEAL_WEAR: severity})
        features = _mean_features(params, part, {FaultMode.SEAL_WEAR: severity})
        measured, peak = features["dwell_decay_bar_s"], features["peak_pressure_bar"]
        tau = condition.truth(params)["dwell_tau_s"]
        dwell = part.recipe.dwell_s
        expected = peak * -np.expm1(-dwell / tau) / dwell  # mean slope of p₀·exp(−t/τ) over the dwell
        assert measured == pytest.approx(expected, rel=0.15)
        decays.append(measured)
    assert decays[0] < decays[1] < decays[2]
    assert decays[2] > 5 * decays[0]


def test_valve_lag_overshoots_and_die_wear_needs_more_force() -> None:
    params, parts = _press()
    pressure_part = next(p for p in parts if p.recipe.stop is StopMode.PRESSURE)
    position_part = next(p for p in parts if p.recipe.stop is StopMode.POSITION)
    lag = [
        _mean_features(params, pressure_part, {FaultMode.VALVE_LAG: s})["peak_pressure_bar"]
        for s in (0, 0.5, 1)
    ]
    assert lag[0] < lag[1] < lag[2]
    worn = [
        _mean_features(params, position_part, {FaultMode.DIE_WEAR: s})["peak_force_kn"] for s in (0, 0.5, 1)
    ]
    assert worn[0] < worn[1] < worn[2]
    bdc = [_mean_features(params, pressure_part, {FaultMode.DIE_WEAR: s})["bdc_position_mm"] for s in (0, 1)]
    assert bdc[1] < bdc[0] - 0.1  # pressure stop: the same pressure forms less deep


def test_oil_settles_higher_with_a_fouled_cooler() -> None:
    params, _ = _press()
    clean, fouled = OilThermal(params, 30.0), OilThermal(params, 30.0)
    for _ in range(48):  # 48 h in 1 h steps
        clean.step(3600.0, 3.0, cooler_effectiveness=0.6)
        fouled.step(3600.0, 3.0, cooler_effectiveness=0.1)
    assert clean.temp_c == pytest.approx(clean.equilibrium_c(3.0, 0.6), abs=0.01)
    assert fouled.temp_c == pytest.approx(fouled.equilibrium_c(3.0, 0.1), abs=0.01)
    assert 40.0 < clean.temp_c < 55.0 < fouled.temp_c


def test_a_press_that_cannot_reach_its_set_pressure_times_out() -> None:
    params, parts = _press()
    stall = condition_of(params, {FaultMode.PUMP_LEAK: 1.0, FaultMode.SEAL_WEAR: 1.0})
    part = parts[0]
    curves = simulate_stroke(params, stall, part.recipe, oil_temp_c=65.0)
    assert curves.timed_out
    assert curves.pressure_bar.max() < part.window.peak_pressure_min_bar


def test_taught_parts_are_capable_against_the_heats_of_material() -> None:
    # Three standard deviations of material either side stay inside the window on a healthy press (Cpk
    # 1.33 leaves one more), on every part of a dozen seeded presses; some of them are deep soft parts
    # whose formed height would leave ±0.25 mm on such heats, so their tolerance had to be widened.
    widened = 0
    for seed in range(12):
        params = press_params(f"P{seed:02d}", 100.0, np.random.default_rng(seed))
        for part in make_parts(params, np.random.default_rng(seed)):
            window = part.window
            tolerance = (window.bdc_max_mm - window.bdc_min_mm) / 2
            widened += tolerance > BDC_TOLERANCE_MM + 1e-9
            for sign in (-1, 1):
                curves = simulate_stroke(
                    params, healthy_condition(params), part.recipe, material=1 + sign * 3 * MATERIAL_SD
                )
                ok, reason = judge(stroke_features(curves, oil_temp_c=LEAK_REF_C, gap_s=0.0), window)
                assert ok, (part.part_number, sign, reason)
    assert widened >= 3
