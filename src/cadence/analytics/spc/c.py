"""c chart: the number of nonconformities (defects) per inspection unit of constant size.

Phase I: centre ``c̄`` = mean count of the baseline units kept, limits ``c̄ ± L·√c̄`` (Poisson: the
variance equals the mean), the lower clipped at 0. Exclusion works as for the p chart
(:mod:`cadence.analytics.spc.p`). With units of varying size use the u chart.

Circuit boards, 100 boards per unit (docs/domain.md §3.5): units 6 and 20 are out; without them
c̄ = 19.667.

>>> x = [21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16, 19, 10, 17, 13, 22, 18, 39, 30, 24, 16, 19,
...      17, 15]
>>> first = phase_one(x, iterate=False)
>>> round(first.center, 5), round(first.lcl, 6), round(first.ucl, 5)
(19.84615, 6.481447, 33.21086)
>>> chart = CChart(first)
>>> [i + 1 for i, xj in enumerate(x) if chart.update(xj).beyond_limits]
[6, 20]
>>> revised = phase_one(x)  # iterates: drops 6 and 20, then nothing else is out
>>> round(revised.center, 5), round(revised.lcl, 6), round(revised.ucl, 4), revised.excluded
(19.66667, 6.362532, 32.9708, (5, 19))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cadence.analytics.spc.base import Point, phase_one_rounds

# Enough for any real baseline: each round removes at least one unit (see cadence.analytics.spc.p).
DEFAULT_MAX_ITERATIONS = 10


@dataclass(frozen=True, slots=True)
class CLimits:
    """Frozen c-chart parameters: ``center`` c̄, width ``L`` in sigmas, the baseline units left out
    (indices from 0) and the phase I rounds it took."""

    center: float
    L: float = 3.0
    excluded: tuple[int, ...] = ()
    iterations: int = 1

    @property
    def sigma(self) -> float:
        return math.sqrt(self.center)

    @property
    def lcl(self) -> float:
        return max(0.0, self.center - self.L * self.sigma)

    @property
    def ucl(self) -> float:
        return self.center + self.L * self.sigma


def _check(counts: Iterable[float]) -> None:
    for j, c in enumerate(counts):
        if not c >= 0:
            raise ValueError(f"unit {j}: {c} nonconformities")


def phase_one(
    counts: Sequence[float],
    *,
    L: float = 3.0,
    excluded: Iterable[int] = (),
    iterate: bool = True,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> CLimits:
    """Limits from the baseline counts of nonconformities, one per inspection unit."""
    _check(counts)

    def fit(kept: list[int], out: tuple[int, ...], rounds: int) -> CLimits:
        if not kept:
            raise ValueError("no baseline unit left")
        center = sum(counts[j] for j in kept) / len(kept)
        return CLimits(center=center, L=L, excluded=out, iterations=rounds)

    def beyond(limits: CLimits, kept: list[int]) -> list[int]:
        return [j for j in kept if not limits.lcl <= counts[j] <= limits.ucl]

    return phase_one_rounds(
        len(counts), fit, beyond, excluded=excluded, iterate=iterate, max_iterations=max_iterations
    )


class CChart:
    """Phase II c chart against frozen limits; :meth:`update` takes one unit's count."""

    def __init__(self, limits: CLimits) -> None:
        self.limits = limits
        self.i = 0

    def update(self, count: float) -> Point:
        _check([count])
        lim = self.limits
        point = Point(self.i, float(count), lim.center, lim.lcl, lim.ucl, sigma=lim.sigma)
        self.i += 1
        return point
