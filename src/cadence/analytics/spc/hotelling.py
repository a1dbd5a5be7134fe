"""Hotelling T²: one chart for several correlated features of a stroke (peak pressure, energy, cycle time…).

Two features can each stay inside their own limits while their combination is abnormal (a stroke with a
high peak but low energy); T² measures the distance of an observation from the baseline mean in the
metric of the baseline covariance, ``T² = n·(x̄ − x̿)ᵀ S⁻¹ (x̄ − x̿)``, and signals above one upper limit.

Phase I (:func:`phase_one`) estimates the mean vector and the covariance from a baseline of ``m``
individual observations (``S`` = sample covariance, n = 1) or of ``m`` subgroups of ``n`` (``S`` = the
mean of the subgroup covariances). The upper limits (Montgomery, *Introduction to SQC*, §11.3; Tracy,
Young and Mason 1992 for individuals), with p features and false-alarm probability α:

* individuals (n = 1), phase I: ``(m − 1)²/m · Beta₁₋α(p/2, (m − p − 1)/2)``;
* individuals, phase II: ``p(m + 1)(m − 1)/(m² − mp) · F₁₋α(p, m − p)``;
* subgroups (n > 1), phase I: ``p(m − 1)(n − 1)/(mn − m − p + 1) · F₁₋α(p, mn − m − p + 1)``;
* subgroups, phase II: the same with ``(m + 1)`` in place of ``(m − 1)``.

The quantiles come from the regularized incomplete beta function, computed here with its continued
fraction and inverted by bisection (math only: scipy is not a dependency and the web and ingest
processes must not load it). They are only needed when limits are set; :meth:`HotellingChart.update` is
a few numpy products. T² has no lower limit and no centre line worth plotting (``center`` is 0), so the
zone rules of :mod:`cadence.analytics.spc.rules` do not apply to it: only "beyond the UCL".

Two correlated features; the last observation keeps each feature within 2σ of its mean, but breaks
their correlation:

>>> import numpy as np
>>> rng = np.random.default_rng(7)
>>> baseline = rng.multivariate_normal([100.0, 50.0], [[4.0, 3.6], [3.6, 4.0]], size=50)
>>> limits = phase_one(baseline)
>>> limits.p, limits.m, limits.n, limits.excluded, round(limits.ucl, 3)
(2, 50, 1, (), 13.967)
>>> chart = HotellingChart(limits)
>>> point = chart.update([104.0, 46.0])
>>> round(point.value, 1), point.beyond_limits
(103.4, True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cadence.analytics.spc.base import Point

# The false-alarm probability of a 3σ Shewhart limit, the usual default for one T² chart.
DEFAULT_ALPHA = 0.0027
# Enough for any real baseline: each round removes at least one observation; a baseline still losing
# points after ten rounds is not in control.
DEFAULT_MAX_ITERATIONS = 10
# Continued-fraction convergence: relative change below this, within at most this many terms.
_CF_EPS = 1e-15
_CF_MAX_TERMS = 1000
_TINY = 1e-300


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (the 1 + d₁/(1 + d₂/(1 + …)) part), by the modified Lentz
    method; converges fast for x < (a + 1)/(a + b + 2)."""
    f = c = 1.0
    d = 0.0
    for j in range(1, 2 * _CF_MAX_TERMS):
        m = j // 2
        if j % 2:  # odd terms: d_{2m+1}
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        else:  # even terms: d_{2m}
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + num / c
        c = c if abs(c) > _TINY else _TINY
        delta = c * d
        f *= delta
        if abs(delta - 1.0) < _CF_EPS:
            return f
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def beta_cdf(x: float, a: float, b: float) -> float:
    """Regularized incomplete beta I_x(a, b): P(X ≤ x) for X ~ Beta(a, b)."""
    if not (a > 0 and b > 0):
        raise ValueError(f"beta parameters must be > 0, got a={a}, b={b}")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = a * math.log(x) + b * math.log1p(-x) - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) / (a * _betacf(a, b, x))
    # The symmetry I_x(a, b) = 1 − I_{1−x}(b, a) keeps the fraction in its fast region.
    return 1.0 - math.exp(log_front) / (b * _betacf(b, a, 1.0 - x))


def beta_ppf(q: float, a: float, b: float) -> float:
    """The q-quantile of Beta(a, b), by bisection on the monotone CDF down to adjacent doubles."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    lo, hi = 0.0, 1.0
    while True:
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            return mid
        if beta_cdf(mid, a, b) < q:
            lo = mid
        else:
            hi = mid


def f_ppf(q: float, d1: float, d2: float) -> float:
    """The q-quantile of Fisher's F(d1, d2): if B ~ Beta(d1/2, d2/2), d2·B/(d1·(1 − B)) ~ F(d1, d2)."""
    x = beta_ppf(q, d1 / 2.0, d2 / 2.0)
    return d2 * x / (d1 * (1.0 - x))


def ucl_phase_one(p: int, m: int, n: int = 1, alpha: float = DEFAULT_ALPHA) -> float:
    """UCL for the baseline's own points (retrospective): beta for individuals, F for subgroups."""
    _check_sizes(p, m, n)
    if n == 1:
        return (m - 1) ** 2 / m * beta_ppf(1.0 - alpha, p / 2.0, (m - p - 1) / 2.0)
    d2 = m * n - m - p + 1
    return p * (m - 1) * (n - 1) / d2 * f_ppf(1.0 - alpha, p, d2)


def ucl_phase_two(p: int, m: int, n: int = 1, alpha: float = DEFAULT_ALPHA) -> float:
    """UCL for new points against limits estimated from ``m`` baseline observations or subgroups."""
    _check_sizes(p, m, n)
    if n == 1:
        return p * (m + 1) * (m - 1) / (m * m - m * p) * f_ppf(1.0 - alpha, p, m - p)
    d2 = m * n - m - p + 1
    return p * (m + 1) * (n - 1) / d2 * f_ppf(1.0 - alpha, p, d2)


def _check_sizes(p: int, m: int, n: int) -> None:
    if p < 1 or n < 1:
        raise ValueError(f"need p >= 1 feature and subgroups of n >= 1, got p={p}, n={n}")
    # The distributions need positive degrees of freedom: m − p − 1 > 0 for individuals, mn − m − p + 1
    # > 0 for subgroups.
    if (n == 1 and m - p - 1 <= 0) or (n > 1 and m * n - m - p + 1 <= 0):
        raise ValueError(f"a baseline of m={m} (n={n}) is too small for p={p} features")


@dataclass(frozen=True, slots=True)
class HotellingLimits:
    """Frozen T² parameters: baseline ``mean`` (p values), ``inverse`` covariance (p×p rows), the
    counts ``p``, ``m`` (observations or subgroups kept), ``n`` (subgroup size, 1 for individuals), the
    false-alarm probability, the phase II ``ucl`` and the phase I one the baseline was checked against,
    the baseline points left out (indices from 0) and the rounds it took."""

    mean: tuple[float, ...]
    inverse: tuple[tuple[float, ...], ...]
    p: int
    m: int
    n: int
    alpha: float
    ucl: float
    ucl_phase_one: float
    excluded: tuple[int, ...] = ()
    iterations: int = 1


def _estimate(
    data: npt.NDArray[np.float64], kept: list[int]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    sub = data[kept]
    if sub.ndim == 2:  # individuals: m × p
        return sub.mean(axis=0), np.atleast_2d(np.cov(sub, rowvar=False, ddof=1))
    # subgroups: m × n × p; the pooled within-subgroup covariance keeps shifts between subgroups out of S
    covs = [np.atleast_2d(np.cov(g, rowvar=False, ddof=1)) for g in sub]
    return sub.reshape(-1, sub.shape[2]).mean(axis=0), np.mean(covs, axis=0)


def _t2(
    x: npt.NDArray[np.float64], n: int, mean: npt.NDArray[np.float64], inverse: npt.NDArray[np.float64]
) -> float:
    centred = (x.mean(axis=0) if x.ndim == 2 else x) - mean
    return float(n * centred @ inverse @ centred)


def phase_one(
    data: Sequence[Sequence[float]] | Sequence[Sequence[Sequence[float]]] | npt.ArrayLike,
    *,
    alpha: float = DEFAULT_ALPHA,
    excluded: Iterable[int] = (),
    iterate: bool = True,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> HotellingLimits:
    """Limits from a baseline: an ``m × p`` array of individual observations, or ``m × n × p`` subgroups.

    With ``iterate`` the baseline points above the phase I UCL are dropped and the estimates redone until
    none is (at most ``max_iterations`` rounds); ``excluded`` leaves out points with a known cause."""
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim not in (2, 3):
        raise ValueError(f"baseline must be m × p or m × n × p, got shape {arr.shape}")
    n = 1 if arr.ndim == 2 else arr.shape[1]
    p = arr.shape[-1]
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    out = set(excluded)
    rounds = 0
    while True:
        rounds += 1
        kept = [j for j in range(arr.shape[0]) if j not in out]
        m = len(kept)
        _check_sizes(p, m, n)
        mean, cov = _estimate(arr, kept)
        if np.linalg.matrix_rank(cov) < p:
            raise ValueError("the baseline covariance is singular: a feature is constant or a combination")
        inverse = np.asarray(np.linalg.inv(cov), dtype=np.float64)
        limit_one = ucl_phase_one(p, m, n, alpha)
        limits = HotellingLimits(
            mean=tuple(float(v) for v in mean),
            inverse=tuple(tuple(float(v) for v in row) for row in inverse),
            p=p,
            m=m,
            n=n,
            alpha=alpha,
            ucl=ucl_phase_two(p, m, n, alpha),
            ucl_phase_one=limit_one,
            excluded=tuple(sorted(out)),
            iterations=rounds,
        )
        if not iterate or rounds > max_iterations:
            return limits
        beyond = [j for j in kept if _t2(arr[j], n, mean, inverse) > limit_one]
        if not beyond:
            return limits
        out.update(beyond)


class HotellingChart:
    """Phase II T² chart against frozen limits: :meth:`update` takes one observation (p values) or one
    subgroup (n rows of p values) and returns its T² with the UCL."""

    def __init__(self, limits: HotellingLimits) -> None:
        self.limits = limits
        self._mean = np.asarray(limits.mean, dtype=np.float64)
        self._inverse = np.asarray(limits.inverse, dtype=np.float64)
        self.i = 0

    def update(self, observation: Sequence[float] | Sequence[Sequence[float]] | npt.ArrayLike) -> Point:
        x = np.asarray(observation, dtype=np.float64)
        lim = self.limits
        shape_ok = x.shape == (lim.p,) if lim.n == 1 else (x.ndim == 2 and x.shape[1] == lim.p)
        if not shape_ok:
            raise ValueError(
                f"expected {'p' if lim.n == 1 else 'n × p'} values with p={lim.p}, got {x.shape}"
            )
        # T² uses the subgroup's own size: a short subgroup (a missed stroke) still gets its right weight.
        value = _t2(x, 1 if x.ndim == 1 else x.shape[0], self._mean, self._inverse)
        point = Point(index=self.i, value=value, center=0.0, lcl=None, ucl=lim.ucl)
        self.i += 1
        return point
