"""Oil temperature at equal load, and the sentences built from the health state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cadence.analytics.health.explain import Move, describe_move, explain
from cadence.analytics.health.thermal import ThermalBaseline, advance, smoothed_loads
from cadence.analytics.health.trend import Forecast


def test_the_fit_finds_the_oil_time_constant_and_the_heating_per_kilowatt() -> None:
    # Orders of different speeds and pauses: the oil follows the load through a 40-minute lag.
    rng = np.random.default_rng(0)
    times, loads, cycles = [], [], []
    t = 0.0
    for block in range(12):
        cycle = (7.0, 9.0, 11.0)[block % 3]
        for _ in range(300):
            t += cycle
            times.append(t)
            loads.append(29.0 / cycle)
            cycles.append(cycle)
        t += 1800.0  # a half-hour stop between orders
    t_arr, p_arr, c_arr = np.array(times), np.array(loads), np.array(cycles)
    temps = 22.0 + 6.5 * smoothed_loads(t_arr, p_arr, c_arr, 2400.0) + rng.normal(0, 0.05, len(t_arr))
    model = ThermalBaseline.fit(t_arr, p_arr, c_arr, temps)
    assert model.tau_s == 2400.0
    assert model.slope_c_per_kw == pytest.approx(6.5, rel=0.02)
    assert model.intercept_c == pytest.approx(22.0, abs=0.2)
    assert model.scale_c == pytest.approx(0.05, rel=0.3)


def test_a_pause_cools_towards_zero_load_before_the_next_stroke() -> None:
    level = advance(3.0, dt_s=9.0 + 1200.0, cycle_s=9.0, load_kw=3.0, tau_s=1200.0)
    cooled = 3.0 * math.exp(-1.0)
    expected = cooled + (1 - math.exp(-9.0 / 1200.0)) * (3.0 - cooled)
    assert level == pytest.approx(expected)
    assert advance(3.0, dt_s=9.0, cycle_s=9.0, load_kw=3.0, tau_s=1200.0) == pytest.approx(3.0)


def test_too_little_data_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        ThermalBaseline.fit([0.0], [1.0], [9.0], [40.0])


@pytest.mark.parametrize(
    ("move", "lang", "text"),
    [
        (Move("approach_speed_mm_s", -0.071, "relative"), "fr", "vitesse d'approche -7 %"),
        (Move("approach_speed_mm_s", -0.071, "relative"), "en", "approach speed -7%"),
        (Move("dwell_decay_bar_s", 0.042, "absolute"), "fr", "chute de pression en maintien +0,042 bar/s"),
        (Move("oil_excess_c", 3.96, "absolute"), "en", "oil +4.0 °C at equal load"),
        (Move("made_up_feature", 0.5, "relative"), "en", "made_up_feature +50%"),
    ],
)
def test_moves_read_naturally(move: Move, lang: str, text: str) -> None:
    assert describe_move(move, lang) == text  # type: ignore[arg-type]


def test_forecast_wording_covers_hours_reached_and_days() -> None:
    moves = [Move("buildup_time_s", 0.3, "relative")]
    soon = Forecast(0.4, 0.2, 0.6, "exponential", 0.9, 30)
    assert "seuil attendu dans 10 h" in explain("pump_leak", "pump", moves, over_days=3, forecast=soon)
    reached = Forecast(0.0, 0.0, 0.0, "linear", 0.0, 30)
    assert explain(None, "pump", moves, over_days=3, forecast=reached, lang="en").endswith(
        "threshold reached."
    )
    later = Forecast(20.4, 14.0, 26.8, "linear", 0.02, 30)
    assert explain("seal_wear", "valves_seals", moves, over_days=9.6, forecast=later, lang="en") == (
        "Suspected cylinder seal wear: pressure build-up time +30% over 10 days;"
        " threshold expected in 20 ± 6 days."
    )
