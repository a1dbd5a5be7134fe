"""u chart: nonconformities per unit when the amount inspected varies.

Phase I: ``ū = Σxⱼ / Σnⱼ`` (defects per unit) over the baseline samples kept; each sample gets
``ū ± L·√(ū/nⱼ)``, the lower clipped at 0, so the limits step with the amount inspected. ``sigma(1)``
is the per-unit σ √ū that qcc prints. Exclusion works as for the p chart (:mod:`cadence.analytics.spc.p`).

Circuit boards, 100 boards per sample, without the samples 6 and 20 (docs/domain.md §3.5):

>>> x = [21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16, 19, 10, 17, 13, 22, 18, 39, 30, 24, 16, 19,
...      17, 15]
>>> limits = phase_one(x, [100] * 26, excluded=[5, 19], iterate=False)
>>> round(limits.center, 7), round(limits.sigma(1), 7), [round(v, 7) for v in limits.limits(100)]
(0.1966667, 0.4434712, [0.0636253, 0.329708])
>>> chart = UChart(limits)
>>> p = chart.update(30, 120)  # 120 boards inspected: narrower limits
>>> round(p.value, 4), round(p.lcl, 4), round(p.ucl, 4)
(0.25, 0.0752, 0.3181)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cadence.analytics.spc.base import Point, phase_one_rounds

# Enough for any real baseline: each round removes at least one sample (see cadence.analytics.spc.p).
DEFAULT_MAX_ITERATIONS = 10


@dataclass(frozen=True, slots=True)
class ULimits:
    """Frozen u-chart parameters: ``center`` ū (per unit), width ``L`` in sigmas, the baseline samples
    left out (indices from 0) and the phase I rounds it took."""

    center: float
    L: float = 3.0
    excluded: tuple[int, ...] = ()
    iterations: int = 1

    def sigma(self, n: float) -> float:
        """σ of the defects per unit over ``n`` units."""
        return math.sqrt(self.center / n)

    def limits(self, n: float) -> tuple[float, float]:
        """``(lcl, ucl)`` for a sample of ``n`` units, the lower clipped at 0."""
        w = self.L * self.sigma(n)
        return max(0.0, self.center - w), self.center + w


def _check(counts: Sequence[float], sizes: Sequence[float]) -> None:
    if len(counts) != len(sizes):
        raise ValueError(f"{len(counts)} counts for {len(sizes)} sample sizes")
    for j, (x, n) in enumerate(zip(counts, sizes, strict=True)):
        if not n > 0 or not x >= 0:
            raise ValueError(f"sample {j}: {x} nonconformities over {n} units")


def phase_one(
    counts: Sequence[float],
    sizes: Sequence[float],
    *,
    L: float = 3.0,
    excluded: Iterable[int] = (),
    iterate: bool = True,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> ULimits:
    """Limits from baseline samples: ``counts[j]`` nonconformities found over ``sizes[j]`` units."""
    _check(counts, sizes)

    def fit(kept: list[int], out: tuple[int, ...], rounds: int) -> ULimits:
        if not kept:
            raise ValueError("no baseline sample left")
        center = sum(counts[j] for j in kept) / sum(sizes[j] for j in kept)
        return ULimits(center=center, L=L, excluded=out, iterations=rounds)

    def beyond(limits: ULimits, kept: list[int]) -> list[int]:
        found = []
        for j in kept:
            lcl, ucl = limits.limits(sizes[j])
            if not lcl <= counts[j] / sizes[j] <= ucl:
                found.append(j)
        return found

    return phase_one_rounds(
        len(sizes), fit, beyond, excluded=excluded, iterate=iterate, max_iterations=max_iterations
    )


class UChart:
    """Phase II u chart against frozen limits; :meth:`update` takes a count and the units inspected."""

    def __init__(self, limits: ULimits) -> None:
        self.limits = limits
        self.i = 0

    def update(self, count: float, size: float) -> Point:
        _check([count], [size])
        lcl, ucl = self.limits.limits(size)
        center, sigma = self.limits.center, self.limits.sigma(size)
        point = Point(index=self.i, value=count / size, center=center, lcl=lcl, ucl=ucl, sigma=sigma)
        self.i += 1
        return point
