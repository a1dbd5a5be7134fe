"""Remaining useful life from a level's trend: crossing times, the band, refusals to guess."""

from __future__ import annotations

import numpy as np
import pytest

from cadence.analytics.health.trend import BAND_Z, forecast

HOURLY = np.arange(0.0, 7.0, 1 / 24)


def test_linear_trend_crosses_where_the_line_does() -> None:
    level = 0.2 + 0.04 * HOURLY
    f = forecast(HOURLY, level, threshold=1.0)
    assert f is not None
    expected = (1.0 - level[-1]) / 0.04
    assert f.eta_days == pytest.approx(expected, rel=1e-6)
    assert f.model == "linear"
    assert f.slope_per_day == pytest.approx(0.04)


def test_accelerating_wear_is_fitted_as_exponential_and_comes_sooner_than_a_line() -> None:
    level = 0.05 * np.exp(0.35 * HOURLY)
    f = forecast(HOURLY, level, threshold=1.0)
    assert f is not None and f.model == "exponential"
    expected = np.log(1.0 / 0.05) / 0.35 - HOURLY[-1]
    assert f.eta_days == pytest.approx(expected, rel=1e-3)
    line = np.polyfit(HOURLY, level, 1)
    assert f.eta_days < (1.0 - np.polyval(line, HOURLY[-1])) / line[0]


def test_band_covers_the_truth_about_as_often_as_it_says() -> None:
    # Noisy AR(1) wander around a known line: the 80 % band should hold the true crossing ~80 % of the
    # time; without the effective-sample correction it would hold it far less often.
    rng = np.random.default_rng(7)
    hits, runs = 0, 300
    for _ in range(runs):
        noise = np.zeros(len(HOURLY))
        for i in range(1, len(noise)):
            noise[i] = 0.9 * noise[i - 1] + rng.normal(0, 0.01)
        level = 0.1 + 0.05 * HOURLY + noise
        f = forecast(HOURLY, level, threshold=1.0)
        assert f is not None
        truth = (1.0 - 0.1) / 0.05 - HOURLY[-1]
        hits += f.low_days <= truth <= f.high_days
    assert 0.6 <= hits / runs <= 0.97


def test_band_is_symmetric_in_the_delta_method() -> None:
    rng = np.random.default_rng(3)
    level = 0.1 + 0.05 * HOURLY + rng.normal(0, 0.01, len(HOURLY))
    f = forecast(HOURLY, level, threshold=1.0)
    assert f is not None
    assert f.high_days - f.eta_days == pytest.approx(f.eta_days - f.low_days)
    assert f.plus_minus_days > 0
    assert pytest.approx(1.2816, abs=1e-4) == BAND_Z


@pytest.mark.parametrize(
    "level",
    [
        np.full(len(HOURLY), 0.3),  # flat
        0.8 - 0.05 * HOURLY,  # improving
        0.3 + np.random.default_rng(1).normal(0, 0.05, len(HOURLY)),  # noise only
    ],
)
def test_no_rising_trend_no_date(level: np.ndarray) -> None:
    assert forecast(HOURLY, level, threshold=1.0) is None


def test_too_few_points_or_too_far_gives_no_date() -> None:
    assert forecast(HOURLY[:5], 0.1 + HOURLY[:5], threshold=1.0) is None
    assert forecast(HOURLY, 0.1 + 0.0005 * HOURLY, threshold=1.0, min_t=0.0) is None  # years away


def test_only_the_recent_window_counts() -> None:
    # Flat for a month, then rising for the last four days: the old flat part must not dilute the slope.
    days = np.arange(0.0, 34.0, 1 / 24)
    level = np.where(days < 30, 0.05, 0.05 + 0.1 * (days - 30))
    f = forecast(days, level, threshold=1.0, window_days=4)
    assert f is not None
    assert f.eta_days == pytest.approx((1.0 - level[-1]) / 0.1, rel=0.05)


def test_reached_threshold_is_now() -> None:
    f = forecast(HOURLY, 0.5 + 0.1 * HOURLY, threshold=1.0)
    assert f is not None and f.eta_days == 0.0


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        forecast([0.0, 1.0], [0.1], threshold=1.0)
