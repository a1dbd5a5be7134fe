"""One press stroke, phase by phase, from the lumped physics of docs/domain.md §1.1-§1.2.

Phases (the PLC's step chain): rapid approach → slow-down to contact → pressing → dwell → decompression →
return. Each phase is closed-form in time except pressing, which is solved on a grid of ram penetration δ
and mapped back to the sample times with ``np.interp``; a stroke costs well under a millisecond.

Pressing combines the pressure build-up equation with the forming force of the part, F(δ) = F₀ + K·δⁿ
(quasi-static, ram mass neglected). With p = F(δ)/A,

    V/β · dp/dt = Q_pump(p) − A·v − Q_seal(p)      and      dp/dt = F'(δ)·v / A

give the ram speed ``v(δ) = (Q_th − (C_pump + C_seal)·p) / (A + V/β · F'(δ)/A)`` and the time
``t(δ) = ∫ dδ / v(δ)``. Pressing ends when the set pressure (or the set depth) is reached, or when the
PLC's pressing time-out expires (a leaking pump may never get there); the valve's dead time and time
constant let the pump push on a little after the switch, which is the pressure overshoot.

Dwell isolates the pump: p(t) = p_peak · exp(−t/τ), τ = V / (β·C_seal). Motor power follows
P_el = p_pump·Q_th / (η_hm·η_motor) + P₀ with the pump-outlet pressure of each phase, P₀ the no-load loss
at the stroke's oil temperature and pump wear (:meth:`PressParams.no_load_at`).

>>> import numpy as np
>>> from cadence.simulator.params import press_params
>>> from cadence.simulator.faults import healthy_condition
>>> params = press_params("P01", 100, np.random.default_rng(0))
>>> recipe = Recipe.for_force(params, force_share=0.8, depth_m=0.008, exponent=2.0, dwell_s=0.8)
>>> curves = simulate_stroke(params, healthy_condition(params), recipe)
>>> curves.dt_us, 3.0 < curves.duration_us / 1e6 < 8.0
(2000, True)
>>> bool(curves.pressure_bar.argmax() >= curves.phase_starts[Phase.PRESSING])
True
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

import numpy as np

from cadence.domain.samples import F64
from cadence.simulator.faults import Condition
from cadence.simulator.params import (
    APPROACH_CAP_BAR,
    BAR_PA,
    LEAK_REF_C,
    LEAK_TEMP_COEF_PER_K,
    PUMP_APPROACH_BAR,
    PUMP_RETURN_BAR,
    PUMP_UNLOADED_BAR,
    TANK_BAR,
    PressParams,
)

SLOWDOWN_M = 0.012  # the PLC switches from rapid to pressing speed 12 mm above the die
SLOWDOWN_TAU_S = 0.04  # deceleration of the ram when the prefill valve closes
APPROACH_PRESSURE_TAU_S = 0.05
CONTACT_PRESSURE_TAU_S = 0.03
LINE_LOSS_BAR = 3.0  # pump outlet to cylinder pressure drop while pressing
DECOMPRESSION_END_BAR = 1.0  # decompression is complete within 1 bar of tank pressure
SETTLE_S = 0.05  # ram settling at top dead centre before the PLC reports the stroke complete
_GRID_POINTS = 200  # δ-grid resolution of the pressing phase (plenty: the curve is smooth)
_LAG_GRID_POINTS = 40
_STALL_MARGIN = 0.995  # integrate up to 99.5 % of the stall pressure: the time to stall is infinite


class Phase(enum.IntEnum):
    """Steps of the stroke, in order."""

    APPROACH = 0
    SLOWDOWN = 1
    PRESSING = 2
    DWELL = 3
    DECOMPRESSION = 4
    RETURN = 5


class StopMode(enum.StrEnum):
    """What ends pressing: the set pressure, or the set ram position (domain.md §1.2, bottom stop)."""

    PRESSURE = "pressure"
    POSITION = "position"


@dataclass(frozen=True, slots=True)
class Recipe:
    """Process settings of one part on one press (its die, its material law and the PLC set points)."""

    contact_m: float  # ram position where the die touches the blank
    k_form: float  # forming law F = F₀ + k_form·δⁿ, N/mⁿ (nominal material)
    exponent: float
    stop: StopMode
    p_set_pa: float  # set pressure (used with StopMode.PRESSURE)
    depth_m: float  # set penetration beyond contact (used with StopMode.POSITION)
    dwell_s: float
    timeout_s: float = math.inf  # pressing time-out of the PLC; inf while teaching

    @classmethod
    def for_force(
        cls,
        params: PressParams,
        force_share: float,
        depth_m: float,
        exponent: float,
        dwell_s: float,
        *,
        stop: StopMode = StopMode.PRESSURE,
        contact_offset_m: float = 0.0,
    ) -> Recipe:
        """A recipe needing ``force_share`` of nominal force to form ``depth_m`` with nominal material."""
        forming = force_share * params.nominal_force_n - params.friction_n
        if forming <= 0 or depth_m <= 0:
            raise ValueError("force_share must exceed the friction share and depth_m must be > 0")
        k_form = forming / depth_m**exponent
        p_set = (params.friction_n + k_form * depth_m**exponent) / params.area_m2
        return cls(
            contact_m=params.approach_m - contact_offset_m,
            k_form=k_form,
            exponent=exponent,
            stop=stop,
            p_set_pa=p_set,
            depth_m=depth_m,
            dwell_s=dwell_s,
        )


@dataclass(frozen=True, slots=True)
class Sensor:
    """A transducer: Gaussian noise of ``noise_sd``, saturation at its range, quantisation to ``resolution``.

    >>> Sensor(0.01, 0.0, low=-10.0, high=400.0).read(np.array([12.346, 431.0]), None).tolist()
    [12.35, 400.0]
    """

    resolution: float
    noise_sd: float
    low: float = -math.inf
    high: float = math.inf

    def read(self, true: F64, rng: np.random.Generator | None) -> F64:
        """What the gateway reads for the true values ``true``."""
        if rng is not None and self.noise_sd > 0:
            true = true + self.noise_sd * rng.standard_normal(true.shape)
        if math.isfinite(self.low) or math.isfinite(self.high):
            # A transducer saturates at the ends of its range; stay on a resolution step inside it.
            low = (
                math.ceil(self.low / self.resolution - 1e-9) * self.resolution
                if math.isfinite(self.low)
                else None
            )
            high = (
                math.floor(self.high / self.resolution + 1e-9) * self.resolution
                if math.isfinite(self.high)
                else None
            )
            true = np.clip(true, low, high)
        return quantise(true, self.resolution)


def quantise(values: F64, resolution: float) -> F64:
    """Round to multiples of ``resolution``, giving the shortest decimal floats (cheap, exact JSON).

    >>> quantise(np.array([231.456, -0.004]), 0.01).tolist()
    [231.46, -0.0]
    """
    steps = np.rint(values / resolution)
    inverse = 1.0 / resolution
    if abs(inverse - round(inverse)) < 1e-9:
        # Dividing by an integer gives the double nearest to the decimal (231.46, not 231.46000000000001).
        return steps / round(inverse)
    return steps * resolution


@dataclass(frozen=True, slots=True)
class StrokeSensors:
    """The three stroke transducers (force is computed from pressure × area, as the plant file says)."""

    pressure: Sensor = Sensor(0.01, 0.4)  # 0.1 % of a 0-400 bar transducer
    position: Sensor = Sensor(0.01, 0.005)  # magnetostrictive scale, ±5 µm (domain.md §1.3: ≤ 10 µm)
    force: Sensor = Sensor(0.1, 0.0)  # noise comes from the pressure reading
    power: Sensor = Sensor(0.01, 0.05)


@dataclass(frozen=True, slots=True, eq=False)
class StrokeCurves:
    """The sampled curves of one stroke (what the gateway read) plus the PLC step marks."""

    dt_us: int
    duration_us: int
    pressure_bar: F64
    position_mm: F64
    force_kn: F64
    power_kw: F64  # measured motor power at the stroke rate (for energy); true power in ``power_true_kw``
    power_true_kw: F64
    phase_starts: tuple[int, ...]  # first sample of each Phase; a phase may be empty
    timed_out: bool  # pressing ended on the PLC time-out, not on its set point
    peak_true_pa: float

    @property
    def samples(self) -> int:
        return len(self.pressure_bar)

    def phase_slice(self, phase: Phase) -> slice:
        """Sample indices of ``phase``."""
        end = self.phase_starts[phase + 1] if phase + 1 < len(self.phase_starts) else self.samples
        return slice(self.phase_starts[phase], end)


def _first_order_travel_time(distance: float, v_max: float, tau: float) -> float:
    """Time for x(t) = v·(t − τ(1 − e^(−t/τ))) to reach ``distance`` (fixed point, converges fast)."""
    if distance <= 0:
        return 0.0
    t = distance / v_max + tau
    for _ in range(4):
        t = distance / v_max + tau * (1.0 - math.exp(-t / tau))
    return t


def _first_order_distance(t: F64, v_max: float, tau: float) -> F64:
    return v_max * (t - tau * (-np.expm1(-t / tau)))


def _deceleration_time(distance: float, v0: float, v1: float, tau: float) -> float:
    """Time for x(t) = v1·t + (v0 − v1)·τ·(1 − e^(−t/τ)) to reach ``distance`` (Newton, monotone)."""
    t = 0.0
    for _ in range(30):
        e = math.exp(-t / tau)
        f = v1 * t + (v0 - v1) * tau * (1.0 - e) - distance
        if abs(f) < 1e-9:
            break
        t -= f / (v1 + (v0 - v1) * e)
    return max(t, 0.0)


def simulate_stroke(
    params: PressParams,
    condition: Condition,
    recipe: Recipe,
    *,
    material: float = 1.0,
    oil_temp_c: float = LEAK_REF_C,
    dt_us: int = 2000,
    sensors: StrokeSensors | None = None,
    rng: np.random.Generator | None = None,
) -> StrokeCurves:
    """Simulate one stroke sampled every ``dt_us``; noise is added only when ``rng`` is given.

    ``material`` scales the forming force of the blank (strength of its heat, ±1-3 %); ``oil_temp_c``
    sets the leakage and the pump's drag through viscosity.
    """
    sensors = sensors or StrokeSensors()
    dt = dt_us / 1e6
    leak_factor = math.exp(LEAK_TEMP_COEF_PER_K * (oil_temp_c - LEAK_REF_C))
    c_pump = condition.c_pump * leak_factor
    c_seal = condition.c_seal * leak_factor
    q_th = params.q_theoretical_m3_s
    area = params.area_m2
    tau_v, dead = condition.valve_tau_s, condition.valve_dead_s
    f0 = params.friction_n

    # 1. rapid approach on the fast cylinders, prefill open
    contact = recipe.contact_m
    slowdown = min(SLOWDOWN_M, contact / 2)
    x_sd = contact - slowdown
    v_app = max(q_th - c_pump * PUMP_APPROACH_BAR * BAR_PA, 0.05 * q_th) / params.fast_area_m2
    t_app = dead + _first_order_travel_time(x_sd, v_app, tau_v)
    v_at_sd = v_app * -math.expm1(-(t_app - dead) / tau_v)

    # 2. slow-down: prefill closes, the pump feeds the main cylinder
    p_contact = f0 / area
    v_press0 = max(q_th - (c_pump + c_seal) * p_contact, 0.01 * q_th) / area
    t_sd = _deceleration_time(slowdown, v_at_sd, v_press0, SLOWDOWN_TAU_S)

    # 3. pressing, solved on a δ grid
    press = _pressing(params, recipe, material * condition.die_factor, c_pump + c_seal, tau_v + dead)
    t_press, delta_at = press.duration_s, press.delta_at

    # 4. dwell, 5. decompression, 6. return
    contact_volume = params.dead_volume_m3 + area * contact
    tau_dwell = contact_volume / (params.bulk_modulus_pa * c_seal)
    p_peak = press.peak_pa
    p_dwell_end = p_peak * math.exp(-recipe.dwell_s / tau_dwell)
    tank = TANK_BAR * BAR_PA
    tau_dec = condition.decompression_tau_s
    excess = max(p_dwell_end - tank, DECOMPRESSION_END_BAR * BAR_PA)
    t_dec = tau_dec * math.log(excess / (DECOMPRESSION_END_BAR * BAR_PA)) + dt
    compliance = area / params.frame_stiffness_n_m  # m of spring-back per Pa of pressure released
    x_bottom = contact + press.delta_end
    x_dwell_end = x_bottom - (p_peak - p_dwell_end) * compliance
    x_return = x_dwell_end - (p_dwell_end - tank) * compliance
    v_ret = max(q_th - c_pump * PUMP_RETURN_BAR * BAR_PA, 0.05 * q_th) / params.return_area_m2
    t_ret = dead + _first_order_travel_time(x_return, v_ret, tau_v) + SETTLE_S

    bounds = np.cumsum([0.0, t_app, t_sd, t_press, recipe.dwell_s, t_dec, t_ret])
    duration_us = round(float(bounds[-1]) * 1e6)
    n = duration_us // dt_us + 1
    t = np.arange(n, dtype=np.float64) * dt
    starts = np.searchsorted(t, bounds[:-1] - 1e-12)
    cuts = [*starts.tolist(), n]
    pressure = np.empty(n)
    position = np.empty(n)
    pump_pa = np.empty(n)

    def seg(phase: Phase) -> tuple[slice, F64]:
        s = slice(cuts[phase], cuts[phase + 1])
        return s, t[s] - bounds[phase]

    s, tau = seg(Phase.APPROACH)
    moving = np.maximum(tau - dead, 0.0)
    position[s] = _first_order_distance(moving, v_app, tau_v)
    p_cap_app = APPROACH_CAP_BAR * BAR_PA
    pressure[s] = tank + (p_cap_app - tank) * -np.expm1(-tau / APPROACH_PRESSURE_TAU_S)
    pump_pa[s] = PUMP_APPROACH_BAR * BAR_PA
    p_app_end = tank + (p_cap_app - tank) * -math.expm1(-t_app / APPROACH_PRESSURE_TAU_S)

    s, tau = seg(Phase.SLOWDOWN)
    position[s] = (
        x_sd + v_press0 * tau + (v_at_sd - v_press0) * SLOWDOWN_TAU_S * -np.expm1(-tau / SLOWDOWN_TAU_S)
    )
    pressure[s] = p_app_end + (p_contact - p_app_end) * -np.expm1(-tau / CONTACT_PRESSURE_TAU_S)
    pump_pa[s] = pressure[s] + LINE_LOSS_BAR * BAR_PA

    s, tau = seg(Phase.PRESSING)
    delta = delta_at(tau)
    position[s] = contact + delta
    pressure[s] = press.pressure_of(delta)
    pump_pa[s] = pressure[s] + LINE_LOSS_BAR * BAR_PA

    s, tau = seg(Phase.DWELL)
    pressure[s] = p_peak * np.exp(-tau / tau_dwell)
    position[s] = x_bottom - (p_peak - pressure[s]) * compliance
    pump_pa[s] = PUMP_UNLOADED_BAR * BAR_PA

    s, tau = seg(Phase.DECOMPRESSION)
    pressure[s] = tank + (p_dwell_end - tank) * np.exp(-tau / tau_dec)
    position[s] = x_dwell_end - (p_dwell_end - pressure[s]) * compliance
    pump_pa[s] = PUMP_UNLOADED_BAR * BAR_PA

    s, tau = seg(Phase.RETURN)
    moving = np.maximum(tau - dead, 0.0)
    position[s] = np.maximum(x_return - _first_order_distance(moving, v_ret, tau_v), 0.0)
    pressure[s] = tank
    pump_pa[s] = PUMP_RETURN_BAR * BAR_PA

    no_load = params.no_load_at(oil_temp_c, condition.pump_drag)  # cold oil and a worn pump drag more
    power_true = np.asarray(params.electrical_kw(pump_pa, no_load), dtype=np.float64)
    pressure_bar = pressure / BAR_PA
    if rng is not None and sensors.pressure.noise_sd > 0:
        pressure_bar = pressure_bar + sensors.pressure.noise_sd * rng.standard_normal(n)
    force_kn = pressure_bar * (area * BAR_PA / 1000.0)
    return StrokeCurves(
        dt_us=dt_us,
        duration_us=duration_us,
        pressure_bar=replace(sensors.pressure, noise_sd=0.0).read(pressure_bar, None),  # noise added above
        position_mm=sensors.position.read(position * 1000.0, rng),
        force_kn=sensors.force.read(force_kn, rng),
        power_kw=sensors.power.read(power_true, rng),
        power_true_kw=power_true,
        phase_starts=tuple(int(i) for i in starts),
        timed_out=press.timed_out,
        peak_true_pa=p_peak,
    )


@dataclass(frozen=True, slots=True)
class _Pressing:
    duration_s: float
    delta_end: float
    peak_pa: float
    timed_out: bool
    t_grid: F64
    delta_grid: F64
    area: float
    f0: float
    k: float
    exponent: float

    def delta_at(self, tau: F64) -> F64:
        return np.interp(tau, self.t_grid, self.delta_grid)

    def pressure_of(self, delta: F64) -> F64:
        return (self.f0 + self.k * np.power(delta, self.exponent)) / self.area


def _pressing(
    params: PressParams, recipe: Recipe, force_factor: float, c_leak: float, lag_s: float
) -> _Pressing:
    area, f0, n = params.area_m2, params.friction_n, recipe.exponent
    k = recipe.k_form * force_factor
    q_th = params.q_theoretical_m3_s
    capacitance = (params.dead_volume_m3 + area * recipe.contact_m) / params.bulk_modulus_pa

    def delta_of_p(p: float) -> float:
        return float(max((p * area - f0) / k, 0.0) ** (1.0 / n))

    def speed(delta: F64) -> F64:
        p = (f0 + k * delta**n) / area
        stiffness = n * k * delta ** (n - 1.0)
        return np.maximum(q_th - c_leak * p, 1e-15) / (area + capacitance * stiffness / area)

    p_cap = min(params.p_relief_pa, _STALL_MARGIN * q_th / c_leak)
    delta_cap = delta_of_p(p_cap)
    delta_target = delta_of_p(recipe.p_set_pa) if recipe.stop is StopMode.PRESSURE else recipe.depth_m
    reachable = delta_target < delta_cap
    delta_goal = min(delta_target, delta_cap)
    if delta_goal <= 0.0:  # stalls at contact: nothing moves until the time-out
        t_grid, delta_grid = np.zeros(1), np.zeros(1)
        t_goal = 0.0
    else:
        u = np.linspace(0.0, 1.0, _GRID_POINTS)
        delta_grid = delta_goal * (1.0 - (1.0 - u) ** 2)  # dense near the end, where speed falls
        if reachable:
            # After the switch the pump still pushes for the valve lag: extend the grid far enough.
            v_goal = float(speed(np.array([delta_goal]))[0])
            span = min(delta_cap - delta_goal, 1.05 * v_goal * lag_s)
            extra = delta_goal + span * np.linspace(0.0, 1.0, _LAG_GRID_POINTS)[1:]
            delta_grid = np.concatenate([delta_grid, extra])
        inv_v = 1.0 / speed(delta_grid)
        t_grid = np.concatenate([[0.0], np.cumsum(0.5 * (inv_v[1:] + inv_v[:-1]) * np.diff(delta_grid))])
        t_goal = float(t_grid[_GRID_POINTS - 1])
    if reachable and t_goal <= recipe.timeout_s:
        t_switch, timed_out = t_goal, False
    else:
        t_switch = recipe.timeout_s if math.isfinite(recipe.timeout_s) else t_goal
        timed_out = True
    duration = t_switch + lag_s
    delta_end = float(np.interp(duration, t_grid, delta_grid))
    return _Pressing(
        duration_s=duration,
        delta_end=delta_end,
        peak_pa=(f0 + k * delta_end**n) / area,
        timed_out=timed_out,
        t_grid=t_grid,
        delta_grid=delta_grid,
        area=area,
        f0=f0,
        k=k,
        exponent=n,
    )
