"""Signals a machine produces: what is measured, in which unit, how often and how finely.

>>> pressure = SignalSpec("pressure", unit="bar", sampling_hz=500, resolution=0.01, kind=SignalKind.WAVEFORM)
>>> pressure.quantise(231.456)
23146
>>> pressure.dequantise(23146)
231.46
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class SignalKind(enum.StrEnum):
    """How a signal is sampled, which decides its storage and retention."""

    WAVEFORM = "waveform"  # sampled fast during each stroke (pressure, position, force)
    SLOW = "slow"  # sampled continuously at a low rate (oil temperature, motor power)
    COUNTER = "counter"  # monotonic count (strokes, energy meter)


@dataclass(frozen=True, slots=True)
class SignalSpec:
    """One signal of a machine.

    ``resolution`` is the sensor's real resolution in ``unit``: values are stored as integer multiples of it,
    which is what makes them compress to a few bytes per point (full-precision noise is incompressible).
    """

    name: str
    unit: str
    sampling_hz: float
    resolution: float
    kind: SignalKind = SignalKind.SLOW
    description: str = ""
    min_value: float = -math.inf
    max_value: float = math.inf

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a signal needs a name")
        if not self.sampling_hz > 0:
            raise ValueError(f"{self.name}: sampling_hz must be > 0, got {self.sampling_hz}")
        if not self.resolution > 0:
            raise ValueError(f"{self.name}: resolution must be > 0, got {self.resolution}")
        if self.min_value >= self.max_value:
            raise ValueError(f"{self.name}: min_value must be below max_value")

    def quantise(self, value: float) -> int:
        """The stored integer for ``value`` (round half to even, like numpy)."""
        return round(value / self.resolution)

    def dequantise(self, steps: int) -> float:
        """The value of a stored integer, rounded to the resolution's decimals."""
        return round(steps * self.resolution, self.decimals)

    @property
    def decimals(self) -> int:
        """Decimal places implied by the resolution (0.01 → 2)."""
        return max(0, -math.floor(math.log10(self.resolution) + 1e-9))
