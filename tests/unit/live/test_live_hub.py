"""The live hub over real decoded batches: snapshots, shift-start counts, coalescing and isolation."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from cadence.clock import SimClock
from cadence.config import EXAMPLE_PLANT, load_settings
from cadence.domain.batch import Batch, IdempotencyKey
from cadence.domain.operator import ScrapDeclaration, StopReason
from cadence.domain.plant import Plant
from cadence.domain.signals import SignalKind
from cadence.domain.states import MachineState, StateChange
from cadence.ingest.local import LocalPublisher
from cadence.ingest.pipeline import IngestPipeline, Status
from cadence.ingest.validation import PlantValidator
from cadence.live import LiveHub
from cadence.live.subscription import SNAPSHOT, STROKE, VALUES, LiveEvent, Subscription
from cadence.plantfile import load_plant
from cadence.protocol.codec import Limits, decode_message
from cadence.runtime import open_runtime
from cadence.services.overview import shift_window, tiles
from cadence.simulator import PlantSimulator
from cadence.simulator.publish import CallbackPublisher

START_US = 1_764_403_200_000_000  # 2025-11-29T08:00:00Z, a Saturday: outside the example's shifts
MINUTE_US = 60 * 1_000_000


def _decoded_batches(minutes: int, machines: list[str] | None = None) -> list[Batch]:
    """What the simulated plant sends in ``minutes``, decoded and validated by the real pipeline code."""
    plant = load_plant(EXAMPLE_PLANT)
    receiver = _Decoder(plant)
    clock = SimClock(start_us=START_US)
    sim = PlantSimulator(
        plant, CallbackPublisher(receiver.take), clock, seed=11, machines=machines, start_us=START_US
    )
    sim.step_until(START_US + minutes * MINUTE_US)
    return receiver.batches


class _Decoder:
    """Decodes and validates each published message as ingest does, without a store."""

    def __init__(self, plant: Plant) -> None:
        self._validator = PlantValidator(plant)
        self.batches: list[Batch] = []

    def take(self, topic: str, payload: bytes) -> None:
        batch = decode_message(payload, Limits(), 0)
        self._validator.check_topic(topic, batch)
        self._validator.check(batch)
        self.batches.append(batch)


def test_snapshot_matches_what_the_store_holds(tmp_path: Path) -> None:
    clock = SimClock(start_us=START_US)
    rt = open_runtime(load_settings(data_dir=tmp_path), clock=clock)
    try:
        publisher = LocalPublisher(rt.pipeline)
        sim = PlantSimulator(rt.plant, publisher, clock, seed=3, start_us=START_US)
        sim.step_until(START_US + 10 * MINUTE_US)
        publisher.close()
        assert rt.pipeline.wait_idle(30)
        snap = rt.live.snapshot()
        machines = {m["machine"]: m for m in snap["machines"]}  # type: ignore[attr-defined]
        assert set(machines) == {m.id for m in rt.plant.machines}
        counters = sim.counters()
        summaries = {s.machine.id: s for s in rt.data.summaries(sim.now_us)}
        for machine_id, live in machines.items():
            # No shift runs on a Saturday in the example plant: every stroke is counted.
            # A Saturday: outside the shift calendar, strokes count from local midnight, as on the page.
            assert live["counted_since_us"] == shift_window(rt.plant, clock.now_us()).start_us
            assert (live["good"], live["scrap"]) == (counters[machine_id].good, counters[machine_id].scrap)
            stored_state = summaries[machine_id].state
            assert stored_state is not None
            assert live["state"]["state"] == stored_state.state.value
            assert live["state"]["since_us"] == stored_state.ts_us
            latest = {v.signal: v for v in rt.data.latest(machine_id)}
            machine = rt.plant.machine(machine_id)
            for spec in machine.signals:
                value = live["values"][spec.name]
                if spec.kind is SignalKind.WAVEFORM:
                    assert value["kind"] == "stroke_peak"
                    stroke = live["stroke"]
                    assert stroke["start_us"] <= value["ts_us"] <= stroke["end_us"] + MINUTE_US
                else:
                    assert value["kind"] == "last"
                    assert value["ts_us"] == latest[spec.name].ts_us
                    assert abs(value["value"] - latest[spec.name].value) <= spec.resolution
            stroke = live["stroke"]
            assert stroke["n"] > 0 and stroke["cycle_time_s"] > 0 and stroke["peak_pressure_bar"] > 0
            assert stroke["order"] is not None and stroke["part"] is not None
            assert live["sample_us"] == summaries[machine_id].last_us
        assert snap["sample_us"] == max(m["sample_us"] for m in machines.values())
    finally:
        rt.close()


def test_live_counts_agree_with_the_tiles_with_declared_scrap(tmp_path: Path) -> None:
    clock = SimClock(start_us=START_US)
    rt = open_runtime(load_settings(data_dir=tmp_path), clock=clock)
    try:
        publisher = LocalPublisher(rt.pipeline)
        sim = PlantSimulator(rt.plant, publisher, clock, seed=5, start_us=START_US)
        sim.step_until(START_US + 8 * MINUTE_US)
        publisher.close()
        assert rt.pipeline.wait_idle(30)
        clock.advance_to(sim.now_us)
        sub = rt.live.subscribe("P01", loop=None)
        sub.take()  # the snapshot
        small = ScrapDeclaration("P01", clock.now_us(), 3, "crack at inspection", "lea")
        huge = ScrapDeclaration("P02", clock.now_us(), 100_000, "lot refused", "lea")
        old = ScrapDeclaration("P03", START_US - 24 * 60 * MINUTE_US, 5, "yesterday's", "lea")
        for d in (small, huge, old):
            rt.store.record_scrap(d)
            rt.live.on_scrap_declared(d)
        # A stop in force now, qualified by an operator: the seed shows the operator's reason.
        stop = StateChange(clock.now_us(), MachineState.DOWN)
        rt.store.append([Batch(IdempotencyKey("test", 1, 0), "P04", states=(stop,), digest=b"stop")])
        rt.store.record_stop_reason(StopReason("P04", stop.ts_us, "breakdown.die", "lea", clock.now_us()))
        events, _ = sub.take()
        assert [e.event for e in events] == [STROKE]  # coalesced: the newest counts of P01
        assert events[0].data["scrap"] >= 3
        clock.advance_to(clock.now_us() + 1)  # the tile counts what happened before now
        shown = {t.machine.id: t for t in tiles(rt.plant, rt.store, clock.now_us())}
        seeded = LiveHub(rt.plant, lambda: shift_window(rt.plant, clock.now_us()).start_us)
        seeded.seed(rt.store, clock.now_us())
        for hub in (rt.live, seeded):
            for live in hub.snapshot()["machines"]:  # type: ignore[attr-defined]
                tile = shown[live["machine"]]
                assert (live["good"], live["scrap"]) == (tile.good, tile.scrap), live["machine"]
        assert shown["P02"].good == 0 and shown["P02"].kpi is not None
        assert shown["P02"].kpi.declared_uncounted > 0
        assert shown["P01"].kpi is not None and shown["P01"].kpi.declared_sq == 3
        p04 = seeded.snapshot("P04")["machines"][0]  # type: ignore[index]
        assert p04["state"] == {"state": "down", "reason": "breakdown.die", "since_us": stop.ts_us}
        assert shown["P04"].state is not None and shown["P04"].state.reason == "breakdown.die"
    finally:
        rt.close()


def test_counts_start_at_the_shift_start() -> None:
    batches = _decoded_batches(12, machines=["P01"])
    strokes = [s for b in batches for s in b.strokes]
    reset_us = strokes[len(strokes) // 2].start_us  # a shift that starts mid-run
    shift_start: list[int | None] = [None]
    hub = LiveHub(load_plant(EXAMPLE_PLANT), lambda: shift_start[0])
    half = len(batches) // 2
    hub.on_committed(batches[:half])
    shift_start[0] = reset_us
    hub.on_committed(batches[half:])
    live = hub.snapshot("P01")["machines"][0]  # type: ignore[index]
    later = [s for b in batches[half:] for s in b.strokes if s.end_us >= reset_us]  # counted where they end
    assert live["counted_since_us"] == reset_us
    assert (live["good"], live["scrap"]) == (sum(s.good for s in later), sum(not s.good for s in later))
    assert live["good"] + live["scrap"] < len(strokes)
    assert live["stroke"]["n"] == max(s.n for s in strokes)


def test_a_stalled_subscriber_holds_a_bounded_mailbox_and_ingest_stores_everything(tmp_path: Path) -> None:
    clock = SimClock(start_us=START_US)
    rt = open_runtime(load_settings(data_dir=tmp_path), clock=clock)
    try:
        stalled = rt.live.subscribe(None)  # outside any loop, never read
        publisher = LocalPublisher(rt.pipeline)
        sim = PlantSimulator(rt.plant, publisher, clock, seed=4, start_us=START_US)
        sim.step_until(START_US + 30 * MINUTE_US)
        publisher.close()
        assert rt.pipeline.wait_idle(60)
        totals = sim.totals()
        assert totals.messages > 3_000
        assert rt.store.stats().batches == totals.messages
        # One pending event per (kind, machine) at most, plus the snapshot.
        assert stalled.pending <= 3 * len(rt.plant.machines) + 1
        assert stalled.replaced > totals.messages // 2
        assert rt.live.batches == totals.messages
    finally:
        rt.close()


def test_a_failing_listener_never_affects_ingest(tmp_path: Path) -> None:
    rt = open_runtime(load_settings(data_dir=tmp_path), clock=SimClock(start_us=START_US))
    calls = []

    def broken(batches: object) -> None:
        calls.append(batches)
        raise RuntimeError("listener bug")

    pipeline = IngestPipeline(rt.plant, rt.store, rt.clock, on_committed=broken)
    try:
        outcomes = []
        sim = PlantSimulator(
            rt.plant,
            CallbackPublisher(lambda t, p: outcomes.append(pipeline.handle("test", p, t).result(10))),
            rt.clock,
            seed=2,
            machines=["P02"],
            start_us=START_US,
        )
        sim.step_until(START_US + 2 * MINUTE_US)
        assert outcomes and all(o.status is Status.STORED for o in outcomes)
        assert len(calls) == len(outcomes)
    finally:
        pipeline.close()
        rt.close()


def test_values_are_coalesced_and_spaced_per_machine() -> None:
    sub = Subscription("P01", None, values_interval_s=0.25, on_close=lambda s: None)
    for i in range(100):
        sub.offer(LiveEvent(VALUES, {"i": i}), "P01")
    sub.offer(LiveEvent(STROKE, {"n": 1}), "P01")
    ready, due = sub.take()
    assert [(e.event, e.data) for e in ready] == [(VALUES, {"i": 99}), (STROKE, {"n": 1})]
    assert due is None
    sub.offer(LiveEvent(VALUES, {"i": 100}), "P01")
    ready, due = sub.take()
    assert ready == [] and due is not None and 0.2 < due <= 0.25
    time.sleep(due)
    assert [e.data for e in sub.take()[0]] == [{"i": 100}]


def test_next_events_wakes_on_a_thread_offer_and_on_stop() -> None:
    hub = LiveHub(load_plant(EXAMPLE_PLANT))
    batches = _decoded_batches(1, machines=["P03"])

    async def scenario() -> tuple[list[str], float]:
        sub = hub.subscribe("P03")
        stop = asyncio.Event()
        first = await sub.next_events(stop, timeout_s=1)
        loop = asyncio.get_running_loop()
        ingest = threading.Thread(target=hub.on_committed, args=(batches,))  # as a completion thread would
        loop.call_later(0.05, ingest.start)
        live = await sub.next_events(stop, timeout_s=5)
        loop.call_later(0.05, stop.set)
        began = time.monotonic()
        while await sub.next_events(stop, timeout_s=5):
            pass
        sub.close()
        return [e.event for e in first + live], time.monotonic() - began

    names, stop_s = asyncio.run(scenario())
    assert names[0] == SNAPSHOT and len(names) > 1
    assert stop_s < 1
    assert hub.subscribers == 0
