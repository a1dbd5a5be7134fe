"""Fault scenarios: the command-line grammar, the default scenario and severity progression."""

from __future__ import annotations

import itertools

import pytest
from simulator_testkit import example_plant

from cadence.errors import ConfigError
from cadence.simulator import FaultMode, FaultSpec, default_scenario, parse_scenario


def test_parse_single_and_multiple_faults() -> None:
    scenario = parse_scenario("P02=pump_leak:0.8, P03=seal_wear ,P06=valve_lag:0.3@20h+die_wear:0.2@50")
    assert scenario.faults_of("P02") == (FaultSpec(FaultMode.PUMP_LEAK, start=0.8),)
    assert scenario.faults_of("P03") == (FaultSpec(FaultMode.SEAL_WEAR),)
    assert scenario.faults_of("P06") == (
        FaultSpec(FaultMode.VALVE_LAG, start=0.3, life_h=20.0),
        FaultSpec(FaultMode.DIE_WEAR, start=0.2, life_h=50.0),
    )
    assert scenario.faults_of("P01") == ()


def test_default_then_overrides_and_healthy() -> None:
    plant = example_plant()
    scenario = parse_scenario("default,P05=cooler_fouling:0.9,P02=healthy", plant)
    assert scenario.faults_of("P05") == (FaultSpec(FaultMode.COOLER_FOULING, start=0.9),)
    assert scenario.faults_of("P02") == ()
    assert scenario.faults_of("P03") == default_scenario(plant).faults_of("P03")
    assert all(not parse_scenario("healthy", plant).faults_of(m.id) for m in plant.machines)


def test_default_scenario_mixes_healthy_and_different_faults() -> None:
    plant = example_plant()
    scenario = default_scenario(plant)
    healthy = [m.id for m in plant.machines if not scenario.faults_of(m.id)]
    modes = {spec.mode for m in plant.machines for spec in scenario.faults_of(m.id)}
    assert len(healthy) >= 2
    assert {FaultMode.PUMP_LEAK, FaultMode.SEAL_WEAR, FaultMode.COOLER_FOULING} <= modes
    # already advanced, so that a demo shows the signatures within minutes
    assert all(spec.start > 0 for m in plant.machines for spec in scenario.faults_of(m.id))
    assert "P02=pump_leak" in scenario.describe()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("P02=pump_leek", "modes: pump_leak"),
        ("P02", "expected MACHINE=MODE"),
        ("P09=seal_wear", "unknown machine 'P09'"),
        ("P02=seal_wear:1.5", "start severity must be within 0..1"),
        ("P02=seal_wear:0.5@0h", "life_h must be a positive number"),
        ("P02=seal_wear:abc", "is not MODE[:START][@LIFEh]"),
    ],
)
def test_bad_scenarios_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_scenario(text, example_plant())
    assert message in str(err.value)


def test_severity_grows_linearly_then_faster_and_reaches_one_at_end_of_life() -> None:
    spec = FaultSpec(FaultMode.PUMP_LEAK, start=0.1, life_h=100.0, onset_h=10.0)
    values = [spec.severity(h) for h in range(0, 121, 10)]
    assert values[0] == values[1] == 0.1  # nothing before the onset
    assert all(b >= a for a, b in itertools.pairwise(values))
    steps = [b - a for a, b in itertools.pairwise(values[1:])]
    assert steps[-2] > 2 * steps[0]  # exponential tail
    assert spec.severity(110.0) == pytest.approx(1.0) and spec.severity(500.0) == 1.0
    assert spec.severity(60.0, life_scale=1.25) < spec.severity(60.0)
