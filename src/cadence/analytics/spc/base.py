"""What every control chart shares: the plotted point with its limits, a rule violation, the constants
convention.

Charts are streaming objects: ``update`` takes one observation (a value, a subgroup, a count with its
sample size), returns the :class:`Point` it plots, and the chart keeps only what the next update needs.
Phase I (limits from a baseline) is a function of each chart module that returns frozen limits; phase II
builds the chart from them. Rules (:mod:`cadence.analytics.spc.rules`) read the points one by one.

>>> p = Point(index=3, value=74.0196, center=74.00126, lcl=73.98808, ucl=74.01443)
>>> p.beyond_limits, round(p.sigma_units, 3)
(True, 4.178)
>>> clipped = Point(index=0, value=0.01, center=0.05, lcl=0.0, ucl=0.15, sigma=0.0333)
>>> round(clipped.sigma_units, 2)  # the lower limit is clipped at 0: the zones come from sigma
-1.2
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

LimitsT = TypeVar("LimitsT")


class Convention(enum.StrEnum):
    """Where the control-chart constants (d₂, d₃, c₄, A₂…) come from.

    ``TABULATED``: the textbook tables as printed (d₂ = 2.326 for n = 5), which published limits use, so
    results match the books and qcc digit for digit. ``EXACT``: computed from first principles
    (d₂ = 2.325929…), for new work. docs/domain.md §3.2 lists both.
    """

    TABULATED = "tabulated"
    EXACT = "exact"


@dataclass(frozen=True, slots=True)
class Point:
    """One plotted statistic with the limits in force for it (they differ point by point on p and u
    charts with variable sample sizes, and on an EWMA chart's first points).

    ``index`` counts the chart's points from 0 in the order they came. ``lcl`` or ``ucl`` is ``None``
    when the chart has no such limit (an R chart's LCL for n < 7 is 0, not None: None means "none").
    """

    index: int
    value: float
    center: float
    lcl: float | None
    ucl: float | None
    # Standard deviation of the plotted statistic at this point, when the chart knows it: the zones of the
    # run rules are measured in it. Without it, the limits are taken to be at ±3 of it, which is wrong for
    # an EWMA with L ≠ 3 and below a lower limit clipped at zero.
    sigma: float | None = None

    @property
    def beyond_limits(self) -> bool:
        """Above the UCL or below the LCL."""
        return (self.ucl is not None and self.value > self.ucl) or (
            self.lcl is not None and self.value < self.lcl
        )

    @property
    def sigma_units(self) -> float:
        """Distance from the centre line in sigmas of the plotted statistic: the zones of the run rules.

        With :attr:`sigma` known it is exact; otherwise the limit on the point's side is taken to be 3σ
        away (0 when that side has no limit)."""
        if self.sigma is not None and self.sigma > 0:
            return (self.value - self.center) / self.sigma
        limit = self.ucl if self.value >= self.center else self.lcl
        if limit is None or limit == self.center:
            return 0.0
        return 3.0 * (self.value - self.center) / abs(limit - self.center)


@dataclass(frozen=True, slots=True)
class Violation:
    """Rule ``rule`` (a stable code such as ``"we2"`` or ``"nelson3"``) fired at point ``index``, because
    of the points ``points`` (``index`` is the last of them)."""

    rule: str
    index: int
    points: tuple[int, ...]


def phase_one_rounds(
    count: int,
    fit: Callable[[list[int], tuple[int, ...], int], LimitsT],
    beyond: Callable[[LimitsT, list[int]], list[int]],
    *,
    excluded: Iterable[int] = (),
    iterate: bool = True,
    max_iterations: int = 10,
) -> LimitsT:
    """Phase I with iterative exclusion, for every chart: ``fit(kept, excluded, round)`` computes limits
    from the baseline points ``kept`` (indices from 0; ``excluded`` sorted, ``round`` from 1), then
    ``beyond(limits, kept)`` lists the kept points outside them; they are left out and the limits computed
    again, until none is out or ``max_iterations`` rounds have passed. Without ``iterate``, one round.

    >>> def fit(kept, out, r): return (sum(data[j] for j in kept) / len(kept), out, r)
    >>> def beyond(limits, kept): return [j for j in kept if abs(data[j] - limits[0]) > 15]
    >>> data = [10, 11, 9, 40, 10]
    >>> phase_one_rounds(len(data), fit, beyond)
    (10.0, (3,), 2)
    """
    out = set(excluded)
    rounds = 0
    while True:
        rounds += 1
        kept = [j for j in range(count) if j not in out]
        limits = fit(kept, tuple(sorted(out)), rounds)
        if not iterate or rounds > max_iterations:
            return limits
        found = beyond(limits, kept)
        if not found:
            return limits
        out.update(found)
