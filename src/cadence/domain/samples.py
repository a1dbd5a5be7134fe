"""Samples: time-stamped values of one signal of one machine, kept as numpy columns.

>>> import numpy as np
>>> block = SampleBlock.regular("oil_temp", t0_us=0, dt_us=1_000_000, values=[41.5, 41.6, 41.6])
>>> block.ts_us.tolist()
[0, 1000000, 2000000]
>>> len(block), block.start_us, block.end_us
(3, 0, 2000000)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class SampleBlock:
    """Values of one signal: ``ts_us`` (int64 µs since epoch, UTC) and ``values`` (float64), same length.

    Timestamps need not be sorted or regular; the store sorts them.
    """

    signal: str
    ts_us: I64
    values: F64

    def __post_init__(self) -> None:
        if self.ts_us.shape != self.values.shape or self.ts_us.ndim != 1:
            raise ValueError(f"{self.signal}: ts_us and values must be 1-D arrays of the same length")
        if len(self.ts_us) == 0:
            raise ValueError(f"{self.signal}: a sample block holds at least one sample")

    @classmethod
    def regular(cls, signal: str, t0_us: int, dt_us: int, values: Sequence[float] | F64) -> SampleBlock:
        """A block sampled every ``dt_us`` from ``t0_us``."""
        vals = np.asarray(values, dtype=np.float64)
        ts = t0_us + np.arange(len(vals), dtype=np.int64) * dt_us
        return cls(signal, ts, vals)

    @classmethod
    def irregular(cls, signal: str, ts_us: Sequence[int] | I64, values: Sequence[float] | F64) -> SampleBlock:
        """A block with explicit timestamps."""
        return cls(signal, np.asarray(ts_us, dtype=np.int64), np.asarray(values, dtype=np.float64))

    def __len__(self) -> int:
        return len(self.ts_us)

    @property
    def start_us(self) -> int:
        return int(self.ts_us.min())

    @property
    def end_us(self) -> int:
        return int(self.ts_us.max())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SampleBlock):
            return NotImplemented
        return (
            self.signal == other.signal
            and np.array_equal(self.ts_us, other.ts_us)
            and np.array_equal(self.values, other.values)
        )

    def __hash__(self) -> int:
        return hash((self.signal, len(self.ts_us), self.start_us))
