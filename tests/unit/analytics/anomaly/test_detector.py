"""The detector: scores in [0, 1], streaming (earlier scores never depend on later rows), alerts on clear
anomalies and stays quiet on calm stretches. Synthetic series come from a seeded generator; the real-data
checks are in tests/integration/test_anomaly_cli.py (NAB corpus, skipped without the dataset)."""

from __future__ import annotations

import numpy as np
import pytest

from cadence.analytics.anomaly import DEFAULT, DetectorConfig, raw_scores, score_columns, score_series

# The best single threshold on the NAB corpus, standard profile (docs/benchmarks.md): an alert level a
# user would pick, so the synthetic checks use it too.
ALERT = 0.82


def _daily(rng: np.random.Generator, n: int = 3000, period: int = 288) -> np.ndarray:
    t = np.arange(n)
    return 50.0 + 10.0 * np.sin(2 * np.pi * t / period) + rng.normal(0.0, 1.0, n)


def test_scores_lie_in_the_unit_interval() -> None:
    rng = np.random.default_rng(1)
    for v in (_daily(rng), rng.standard_cauchy(2000), np.full(500, 3.0), np.cumsum(rng.normal(size=4000))):
        s = score_series(v)
        assert s.shape == v.shape
        assert np.all((s >= 0.0) & (s <= 1.0))


@pytest.mark.parametrize("k", [1, 149, 150, 151, 155, 1000, 2399])
def test_streaming_earlier_scores_ignore_later_rows(k: int) -> None:
    rng = np.random.default_rng(k)
    v = _daily(rng, 2400)
    v[1800] += 40.0
    altered = v.copy()
    altered[k:] = rng.normal(500.0, 80.0, v.size - k)  # wildly different future
    assert np.array_equal(score_series(v)[:k], score_series(altered)[:k])
    assert np.array_equal(score_series(v[:k]), score_series(v)[:k])  # a prefix scores the same alone
    table, other = np.column_stack([v, v[::-1]]), np.column_stack([altered, v[::-1]])
    other[k:, 1] = 0.0
    assert np.array_equal(score_columns(table)[:k], score_columns(other)[:k])


def test_a_spike_alerts_at_once_and_the_calm_cycle_does_not() -> None:
    v = _daily(np.random.default_rng(5))
    v[2500] += 25.0
    s = score_series(v)
    assert s[2500] >= ALERT
    # Days 4 to 9 of the same noisy daily cycle. (Earlier, a noise extreme beyond everything seen so far
    # is new: on this seed row 639, early on day 3, tops the first two days by more than a radius.)
    calm = s[864:2500]
    assert calm.max() < ALERT
    assert np.count_nonzero(calm > 0.5) <= calm.size // 100  # noise extremes only, a few per week
    assert s[2501:2600].max() < ALERT  # its echo is suppressed


def test_a_level_shift_alerts_within_a_few_rows() -> None:
    v = _daily(np.random.default_rng(9))
    v[2200:] += 30.0
    s = score_series(v)
    assert s[2200:2205].max() >= ALERT
    assert s[600:2200].max() < ALERT
    assert np.count_nonzero(s[2200:] >= ALERT) <= 3  # one alert per change, not one per row


def test_a_changed_shape_alerts_without_a_new_value() -> None:
    """The daily cycle stops in the middle of day 8: every value is ordinary, the pattern is not."""
    v = _daily(np.random.default_rng(13))
    v[2304:2400] = 50.0 + np.random.default_rng(14).normal(0.0, 1.0, 96)
    s = score_series(v)
    assert s[2304:2400].max() >= ALERT
    assert s[600:2304].max() < ALERT


def test_a_run_of_wild_steps_within_the_usual_range_alerts_through_the_surprise() -> None:
    """Values stay inside a familiar range and each step is merely large; thirty of them in a row are
    not ordinary. Novelty cannot see it (no new band), the surprise channel does."""
    rng = np.random.default_rng(11)
    v = rng.uniform(0.0, 10.0, 3000)
    v[2500:2530] = np.tile([0.3, 9.7], 15) + rng.uniform(-0.2, 0.2, 30)
    s = score_series(v)
    assert s[2500:2530].max() >= ALERT
    assert s[600:2500].max() < ALERT
    without = score_series(v, DetectorConfig(likelihood_weight=0.0))
    assert without[2500:2530].max() < ALERT


def test_warmup_rows_score_zero_and_short_series_are_all_zero() -> None:
    v = _daily(np.random.default_rng(2))
    assert score_series(v)[: DEFAULT.warmup_rows].max() == 0.0
    assert score_series(v[:100]).tolist() == [0.0] * 100
    assert score_series(np.zeros(0)).shape == (0,)


def test_multivariate_score_is_driven_by_the_anomalous_column() -> None:
    rng = np.random.default_rng(21)
    a, b = _daily(rng), _daily(rng)
    b[2700] -= 30.0
    s = score_columns(np.column_stack([a, b]))
    assert int(np.argmax(s)) == 2700 and s[2700] >= ALERT
    # Without suppression, the table's raw score is the larger of the columns' raw scores.
    assert np.array_equal(np.maximum(raw_scores(a), raw_scores(b))[2700:2701], [s[2700]])


def test_bad_input_and_configuration_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        score_series(np.r_[np.zeros(200), np.nan])
    with pytest.raises(ValueError):
        DetectorConfig(novelty_weight=1.5)
    with pytest.raises(ValueError):
        DetectorConfig(resolution=0.0)
    with pytest.raises(ValueError):
        DetectorConfig(growth=0.9)
    with pytest.raises(ValueError):
        DetectorConfig(likelihood_rows=0)
    with pytest.raises(ValueError):
        DetectorConfig(likelihood_digits=0.0)
    with pytest.raises(ValueError):
        score_columns(np.zeros((10, 0)))
    with pytest.raises(ValueError):
        DetectorConfig(record_rows=-1)
    with pytest.raises(ValueError):
        DetectorConfig(season_cycles=0)
    with pytest.raises(ValueError):
        DetectorConfig(season_seconds=(86_400.0, 0.0))


def _pulses(rng: np.random.Generator, days: int = 12) -> np.ndarray:
    """5-minute rows (288 a day): a level of 20 with a 40-unit pulse from 10:00 to 15:00 every day."""
    t = np.arange(days * 288)
    return 20.0 + rng.normal(0.0, 1.0, t.size) + 40.0 * ((t % 288 >= 120) & (t % 288 < 180))


def test_a_missing_daily_pulse_alerts_through_the_season_when_the_interval_is_known() -> None:
    """Day 11's pulse does not come: every value is ordinary (the level between pulses), only the time of
    day is wrong. Without the sampling interval nothing sees it; with it, the daily view does."""
    v = _pulses(np.random.default_rng(4))
    missing = slice(10 * 288 + 120, 10 * 288 + 180)
    v[missing] -= 40.0
    blind, seasonal = score_series(v), score_series(v, row_seconds=300.0)
    assert blind[600:].max() < ALERT
    assert seasonal[missing].max() >= ALERT
    assert seasonal[600 : 10 * 288 + 120].max() < ALERT and seasonal[10 * 288 + 180 :].max() < ALERT


def test_the_season_stays_silent_on_a_series_it_does_not_explain() -> None:
    """White noise and a random walk: a forecast from earlier days is worse than the level forecast, so the
    seasonal view never opens and the interval changes no score."""
    rng = np.random.default_rng(6)
    for v in (rng.normal(0.0, 1.0, 4000), np.cumsum(rng.normal(0.0, 1.0, 4000))):
        assert np.array_equal(score_series(v, row_seconds=300.0), score_series(v))
    # A season too short to have a shape (daily rows, one row a day) is no season at all.
    v = _pulses(np.random.default_rng(7))
    assert np.array_equal(score_series(v, row_seconds=86_400.0), score_series(v))


@pytest.mark.parametrize("k", [151, 864, 2016, 3000])
def test_streaming_holds_with_the_seasonal_view(k: int) -> None:
    rng = np.random.default_rng(k)
    v = _pulses(rng)
    altered = v.copy()
    altered[k:] = rng.normal(-300.0, 50.0, v.size - k)
    full = score_series(v, row_seconds=300.0)
    assert np.array_equal(full[:k], score_series(altered, row_seconds=300.0)[:k])
    assert np.array_equal(full[:k], score_series(v[:k], row_seconds=300.0))
