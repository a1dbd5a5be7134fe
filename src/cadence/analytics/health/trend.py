"""Remaining useful life of a press subsystem: when a degradation level trending up will reach failure.

A subsystem's degradation level (:mod:`cadence.analytics.health.monitor`) is 0 on a healthy press and 1 at
functional failure. Given its recent history, :func:`forecast` fits a straight line and an exponential
(wear accelerates near the end of life) to the last ``window_days``, keeps the one that fits better, and
solves for the day it crosses the threshold. The band comes from the fit's parameter covariance by the
delta method, with the sample size shrunk to the effective number of independent points (the level is a
smoothed, hence autocorrelated, series: without that the band would be far too narrow).

No forecast is made when the level is not rising significantly (slope t-statistic below
``min_t``), when there are too few points, or when the crossing is beyond ``horizon_days``: saying
"no trend" is more useful to a technician than a date three years away.

>>> import numpy as np
>>> days = np.arange(0.0, 6.0, 1 / 24)                       # six days, hourly
>>> level = 0.10 + 0.05 * days + 0.004 * np.sin(days * 40)   # +0.05 a day, a little wobble
>>> f = forecast(days, level, threshold=1.0)
>>> round(f.eta_days, 1), f.model
(12.1, 'linear')
>>> f.low_days < f.eta_days < f.high_days
True
>>> forecast(days, np.full_like(days, 0.2), threshold=1.0) is None   # flat: no trend, no date
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Model = Literal["linear", "exponential"]

BAND_Z = 1.2816  # the band is the central 80 % interval: wide enough to plan, narrow enough to mean something
_MIN_LEVEL = 1e-3  # an exponential fit needs positive levels; below this the level is noise around 0


@dataclass(frozen=True, slots=True)
class Forecast:
    """When the level is expected to reach ``threshold``, counted in days from the last point."""

    eta_days: float
    low_days: float
    high_days: float
    model: Model
    slope_per_day: float  # level gained per day at the last point
    points: int

    @property
    def plus_minus_days(self) -> float:
        """Half-width of the band, for "9 ± 3 days"."""
        return (self.high_days - self.low_days) / 2


@dataclass(frozen=True, slots=True)
class _Fit:
    intercept: float
    slope: float
    cov: NDArray[np.float64]  # 2×2 covariance of (intercept, slope)
    sse: float
    t_slope: float


def _effective_n(residuals: NDArray[np.float64]) -> float:
    """Number of independent points an AR(1)-correlated residual series is worth."""
    n = len(residuals)
    centred = residuals - residuals.mean()
    denom = float(centred @ centred)
    if n < 3 or denom <= 0:
        return float(n)
    rho = float(centred[1:] @ centred[:-1]) / denom
    rho = min(max(rho, 0.0), 0.98)
    return max(3.0, n * (1 - rho) / (1 + rho))


def _ols(t: NDArray[np.float64], y: NDArray[np.float64]) -> _Fit | None:
    n = len(t)
    design = np.column_stack([np.ones(n), t])
    gram = design.T @ design
    if abs(float(np.linalg.det(gram))) < 1e-12:
        return None
    coef = np.linalg.solve(gram, design.T @ y)
    residuals = y - design @ coef
    sse = float(residuals @ residuals)
    n_eff = _effective_n(residuals)
    # Residual variance per independent point; the covariance scales by n / n_eff for correlated errors.
    sigma2 = max(sse / max(n - 2, 1), 1e-18) * (n / n_eff)
    cov = sigma2 * np.linalg.inv(gram)
    se_slope = math.sqrt(max(float(cov[1, 1]), 1e-300))
    return _Fit(float(coef[0]), float(coef[1]), cov, sse, float(coef[1]) / se_slope)


def _crossing(fit: _Fit, target: float, t_now: float) -> tuple[float, float] | None:
    """Time from ``t_now`` at which intercept + slope·t reaches ``target``, and its standard deviation."""
    if fit.slope <= 0:
        return None
    t_star = (target - fit.intercept) / fit.slope
    gradient = np.array([-1.0 / fit.slope, -t_star / fit.slope])
    var = float(gradient @ fit.cov @ gradient)
    return t_star - t_now, math.sqrt(max(var, 0.0))


def forecast(
    days: ArrayLike,
    levels: ArrayLike,
    threshold: float,
    *,
    window_days: float = 7.0,
    min_points: int = 12,
    min_t: float = 3.0,
    horizon_days: float = 120.0,
) -> Forecast | None:
    """Days until ``levels`` reach ``threshold``, from the points of the last ``window_days``.

    ``days`` are increasing times in days (any origin). Returns None when no rising trend is established.
    A level already at or above the threshold gives ``eta_days = 0``.
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
    t, y = t_all[recent], y_all[recent]
    if len(t) < min_points:
        return None
    if float(y[-1]) >= threshold:
        return Forecast(0.0, 0.0, 0.0, "linear", 0.0, len(t))
    candidates: list[tuple[float, Model, _Fit, float]] = []
    linear = _ols(t, y)
    if linear is not None and linear.t_slope >= min_t:
        candidates.append((linear.sse, "linear", linear, threshold))
    if bool(np.all(y > _MIN_LEVEL)) and threshold > 0:
        log_fit = _ols(t, np.log(y))
        if log_fit is not None and log_fit.t_slope >= min_t:
            # Compare on the level scale so both candidates are judged on the same errors.
            fitted = np.exp(log_fit.intercept + log_fit.slope * t)
            sse = float((y - fitted) @ (y - fitted))
            candidates.append((sse, "exponential", log_fit, math.log(threshold)))
    if not candidates:
        return None
    _, model, fit, target = min(candidates, key=lambda c: c[0])
    crossing = _crossing(fit, target, t_now)
    if crossing is None:
        return None
    eta, sd = crossing
    if not math.isfinite(eta) or eta > horizon_days:
        return None
    eta = max(eta, 0.0)
    slope_now = fit.slope if model == "linear" else fit.slope * math.exp(fit.intercept + fit.slope * t_now)
    return Forecast(
        eta_days=eta,
        low_days=max(eta - BAND_Z * sd, 0.0),
        high_days=eta + BAND_Z * sd,
        model=model,
        slope_per_day=slope_now,
        points=len(t),
    )
