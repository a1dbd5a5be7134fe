"""Seasons: is this value unusual for this time of day (or of the week), given the last few cycles?

Novelty and the level forecast judge a value against *all* earlier values; a daily cycle is then familiar
once seen, so a day whose shape is wrong but whose values are all ordinary (a jump that does not come, a
holiday with the traffic of a quiet night at noon) goes unseen. The seasonal forecast of row ``t`` is the
median of the values one, two, … ``cycles`` periods earlier (as many as exist); its error is judged like
the other forecast errors (:func:`~.deviation.error_z`).

A series without that season would only add noise, so the seasonal forecast is trusted only where it is
clearly better than the level forecast: :func:`seasonal_share` is the spread of its errors over the last
rows divided by that of the level forecast's errors; the detector uses the season where the share is
below a fixed limit.

The period in rows comes from the sampling interval (:func:`period_rows`), which the caller measures on
the first rows' timestamps; with no usable interval there is no season.

>>> period_rows(300.0, 86_400.0), period_rows(86_400.0, 86_400.0), period_rows(None, 86_400.0)
(288, 0, 0)
>>> day = np.tile([0.0, 0.0, 5.0, 5.0], 4)      # a "day" of 4 rows, then a day without its peak
>>> e = seasonal_errors(np.r_[day, 0.0, 0.0, 0.0, 0.0], period=4, cycles=3)
>>> e[:4].tolist(), e[16:].tolist()
([nan, nan, nan, nan], [0.0, 0.0, -5.0, -5.0])
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from cadence.analytics.anomaly.rolling import delayed, trailing_mean_std

FloatArray = npt.NDArray[np.float64]

# A season shorter than this many rows has no shape to compare: one or two rows back is what the step
# forecast already looks at.
MIN_PERIOD_ROWS = 4


def period_rows(row_seconds: float | None, season_seconds: float) -> int:
    """Rows in one season (``season_seconds`` over the sampling interval, rounded); 0 for no season."""
    if row_seconds is None or not math.isfinite(row_seconds) or row_seconds <= 0:
        return 0
    rows = round(season_seconds / row_seconds)
    return rows if rows >= MIN_PERIOD_ROWS else 0


def seasonal_errors(values: FloatArray, period: int, cycles: int) -> FloatArray:
    """``value − median(value one period earlier, …, cycles periods earlier)``, over the cycles that exist;
    NaN during the first period (no forecast yet)."""
    if period < 1 or cycles < 1:
        raise ValueError(f"period and cycles must be at least 1, not {period} and {cycles}")
    n = values.shape[0]
    forecast = np.full(n, np.nan, dtype=np.float64)
    lagged = np.stack([delayed(values, k * period, np.nan) for k in range(1, cycles + 1)])
    for k in range(1, cycles + 1):
        # Rows with exactly k earlier cycles: the median of those k values.
        stop = n if k == cycles else min(n, (k + 1) * period)
        if k * period < stop:
            forecast[k * period : stop] = np.median(lagged[:k, k * period : stop], axis=0)
    out: FloatArray = values - forecast
    return out


def seasonal_share(seasonal: FloatArray, level: FloatArray, rows: int) -> FloatArray:
    """Spread of the seasonal errors over the last ``rows`` rows divided by that of the level errors over
    the same rows (∞ where the level errors do not spread at all).

    >>> level = np.tile([-4.0, 4.0], 10)
    >>> float(seasonal_share(level / 8.0, level, rows=10)[-1]), float(seasonal_share(level, level, 10)[-1])
    (0.125, 1.0)
    """
    _, seasonal_spread = trailing_mean_std(seasonal, rows)
    _, level_spread = trailing_mean_std(level, rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(level_spread > 0, seasonal_spread / level_spread, np.inf)
    out: FloatArray = share
    return out
