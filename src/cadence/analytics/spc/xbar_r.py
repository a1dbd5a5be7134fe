"""X̄-R chart: subgroup means and ranges, σ estimated from the ranges.

Phase I, as qcc computes it (R package; our tests reproduce its published piston-ring limits): the centre
x̿ is the mean of all kept measurements (the size-weighted mean of the subgroup means),
σ̂ = mean over the kept subgroups of Rⱼ/d₂(nⱼ). For subgroups of size n the X̄ limits are
x̿ ± L·σ̂/√n, and the R chart has centre d₂(n)·σ̂ (= R̄ when every subgroup has size n) and limits
d₂(n)·σ̂ ± L·d₃(n)·σ̂, the lower one floored at 0. With L = 3 and equal sizes these are the textbook
x̿ ± A₂R̄ and D₃R̄, D₄R̄, but computed from σ̂ as qcc does rather than from the rounded A₂ and D₄, so the
digits match qcc's (:mod:`cadence.analytics.spc.constants` explains the conventions).

Subgroups with a known assignable cause are left out with ``excluded``; with ``iterate=True`` the
subgroups still beyond the X̄ or the R limits are dropped too and the limits recomputed until none is
(at most ``max_iterations`` rounds).

Piston rings (qcc's data, tests/fixtures/qcc), phase I on the first three subgroups only to keep it short,
then subgroup 38:

>>> baseline = [(74.030, 74.002, 74.019, 73.992, 74.008), (73.995, 73.992, 74.001, 74.011, 74.004),
...             (73.988, 74.024, 74.021, 74.005, 74.002)]
>>> limits = phase_one(baseline, iterate=False)
>>> x, r = limits.xbar_limits(), limits.r_limits()
>>> round(x.center, 6), round(x.sigma, 6), round(x.lcl, 5), round(x.ucl, 5)
(74.006267, 0.013328, 73.98839, 74.02415)
>>> round(r.center, 6), r.lcl, round(r.ucl, 6)
(0.031, 0.0, 0.065549)
>>> chart = XbarRChart(limits)
>>> p = chart.update((74.035, 74.010, 74.012, 74.015, 74.026))
>>> round(p.xbar.value, 4), p.xbar.beyond_limits, round(p.r.value, 3), p.r.beyond_limits
(74.0196, False, 0.025, False)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from cadence.analytics.spc.base import Convention, Point, phase_one_rounds
from cadence.analytics.spc.constants import d2, d3

__all__ = ["DEFAULT_MAX_ITERATIONS", "PartLimits", "XbarRChart", "XbarRLimits", "XbarRPoints", "phase_one"]

# Each round removes at least one subgroup; a baseline that keeps losing subgroups after a few rounds is
# not in control, whatever the limits say.
DEFAULT_MAX_ITERATIONS = 10


@dataclass(frozen=True, slots=True)
class PartLimits:
    """One part of a chart as qcc prints it: centre line, the process σ̂ (not the σ of the plotted
    statistic), and the limits (``lcl`` floored at 0 for a dispersion chart)."""

    center: float
    sigma: float
    lcl: float
    ucl: float


@dataclass(frozen=True, slots=True)
class XbarRPoints:
    """What one subgroup plots: its mean on the X̄ chart and its range on the R chart (same index)."""

    xbar: Point
    r: Point


def typical_size(sizes: Iterable[int]) -> int:
    # The most frequent size, ties to the larger: the size the summary limits are quoted for.
    counts = Counter(sizes)
    return max(counts, key=lambda n: (counts[n], n))


@dataclass(frozen=True, slots=True)
class XbarRLimits:
    """Frozen X̄-R parameters: grand mean ``center``, process ``sigma`` σ̂ = mean(R/d₂), width ``L``, the
    constants ``convention``; ``n`` is the baseline's (most frequent) subgroup size, the default for the
    limit methods. ``excluded`` lists the baseline subgroups left out (indices from 0, sorted) and
    ``iterations`` the phase I rounds it took."""

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
        d2(self.n)  # checks n

    def xbar_limits(self, n: int | None = None) -> PartLimits:
        """The X̄ chart for subgroups of ``n`` (default: the baseline size)."""
        size = self.n if n is None else n
        d2(size)  # checks size
        w = self.L * self.sigma / math.sqrt(size)
        return PartLimits(self.center, self.sigma, self.center - w, self.center + w)

    def r_limits(self, n: int | None = None) -> PartLimits:
        """The R chart for subgroups of ``n`` (default: the baseline size)."""
        size = self.n if n is None else n
        center = d2(size, self.convention) * self.sigma
        w = self.L * d3(size, self.convention) * self.sigma
        return PartLimits(center, self.sigma, max(0.0, center - w), center + w)


def check_subgroup(subgroup: Sequence[float], where: str) -> None:
    if len(subgroup) < 2:
        raise ValueError(f"{where}: a subgroup needs at least 2 values, got {len(subgroup)}")
    if not all(math.isfinite(v) for v in subgroup):
        raise ValueError(f"{where}: non-finite value in {list(subgroup)}")


class SubgroupLimits(Protocol):
    """What the X̄-R and X̄-S limits share: the X̄ part and the width ``L``."""

    @property
    def L(self) -> float: ...

    def xbar_limits(self, n: int | None = None) -> PartLimits: ...


LimitsT = TypeVar("LimitsT", bound=SubgroupLimits)


def subgroup_phase_one(
    subgroups: Sequence[Sequence[float]],
    *,
    spread: Callable[[Sequence[float]], float],
    unbias: Callable[[int], float],
    build: Callable[[float, float, int, tuple[int, ...], int], LimitsT],
    spread_limits: Callable[[LimitsT, int], PartLimits],
    spread_name: str,
    excluded: Iterable[int],
    iterate: bool,
    max_iterations: int,
) -> LimitsT:
    """Phase I of a mean-and-spread chart: centre = mean of the kept measurements, σ̂ = mean over the kept
    subgroups of ``spread(g) / unbias(n)``; ``build(center, sigma, n, excluded, rounds)`` makes the limits,
    and a subgroup is out when its mean or its spread is beyond them (``spread_limits``)."""
    for j, g in enumerate(subgroups):
        check_subgroup(g, f"subgroup {j}")
    sizes = [len(g) for g in subgroups]
    means = [math.fsum(g) / len(g) for g in subgroups]
    spreads = [spread(g) for g in subgroups]

    def fit(kept: list[int], out: tuple[int, ...], rounds: int) -> LimitsT:
        if not kept:
            raise ValueError("no baseline subgroup left")
        center = math.fsum(means[j] * sizes[j] for j in kept) / sum(sizes[j] for j in kept)
        sigma = math.fsum(spreads[j] / unbias(sizes[j]) for j in kept) / len(kept)
        if sigma == 0.0:
            raise ValueError(
                f"every baseline subgroup has a {spread_name} of 0: no spread to set limits from"
            )
        return build(center, sigma, typical_size(sizes[j] for j in kept), out, rounds)

    def beyond(limits: LimitsT, kept: list[int]) -> list[int]:
        return [
            j
            for j in kept
            if _beyond(means[j], limits.xbar_limits(sizes[j]))
            or _beyond(spreads[j], spread_limits(limits, sizes[j]))
        ]

    return phase_one_rounds(
        len(subgroups), fit, beyond, excluded=excluded, iterate=iterate, max_iterations=max_iterations
    )


def subgroup_points(
    limits: SubgroupLimits,
    cache: dict[int, tuple[PartLimits, PartLimits]],
    i: int,
    subgroup: Sequence[float],
    *,
    spread: Callable[[Sequence[float]], float],
    spread_limits: Callable[[int], PartLimits],
) -> tuple[Point, Point]:
    """Phase II: the mean and spread points of subgroup ``i``, the limits for its size kept in ``cache``."""
    n = len(subgroup)
    parts = cache.get(n)
    if parts is None:
        check_subgroup(subgroup, f"subgroup {i}")
        parts = cache[n] = (limits.xbar_limits(n), spread_limits(n))
    elif not all(math.isfinite(v) for v in subgroup):
        raise ValueError(f"subgroup {i}: non-finite value in {list(subgroup)}")
    x, d = parts
    # The plotted statistic's σ, for the rules' zones: the upper limit is never floored.
    L = limits.L
    return (
        Point(i, math.fsum(subgroup) / n, x.center, x.lcl, x.ucl, sigma=(x.ucl - x.center) / L),
        Point(i, spread(subgroup), d.center, d.lcl, d.ucl, sigma=(d.ucl - d.center) / L),
    )


def value_range(values: Sequence[float]) -> float:
    """The range of a subgroup, its largest value minus its smallest."""
    return max(values) - min(values)


def phase_one(
    subgroups: Sequence[Sequence[float]],
    *,
    L: float = 3.0,
    convention: Convention = Convention.TABULATED,
    excluded: Iterable[int] = (),
    iterate: bool = True,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> XbarRLimits:
    """Limits from baseline ``subgroups`` (each 2–25 values); see the module docstring."""
    return subgroup_phase_one(
        subgroups,
        spread=value_range,
        unbias=lambda n: d2(n, convention),
        build=lambda center, sigma, n, out, rounds: XbarRLimits(
            center=center, sigma=sigma, n=n, L=L, convention=convention, excluded=out, iterations=rounds
        ),
        spread_limits=lambda limits, n: limits.r_limits(n),
        spread_name="range",
        excluded=excluded,
        iterate=iterate,
        max_iterations=max_iterations,
    )


def _beyond(value: float, part: PartLimits) -> bool:
    return value < part.lcl or value > part.ucl


@dataclass(slots=True)
class XbarRChart:
    """Phase II X̄-R chart against frozen limits; :meth:`update` takes one subgroup (any size 2–25, the
    limits follow its size) and returns both points."""

    limits: XbarRLimits
    i: int = 0
    _parts: dict[int, tuple[PartLimits, PartLimits]] = field(default_factory=dict, repr=False)

    def update(self, subgroup: Sequence[float]) -> XbarRPoints:
        xbar, r = subgroup_points(
            self.limits, self._parts, self.i, subgroup, spread=value_range, spread_limits=self.limits.r_limits
        )
        self.i += 1
        return XbarRPoints(xbar=xbar, r=r)
