"""Cycles: one press stroke, its per-stroke features and an optional down-sampled waveform.

>>> stroke = Stroke(machine="P01", n=1, start_us=0, end_us=8_000_000, good=True,
...                 features={"peak_pressure_bar": 231.4})
>>> stroke.duration_s
8.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from cadence.domain.samples import F64

# The features every simulated and real press stroke should carry (docs/domain.md §1.3). Gateways may send
# more; ingest keeps any finite numeric feature.
STANDARD_FEATURES: tuple[str, ...] = (
    "cycle_time_s",  # start of this stroke to start of the next one's approach (operator gap included)
    "stroke_time_s",  # approach start to return end
    "peak_pressure_bar",
    "peak_force_kn",
    "bdc_position_mm",  # bottom dead centre reached by the ram
    "dwell_pressure_bar",  # mean pressure during the dwell
    "dwell_decay_bar_s",  # pressure lost per second of dwell: seal and valve leakage
    "buildup_time_s",  # 10 % → 90 % of peak pressure during pressing
    "decompression_time_s",
    "command_lag_s",  # decompression valve command to the first 10 % pressure drop: valve response
    "approach_speed_mm_s",
    "return_speed_mm_s",
    "energy_kj",  # electrical energy of the stroke
    "oil_temp_c",
)
# Features a gateway reports only when it can measure them, so a stroke may lack them. The motor power at
# idle needs the pump to have run unloaded for a while just before the stroke: the first stroke after the
# motor was off (start of the day, breakdown, over-temperature trip) has none.
OPTIONAL_FEATURES: tuple[str, ...] = ("idle_power_kw",)  # median metered motor power in the gap before


@dataclass(frozen=True, slots=True, eq=False)
class Waveform:
    """A down-sampled stroke curve: signals sampled every ``dt_us`` from ``t0_us``."""

    t0_us: int
    dt_us: int
    signals: Mapping[str, F64]

    def __post_init__(self) -> None:
        lengths = {len(v) for v in self.signals.values()}
        if len(lengths) > 1:
            raise ValueError("every waveform signal must have the same number of points")
        if self.dt_us <= 0:
            raise ValueError("dt_us must be > 0")

    @property
    def points(self) -> int:
        return sum(len(v) for v in self.signals.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Waveform):
            return NotImplemented
        return (
            self.t0_us == other.t0_us
            and self.dt_us == other.dt_us
            and self.signals.keys() == other.signals.keys()
            and all(np.array_equal(self.signals[k], other.signals[k]) for k in self.signals)
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Stroke:
    """One press stroke (cycle).

    ``n`` is the press's stroke counter. ``good`` is the part's outcome; ``scrap_reason`` says why not.
    ``order``, ``lot``, ``material_lot``, ``serial`` and ``die`` are the traceability keys known at the time.
    """

    machine: str
    n: int
    start_us: int
    end_us: int
    good: bool
    features: Mapping[str, float] = field(default_factory=dict)
    scrap_reason: str | None = None
    order: str | None = None
    part: str | None = None
    lot: str | None = None
    material_lot: str | None = None
    serial: str | None = None
    die: str | None = None
    waveform: Waveform | None = None

    def __post_init__(self) -> None:
        if self.end_us < self.start_us:
            raise ValueError(f"stroke {self.n}: end_us before start_us")
        if self.n < 0:
            raise ValueError(f"stroke counter must be >= 0, got {self.n}")

    @property
    def duration_s(self) -> float:
        return (self.end_us - self.start_us) / 1_000_000
