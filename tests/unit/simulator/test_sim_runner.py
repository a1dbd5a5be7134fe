"""The plant runner: determinism, the wire protocol, gateway numbering, counters, clocks and robustness."""

from __future__ import annotations

import csv
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from simulator_testkit import START_US, example_plant, lean_plant, simulate

from cadence.clock import SimClock, WallClock
from cadence.domain import Batch, MachineState, Plant
from cadence.domain.cycles import OPTIONAL_FEATURES, STANDARD_FEATURES
from cadence.domain.states import DEFAULT_REASONS
from cadence.protocol import MessageKind, decode_message, parse_topic
from cadence.simulator import (
    CallbackPublisher,
    OperationConfig,
    PlantSimulator,
    Scenario,
    default_scenario,
)


def _first_messages(seed: int, count: int, start_us: int = START_US) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    plant = example_plant()
    sim = PlantSimulator(
        plant,
        CallbackPublisher(lambda t, p: out.append((t, p))),
        SimClock(start_us),
        seed,
        default_scenario(plant),
    )
    while len(out) < count:
        sim.step_until(sim.now_us + 1_000_000)
    return out[:count]


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    first = _first_messages(seed=7, count=400)
    again = _first_messages(seed=7, count=400)
    other = _first_messages(seed=8, count=400)
    assert first == again
    assert any(k.endswith("/strokes") for k, _ in first)
    assert [p for _, p in first] != [p for _, p in other]
    assert _first_messages(seed=7, count=50, start_us=START_US + 1_000_000) != first[:50]


def test_run_on_a_sim_clock_gives_the_same_messages_as_stepping() -> None:
    plant = example_plant()
    stepped = simulate(plant, seed=5, seconds=120, machines=["P01", "P06"])
    out: list[tuple[str, bytes]] = []
    clock = SimClock(START_US)
    sim = PlantSimulator(plant, CallbackPublisher(lambda t, p: out.append((t, p))), clock, 5, Scenario({}),
                         machines=["P01", "P06"])  # fmt: skip
    sim.run(duration_s=120)
    assert out == stepped.messages
    assert clock.now_us() == START_US + 120_000_000


def _validate(batch: Batch, topic: str, plant: Plant) -> None:
    machine, kind = parse_topic(topic)
    assert machine == batch.machine and plant.has_machine(machine)
    press = plant.machine(machine)
    assert batch.key.source == f"gw-{machine}"
    for block in batch.samples:
        spec = press.signal(block.signal)  # KeyError for an undeclared signal
        assert spec.min_value <= block.values.min() and block.values.max() <= spec.max_value, block.signal
        steps = block.values / spec.resolution
        assert np.abs(steps - np.rint(steps)).max() < 1e-6  # quantised to the sensor's resolution
    for stroke in batch.strokes:
        assert set(STANDARD_FEATURES) <= set(stroke.features) <= {*STANDARD_FEATURES, *OPTIONAL_FEATURES}
        assert stroke.good == (stroke.scrap_reason is None)
        assert stroke.serial == f"{machine}-{stroke.n:08d}"
        assert stroke.order and stroke.lot and stroke.material_lot and stroke.die and stroke.part
        assert stroke.waveform is not None and 100 <= len(stroke.waveform.signals["pressure"]) <= 250
    reasons = {r.code: r.state for r in DEFAULT_REASONS}
    for change in batch.states:
        assert change.reason is None or reasons[change.reason] is change.state
    expected_kind = (
        MessageKind.STROKES if batch.strokes else MessageKind.STATES if batch.states else MessageKind.SAMPLES
    )
    assert kind is expected_kind


def test_every_message_decodes_and_validates_against_the_plant() -> None:
    plant = example_plant()
    run = simulate(plant, seed=2, scenario=default_scenario(plant), seconds=600)
    batches = run.batches()
    assert len(batches) > 3000
    seqs: dict[str, list[int]] = defaultdict(list)
    epochs: dict[str, set[int]] = defaultdict(set)
    for (topic, _), batch in zip(run.messages, batches, strict=True):
        _validate(batch, topic, plant)
        seqs[batch.key.source].append(batch.key.seq)
        epochs[batch.key.source].add(batch.key.epoch)
    assert set(seqs) == {f"gw-{m.id}" for m in plant.machines}
    for source, numbers in seqs.items():
        assert numbers == list(range(len(numbers))), source  # 0, 1, 2… across all kinds
        assert len(epochs[source]) == 1
    assert len({next(iter(e)) for e in epochs.values()}) == len(epochs)  # one epoch per gateway

    # counters match what was published
    for machine, counters in run.sim.counters().items():
        mine = [b for b in batches if b.machine == machine]
        assert counters.messages == len(mine)
        assert counters.points == sum(b.points for b in mine)
        assert counters.strokes == sum(len(b.strokes) for b in mine)
        assert counters.states == sum(len(b.states) for b in mine)
        assert counters.good + counters.scrap == counters.strokes
        assert counters.bytes == sum(len(p) for _, p in run.messages if parse_topic(_)[0] == machine)
    assert run.sim.totals().messages == len(batches)


def test_waveforms_are_sampled_at_the_plant_rate_and_slow_signals_continuously() -> None:
    plant = example_plant()
    run = simulate(plant, seed=3, seconds=300, machines=["P01"])
    batches = run.batches()
    waveform_blocks = [b for batch in batches for b in batch.samples if b.signal == "pressure"]
    strokes = [s for batch in batches for s in batch.strokes]
    assert len(waveform_blocks) == len(strokes) > 20
    for block, stroke in zip(waveform_blocks, strokes, strict=True):
        steps = np.diff(block.ts_us)
        assert (steps == 2000).all()  # 500 Hz, as the plant file says
        assert block.start_us == stroke.start_us and block.end_us <= stroke.end_us
    for signal, period_us in (("oil_temp", 1_000_000), ("motor_power", 100_000)):
        ts = np.concatenate([b.ts_us for batch in batches for b in batch.samples if b.signal == signal])
        assert (np.diff(ts) == period_us).all()  # no gap, whatever the press is doing
        assert ts[-1] - ts[0] >= 299 * 1_000_000 - period_us


def test_motor_is_off_when_down_and_idles_at_a_fraction_of_rated_power_between_strokes() -> None:
    plant = lean_plant()
    config = OperationConfig(mtbf_h=0.2, mttr_h=0.1, microstops_per_h=0.0)
    run = simulate(plant, seed=4, hours=1.0, operation=config)
    batches = run.batches()
    changes = [c for b in batches for c in b.states]
    power = [b for batch in batches for b in batch.samples if b.signal == "motor_power"]
    ts = np.concatenate([b.ts_us for b in power])
    kw = np.concatenate([b.values for b in power])
    state_at = np.searchsorted([c.ts_us for c in changes], ts, side="right") - 1
    states = np.array([changes[i].state.value for i in state_at])
    down = states == MachineState.DOWN.value
    assert down.sum() > 100
    assert (kw[down] == 0.0).all()
    rated = 15.0  # P01 is a 100 t press: 15 kW motor
    running = kw[states == MachineState.RUNNING.value]
    idle_share = np.percentile(running, 10) / rated
    assert 0.2 <= idle_share <= 0.4
    assert running.max() > 0.7 * rated  # pressing draws near rated power


def test_wall_clock_paces_the_simulation_and_stop_ends_it() -> None:
    plant = example_plant()
    clock = WallClock(speed=100.0, start_us=START_US)
    out: list[str] = []
    sim = PlantSimulator(plant, CallbackPublisher(lambda t, p: out.append(t)), clock, 1, machines=["P01"])
    began, sim_began = time.monotonic(), clock.now_us()
    sim.run(duration_s=3.0)  # 3 simulated seconds at ×100: ≈ 30 ms
    elapsed = time.monotonic() - began
    assert 0.02 <= elapsed < 2.0
    assert out and sim.start_us <= sim.now_us <= sim_began + 3_000_000

    stop = threading.Event()
    runner = threading.Thread(target=sim.run, kwargs={"stop": stop})
    runner.start()
    time.sleep(0.1)
    stop.set()
    runner.join(timeout=2.0)
    assert not runner.is_alive()


def test_truth_csv_has_one_row_per_stroke(tmp_path: Path) -> None:
    plant = example_plant()
    path = tmp_path / "truth.csv"
    with PlantSimulator(
        plant,
        CallbackPublisher(lambda t, p: None),
        SimClock(START_US),
        1,
        default_scenario(plant),
        truth_csv=path,
    ) as sim:
        sim.step_until(START_US + 120_000_000)
        strokes = sim.totals().strokes
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == strokes > 0
    p02 = [r for r in rows if r["machine"] == "P02"]
    assert p02 and all(float(r["severity_pump_leak"]) >= 0.55 for r in p02)
    assert all(float(r["severity_pump_leak"]) == 0.0 for r in rows if r["machine"] == "P01")


def test_a_failing_publisher_is_counted_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    plant = example_plant()
    calls = {"n": 0}

    def flaky(topic: str, payload: bytes) -> None:
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise ConnectionError("broker gone")

    sim = PlantSimulator(plant, CallbackPublisher(flaky), SimClock(START_US), 1, machines=["P01"])
    sim.step_until(START_US + 60_000_000)
    counters = sim.counters()["P01"]
    assert counters.publish_errors == calls["n"] // 3 > 0
    assert counters.messages == calls["n"] - counters.publish_errors
    assert sum("publishing failed" in r.message for r in caplog.records) == 1  # logged once, then counted


def test_payloads_always_decode_even_for_a_bare_machine() -> None:
    """A press declaring no signal at all still publishes decodable strokes and states."""
    plant = lean_plant(signals=())
    run = simulate(plant, seed=9, seconds=120)
    batches = [decode_message(p) for _, p in run.messages]
    assert batches and all(not b.samples for b in batches)
    assert sum(len(b.strokes) for b in batches) > 5
