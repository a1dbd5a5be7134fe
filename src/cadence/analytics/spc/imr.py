"""I-MR chart: individual values and their moving ranges, for one measurement at a time (one per stroke).

Phase I, as qcc computes its individuals chart: the centre is the mean x̄ of the kept values, the moving
ranges MRᵢ = |xᵢ − xᵢ₋₁| of consecutive kept values give σ̂ = MR̄/d₂(2), and the I limits are x̄ ± L·σ̂
(with L = 3 and the printed d₂(2) = 1.128, the textbook x̄ ± 2.66·MR̄). The MR chart has centre
MR̄ = d₂(2)·σ̂ and upper limit MR̄ + L·d₃(2)·σ̂ (the textbook D₄·MR̄ = 3.267·MR̄); its lower limit is 0.

Values with a known assignable cause are left out with ``excluded``; a moving range is used only when both
of its values are kept and adjacent in time (one spanning a removed value would compare values two steps
apart). With ``iterate=True`` values beyond the I limits are dropped too until none is. Moving ranges
beyond their limit do not drop anything: one names a pair of values, not which of them is wrong, and a
real shift shows on the I chart.

The first value of each phase I piston-ring subgroup (docs/domain.md §3.5), then three new values:

>>> first = [74.030, 73.995, 73.998, 74.002, 73.992, 74.009, 73.995, 73.985, 74.008, 73.998, 73.994,
...          74.004, 73.983, 74.006, 74.012, 74.000, 73.994, 74.006, 73.984, 74.000, 73.982, 74.004,
...          74.010, 74.015, 73.982]
>>> limits = phase_one(first, iterate=False)
>>> i, mr = limits.i_limits(), limits.mr_limits()
>>> round(i.center, 5), round(i.lcl, 5), round(i.ucl, 5), round(mr.center, 5), mr.lcl, round(mr.ucl, 5)
(73.99952, 73.96162, 74.03742, 0.01425, 0.0, 0.04656)
>>> chart = IMRChart(limits)
>>> [(p.i.value, p.i.beyond_limits, None if p.mr is None else round(p.mr.value, 3))
...  for p in map(chart.update, (74.010, 74.045, 73.998))]
[(74.01, False, None), (74.045, True, 0.035), (73.998, False, 0.047)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cadence.analytics.spc.base import Convention, Point, phase_one_rounds
from cadence.analytics.spc.constants import d2, d3
from cadence.analytics.spc.xbar_r import DEFAULT_MAX_ITERATIONS, PartLimits

__all__ = ["IMRChart", "IMRLimits", "IMRPoints", "phase_one"]


@dataclass(frozen=True, slots=True)
class IMRPoints:
    """What one value plots: itself on the I chart and, from the second value on, its moving range on
    the MR chart. Both points carry the index of the value (the MR chart starts at 1)."""

    i: Point
    mr: Point | None


@dataclass(frozen=True, slots=True)
class IMRLimits:
    """Frozen I-MR parameters: mean ``center``, process ``sigma`` σ̂ = MR̄/d₂(2), width ``L``, the constants
    ``convention``, the baseline values left out (indices from 0, sorted) and the phase I rounds."""

    center: float
    sigma: float
    L: float = 3.0
    convention: Convention = Convention.TABULATED
    excluded: tuple[int, ...] = ()
    iterations: int = 1

    def __post_init__(self) -> None:
        if not self.sigma > 0.0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        if not self.L > 0.0:
            raise ValueError(f"L must be > 0, got {self.L}")

    def i_limits(self) -> PartLimits:
        """The individuals chart."""
        w = self.L * self.sigma
        return PartLimits(self.center, self.sigma, self.center - w, self.center + w)

    def mr_limits(self) -> PartLimits:
        """The moving-range chart (span 2)."""
        center = d2(2, self.convention) * self.sigma
        w = self.L * d3(2, self.convention) * self.sigma
        return PartLimits(center, self.sigma, max(0.0, center - w), center + w)


def phase_one(
    values: Sequence[float],
    *,
    L: float = 3.0,
    convention: Convention = Convention.TABULATED,
    excluded: Iterable[int] = (),
    iterate: bool = True,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> IMRLimits:
    """Limits from baseline ``values`` in time order; see the module docstring."""
    if not all(math.isfinite(v) for v in values):
        raise ValueError("non-finite value in the baseline")

    def fit(kept: list[int], out: tuple[int, ...], rounds: int) -> IMRLimits:
        ranges = [abs(values[j] - values[j - 1]) for j in kept if j > 0 and j - 1 not in out]
        if not ranges:
            raise ValueError("the baseline needs at least two consecutive kept values")
        center = math.fsum(values[j] for j in kept) / len(kept)
        sigma = math.fsum(ranges) / len(ranges) / d2(2, convention)
        if sigma == 0.0:
            raise ValueError("every baseline moving range is 0: no spread to set limits from")
        return IMRLimits(
            center=center,
            sigma=sigma,
            L=L,
            convention=convention,
            excluded=out,
            iterations=rounds,
        )

    def beyond(limits: IMRLimits, kept: list[int]) -> list[int]:
        part = limits.i_limits()
        return [j for j in kept if not part.lcl <= values[j] <= part.ucl]

    return phase_one_rounds(
        len(values), fit, beyond, excluded=excluded, iterate=iterate, max_iterations=max_iterations
    )


class IMRChart:
    """Phase II I-MR chart against frozen limits; :meth:`update` takes one value."""

    __slots__ = ("_i", "_mr", "i", "limits", "previous")

    def __init__(self, limits: IMRLimits) -> None:
        self.limits = limits
        self._i = limits.i_limits()
        self._mr = limits.mr_limits()
        self.i = 0
        self.previous: float | None = None

    def update(self, value: float) -> IMRPoints:
        if not math.isfinite(value):
            raise ValueError(f"value {self.i} is not finite: {value}")
        i, m = self._i, self._mr
        # The plotted statistic's σ, for the rules' zones: the upper limit is never floored.
        L = self.limits.L
        point = Point(self.i, value, i.center, i.lcl, i.ucl, sigma=(i.ucl - i.center) / L)
        mr = None
        if self.previous is not None:
            mr = Point(
                self.i, abs(value - self.previous), m.center, m.lcl, m.ucl, sigma=(m.ucl - m.center) / L
            )
        self.previous = value
        self.i += 1
        return IMRPoints(point, mr)
