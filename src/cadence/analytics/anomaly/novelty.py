"""Context novelty: has the series ever been in this state, or passed through this short sequence?

Values are cut into cells of a fixed grid (:class:`Grid`, set from the first rows); the context of
order m at row t is the sequence of the last m cells. Beyond the range of the first rows the cells
widen geometrically (``growth``): far from anything seen, novelty is relative, so a spike twice as high
as the last one is new while a spike a few percent off an earlier one is not (with equal cells, every
spike of a heavy-tailed series lands in a fresh cell of the sparse far range). A context never seen
before is new. The novelty of a row is the share of the orders whose context is new: 1 when the value
lands in a cell never visited (which makes every order new), between 0 and 1 when only the way of
getting there is new, 0 for a familiar stretch. Memory is never forgotten, so a pattern alerts the first
time only: a daily cycle or a recurring spike stops being news once seen. The detector uses order 1
(cells alone) by default.

>>> grid = Grid.from_warmup(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), bins=4)
>>> grid.width, grid.cells(np.array([0.0, 2.0, 3.9, 9.0])).tolist()
(1.0, [0, 2, 3, 9])
>>> wide = Grid.from_warmup(np.array([0.0, 4.0]), bins=4, growth=2.0)   # beyond: widths 1, 2, 4, 8 …
>>> wide.cells(np.array([3.9, 4.5, 5.5, 7.5, 11.5, -0.5, -2.0])).tolist()
[3, 4, 5, 6, 7, -1, -2]
>>> context_novelty(np.array([0, 1, 0, 1, 0, 1, 5]), orders=(1, 2)).tolist()
[0.5, 1.0, 0.5, 0.0, 0.0, 0.0, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Width of a cell when the warm-up rows are all equal (a flat start): a thousandth of the level, or of
# 1 around zero, so that any visible move later lands in a new cell.
_FLAT_RELATIVE_WIDTH = 1e-3


@dataclass(frozen=True)
class Grid:
    """Cells ``[origin + k·width, origin + (k+1)·width)`` for k in ``0 … bins − 1`` (the warm-up range),
    then, on either side, cells of width ``width·growth^j`` for j = 0, 1, 2 … going outwards (unbounded
    both ways; ``growth = 1`` keeps every cell the same width)."""

    origin: float
    width: float
    bins: int = 1
    growth: float = 1.0

    def __post_init__(self) -> None:
        if not self.width > 0 or self.bins < 1 or not self.growth >= 1.0:
            raise ValueError("a grid needs a width above 0, at least 1 cell and a growth of at least 1")

    @classmethod
    def from_warmup(cls, warmup: FloatArray, bins: int, growth: float = 1.0) -> Grid:
        """The range of the warm-up rows cut into ``bins`` cells; later values may fall outside it."""
        if warmup.shape[0] == 0:
            raise ValueError("the grid needs at least one warm-up value")
        low, high = float(warmup.min()), float(warmup.max())
        width = (high - low) / bins
        if not width > 0:
            width = max(abs(low), 1.0) * _FLAT_RELATIVE_WIDTH
        return cls(low, width, bins, growth)

    def cells(self, values: FloatArray) -> IntArray:
        """The cell number of each value (0 … bins − 1 inside the warm-up range)."""
        u = (values - self.origin) / self.width
        if self.growth > 1.0:
            # Cell j beyond an edge starts (growth^j − 1)/(growth − 1) widths out: invert that sum.
            rate = self.growth - 1.0
            beyond_high = np.maximum(u - self.bins, 0.0)
            beyond_low = np.maximum(-u, 0.0)
            steps = math.log(self.growth)
            u = np.where(u > self.bins, self.bins + np.log1p(beyond_high * rate) / steps, u)
            u = np.where(beyond_low > 0, -np.log1p(beyond_low * rate) / steps, u)
        out: IntArray = np.floor(u).astype(np.int64)
        return out


def context_novelty(cells: IntArray, orders: Sequence[int]) -> FloatArray:
    """Share of ``orders`` whose context (last m cells) at each row has never occurred before.

    Rows with fewer than m cells so far skip order m (it counts as familiar).
    """
    if not orders or min(orders) < 1:
        raise ValueError(f"orders must be positive context lengths, not {tuple(orders)}")
    seen: set[tuple[int, ...]] = set()
    sequence = cells.tolist()
    out = np.zeros(len(sequence), dtype=np.float64)
    share = 1.0 / len(orders)
    for t in range(len(sequence)):
        new = 0
        for m in orders:
            if t + 1 >= m:
                # The order leads the key, so contexts of different lengths never collide.
                key = (m, *sequence[t + 1 - m : t + 1])
                if key not in seen:
                    seen.add(key)
                    new += 1
        out[t] = new * share
    return out


def block_novelty(
    values: FloatArray, size: int, bins: int, warmup_rows: int, orders: Sequence[int], *, growth: float = 1.0
) -> FloatArray:
    """Context novelty of the series averaged over consecutive blocks of ``size`` rows.

    The slow view: a changed daily shape or a drift shows in block means when single rows look
    ordinary. A block's novelty is reported on its last row (the first row where it is known) and 0
    elsewhere; its grid comes from the blocks that end within the first ``warmup_rows`` rows.

    >>> v = np.array([0.0, 0.0, 1.0, 1.0] * 3 + [5.0, 5.0])
    >>> block_novelty(v, size=2, bins=2, warmup_rows=4, orders=(1,)).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    """
    blocks = values.shape[0] // size
    warm_blocks = warmup_rows // size
    out = np.zeros(values.shape[0], dtype=np.float64)
    if warm_blocks < 1 or blocks <= warm_blocks:
        return out
    means = values[: blocks * size].reshape(blocks, size).mean(axis=1)
    grid = Grid.from_warmup(means[:warm_blocks], bins, growth)
    novelty = context_novelty(grid.cells(means), orders)
    novelty[:warm_blocks] = 0.0  # the warm-up blocks defined the grid: their novelty means nothing
    out[np.arange(blocks) * size + size - 1] = novelty
    return out
