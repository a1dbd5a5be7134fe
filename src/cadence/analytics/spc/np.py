"""np chart: the number of nonconforming parts in samples of one constant size ``n``.

Phase I: ``p̄ = ΣDⱼ / (m·n)`` over the baseline samples kept; centre ``n·p̄``, limits
``n·p̄ ± L·√(n·p̄(1 − p̄))``, the lower clipped at 0 and the upper at n. Exclusion works as for the
p chart (:mod:`cadence.analytics.spc.p`): ``excluded`` for samples with a known cause, ``iterate`` to drop
the ones still out. With varying sizes use the p chart: an np chart's limits only make sense for one n.

Orange-juice cans, samples of 50 (docs/domain.md §3.5):

>>> d = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12,
...      7, 13, 9, 6]
>>> limits = phase_one(d, 50, iterate=False)
>>> round(limits.center, 5), round(limits.sigma, 6), round(limits.lcl, 6), round(limits.ucl, 5)
(11.56667, 2.981763, 2.621377, 20.51196)
>>> chart = NpChart(limits)
>>> [i + 1 for i, dj in enumerate(d) if chart.update(dj).beyond_limits]
[15, 23]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cadence.analytics.spc.base import Point, phase_one_rounds

# Enough for any real baseline: each round removes at least one sample (see cadence.analytics.spc.p).
DEFAULT_MAX_ITERATIONS = 10


@dataclass(frozen=True, slots=True)
class NpLimits:
    """Frozen np-chart parameters: sample size ``n``, fraction ``p`` (p̄), width ``L`` in sigmas, the
    baseline samples left out (indices from 0) and the phase I rounds it took."""

    n: int
    p: float
    L: float = 3.0
    excluded: tuple[int, ...] = ()
    iterations: int = 1

    @property
    def center(self) -> float:
        return self.n * self.p

    @property
    def sigma(self) -> float:
        return math.sqrt(self.n * self.p * (1.0 - self.p))

    @property
    def lcl(self) -> float:
        return max(0.0, self.center - self.L * self.sigma)

    @property
    def ucl(self) -> float:
        return min(float(self.n), self.center + self.L * self.sigma)


def _check(defectives: Iterable[float], n: int) -> None:
    if n <= 0:
        raise ValueError(f"sample size must be > 0, got {n}")
    for j, d in enumerate(defectives):
        if not 0 <= d <= n:
            raise ValueError(f"sample {j}: {d} nonconforming out of {n}")


def phase_one(
    defectives: Sequence[float],
    n: int,
    *,
    L: float = 3.0,
    excluded: Iterable[int] = (),
    iterate: bool = True,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> NpLimits:
    """Limits from baseline counts of nonconforming parts, each out of ``n``."""
    _check(defectives, n)

    def fit(kept: list[int], out: tuple[int, ...], rounds: int) -> NpLimits:
        if not kept:
            raise ValueError("no baseline sample left")
        p = sum(defectives[j] for j in kept) / (n * len(kept))
        return NpLimits(n=n, p=p, L=L, excluded=out, iterations=rounds)

    def beyond(limits: NpLimits, kept: list[int]) -> list[int]:
        return [j for j in kept if not limits.lcl <= defectives[j] <= limits.ucl]

    return phase_one_rounds(
        len(defectives), fit, beyond, excluded=excluded, iterate=iterate, max_iterations=max_iterations
    )


class NpChart:
    """Phase II np chart against frozen limits; :meth:`update` takes a sample's nonconforming count."""

    def __init__(self, limits: NpLimits) -> None:
        self.limits = limits
        self.i = 0

    def update(self, defectives: float) -> Point:
        _check([defectives], self.limits.n)
        lim = self.limits
        point = Point(self.i, float(defectives), lim.center, lim.lcl, lim.ucl, sigma=lim.sigma)
        self.i += 1
        return point
