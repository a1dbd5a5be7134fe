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
from cadence.simulator.params import PressParams

FORMING_WORK_SHARE = 0.10  # share of hydraulic power leaving as forming work (domain.md §1.1: ≈ 9 %)
PUMP_FRICTION_SHARE = 0.5  # share of the no-load loss that is pump friction (heats oil); the rest is motor


def heat_to_oil_kw(params: PressParams, electrical_kw: F64) -> F64:
    """Heat reaching the oil for each electrical power value (0 where the motor is off).

    Motor losses heat the air; pump friction and every throttled or leaked hydraulic watt heat the oil.
    """
    on = electrical_kw > 0.0
    hydraulic = np.maximum(electrical_kw - params.no_load_kw, 0.0) * params.eta_motor
    heat = (1.0 - FORMING_WORK_SHARE) * hydraulic + PUMP_FRICTION_SHARE * params.no_load_kw
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
