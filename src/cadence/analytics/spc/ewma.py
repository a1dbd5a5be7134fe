"""EWMA chart: an exponentially weighted moving average that sees slow drifts a Shewhart chart misses.

``zᵢ = λ·xᵢ + (1 − λ)·zᵢ₋₁`` with ``z₀ = μ₀``; the limits are ``μ₀ ± L·σ·√(λ/(2 − λ)·[1 − (1 − λ)^(2i)])``
(exact, narrower on the first points because z has not yet averaged many values) or, with
``exact=False``, the asymptotic ``μ₀ ± L·σ·√(λ/(2 − λ))``. ``σ`` is the standard deviation of what is fed
to :meth:`EwmaChart.update`: of the individual values, or ``σ/√n`` for subgroup means. The centre and σ
come from elsewhere (a phase I of an X̄ chart, or a known process): an EWMA has no phase I of its own.
Small λ (0.05–0.2) suits the slow drifts of die wear and warming oil (docs/domain.md §3.1, §3.6).

A process centred on 10 (σ = 1) that drifts up by one σ, on a chart with λ = 0.2 and L = 3: the limits
widen from ±0.6 towards ±1.0 and z crosses the UCL at the fourth value.

>>> chart = EwmaChart(center=10.0, sigma=1.0, lam=0.2, L=3.0)
>>> for x in (11.0, 12.0, 11.5, 12.0, 12.5):
...     p = chart.update(x)
...     print(p.index, round(p.value, 4), round(p.lcl, 4), round(p.ucl, 4), p.beyond_limits)
0 10.2 9.4 10.6 False
1 10.56 9.2316 10.7684 False
2 10.748 9.141 10.859 False
3 10.9984 9.0877 10.9123 True
4 11.2987 9.0552 10.9448 True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cadence.analytics.spc.base import Point


@dataclass(frozen=True, slots=True)
class EwmaLimits:
    """The frozen parameters of an EWMA chart: centre ``μ₀``, ``sigma`` of the plotted observations,
    smoothing ``lam`` (0 < λ ≤ 1) and width ``L`` in sigmas of z."""

    center: float
    sigma: float
    lam: float = 0.2
    L: float = 3.0

    def __post_init__(self) -> None:
        if not 0.0 < self.lam <= 1.0:
            raise ValueError(f"lam must be in (0, 1], got {self.lam}")
        if not self.sigma > 0.0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        if not self.L > 0.0:
            raise ValueError(f"L must be > 0, got {self.L}")

    def half_width(self, i: int | None = None) -> float:
        """Distance from the centre to a limit at point ``i`` (1 for the first point), or the asymptotic
        distance when ``i`` is ``None``."""
        factor = self.lam / (2.0 - self.lam)
        if i is not None:
            factor *= 1.0 - (1.0 - self.lam) ** (2 * i)
        return self.L * self.sigma * math.sqrt(factor)

    def limits(self, i: int | None = None) -> tuple[float, float]:
        """``(lcl, ucl)`` at point ``i`` (from 1; ``None``: asymptotic)."""
        w = self.half_width(i)
        return self.center - w, self.center + w


class EwmaChart:
    """Streaming EWMA: :meth:`update` takes one value (an individual or a subgroup mean) and returns the
    point z with the limits in force for it. O(1) state: the current ``z`` and the count ``i``."""

    def __init__(
        self,
        center: float,
        sigma: float,
        *,
        lam: float = 0.2,
        L: float = 3.0,
        exact: bool = True,
    ) -> None:
        self.limits = EwmaLimits(center=center, sigma=sigma, lam=lam, L=L)
        self.exact = exact
        self.z = center
        self.i = 0
        # The asymptotic half-width, computed once: the exact one reaches it to 1e-12 relative after tens
        # to a few hundred points (63 for λ = 0.2), after which the power need not be evaluated any more.
        self._asymptotic = self.limits.half_width(None)
        self._settled = not exact

    @classmethod
    def from_limits(cls, limits: EwmaLimits, *, exact: bool = True) -> EwmaChart:
        return cls(limits.center, limits.sigma, lam=limits.lam, L=limits.L, exact=exact)

    def update(self, x: float) -> Point:
        lam = self.limits.lam
        self.z = lam * x + (1.0 - lam) * self.z
        self.i += 1
        if self._settled:
            w = self._asymptotic
        else:
            w = self.limits.half_width(self.i)
            # (1 − λ)^(2i) < 1e-12: the exact limit equals the asymptotic one to 1e-12 relative.
            if (1.0 - lam) ** (2 * self.i) < 1e-12:
                self._settled = True
        c = self.limits.center
        return Point(index=self.i - 1, value=self.z, center=c, lcl=c - w, ucl=c + w, sigma=w / self.limits.L)
