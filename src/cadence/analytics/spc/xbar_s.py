"""X̄-S chart: subgroup means and standard deviations, σ estimated from the standard deviations.

Better than X̄-R for larger subgroups (n above about 10), where the range wastes information. Phase I,
as qcc computes it: the centre x̿ is the mean of all kept measurements, sⱼ the subgroup standard
deviation (n − 1 denominator) and σ̂ = mean over the kept subgroups of sⱼ/c₄(nⱼ), with c₄ exact under
both conventions (qcc computes it; the printed four-decimal c₄ would move σ̂ by 1.5e-5 relative). For
subgroups of size n the X̄ limits are x̿ ± L·σ̂/√n, and the S chart has centre c₄(n)·σ̂ (= s̄ when every
subgroup has size n) and limits c₄(n)·σ̂ ± L·σ̂·√(1 − c₄(n)²), the lower one floored at 0: the textbook
x̿ ± A₃s̄ and B₃s̄, B₄s̄ for L = 3, computed from σ̂ rather than from the rounded factors.

``excluded``, ``iterate`` and ``max_iterations`` work as for :func:`cadence.analytics.spc.xbar_r.phase_one`
(a subgroup is out when its mean or its standard deviation is beyond its limits).

The example of :mod:`cadence.analytics.spc.xbar_r`, with standard deviations:

>>> baseline = [(74.030, 74.002, 74.019, 73.992, 74.008), (73.995, 73.992, 74.001, 74.011, 74.004),
...             (73.988, 74.024, 74.021, 74.005, 74.002)]
>>> limits = phase_one(baseline, iterate=False)
>>> x, s = limits.xbar_limits(), limits.s_limits()
>>> round(x.center, 6), round(x.sigma, 6), round(x.lcl, 5), round(x.ucl, 5)
(74.006267, 0.013129, 73.98865, 74.02388)
>>> round(s.center, 6), s.lcl, round(s.ucl, 6)
(0.012341, 0.0, 0.02578)
>>> p = XbarSChart(limits).update((74.035, 74.010, 74.012, 74.015, 74.026))
>>> round(p.xbar.value, 4), p.xbar.beyond_limits, round(p.s.value, 6), p.s.beyond_limits
(74.0196, False, 0.010597, False)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cadence.analytics.spc.base import Convention, Point
from cadence.analytics.spc.constants import c4
from cadence.analytics.spc.xbar_r import (
    DEFAULT_MAX_ITERATIONS,
    PartLimits,
    subgroup_phase_one,
    subgroup_points,
)

__all__ = ["XbarSChart", "XbarSLimits", "XbarSPoints", "phase_one", "stdev"]


@dataclass(frozen=True, slots=True)
class XbarSPoints:
    """What one subgroup plots: its mean on the X̄ chart and its standard deviation on the S chart."""

    xbar: Point
    s: Point


def stdev(values: Sequence[float]) -> float:
    """Sample standard deviation (n − 1 denominator), two-pass for accuracy on values far from 0.

    >>> round(stdev((74.030, 74.002, 74.019, 73.992, 74.008)), 8)
    0.01477159
    """
    n = len(values)
    mean = math.fsum(values) / n
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


@dataclass(frozen=True, slots=True)
class XbarSLimits:
    """Frozen X̄-S parameters: grand mean ``center``, process ``sigma`` σ̂ = mean(s/c₄), width ``L``,
    baseline size ``n`` and the phase I record (as :class:`cadence.analytics.spc.xbar_r.XbarRLimits`).
    ``convention`` is kept for the record: c₄ is exact under both."""

    center: float
    sigma: float
    n: int
    L: float = 3.0
    convention: Convention = Convention.TABULATED
    excluded: tuple[int, ...] = ()
    iterations: int = 1

    def __post_init__(self) -> None:
        if not self.sigma > 0.0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        if not self.L > 0.0:
            raise ValueError(f"L must be > 0, got {self.L}")
        c4(self.n)  # checks n

    def xbar_limits(self, n: int | None = None) -> PartLimits:
        """The X̄ chart for subgroups of ``n`` (default: the baseline size)."""
        size = self.n if n is None else n
        c4(size)  # checks size
        w = self.L * self.sigma / math.sqrt(size)
        return PartLimits(self.center, self.sigma, self.center - w, self.center + w)

    def s_limits(self, n: int | None = None) -> PartLimits:
        """The S chart for subgroups of ``n`` (default: the baseline size)."""
        c = c4(self.n if n is None else n)
        center = c * self.sigma
        w = self.L * self.sigma * math.sqrt(1.0 - c * c)
        return PartLimits(center, self.sigma, max(0.0, center - w), center + w)


def phase_one(
    subgroups: Sequence[Sequence[float]],
    *,
    L: float = 3.0,
    convention: Convention = Convention.TABULATED,
    excluded: Iterable[int] = (),
    iterate: bool = True,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> XbarSLimits:
    """Limits from baseline ``subgroups`` (each 2–25 values); see the module docstring."""
    return subgroup_phase_one(
        subgroups,
        spread=stdev,
        unbias=c4,
        build=lambda center, sigma, n, out, rounds: XbarSLimits(
            center=center, sigma=sigma, n=n, L=L, convention=convention, excluded=out, iterations=rounds
        ),
        spread_limits=lambda limits, n: limits.s_limits(n),
        spread_name="standard deviation",
        excluded=excluded,
        iterate=iterate,
        max_iterations=max_iterations,
    )


@dataclass(slots=True)
class XbarSChart:
    """Phase II X̄-S chart against frozen limits; :meth:`update` takes one subgroup (any size 2–25, the
    limits follow its size) and returns both points."""

    limits: XbarSLimits
    i: int = 0
    _parts: dict[int, tuple[PartLimits, PartLimits]] = field(default_factory=dict, repr=False)

    def update(self, subgroup: Sequence[float]) -> XbarSPoints:
        xbar, sd = subgroup_points(
            self.limits, self._parts, self.i, subgroup, spread=stdev, spread_limits=self.limits.s_limits
        )
        self.i += 1
        return XbarSPoints(xbar=xbar, s=sd)
