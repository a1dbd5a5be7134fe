"""Causal rolling statistics: every output row uses that row and earlier ones, never a later one.

Sums run through :func:`numpy.cumsum`, which adds left to right, so a value computed for row ``t`` is
bit-for-bit the same whatever follows row ``t`` (the streaming property the detector's tests check).

>>> x = np.array([1.0, 2.0, 3.0, 10.0])
>>> mean, std = trailing_mean_std(x, 2)
>>> mean.tolist(), std.tolist()
([1.0, 1.5, 2.5, 6.5], [0.0, 0.5, 0.5, 3.5])
>>> trailing_max(x, 2).tolist()
[-inf, 1.0, 2.0, 3.0]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def delayed(x: FloatArray, rows: int, fill: float) -> FloatArray:
    """``x`` shifted ``rows`` later: row ``t`` holds ``x[t - rows]``, and ``fill`` before that exists.

    >>> delayed(np.array([1.0, 2.0, 3.0]), 1, 0.0).tolist()
    [0.0, 1.0, 2.0]
    """
    out = np.full(x.shape[0], fill, dtype=np.float64)
    if rows < x.shape[0]:
        out[rows:] = x[: x.shape[0] - rows]
    return out


def trailing_sum(x: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Sum of rows ``t − window + 1 … t`` and how many rows that is (fewer at the start).

    >>> total, count = trailing_sum(np.array([1.0, 2.0, 3.0]), 2)
    >>> total.tolist(), count.tolist()
    ([1.0, 3.0, 5.0], [1.0, 2.0, 2.0])
    """
    running = np.concatenate(([0.0], np.cumsum(x)))
    end = np.arange(1, x.shape[0] + 1)
    start = np.maximum(end - window, 0)
    return running[end] - running[start], (end - start).astype(np.float64)


def trailing_mean_std(x: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Mean and (population) standard deviation of the last ``window`` rows, the current one included.

    The caller centres ``x`` first (on a value it already knows, e.g. the first row): the variance is
    taken as E[x²] − E[x]², which loses digits when the mean is large beside the spread.
    """
    total, count = trailing_sum(x, window)
    squares, _ = trailing_sum(x * x, window)
    mean = total / count
    variance = np.maximum(squares / count - mean * mean, 0.0)
    return mean, np.sqrt(variance)


def trailing_max(x: FloatArray, window: int) -> FloatArray:
    """Maximum of the ``window`` rows before each row (the row itself excluded); ``-inf`` at row 0.

    Computed by doubling (a sparse table): the maximum over 2^k rows from two over 2^(k−1), then the
    window covered by two overlapping powers of two, in O(n log window) array operations.

    >>> trailing_max(np.array([5.0, 1.0, 1.0, 1.0, 0.0]), 3).tolist()
    [-inf, 5.0, 5.0, 5.0, 1.0]
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 row, not {window}")
    previous = delayed(x, 1, -np.inf)
    span, table = 1, previous
    while span * 2 <= window:
        table = np.maximum(table, delayed(table, span, -np.inf))
        span *= 2
    return np.maximum(table, delayed(table, window - span, -np.inf))
