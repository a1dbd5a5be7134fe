"""Tabular CUSUM: two one-sided cumulative sums that add up small, persistent deviations from target.

``C⁺ᵢ = max(0, xᵢ − (μ₀ + K) + C⁺ᵢ₋₁)`` and ``C⁻ᵢ = max(0, (μ₀ − K) − xᵢ + C⁻ᵢ₋₁)``; the chart signals
when either exceeds ``H``. ``K = k·σ`` is the slack (k = 0.5 tunes it to a 1σ shift) and ``H = h·σ`` the
decision interval (h = 4 or 5), σ being that of what is fed to :meth:`CusumChart.update` (``σ/√n`` for
subgroup means); K and H can also be given in the measured unit. With the fast initial response (FIR)
both sums start at a head start (usually H/2) instead of 0, so a process that starts off target — after a
die change, a restart — is caught sooner, at little cost in false alarms (docs/domain.md §3.1, §3.6).

The plotted :class:`~cadence.analytics.spc.base.Point` is C⁺ when it is the larger sum and −C⁻ otherwise,
against limits ±H around 0; :attr:`CusumPoint.side` tells which sum crossed.

>>> chart = CusumChart.from_sigma(target=10.0, sigma=1.0, k=0.5, h=4.0)
>>> for x in (10.2, 11.5, 11.8, 11.2, 11.9, 11.6):
...     c = chart.update(x)
...     print(c.point.index, round(c.upper, 2), round(c.lower, 2), c.side)
0 0.0 0.0 None
1 1.0 0.0 None
2 2.3 0.0 None
3 3.0 0.0 None
4 4.4 0.0 upper
5 5.5 0.0 upper
>>> fir = CusumChart.from_sigma(target=10.0, sigma=1.0, k=0.5, h=4.0, head_start=2.0)
>>> [fir.update(x).side for x in (10.2, 11.5, 11.8, 11.2)]  # one point sooner
[None, None, None, 'upper']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cadence.analytics.spc.base import Point

Side = Literal["upper", "lower"]


@dataclass(frozen=True, slots=True)
class CusumLimits:
    """The frozen parameters, in the measured unit: target ``μ₀``, slack ``K``, decision interval ``H``
    and the head start of both sums (0 without FIR)."""

    target: float
    K: float
    H: float
    head_start: float = 0.0

    def __post_init__(self) -> None:
        if not self.K >= 0.0:
            raise ValueError(f"K must be >= 0, got {self.K}")
        if not self.H > 0.0:
            raise ValueError(f"H must be > 0, got {self.H}")
        if not 0.0 <= self.head_start < self.H:
            raise ValueError(f"head_start must be in [0, H), got {self.head_start}")


@dataclass(frozen=True, slots=True)
class CusumPoint:
    """One update: both sums, which side signals (``None`` when neither exceeds H), and the plotted
    point (C⁺ or −C⁻, whichever is further from 0, with limits −H and H)."""

    upper: float
    lower: float
    side: Side | None
    point: Point


class CusumChart:
    """Streaming two-sided tabular CUSUM. After a signal the sums keep accumulating (as on a paper
    chart); call :meth:`reset` once the cause is found and removed."""

    def __init__(self, limits: CusumLimits) -> None:
        self.limits = limits
        self.i = 0
        self.upper = limits.head_start
        self.lower = limits.head_start

    @classmethod
    def from_sigma(
        cls, target: float, sigma: float, *, k: float = 0.5, h: float = 5.0, head_start: float = 0.0
    ) -> CusumChart:
        """K = k·σ and H = h·σ; ``head_start`` is in σ units too (h/2 for the usual FIR)."""
        if not sigma > 0.0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        return cls(CusumLimits(target=target, K=k * sigma, H=h * sigma, head_start=head_start * sigma))

    def reset(self) -> None:
        """Restart both sums at the head start (after corrective action)."""
        self.upper = self.lower = self.limits.head_start

    def update(self, x: float) -> CusumPoint:
        lim = self.limits
        self.upper = max(0.0, x - (lim.target + lim.K) + self.upper)
        self.lower = max(0.0, (lim.target - lim.K) - x + self.lower)
        side: Side | None = None
        if self.upper > lim.H:
            side = "upper"
        elif self.lower > lim.H:
            side = "lower"
        value = self.upper if self.upper >= self.lower else -self.lower
        point = Point(index=self.i, value=value, center=0.0, lcl=-lim.H, ucl=lim.H)
        self.i += 1
        return CusumPoint(upper=self.upper, lower=self.lower, side=side, point=point)
