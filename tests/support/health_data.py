"""A press history for the press health tests: P01 healthy, then its pump leaking more every stroke.

Synthetic strokes every 9 s from :data:`T0`, alternating two part programs (operating points) every
:data:`SWITCH_EVERY` strokes; the oil warms from 38 to 50 °C over every 2 000 strokes (a working day's
warm-up) and hot oil speeds the ram a little. From :data:`ONSET` on, ``leak(i)`` lengthens the
pressure build-up by a growing share (up to +12 % at :data:`STROKES`), slows the approach by a third of
that share and adds a quarter of it to the energy, as a pump losing volumetric efficiency does. Values
are drawn from a seeded generator, so every test sees the same press.

:data:`CONFIG` is a quick monitor (baselines of 200 strokes instead of 750) so that tests need
thousands of strokes, not tens of thousands.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from cadence.analytics.health.monitor import HealthConfig
from cadence.domain import Batch, IdempotencyKey
from cadence.domain.cycles import Stroke
from cadence.ports import TimeSeriesStore

T0 = 1_767_250_800_000_000  # 2026-01-01T07:00:00Z
STEP_US = 9_000_000
STROKES = 12_000
ONSET = 4_000
SWITCH_EVERY = 500
MACHINE = "P01"

CONFIG = HealthConfig(
    learn_strokes=200,
    thermal_learn_strokes=600,
    alpha=1 / 150,
    calibration_strokes=800,
    context_calibration_strokes=300,
    confirm_strokes=60,
)
PARTS = {  # two part programs at different operating points: (part, die) → nominal features
    ("BRK-1", "D1"): {
        "buildup_time_s": 0.80,
        "approach_speed_mm_s": 230.0,
        "dwell_pressure_bar": 200.0,
        "energy_kj": 29.0,
    },
    ("FLG-2", "D2"): {
        "buildup_time_s": 0.55,
        "approach_speed_mm_s": 228.0,
        "dwell_pressure_bar": 160.0,
        "energy_kj": 24.0,
    },
}
NOISE = {"buildup_time_s": 0.005, "approach_speed_mm_s": 0.12, "dwell_pressure_bar": 0.1, "energy_kj": 0.04}


def growing_leak(i: int) -> float:
    """The share the leak adds to the build-up time at stroke ``i``: 0 until ONSET, +12 % at STROKES."""
    return max(0, i - ONSET) * 0.12 / (STROKES - ONSET)


def features(
    n: int,
    *,
    seed: int = 0,
    leak: Callable[[int], float] = lambda i: 0.0,
    switch_every: int = SWITCH_EVERY,
    warmups: bool = True,
    cooler: Callable[[int], float] = lambda i: 0.0,
) -> Iterator[tuple[int, tuple[str, str], dict[str, float]]]:
    """``(stroke index, (part, die), features)`` for ``n`` strokes (module docstring); ``cooler(i)`` is
    the °C a fouled cooler adds to the oil at equal load."""
    rng = np.random.default_rng(seed)
    parts = list(PARTS)
    for i in range(n):
        context = parts[(i // switch_every) % len(parts)]
        base = PARTS[context]
        temp = (38.0 + 12.0 * (1 - math.exp(-(i % 2000) / 400)) if warmups else 45.0) + cooler(i)
        share = leak(i)
        values = {
            "buildup_time_s": base["buildup_time_s"] * (1 + share) + 0.002 * (temp - 45),
            "approach_speed_mm_s": base["approach_speed_mm_s"] * (1 - share / 3) + 0.06 * (temp - 45),
            "dwell_pressure_bar": base["dwell_pressure_bar"],
            "energy_kj": base["energy_kj"] * (1 + share / 4),
            "cycle_time_s": 9.0,
        }
        for name, sd in NOISE.items():
            values[name] += float(rng.normal(0, sd))
        values["oil_temp_c"] = temp + float(rng.normal(0, 0.05))
        yield i, context, values


def strokes(n: int = STROKES, *, first: int = 0, leak: Callable[[int], float] = growing_leak) -> list[Stroke]:
    """P01's strokes ``first`` … ``n - 1`` as stored strokes (numbered from 1)."""
    out = []
    for i, (part, die), values in features(n, leak=leak):
        if i < first:
            continue
        t = T0 + i * STEP_US
        out.append(Stroke(MACHINE, i + 1, t, t + 5_000_000, True, features=values, part=part, die=die))
    return out


def write(store: TimeSeriesStore, items: list[Stroke], source: str = "health-test") -> None:
    """Append strokes through the store's public append, 500 per batch."""
    for k in range(0, len(items), 500):
        chunk = tuple(items[k : k + 500])
        store.append([Batch(IdempotencyKey(source, 1, chunk[0].n), MACHINE, strokes=chunk)])


def time_of(i: int) -> int:
    """Start of stroke index ``i``."""
    return T0 + i * STEP_US
