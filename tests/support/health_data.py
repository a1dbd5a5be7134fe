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


# --- a press whose die wears while its material scatters from heat to heat --------------------------------

HEAT_STROKES = 250  # parts per heat of material
HEAT_SD = 0.015  # heat-to-heat strength scatter
BLANK_SD = 0.005  # blank-to-blank inside a heat
BDC_PER_FORCE_MM = 4.5  # a part formed to a pressure sinks 0.045 mm less per 1 % more force needed
DIE_PARTS = {  # (part, die) → (stop, peak force kN, bottom dead centre mm)
    ("CAP-1", "D7"): ("pressure", 1_900.0, 327.3),
    ("BRK-2", "D8"): ("position", 1_850.0, 324.7),
}


def die_wear_share(i: int, onset: int, per_stroke: float) -> float:
    """Extra forming force a wearing die needs at stroke ``i``: 0 until ``onset``, then linear."""
    return max(0, i - onset) * per_stroke


def die_press(
    n: int,
    *,
    seed: int = 0,
    wear: Callable[[int], float] = lambda i: 0.0,
    switch_every: int = 1_000,
    lots: bool = True,
) -> Iterator[tuple[int, str, dict[str, float], str | None]]:
    """``(stroke index, context, features, material lot)`` of a press alternating a part formed to a
    pressure (its force is held, its bottom dead centre follows the material) and one formed to a position
    (the reverse). A new heat every :data:`HEAT_STROKES` parts; the die needs ``1 + wear(i)`` times the
    force. ``lots=False`` sends no material lot, as a press without MES traceability."""
    rng = np.random.default_rng(seed)
    parts = list(DIE_PARTS)
    heat, heat_id = 1.0, ""
    for i in range(n):
        if i % HEAT_STROKES == 0:
            heat, heat_id = 1.0 + float(rng.normal(0, HEAT_SD)), f"HEAT-{seed}-{i // HEAT_STROKES}"
        part, die = parts[(i // switch_every) % len(parts)]
        stop, force, bdc = DIE_PARTS[(part, die)]
        need = heat * (1.0 + float(rng.normal(0, BLANK_SD))) * (1.0 + wear(i))
        if stop == "pressure":
            values = {
                "peak_force_kn": force * (1.0 + float(rng.normal(0, 0.001))),
                "bdc_position_mm": bdc - BDC_PER_FORCE_MM * (need - 1.0) + float(rng.normal(0, 0.005)),
            }
        else:
            values = {
                "peak_force_kn": force * need,
                "bdc_position_mm": bdc + float(rng.normal(0, 0.002)),
            }
        values["oil_temp_c"] = 45.0 + float(rng.normal(0, 0.05))
        yield i, f"{part}|{die}", values, heat_id if lots else None
