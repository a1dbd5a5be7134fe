"""Domain invariants that the rest of Cadence relies on."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from cadence.clock import SimClock, WallClock, from_datetime, to_datetime
from cadence.domain import (
    Area,
    IdempotencyKey,
    Line,
    Machine,
    Plant,
    SampleBlock,
    ShiftPattern,
    SignalKind,
    SignalSpec,
    Site,
)
from cadence.domain.shifts import current_shift, shifts_between


def test_signal_quantisation_round_trips_at_resolution() -> None:
    spec = SignalSpec("pressure", "bar", 500, 0.01, SignalKind.WAVEFORM)
    values = np.round(np.random.default_rng(1).uniform(0, 300, 1000), 2)
    restored = [spec.dequantise(spec.quantise(v)) for v in values]
    assert restored == values.tolist()
    with pytest.raises(ValueError, match="resolution"):
        SignalSpec("x", "bar", 1, 0)


def test_idempotency_key_bounds() -> None:
    with pytest.raises(ValueError, match="seq"):
        IdempotencyKey("gw", 0, -1)
    with pytest.raises(ValueError, match="epoch"):
        IdempotencyKey("gw", 2**63, 0)
    with pytest.raises(ValueError, match="source"):
        IdempotencyKey("", 0, 0)


def test_sample_block_shapes() -> None:
    with pytest.raises(ValueError, match="same length"):
        SampleBlock("t", np.array([1, 2], dtype=np.int64), np.array([1.0]))
    with pytest.raises(ValueError, match="at least one"):
        SampleBlock.regular("t", 0, 1, [])


def test_plant_references_are_checked() -> None:
    site = Site("s", "S")
    with pytest.raises(ValueError, match="unknown line"):
        Plant(site, (Area("a", "A"),), (Line("l", "L", "a"),), (Machine("m", "M", "zz"),))
    with pytest.raises(ValueError, match="duplicate machine"):
        Plant(
            site, (Area("a", "A"),), (Line("l", "L", "a"),), (Machine("m", "M", "l"), Machine("m", "M", "l"))
        )


def test_shifts_keep_local_time_across_daylight_saving() -> None:
    paris = ZoneInfo("Europe/Paris")
    night = ShiftPattern("nuit", time(21, 0), 8.0)
    # 2026-03-29: clocks go forward at 02:00 in Paris, the night shift lasts 8 real hours.
    start = datetime(2026, 3, 28, 12, tzinfo=paris)
    found = shifts_between([night], start, start + timedelta(days=2))
    assert [s.start.hour for s in found] == [21, 21]
    assert all(s.duration_s == 8 * 3600 for s in found)
    assert found[0].end.astimezone(paris).hour == 6  # 21:00 + 8 h across the change is 06:00 local
    assert current_shift([night], found[0].start + timedelta(hours=1)) == found[0]
    assert (
        current_shift([ShiftPattern("m", time(5), 8, frozenset({0}))], datetime(2026, 3, 29, 6, tzinfo=paris))
        is None
    )


def test_clocks() -> None:
    moment = datetime(2026, 11, 29, 7, 0, 0, 123456, tzinfo=UTC)
    assert to_datetime(from_datetime(moment)) == moment
    with pytest.raises(ValueError, match="naive"):
        from_datetime(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    sim = SimClock(start_us=10)
    sim.sleep(1.5)
    assert sim.now_us() == 1_500_010
    fast = WallClock(speed=1000)
    before = fast.now_us()
    fast.sleep(2.0)  # 2 simulated seconds = 2 ms of real time
    assert fast.now_us() - before >= 2_000_000
