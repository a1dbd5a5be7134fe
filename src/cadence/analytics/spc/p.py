"""p chart: the fraction of nonconforming parts in samples whose size may vary.

Phase I: ``p̄ = ΣDⱼ / Σnⱼ`` over the baseline samples kept; each sample gets its own limits
``p̄ ± L·√(p̄(1 − p̄)/nⱼ)``, the lower clipped at 0 and the upper at 1 (as qcc does), so the limits step
with the sample size. Samples with a known assignable cause are left out with ``excluded``; with
``iterate=True`` the samples still beyond their limits are dropped too and p̄ recomputed until none is
(bounded by ``max_iterations``). Automatic exclusion is a convenience: the textbook removes only the
samples whose cause was found (Montgomery keeps sample 21 of the orange-juice cans, just above the
revised UCL, because none was), so the published revised limits come from ``excluded`` alone.

Orange-juice cans (samples of 50, docs/domain.md §3.5): samples 15 and 23 are out; p̄ without them is 0.215.

>>> d = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12,
...      7, 13, 9, 6]
>>> first = phase_one(d, [50] * 30, iterate=False)
>>> round(first.center, 7), [round(v, 7) for v in first.limits(50)]
(0.2313333, [0.0524275, 0.4102391])
>>> [i + 1 for i, p in enumerate(PChart(first).update(dj, 50) for dj in d) if p.beyond_limits]
[15, 23]
>>> revised = phase_one(d, [50] * 30, excluded=[14, 22], iterate=False)
>>> round(revised.center, 4), [round(v, 7) for v in revised.limits(50)], revised.excluded
(0.215, [0.0407028, 0.3892972], (14, 22))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cadence.analytics.spc.base import Point, phase_one_rounds

# Enough for any real baseline: each round removes at least one sample, and a baseline that keeps
# losing samples after a few rounds is not in control, whatever the limits say.
DEFAULT_MAX_ITERATIONS = 10


@dataclass(frozen=True, slots=True)
class PLimits:
    """Frozen p-chart parameters: ``center`` p̄, width ``L`` in sigmas, the baseline samples left out
    (indices from 0, sorted) and the phase I rounds it took."""

    center: float
    L: float = 3.0
    excluded: tuple[int, ...] = ()
    iterations: int = 1

    def sigma(self, n: float) -> float:
        """σ of the fraction nonconforming in a sample of ``n`` (qcc prints it for the common size)."""
        return math.sqrt(self.center * (1.0 - self.center) / n)

    def limits(self, n: float) -> tuple[float, float]:
        """``(lcl, ucl)`` for a sample of ``n``, clipped to [0, 1]."""
        w = self.L * self.sigma(n)
        return max(0.0, self.center - w), min(1.0, self.center + w)


def _check(defectives: Sequence[float], sizes: Sequence[float]) -> None:
    if len(defectives) != len(sizes):
        raise ValueError(f"{len(defectives)} counts for {len(sizes)} sample sizes")
    for j, (d, n) in enumerate(zip(defectives, sizes, strict=True)):
        if not n > 0 or not 0 <= d <= n:
            raise ValueError(f"sample {j}: {d} nonconforming out of {n}")


def phase_one(
    defectives: Sequence[float],
    sizes: Sequence[float],
    *,
    L: float = 3.0,
    excluded: Iterable[int] = (),
    iterate: bool = True,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> PLimits:
    """Limits from baseline samples: ``defectives[j]`` nonconforming out of ``sizes[j]``."""
    _check(defectives, sizes)

    def fit(kept: list[int], out: tuple[int, ...], rounds: int) -> PLimits:
        if not kept:
            raise ValueError("no baseline sample left")
        center = sum(defectives[j] for j in kept) / sum(sizes[j] for j in kept)
        return PLimits(center=center, L=L, excluded=out, iterations=rounds)

    def beyond(limits: PLimits, kept: list[int]) -> list[int]:
        return [j for j in kept if _beyond(defectives[j] / sizes[j], limits.limits(sizes[j]))]

    return phase_one_rounds(
        len(sizes), fit, beyond, excluded=excluded, iterate=iterate, max_iterations=max_iterations
    )


def _beyond(value: float, limits: tuple[float, float]) -> bool:
    return value < limits[0] or value > limits[1]


class PChart:
    """Phase II p chart against frozen limits; :meth:`update` takes a sample's count and size."""

    def __init__(self, limits: PLimits) -> None:
        self.limits = limits
        self.i = 0

    def update(self, defectives: float, size: float) -> Point:
        _check([defectives], [size])
        lcl, ucl = self.limits.limits(size)
        center, sigma = self.limits.center, self.limits.sigma(size)
        point = Point(index=self.i, value=defectives / size, center=center, lcl=lcl, ucl=ucl, sigma=sigma)
        self.i += 1
        return point
