"""Deviation: how far a value is from a simple forecast, in units of that forecast's usual error.

Two forecasts, both from earlier rows only: the mean of the last ``reference_rows`` rows (a long one
asks "is this level unusual?") and the previous value (``reference_rows = 1`` asks "is this step
unusual?"). The error's scale is the standard deviation of the same errors over the previous
``scale_rows`` rows. :func:`squash` maps the resulting z from [0, ∞) into [0, 1).

>>> v = np.array([10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 10.0, 30.0])
>>> z = prediction_error_z(v, reference_rows=1, scale_rows=100)
>>> [round(float(x), 1) for x in z[3:]]
[1.2, 1.2, 1.1, 1.1, 21.6]
>>> [round(float(x), 2) for x in squash(np.array([0.0, 3.0, 30.0]), half=3.0)]
[0.0, 0.5, 0.91]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cadence.analytics.anomaly.rolling import delayed, trailing_mean_std

FloatArray = npt.NDArray[np.float64]

# A scale below this share of the series' typical magnitude counts as no spread at all (flat signal):
# any move then gives a huge z, which is right, without dividing by zero.
_SCALE_FLOOR = 1e-6


def forecast_errors(values: FloatArray, reference_rows: int) -> FloatArray:
    """``value − mean of the previous reference_rows rows``; 0 on the first row (no forecast yet).

    >>> forecast_errors(np.array([1.0, 3.0, 2.0, 6.0]), reference_rows=2).tolist()
    [0.0, 2.0, 0.0, 3.5]
    """
    if values.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    x = values - values[0]  # centring on a known value keeps the rolling variance accurate
    forecast = delayed(trailing_mean_std(x, reference_rows)[0], 1, np.nan)
    out: FloatArray = np.nan_to_num(x - forecast, nan=0.0)
    return out


def error_z(values: FloatArray, error: FloatArray, scale_rows: int) -> FloatArray:
    """``|error| / scale``, the scale being the spread of the errors of the previous ``scale_rows`` rows
    (floored at a millionth of the values' typical magnitude, for flat signals); 0 on the first row."""
    if values.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    _, spread = trailing_mean_std(error, scale_rows)
    magnitude = trailing_mean_std(np.abs(values - values[0]), scale_rows)[0]
    scale = delayed(spread, 1, 0.0) + _SCALE_FLOOR * delayed(magnitude, 1, 0.0) + 1e-12
    z = np.abs(error) / scale
    z[0] = 0.0
    out: FloatArray = z
    return out


def prediction_error_z(values: FloatArray, reference_rows: int, scale_rows: int) -> FloatArray:
    """|value − forecast| / (spread of past forecast errors); 0 on the first row (no forecast yet)."""
    return error_z(values, forecast_errors(values, reference_rows), scale_rows)


def squash(z: FloatArray, half: float) -> FloatArray:
    """``z / (z + half)``: 0 at z = 0, one half at z = ``half``, towards 1 for large z."""
    out: FloatArray = z / (z + half)
    return out
