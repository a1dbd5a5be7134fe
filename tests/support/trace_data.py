"""A small plant history for the traceability page's tests: two presses, serials, lots, two heats, a curve.

* P01 sends everything: order OF-1, part BR-7, lot L-1 then L-2 (from stroke 61), heat HEAT-7, die D-1,
  a serial ``A-<n>``, two features and, on every tenth stroke, its down-sampled curve. Every 9th is scrap.
* P02 is an old press: a serial ``B-<n>`` and its die D-9, nothing else. Its operator started order OF-2
  on the tablet (lot L-T, heat HEAT-7, die D-8: the die disagrees with the press), so its parts reach
  HEAT-7 through the tablet order, marked ``tablet``.
"""

from __future__ import annotations

import numpy as np

from cadence.domain import Batch, IdempotencyKey
from cadence.domain.cycles import Stroke, Waveform
from cadence.domain.operator import OrderEvent, OrderKind
from cadence.runtime import Runtime

T0 = 1_764_561_600_000_000  # 2025-12-01T04:00:00Z, a Monday: 05:00 in Paris, the morning shift
MINUTE = 60_000_000
P01_PARTS = 120
P02_PARTS = 30
HEAT = "HEAT-7"
POINTS = 200
OPERATOR = "lea"


def curve(n: int) -> Waveform:
    """Pressure rising to a peak that depends on the stroke, and the ram going down then back."""
    t = np.linspace(0.0, 1.0, POINTS)
    pressure = (180.0 + n) * np.sin(np.pi * t) ** 2
    position = 300.0 * (1.0 - np.sin(np.pi * t))
    return Waveform(0, 20_000, {"pressure": pressure, "position": position})


def p01_strokes() -> list[Stroke]:
    out = []
    for n in range(1, P01_PARTS + 1):
        good = n % 9 != 0
        out.append(
            Stroke(
                "P01",
                n,
                T0 + n * MINUTE,
                T0 + n * MINUTE + 7_000_000,
                good,
                features={"peak_pressure_bar": 180.0 + n, "cycle_time_s": 7.0},
                scrap_reason=None if good else "crack",
                order="OF-1",
                part="BR-7",
                lot="L-1" if n <= 60 else "L-2",
                material_lot=HEAT,
                serial=f"A-{n}",
                die="D-1",
                waveform=curve(n) if n % 10 == 0 else None,
            )
        )
    return out


def p02_strokes() -> list[Stroke]:
    return [
        Stroke(
            "P02",
            n,
            T0 + n * MINUTE + 30_000_000,
            T0 + n * MINUTE + 38_000_000,
            True,
            serial=f"B-{n}",
            die="D-9",
        )
        for n in range(1, P02_PARTS + 1)
    ]


TABLET_ORDER = OrderEvent("P02", T0, OrderKind.START, "OF-2", "BR-9", "L-T", HEAT, "D-8", OPERATOR)


def fill(runtime: Runtime) -> None:
    """Write both presses' strokes and P02's tablet order into the runtime's store."""
    runtime.store.append(
        [
            Batch(IdempotencyKey("trace-page", 1, 0), "P01", strokes=tuple(p01_strokes()), digest=b"1"),
            Batch(IdempotencyKey("trace-page", 2, 0), "P02", strokes=tuple(p02_strokes()), digest=b"2"),
        ]
    )
    runtime.store.record_order_event(TABLET_ORDER)
