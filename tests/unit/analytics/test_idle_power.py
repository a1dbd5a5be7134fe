"""idle_power_kw: the median metered motor power over the idle gap before a stroke."""

from __future__ import annotations

import numpy as np

from cadence.analytics.stroke_features import IDLE_WINDOW_S, idle_power_kw

DT_US = 100_000  # a 10 Hz power meter


def meter(seconds: float, kw: float, *, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    ts = np.arange(0, round(seconds * 1e6), DT_US, dtype=np.int64)
    rng = np.random.default_rng(seed)
    values = np.round((kw + noise * rng.standard_normal(len(ts))) / 0.01) * 0.01  # 0.01 kW resolution
    return ts, values


def test_the_median_reads_the_level_through_meter_noise_and_the_return_stroke_tail() -> None:
    ts, power = meter(6.0, 3.33, noise=0.045)
    power[:8] = 11.0  # the return stroke ends in the first 0.7 s: skipped or outvoted
    value = idle_power_kw(ts, power, 0, 6_000_000)
    assert value is not None and abs(value - 3.33) < 0.02


def test_a_short_gap_or_too_few_samples_gives_nothing() -> None:
    ts, power = meter(10.0, 3.3)
    assert idle_power_kw(ts, power, 5_000_000, 5_900_000) is None  # 0.9 s < 1 s
    assert idle_power_kw(ts, power, 5_000_000, 6_000_000) == 3.3  # 1 s: 7 samples after settling
    sparse_ts, sparse = ts[::10], power[::10]  # a 1 Hz meter over a 1.5 s gap: one sample
    assert idle_power_kw(sparse_ts, sparse, 5_000_000, 6_500_000) is None


def test_a_stopped_motor_in_the_gap_is_not_idle_running() -> None:
    ts, power = meter(10.0, 3.3)
    power[40:60] = 0.0
    assert idle_power_kw(ts, power, 0, 10_000_000) is None
    assert idle_power_kw(ts, power, 6_000_000, 10_000_000) == 3.3  # restarted at 6 s: that gap is idle


def test_only_the_last_window_before_the_stroke_counts() -> None:
    # A die change: 20 minutes of idling in oil that cooled, power falling as it warms again near the end.
    ts, power = meter(1200.0, 3.60)
    late = ts >= ts[-1] - round(IDLE_WINDOW_S * 1e6)
    power[late] = 3.40
    assert idle_power_kw(ts, power, 0, int(ts[-1]) + DT_US) == 3.4
