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
    level = 0.05 * np.exp(0.25 * HOURLY)  # the rate grows e^1.75-fold over the week
    f = forecast(HOURLY, level, threshold=1.0)
    assert f is not None and f.model == "exponential"
    expected = np.log(1.0 / 0.05) / 0.25 - HOURLY[-1]
    # The acceleration is taken on a grid (16 steps): exact data give the crossing to within a step.
    assert f.eta_days == pytest.approx(expected, rel=0.03)
    line = np.polyfit(HOURLY, level, 1)
    assert f.eta_days < (1.0 - np.polyval(line, HOURLY[-1])) / line[0]


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = phi * noise[i - 1] + rng.normal(0, sd)
    return noise


def test_band_covers_the_truth_about_as_often_as_it_says() -> None:
    # Autocorrelated wander around a known line: the 80 % band should hold the true crossing ~80 % of the
    # time; without the effective-sample correction it would hold it far less often.
    rng = np.random.default_rng(7)
    hits, ratios, runs = 0, [], 200
    truth = (1.0 - 0.1) / 0.05 - HOURLY[-1]
    for _ in range(runs):
        level = 0.1 + 0.05 * HOURLY + _ar1(rng, len(HOURLY), 0.5, 0.01)
        f = forecast(HOURLY, level, threshold=1.0)
        assert f is not None
        hits += f.low_days <= truth <= f.high_days
        ratios.append(f.eta_days / truth)
    assert 0.6 <= hits / runs <= 0.97
    assert 0.8 <= float(np.median(ratios)) <= 1.1


def _severity(u: np.ndarray) -> np.ndarray:
    """The simulator's wear shape (cadence.simulator.faults): linear trend plus an exponential tail."""
    return 0.5 * u + 0.5 * np.expm1(3 * u) / np.expm1(3.0)


def test_accelerating_wear_from_a_flat_start_is_forecast_near_the_truth_with_an_honest_band() -> None:
    # Presses healthy for a few days (the monitor reports 0), then wearing along the simulator's shape with
    # their own life and failure level, seen through autocorrelated noise; forecasts from the alert (level
    # 0.2) until the crossing. Fitting the week as one line or one exponential, as the first version did,
    # gave dates 2-5 times too late here: the flat days before onset and the acceleration both hide.
    rng = np.random.default_rng(11)
    days = np.arange(0.0, 20.0, 1 / 24)
    hits = made = asked = 0
    ratios = []
    for _ in range(25):
        life, onset, scale = rng.uniform(8, 16), rng.uniform(2, 5), rng.uniform(1, 2)
        true_level = scale * _severity(np.clip((days - onset) / life, 0, None))
        seen = true_level + _ar1(rng, len(days), 0.8, 0.02)
        seen = np.where(seen > 0.05, seen, 0.0)
        crossing = days[np.argmax(true_level >= 1.0)]
        alert = days[np.argmax(seen >= 0.2)]
        for now in np.arange(alert, crossing - 0.25, 0.5):
            n = int(np.searchsorted(days, now, "right"))
            f = forecast(days[:n], seen[:n], threshold=1.0)
            asked += 1
            if f is None:
                continue
            made += 1
            actual = crossing - days[n - 1]
            hits += f.low_days <= actual <= f.high_days
            ratios.append(f.eta_days / actual)
    assert made >= 0.9 * asked
    assert 0.65 <= hits / made <= 0.95
    assert 0.8 <= float(np.median(ratios)) <= 1.25


def test_noisier_level_wider_band() -> None:
    rng = np.random.default_rng(3)
    wobble = rng.normal(0, 1, len(HOURLY))
    quiet = forecast(HOURLY, 0.1 + 0.05 * HOURLY + 0.005 * wobble, threshold=1.0)
    noisy = forecast(HOURLY, 0.1 + 0.05 * HOURLY + 0.02 * wobble, threshold=1.0)
    assert quiet is not None and noisy is not None
    assert quiet.low_days <= quiet.eta_days <= quiet.high_days
    assert noisy.plus_minus_days > 2 * quiet.plus_minus_days > 0
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


def test_a_step_or_a_rise_of_a_few_thousandths_is_no_trend() -> None:
    # What healthy presses of the simulator showed: a feature passing its significance threshold makes the
    # level jump from 0 to a few hundredths and wander there, or creep to 0.002 in quantised steps. Both fit
    # a steep start from the flat part; neither is wear heading for failure.
    rng = np.random.default_rng(5)
    step = np.where(HOURLY < 6.5, 0.0, 0.05 + rng.normal(0, 0.008, len(HOURLY)))
    assert forecast(HOURLY, step, threshold=1.0) is None
    creep = np.where(HOURLY < 6.3, 0.0, 0.002 + 0.001 * (HOURLY > 6.9))
    assert forecast(HOURLY, creep, threshold=1.0) is None
    # The same shapes scaled up to a real rise still get a date: the refusal is about the size of the rise.
    assert forecast(HOURLY, np.where(HOURLY < 5.0, 0.0, 0.3 * (HOURLY - 5.0)), threshold=1.0) is not None


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


def test_an_uncertain_failure_level_widens_the_band_to_hold_where_presses_really_fail() -> None:
    # Presses fail at a level scattered log-normally around 1 (as the simulator's did: 0.6-2.2). The band
    # of the crossing of 1 alone rarely holds the failure; spread by that scatter, it holds it about as
    # often as it says, and the median barely moves.
    rng = np.random.default_rng(5)
    plain_hits = spread_hits = 0
    runs = 60
    for _ in range(runs):
        failure_level = float(np.exp(rng.normal(0.0, 0.4)))
        level = 0.1 + 0.05 * HOURLY + _ar1(rng, len(HOURLY), 0.5, 0.01)
        truth = (failure_level - 0.1) / 0.05 - HOURLY[-1]
        plain = forecast(HOURLY, level, threshold=1.0)
        spread = forecast(HOURLY, level, threshold=1.0, threshold_sd=0.4)
        assert plain is not None and spread is not None
        plain_hits += plain.low_days <= truth <= plain.high_days
        spread_hits += spread.low_days <= truth <= spread.high_days
        assert spread.eta_days == pytest.approx(plain.eta_days, rel=0.1)
        assert spread.high_days - spread.low_days > plain.high_days - plain.low_days
    assert plain_hits / runs < 0.5
    assert 0.65 <= spread_hits / runs <= 0.95


def test_a_passed_share_of_the_uncertain_levels_counts_as_now() -> None:
    # The level is at 0.9: the lowest failure levels (below 0.9) are already passed, the band starts now.
    level = 0.2 + 0.1 * HOURLY
    f = forecast(HOURLY, level, threshold=1.0, threshold_sd=0.4)
    assert f is not None
    assert f.low_days == 0.0 < f.eta_days < f.high_days
