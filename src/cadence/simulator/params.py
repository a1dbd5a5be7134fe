"""Physical parameters of one hydraulic press, derived from its tonnage (docs/domain.md §1.1–§1.2).

Everything is in SI units inside the simulator (Pa, m, m³/s, s, W or kW where named) and converted to the
plant's units (bar, mm, kN) only when a sensor is read. The figures are the typical SME values of the
domain reference; each press gets a small seeded variation so that six "identical" presses never give
identical curves, as in a real shop.

>>> import numpy as np
>>> params = press_params("P01", tonnage_t=100, rng=np.random.default_rng(1))
>>> 200 < params.p_nominal_pa / 1e5 < 260   # bar at nominal force: domain.md §1.1 says ≈ 200-250
True
>>> params.motor_rated_kw                    # 11-15 kW for a 100 t press (domain.md §1.2)
15.0

Idle power is the no-load loss plus the pump circulating oil at a few bar. The pump's share of the
no-load loss is drag in oil, so it follows the viscosity: higher on a cold morning, falling as the oil
warms, and higher on a worn pump (``pump_drag`` > 1, :mod:`.faults`):

>>> cold, warm = params.idle_kw_at(25.0), params.idle_kw_at(LEAK_REF_C)
>>> warm == params.idle_kw, round(cold / warm, 3), round(params.idle_kw_at(60.0) / warm, 3)
(True, 1.144, 0.915)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

G_M_S2 = 9.80665  # standard gravity: tonnes-force to newtons
BAR_PA = 1e5

# --- nominal design choices (unverified typical values, domain.md §1.1-§1.2) -----------------------------
NOMINAL_PRESSURE_BAR = 230.0  # system pressure at nominal force: middle of the usual 200-250 bar design range
RELIEF_RATIO = 1.12  # relief valve cracks 12 % above nominal pressure: protects frame and die
APPROACH_SPEED_M_S = 0.22  # rapid approach 100-500 mm/s: fast cylinders + prefill valve
RETURN_SPEED_M_S = 0.25  # return 100-400 mm/s
ETA_V_NEW = 0.93  # volumetric efficiency of a new axial piston pump at nominal pressure
ETA_HM = 0.90  # hydro-mechanical efficiency of the pump
ETA_MOTOR = 0.92  # IE3 induction motor at load
NO_LOAD_SHARE = 0.20  # no-load losses of motor + pump, share of rated power: idle ends up at 20-40 % rated
# Share of the no-load loss that is the pump's drag (shear in the oil films of pistons, slippers and valve
# plate, churning in its case, shaft seal): it heats the oil. The rest is the motor's iron, bearing and fan
# losses, which heat the air.
PUMP_DRAG_SHARE = 0.5
# The pump's drag follows the oil's kinematic viscosity as (ν/ν_ref)^0.5: the film shear alone would go as ν,
# but bearing and seal friction barely depend on it and churning grows slower than ν; the square root keeps
# the law modest: a 25 °C start draws ≈ 14 % more at idle than at 45 °C (ν_ref), 60 °C ≈ 8 % less.
DRAG_VISCOSITY_EXPONENT = 0.5
VISCOSITY_HALVING_K = 25.0  # ISO VG 46 mineral oil: kinematic viscosity halves per ≈ 25 K around 40-60 °C
PEAK_DRAW_SHARE = 1.05  # electrical draw at nominal pressure, share of rated: motors run briefly at ~rated
BULK_MODULUS_PA = 1.4e9  # effective β of mineral oil with hoses (domain.md: 1.0-1.6 GPa)
DEAD_COLUMN_M = 0.05  # oil in lines and valve blocks, as an equivalent column of the main cylinder
DWELL_TAU_NEW_S = 40.0  # dwell pressure time constant with new seals: ≈ 2.5 %/s decay
FRICTION_SHARE = 0.05  # seal friction + ram weight compensation, share of nominal force (≈ 11 bar)
FRAME_DEFLECTION_M = 0.0005  # elastic frame + tool stretch at nominal force: 0.5 mm is typical of C/O frames
VALVE_TAU_S = 0.025  # spool time constant of a healthy directional valve
VALVE_DEAD_S = 0.010  # command-to-motion dead time of a healthy valve
DECOMPRESSION_TAU_S = 0.07  # controlled decompression ramp: 0.1-0.5 s to tank pressure

# Pump-outlet pressures outside pressing (bar): what the pump works against, which sets the motor power.
PUMP_APPROACH_BAR = 45.0  # driving the fast cylinders
PUMP_RETURN_BAR = 70.0  # lifting the ram on the rod side
PUMP_UNLOADED_BAR = 6.0  # circulating to tank through the unloading valve (idle, dwell)
TANK_BAR = 2.0  # cap side connected to tank / prefill
APPROACH_CAP_BAR = 12.0  # cap-side pressure during rapid approach (domain.md: 10-30 bar)

# Thermal model (domain.md §1.1), scaled with the power unit: bigger motor, bigger tank and cooler.
THERMAL_CAPACITY_KJ_K_PER_KW = 23.0  # ≈ 10 L oil per kW rated plus steel: 100 t press ≈ 350 kJ/K
TANK_UA_KW_K_PER_KW = 0.0033  # natural convection of tank and pipes
COOLER_CMIN_KW_K_PER_KW = 0.0067  # cooling-water side capacity rate of the oil/water cooler
COOLER_EFFECTIVENESS_NEW = 0.60  # ε of a clean plate cooler: production oil settles ≈ 45-50 °C
AMBIENT_C = 22.0
COOLANT_C = 22.0
LEAK_TEMP_COEF_PER_K = 0.02  # leakage grows ~2 %/K as viscosity falls (VG 46: viscosity halves per ~25 K)
LEAK_REF_C = 45.0  # leakage coefficients and the no-load loss are quoted at this oil temperature

# Variation between presses of the same model (1 σ, relative): manufacturing tolerance and tuning.
_VARIATION = 0.02

# Standard IEC motor sizes (kW): a power pack is built around the next catalogue size.
_MOTOR_SIZES_KW = (
    *(5.5, 7.5, 11.0, 15.0, 18.5, 22.0, 30.0, 37.0, 45.0, 55.0, 75.0, 90.0),
    *(110.0, 132.0, 160.0, 200.0, 250.0, 315.0, 400.0, 500.0),
)
MAX_APPROACH_M = 0.6


@dataclass(frozen=True, slots=True)
class PressParams:
    """Healthy physical constants of one press (SI units). Faults act on copies (:mod:`.faults`)."""

    machine: str
    tonnage_t: float
    nominal_force_n: float
    p_nominal_pa: float
    p_relief_pa: float
    area_m2: float  # main cylinder, cap side
    fast_area_m2: float  # fast-approach cylinders
    return_area_m2: float  # rod side used for the return stroke
    approach_m: float  # top dead centre to die contact for a part of nominal height
    q_theoretical_m3_s: float  # pump displacement × speed
    c_pump_new: float  # internal pump leakage coefficient (m³/s per Pa) when new
    c_seal_new: float  # piston seal bypass coefficient (m³/s per Pa) when new
    eta_hm: float
    eta_motor: float
    motor_rated_kw: float
    no_load_kw: float  # motor + pump of a new press with oil at LEAK_REF_C
    bulk_modulus_pa: float
    dead_volume_m3: float
    friction_n: float
    frame_stiffness_n_m: float
    valve_tau_s: float
    valve_dead_s: float
    decompression_tau_s: float
    thermal_capacity_kj_k: float
    tank_ua_kw_k: float
    cooler_cmin_kw_k: float
    cooler_effectiveness_new: float
    ambient_c: float
    coolant_c: float

    def no_load_at(self, oil_temp_c: float, pump_drag: float = 1.0) -> float:
        """No-load loss (kW) with the oil at ``oil_temp_c`` and the pump's drag scaled by ``pump_drag``.

        The motor's part is constant; the pump's part is drag in oil (:data:`DRAG_VISCOSITY_EXPONENT`)
        and grows with mechanical wear (``pump_drag`` 1 when new, :mod:`.faults`).
        """
        drag = math.pow(viscosity_ratio(oil_temp_c), DRAG_VISCOSITY_EXPONENT) * pump_drag
        pump = PUMP_DRAG_SHARE * self.no_load_kw * drag
        return (1.0 - PUMP_DRAG_SHARE) * self.no_load_kw + pump

    def electrical_kw(
        self, pump_pressure_pa: float | np.ndarray, no_load_kw: float | None = None
    ) -> float | np.ndarray:
        """Motor input power when the pump delivers its full displacement against ``pump_pressure_pa``.

        P_el = p·Q_th / (η_hm·η_motor) + P₀: the volumetric loss is already inside Q_th (leaked oil was
        pumped too), which is why a leaking pump costs the same power per second but more per stroke.
        ``no_load_kw`` is P₀ (:meth:`no_load_at`); by default the new press's at the reference temperature.
        """
        hydraulic_w = pump_pressure_pa * self.q_theoretical_m3_s
        no_load = self.no_load_kw if no_load_kw is None else no_load_kw
        return hydraulic_w / (self.eta_hm * self.eta_motor) / 1000.0 + no_load

    @property
    def idle_kw(self) -> float:
        """Motor power with the pump unloaded (between strokes): new press, oil at :data:`LEAK_REF_C`."""
        return self.idle_kw_at(LEAK_REF_C)

    def idle_kw_at(self, oil_temp_c: float, pump_drag: float = 1.0) -> float:
        """Motor power with the pump unloaded, oil at ``oil_temp_c``, pump drag ``pump_drag`` (1 new)."""
        return float(self.electrical_kw(PUMP_UNLOADED_BAR * BAR_PA, self.no_load_at(oil_temp_c, pump_drag)))


def viscosity_ratio(oil_temp_c: float) -> float:
    """Kinematic viscosity of the oil at ``oil_temp_c`` over its value at :data:`LEAK_REF_C`.

    >>> viscosity_ratio(LEAK_REF_C), viscosity_ratio(LEAK_REF_C - VISCOSITY_HALVING_K)
    (1.0, 2.0)
    """
    return float(2.0 ** ((LEAK_REF_C - oil_temp_c) / VISCOSITY_HALVING_K))


def motor_size_kw(tonnage_t: float) -> float:
    """The catalogue motor of a press of ``tonnage_t``: ≈ 6 kW + 0.09 kW/t, as domain.md §1.2 figures.

    >>> motor_size_kw(100), motor_size_kw(200), motor_size_kw(400)
    (15.0, 22.0, 45.0)
    """
    wanted = 6.0 + 0.09 * tonnage_t
    return min(_MOTOR_SIZES_KW, key=lambda size: (abs(size - wanted), size))


def press_params(machine: str, tonnage_t: float, rng: np.random.Generator) -> PressParams:
    """Parameters of a press of ``tonnage_t`` with a small seeded variation drawn from ``rng``."""
    if not math.isfinite(tonnage_t) or tonnage_t <= 0:
        raise ValueError(f"{machine}: tonnage must be a positive number, got {tonnage_t}")

    def vary(value: float) -> float:
        return value * float(1.0 + _VARIATION * np.clip(rng.standard_normal(), -2.5, 2.5))

    force = tonnage_t * 1000.0 * G_M_S2
    p_nominal = vary(NOMINAL_PRESSURE_BAR) * BAR_PA
    area = force / p_nominal
    rated = motor_size_kw(tonnage_t)
    no_load = NO_LOAD_SHARE * rated
    eta_hm, eta_motor = ETA_HM, ETA_MOTOR
    # Size the pump so the motor draws ≈ rated power at nominal pressure.
    q_th = (PEAK_DRAW_SHARE - NO_LOAD_SHARE) * rated * 1000.0 * eta_hm * eta_motor / p_nominal
    c_pump = q_th * (1.0 - ETA_V_NEW) / p_nominal
    q_approach = q_th - c_pump * PUMP_APPROACH_BAR * BAR_PA
    q_return = q_th - c_pump * PUMP_RETURN_BAR * BAR_PA
    # Daylight grows with frame size (63 t ≈ 240 mm, 250 t ≈ 350 mm) up to ≈ 0.6 m on the largest frames.
    approach = vary(min(0.20 + 0.0006 * tonnage_t, MAX_APPROACH_M))
    dead_volume = area * DEAD_COLUMN_M
    beta = vary(BULK_MODULUS_PA)
    contact_volume = dead_volume + area * approach
    c_seal = contact_volume / (beta * vary(DWELL_TAU_NEW_S))
    return PressParams(
        machine=machine,
        tonnage_t=float(tonnage_t),
        nominal_force_n=force,
        p_nominal_pa=p_nominal,
        p_relief_pa=p_nominal * RELIEF_RATIO,
        area_m2=area,
        fast_area_m2=q_approach / vary(APPROACH_SPEED_M_S),
        return_area_m2=q_return / vary(RETURN_SPEED_M_S),
        approach_m=approach,
        q_theoretical_m3_s=q_th,
        c_pump_new=c_pump,
        c_seal_new=c_seal,
        eta_hm=eta_hm,
        eta_motor=eta_motor,
        motor_rated_kw=rated,
        no_load_kw=no_load,
        bulk_modulus_pa=beta,
        dead_volume_m3=dead_volume,
        friction_n=FRICTION_SHARE * force,
        frame_stiffness_n_m=force / vary(FRAME_DEFLECTION_M),
        valve_tau_s=vary(VALVE_TAU_S),
        valve_dead_s=vary(VALVE_DEAD_S),
        decompression_tau_s=vary(DECOMPRESSION_TAU_S),
        thermal_capacity_kj_k=vary(THERMAL_CAPACITY_KJ_K_PER_KW * rated),
        tank_ua_kw_k=vary(TANK_UA_KW_K_PER_KW * rated),
        cooler_cmin_kw_k=vary(COOLER_CMIN_KW_K_PER_KW * rated),
        cooler_effectiveness_new=COOLER_EFFECTIVENESS_NEW,
        ambient_c=AMBIENT_C,
        coolant_c=COOLANT_C,
    )
