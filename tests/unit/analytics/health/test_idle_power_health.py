"""Motor power at idle watched for the pump: learned against oil temperature, flagged when the pump drags.

A synthetic press as in tests/support/health_data.py (two part programs, a warm-up from 38 to 50 °C
every 2 000 strokes), reporting ``idle_power_kw`` as the simulator's physics gives it: the pump's half
of the no-load loss follows the oil viscosity as its square root (≈ 0.6 %/K of idle power near 45 °C).
The first stroke of each warm-up follows a motor stop and carries no idle power, as a gateway reports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from cadence.analytics.health.monitor import HealthMonitor
from support import health_data as hd

CONFIG = hd.CONFIG
IDLE_KW = 3.33  # a 100 t press's idle power with oil at 45 °C
IDLE_NOISE_KW = 0.012  # the median of a few seconds of 10 Hz meter readings


def idle_kw(temp_c: float, drag: float = 1.0) -> float:
    """Half the idle power is the pump's drag, ∝ √viscosity (halving per 25 K)."""
    return IDLE_KW * (0.5 + 0.5 * drag * 2.0 ** ((45.0 - temp_c) / 50.0))


def press(
    n: int, *, drag: Callable[[int], float] = lambda i: 1.0, switch_every: int = hd.SWITCH_EVERY
) -> Iterator[tuple[float, str, dict[str, float]]]:
    rng = np.random.default_rng(3)
    for i, (part, die), values in hd.features(n, switch_every=switch_every):
        if i % 2000:  # not the first stroke after the motor was off
            values["idle_power_kw"] = idle_kw(values["oil_temp_c"], drag(i)) + rng.normal(0, IDLE_NOISE_KW)
        yield i * 9.0, f"{part}|{die}", values


def run(strokes: Iterator[tuple[float, str, dict[str, float]]]) -> HealthMonitor:
    monitor = HealthMonitor(CONFIG)
    for t, context, features in strokes:
        monitor.update(t, context, features)
    return monitor


def idle_contribution(monitor: HealthMonitor) -> float:
    pump = monitor.snapshot().subsystems["pump"]
    return next(c.share for c in pump.contributions if c.feature == "idle_power_kw")


def test_a_healthy_press_warming_up_every_day_raises_nothing_from_idle_power() -> None:
    monitor = run(press(12_000))
    assert not monitor.alerts
    assert monitor.snapshot().subsystems["pump"].level < CONFIG.alert_level / 4
    # The warm-ups move idle power by ≈ 7 %, more than half its failure change: the temperature line
    # takes it out. FLG-2 only ever runs on warm oil (46-50 °C), too narrow a range to learn a slope: it
    # takes the one BRK-1 learned over the warm-up, the same pump in the same oil.
    assert abs(idle_contribution(monitor)) < 0.05
    slopes = {key: ctx["fits"]["idle_power_kw"][1] for key, ctx in monitor.to_dict()["contexts"].items()}
    law = -IDLE_KW * 0.5 * 0.5 * math.log(2) / 25.0  # d(idle)/dT at 45 °C
    assert slopes["FLG-2|D2"] == slopes["BRK-1|D1"] == pytest.approx(law, rel=0.2)


def test_idle_power_missing_from_the_first_stroke_is_still_learned() -> None:
    monitor = run(press(3_000, switch_every=10**9))  # one operating point, first stroke without it
    assert abs(idle_contribution(monitor)) < 0.05


def test_a_pump_dragging_more_at_idle_is_flagged_with_idle_power() -> None:
    def wear(i: int) -> float:  # the pump's drag +16 % by the end: idle power ≈ +8 %
        return 1.0 + 0.16 * max(0, i - hd.ONSET) / (hd.STROKES - hd.ONSET)

    monitor = run(press(hd.STROKES, drag=wear))
    assert "pump" in monitor.alerts
    pump = monitor.snapshot().subsystems["pump"]
    assert pump.worst == "idle_power_kw"
    idle = next(c for c in pump.contributions if c.feature == "idle_power_kw")
    assert idle.evidence >= CONFIG.significant
    assert 0.05 < idle.change < 0.09 and math.isclose(idle.share, idle.change / 0.12)
