"""Remaining-useful-life arithmetic for C-MAPSS-style run-to-failure data: targets and the two metrics.

The benchmark protocol (Saxena et al. 2008; ``datasets/cmapss/SOURCE.md``): learn from trajectories run
to failure, predict for each test unit the RUL after its *last* test cycle, and compare with the true
RUL. With ``d = predicted - true`` (positive = *late*: the engine fails before the predicted time):

* :func:`rmse` is ``sqrt(mean(d**2))``;
* :func:`phm08_score` sums ``exp(-d/13) - 1`` for ``d < 0`` (early) and ``exp(d/10) - 1`` for ``d >= 0``
  (late): being 10 cycles late costs as much as being 13 cycles early.

>>> round(rmse([110, 87], [100, 100]), 4)           # sqrt((10**2 + 13**2) / 2) = sqrt(134.5)
11.5974
>>> round(phm08_score([110, 87], [100, 100]), 4)    # 2 * (e - 1): late by 10 == early by 13
3.4366

Training targets: a unit's RUL at a cycle is its last recorded cycle minus that cycle, so 0 on its last
row; many published results cap it (piecewise-linear target: flat while the engine is healthy):

>>> training_rul([1, 1, 1, 2, 2], [1, 2, 3, 1, 2]).tolist()
[2.0, 1.0, 0.0, 1.0, 0.0]
>>> training_rul([7, 7, 7, 7], [1, 2, 3, 4], cap=2).tolist()
[2.0, 2.0, 1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

# SOURCE.md for FD001: "125 or 130 cycles are common" for the piecewise-linear cap; 125 is the more
# frequent in the published table's papers, so it is the default a model should state with its figures.
PIECEWISE_RUL_CAP = 125.0
# PHM08 scoring time constants, in cycles (Saxena et al. 2008): late predictions decay faster (10 < 13).
EARLY_TAU = 13.0
LATE_TAU = 10.0

ArrayLike = Sequence[float] | Sequence[int] | NDArray[np.floating] | NDArray[np.integer]


def _pair(predicted: ArrayLike, true: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    p = np.asarray(predicted, dtype=np.float64)
    t = np.asarray(true, dtype=np.float64)
    if p.ndim != 1 or t.ndim != 1:
        raise ValueError(f"predicted and true RUL must be 1-D, got shapes {p.shape} and {t.shape}")
    if p.shape != t.shape:
        raise ValueError(f"{p.size} predictions for {t.size} true values: one prediction per unit is needed")
    if p.size == 0:
        raise ValueError("no units: the metrics need at least one prediction")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(t))):
        raise ValueError("predicted and true RUL must be finite numbers")
    return p, t


def prediction_errors(predicted: ArrayLike, true: ArrayLike) -> NDArray[np.float64]:
    """``d = predicted - true`` per unit; positive means late (failure comes before the prediction).

    >>> prediction_errors([110, 90], [100, 100]).tolist()
    [10.0, -10.0]
    """
    p, t = _pair(predicted, true)
    return p - t


def rmse(predicted: ArrayLike, true: ArrayLike) -> float:
    """Root mean square error, ``sqrt((1/n) * sum(d**2))``, in cycles.

    >>> rmse([100, 50], [100, 50])
    0.0
    >>> rmse([110, 90], [100, 100])
    10.0
    """
    d = prediction_errors(predicted, true)
    return float(np.sqrt(np.mean(d * d)))


def phm08_terms(predicted: ArrayLike, true: ArrayLike) -> NDArray[np.float64]:
    """Each unit's PHM08 penalty: ``exp(-d/13) - 1`` if ``d < 0`` (early), ``exp(d/10) - 1`` otherwise.

    >>> [round(s, 4) for s in phm08_terms([90, 100, 110], [100, 100, 100]).tolist()]
    [1.1581, 0.0, 1.7183]
    """
    d = prediction_errors(predicted, true)
    # expm1 keeps sub-cycle errors precise (exp(x) - 1 loses them to cancellation); each branch is
    # evaluated only on its own side so no value ever goes through the other formula.
    terms = np.empty_like(d)
    early = d < 0
    terms[early] = np.expm1(-d[early] / EARLY_TAU)
    terms[~early] = np.expm1(d[~early] / LATE_TAU)
    return terms


def phm08_score(predicted: ArrayLike, true: ArrayLike) -> float:
    """The PHM08 asymmetric score: the sum of :func:`phm08_terms`; 0 is perfect, lower is better.

    The sum (not a mean) is what the literature reports, so it grows with the number of units and is
    dominated by the worst ones.

    >>> round(phm08_score([100 + 20], [100]), 4)   # late by 20: e**2 - 1
    6.3891
    >>> round(phm08_score([100 - 20], [100]), 4)   # early by 20 costs less: e**(20/13) - 1
    3.6574
    """
    return float(np.sum(phm08_terms(predicted, true)))


def training_rul(units: ArrayLike, cycles: ArrayLike, cap: float | None = None) -> NDArray[np.float64]:
    """RUL of every row: the unit's last cycle minus the row's cycle, optionally ``min(rul, cap)``.

    Rows need not be sorted. ``cap`` (cycles, > 0) gives the piecewise-linear target; state it with any
    result (:data:`PIECEWISE_RUL_CAP` is the common choice).

    >>> training_rul([3, 3, 4], [2, 1, 1]).tolist()
    [0.0, 1.0, 0.0]
    """
    u = np.asarray(units)
    c = np.asarray(cycles, dtype=np.float64)
    if u.ndim != 1 or c.shape != u.shape:
        raise ValueError(f"units and cycles must be 1-D of one length, got shapes {u.shape} and {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("cycles must be finite numbers")
    if cap is not None and not cap > 0:
        raise ValueError(f"the RUL cap must be a positive number of cycles, got {cap!r}")
    _, inverse = np.unique(u, return_inverse=True)
    last = np.full(int(inverse.max()) + 1 if u.size else 0, -np.inf)
    np.maximum.at(last, inverse, c)
    rul = last[inverse] - c
    if cap is not None:
        rul = np.minimum(rul, cap)
    return rul


def last_rows(units: ArrayLike, cycles: ArrayLike) -> NDArray[np.intp]:
    """Row index of each unit's last cycle, units in ascending order: where a test prediction is made.

    >>> last_rows([1, 1, 2, 2, 2], [1, 2, 1, 2, 3]).tolist()
    [1, 4]
    """
    u = np.asarray(units)
    c = np.asarray(cycles, dtype=np.float64)
    if u.ndim != 1 or c.shape != u.shape:
        raise ValueError(f"units and cycles must be 1-D of one length, got shapes {u.shape} and {c.shape}")
    # lexsort sorts by the last key first: by unit, then cycle; the last row of each unit group wins.
    order = np.lexsort((c, u))
    sorted_units = u[order]
    is_last = np.ones(order.size, dtype=bool)
    is_last[:-1] = sorted_units[1:] != sorted_units[:-1]
    return order[is_last]


# NASA's FD001 test file keeps at least 31 cycles of every test unit (SOURCE.md: its shortest unit has 31
# rows), so a simulated cut keeps at least as many: the window features never see a shorter history there.
TEST_MIN_KEPT_CYCLES = 31


def cut_like_test(
    units: ArrayLike,
    cycles: ArrayLike,
    rul_pool: ArrayLike,
    rng: np.random.Generator,
    *,
    min_kept: int = TEST_MIN_KEPT_CYCLES,
) -> tuple[NDArray[np.bool_], NDArray[np.int64], NDArray[np.int64]]:
    """Cut run-to-failure units the way a test file is cut: keep each unit's first cycles only.

    For each unit (its last cycle is its failure, cycles counted from 1), a true RUL ``r`` is drawn
    uniformly from the values of ``rul_pool`` (repeats weigh more) that leave at least ``min_kept``
    cycles, and the unit keeps cycles ``1 .. last - r``: its RUL after the last kept cycle is then ``r``.
    With a test file's true RULs as the pool, the cut units follow that file's RUL distribution (as far
    as each unit's length allows), which is what the test metrics depend on most.

    Returns the mask of the rows kept (in the order given), the unit ids in ascending order and each
    one's true RUL after its last kept cycle. A unit too short for every value of the pool is refused.

    >>> mask, ids, rul = cut_like_test([5, 5, 5, 5, 9, 9, 9], [1, 2, 3, 4, 1, 2, 3], [1, 2],
    ...                                np.random.default_rng(0), min_kept=2)
    >>> ids.tolist(), rul.tolist()     # unit 9 (3 cycles) can only lose 1 cycle and keep 2
    ([5, 9], [2, 1])
    >>> mask.tolist()
    [True, True, False, False, True, True, False]
    """
    u = np.asarray(units)
    c = np.asarray(cycles, dtype=np.int64)
    pool = np.asarray(rul_pool, dtype=np.int64)
    if u.ndim != 1 or c.shape != u.shape:
        raise ValueError(f"units and cycles must be 1-D of one length, got shapes {u.shape} and {c.shape}")
    if pool.ndim != 1 or pool.size == 0 or np.any(pool < 0):
        raise ValueError("the RUL pool must be a non-empty 1-D list of RULs (cycles, 0 or more)")
    if min_kept < 1:
        raise ValueError(f"min_kept must be at least 1 cycle, got {min_kept}")
    ids, inverse = np.unique(u, return_inverse=True)
    last = np.zeros(ids.size, dtype=np.int64)
    np.maximum.at(last, inverse, c)
    rul = np.empty(ids.size, dtype=np.int64)
    for i, (unit, end) in enumerate(zip(ids.tolist(), last.tolist(), strict=True)):
        eligible = pool[pool <= end - min_kept]
        if eligible.size == 0:
            raise ValueError(
                f"unit {unit} has {end} cycles: no RUL of the pool leaves {min_kept} cycles before the cut"
            )
        rul[i] = eligible[rng.integers(eligible.size)]
    kept = last - rul
    return c <= kept[inverse], ids.astype(np.int64), rul
