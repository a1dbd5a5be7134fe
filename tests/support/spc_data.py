"""A press history for the SPC page's tests: P01's peak pressure in control, then drifting upward.

Strokes every minute from :data:`T0` (a Monday, 05:00 in Paris: the morning shift). The first
:data:`STABLE` strokes have a peak pressure drawn from N(200 bar, 2 bar) with a seeded generator; the
next :data:`DRIFTING` climb by :data:`DRIFT_PER_STROKE` bar a stroke on top of the same noise, as a
leaking seal makes the pump work harder: after 40 strokes the mean is 4σ up, far beyond 3σ limits.
"""

from __future__ import annotations

import numpy as np

from cadence.domain import Batch, IdempotencyKey
from cadence.domain.cycles import Stroke
from cadence.runtime import Runtime

T0 = 1_764_561_600_000_000  # 2025-12-01T04:00:00Z, 05:00 in Paris
MINUTE = 60_000_000
STABLE = 120
DRIFTING = 50
MEAN_BAR = 200.0
SIGMA_BAR = 2.0
DRIFT_PER_STROKE = 0.2
SEED = 5
FEATURE = "peak_pressure_bar"
NOW = T0 + (STABLE + DRIFTING + 5) * MINUTE  # a few minutes after the last stroke
BASELINE = (T0, T0 + (STABLE + 1) * MINUTE)  # exactly the stable strokes (1 … STABLE)


def peaks() -> list[float]:
    noise = np.random.default_rng(SEED).normal(0.0, SIGMA_BAR, STABLE + DRIFTING)
    drift = [0.0] * STABLE + [DRIFT_PER_STROKE * (k + 1) for k in range(DRIFTING)]
    return [round(MEAN_BAR + float(e) + d, 2) for e, d in zip(noise, drift, strict=True)]


def strokes() -> list[Stroke]:
    return [
        Stroke(
            "P01",
            n,
            T0 + n * MINUTE,
            T0 + n * MINUTE + 7_000_000,
            True,
            features={FEATURE: value, "cycle_time_s": 7.0},
        )
        for n, value in enumerate(peaks(), start=1)
    ]


def fill(runtime: Runtime) -> None:
    """Write P01's strokes into the runtime's store."""
    runtime.store.append(
        [Batch(IdempotencyKey("spc-page", 1, 0), "P01", strokes=tuple(strokes()), digest=b"s")]
    )
