"""Novelty: has the series ever been near this value before?

The memory is a set of *leaders* (leader clustering): the first value to arrive in empty territory
becomes a leader, and a later value is **new** when no leader lies within the radius around it. The
radius is the range of the first rows divided by ``resolution``; beyond that range it widens in
proportion to the distance from it (``growth``), so that far from anything seen novelty is relative: a
spike twice as high as the last one is new, a spike a few percent off an earlier one is not.

Why leaders rather than a fixed grid of bands: a grid decides novelty by where its edges fall, so one
band more or less moves many edges across the data and changes which rows count as new (on NAB, 7, 8 and
9 bands scored 67.3, 72.0 and 67.8). Leaders sit on the data themselves; changing ``resolution`` only
scales the radius, and neighbouring settings behave alike. A slow drift is still seen: each time the
series has moved one radius beyond its last leader it is somewhere new, as crossing a band edge was.

Memory is never forgotten, so a place alerts the first time only: a daily cycle or a recurring spike
stops being news once seen. The leaders are kept sorted and found by bisection (O(log m) per row); they
are at least one radius apart, so their number is bounded by the range visited over the radius (about
``resolution`` inside the warm-up range, logarithmically many beyond it).

>>> radius = Radius.from_warmup(np.array([0.0, 4.0]), resolution=4.0, growth=1.5)
>>> radius.base, [radius.at(x) for x in (2.0, 4.0, 6.0, -2.0)]
(1.0, [1.0, 1.0, 2.0, 2.0])
>>> leader_novelty(np.array([0.0, 4.0, 0.5, 2.0, 2.9, 5.2, 7.0, 30.0]), radius).tolist()
[1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0]
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Radius when the warm-up rows are all equal (a flat start): a thousandth of the level, or of 1 around
# zero, so that any visible move later is new.
_FLAT_RELATIVE_RADIUS = 1e-3


@dataclass(frozen=True)
class Radius:
    """How close a leader must be for a value to count as known: ``base`` inside ``[low, high]`` (the
    warm-up range), ``base + (growth − 1) · distance`` outside it (``growth = 1``: the same everywhere)."""

    low: float
    high: float
    base: float
    growth: float = 1.0

    def __post_init__(self) -> None:
        if not self.base > 0 or not self.growth >= 1.0 or not self.high >= self.low:
            raise ValueError("a radius needs a base above 0, a growth of at least 1 and low ≤ high")

    @classmethod
    def from_warmup(cls, warmup: FloatArray, resolution: float, growth: float = 1.0) -> Radius:
        """The range of the warm-up rows divided by ``resolution``; later values may fall outside it."""
        if warmup.shape[0] == 0:
            raise ValueError("the radius needs at least one warm-up value")
        if not resolution > 0:
            raise ValueError(f"resolution must be above 0, not {resolution}")
        low, high = float(warmup.min()), float(warmup.max())
        base = (high - low) / resolution
        if not base > 0:
            base = max(abs(low), 1.0) * _FLAT_RELATIVE_RADIUS
        return cls(low, high, base, growth)

    def at(self, x: float) -> float:
        """The radius around the value ``x``."""
        outside = x - self.high if x > self.high else (self.low - x if x < self.low else 0.0)
        return self.base + (self.growth - 1.0) * outside


def leader_novelty(values: FloatArray, radius: Radius) -> FloatArray:
    """1 where no earlier leader lies within the radius (the value then becomes a leader), else 0."""
    leaders: list[float] = []
    out = np.zeros(values.shape[0], dtype=np.float64)
    for t, x in enumerate(values.tolist()):
        i = bisect.bisect_left(leaders, x)
        nearest = math.inf
        if i < len(leaders):
            nearest = leaders[i] - x
        if i > 0:
            nearest = min(nearest, x - leaders[i - 1])
        if nearest > radius.at(x):
            leaders.insert(i, x)
            out[t] = 1.0
    return out


def block_novelty(
    values: FloatArray, size: int, warmup_rows: int, resolution: float, growth: float = 1.0
) -> FloatArray:
    """Leader novelty of the series averaged over consecutive blocks of ``size`` rows.

    The slow view: a changed daily shape or a drift shows in block means when single rows look
    ordinary. A block's novelty is reported on its last row (the first row where it is known) and 0
    elsewhere; its radius comes from the blocks that end within the first ``warmup_rows`` rows.

    >>> v = np.array([0.0, 0.0, 1.0, 1.0] * 3 + [5.0, 5.0])
    >>> block_novelty(v, size=2, warmup_rows=4, resolution=2.0).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    """
    blocks = values.shape[0] // size
    warm_blocks = warmup_rows // size
    out = np.zeros(values.shape[0], dtype=np.float64)
    if warm_blocks < 1 or blocks <= warm_blocks:
        return out
    means = values[: blocks * size].reshape(blocks, size).mean(axis=1)
    novelty = leader_novelty(means, Radius.from_warmup(means[:warm_blocks], resolution, growth))
    novelty[:warm_blocks] = 0.0  # the warm-up blocks set the radius: their novelty means nothing
    out[np.arange(blocks) * size + size - 1] = novelty
    return out
