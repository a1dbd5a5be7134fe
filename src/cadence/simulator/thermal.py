"""Oil temperature of a press's power unit: the lumped thermal balance of docs/domain.md §1.1.

    C_th · dT/dt = P_loss − UA_tank·(T − T_amb) − ε_c·C_min·(T − T_coolant)

With the heat input held constant over a step the equation is linear, so each step is exact:
T → T∞ + (T − T∞)·exp(−dt/τ) with τ = C_th / (UA + ε_c·C_min). A fouled cooler (low ε_c) both raises
T∞ and slows the approach to it.

>>> import numpy as np
>>> from cadence.simulator.params import press_params
>>> params = press_params("P01", 100, np.random.default_rng(0))
>>> oil = OilThermal(params, temp_c=40.0)
>>> clean = oil.equilibrium_c(heat_kw=2.5, cooler_effectiveness=0.6)
>>> fouled = oil.equilibrium_c(heat_kw=2.5, cooler_effectiveness=0.1)
>>> 40 < clean < 55 < fouled
True
"""

from __future__ import annotations

import math

import numpy as np

from cadence.domain.samples import F64
from cadence.simulator.params import PUMP_DRAG_SHARE, PressParams

FORMING_WORK_SHARE = 0.10  # share of hydraulic power leaving as forming work (domain.md §1.1: ≈ 9 %)


def heat_to_oil_kw(params: PressParams, electrical_kw: F64, no_load_kw: float | None = None) -> F64:
    """Heat reaching the oil for each electrical power value (0 where the motor is off).

    Motor losses heat the air; the pump's drag and every throttled or leaked hydraulic watt heat the oil.
    ``no_load_kw`` is the no-load loss the power values were drawn with (:meth:`PressParams.no_load_at`:
    it grows in cold oil and with pump wear, and all of that growth is pump drag); by default the new
    press's at the reference temperature.

    >>> from cadence.simulator.params import press_params
    >>> params = press_params("P01", 100, np.random.default_rng(0))
    >>> cold = params.no_load_at(25.0)
    >>> idle = heat_to_oil_kw(params, np.array([params.idle_kw_at(25.0), 0.0]), cold)
    >>> bool(idle[0] > heat_to_oil_kw(params, np.array([params.idle_kw]))[0]), float(idle[1])
    (True, 0.0)
    """
    no_load = params.no_load_kw if no_load_kw is None else no_load_kw
    on = electrical_kw > 0.0
    hydraulic = np.maximum(electrical_kw - no_load, 0.0) * params.eta_motor
    pump_drag = no_load - (1.0 - PUMP_DRAG_SHARE) * params.no_load_kw  # the motor's own part is constant
    heat = (1.0 - FORMING_WORK_SHARE) * hydraulic + pump_drag
    return np.where(on, heat, 0.0)


class OilThermal:
    """Tank oil temperature, advanced step by step with the exact solution of the linear balance."""

    def __init__(self, params: PressParams, temp_c: float) -> None:
        self.params = params
        self.temp_c = temp_c
        self.cooler_kw = 0.0  # heat removed by the cooler over the last step (ground truth)

    def _conductances(self, cooler_effectiveness: float) -> tuple[float, float]:
        ua = self.params.tank_ua_kw_k
        return ua, max(cooler_effectiveness, 0.0) * self.params.cooler_cmin_kw_k

    def equilibrium_c(self, heat_kw: float, cooler_effectiveness: float) -> float:
        """Temperature the oil settles at under a constant heat input."""
        ua, ec = self._conductances(cooler_effectiveness)
        return (heat_kw + ua * self.params.ambient_c + ec * self.params.coolant_c) / (ua + ec)

    def step(self, dt_s: float, heat_kw: float, cooler_effectiveness: float) -> float:
        """Advance ``dt_s`` seconds with a constant ``heat_kw`` input; returns the new temperature."""
        if dt_s <= 0:
            return self.temp_c
        ua, ec = self._conductances(cooler_effectiveness)
        target = self.equilibrium_c(heat_kw, cooler_effectiveness)
        start = self.temp_c
        self.temp_c = target + (start - target) * math.exp(
            -dt_s * (ua + ec) / self.params.thermal_capacity_kj_k
        )
        self.cooler_kw = ec * ((start + self.temp_c) / 2 - self.params.coolant_c)
        return self.temp_c
