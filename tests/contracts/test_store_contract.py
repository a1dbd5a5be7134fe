"""The TimeSeriesStore contract, run against every backend registered in ``cadence.stores``.

Each backend provides ``for_tests(tmp_path, **options)``: a context manager yielding a store whose file
lives in ``tmp_path`` (the same file each time, so that reopening sees the data) and accepting at least
``max_backlog``. Nothing here knows which backend it is testing (STYLE.md §4).
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import replace
from itertools import count
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.clock import from_datetime
from cadence.domain import (
    Alarm,
    AlarmState,
    Batch,
    IdempotencyKey,
    MachineState,
    SampleBlock,
    Severity,
    SignalKind,
    SignalSpec,
    StateChange,
    Stroke,
    Waveform,
)
from cadence.domain.operator import LogbookNote, OrderEvent, OrderKind, ScrapDeclaration, StopReason
from cadence.domain.workorders import WorkOrder, WorkOrderEvent, WorkOrderEventKind, WorkOrderStatus
from cadence.errors import NotFound, StoreBacklogFull, StoreClosed, StoreError, WorkOrderConflict
from cadence.plugins import discover_stores
from cadence.ports import (
    AppendOutcome,
    HealthPoint,
    HealthProgress,
    KpiDayPool,
    KpiRollup,
    LabelledEpisode,
    QuarantineItem,
    Resolution,
    RetentionPolicy,
    SeriesData,
    SpcLimitsRecord,
    SpcProgress,
    TimeSeriesStore,
    sum_rollups,
)

T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z, in µs
MINUTE_US = 60_000_000
HOUR_US = 3_600_000_000
DAY_US = 86_400_000_000
FAR_FUTURE_US = T0 + 100 * 366 * DAY_US

PRESSURE = SignalSpec("pressure", "bar", sampling_hz=500, resolution=0.01, kind=SignalKind.WAVEFORM)
OIL_TEMP = SignalSpec("oil_temp", "°C", sampling_hz=1, resolution=0.1, kind=SignalKind.SLOW)
POSITION = SignalSpec("position", "mm", sampling_hz=500, resolution=0.25, kind=SignalKind.WAVEFORM)
SIGNALS = (PRESSURE, OIL_TEMP, POSITION)

BACKENDS = discover_stores()


@pytest.fixture(params=sorted(BACKENDS), ids=str)
def backend(request: pytest.FixtureRequest) -> type:
    cls: type = BACKENDS[request.param]
    return cls


@pytest.fixture
def store(backend: Any, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    with backend.for_tests(tmp_path) as opened:
        assert isinstance(opened, TimeSeriesStore)
        opened.register_signals("P01", SIGNALS)
        opened.register_signals("P02", SIGNALS)
        yield opened


# --- builders ------------------------------------------------------------------------------------------

_seq = count()


def digest_of(machine: str, blocks: Sequence[SampleBlock], extra: str = "") -> bytes:
    """A content hash standing in for the one ingest computes over the canonical payload."""
    h = hashlib.sha256(machine.encode())
    for block in blocks:
        h.update(block.signal.encode())
        h.update(block.ts_us.tobytes())
        h.update(block.values.tobytes())
    h.update(extra.encode())
    return h.digest()


def make_batch(
    blocks: Sequence[SampleBlock] = (),
    *,
    machine: str = "P01",
    key: IdempotencyKey | None = None,
    strokes: Sequence[Stroke] = (),
    states: Sequence[StateChange] = (),
    received_us: int = T0,
) -> Batch:
    key = key or IdempotencyKey("gw-test", 1, next(_seq))
    extra = repr([(s.machine, s.start_us) for s in strokes]) + repr(states)
    return Batch(
        key,
        machine,
        samples=tuple(blocks),
        strokes=tuple(strokes),
        states=tuple(states),
        digest=digest_of(machine, blocks, extra),
        received_us=received_us,
    )


def at_resolution(
    rng: np.random.Generator, n: int, resolution_steps: float, centre: float = 100.0
) -> np.ndarray:
    """Values already on the resolution grid, written the way a person would (round to its decimals)."""
    decimals = {0.01: 2, 0.1: 1, 0.25: 2}[resolution_steps]
    steps = np.rint((centre + rng.normal(0, 20, n)) / resolution_steps)
    return np.array([round(s * resolution_steps, decimals) for s in steps])


def raw(store: TimeSeriesStore, signal: str, machine: str = "P01") -> SeriesData:
    return store.series(machine, signal, -FAR_FUTURE_US, FAR_FUTURE_US)


def assert_series_equal(a: SeriesData, b: SeriesData) -> None:
    assert np.array_equal(a.ts_us, b.ts_us)
    assert np.array_equal(a.values, b.values)
    for left, right in ((a.minimum, b.minimum), (a.maximum, b.maximum), (a.count, b.count)):
        assert (left is None) == (right is None)
        if left is not None and right is not None:
            assert np.array_equal(left, right)


# --- samples -------------------------------------------------------------------------------------------


def test_samples_round_trip_exactly_at_resolution(store: TimeSeriesStore) -> None:
    rng = np.random.default_rng(1)
    pressure = at_resolution(rng, 5_000, 0.01)
    temp = at_resolution(rng, 300, 0.1, centre=45.0)
    position = at_resolution(rng, 5_000, 0.25)
    blocks = [
        SampleBlock.regular("pressure", T0, 2_000, pressure),
        SampleBlock.regular("oil_temp", T0 + 17, 1_000_000, temp),
        SampleBlock.regular("position", T0 + 1, 2_000, position),
    ]
    assert store.append([make_batch(blocks)]) == [AppendOutcome.STORED]

    for block in blocks:
        got = raw(store, block.signal)
        assert got.resolution is Resolution.RAW
        assert got.ts_us.dtype == np.int64 and got.values.dtype == np.float64
        assert np.array_equal(got.ts_us, block.ts_us)
        assert np.array_equal(got.values, block.values)  # bit for bit, not approximately


def test_values_are_rounded_to_the_signal_resolution(store: TimeSeriesStore) -> None:
    block = SampleBlock.irregular("pressure", [T0, T0 + 1, T0 + 2], [231.456, -0.004, 12.3449])
    store.append([make_batch([block])])
    assert raw(store, "pressure").values.tolist() == [231.46, -0.0, 12.34]


def test_range_reads_are_half_open(store: TimeSeriesStore) -> None:
    block = SampleBlock.regular("oil_temp", T0, 1_000_000, np.arange(10) / 10)
    store.append([make_batch([block])])
    got = store.series("P01", "oil_temp", T0 + 2_000_000, T0 + 5_000_000)
    assert got.ts_us.tolist() == [T0 + 2_000_000, T0 + 3_000_000, T0 + 4_000_000]
    assert got.values.tolist() == [0.2, 0.3, 0.4]
    assert len(store.series("P01", "oil_temp", T0 + 20_000_000, T0 + 30_000_000)) == 0
    assert len(store.series("P01", "no_such_signal", T0, T0 + 10**9)) == 0
    assert len(store.series("P02", "oil_temp", T0, T0 + 10**9)) == 0  # another machine's series


def test_out_of_order_batches_and_unsorted_blocks_read_sorted(store: TimeSeriesStore) -> None:
    rng = np.random.default_rng(2)
    ts = T0 + np.arange(3_000, dtype=np.int64) * 2_000
    values = at_resolution(rng, 3_000, 0.01)
    order = rng.permutation(3_000)
    pieces = np.array_split(order, 12)  # each batch holds a random, unsorted subset of timestamps
    batches = [make_batch([SampleBlock("pressure", ts[p], values[p])]) for p in pieces]
    random.Random(3).shuffle(batches)
    for batch in batches:
        assert store.append([batch]) == [AppendOutcome.STORED]
    got = raw(store, "pressure")
    assert np.array_equal(got.ts_us, ts)
    assert np.array_equal(got.values, values)


def test_utc_microsecond_timestamps_are_kept_exactly(store: TimeSeriesStore) -> None:
    from datetime import UTC, datetime

    instants = [
        from_datetime(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),  # before the epoch
        from_datetime(datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC)),
        from_datetime(datetime(2026, 3, 29, 1, 30, 0, 123_457, tzinfo=UTC)),  # Paris DST change night
        from_datetime(datetime(2099, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    ]
    block = SampleBlock.irregular("oil_temp", instants, [1.0, 2.0, 3.0, 4.0])
    stroke = Stroke("P01", n=1, start_us=instants[1], end_us=instants[2], good=True)
    state = StateChange(instants[2], MachineState.RUNNING)
    store.append([make_batch([block], strokes=[stroke], states=[state])])

    assert raw(store, "oil_temp").ts_us.tolist() == instants
    assert store.strokes("P01", instants[1], instants[1] + 1)[0].end_us == instants[2]
    assert store.states("P01", instants[2], instants[2] + 1) == [state]
    assert [v.ts_us for v in store.latest("P01")] == [instants[3]]


# --- idempotency ---------------------------------------------------------------------------------------


def test_the_same_batch_twice_is_stored_once(store: TimeSeriesStore) -> None:
    rng = np.random.default_rng(4)
    block = SampleBlock.regular("pressure", T0, 2_000, at_resolution(rng, 2_000, 0.01))
    stroke = Stroke("P01", n=7, start_us=T0, end_us=T0 + 4_000_000, good=True, features={"peak": 1.5})
    batch = make_batch([block], strokes=[stroke], states=[StateChange(T0, MachineState.RUNNING)])
    assert store.append([batch]) == [AppendOutcome.STORED]
    before = (store.stats(), raw(store, "pressure"), _rollups(store, "pressure"))

    assert store.append([batch]) == [AppendOutcome.DUPLICATE]
    assert store.append([batch, batch]) == [AppendOutcome.DUPLICATE, AppendOutcome.DUPLICATE]
    after = (store.stats(), raw(store, "pressure"), _rollups(store, "pressure"))

    assert _counts(after[0]) == _counts(before[0])
    assert_series_equal(after[1], before[1])
    for a, b in zip(after[2], before[2], strict=True):
        assert_series_equal(a, b)


def test_a_replay_within_one_call_is_stored_once(store: TimeSeriesStore) -> None:
    batch = make_batch([SampleBlock.regular("oil_temp", T0, 1_000_000, [1.0, 2.0])])
    assert store.append([batch, batch]) == [AppendOutcome.STORED, AppendOutcome.DUPLICATE]
    assert len(raw(store, "oil_temp")) == 2
    assert store.stats().batches == 1


def test_same_key_with_other_content_is_a_conflict_and_writes_nothing(store: TimeSeriesStore) -> None:
    key = IdempotencyKey("gw-7", epoch=2**63 - 1, seq=2**63 - 1)  # the largest key is accepted too
    first = make_batch([SampleBlock.regular("oil_temp", T0, 1_000_000, [1.0, 2.0])], key=key)
    other = make_batch([SampleBlock.regular("oil_temp", T0 + 10**9, 1_000_000, [9.0])], key=key)
    assert first.digest != other.digest
    assert store.append([first]) == [AppendOutcome.STORED]
    assert store.append([other]) == [AppendOutcome.CONFLICT]
    got = raw(store, "oil_temp")
    assert got.values.tolist() == [1.0, 2.0]
    assert store.stats().batches == 1


def test_keys_differ_by_source_epoch_and_seq(store: TimeSeriesStore) -> None:
    keys = [
        IdempotencyKey("a", 1, 1),
        IdempotencyKey("b", 1, 1),
        IdempotencyKey("a", 2, 1),
        IdempotencyKey("a", 1, 2),
    ]
    batches = [
        make_batch([SampleBlock.regular("oil_temp", T0 + i * 10**6, 1, [float(i)])], key=k)
        for i, k in enumerate(keys)
    ]
    assert store.append(batches) == [AppendOutcome.STORED] * 4
    assert raw(store, "oil_temp").values.tolist() == [0.0, 1.0, 2.0, 3.0]


# --- rollups -------------------------------------------------------------------------------------------

_machines = count()


def _rollups(store: TimeSeriesStore, signal: str, machine: str = "P01") -> tuple[SeriesData, SeriesData]:
    return (
        store.series(machine, signal, -FAR_FUTURE_US, FAR_FUTURE_US, Resolution.MINUTE),
        store.series(machine, signal, -FAR_FUTURE_US, FAR_FUTURE_US, Resolution.HOUR),
    )


def _expected_rollup(
    ts: np.ndarray, values: np.ndarray, width: int
) -> dict[int, tuple[int, float, float, float]]:
    buckets = (ts // width) * width
    out: dict[int, tuple[int, float, float, float]] = {}
    for b in np.unique(buckets):
        v = values[buckets == b]
        out[int(b)] = (len(v), float(v.mean()), float(v.min()), float(v.max()))
    return out


def _check_rollup(got: SeriesData, expected: dict[int, tuple[int, float, float, float]]) -> None:
    assert got.count is not None and got.minimum is not None and got.maximum is not None
    assert got.ts_us.tolist() == sorted(expected)
    for i, bucket in enumerate(got.ts_us.tolist()):
        n, mean, lo, hi = expected[bucket]
        assert int(got.count[i]) == n
        assert got.minimum[i] == lo and got.maximum[i] == hi
        assert got.values[i] == pytest.approx(mean, rel=1e-12, abs=1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    offsets=st.lists(st.integers(-3 * HOUR_US, 5 * HOUR_US), min_size=1, max_size=300, unique=True),
    data=st.data(),
)
def test_rollups_equal_a_recomputation_from_raw(
    store: TimeSeriesStore, offsets: list[int], data: Any
) -> None:
    machine = f"M{next(_machines)}"  # one fresh machine per example: examples share the store
    store.register_signals(machine, [OIL_TEMP])
    ts = T0 + np.array(offsets, dtype=np.int64)
    steps = data.draw(st.lists(st.integers(-5_000, 5_000), min_size=len(ts), max_size=len(ts)))
    values = np.array([round(s * 0.1, 1) for s in steps])
    n_batches = data.draw(st.integers(1, min(8, len(ts))))
    order = np.array(data.draw(st.permutations(range(len(ts)))), dtype=np.int64)
    cuts: list[int] = []
    if len(ts) > 1:
        cuts = sorted(data.draw(st.lists(st.integers(1, len(ts) - 1), max_size=n_batches - 1, unique=True)))
    batches = [
        make_batch([SampleBlock("oil_temp", ts[p], values[p])], machine=machine)
        for p in np.split(order, cuts)
        if len(p)
    ]
    assert store.append(batches) == [AppendOutcome.STORED] * len(batches)

    minute, hour = _rollups(store, "oil_temp", machine)
    _check_rollup(minute, _expected_rollup(ts, values, MINUTE_US))
    _check_rollup(hour, _expected_rollup(ts, values, HOUR_US))
    got = raw(store, "oil_temp", machine)
    assert np.array_equal(got.ts_us, np.sort(ts))


def test_rollup_reads_return_the_buckets_overlapping_the_range(store: TimeSeriesStore) -> None:
    hour_start = T0 - (T0 % HOUR_US)
    ts = hour_start + np.array([0, 30, 90, 150, 170], dtype=np.int64) * 1_000_000  # seconds into the hour
    store.append([make_batch([SampleBlock("oil_temp", ts, np.array([1.0, 3.0, 5.0, 7.0, 9.0]))])])
    got = store.series("P01", "oil_temp", int(ts[1]), int(ts[3]), Resolution.MINUTE)
    assert got.ts_us.tolist() == [hour_start, hour_start + MINUTE_US, hour_start + 2 * MINUTE_US]
    assert got.values.tolist() == [2.0, 5.0, 8.0]
    assert got.count is not None and got.count.tolist() == [2, 1, 2]
    assert got.minimum is not None and got.minimum.tolist() == [1.0, 5.0, 7.0]
    assert got.maximum is not None and got.maximum.tolist() == [3.0, 5.0, 9.0]


# --- latest --------------------------------------------------------------------------------------------


def test_latest_keeps_the_newest_value_whatever_the_arrival_order(store: TimeSeriesStore) -> None:
    newer = make_batch([SampleBlock.irregular("oil_temp", [T0 + 50, T0 + 20], [50.5, 20.2])])
    older = make_batch([SampleBlock.irregular("oil_temp", [T0 + 10, T0 + 30], [10.1, 30.3])])
    other = make_batch([SampleBlock.irregular("pressure", [T0 + 5], [1.25])], machine="P02")
    store.append([newer])
    store.append([older])
    store.append([other])
    latest = store.latest("P01")
    assert [(v.machine, v.signal, v.ts_us, v.value, v.unit) for v in latest] == [
        ("P01", "oil_temp", T0 + 50, 50.5, "°C")
    ]
    everything = store.latest()
    assert {(v.machine, v.signal) for v in everything} == {("P01", "oil_temp"), ("P02", "pressure")}
    assert store.latest("P03") == []


# --- strokes, states, alarms, quarantine ---------------------------------------------------------------


def _stroke(n: int, start_us: int, **extra: Any) -> Stroke:
    return Stroke(
        machine="P01",
        n=n,
        start_us=start_us,
        end_us=start_us + 7_500_000,
        good=n % 3 != 0,
        features={"peak_pressure_bar": 231.4 + n, "cycle_time_s": 8.125, "energy_kj": 1e-3 * n},
        scrap_reason=None if n % 3 else "crack",
        order="OF-1001",
        part="BRK-220",
        lot=f"L-{n // 2}",
        material_lot="HEAT-55120",
        serial=f"P01-{n:08d}",
        die="D-17",
        **extra,
    )


def test_strokes_round_trip_with_their_waveform(store: TimeSeriesStore) -> None:
    rng = np.random.default_rng(5)
    waveform = Waveform(
        t0_us=T0,
        dt_us=10_000,
        signals={
            "pressure": at_resolution(rng, 800, 0.01),  # a registered signal: stored at its resolution
            "ram_speed": rng.normal(0, 1, 800),  # not registered: kept exactly as given
        },
    )
    strokes = [_stroke(n, T0 + n * 8_000_000) for n in range(1, 6)]
    strokes[2] = _stroke(3, strokes[2].start_us, waveform=waveform)
    store.append([make_batch(strokes=strokes)])

    without = store.strokes("P01", T0, T0 + 10**9)
    assert [s.n for s in without] == [5, 4, 3, 2, 1]  # newest first
    assert all(s.waveform is None for s in without)
    assert without[::-1] == [_stroke(s.n, s.start_us) for s in strokes]

    with_curves = store.strokes("P01", T0, T0 + 10**9, with_waveform=True)
    assert with_curves[::-1] == strokes
    assert with_curves[2].waveform == waveform

    assert [s.n for s in store.strokes("P01", T0, T0 + 10**9, limit=2)] == [5, 4]
    assert [s.n for s in store.strokes("P01", strokes[1].start_us, strokes[3].start_us)] == [3, 2]
    assert store.strokes("P02", T0, T0 + 10**9) == []


def test_a_stroke_sent_again_under_another_key_is_kept_once(store: TimeSeriesStore) -> None:
    stroke = _stroke(1, T0)
    store.append([make_batch(strokes=[stroke])])
    store.append([make_batch(strokes=[stroke], states=[StateChange(T0, MachineState.IDLE)])])
    assert store.strokes("P01", T0, T0 + 1) == [stroke]
    assert store.stats().strokes == 1


def test_find_strokes_returns_exactly_the_strokes_of_one_key(store: TimeSeriesStore) -> None:
    strokes = [
        replace(
            _stroke(n, T0 + n * 8_000_000),
            machine="P01" if n % 2 else "P02",
            order=f"OF-{n % 3}",
            material_lot=f"HEAT-{n % 4}",
            die=f"D-{n % 5}",
        )
        for n in range(1, 41)
    ]
    strokes[6] = replace(strokes[6], serial=None, lot=None, material_lot=None, order=None, die=None)
    store.append([make_batch(strokes=strokes)])

    def expected(**match: object) -> list[int]:
        chosen = [s for s in strokes if all(getattr(s, k) == v for k, v in match.items())]
        return [s.n for s in sorted(chosen, key=lambda s: s.start_us, reverse=True)]

    for key, value in (
        ("serial", "P01-00000009"),
        ("lot", "L-4"),
        ("material_lot", "HEAT-2"),
        ("order", "OF-0"),
        ("die", "D-3"),
    ):
        found = store.find_strokes(**{key: value})  # type: ignore[arg-type]
        assert [s.n for s in found] == expected(**{key: value}) != []
        assert all(s.waveform is None for s in found)
    assert store.find_strokes(material_lot="HEAT-1", machine="P02") == []  # odd n: all on P01
    assert [s.n for s in store.find_strokes(order="OF-1", machine="P01")] == expected(
        order="OF-1", machine="P01"
    )
    window = (strokes[9].start_us, strokes[29].start_us)  # n 10 to 29, half-open
    in_window = [n for n in expected(die="D-0") if 10 <= n < 30]
    assert [s.n for s in store.find_strokes(die="D-0", start_us=window[0], end_us=window[1])] == in_window
    assert [s.n for s in store.find_strokes(lot="L-10", limit=1)] == [21]
    assert store.find_strokes(serial="nobody") == []
    assert store.find_strokes(serial="P01-00000011")[0] == strokes[10]


def test_find_strokes_with_waveform_and_key_checks(store: TimeSeriesStore) -> None:
    waveform = Waveform(t0_us=T0, dt_us=10_000, signals={"ram_speed": np.linspace(0.0, 1.0, 50)})
    store.append([make_batch(strokes=[_stroke(1, T0, waveform=waveform), _stroke(2, T0 + 8_000_000)])])
    found = store.find_strokes(serial="P01-00000001", with_waveform=True)
    assert [s.waveform for s in found] == [waveform]
    for wrong in ({}, {"serial": "P01-00000001", "lot": "L-0"}, {"order": "OF-1001", "die": "D-17"}):
        with pytest.raises(ValueError, match="exactly one"):
            store.find_strokes(**wrong)  # type: ignore[arg-type]


def test_states_round_trip_in_time_order(store: TimeSeriesStore) -> None:
    changes = [
        StateChange(T0 + 30, MachineState.DOWN, "breakdown.hydraulic"),
        StateChange(T0 + 10, MachineState.RUNNING),
        StateChange(T0 + 20, MachineState.IDLE, "microstop"),
    ]
    store.append([make_batch(states=changes[:1]), make_batch(states=changes[1:])])
    assert store.states("P01", T0, T0 + 100) == sorted(changes, key=lambda c: c.ts_us)
    assert store.states("P01", T0 + 20, T0 + 30) == [changes[2]]
    assert store.states("P02", T0, T0 + 100) == []


def test_state_at_is_the_change_in_force_however_old(store: TimeSeriesStore) -> None:
    old = StateChange(T0 - 400 * DAY_US, MachineState.DOWN, "breakdown.hydraulic")
    changes = [old, StateChange(T0, MachineState.RUNNING), StateChange(T0 + 20, MachineState.IDLE)]
    store.append([make_batch(states=changes)])
    assert store.state_at("P01", old.ts_us - 1) is None
    assert store.state_at("P01", old.ts_us) == old
    assert store.state_at("P01", T0 - 1) == old
    assert store.state_at("P01", T0) == changes[1]  # a change at the instant is in force at it
    assert store.state_at("P01", T0 + 19) == changes[1]
    assert store.state_at("P01", FAR_FUTURE_US) == changes[2]
    assert store.state_at("P02", FAR_FUTURE_US) is None


def test_states_since_starts_with_the_change_in_force(store: TimeSeriesStore) -> None:
    changes = [
        StateChange(T0 - 30 * DAY_US, MachineState.SETUP),
        StateChange(T0 + 10, MachineState.RUNNING),
        StateChange(T0 + 20, MachineState.DOWN, "breakdown.die"),
        StateChange(T0 + 30, MachineState.RUNNING),
    ]
    store.append([make_batch(states=changes)])
    assert store.states_since("P01", T0, T0 + 30) == changes[:3]
    # A change exactly at the start is the one in force and is not given twice.
    assert store.states_since("P01", T0 + 10, T0 + 31) == changes[1:]
    assert store.states_since("P01", T0 + 15, T0 + 16) == [changes[1]]
    assert store.states_since("P01", T0 - 31 * DAY_US, T0) == [changes[0]]
    assert store.states_since("P02", T0, T0 + 100) == []


def test_find_strokes_pages_with_offset(store: TimeSeriesStore) -> None:
    strokes = [_stroke(n, T0 + n * 8_000_000) for n in range(1, 26)]
    store.append([make_batch(strokes=strokes)])
    pages = [store.find_strokes(material_lot="HEAT-55120", limit=10, offset=k) for k in (0, 10, 20, 30)]
    assert [[s.n for s in page] for page in pages] == [
        list(range(25, 15, -1)),
        list(range(15, 5, -1)),
        list(range(5, 0, -1)),
        [],
    ]
    with pytest.raises(ValueError, match="offset"):
        store.find_strokes(material_lot="HEAT-55120", offset=-1)


def test_trace_summary_counts_what_find_strokes_returns(store: TimeSeriesStore) -> None:
    strokes = [
        replace(
            _stroke(n, T0 + n * 8_000_000),
            machine="P01" if n % 2 else "P02",
            order=f"OF-{n % 3}",
            lot=f"L-{n % 2}",
            material_lot=f"HEAT-{n % 4}" if n != 7 else None,
            die=f"D-{n % 5}",
        )
        for n in range(1, 61)
    ]
    store.append([make_batch(strokes=strokes)])
    for key, value, narrow in (
        ("material_lot", "HEAT-1", {}),
        ("material_lot", "HEAT-2", {"machine": "P02"}),
        ("lot", "L-1", {"start_us": T0 + 80_000_000, "end_us": T0 + 400_000_000}),
        ("order", "OF-0", {}),
        ("die", "D-3", {}),
        ("serial", "P01-00000009", {}),
    ):
        found = store.find_strokes(**{key: value}, **narrow, limit=10_000)  # type: ignore[arg-type]
        groups = store.trace_summary(**{key: value}, **narrow)  # type: ignore[arg-type]
        expected: dict[tuple[Any, ...], list[Stroke]] = {}
        for s in found:
            expected.setdefault((s.order, s.part, s.lot, s.material_lot, s.machine, s.die), []).append(s)
        got = {(g.order, g.part, g.lot, g.material_lot, g.machine, g.die): g for g in groups}
        assert set(got) == set(expected) != set()
        for k, members in expected.items():
            g = got[k]
            assert (g.good, g.scrap, g.parts) == (
                sum(s.good for s in members),
                sum(not s.good for s in members),
                len(members),
            )
            assert (g.first_start_us, g.last_start_us) == (
                min(s.start_us for s in members),
                max(s.start_us for s in members),
            )
        lasts = [g.last_start_us for g in groups]
        assert lasts == sorted(lasts, reverse=True)
    assert store.trace_summary(material_lot="nothing") == []
    with pytest.raises(ValueError, match="exactly one"):
        store.trace_summary()


def test_alarms_round_trip_newest_first(store: TimeSeriesStore) -> None:
    alarms = [
        Alarm("broker.messages_dropped", Severity.CRITICAL, "Mosquitto dropped 12 messages", T0, "broker"),
        Alarm("machine.oil_hot", Severity.WARNING, "Huile à 68 °C", T0 + 5, "analytics", machine="P01"),
        Alarm("health.pump", Severity.WARNING, "Pompe", T0 + 9, "health", machine="P02", message_en="Pump"),
    ]
    ids = [store.record_alarm(alarm) for alarm in alarms]
    stored = [replace(alarm, id=alarm_id) for alarm, alarm_id in zip(alarms, ids, strict=True)]
    assert store.alarms() == stored[::-1]
    assert store.alarms(limit=1) == [stored[-1]]


def _alarm(raised_us: int, machine: str | None = None, code: str = "machine.oil_hot") -> Alarm:
    return Alarm(code, Severity.WARNING, f"raised at {raised_us}", raised_us, "analytics", machine=machine)


def test_record_alarm_returns_a_distinct_id_and_ignores_given_state(store: TimeSeriesStore) -> None:
    # A caller handing in an alarm that already carries an id or an acknowledgement still records a new,
    # active, unacknowledged occurrence: the store owns ids and the alarm's life.
    first = store.record_alarm(_alarm(T0))
    second = store.record_alarm(
        replace(_alarm(T0 + 1), id=first, acked_us=T0 + 2, acked_by="someone", cleared_us=T0 + 3)
    )
    assert isinstance(first, int) and isinstance(second, int)
    assert first != second
    newest = store.alarms(limit=1)[0]
    assert newest.id == second
    assert (newest.acked_us, newest.acked_by, newest.cleared_us) == (None, None, None)
    assert newest.state is AlarmState.ACTIVE_UNACKED


def test_acknowledge_alarm_keeps_the_first_acknowledgement(store: TimeSeriesStore) -> None:
    alarm_id = store.record_alarm(_alarm(T0, "P01"))
    acked = store.acknowledge_alarm(alarm_id, "ana", T0 + 10)
    assert (acked.id, acked.acked_by, acked.acked_us, acked.cleared_us) == (alarm_id, "ana", T0 + 10, None)
    assert acked.state is AlarmState.ACTIVE_ACKED
    again = store.acknowledge_alarm(alarm_id, "bob", T0 + 20)
    assert again == acked
    assert store.alarms() == [acked]


def test_clear_alarm_keeps_the_first_clearing_and_the_acknowledgement(store: TimeSeriesStore) -> None:
    alarm_id = store.record_alarm(_alarm(T0, "P01"))
    cleared = store.clear_alarm(alarm_id, T0 + 5)
    assert (cleared.cleared_us, cleared.state) == (T0 + 5, AlarmState.CLEARED_UNACKED)
    assert store.clear_alarm(alarm_id, T0 + 50) == cleared
    # Cleared before anyone looked: it can (and should) still be acknowledged.
    acked = store.acknowledge_alarm(alarm_id, "ana", T0 + 60)
    assert (acked.cleared_us, acked.acked_us, acked.state) == (T0 + 5, T0 + 60, AlarmState.CLEARED_ACKED)
    assert store.alarms() == [acked]


def test_acknowledge_or_clear_an_unknown_alarm_is_not_found(store: TimeSeriesStore) -> None:
    alarm_id = store.record_alarm(_alarm(T0))
    unknown = alarm_id + 1000
    with pytest.raises(NotFound):
        store.acknowledge_alarm(unknown, "ana", T0)
    with pytest.raises(NotFound):
        store.clear_alarm(unknown, T0)
    assert store.alarms()[0].state is AlarmState.ACTIVE_UNACKED  # the known one was left alone


def test_alarm_filters_and_ordering(store: TimeSeriesStore) -> None:
    # Recorded out of time order on purpose: reads order by raise time, then by id for equal times.
    ids = {
        "p01_old": store.record_alarm(_alarm(T0, "P01")),
        "p02_new": store.record_alarm(_alarm(T0 + 30, "P02")),
        "p01_mid": store.record_alarm(_alarm(T0 + 20, "P01")),
        "plant": store.record_alarm(_alarm(T0 + 20, None, code="broker.messages_dropped")),
    }
    store.acknowledge_alarm(ids["p01_old"], "ana", T0 + 40)
    store.clear_alarm(ids["p01_old"], T0 + 41)
    store.clear_alarm(ids["p02_new"], T0 + 42)
    store.acknowledge_alarm(ids["p01_mid"], "bob", T0 + 43)

    def found(**filters: Any) -> list[int | None]:
        return [a.id for a in store.alarms(**filters)]

    assert found() == [ids["p02_new"], ids["plant"], ids["p01_mid"], ids["p01_old"]]
    assert found(limit=2) == [ids["p02_new"], ids["plant"]]
    assert found(active=True) == [ids["plant"], ids["p01_mid"]]
    assert found(active=False) == [ids["p02_new"], ids["p01_old"]]
    assert found(unacknowledged=True) == [ids["p02_new"], ids["plant"]]
    assert found(unacknowledged=False) == [ids["p01_mid"], ids["p01_old"]]
    assert found(machine="P01") == [ids["p01_mid"], ids["p01_old"]]
    assert found(machine="P01", active=True, unacknowledged=False) == [ids["p01_mid"]]
    assert found(machine="P03") == []


def test_alarm_acknowledgement_survives_reopening(backend: Any, tmp_path: Path) -> None:
    with backend.for_tests(tmp_path) as first:
        alarm_id = first.record_alarm(_alarm(T0, "P01"))
        acked = first.acknowledge_alarm(alarm_id, "ana", T0 + 1)
    with backend.for_tests(tmp_path) as second:
        assert second.alarms() == [acked]
        assert second.record_alarm(_alarm(T0 + 2)) != alarm_id


def test_quarantine_round_trip(store: TimeSeriesStore) -> None:
    small = QuarantineItem(
        T0, "mqtt:cadence/v1/P01/batch", "ingest.malformed", "not JSON", b"\x00\xffjunk", 6
    )
    huge_payload = bytes(range(256)) * 4096  # 1 MiB
    huge = QuarantineItem(T0 + 1, "http", "ingest.too_large", "too large", huge_payload, len(huge_payload))
    store.quarantine(small)
    store.quarantine(huge)

    got = store.quarantined()
    assert [q.code for q in got] == ["ingest.too_large", "ingest.malformed"]  # newest first
    assert got[1].payload == small.payload and got[1].size == 6
    assert (got[1].received_us, got[1].channel, got[1].reason) == (T0, small.channel, "not JSON")
    assert got[0].size == len(huge_payload)  # the real size is kept, even when the payload is cut
    assert 0 < len(got[0].payload) <= len(huge_payload) and huge_payload.startswith(got[0].payload)
    assert got[0].id is not None and got[1].id is not None and got[0].id != got[1].id
    assert store.quarantined(limit=1)[0].code == "ingest.too_large"
    assert store.stats().quarantined == 2


# --- errors and lifecycle ------------------------------------------------------------------------------


def test_an_unregistered_signal_fails_its_submit_and_names_it(store: TimeSeriesStore) -> None:
    good = make_batch([SampleBlock.regular("oil_temp", T0, 1_000_000, [1.0])])
    bad = make_batch([SampleBlock.regular("vibration", T0, 1_000, [0.5])])
    futures = [store.submit([good]), store.submit([bad]), store.submit([good])]
    assert futures[0].result(timeout=30) == [AppendOutcome.STORED]
    with pytest.raises(StoreError, match="vibration"):
        futures[1].result(timeout=30)
    assert futures[2].result(timeout=30) == [AppendOutcome.DUPLICATE]
    assert raw(store, "oil_temp").values.tolist() == [1.0]
    assert store.stats().batches == 1


def test_non_finite_values_are_refused(store: TimeSeriesStore) -> None:
    bad = make_batch([SampleBlock.regular("oil_temp", T0, 1_000_000, [1.0, float("nan")])])
    with pytest.raises(StoreError):
        store.append([bad])
    assert len(raw(store, "oil_temp")) == 0


def test_a_submit_resolves_only_once_readers_see_the_whole_batch(store: TimeSeriesStore) -> None:
    rng = np.random.default_rng(6)
    seen: list[tuple[int, int, int]] = []
    done = threading.Event()

    def look(_: Future[list[AppendOutcome]]) -> None:
        # Runs when the future resolves (in the thread that resolved it): what a reader sees at that moment.
        try:
            seen.append((len(raw(store, "pressure")), len(raw(store, "oil_temp")), store.stats().strokes))
        finally:
            done.set()

    blocks = [
        SampleBlock.regular("pressure", T0, 2_000, at_resolution(rng, 4_000, 0.01)),
        SampleBlock.regular("oil_temp", T0, 1_000_000, at_resolution(rng, 8, 0.1)),
    ]
    future = store.submit([make_batch(blocks, strokes=[_stroke(1, T0)])])
    future.add_done_callback(look)
    assert future.result(timeout=30) == [AppendOutcome.STORED]
    assert done.wait(30)
    assert seen == [(4_000, 8, 1)]


def test_a_full_backlog_is_refused_at_once_and_accepted_work_completes(backend: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    values = at_resolution(rng, 2_000, 0.01)
    accepted: list[Future[list[AppendOutcome]]] = []
    with backend.for_tests(tmp_path, max_backlog=4) as store:
        store.register_signals("P01", SIGNALS)
        with pytest.raises(StoreBacklogFull, match="disk") as refused:
            for i in range(100_000):
                block = SampleBlock.regular("pressure", T0 + i * 10**7, 2_000, values)
                accepted.append(store.submit([make_batch([block])]))
        assert refused.value.code == "store.backlog_full"
        assert all(f.result(timeout=60) == [AppendOutcome.STORED] for f in accepted)
        assert len(raw(store, "pressure")) == 2_000 * len(accepted)


def test_reads_survive_close_and_reopen(backend: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    block = SampleBlock.regular("pressure", T0, 2_000, at_resolution(rng, 3_000, 0.01))
    batch = make_batch([block], strokes=[_stroke(1, T0)], states=[StateChange(T0, MachineState.SETUP)])
    with backend.for_tests(tmp_path) as store:
        store.register_signals("P01", SIGNALS)
        store.append([batch])
        store.quarantine(QuarantineItem(T0, "http", "ingest.malformed", "bad", b"{", 1))
        before = (raw(store, "pressure"), _rollups(store, "pressure"), store.latest(), store.stats())
    with pytest.raises(StoreClosed):
        store.submit([batch])
    store.close()  # idempotent

    with backend.for_tests(tmp_path) as again:
        assert_series_equal(raw(again, "pressure"), before[0])
        for a, b in zip(_rollups(again, "pressure"), before[1], strict=True):
            assert_series_equal(a, b)
        assert again.latest() == before[2]
        assert _counts(again.stats()) == _counts(before[3])
        assert again.strokes("P01", T0, T0 + 1) == [_stroke(1, T0)]
        assert again.states("P01", T0, T0 + 1) == [StateChange(T0, MachineState.SETUP)]
        assert len(again.quarantined()) == 1
        assert again.append([batch]) == [AppendOutcome.DUPLICATE]  # the ledger survives too


def _counts(stats: Any) -> tuple[Any, ...]:
    return (stats.points, stats.strokes, stats.states, stats.batches, stats.quarantined, stats.machines)


def test_stats_count_what_was_stored(store: TimeSeriesStore) -> None:
    store.append(
        [
            make_batch(
                [SampleBlock.regular("pressure", T0, 2_000, np.zeros(100))],
                strokes=[_stroke(1, T0), _stroke(2, T0 + 10**7)],
                states=[StateChange(T0, MachineState.RUNNING)],
            ),
            make_batch([SampleBlock.regular("oil_temp", T0, 10**6, np.ones(5))], machine="P02"),
        ]
    )
    stats = store.stats()
    assert (stats.points, stats.strokes, stats.states, stats.batches) == (105, 2, 1, 2)
    assert stats.bytes_on_disk > 0 and 0 < stats.sample_bytes < stats.bytes_on_disk
    per = {m.machine: m for m in stats.machines}
    assert (per["P01"].points, per["P01"].strokes, per["P01"].states, per["P01"].batches) == (100, 2, 1, 1)
    assert (per["P02"].points, per["P02"].batches, per["P02"].last_us) == (5, 1, T0 + 4 * 10**6)


# --- compaction and retention --------------------------------------------------------------------------


def test_compaction_keeps_every_read_identical(store: TimeSeriesStore) -> None:
    rng = np.random.default_rng(9)
    batches = []
    for i in range(60):  # 60 one-second temperature batches of 10 points, and small pressure bursts
        temp_ts = T0 + i * 10_000_000 + np.arange(10, dtype=np.int64) * 1_000_000
        burst_ts = T0 + i * 10_000_000 + rng.permutation(200).astype(np.int64) * 2_000
        batches.append(
            make_batch(
                [
                    SampleBlock("oil_temp", temp_ts, at_resolution(rng, 10, 0.1, centre=45.0)),
                    SampleBlock("pressure", burst_ts, at_resolution(rng, 200, 0.01)),
                ]
            )
        )
    random.Random(10).shuffle(batches)
    store.append(batches)
    # A repeated timestamp under another key: the first value stored must stay the one read.
    store.append([make_batch([SampleBlock.irregular("oil_temp", [T0], [99.9])])])
    before = {s: (raw(store, s), *_rollups(store, s)) for s in ("oil_temp", "pressure")}
    stats_before = store.stats()

    assert store.compact(T0 + 10 * DAY_US) > 0
    stats_after = store.stats()
    assert stats_after.chunks < stats_before.chunks
    assert stats_after.sample_bytes < stats_before.sample_bytes
    for signal, (series, minute, hour) in before.items():
        assert_series_equal(raw(store, signal), series)
        assert_series_equal(_rollups(store, signal)[0], minute)
        assert_series_equal(_rollups(store, signal)[1], hour)
    assert store.compact(T0 + 10 * DAY_US) == 0  # nothing left to merge


def test_retention_deletes_exactly_what_is_past_retention(store: TimeSeriesStore) -> None:
    now = T0 + 100 * DAY_US
    policy = RetentionPolicy(
        raw_waveform_days=7,
        raw_slow_days=30,
        rollup_1m_days=60,
        rollup_1h_days=0,  # for ever
        strokes_days=90,
        stroke_waveform_days=20,
        quarantine_days=10,
    )
    ages_days = [95, 45, 25, 8, 6, 1]
    waveform = Waveform(T0, 1_000, {"pressure": np.array([1.0, 2.0])})
    for age in ages_days:
        at = now - age * DAY_US
        store.append(
            [
                make_batch(
                    [
                        SampleBlock.regular("pressure", at, 2_000, [1.0, 2.0, 3.0]),
                        SampleBlock.regular("oil_temp", at, 1_000_000, [40.0, 41.0]),
                    ],
                    strokes=[Stroke("P01", n=age, start_us=at, end_us=at + 1, good=True, waveform=waveform)],
                )
            ]
        )
        store.quarantine(QuarantineItem(at, "http", "ingest.malformed", f"{age}", b"x", 1))

    report = store.apply_retention(now, policy)

    def ages(ts: Sequence[int]) -> list[int]:
        return sorted({round((now - t) / DAY_US) for t in ts}, reverse=True)

    assert ages(raw(store, "pressure").ts_us.tolist()) == [6, 1]
    assert ages(raw(store, "oil_temp").ts_us.tolist()) == [25, 8, 6, 1]
    minute, hour = _rollups(store, "pressure")
    assert ages(minute.ts_us.tolist()) == [45, 25, 8, 6, 1]
    assert ages(hour.ts_us.tolist()) == ages_days
    strokes = store.strokes("P01", 0, FAR_FUTURE_US, with_waveform=True)
    assert [s.n for s in strokes] == [1, 6, 8, 25, 45]  # newest first
    assert [s.n for s in strokes if s.waveform is not None] == [1, 6, 8]
    assert ages([q.received_us for q in store.quarantined()]) == [8, 6, 1]

    assert report.points_deleted == 4 * 3 + 2 * 2  # pressure aged 95/45/25/8, temperature aged 95/45
    assert report.chunks_deleted == 6
    assert report.strokes_deleted == 1
    assert report.waveforms_dropped == 2
    assert report.quarantine_deleted == 3
    assert report.rollup_rows_deleted == 2 * 1  # the 1-minute bucket of both signals at 95 days

    again = store.apply_retention(now, policy)
    assert (again.chunks_deleted, again.strokes_deleted, again.waveforms_dropped) == (0, 0, 0)
    assert store.stats().points == 2 * 3 + 4 * 2


def test_retention_of_zero_days_keeps_everything(store: TimeSeriesStore) -> None:
    batch = make_batch([SampleBlock.regular("pressure", 0, 2_000, [1.0])], strokes=[_stroke(1, 0)])
    store.append([batch])
    forever = RetentionPolicy.forever()
    report = store.apply_retention(FAR_FUTURE_US, forever)
    assert report.chunks_deleted == report.strokes_deleted == report.rollup_rows_deleted == 0
    assert len(raw(store, "pressure")) == 1
    assert report.ledger_keys_deleted == 0
    assert store.append([batch]) == [AppendOutcome.DUPLICATE]


def test_a_replay_is_recognised_after_the_ledger_window(store: TimeSeriesStore) -> None:
    """Past ``ledger_days`` keys lose their digest but not their identity: replays stay duplicates."""
    batches = [
        make_batch(
            [SampleBlock.regular("pressure", T0 + i * 1_000, 2_000, [float(i)])],
            key=IdempotencyKey("gw-r", 1, i),
        )
        for i in range(5)
    ]
    store.append(batches[:3])
    store.append(batches[4:])
    keep_data = RetentionPolicy.forever(ledger_days=1)
    report = store.apply_retention(FAR_FUTURE_US, keep_data)
    assert report.ledger_keys_deleted == 4
    before = store.stats()
    assert store.append(batches) == [AppendOutcome.DUPLICATE] * 3 + [
        AppendOutcome.STORED,
        AppendOutcome.DUPLICATE,
    ]
    after = store.stats()
    assert after.points == before.points + 1
    assert after.batches == before.batches + 1


# --- operator events -------------------------------------------------------------------------------------


def test_the_last_stop_reason_wins_and_the_history_keeps_every_one(store: TimeSeriesStore) -> None:
    first = StopReason("P01", T0, "breakdown.hydraulic", "lea", T0 + MINUTE_US)
    # Recorded later with an earlier clock (the server's clock stepped back): still the one in force.
    second = StopReason("P01", T0, "breakdown.die", "max", T0 + 30_000_000)
    other_stop = StopReason("P01", T0 + HOUR_US, "setup.adjustment", "lea", T0 + HOUR_US + 5)
    other_machine = StopReason("P02", T0, "planned.break", "ana", T0 + 7)
    for reason in (first, other_stop, second, other_machine):
        store.record_stop_reason(reason)
    assert store.stop_reasons("P01", T0, T0 + DAY_US) == [second, other_stop]
    assert store.stop_reasons("P01", T0, T0 + DAY_US, history=True) == [first, second, other_stop]
    # The range is half-open on the stop's start, whatever the time the reason was given.
    assert store.stop_reasons("P01", T0 + 1, T0 + HOUR_US) == []
    assert store.stop_reasons("P01", T0 + 1, T0 + HOUR_US + 1) == [other_stop]
    assert store.stop_reasons("P02", T0, T0 + 1) == [other_machine]
    assert store.stop_reasons("P03", T0, T0 + DAY_US) == []


def test_scrap_declarations_round_trip_per_machine_and_range(store: TimeSeriesStore) -> None:
    late = ScrapDeclaration("P01", T0 + MINUTE_US, 2, "burr found at inspection", "lea")
    early = ScrapDeclaration("P01", T0, 5, "cracked flange", "max")
    elsewhere = ScrapDeclaration("P02", T0, 1, "dent", "ana")
    for scrap in (late, early, elsewhere):
        store.record_scrap(scrap)
    assert store.scrap_declarations("P01", T0, T0 + DAY_US) == [early, late]
    assert store.scrap_declarations("P01", T0 + 1, T0 + MINUTE_US) == []
    assert store.scrap_declarations("P02", T0, T0 + 1) == [elsewhere]


def test_order_events_round_trip_and_the_last_one_is_found(store: TimeSeriesStore) -> None:
    assert store.last_order_event("P01") is None
    start = OrderEvent("P01", T0, OrderKind.START, "OF-1", "BR-7", "L-1", "HEAT-1", "D-3", "lea")
    end = OrderEvent("P01", T0 + HOUR_US, OrderKind.END, "OF-1", "BR-7", None, None, None, "max")
    # Same instant as the end, recorded after it: recording order breaks the tie.
    restart = OrderEvent("P01", T0 + HOUR_US, OrderKind.START, "OF-2", "BR-8", by="max")
    other = OrderEvent("P02", T0 + DAY_US, OrderKind.START, "OF-9", "X-1", by="ana")
    for event in (start, end, restart, other):
        store.record_order_event(event)
    assert store.order_events("P01", T0, T0 + DAY_US) == [start, end, restart]
    assert store.order_events("P01", T0 + 1, T0 + HOUR_US) == []
    assert store.last_order_event("P01") == restart
    assert store.last_order_event("P02") == other


def test_logbook_notes_round_trip_with_and_without_machine(store: TimeSeriesStore) -> None:
    plant_wide = LogbookNote(None, T0, "Compressor noisy, maintenance told.", "lea")
    on_p01 = LogbookNote("P01", T0 + MINUTE_US, "Die D-3 sharpened; watch burrs. " * 60, "max")
    on_p02 = LogbookNote("P02", T0 + 2 * MINUTE_US, "Guard sensor loose", "ana")
    for note in (on_p02, plant_wide, on_p01):
        store.record_note(note)
    assert store.logbook(T0, T0 + DAY_US) == [plant_wide, on_p01, on_p02]
    assert store.logbook(T0, T0 + DAY_US, machine="P01") == [on_p01]
    assert store.logbook(T0 + 1, T0 + 2 * MINUTE_US) == [on_p01]


def test_operator_events_survive_reopening(backend: Any, tmp_path: Path) -> None:
    reason = StopReason("P01", T0, "breakdown.die", "lea", T0 + 1)
    scrap = ScrapDeclaration("P01", T0, 3, "cracks", "lea")
    order = OrderEvent("P01", T0, OrderKind.START, "OF-1", "BR-7", by="lea")
    note = LogbookNote("P01", T0, "handover", "lea")
    with backend.for_tests(tmp_path) as first:
        first.record_stop_reason(reason)
        first.record_scrap(scrap)
        first.record_order_event(order)
        first.record_note(note)
    with backend.for_tests(tmp_path) as second:
        assert second.stop_reasons("P01", T0, T0 + 1) == [reason]
        assert second.scrap_declarations("P01", T0, T0 + 1) == [scrap]
        assert second.last_order_event("P01") == order
        assert second.logbook(T0, T0 + 1) == [note]


# --- KPI rollups ---------------------------------------------------------------------------------------
# The store's clock (the wall clock here) is far past T0: every hour below has ended, so late data marks it.

H0 = (T0 // HOUR_US) * HOUR_US


def _kpi_hour(machine: str, k: int, **values: Any) -> KpiRollup:
    fields: dict[str, Any] = {"running_us": HOUR_US, **values}
    return KpiRollup(machine, H0 + k * HOUR_US, H0 + (k + 1) * HOUR_US, **fields)


def test_kpi_hours_round_trip_and_are_replaced(store: TimeSeriesStore) -> None:
    status = store.kpi_status("P01")
    assert (status.rolled_until_us, status.dirty_hours, status.first_data_us) == (None, (), None)
    rows = [
        _kpi_hour(
            "P01", k, pq=k, gq=k, pri_pq_s=9.0 * k, pri_gq_s=9.0 * k, energy_kwh=1.5, downtime_us={"x": k}
        )
        for k in range(3)
    ]
    store.put_kpi_hours(rows, token=status.token)
    assert store.kpi_hours("P01", H0, H0 + 3 * HOUR_US) == rows
    assert store.kpi_hours("P01", H0 + 1, H0 + 3 * HOUR_US) == rows[1:]  # only hours lying within
    assert store.kpi_hours("P01", H0, H0 + 3 * HOUR_US - 1) == rows[:2]
    assert store.kpi_hours("P02", H0, H0 + 3 * HOUR_US) == []
    better = replace(rows[1], pq=99, energy_kwh=None, down_carry=True)
    store.put_kpi_hours([better], token=status.token)
    assert store.kpi_hours("P01", H0, H0 + 3 * HOUR_US) == [rows[0], better, rows[2]]
    assert store.kpi_status("P01").rolled_until_us == H0 + 3 * HOUR_US


def test_kpi_day_sums_exist_only_while_every_hour_is_there_and_clean(store: TimeSeriesStore) -> None:
    rows = [
        _kpi_hour(
            "P01", k, running_us=HOUR_US // 2, down_us=HOUR_US // 2, failure_events=1, down_carry=k == 0
        )
        for k in range(8)
    ]
    days = [("P01", H0, H0 + 4 * HOUR_US), ("P01", H0 + 4 * HOUR_US, H0 + 8 * HOUR_US)]  # any spans
    token = store.kpi_status("P01").token
    store.put_kpi_hours(rows[:3] + rows[4:], token=token, days=days)
    assert store.kpi_days(["P01"], H0, H0 + DAY_US) == [sum_rollups(rows[4:])]  # the first misses an hour
    store.put_kpi_hours(rows[3:4], token=token, days=days[:1])
    assert store.kpi_days(["P02", "P01"], H0, H0 + DAY_US) == [sum_rollups(rows[:4]), sum_rollups(rows[4:])]
    assert store.kpi_days(["P01"], H0, H0 + 8 * HOUR_US, summed=True) == [sum_rollups(rows)]
    assert store.kpi_days(["P01"], H0 + 1, H0 + DAY_US) == [sum_rollups(rows[4:])]  # days lying within
    # A stroke stored late for hour 1: that hour is dirty, neither served nor part of a day sum.
    store.append([make_batch(strokes=[_stroke(1, H0 + HOUR_US + 5_000_000)])])
    assert H0 + HOUR_US in store.kpi_status("P01").dirty_hours
    assert store.kpi_days(["P01"], H0, H0 + DAY_US) == [sum_rollups(rows[4:])]
    assert [r.start_us for r in store.kpi_hours("P01", H0, H0 + 4 * HOUR_US)] == [
        H0,
        H0 + 2 * HOUR_US,
        H0 + 3 * HOUR_US,
    ]
    # Recomputed with a token read after the stroke: clean again, and the day is summed again.
    status = store.kpi_status("P01")
    store.put_kpi_hours(rows[1:2], token=status.token, days=days[:1])
    assert H0 + HOUR_US not in store.kpi_status("P01").dirty_hours
    assert len(store.kpi_days(["P01"], H0, H0 + DAY_US)) == 2


def test_kpi_day_pools_sum_the_machines_day_by_day_with_the_row_rules(store: TimeSeriesStore) -> None:
    """Two "days" of two hours: P02 never reports on the first (no part, all unknown), and on the second
    declares more scrap than its good parts; P01 reads 0 kWh with parts made on the first."""

    def p01(k: int) -> KpiRollup:
        return _kpi_hour(
            "P01",
            k,
            pq=10,
            gq=9,
            sq=1,
            pri_pq_s=100.0,
            pri_gq_s=90.0,
            failure_events=1,
            down_carry=k == 2,
            energy_kwh=0.0 if k < 2 else 2.0,
            downtime_us={"x": 5},
        )

    def p02(k: int) -> KpiRollup:
        if k < 2:
            return _kpi_hour("P02", k, running_us=0, unknown_us=HOUR_US)
        return _kpi_hour(
            "P02", k, pq=4, gq=3, sq=1, declared=50 if k == 2 else 0, pri_pq_s=40.0, pri_gq_s=30.0
        )

    rows = [*(p01(k) for k in range(4)), *(p02(k) for k in range(4))]
    days = [(m, H0 + a * HOUR_US, H0 + (a + 2) * HOUR_US) for m in ("P01", "P02") for a in (0, 2)]
    store.put_kpi_hours(rows, token=store.kpi_status("P01").token, days=days)
    first, second = store.kpi_day_pools(["P02", "P01", "P09"], H0, H0 + DAY_US)
    assert first == KpiDayPool(
        H0,
        H0 + 2 * HOUR_US,
        machines=("P02", "P01"),  # in the order asked
        pooled=("P02", "P01"),
        running_us=2 * HOUR_US,
        unknown_us=2 * HOUR_US,
        pq=20,
        gq=18,
        sq=2,
        pri_pq_s=200.0,
        pri_gq_s=180.0,
        failure_events=2,
        energy_kwh=0.0,
        metered_gq=18,
        downtime_us={"x": 10},
    )
    # The cap is P02's day's: 50 declared take its 6 good parts; their PRI·GQ is left to the caller.
    assert second == KpiDayPool(
        H0 + 2 * HOUR_US,
        H0 + 4 * HOUR_US,
        machines=("P02", "P01"),
        pooled=("P02", "P01"),
        running_us=4 * HOUR_US,
        pq=28,
        gq=18,
        sq=2 + 2 + 6,
        declared=50,
        pri_pq_s=280.0,
        pri_gq_s=180.0,
        recounted_gq={"P02": 0},
        failure_events=3,  # P01's two breakdowns and the one in progress at the day's start
        energy_kwh=4.0,
        metered_gq=18,
        downtime_us={"x": 10},
    )
    skipped = store.kpi_day_pools(["P01", "P02"], H0, H0 + DAY_US, skip_missing=True)
    assert skipped[0] == replace(
        first, machines=("P01", "P02"), pooled=("P01",), unknown_us=0, energy_kwh=None, metered_gq=0
    )
    assert skipped[1] == replace(second, machines=("P01", "P02"), pooled=("P01", "P02"))
    assert store.kpi_day_pools(["P01"], H0 + 1, H0 + DAY_US) == [
        KpiDayPool(
            H0 + 2 * HOUR_US,
            H0 + 4 * HOUR_US,
            ("P01",),
            ("P01",),
            running_us=2 * HOUR_US,
            pq=20,
            gq=18,
            sq=2,
            pri_pq_s=200.0,
            pri_gq_s=180.0,
            failure_events=3,
            energy_kwh=4.0,
            metered_gq=18,
            downtime_us={"x": 10},
        )
    ]  # days lying within only
    assert store.kpi_day_pools([], H0, H0 + DAY_US) == store.kpi_day_pools(["P09"], H0, H0 + DAY_US) == []


def test_late_states_reasons_and_scrap_mark_the_hours_they_change(store: TimeSeriesStore) -> None:
    store.append(
        [
            make_batch(
                states=[
                    StateChange(H0, MachineState.RUNNING),
                    StateChange(H0 + 5 * HOUR_US, MachineState.DOWN),
                    StateChange(H0 + 6 * HOUR_US, MachineState.RUNNING),
                ]
            )
        ]
    )
    status = store.kpi_status("P01")
    assert status.first_data_us == H0
    store.put_kpi_hours([_kpi_hour("P01", k) for k in range(8)], token=status.token)
    before = set(store.kpi_status("P01").dirty_hours)
    # A stop found late at 02:10: it runs to the breakdown at 05:00, whose own run ends at 06:00.
    store.append([make_batch(states=[StateChange(H0 + 2 * HOUR_US + 600_000_000, MachineState.IDLE)])])
    marked = set(store.kpi_status("P01").dirty_hours) - before
    assert marked == {H0 + k * HOUR_US for k in (2, 3, 4, 5, 6)}
    # A reason given to the breakdown: its hours (on to now, the last change being still open).
    store.record_stop_reason(StopReason("P01", H0 + 5 * HOUR_US, "breakdown.die", "lea", T0))
    dirty = set(store.kpi_status("P01").dirty_hours)
    assert {H0 + 5 * HOUR_US, H0 + 6 * HOUR_US, H0 + 7 * HOUR_US} <= dirty
    assert H0 + HOUR_US not in dirty
    store.record_scrap(ScrapDeclaration("P01", H0 + 7 * HOUR_US + 1, 2, "crack", "lea"))
    assert H0 + 7 * HOUR_US in store.kpi_status("P01").dirty_hours


def test_a_put_keeps_the_marks_made_after_its_token(store: TimeSeriesStore) -> None:
    status = store.kpi_status("P01")
    store.put_kpi_hours([_kpi_hour("P01", 0)], token=status.token)
    store.record_scrap(ScrapDeclaration("P01", H0 + 1, 1, "crack", "lea"))
    assert store.kpi_status("P01").token > status.token
    store.put_kpi_hours([_kpi_hour("P01", 0)], token=status.token)  # computed before the declaration
    assert store.kpi_status("P01").dirty_hours == (H0,)
    store.put_kpi_hours([_kpi_hour("P01", 0)], token=store.kpi_status("P01").token)
    assert store.kpi_status("P01").dirty_hours == ()


# --- tablet orders in traceability ---------------------------------------------------------------------


def test_order_windows_run_from_a_start_to_the_next_event_of_the_press(store: TimeSeriesStore) -> None:
    a = OrderEvent("P01", T0, OrderKind.START, "OF-1", "BR-7", "L-1", "HEAT-1", "D-3", "lea")
    b = OrderEvent("P01", T0 + HOUR_US, OrderKind.START, "OF-2", "BR-7", by="max")
    end = OrderEvent("P01", T0 + 2 * HOUR_US, OrderKind.END, "OF-2", "BR-7", by="max")
    c = OrderEvent("P01", T0 + 3 * HOUR_US, OrderKind.START, "OF-3", "BR-8", by="ana")
    # Two starts at one instant: the first one's window is empty, the one recorded last is in force.
    d = OrderEvent("P01", T0 + 4 * HOUR_US, OrderKind.START, "OF-4", "BR-8", by="ana")
    e = OrderEvent("P01", T0 + 4 * HOUR_US, OrderKind.START, "OF-5", "BR-8", by="lea")
    other = OrderEvent("P02", T0 + 30 * MINUTE_US, OrderKind.START, "OF-9", "X-1", by="ana")
    for event in (a, b, end, c, d, e, other):
        store.record_order_event(event)
    windows = store.order_windows("P01", T0 - DAY_US, T0 + DAY_US)
    assert [(w.start, w.end_us) for w in windows] == [
        (a, b.at_us),
        (b, end.at_us),
        (c, d.at_us),
        (e, None),
    ]  # d's empty window overlaps no range
    assert [w.start for w in store.order_windows("P01", T0 + 90 * MINUTE_US, T0 + 90 * MINUTE_US + 1)] == [b]
    assert store.order_windows("P01", T0 + 2 * HOUR_US, T0 + 3 * HOUR_US) == []  # between end and c
    assert [w.start for w in store.order_windows("P01", T0 + HOUR_US - 1, T0 + HOUR_US + 1)] == [a, b]
    assert [w.start for w in store.order_windows("P01", T0 + 5 * DAY_US, T0 + 6 * DAY_US)] == [e]
    assert store.order_windows("P01", T0 - DAY_US, T0) == []  # before the first start
    assert [w.start for w in store.order_windows("P02", T0, T0 + DAY_US)] == [other]
    assert windows[0].covers(T0) and not windows[0].covers(b.at_us) and windows[-1].covers(T0 + DAY_US)


def _tablet_plant(store: TimeSeriesStore) -> list[Stroke]:
    """Strokes every minute on P01 (no keys) and P02 (HEAT-1 on even n), tablet orders on both."""
    strokes = []
    for n in range(1, 181):
        strokes.append(replace(_stroke(n, T0 + n * MINUTE_US), order=None, lot=None, material_lot=None))
        p02 = replace(_stroke(n, T0 + n * MINUTE_US + 1), machine="P02", serial=f"P02-{n:08d}")
        strokes.append(replace(p02, material_lot="HEAT-1" if n % 2 == 0 else None, lot=None))
    store.append([make_batch(strokes=strokes)])
    for event in (
        OrderEvent("P01", T0 + 30 * MINUTE_US, OrderKind.START, "OF-1", "BR-7", "L-1", "HEAT-1", None, "lea"),
        OrderEvent("P01", T0 + 60 * MINUTE_US, OrderKind.START, "OF-2", "BR-7", "L-2", "HEAT-2", None, "max"),
        OrderEvent("P01", T0 + 90 * MINUTE_US, OrderKind.START, "OF-3", "BR-7", "L-3", "HEAT-1", None, "lea"),
        OrderEvent("P01", T0 + 120 * MINUTE_US, OrderKind.END, by="lea"),
        OrderEvent(
            "P02", T0 + 100 * MINUTE_US, OrderKind.START, "OF-4", "BR-9", "L-1", "HEAT-1", None, "ana"
        ),
    ):
        store.record_order_event(event)
    return strokes


def _in_tablet_windows(
    store: TimeSeriesStore, strokes: list[Stroke], column: str, value: str
) -> list[Stroke]:
    """Recomputed from the order events one by one, independently of the store's windows query."""
    out = []
    for machine in ("P01", "P02"):
        events = store.order_events(machine, 0, FAR_FUTURE_US)
        for i, event in enumerate(events):
            if event.kind is not OrderKind.START or getattr(event, column) != value:
                continue
            end = events[i + 1].at_us if i + 1 < len(events) else FAR_FUTURE_US
            out += [
                s
                for s in strokes
                if s.machine == machine and event.at_us <= s.start_us < end and getattr(s, column) is None
            ]
    return out


@pytest.mark.parametrize(("column", "value"), [("material_lot", "HEAT-1"), ("lot", "L-1")])
def test_order_window_summary_counts_the_strokes_lacking_the_key(
    store: TimeSeriesStore, column: str, value: str
) -> None:
    strokes = _tablet_plant(store)
    expected = _in_tablet_windows(store, strokes, column, value)
    assert len(expected) > 50
    groups = store.order_window_summary(**{column: value})
    assert sum(w.group.parts for w in groups) == len(expected)
    assert sum(w.group.good for w in groups) == sum(s.good for s in expected)
    for w in groups:
        assert getattr(w.window.start, column) == value and w.group.machine == w.window.start.machine
        mine = [s for s in expected if w.window.covers(s.start_us) and s.machine == w.group.machine]
        mine = [
            s
            for s in mine
            if (s.order, s.part, s.lot, s.material_lot, s.die)
            == (w.group.order, w.group.part, w.group.lot, w.group.material_lot, w.group.die)
        ]
        assert (w.group.parts, w.group.first_start_us, w.group.last_start_us) == (
            len(mine),
            min(s.start_us for s in mine),
            max(s.start_us for s in mine),
        )
    lasts = [w.group.last_start_us for w in groups]
    assert lasts == sorted(lasts, reverse=True)
    # Never a stroke that carries the key: those are trace_summary's.
    carried = {(s.machine, s.start_us) for s in store.find_strokes(**{column: value}, limit=10_000)}
    assert not carried & {(s.machine, s.start_us) for s in expected}
    assert store.order_window_summary(material_lot="HEAT-404") == []
    with pytest.raises(ValueError, match="exactly one"):
        store.order_window_summary()
    with pytest.raises(ValueError, match="exactly one"):
        store.order_window_summary(lot="L-1", material_lot="HEAT-1")


def test_find_strokes_with_orders_pages_through_both_sources_once(store: TimeSeriesStore) -> None:
    strokes = _tablet_plant(store)
    expected = _in_tablet_windows(store, strokes, "material_lot", "HEAT-1") + [
        s for s in strokes if s.material_lot == "HEAT-1"
    ]
    newest_first = sorted(expected, key=lambda s: (s.start_us, s.machine), reverse=True)
    pages = []
    offset = 0
    while page := store.find_strokes_with_orders(material_lot="HEAT-1", limit=17, offset=offset):
        pages.append(page)
        offset += len(page)
    seen = [s for page in pages for s in page]
    assert [(s.machine, s.start_us) for s in seen] == [(s.machine, s.start_us) for s in newest_first]
    assert seen[0] == replace(newest_first[0], waveform=None)
    assert all(len(p) == 17 for p in pages[:-1])
    with pytest.raises(ValueError, match="offset"):
        store.find_strokes_with_orders(material_lot="HEAT-1", offset=-1)


# --- live SPC: limit versions and the evaluation watermark ------------------------------------------------


def _limits(machine: str = "P01", feature: str = "peak_pressure_bar", **changes: Any) -> SpcLimitsRecord:
    base = SpcLimitsRecord(
        id=0, machine=machine, feature=feature, chart="imr", subgroup_size=1, center=210.0, sigma=1.5,
        lcl=205.5, ucl=214.5, baseline_start_us=T0, baseline_end_us=T0 + HOUR_US, points=120,
        excluded=(3, 17), rules=("we1", "we2"), lsl=None, usl=220.0, by="ana", at_us=T0 + 2 * HOUR_US,
        why="new die",
    )  # fmt: skip
    return replace(base, **changes)


def test_spc_limit_versions_are_kept_newest_first(store: TimeSeriesStore) -> None:
    first = _limits(id=999)  # a given id is ignored
    first_id = store.record_spc_limits(first)
    second = _limits(center=211.0, by="bob", why="after seal change", excluded=(), lsl=200.5, usl=None)
    second_id = store.record_spc_limits(second)
    other = _limits(feature="oil_temp_c", chart="xbar_r", subgroup_size=5)
    other_id = store.record_spc_limits(other)
    p2 = _limits(machine="P02")
    p2_id = store.record_spc_limits(p2)
    assert len({first_id, second_id, other_id, p2_id}) == 4 and second_id > first_id

    history = store.spc_limits_history("P01", "peak_pressure_bar")
    assert history == [replace(second, id=second_id), replace(first, id=first_id)]  # every field round-trips
    assert store.spc_limits_history("P01", "peak_pressure_bar", limit=1) == [replace(second, id=second_id)]
    assert store.spc_limits_history("P01", "energy_kj") == []
    assert store.spc_limits_in_force() == [
        replace(other, id=other_id),
        replace(second, id=second_id),
        replace(p2, id=p2_id),
    ]  # by machine then feature
    assert store.spc_limits_in_force("P02") == [replace(p2, id=p2_id)]


def test_spc_advance_is_a_compare_and_set_with_its_alarms(store: TimeSeriesStore) -> None:
    assert store.spc_progress("P01", "peak_pressure_bar") is None
    earlier = store.record_alarm(_alarm(T0, "P01"))
    progress = SpcProgress("P01", "peak_pressure_bar", T0 + 10, '{"v":1}', T0 + 20)
    raised = replace(_alarm(T0 + 5, "P01"), code="spc.we1", source="spc/peak_pressure_bar")
    ended = replace(raised, code="spc.we2", cleared_us=T0 + 9)
    ids = store.advance_spc(progress, previous_us=None, alarms=[raised, ended], clears=[(earlier, T0 + 8)])
    assert ids is not None and len(ids) == 2
    assert store.spc_progress("P01", "peak_pressure_bar") == progress
    by_id = {a.id: a for a in store.alarms()}
    assert by_id[ids[0]].code == "spc.we1" and by_id[ids[0]].active
    assert by_id[ids[1]].cleared_us == T0 + 9  # recorded already cleared
    assert by_id[earlier].cleared_us == T0 + 8

    # A second evaluator that read the old watermark writes nothing, not even its alarms.
    stale = replace(progress, watermark_us=T0 + 30)
    assert store.advance_spc(stale, previous_us=None, alarms=[raised]) is None
    assert store.advance_spc(stale, previous_us=T0 + 11, alarms=[raised]) is None
    assert len(store.alarms()) == 3
    assert store.spc_progress("P01", "peak_pressure_bar") == progress
    assert store.advance_spc(stale, previous_us=T0 + 10) == []
    assert store.spc_progress("P01", "peak_pressure_bar") == stale
    assert store.spc_progress("P01", "oil_temp_c") is None


def test_spc_records_survive_reopening(backend: Any, tmp_path: Path) -> None:
    with backend.for_tests(tmp_path) as first:
        record_id = first.record_spc_limits(_limits())
        first.advance_spc(SpcProgress("P01", "energy_kj", T0, "{}", T0), previous_us=None)
    with backend.for_tests(tmp_path) as second:
        assert second.spc_limits_history("P01", "peak_pressure_bar") == [_limits(id=record_id)]
        assert second.spc_progress("P01", "energy_kj") == SpcProgress("P01", "energy_kj", T0, "{}", T0)


# --- press health --------------------------------------------------------------------------------------


def _point(machine: str, hour: int, level: float) -> HealthPoint:
    return HealthPoint(
        machine,
        T0 + hour * HOUR_US,
        {"pump": level, "cooler": 0.0},
        {"pump": 9.5, "cooler": 0.1},
        {"buildup_time_s": level},
        {"buildup_time_s": level / 2},
        1.5,
        False,
    )


def test_health_advance_is_a_compare_and_set_with_points_alarms_and_episodes(store: TimeSeriesStore) -> None:
    assert store.health_progress("P01") is None
    earlier = store.record_alarm(_alarm(T0, "P01"))
    progress = HealthProgress("P01", T0 + 10, '{"version":1}', T0 + 20)
    raised = replace(_alarm(T0 + 5, "P01"), code="health.pump", source="health")
    episode = LabelledEpisode(7, "P01", "pump_leak", T0 + 9, {"buildup_time_s": 0.3})
    points = [_point("P01", h, 0.1 * h) for h in range(3)]
    ids = store.advance_health(
        progress,
        previous_us=None,
        points=points,
        alarms=[raised],
        clears=[(earlier, T0 + 8)],
        episodes=[episode],
    )
    assert ids is not None and len(ids) == 1
    assert store.health_progress("P01") == progress
    assert store.health_points("P01", T0, T0 + 3 * HOUR_US) == points
    assert store.health_points("P01", T0 + HOUR_US, T0 + 2 * HOUR_US) == points[1:2]  # end excluded
    assert store.health_points("P02", T0, T0 + 3 * HOUR_US) == []
    assert store.health_episodes() == [episode]
    by_id = {a.id: a for a in store.alarms()}
    assert by_id[ids[0]].code == "health.pump" and by_id[ids[0]].active
    assert by_id[earlier].cleared_us == T0 + 8

    # A stale evaluator writes nothing at all.
    stale = replace(progress, watermark_us=T0 + 30)
    assert (
        store.advance_health(stale, previous_us=None, points=[_point("P01", 0, 0.9)], alarms=[raised]) is None
    )
    assert store.health_points("P01", T0, T0 + HOUR_US) == points[:1]
    assert len(store.alarms()) == 2
    # The hour in progress is replaced by the next pass, and so is an episode of the same work order.
    later = replace(episode, vector={"buildup_time_s": 0.4})
    assert (
        store.advance_health(stale, previous_us=T0 + 10, points=[_point("P01", 2, 0.25)], episodes=[later])
        == []
    )
    assert store.health_points("P01", T0 + 2 * HOUR_US, T0 + 3 * HOUR_US)[0].levels["pump"] == 0.25
    assert store.health_episodes() == [later]
    assert store.health_progress("P01") == stale


def test_health_records_survive_reopening(backend: Any, tmp_path: Path) -> None:
    episode = LabelledEpisode(3, "P02", "none", T0, {"peak_force_kn": 0.2})
    with backend.for_tests(tmp_path) as first:
        first.advance_health(
            HealthProgress("P02", T0, "{}", T0),
            previous_us=None,
            points=[_point("P02", 0, 0.2)],
            episodes=[episode],
        )
    with backend.for_tests(tmp_path) as second:
        assert second.health_progress("P02") == HealthProgress("P02", T0, "{}", T0)
        assert second.health_points("P02", T0, T0 + HOUR_US) == [_point("P02", 0, 0.2)]
        assert second.health_episodes() == [episode]


# --- work orders ---------------------------------------------------------------------------------------


def _order(machine: str = "P01", created_us: int = T0, **changes: Any) -> WorkOrder:
    fields: dict[str, Any] = {
        "id": 0,
        "machine": machine,
        "title": "Fuite pompe — pression en baisse",
        "created_by": "lea",
        "created_us": created_us,
        "description": "Alerte santé pompe",
        "subsystem": "pump",
        "priority": "high",
        "episode_start_us": created_us - 60_000_000,
    }
    return WorkOrder(**{**fields, **changes})


def _event(kind: WorkOrderEventKind, at_us: int, by: str = "lea", **details: str) -> WorkOrderEvent:
    return WorkOrderEvent(kind=kind, by=by, at_us=at_us, details=tuple(details.items()))


def test_work_orders_round_trip_with_their_trail(store: TimeSeriesStore) -> None:
    alarm_id = store.record_alarm(_alarm(T0 - 60_000_000, "P01", code="health.pump"))
    created = _order(alarm_id=alarm_id, due_us=T0 + DAY_US)
    order_id = store.record_work_order(created, _event(WorkOrderEventKind.CREATED, T0, alarm=str(alarm_id)))
    assert order_id > 0
    assert store.work_order(order_id) == replace(created, id=order_id)
    assert store.work_order(order_id + 1000) is None
    stored = replace(created, id=order_id)

    assigned = stored.assign("marc")
    store.update_work_order(
        assigned, _event(WorkOrderEventKind.ASSIGNED, T0 + 1, assignee="marc"), expected_status=stored.status
    )
    closed = assigned.start("marc").close(
        by="marc",
        at_us=T0 + 5,
        work_done="Joint de pompe changé ; « fuite » visible",
        fault_mode="pump_leak",
        parts_replaced=["joint torique 40×3", "filtre HP"],
    )
    store.update_work_order(closed, _event(WorkOrderEventKind.CLOSED, T0 + 5, by="marc", fault="pump_leak"))
    got = store.work_order(order_id)
    assert got == closed
    assert got is not None and got.parts_replaced == ("joint torique 40×3", "filtre HP") and got.rebaseline
    trail = store.work_order_events(order_id)
    assert [(e.kind, e.by, e.at_us, e.order_id) for e in trail] == [
        (WorkOrderEventKind.CREATED, "lea", T0, order_id),
        (WorkOrderEventKind.ASSIGNED, "lea", T0 + 1, order_id),
        (WorkOrderEventKind.CLOSED, "marc", T0 + 5, order_id),
    ]
    assert trail[0].detail("alarm") == str(alarm_id) and trail[2].details == (("fault", "pump_leak"),)
    assert all(e.id is not None for e in trail) and store.work_order_events(order_id + 1000) == []
    assert store.alarm(alarm_id) is not None and store.alarm(alarm_id + 1000) is None


def test_a_work_order_update_is_a_compare_and_set_on_its_status(store: TimeSeriesStore) -> None:
    order_id = store.record_work_order(_order(), _event(WorkOrderEventKind.CREATED, T0))
    opened = store.work_order(order_id)
    assert opened is not None
    store.update_work_order(opened.assign("marc"), _event(WorkOrderEventKind.ASSIGNED, T0 + 1))
    # A second tablet still showing the order open: its change is refused and nothing is written.
    with pytest.raises(WorkOrderConflict):
        store.update_work_order(
            opened.assign("paul"), _event(WorkOrderEventKind.ASSIGNED, T0 + 2), expected_status=opened.status
        )
    assert store.work_order(order_id) == opened.assign("marc")
    assert len(store.work_order_events(order_id)) == 2
    with pytest.raises(NotFound):
        store.update_work_order(
            replace(opened, id=order_id + 1000), _event(WorkOrderEventKind.STARTED, T0 + 3)
        )


def test_work_order_filters_and_newest_first_paging(store: TimeSeriesStore) -> None:
    made = {}
    for k, (machine, subsystem) in enumerate(
        [("P01", "pump"), ("P02", "cooler"), ("P01", "cooler"), ("P01", None), ("P02", "pump")]
    ):
        order = _order(machine, T0 + k * MINUTE_US, subsystem=subsystem, alarm_id=100 + k if k < 2 else None)
        made[k] = replace(order, id=store.record_work_order(order, _event(WorkOrderEventKind.CREATED, T0)))
    # Same creation time as #4: ties are broken by id, the later one first.
    tie = _order("P02", T0 + 4 * MINUTE_US, subsystem="electrical")
    made[5] = replace(tie, id=store.record_work_order(tie, _event(WorkOrderEventKind.CREATED, T0)))
    close = made[2].close(by="marc", at_us=T0 + HOUR_US, work_done="nettoyé", fault_mode="cooler_fouling")
    store.update_work_order(close, _event(WorkOrderEventKind.CLOSED, T0 + HOUR_US))
    cancel = made[1].cancel(by="lea", at_us=T0 + 2 * HOUR_US, reason="doublon")
    store.update_work_order(cancel, _event(WorkOrderEventKind.CANCELLED, T0 + 2 * HOUR_US))
    made[2], made[1] = close, cancel

    def ids(**filters: Any) -> list[int]:
        return [o.id for o in store.work_orders(**filters)]

    every = [made[k].id for k in (5, 4, 3, 2, 1, 0)]
    assert ids() == every
    assert store.work_orders() == [made[k] for k in (5, 4, 3, 2, 1, 0)]
    assert ids(machine="P01") == [made[k].id for k in (3, 2, 0)]
    assert ids(open_only=True) == [made[k].id for k in (5, 4, 3, 0)]
    assert ids(status=WorkOrderStatus.CLOSED) == [made[2].id]
    assert ids(status=WorkOrderStatus.CANCELLED) == [made[1].id]
    assert ids(subsystem="cooler") == [made[2].id, made[1].id]
    assert ids(subsystem="pump", machine="P02") == [made[4].id]
    assert ids(alarm_id=101) == [made[1].id]
    assert ids(closed_since_us=T0 + HOUR_US) == [made[2].id, made[1].id]
    assert ids(closed_since_us=T0 + HOUR_US + 1) == [made[1].id]
    assert ids(status=WorkOrderStatus.CLOSED, closed_since_us=T0) == [made[2].id]
    assert ids(limit=2) == every[:2]
    assert ids(limit=2, offset=2) == every[2:4]
    assert ids(offset=10) == []


def test_work_orders_survive_reopening(backend: Any, tmp_path: Path) -> None:
    with backend.for_tests(tmp_path) as first:
        order_id = first.record_work_order(_order(), _event(WorkOrderEventKind.CREATED, T0))
        stored = first.work_order(order_id)
        assert stored is not None
        first.update_work_order(stored.start("marc"), _event(WorkOrderEventKind.STARTED, T0 + 1, by="marc"))
    with backend.for_tests(tmp_path) as second:
        assert second.work_order(order_id) == stored.start("marc")
        assert [e.kind for e in second.work_order_events(order_id)] == [
            WorkOrderEventKind.CREATED,
            WorkOrderEventKind.STARTED,
        ]
        assert second.record_work_order(_order(), _event(WorkOrderEventKind.CREATED, T0)) != order_id
