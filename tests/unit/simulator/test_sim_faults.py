"""Fault signatures over simulated hours: a faulty press against the same press healthy, same seed.

Only the published messages are used (decoded as ingest would), never the simulator's internals.
"""

from __future__ import annotations

import numpy as np
from simulator_testkit import lean_plant, simulate

from cadence.simulator import OperationConfig, Scenario, parse_scenario
from cadence.simulator.parts import judge


def _stroke_features(scenario: str, hours: float, seed: int = 21) -> dict[str, np.ndarray]:
    plant = lean_plant()
    run = simulate(
        plant, seed=seed, scenario=parse_scenario(scenario, plant), hours=hours, batch_interval_s=10
    )
    strokes = [s for b in run.batches() for s in b.strokes]
    assert len(strokes) > 100
    return {name: np.array([s.features[name] for s in strokes]) for name in strokes[0].features}


def test_pump_leak_lengthens_build_up_and_cycle_and_costs_energy() -> None:
    healthy = _stroke_features("P01=healthy", hours=1.0)
    leaking = _stroke_features("P01=pump_leak:0.7", hours=1.0)
    for name, factor in (("buildup_time_s", 1.1), ("stroke_time_s", 1.05), ("energy_kj", 1.05)):
        assert np.median(leaking[name]) > factor * np.median(healthy[name]), name
    assert np.median(leaking["cycle_time_s"]) > np.median(healthy["cycle_time_s"]) + 0.3
    assert np.median(leaking["approach_speed_mm_s"]) < 0.97 * np.median(healthy["approach_speed_mm_s"])
    assert leaking["oil_temp_c"][-20:].mean() > healthy["oil_temp_c"][-20:].mean()  # leaked flow is heat


def test_seal_wear_increases_the_dwell_pressure_decay() -> None:
    healthy = _stroke_features("P01=healthy", hours=0.5)
    worn = _stroke_features("P01=seal_wear:0.5", hours=0.5)
    assert np.median(worn["dwell_decay_bar_s"]) > 3 * np.median(healthy["dwell_decay_bar_s"])
    # a drift, not a step: progression over a (short) life makes the decay grow within the run
    drifting = _stroke_features("P01=seal_wear:0.5@1h", hours=1.0)
    quarter = len(drifting["dwell_decay_bar_s"]) // 4
    assert np.median(drifting["dwell_decay_bar_s"][-quarter:]) > 1.5 * np.median(
        drifting["dwell_decay_bar_s"][:quarter]
    )


# Steady production, no stop and no die change: the thermal signature alone.
STEADY = OperationConfig(mtbf_h=1e6, microstops_per_h=0.0, order_quantity=(1_000_000, 1_000_000))


def _oil_temperature(scenario: Scenario, hours: float) -> tuple[np.ndarray, np.ndarray]:
    run = simulate(
        lean_plant(), seed=22, scenario=scenario, hours=hours, batch_interval_s=10, operation=STEADY
    )
    blocks = [b for batch in run.batches() for b in batch.samples if b.signal == "oil_temp"]
    return np.concatenate([b.ts_us for b in blocks]) / 3.6e9, np.concatenate([b.values for b in blocks])


def test_cooler_fouling_makes_the_oil_settle_higher() -> None:
    hours = 6.0
    t, clean = _oil_temperature(Scenario({}), hours)
    _, fouled = _oil_temperature(parse_scenario("P01=cooler_fouling:0.6@1000h"), hours)
    last_hour = t > t[-1] - 1.0
    assert 40.0 < clean[last_hour].mean() < 55.0  # normal running temperature
    assert fouled[last_hour].mean() > clean[last_hour].mean() + 5.0
    # settled: the last hour moves far less than the first
    first_hour = t < t[0] + 1.0
    rise_first = np.polyfit(t[first_hour], fouled[first_hour], 1)[0]
    rise_last = np.polyfit(t[last_hour], fouled[last_hour], 1)[0]
    assert rise_first > 3.0 and abs(rise_last) < 0.3 * rise_first


def test_scrap_rises_when_the_peak_pressure_falls() -> None:
    plant = lean_plant()
    # Short orders so that several parts are made within the run: a worn pump cannot reach the set
    # pressure of the high-pressure parts in time, while low-pressure parts may still be good.
    short_orders = OperationConfig(order_quantity=(40, 60), die_change_median_min=3.0)
    rates: dict[str, float] = {}
    peaks: dict[str, float] = {}
    for scenario in ("P01=healthy", "P01=pump_leak:1.0"):
        run = simulate(
            plant, seed=23, scenario=parse_scenario(scenario, plant), hours=1.0, operation=short_orders
        )
        strokes = [s for b in run.batches() for s in b.strokes]
        parts = {p.part_number: p for p in run.sim.presses[0].parts}
        rates[scenario] = float(np.mean([not s.good for s in strokes]))
        share = [
            s.features["peak_pressure_bar"] / parts[str(s.part)].reference["peak_pressure_bar"]
            for s in strokes
        ]
        peaks[scenario] = float(np.mean(share))
        for s in strokes:  # the verdict is the part's window applied to the published features
            verdict = judge(s.features, parts[str(s.part)].window)
            assert verdict == (s.good, s.scrap_reason) or s.scrap_reason == "surface"
            if s.scrap_reason == "underformed":
                assert s.features["peak_pressure_bar"] < parts[str(s.part)].window.peak_pressure_min_bar
    assert rates["P01=healthy"] < 0.02
    assert rates["P01=pump_leak:1.0"] > max(10 * rates["P01=healthy"], 0.2)
    assert peaks["P01=pump_leak:1.0"] < peaks["P01=healthy"] - 0.03
