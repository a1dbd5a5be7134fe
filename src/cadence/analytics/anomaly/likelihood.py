"""Surprise: how improbable the recent level of a raw score is, given that score's own history.

A raw score that is noisy but usually small says little row by row; a run of slightly raised values
says a lot. Following the idea of Numenta's "anomaly likelihood" (Ahmad et al. 2017), each row gets the
mean of the last ``short_rows`` raw scores; the mean and standard deviation of that short mean over the
previous ``long_rows`` rows (earlier rows only) define a Gaussian; the surprise is the Gaussian upper
tail of the current short mean on a decimal log scale, counted from an ordinary row:
``max(0, −log10 (2 Q(z)))``, 0 for a short mean at or below its usual level (z ≤ 0), about 4.2 at
z = 4, 10 at z ≈ 6.5. The standard deviation is floored (:data:`SPREAD_FLOOR`) so that a series
whose raw score never moved does not turn a tiny change into an astronomically small tail.

>>> [round(float(x), 3) for x in log10_tail(np.array([-2.0, 0.0, 1.0, 3.0, 6.0]))]
[-0.01, -0.301, -0.8, -2.87, -9.006]
>>> raw = np.r_[np.tile([0.0, 0.1], 200), np.full(10, 0.5)]   # an alternating score, then a raised run
>>> s = surprise(raw, short_rows=5, long_rows=300)
>>> bool(s[100:400].max() < 1.0), bool(s[-1] > 10.0)   # (the first rows have little history)
(True, True)
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from cadence.analytics.anomaly.rolling import delayed, trailing_max, trailing_mean_std

FloatArray = npt.NDArray[np.float64]

# Smallest spread of the short mean taken as real, in units of the raw score (which lies in [0, 1]): a
# hundredth of its range. On the NAB corpus halving or doubling it changed no score.
SPREAD_FLOOR = 0.01

# Chebyshev fit of ln(erfc(a) / t) − (−a²), t = 1 / (1 + a/2), for a ≥ 0: relative error of erfc below
# 1.2e-7 everywhere (Numerical Recipes, "erfcc"). Written in log form, it stays exact in the far tail
# where erfc itself would underflow to 0.
_ERFC_COEFFICIENTS = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


def log10_tail(z: FloatArray) -> FloatArray:
    """``log10 Q(z)``, Q the upper tail of the standard normal distribution, for any real z."""
    a = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * a)
    poly = np.zeros_like(t)
    for c in reversed(_ERFC_COEFFICIENTS):
        poly = c + t * poly
    ln_half_erfc = np.log(t) - a * a + poly + math.log(0.5)  # ln Q(|z|)
    # Q(−|z|) = 1 − Q(|z|), and Q(|z|) ≤ 0.5 keeps log1p well away from its pole.
    ln_q = np.where(z >= 0, ln_half_erfc, np.log1p(-np.exp(ln_half_erfc)))
    out: FloatArray = ln_q / math.log(10.0)
    return out


def surprise(raw: FloatArray, short_rows: int, long_rows: int, record_rows: int = 0) -> FloatArray:
    """``max(0, −log10 2Q(z))`` of the mean of the last ``short_rows`` raw scores, against that mean over
    the previous ``long_rows`` rows.

    With ``record_rows`` > 0, only a *record* counts: the surprise is 0 unless the short mean exceeds every
    short mean of the ``record_rows`` rows before the current short window began (windows that overlap the
    current one are left out, so a run is not compared with itself). A series that bursts every few hours
    makes each burst improbable under the Gaussian, but only a burst larger than the recent ones is news.

    >>> bursts = np.tile(np.r_[np.zeros(90), np.full(10, 0.6)], 8)
    >>> plain, record = surprise(bursts, 10, 800), surprise(bursts, 10, 800, record_rows=300)
    >>> bool(plain[-1] > 1.0), float(record[-1]), bool(record[99] == plain[99] > 1.0)
    (True, 0.0, True)
    """
    recent, _ = trailing_mean_std(raw, short_rows)
    mean, spread = trailing_mean_std(recent, long_rows)
    # The distribution comes from earlier rows only: the row being judged does not widen its own yardstick.
    z = (recent - delayed(mean, 1, 0.0)) / np.maximum(delayed(spread, 1, 0.0), SPREAD_FLOOR)
    out: FloatArray = np.maximum(-log10_tail(z) - math.log10(2.0), 0.0)
    if record_rows > 0:
        beaten = delayed(trailing_max(recent, record_rows), short_rows, -np.inf)
        out = np.where(recent > beaten, out, 0.0)
    return out
