"""Operation: breakdowns at the configured MTBF, micro-stops, die changes, orders, lots and serials."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from simulator_testkit import lean_plant, simulate

from cadence.domain import MachineState, StateChange
from cadence.simulator import OperationConfig, Scenario


def _intervals(changes: list[StateChange], end_us: int) -> list[tuple[StateChange, float]]:
    """Each state change with how long it lasted (seconds)."""
    ends = [c.ts_us for c in changes[1:]] + [end_us]
    return [(c, (e - c.ts_us) / 1e6) for c, e in zip(changes, ends, strict=True)]


def test_breakdowns_and_microstops_follow_their_configured_rates() -> None:
    config = OperationConfig(
        mtbf_h=0.2, mttr_h=0.05, min_repair_s=30.0, microstops_per_h=3.0, order_quantity=(2000, 3000)
    )
    hours = 10.0
    run = simulate(lean_plant(signals=()), seed=31, scenario=Scenario({}), hours=hours, operation=config)
    changes = [c for b in run.batches() for c in b.states]
    spans = _intervals(changes, run.sim.now_us)
    running_h = sum(d for c, d in spans if c.state is MachineState.RUNNING) / 3600.0
    breakdowns = [(c, d) for c, d in spans if c.state is MachineState.DOWN]
    microstops = [(c, d) for c, d in spans if c.reason == "microstop"]

    expected = running_h / config.mtbf_h  # Poisson in running time
    assert expected > 25
    assert abs(len(breakdowns) - expected) < 3.5 * math.sqrt(expected)
    assert {c.reason for c, _ in breakdowns} <= {
        "breakdown.hydraulic",
        "breakdown.electrical",
        "breakdown.die",
    }
    assert len({c.reason for c, _ in breakdowns}) >= 2
    repair_h = np.mean([d for _, d in breakdowns[:-1]]) / 3600.0
    assert 0.5 * config.mttr_h < repair_h < 1.6 * config.mttr_h

    # micro-stops are checked after a stroke unless a breakdown is due: slightly fewer than λ·t
    expected_micro = running_h * config.microstops_per_h
    assert abs(len(microstops) - expected_micro) < 4 * math.sqrt(expected_micro)
    assert all(c.state is MachineState.IDLE and 30.0 <= d <= 300.0 + 1e-6 for c, d in microstops)


def test_orders_lots_die_changes_and_serials() -> None:
    config = OperationConfig(order_quantity=(60, 90), lot_size=25, mtbf_h=1e6, microstops_per_h=0.0)
    run = simulate(
        lean_plant(signals=("oil_temp",)), seed=32, scenario=Scenario({}), hours=1.5, operation=config
    )
    batches = run.batches()
    strokes = [s for b in batches for s in b.strokes]
    changes = [c for b in batches for c in b.states]
    orders = list(dict.fromkeys(s.order for s in strokes))
    assert len(orders) >= 3
    for order in orders[:-1]:  # every finished order made its quantity of good parts
        made = [s for s in strokes if s.order == order]
        assert 60 <= sum(s.good for s in made) <= 90
        assert len({s.die for s in made}) == len({s.part for s in made}) == 1
        lots = list(dict.fromkeys(s.lot for s in made))
        assert len(lots) == math.ceil(len(made) / 25)
        assert len({s.material_lot for s in made}) == len(lots)  # one heat number per lot
    setups = [c for c in changes if c.state is MachineState.SETUP]
    assert len(setups) == len(orders) - 1
    dies = [next(s.die for s in strokes if s.order == o) for o in orders]
    for setup, (before, after) in zip(setups, itertools.pairwise(dies), strict=False):
        assert setup.reason == ("setup.die_change" if before != after else "setup.adjustment")
    numbers = [s.n for s in strokes]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert all(s.serial == f"P01-{s.n:08d}" for s in strokes)
    # the operator's loading gap separates strokes; cycle time includes it
    pairs = [(a, b) for a, b in itertools.pairwise(strokes) if a.order == b.order]
    for a, b in pairs:
        gap_s = (b.start_us - a.end_us) / 1e6
        assert gap_s > 0.5
        assert gap_s == pytest.approx(a.features["cycle_time_s"] - a.features["stroke_time_s"], abs=1e-3)
    assert 9.0 * 0.8 < np.median([s.features["cycle_time_s"] for s in strokes]) < 9.0 * 1.2  # P01 target 9 s
