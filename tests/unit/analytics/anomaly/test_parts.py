"""Novelty, deviation and repeat suppression on small hand-checked inputs."""

from __future__ import annotations

import numpy as np
import pytest

from cadence.analytics.anomaly.deviation import prediction_error_z, squash
from cadence.analytics.anomaly.novelty import Grid, block_novelty, context_novelty
from cadence.analytics.anomaly.suppression import suppress_repeats


def test_grid_spans_the_warmup_range_and_extends_beyond_it() -> None:
    grid = Grid.from_warmup(np.array([10.0, 14.0, 12.0]), bins=4)
    assert (grid.origin, grid.width) == (10.0, 1.0)
    assert grid.cells(np.array([9.5, 10.0, 13.99, 14.0, 30.0])).tolist() == [-1, 0, 3, 4, 20]


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
