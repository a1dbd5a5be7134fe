"""The runtime factory: wiring from settings, and the retention pass it runs in the background."""

from __future__ import annotations

import time
from pathlib import Path

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain import Batch, IdempotencyKey, SampleBlock
from cadence.ports import Resolution
from cadence.runtime import open_runtime

DAY_US = 86_400_000_000
T0 = 1_764_403_200_000_000


def test_retention_runs_in_the_background_on_the_runtime_clock(tmp_path: Path) -> None:
    clock = SimClock(start_us=T0)
    settings = load_settings(data_dir=tmp_path, retention_interval_s=0.05, retention_raw_waveform_days=1)
    runtime = open_runtime(settings, clock=clock)
    try:
        old = SampleBlock.regular("pressure", T0, 2_000, [100.0, 101.0, 102.0])
        recent = SampleBlock.regular("pressure", T0 + 3 * DAY_US, 2_000, [50.0])
        runtime.store.append(
            [
                Batch(IdempotencyKey("gw", 1, 0), "P01", samples=(old,), digest=b"a"),
                Batch(IdempotencyKey("gw", 1, 1), "P01", samples=(recent,), digest=b"b"),
            ]
        )
        # Same group: one chunk holds both; a second batch alone gets its own chunk.
        runtime.store.append([Batch(IdempotencyKey("gw", 1, 2), "P01", samples=(old,), digest=b"c")])
        clock.advance_to(T0 + 3 * DAY_US)
        runtime.start_maintenance()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            raw = runtime.store.series("P01", "pressure", 0, T0 + 4 * DAY_US, Resolution.RAW)
            if len(raw) == 1:
                break
            time.sleep(0.05)
        assert raw.values.tolist() == [50.0]
    finally:
        runtime.close()


def test_a_restarted_server_keeps_the_shift_counts_and_states(tmp_path: Path) -> None:
    from cadence.ingest.local import LocalPublisher
    from cadence.simulator import PlantSimulator

    clock = SimClock(start_us=T0)
    settings = load_settings(data_dir=tmp_path)
    first = open_runtime(settings, clock=clock)
    publisher = LocalPublisher(first.pipeline)
    PlantSimulator(first.plant, publisher, clock, seed=2, machines=["P01"], start_us=T0).step_until(
        T0 + 180 * 1_000_000
    )
    publisher.close()
    clock.advance_to(T0 + 180 * 1_000_000)
    before = first.live.snapshot("P01")
    first.close()

    again = open_runtime(settings, clock=clock)
    try:
        after = again.live.snapshot("P01")
        machine = after["machines"][0]  # type: ignore[index]
        was = before["machines"][0]  # type: ignore[index]
        assert machine["good"] + machine["scrap"] >= 1
        assert (machine["good"], machine["scrap"]) == (was["good"], was["scrap"])
        assert machine["state"]["state"] == was["state"]["state"]
    finally:
        again.close()
