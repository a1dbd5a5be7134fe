"""Slowly evolving faults that act on a press's physical parameters, never on its features.

Five modes (docs/domain.md §1.5), each with a severity ``s`` from 0 (new) to 1 (near failure):

================  ===========================================  =======================================
mode              physical parameter changed                    what a detector should see
================  ===========================================  =======================================
pump_leak         internal pump leakage: η_v at nominal         slower approach and pressing, longer
                  pressure 0.93 → 0.20; pump drag ×1…1.4        build-up and cycle, more energy, hotter
                  (no-load loss +20 %)                          oil, more motor power at idle; at the
                                                                end, pressure not reached
seal_wear         piston-seal bypass: dwell time constant       larger dwell pressure decay, ram creep;
                  40 s → 1.5 s                                  at the end, low dwell pressure (scrap)
cooler_fouling    cooler effectiveness ε_c 0.60 → 0.03          oil temperature rises and settles
                  (UCI levels 100/20/3 %)                       higher; over-temperature trips
valve_lag         valve time constant ×1…3, dead time +20 ms    later switching: pressure overshoot,
                                                                slower decompression, overload scrap
die_wear          forming force needed ×1…1.04                  peak force creeps up (position stop) or
                                                                BDC drifts (pressure stop)
================  ===========================================  =======================================

Severity grows with the press's motor-on hours ``h`` as a linear trend plus an exponential tail (wear
accelerates near end of life)::

    s(h) = start + (1 - start) · g((h - onset_h) / life_h),   g(u) = 0.5·u + 0.5·(e^(3u) - 1)/(e^3 - 1)

so ``s`` reaches 1 after ``life_h`` hours (each press's life is also scaled by a seeded factor 0.8-1.25).
``start`` lets a demo begin with a fault already advanced.

**Choosing faults from a command line.** :func:`parse_scenario` reads comma-separated entries::

    default                           the plant's default scenario (:func:`default_scenario`)
    healthy | none                    no fault anywhere
    P02=pump_leak                     P02 develops a pump leak from new, over the default life (300 h)
    P02=pump_leak:0.8                 ... starting at severity 0.8
    P02=pump_leak:0.5@20h             ... starting at 0.5 and reaching 1 after 20 motor-on hours
    P06=valve_lag:0.3+die_wear:0.2    two faults on one press
    P01=healthy                       no fault on P01
    default,P05=seal_wear:0.6         the default scenario, with P05 overridden

>>> scenario = parse_scenario("P02=pump_leak:0.8,P03=seal_wear")
>>> scenario.faults_of("P02")
(FaultSpec(mode=<FaultMode.PUMP_LEAK: 'pump_leak'>, start=0.8, life_h=300.0, onset_h=0.0),)
>>> scenario.faults_of("P01")
()
>>> round(FaultSpec(FaultMode.SEAL_WEAR, start=0.2, life_h=100.0).severity(50.0), 3)
0.473
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cadence.domain.plant import Plant
from cadence.errors import ConfigError
from cadence.simulator.params import PressParams

DEFAULT_LIFE_H = 300.0  # motor-on hours from new to near failure: a few months of two-shift work
_TAIL_K = 3.0  # steepness of the exponential end-of-life tail

# Physical ranges swept by severity 0 → 1 (see the module table).
PUMP_ETA_V_WORN = 0.20  # η_v at nominal pressure of a pump about to fail
# The wear that opens the leakage gaps (scored pistons and valve plate, worn slippers and bearings) also
# breaks the oil films they run on: the pump's drag grows by 40 % at severity 1, i.e. the no-load loss by
# 20 % and the motor power at idle by ≈ 18 % (params.PUMP_DRAG_SHARE of the no-load loss is the pump's).
PUMP_DRAG_GAIN = 0.4
SEAL_DWELL_TAU_WORN_S = 1.5
COOLER_EFFECTIVENESS_LOSS = 0.95  # ε_c falls to 5 % of new (UCI "close to total failure": 3 %)
VALVE_TAU_GAIN = 2.0  # time constant ×3 at severity 1
VALVE_DEAD_GAIN_S = 0.020
# A worn die needs more force (domain.md §1.5 F_peak creep); it is worn out when its parts leave their
# quality window. A part formed to a pressure moves its bottom dead centre by a few hundredths of a
# millimetre per 1 % of force, and its tolerance holds four standard deviations of the heats' scatter
# (parts.CAPABLE_SIGMAS: only capable parts are produced), so its lots start to leave the window once the
# die needs 2-4 % more force. A 4 % gain puts that at the end of the severity range, as for the other
# modes: the example plant's dies failed at severity 0.54, 0.98, 0.73 and 1 on seeds 1-4
# (benchmarks/health_sim.py). With a 15 % gain, and parts that were not all capable, they failed at 0.05-0.15,
# a sixth of the way along a range whose end is meant to be "near failure".
DIE_FORCE_GAIN = 0.04


class FaultMode(enum.StrEnum):
    PUMP_LEAK = "pump_leak"
    SEAL_WEAR = "seal_wear"
    COOLER_FOULING = "cooler_fouling"
    VALVE_LAG = "valve_lag"
    DIE_WEAR = "die_wear"


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One fault of one press: its mode, starting severity and how fast it progresses."""

    mode: FaultMode
    start: float = 0.0
    life_h: float = DEFAULT_LIFE_H
    onset_h: float = 0.0  # motor-on hours before the fault starts to progress

    def __post_init__(self) -> None:
        if not 0.0 <= self.start <= 1.0:
            raise ValueError(f"{self.mode}: start severity must be within 0..1, got {self.start}")
        if not (self.life_h > 0 and math.isfinite(self.life_h)):
            raise ValueError(f"{self.mode}: life_h must be a positive number of hours, got {self.life_h}")
        if not self.onset_h >= 0:
            raise ValueError(f"{self.mode}: onset_h must be >= 0, got {self.onset_h}")

    def severity(self, hours: float, life_scale: float = 1.0) -> float:
        """Severity after ``hours`` motor-on hours (``life_scale`` stretches this press's life)."""
        u = max(hours - self.onset_h, 0.0) / (self.life_h * life_scale)
        growth = 0.5 * u + 0.5 * math.expm1(_TAIL_K * u) / math.expm1(_TAIL_K)
        return min(1.0, self.start + (1.0 - self.start) * growth)


@dataclass(frozen=True, slots=True)
class Scenario:
    """Which faults each press develops; presses not listed stay healthy."""

    faults: Mapping[str, tuple[FaultSpec, ...]] = field(default_factory=dict)

    def faults_of(self, machine: str) -> tuple[FaultSpec, ...]:
        return tuple(self.faults.get(machine, ()))

    def describe(self) -> str:
        """One line per faulty press, for logs and the demo banner."""
        parts = []
        for machine in sorted(self.faults):
            specs = self.faults[machine]
            if specs:
                text = "+".join(f"{s.mode.value}:{s.start:g}@{s.life_h:g}h" for s in specs)
                parts.append(f"{machine}={text}")
        return ",".join(parts) or "healthy"


@dataclass(frozen=True, slots=True)
class Condition:
    """The true physical state of a press at one moment: the ground truth a detector is scored on."""

    severities: Mapping[FaultMode, float]
    c_pump: float  # m³/s per Pa at the reference oil temperature
    c_seal: float
    cooler_effectiveness: float
    valve_tau_s: float
    valve_dead_s: float
    decompression_tau_s: float
    die_factor: float
    pump_drag: float = 1.0  # the pump's drag over a new pump's (PressParams.no_load_at)

    def eta_v(self, params: PressParams) -> float:
        """Volumetric efficiency at nominal pressure and reference temperature."""
        return 1.0 - self.c_pump * params.p_nominal_pa / params.q_theoretical_m3_s

    def truth(self, params: PressParams) -> dict[str, float]:
        """Flat ``name → value`` record (severities and physical values) for CSV and tests."""
        out = {f"severity_{mode.value}": float(self.severities.get(mode, 0.0)) for mode in FaultMode}
        contact_volume = params.dead_volume_m3 + params.area_m2 * params.approach_m
        out.update(
            eta_v=self.eta_v(params),
            dwell_tau_s=contact_volume / (params.bulk_modulus_pa * self.c_seal),
            cooler_effectiveness=self.cooler_effectiveness,
            valve_tau_s=self.valve_tau_s,
            valve_dead_s=self.valve_dead_s,
            die_factor=self.die_factor,
            pump_drag=self.pump_drag,
        )
        return out


def healthy_condition(params: PressParams) -> Condition:
    """The condition of a new press."""
    return condition_of(params, {})


def condition_of(params: PressParams, severities: Mapping[FaultMode, float]) -> Condition:
    """Physical parameters of ``params`` degraded by ``severities`` (missing modes are 0)."""
    s = {mode: min(max(float(severities.get(mode, 0.0)), 0.0), 1.0) for mode in FaultMode}
    eta_new = 1.0 - params.c_pump_new * params.p_nominal_pa / params.q_theoretical_m3_s
    eta_v = eta_new + (PUMP_ETA_V_WORN - eta_new) * s[FaultMode.PUMP_LEAK]
    c_pump = params.q_theoretical_m3_s * (1.0 - eta_v) / params.p_nominal_pa
    contact_volume = params.dead_volume_m3 + params.area_m2 * params.approach_m
    tau_new = contact_volume / (params.bulk_modulus_pa * params.c_seal_new)
    # Log-interpolated: bypass flow through a wearing lip grows geometrically rather than linearly.
    tau = tau_new * (SEAL_DWELL_TAU_WORN_S / tau_new) ** s[FaultMode.SEAL_WEAR]
    c_seal = contact_volume / (params.bulk_modulus_pa * tau)
    lag = s[FaultMode.VALVE_LAG]
    return Condition(
        severities=s,
        c_pump=c_pump,
        c_seal=c_seal,
        cooler_effectiveness=params.cooler_effectiveness_new
        * (1.0 - COOLER_EFFECTIVENESS_LOSS * s[FaultMode.COOLER_FOULING]),
        valve_tau_s=params.valve_tau_s * (1.0 + VALVE_TAU_GAIN * lag),
        valve_dead_s=params.valve_dead_s + VALVE_DEAD_GAIN_S * lag,
        decompression_tau_s=params.decompression_tau_s * (1.0 + 2.0 * lag),
        die_factor=1.0 + DIE_FORCE_GAIN * s[FaultMode.DIE_WEAR],
        pump_drag=1.0 + PUMP_DRAG_GAIN * s[FaultMode.PUMP_LEAK],
    )


def severities_at(
    faults: Sequence[FaultSpec], hours: float, life_scale: float = 1.0
) -> dict[FaultMode, float]:
    """Severity of every mode after ``hours``; two specs of the same mode keep the worse one."""
    out: dict[FaultMode, float] = {}
    for spec in faults:
        out[spec.mode] = max(out.get(spec.mode, 0.0), spec.severity(hours, life_scale))
    return out


# --- scenarios -------------------------------------------------------------------------------------------

# What the example plant shows: two healthy references and four different faults, already advanced so a
# ×60 demo shows their signatures within minutes, progressing further over a working day.
_EXAMPLE_DEFAULT: dict[str, tuple[FaultSpec, ...]] = {
    "P01": (),
    "P02": (FaultSpec(FaultMode.PUMP_LEAK, start=0.55, life_h=40.0),),
    "P03": (FaultSpec(FaultMode.SEAL_WEAR, start=0.5, life_h=40.0),),
    "P04": (FaultSpec(FaultMode.COOLER_FOULING, start=0.6, life_h=60.0),),
    "P05": (),
    "P06": (
        FaultSpec(FaultMode.DIE_WEAR, start=0.25, life_h=40.0),
        FaultSpec(FaultMode.VALVE_LAG, start=0.2),
    ),
}
# For any other plant: the same pattern by machine order.
_PATTERN: tuple[tuple[FaultSpec, ...], ...] = tuple(_EXAMPLE_DEFAULT.values())


def default_scenario(plant: Plant | None = None) -> Scenario:
    """Healthy presses next to presses developing different faults.

    For the example plant (P01…P06): P01 and P05 healthy, P02 pump leak, P03 seal wear, P04 cooler fouling,
    P06 die wear plus a little valve lag. Other plants get the same pattern by machine order.
    """
    if plant is None:
        return Scenario(dict(_EXAMPLE_DEFAULT))
    ids = [m.id for m in plant.machines]
    if set(_EXAMPLE_DEFAULT) <= set(ids):
        return Scenario({m: _EXAMPLE_DEFAULT.get(m, ()) for m in ids})
    return Scenario({m: _PATTERN[i % len(_PATTERN)] for i, m in enumerate(ids)})


_ENTRY = re.compile(r"^(?P<machine>[^=\s]+)\s*=\s*(?P<specs>.+)$")
_SPEC = re.compile(r"^(?P<mode>[a-z_]+)(?::(?P<start>[0-9.]+))?(?:@(?P<life>[0-9.]+)h?)?$")
_HEALTHY_WORDS = {"healthy", "none"}
_MODE_NAMES = {m.value for m in FaultMode}


def parse_scenario(text: str, plant: Plant | None = None) -> Scenario:
    """Read a scenario string (grammar in the module docstring); :class:`ConfigError` says what is wrong."""
    allowed_modes = ", ".join(m.value for m in FaultMode)
    faults: dict[str, tuple[FaultSpec, ...]] = {}
    entries = [e.strip() for e in text.split(",") if e.strip()]
    for i, entry in enumerate(entries):
        if entry.lower() == "default":
            faults.update(default_scenario(plant).faults)
            continue
        if entry.lower() in _HEALTHY_WORDS:
            faults = {m.id: () for m in plant.machines} if plant is not None else {}
            continue
        match = _ENTRY.match(entry)
        if match is None:
            raise ConfigError(
                f"fault scenario entry {i + 1} {entry!r}: expected MACHINE=MODE[:START][@LIFEh], "
                f"'default' or 'healthy'",
                value=entry,
            )
        machine = match["machine"]
        if plant is not None and not plant.has_machine(machine):
            known = ", ".join(m.id for m in plant.machines)
            raise ConfigError(
                f"fault scenario {entry!r}: unknown machine {machine!r}; known: {known}", value=entry
            )
        specs: list[FaultSpec] = []
        for raw in match["specs"].split("+"):
            part = raw.strip()
            if part.lower() in _HEALTHY_WORDS:
                continue
            found = _SPEC.match(part)
            if found is None or found["mode"] not in _MODE_NAMES:
                raise ConfigError(
                    f"fault scenario {entry!r}: {part!r} is not MODE[:START][@LIFEh]; modes: {allowed_modes}",
                    value=entry,
                )
            try:
                specs.append(
                    FaultSpec(
                        FaultMode(found["mode"]),
                        start=float(found["start"]) if found["start"] else 0.0,
                        life_h=float(found["life"]) if found["life"] else DEFAULT_LIFE_H,
                    )
                )
            except ValueError as err:
                raise ConfigError(f"fault scenario {entry!r}: {err}", value=entry) from err
        faults[machine] = tuple(specs)
    return Scenario(faults)
