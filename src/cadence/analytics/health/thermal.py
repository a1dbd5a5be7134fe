"""Oil temperature at equal load: how much hotter the oil runs than the press's own work explains.

A press's oil settles where the heat its pump puts in balances what the tank and the cooler take out, so
on a healthy press the oil temperature follows the recent electrical load through a first-order lag:
``T ≈ a + b · P̄_τ``, where ``P̄_τ`` is the load smoothed with the oil's thermal time constant τ. During
the baseline the model is fitted for a few τ and the best kept; afterwards the *excess*
``T − (a + b · P̄_τ)`` stays near 0 whatever the press is producing, and rises when the cooler fouls
(it removes less heat) or when leakage turns more of the pump's work into heat.

The load of a stroke is its energy over its cycle time (kW). A pause longer than the cycle decays
``P̄_τ`` towards 0 for its length, as the oil cools while the press waits.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> model = ThermalBaseline.fit(times_s=np.arange(3000) * 9.0,
...     loads_kw=np.where(np.arange(3000) % 1000 < 600, 3.0, 2.0), cycles_s=np.full(3000, 9.0),
...     temps_c=None, taus_s=(1200.0,), simulate_tau_s=1200.0, rng=rng)
>>> round(model.tau_s), round(model.slope_c_per_kw, 1)
(1200, 8.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

DEFAULT_TAUS_S: tuple[float, ...] = (600.0, 1200.0, 2400.0, 4800.0)
MIN_SPREAD_KW = 0.05  # below this the baseline never saw the load change: the slope cannot be learned


def smoothed_loads(
    times_s: NDArray[np.float64], loads_kw: NDArray[np.float64], cycles_s: NDArray[np.float64], tau_s: float
) -> NDArray[np.float64]:
    """``P̄_τ`` after each stroke (see the module docstring), starting from the first load."""
    out = np.empty_like(loads_kw)
    level = float(loads_kw[0]) if len(loads_kw) else 0.0
    previous = float(times_s[0]) if len(times_s) else 0.0
    for i, (t, load, cycle) in enumerate(
        zip(times_s.tolist(), loads_kw.tolist(), cycles_s.tolist(), strict=True)
    ):
        level = advance(level, t - previous, cycle, load, tau_s)
        previous = t
        out[i] = level
    return out


def advance(level: float, dt_s: float, cycle_s: float, load_kw: float, tau_s: float) -> float:
    """``P̄_τ`` at a stroke ``dt_s`` seconds after the previous one, this stroke's cycle drawing ``load_kw``.

    Whatever part of ``dt_s`` exceeds the cycle was a pause with the press idle: the level decays
    towards 0 over it first, then moves towards the stroke's load over the cycle.
    """
    dt = max(dt_s, 0.0)
    idle = max(dt - cycle_s, 0.0)
    level *= math.exp(-idle / tau_s)
    weight = -math.expm1(-min(dt, cycle_s) / tau_s)
    return level + weight * (load_kw - level)


@dataclass(frozen=True, slots=True)
class ThermalBaseline:
    """``T = intercept + slope · P̄_τ`` learned on a healthy press; ``scale`` is the residual spread."""

    tau_s: float
    intercept_c: float
    slope_c_per_kw: float
    scale_c: float
    mean_temp_c: float

    def expected_c(self, smoothed_load_kw: float) -> float:
        return self.intercept_c + self.slope_c_per_kw * smoothed_load_kw

    @classmethod
    def fit(
        cls,
        times_s: ArrayLike,
        loads_kw: ArrayLike,
        cycles_s: ArrayLike,
        temps_c: ArrayLike | None,
        taus_s: Sequence[float] = DEFAULT_TAUS_S,
        *,
        simulate_tau_s: float | None = None,
        rng: np.random.Generator | None = None,
    ) -> ThermalBaseline:
        """Fit on baseline strokes; ``temps_c=None`` with ``simulate_tau_s`` makes a synthetic example
        (8 °C per kW above 20 °C plus 0.05 °C of noise), for documentation and tests."""
        t = np.asarray(times_s, dtype=np.float64)
        p = np.asarray(loads_kw, dtype=np.float64)
        c = np.asarray(cycles_s, dtype=np.float64)
        if temps_c is None:
            if simulate_tau_s is None or rng is None:
                raise ValueError("a synthetic example needs simulate_tau_s and rng")
            temps = 20.0 + 8.0 * smoothed_loads(t, p, c, simulate_tau_s) + rng.normal(0.0, 0.05, len(t))
        else:
            temps = np.asarray(temps_c, dtype=np.float64)
        if not (len(t) == len(p) == len(c) == len(temps)) or len(t) < 10:
            raise ValueError("a thermal baseline needs at least 10 strokes with time, load and temperature")
        best: ThermalBaseline | None = None
        best_sse = math.inf
        for tau in taus_s:
            smooth = smoothed_loads(t, p, c, tau)
            if float(np.ptp(smooth)) < MIN_SPREAD_KW:
                # The load never changed: only the level is known, every τ is as good as another.
                centre = float(np.median(temps))
                residuals = temps - centre
                candidate = cls(tau, centre, 0.0, _spread(residuals), float(temps.mean()))
            else:
                slope, intercept = np.polyfit(smooth, temps, 1)
                residuals = temps - (intercept + slope * smooth)
                candidate = cls(tau, float(intercept), float(slope), _spread(residuals), float(temps.mean()))
            sse = float(residuals @ residuals)
            if sse < best_sse:
                best, best_sse = candidate, sse
        if best is None:
            raise ValueError("taus_s must name at least one time constant")
        return best


def _spread(residuals: NDArray[np.float64]) -> float:
    """Robust standard deviation (1.4826 · MAD), floored at the PT100's 0.05 °C reading noise."""
    mad = float(np.median(np.abs(residuals - np.median(residuals))))
    return max(1.4826 * mad, 0.05)
