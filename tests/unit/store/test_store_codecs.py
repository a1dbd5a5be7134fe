"""The sample chunk codec: exact round trips at the resolution, and what it costs per point at rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadence.domain import Batch, IdempotencyKey, SampleBlock, SignalKind, SignalSpec, Waveform
from cadence.store import codecs
from cadence.store.sqlite import SqliteStore

T0 = 1_700_000_000_000_000
DAY_US = 86_400_000_000
# The target the lead set for the embedded store: at most 3 bytes per point at rest, timestamps included.
MAX_BYTES_PER_POINT = 3.0


@pytest.mark.parametrize(
    ("resolution", "expected"),
    [
        (0.01, (2, 1)),
        (0.1, (1, 1)),
        (0.25, (2, 25)),
        (0.5, (1, 5)),
        (1.0, (0, 1)),
        (5.0, (0, 5)),
        (0.001, (3, 1)),
    ],
)
def test_decimal_form(resolution: float, expected: tuple[int, int]) -> None:
    assert codecs.decimal_form(resolution) == expected


@given(
    steps=st.lists(st.integers(-(2**40), 2**40), max_size=200),
    resolution=st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 10.0]),
)
def test_values_on_the_resolution_grid_round_trip_bit_for_bit(steps: list[int], resolution: float) -> None:
    decimals, _ = codecs.decimal_form(resolution)
    values = np.array([round(s * resolution, decimals) for s in steps], dtype=np.float64)
    ts = T0 + np.arange(len(values), dtype=np.int64) * 7
    ts_blob, val_blob = codecs.encode_chunk(ts, values, resolution)
    ts2, values2 = codecs.decode_chunk(ts_blob, val_blob, resolution)
    assert np.array_equal(ts2, ts)
    assert values2.tobytes() == values.tobytes()


def test_values_off_the_grid_round_to_the_nearest_step_half_to_even() -> None:
    spec = SignalSpec("p", "bar", sampling_hz=1, resolution=0.01)
    values = np.array([231.456, 0.125, 0.135, -0.004, 1e-9])
    steps = codecs.quantise(values, 0.01)
    assert steps.tolist() == [spec.quantise(v) for v in values]
    assert codecs.dequantise(steps, 0.01).tolist() == [spec.dequantise(int(s)) for s in steps]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 1e20])
def test_values_that_cannot_be_stored_exactly_are_refused(bad: float) -> None:
    with pytest.raises(codecs.CodecError):
        codecs.quantise(np.array([1.0, bad]), 0.01)


def test_empty_arrays_round_trip() -> None:
    assert codecs.decode_ints(codecs.encode_ints(np.empty(0, dtype=np.int64))).shape == (0,)
    assert codecs.decode_floats(codecs.encode_floats(np.empty(0))).shape == (0,)


def test_regular_timestamps_cost_almost_nothing() -> None:
    ts = T0 + np.arange(100_000, dtype=np.int64) * 2_000  # 500 Hz for 200 s
    blob = codecs.encode_ints(ts)
    assert len(blob) / len(ts) < 0.01
    assert np.array_equal(codecs.decode_ints(blob), ts)


def test_corrupt_blobs_raise_codec_errors() -> None:
    blob = codecs.encode_ints(np.arange(1_000, dtype=np.int64) * 3)
    with pytest.raises(codecs.CodecError):
        codecs.decode_ints(blob[: len(blob) // 2])
    with pytest.raises(codecs.CodecError):
        codecs.decode_ints(codecs.encode_floats(np.ones(3)))  # a float blob where ints are expected
    with pytest.raises(codecs.CodecError):
        codecs.decode_waveform(b"not a waveform")


def test_waveforms_round_trip_with_and_without_a_resolution() -> None:
    rng = np.random.default_rng(0)
    waveform = Waveform(
        t0_us=T0,
        dt_us=10_000,
        signals={
            "pressure": np.round(rng.uniform(0, 250, 400), 2),
            "position": np.round(rng.uniform(0, 300, 400) * 4) / 4,
            "unknown": rng.normal(size=400),
        },
    )
    blob = codecs.encode_waveform(waveform, {"pressure": 0.01, "position": 0.25})
    assert codecs.decode_waveform(blob) == waveform
    with pytest.raises(codecs.CodecError):
        codecs.decode_waveform(blob[:-7])


# --- bytes per point at rest, through the store --------------------------------------------------------


def press_pressure(rng: np.random.Generator, n: int) -> np.ndarray:
    """One 8 s stroke of a hydraulic press sampled at 500 Hz, in bar: approach, build-up to ~230 bar,
    dwell with a slow decay, decompression and return, with a transducer noise of 0.2 bar."""
    t = np.arange(n) / 500.0
    peak = 230 + rng.normal(0, 2)
    curve = np.select(
        [t < 2.0, t < 3.0, t < 5.0, t < 5.5],
        [
            8 + 2 * t,  # approach: line pressure only
            12 + (peak - 12) * (t - 2.0),  # build-up
            peak - 3.0 * (t - 3.0),  # dwell, leaking 3 bar/s
            (peak - 6) * (1 - (t - 5.0) / 0.5) + 10,  # decompression
        ],
        default=10 - (t - 5.5),  # return stroke
    )
    return np.round(curve + rng.normal(0, 0.2, n), 2)


def _bytes_per_point_after_compaction(tmp_path: Path, spec: SignalSpec, blocks: list[SampleBlock]) -> float:
    with SqliteStore.for_tests(tmp_path) as store:
        store.register_signals("P01", [spec])
        batches = [
            Batch(IdempotencyKey("gw", 1, i), "P01", samples=(b,), digest=bytes([i % 256]))
            for i, b in enumerate(blocks)
        ]
        # Small groups, like ingest's: each group's blocks of one series share a chunk, and compaction then
        # merges those small chunks into large ones.
        group = 1 if len(batches) < 1_000 else 3
        for start in range(0, len(batches), group):
            store.append(batches[start : start + group])
        assert store.compact(T0 + 30 * DAY_US) > 0
        stats = store.stats()
        assert stats.points == sum(len(b) for b in blocks)
        return stats.bytes_per_point


def test_a_500hz_pressure_waveform_at_0_01_bar_costs_at_most_3_bytes_per_point(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    spec = SignalSpec("pressure", "bar", sampling_hz=500, resolution=0.01, kind=SignalKind.WAVEFORM)
    # 150 strokes of 8 s, one block per stroke, with 1-3 s of operator gap between strokes.
    blocks, start = [], T0
    for _ in range(150):
        blocks.append(SampleBlock.regular("pressure", start, 2_000, press_pressure(rng, 4_000)))
        start += 8_000_000 + int(rng.integers(1_000_000, 3_000_000))
    bpp = _bytes_per_point_after_compaction(tmp_path, spec, blocks)
    assert bpp <= MAX_BYTES_PER_POINT


def test_a_1hz_temperature_at_0_1_degree_costs_at_most_3_bytes_per_point(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    spec = SignalSpec("oil_temp", "°C", sampling_hz=1, resolution=0.1, kind=SignalKind.SLOW)
    n = 6 * 3_600  # six hours
    drift = 40 + 15 * (1 - np.exp(-np.arange(n) / 5_000))  # warming up from 40 °C
    temps = np.round(drift + rng.normal(0, 0.05, n), 1)
    # A gateway stamping in whole milliseconds with ±3 ms of polling jitter, one message every 10 s.
    ts = T0 + np.arange(n, dtype=np.int64) * 1_000_000 + rng.integers(-3, 4, n) * 1_000
    blocks = [SampleBlock("oil_temp", ts[i : i + 10], temps[i : i + 10]) for i in range(0, n, 10)]
    bpp = _bytes_per_point_after_compaction(tmp_path, spec, blocks)
    assert bpp <= MAX_BYTES_PER_POINT
