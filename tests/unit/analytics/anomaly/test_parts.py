"""Novelty (leaders), deviation, surprise and repeat suppression on small hand-checked inputs."""

from __future__ import annotations

import numpy as np
import pytest

from cadence.analytics.anomaly.deviation import prediction_error_z, squash
from cadence.analytics.anomaly.likelihood import log10_tail, surprise
from cadence.analytics.anomaly.novelty import Radius, block_novelty, leader_novelty
from cadence.analytics.anomaly.seasonal import period_rows, seasonal_errors, seasonal_share
from cadence.analytics.anomaly.suppression import suppress_repeats


def test_radius_comes_from_the_warmup_range_and_widens_beyond_it() -> None:
    radius = Radius.from_warmup(np.array([10.0, 14.0, 12.0]), resolution=4.0, growth=1.5)
    assert (radius.low, radius.high, radius.base) == (10.0, 14.0, 1.0)
    # Inside the range: the base radius; beyond it, half the distance to the range is added.
    assert [radius.at(x) for x in (10.0, 12.5, 14.0, 16.0, 8.0, 34.0)] == [1.0, 1.0, 1.0, 2.0, 2.0, 11.0]
    assert Radius.from_warmup(np.array([0.0, 8.0]), resolution=8.0).at(100.0) == 1.0
    with pytest.raises(ValueError):
        Radius(0.0, 1.0, 1.0, growth=0.5)
    with pytest.raises(ValueError):
        Radius.from_warmup(np.array([0.0, 1.0]), resolution=0.0)


def test_a_value_is_new_only_when_no_leader_is_near() -> None:
    radius = Radius.from_warmup(np.array([0.0, 10.0]), resolution=10.0)  # radius 1 everywhere
    v = np.array([0.0, 0.9, 2.0, 1.2, 3.05, 4.1, 5.0, 6.5, -1.5])
    # Leaders: 0, 2, 3.05, 4.1 (each more than 1 from every earlier leader), 6.5 and −1.5; 0.9, 1.2 and
    # 5.0 lie within 1 of one.
    assert leader_novelty(v, radius).tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]


def test_a_slow_drift_is_new_once_per_radius() -> None:
    """A drift by 1/8 per row past the warm-up range: new each time it is more than one radius (1) past
    the last leader, i.e. every 9 rows."""
    v = np.r_[np.tile([0.0, 10.0], 50), 10.0 + 0.125 * np.arange(1, 101)]
    novelty = leader_novelty(v, Radius.from_warmup(v[:100], resolution=10.0))
    assert np.flatnonzero(novelty[100:]).tolist() == list(range(8, 100, 9))


def test_far_spikes_are_new_only_when_clearly_bigger() -> None:
    """A heavy-tailed series: spikes of 150, then 140 and 160 (nothing new), then 300 (new)."""
    v = np.r_[np.tile([1.0, 3.0, 2.0, 9.0], 40), 150.0, 2.0, 140.0, 2.0, 160.0, 2.0, 300.0]
    same = leader_novelty(v, Radius.from_warmup(v[:160], resolution=8.0))
    wide = leader_novelty(v, Radius.from_warmup(v[:160], resolution=8.0, growth=1.2))
    assert same[[160, 162, 164, 166]].tolist() == [1.0, 1.0, 1.0, 1.0]  # every spike somewhere new
    assert wide[[160, 162, 164, 166]].tolist() == [1.0, 0.0, 0.0, 1.0]


def test_flat_warmup_still_gives_a_usable_radius() -> None:
    assert Radius.from_warmup(np.full(20, 50.0), resolution=8.0).base == pytest.approx(0.05)
    assert Radius.from_warmup(np.zeros(5), resolution=8.0).base == pytest.approx(1e-3)
    with pytest.raises(ValueError):
        Radius.from_warmup(np.zeros(0), resolution=8.0)


def test_a_cycle_is_new_once_then_familiar() -> None:
    cycle = np.tile(np.sin(np.arange(48) * 2 * np.pi / 48), 5)
    novelty = leader_novelty(cycle, Radius.from_warmup(cycle[:48], resolution=12.0))
    assert novelty[:48].sum() > 0 and novelty[48:].max() == 0.0  # from its second pass on, it is known


def test_shifting_the_series_does_not_change_novelty() -> None:
    """Leaders sit on the data, not on grid edges: the same shape at another level is judged alike."""
    rng = np.random.default_rng(8)
    v = np.cumsum(rng.normal(size=2000))
    novelty = leader_novelty(v, Radius.from_warmup(v[:150], resolution=12.0, growth=1.1))
    moved = v + 0.37 * (v[:150].max() - v[:150].min()) / 12.0
    assert np.array_equal(novelty, leader_novelty(moved, Radius.from_warmup(moved[:150], 12.0, 1.1)))


def test_block_novelty_sees_a_slow_change_that_single_rows_hide() -> None:
    # Each row alternates 0/1; from row 400 the pairs are (1, 1): every value was seen before,
    # but the 2-row mean 1.0 never was.
    v = np.tile([0.0, 1.0], 250)
    v[400::2] = 1.0
    single = leader_novelty(v, Radius.from_warmup(v[:100], resolution=8.0))
    blocks = block_novelty(v, size=2, warmup_rows=100, resolution=8.0)
    assert single[100:].max() == 0.0
    assert np.flatnonzero(blocks).tolist() == [401]


def test_deviation_is_large_for_a_step_and_small_for_noise() -> None:
    rng = np.random.default_rng(11)
    v = rng.normal(0.0, 1.0, 500)
    v[400] += 12.0
    z = prediction_error_z(v, reference_rows=100, scale_rows=300)
    assert z[0] == 0.0
    assert z[400] > 8.0 and np.percentile(z[50:400], 99) < 4.0
    assert squash(np.array([3.0]), half=3.0)[0] == 0.5


def test_suppression_keeps_the_first_of_a_burst() -> None:
    s = np.array([0.0, 0.9, 0.91, 0.93, 0.0, 0.0, 0.0, 0.0, 0.9, 0.99])
    out = suppress_repeats(s, rows=3, margin=0.05)
    assert out.tolist() == [0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9, 0.99]


def test_log10_tail_matches_the_normal_distribution_far_into_the_tail() -> None:
    # Reference values of Q(z) = P(N(0, 1) > z), from the standard normal table.
    z = np.array([-3.0, -1.0, 0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 20.0])
    q = [0.998650102, 0.841344746, 0.5, 0.158655254, 0.022750132, 1.349898e-3, 2.866516e-7, 6.220961e-16]
    np.testing.assert_allclose(10.0 ** log10_tail(z[:-1]), q, rtol=1e-6)
    assert log10_tail(z)[-1] == pytest.approx(-88.56, abs=0.01)  # Q(20) = 2.75e-89: no underflow
    assert np.all(np.diff(log10_tail(np.linspace(-10.0, 40.0, 501))) < 0)  # strictly decreasing


def test_surprise_is_zero_for_the_usual_and_large_for_a_raised_run() -> None:
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.0, 0.2, 3000)  # a noisy raw score, usually small
    raw[2500:2510] = 0.5  # ten raised rows: each ordinary for a noisy score, together not
    s = surprise(raw, short_rows=10, long_rows=2000)
    assert np.all(s >= 0.0)
    assert np.median(s[500:2500]) < 0.3
    assert s[2509] > 10.0 and s[2509] == s[2490:2520].max()
    # Streaming: the surprise of a row ignores later rows.
    assert np.array_equal(surprise(raw[:2505], 10, 2000), s[:2505])


def test_surprise_of_a_flat_score_stays_finite() -> None:
    raw = np.r_[np.zeros(500), 0.001, np.zeros(10)]  # spread 0 so far: the floor sets the scale
    s = surprise(raw, short_rows=1, long_rows=400)
    assert np.all(np.isfinite(s)) and s[:500].max() == 0.0
    assert 0.0 < s[500] < 1.0  # a move of a tenth of the floor is not news


def test_only_a_record_run_is_surprising_with_the_record_rule() -> None:
    """Equal bursts every 100 rows: under the Gaussian each one is improbable; with the record rule only
    the first and a clearly larger one count, and a burst beyond the record span counts again."""
    burst = np.r_[np.zeros(90), np.full(10, 0.5)]
    raw = np.r_[np.tile(burst, 6), np.zeros(90), np.full(10, 0.8), np.zeros(400), burst]
    plain = surprise(raw, short_rows=10, long_rows=1000)
    record = surprise(raw, short_rows=10, long_rows=1000, record_rows=300)
    ends = [99, 199, 299, 399, 499, 599, 699, 1199]  # last row of each burst
    assert all(plain[t] > 1.0 for t in ends[:3])
    assert [t for t in ends if record[t] > 0.0] == [99, 699, 1199]
    assert np.all(record <= plain)
    assert np.array_equal(surprise(raw, 10, 1000, record_rows=0), plain)


def test_period_rows_from_the_sampling_interval() -> None:
    assert period_rows(300.0, 86_400.0) == 288 and period_rows(1800.0, 604_800.0) == 336
    assert period_rows(3600.0, 86_400.0) == 24 and period_rows(86_400.0, 604_800.0) == 7
    # Too short to have a shape, or no usable interval: no season.
    assert period_rows(43_200.0, 86_400.0) == 0
    assert period_rows(None, 86_400.0) == period_rows(0.0, 86_400.0) == period_rows(float("nan"), 1.0) == 0


def test_seasonal_forecast_is_the_median_of_the_cycles_that_exist() -> None:
    v = np.array([1.0, 2.0, 10.0, 20.0, 3.0, 4.0, 5.0, 7.0])  # period 2
    e = seasonal_errors(v, period=2, cycles=3)
    assert np.isnan(e[:2]).all()
    # Row 2: one cycle back (1); row 4: median of 10 and 1 (5.5); row 6: median of 3, 10 and 1 (3).
    assert e[2:].tolist() == [9.0, 18.0, -2.5, -7.0, 2.0, 3.0]
    with pytest.raises(ValueError):
        seasonal_errors(v, period=0, cycles=3)


def test_seasonal_share_compares_the_spreads_of_the_two_forecasts() -> None:
    rng = np.random.default_rng(2)
    level = rng.normal(0.0, 4.0, 500)
    share = seasonal_share(level / 4.0, level, rows=200)
    assert share[10:] == pytest.approx(0.25)
    assert np.isinf(seasonal_share(np.ones(5), np.zeros(5), rows=3)).all()
