"""Novelty, deviation, surprise and repeat suppression on small hand-checked inputs."""

from __future__ import annotations

import numpy as np
import pytest

from cadence.analytics.anomaly.deviation import prediction_error_z, squash
from cadence.analytics.anomaly.likelihood import log10_tail, surprise
from cadence.analytics.anomaly.novelty import Grid, block_novelty, context_novelty
from cadence.analytics.anomaly.suppression import suppress_repeats


def test_grid_spans_the_warmup_range_and_extends_beyond_it() -> None:
    grid = Grid.from_warmup(np.array([10.0, 14.0, 12.0]), bins=4)
    assert (grid.origin, grid.width) == (10.0, 1.0)
    assert grid.cells(np.array([9.5, 10.0, 13.99, 14.0, 30.0])).tolist() == [-1, 0, 3, 4, 20]


def test_cells_widen_geometrically_beyond_the_warmup_range() -> None:
    grid = Grid.from_warmup(np.array([0.0, 8.0]), bins=8, growth=1.5)
    # Inside the range: unit cells. Above 8: cells of width 1, 1.5, 2.25, 3.375 … (edges 9, 10.5, 12.75).
    assert grid.cells(np.array([0.5, 7.9, 8.5, 9.2, 10.4, 10.6, 12.7, 12.8])).tolist() == [
        0,
        7,
        8,
        9,
        9,
        10,
        10,
        11,
    ]
    # Below 0 the same widths outwards: −1, −2.5, −4.75.
    assert grid.cells(np.array([-0.5, -1.2, -2.4, -2.6])).tolist() == [-1, -2, -2, -3]
    assert Grid.from_warmup(np.array([0.0, 8.0]), bins=8).cells(np.array([100.0])).tolist() == [100]
    with pytest.raises(ValueError):
        Grid(0.0, 1.0, 8, growth=0.5)


def test_far_spikes_are_new_only_when_clearly_bigger() -> None:
    """A heavy-tailed series: spikes of 150, then 140 and 160 (nothing new), then 300 (new)."""
    v = np.r_[np.tile([1.0, 3.0, 2.0, 9.0], 40), 150.0, 2.0, 140.0, 2.0, 160.0, 2.0, 300.0]
    equal = context_novelty(Grid.from_warmup(v[:160], 8).cells(v), (1,))
    wide = context_novelty(Grid.from_warmup(v[:160], 8, growth=1.2).cells(v), (1,))
    assert equal[[160, 162, 164, 166]].tolist() == [1.0, 1.0, 1.0, 1.0]  # every spike in a fresh cell
    assert wide[[160, 162, 164, 166]].tolist() == [1.0, 0.0, 0.0, 1.0]


def test_flat_warmup_still_gives_a_usable_grid() -> None:
    grid = Grid.from_warmup(np.full(20, 50.0), bins=8)
    assert grid.width == pytest.approx(0.05)
    assert Grid.from_warmup(np.zeros(5), bins=8).width == pytest.approx(1e-3)
    with pytest.raises(ValueError):
        Grid.from_warmup(np.zeros(0), bins=8)


def test_a_cycle_is_new_once_then_familiar() -> None:
    cycle = np.array([0, 1, 2, 3] * 5 + [0, 2])  # last step: 0 → 2 never happened
    novelty = context_novelty(cycle, orders=(1, 2, 3))
    assert novelty[6:20].max() == 0.0  # from its second pass on, the cycle is known
    assert novelty[-1] == pytest.approx(2 / 3)  # the cell is known, pairs and triples are new
    with pytest.raises(ValueError):
        context_novelty(cycle, orders=())


def test_block_novelty_sees_a_slow_change_that_single_rows_hide() -> None:
    # Each row alternates 0/1; from row 400 the pairs are (1, 1): every value was seen before,
    # but the 2-row mean 1.0 never was.
    v = np.tile([0.0, 1.0], 250)
    v[400::2] = 1.0
    single = context_novelty(Grid.from_warmup(v[:100], 8).cells(v), (1,))
    blocks = block_novelty(v, size=2, bins=8, warmup_rows=100, orders=(1,))
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
