"""Causal rolling statistics against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from cadence.analytics.anomaly.rolling import delayed, trailing_max, trailing_mean_std


@pytest.mark.parametrize("window", [1, 2, 3, 7, 16, 100])
def test_trailing_max_is_the_max_of_the_previous_rows(window: int) -> None:
    x = np.random.default_rng(window).normal(size=250)
    got = trailing_max(x, window)
    assert got[0] == -np.inf
    for t in range(1, x.size):
        assert got[t] == x[max(t - window, 0) : t].max()


@pytest.mark.parametrize("window", [1, 5, 64])
def test_trailing_mean_std_matches_numpy(window: int) -> None:
    x = np.random.default_rng(3).normal(5.0, 2.0, 300)
    mean, std = trailing_mean_std(x, window)
    for t in range(x.size):
        part = x[max(t - window + 1, 0) : t + 1]
        assert mean[t] == pytest.approx(part.mean(), abs=1e-9)
        assert std[t] == pytest.approx(part.std(), abs=1e-5)  # E[x²] − E[x]² loses a few digits


def test_delayed_and_bad_window() -> None:
    assert delayed(np.array([1.0, 2.0]), 5, -1.0).tolist() == [-1.0, -1.0]
    with pytest.raises(ValueError, match="at least 1"):
        trailing_max(np.zeros(3), 0)
