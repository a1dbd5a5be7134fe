"""Remaining useful life of a press subsystem: when a degradation level trending up will reach failure.

A subsystem's degradation level (:mod:`cadence.analytics.health.monitor`) is 0 on a healthy press and 1 at
functional failure. Wear has a shape: the level sits at its noise floor until the fault starts, then
rises, faster and faster (a leaking pump loses volumetric efficiency at an increasing rate, and the
features it moves grow as the inverse of that efficiency). :func:`forecast` therefore fits, to the last
``window_days``, a level that is flat until a start time ``τ`` and then grows from a rate ``m`` with an
acceleration ``b`` (``b = 0`` is a straight line)::

    level(t) = c                                 t ≤ τ
             = c + m · (e^(b·(t − τ)) − 1) / b    t > τ

and solves for the time it reaches the threshold. Fitting only a straight line to the last week, most of
which is flat when an alert opens, predicts a date several times too late.

``τ`` and ``b`` are not known, and early in a fault the data hardly tell a line from a fast exponential.
Rather than trust one guess, every pair on a grid is fitted (``c`` and ``m`` by least squares) and weighted
by its likelihood; the forecast is the median crossing time of that mixture and the band its central 80 %,
each pair also carrying its own parameter uncertainty by the delta method. The residuals are smoothed,
hence autocorrelated: the likelihood and the covariance count the effective number of independent points
(AR(1)), without which the band would be far too narrow. Points weigh less the older they are (half every
two days): real wear does not keep one acceleration for a week.

Every acceleration up to ``_MAX_FOLDS`` is equally likely a priori, because wear accelerates. The price: on
a level that truly rises in a straight line under strongly autocorrelated noise, where a week of data
cannot tell a line from a curve, the forecast comes early (about 0.6 of the true time with AR(1) 0.9
noise; unbiased with white or mildly correlated noise) — the safe side for maintenance.

Level 1 is where the subsystem's failure changes say the press stops doing its job, and a real press fails
somewhat before or after it. With ``threshold_sd`` the threshold is a log-normal spread of levels (nine
equal slices): each is crossed at its own time and all join the mixture, so the band also holds that
uncertainty (:func:`failure_forecast` passes :data:`FAILURE_LEVEL_SD`). The median hardly moves: a monotone
path crosses the median threshold at the median time.

No forecast is made when the rise is not significant (t-statistic of the growth over the rising points
alone below ``min_t``: a step is not a trend), when it has covered less than 5 % of the way to the
threshold, when there are too few points, or when the median crossing is beyond ``horizon_days``: saying
"no trend" is more useful to a technician than a date three years away.

>>> import numpy as np
>>> days = np.arange(0.0, 6.0, 1 / 24)                       # six days, hourly
>>> level = 0.10 + 0.05 * days + 0.004 * np.sin(days * 40)   # +0.05 a day, a little wobble
>>> f = forecast(days, level, threshold=1.0)
>>> round(f.eta_days, 1), f.model
(12.0, 'linear')
>>> f.low_days < f.eta_days < f.high_days
True
>>> forecast(days, np.full_like(days, 0.2), threshold=1.0) is None   # flat: no trend, no date
True

A fault that started two days ago, the level growing faster and faster, flat before: the flat days do not
dilute the rise.

>>> rise = np.clip(days - 4.0, 0.0, None)
>>> worn = 0.1 * np.expm1(0.3 * rise) / 0.3
>>> g = forecast(days, worn, threshold=1.0)
>>> round(g.eta_days, 1), g.model, round(float(np.log1p(0.3 * 1.0 / 0.1) / 0.3 + 4.0 - days[-1]), 1)
(2.7, 'exponential', 2.7)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Model = Literal["linear", "exponential"]

# Where a press really fails around its subsystem's nominal failure changes (level 1), as a log standard
# deviation: the failure changes are round engineering figures (a time-out, a quality window, a trip), and
# on the simulator the level at functional failure ran from 0.6 to 2.2: rms 0.41 of its logarithm over
# seeds 1-2, 0.40 over seeds 3-4 (benchmarks/health_sim.py). failure_forecast carries it.
FAILURE_LEVEL_SD = 0.4
BAND_Z = 1.2816  # the band is the central 80 % interval: wide enough to plan, narrow enough to mean something
_LOW_Q, _HIGH_Q = 0.1, 0.9  # the same 80 % as quantiles of the mixture of crossing times
# Accelerations tried, from none (a line) to the rate growing e² ≈ 7-fold over the window, equally likely a
# priori: wear accelerates (the simulator's own severity rate grows 3.6-fold over a whole life, the features
# grow faster still near the end), and faster within a week is a jump, not wear. Measured on the simulator
# (benchmarks/health_forecast.py): e⁴ made early forecasts too early, e¹ too late. 16 steps are finer than
# the data can tell apart.
_MAX_FOLDS = 2.0
_RATES = 16
# Standard normal quantiles at the midpoints of 9 equal slices: the nodes of an uncertain threshold.
_THRESHOLD_Z = (-1.593, -0.967, -0.589, -0.282, 0.0, 0.282, 0.589, 0.967, 1.593)
_HALF_LIFE_DAYS = 2.0  # weight of a point halves every 2 days back: the next days look like the last few
_MAX_STARTS = 96
# The rise seen so far must cover this share of the way to the threshold: extrapolating a rise of a few
# thousandths (a quantised feature just past its significance) twenty-fold and more is guessing, not a date.
_MIN_RISE_SHARE = (
    0.05  # candidate start times, at most: enough to place τ within a couple of hours over a week
)


@dataclass(frozen=True, slots=True)
class Forecast:
    """When the level is expected to reach ``threshold``, counted in days from the last point."""

    eta_days: float
    low_days: float
    high_days: float
    model: Model
    slope_per_day: float  # level gained per day at the last point
    points: int  # points since the rise started

    @property
    def plus_minus_days(self) -> float:
        """Half-width of the band, for "9 ± 3 days"."""
        return (self.high_days - self.low_days) / 2


def _normal_cdf(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Φ(z), by Abramowitz & Stegun 7.1.26 (error < 1.5e-7): numpy has no erf, and that is plenty here."""
    x = np.abs(z) / math.sqrt(2.0)
    k = 1.0 / (1.0 + 0.3275911 * x)
    poly = k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429))))
    erf = 1.0 - poly * np.exp(-x * x)
    out: NDArray[np.float64] = 0.5 * (1.0 + np.sign(z) * erf)
    return out


def _ar1_share(residuals: NDArray[np.float64]) -> float:
    """Share of the points an AR(1)-correlated residual series is worth as independent ones."""
    n = len(residuals)
    centred = residuals - residuals.mean()
    denom = float(centred @ centred)
    if n < 3 or denom <= 0:
        return 1.0
    rho = float(centred[1:] @ centred[:-1]) / denom
    rho = min(max(rho, 0.0), 0.98)
    return max((1 - rho) / (1 + rho), 3.0 / n)


def _rise_t(
    growth: NDArray[np.float64], y: NDArray[np.float64], wt: NDArray[np.float64], share: float
) -> float:
    """t-statistic of the growth fitted to the rising points alone.

    A step from the flat level to a new flat one (a part change, a re-learned baseline, a feature crossing
    its significance threshold) fits a steep start as well as wear does; only a level that keeps rising
    after its start is a trend worth a date.
    """
    wsum = float(wt.sum())
    g = growth - float(wt @ growth) / wsum
    sxx = float(wt @ g**2)
    if len(y) < 4 or sxx <= 0:
        return 0.0
    m = float(wt @ (g * (y - float(wt @ y) / wsum))) / sxx
    r = y - float(wt @ y) / wsum - m * g
    sigma2 = max(float(wt @ r**2) / max(wsum - 2, 1.0), 1e-300)
    return m / math.sqrt(sigma2 / share / sxx)


def _quantile(p: float, eta: NDArray[np.float64], sd: NDArray[np.float64], w: NDArray[np.float64]) -> float:
    """The ``p`` quantile of the mixture Σ w·N(eta, sd²) (``w`` sums to at most 1: the rest never crosses)."""
    lo, hi = float(np.min(eta - 8 * sd)), float(np.max(eta + 8 * sd))
    if float(w.sum()) < p:
        return math.inf
    for _ in range(60):  # bisection: 60 halvings are far below a minute on any span
        mid = (lo + hi) / 2
        if float(w @ _normal_cdf((mid - eta) / sd)) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _thresholds(threshold: float, sd: float) -> list[tuple[float, float]]:
    """(threshold, weight) nodes of a log-normal threshold: equal weights at the midpoints of equal
    quantile slices, so that the mixture's 10 % and 90 % quantiles land where the log-normal's do."""
    if sd <= 0:
        return [(threshold, 1.0)]
    return [(threshold * math.exp(sd * z), 1.0 / len(_THRESHOLD_Z)) for z in _THRESHOLD_Z]


def failure_forecast(days: ArrayLike, levels: ArrayLike, failure_level: float = 1.0) -> Forecast | None:
    """When a subsystem's degradation ``levels`` reach functional failure: ``failure_level`` (1 by the
    monitor's definition), known to :data:`FAILURE_LEVEL_SD`. What the health service tells a technician."""
    return forecast(days, levels, failure_level, threshold_sd=FAILURE_LEVEL_SD)


def forecast(
    days: ArrayLike,
    levels: ArrayLike,
    threshold: float,
    *,
    window_days: float = 7.0,
    min_points: int = 12,
    min_t: float = 3.0,
    horizon_days: float = 120.0,
    threshold_sd: float = 0.0,
) -> Forecast | None:
    """Days until ``levels`` reach ``threshold``, from the points of the last ``window_days``.

    ``days`` are increasing times in days (any origin). Returns None when no rising trend is established.
    A level already at or above the threshold gives ``eta_days = 0``. At least ``min_points`` points must
    follow the start of the rise. ``threshold_sd`` > 0 says the threshold itself is only known to that
    log standard deviation (where a press really fails around its nominal failure changes): the crossing
    times of the thresholds it spans join the mixture, which widens the band but hardly moves the median.
    """
    t_all = np.asarray(days, dtype=np.float64)
    y_all = np.asarray(levels, dtype=np.float64)
    if t_all.shape != y_all.shape or t_all.ndim != 1:
        raise ValueError("days and levels must be 1-D arrays of the same length")
    keep = np.isfinite(t_all) & np.isfinite(y_all)
    t_all, y_all = t_all[keep], y_all[keep]
    if len(t_all) < min_points:
        return None
    t_now = float(t_all[-1])
    recent = t_all >= t_now - window_days
    t, y = t_all[recent] - t_now, y_all[recent]  # time before now: the crossing is then counted from 0
    n = len(t)
    if n < min_points:
        return None
    if float(y[-1]) >= threshold:
        return Forecast(0.0, 0.0, 0.0, "linear", 0.0, n)
    span = float(-t[0])
    if span <= 0:
        return None

    # Every (start τ, acceleration b) on the grid, c and m by least squares: arrays of shape (rates, starts).
    starts = t[: n - min_points + 1]
    if len(starts) > _MAX_STARTS:
        starts = starts[np.linspace(0, len(starts) - 1, _MAX_STARTS).round().astype(int)]
    rates = np.linspace(0.0, _MAX_FOLDS / span, _RATES)
    since = np.maximum(t[None, :] - starts[:, None], 0.0)  # (starts, n): time since the rise began
    growth = np.empty((len(rates), len(starts), n))
    growth[0] = since
    growth[1:] = np.expm1(rates[1:, None, None] * since[None]) / rates[1:, None, None]
    # Recent points weigh more: the acceleration of real wear is not constant over a week (a level that grows
    # as 1 / efficiency speeds up faster than any one exponential), and the last days say most about the next.
    wt = np.exp2(t / _HALF_LIFE_DAYS)
    wsum = float(wt.sum())
    y_mean = float(wt @ y) / wsum
    g_mean = np.einsum("rsn,n->rs", growth, wt) / wsum
    centred = growth - g_mean[..., None]
    sxx = np.einsum("rsn,rsn,n->rs", centred, centred, wt)
    ok = sxx > 1e-12
    sxx_safe = np.where(ok, sxx, 1.0)
    m = np.where(ok, np.einsum("rsn,n->rs", centred, wt * (y - y_mean)) / sxx_safe, 0.0)
    c = y_mean - m * g_mean
    residuals = y - c[..., None] - m[..., None] * growth
    sse = np.einsum("rsn,rsn,n->rs", residuals, residuals, wt)
    sse = np.where(ok, sse, np.inf)

    best = np.unravel_index(int(np.argmin(sse)), sse.shape)
    rising = t >= starts[best[1]]
    noise = residuals[best][rising]
    # The noise of the level while it rises: the flat part before is often exactly 0 (the monitor reports
    # no change until it is significant) and would make the fit look more precise than it is.
    share = _ar1_share(noise)
    w_r = wt[rising]
    sigma2 = max(float(w_r @ noise**2) / max(float(w_r.sum()) - 4, 1), 1e-12 * max(threshold, 1e-9) ** 2)
    var_m = sigma2 / share / sxx_safe
    if not (m[best] > 0 and _rise_t(growth[best][rising], y[rising], wt[rising], share) >= min_t):
        return None
    if float(m[best] * growth[best][-1]) < _MIN_RISE_SHARE * float(threshold - c[best]):
        return None

    # Likelihood of each pair relative to the best, each residual counting as `share` of a point.
    likelihood = np.exp(-(sse - sse[best]) * share / (2 * sigma2))
    b = rates[:, None]
    var_c = sigma2 / share * (1.0 / wsum + g_mean**2 / sxx_safe)
    cov_cm = -g_mean * var_m
    # Pairs that never reach the threshold (not rising) keep their share of the total: they push the
    # quantiles later, up to "no forecast" when they are the more likely half.
    total = float(likelihood.sum())
    parts: list[tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]] = []
    for level_at_failure, node_weight in _thresholds(threshold, threshold_sd):
        gap = level_at_failure - c
        crosses = ok & (m > 0) & (gap > 0)
        m_c = np.where(crosses, m, 1.0)
        gap_c = np.where(crosses, gap, 1.0)
        ahead = np.where(b > 0, np.log1p(b * gap_c / m_c) / np.where(b > 0, b, 1.0), gap_c / m_c)
        # A threshold the level has passed during the rise gets a crossing time in the past (counted as
        # now by the clip at 0 below); one under even the level before the rise has no crossing on the
        # fitted path, and is now too.
        passed = ok & (m > 0) & (gap <= 0)
        eta = np.where(passed, 0.0, starts[None, :] + ahead)
        # Delta method on (c, m): d(eta)/dc = −1/(m + b·gap), d(eta)/dm = −gap/(m·(m + b·gap)).
        d_c = -1.0 / (m_c + b * gap_c)
        d_m = -gap_c / (m_c * (m_c + b * gap_c))
        sd = np.sqrt(np.maximum(d_c**2 * var_c + d_m**2 * var_m + 2 * d_c * d_m * cov_cm, 1e-12))
        sd = np.where(passed, 1e-6, sd)
        w = (np.where(crosses | passed, likelihood, 0.0) * (node_weight / total)).ravel()
        live = w > 1e-9
        parts.append((eta.ravel()[live], sd.ravel()[live], w[live]))
    eta_v = np.concatenate([p[0] for p in parts])
    sd_v = np.concatenate([p[1] for p in parts])
    w_v = np.concatenate([p[2] for p in parts])
    median = _quantile(0.5, eta_v, sd_v, w_v)
    if not math.isfinite(median) or median > horizon_days:
        return None
    low = _quantile(_LOW_Q, eta_v, sd_v, w_v)
    high = _quantile(_HIGH_Q, eta_v, sd_v, w_v)
    rate = float(rates[best[0]])
    slope_now = float(m[best]) * math.exp(rate * -float(starts[best[1]]))
    return Forecast(
        eta_days=max(median, 0.0),
        low_days=max(low, 0.0),
        high_days=max(high, median, 0.0),
        model="linear" if rate == 0.0 else "exponential",
        slope_per_day=slope_now,
        points=int(rising.sum()),
    )
