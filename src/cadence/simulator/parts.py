"""Parts, their dies and recipes, and the good-part rule that turns process values into good or scrap.

Each press gets a small catalogue of parts. A part's recipe is *taught* on the new press (one stroke
without noise, as a setter would on commissioning); the taught curve gives the PLC's pressing time-out
and the quality window of docs/domain.md §1.4:

* peak pressure below 95 % of taught → ``underformed`` (pressure not reached: leaking pump or seals);
* peak force above 108 % (pressure stop) / 110 % (position stop) of taught → ``overload``
  (overshoot from a lagging valve, worn die, hard material);
* bottom dead centre outside taught ± tolerance → ``dimension`` (material lot, die wear, valve lag);
  the tolerance is the drawing's ±0.25 mm, widened where the part would not be capable with it (below);
* dwell pressure below 90 % of taught → ``dwell_pressure`` (seal bypass);
* otherwise a rare random surface defect (``surface``, default 0.2 %), the only coin flip.

So scrap follows the physics: it rises when a fault moves the process out of its window.

**Only capable parts go into serial production.** A part formed to a pressure finds its own bottom dead
centre, so every heat of material moves it: on a stiff part by a few hundredths of a millimetre, on a
deep soft one by nearly 0.1 mm per standard deviation of the heats' strength. A part whose heats alone
put a few percent of it out of ±0.25 mm would not pass its production part approval (automotive practice
asks Cpk ≥ 1.33, domain.md §3.4): its drawing would get a tolerance it can hold. Teaching therefore also
strokes the recipe at one standard deviation of material either side and gives the formed height at
least ``CAPABLE_SIGMAS`` of those deviations, so that only a fault (a worn die, a lagging valve), not a
hard heat on a healthy press, makes dimension scrap.

>>> import numpy as np
>>> from cadence.simulator.params import press_params
>>> params = press_params("P01", 100, np.random.default_rng(0))
>>> parts = make_parts(params, np.random.default_rng(0))
>>> len(parts), parts[0].die
(3, 'D-P01-1')
>>> judge(parts[0].reference, parts[0].window)
(True, None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from cadence.analytics.stroke_features import stroke_features
from cadence.simulator.faults import healthy_condition
from cadence.simulator.params import LEAK_REF_C, PressParams
from cadence.simulator.press import Phase, Recipe, StopMode, StrokeCurves, StrokeSensors, simulate_stroke

TIMEOUT_FACTOR = 1.2  # PLC pressing time-out: 20 % over the taught pressing time...
TIMEOUT_MARGIN_S = 0.1  # ...plus 0.1 s: a tight "pressure not reached" monitor
UNDERFORMED_SHARE = 0.95
OVERLOAD_SHARE = {StopMode.PRESSURE: 1.08, StopMode.POSITION: 1.10}  # tonnage monitors: 110-115 % alarms
BDC_TOLERANCE_MM = 0.25  # drawing tolerance on the formed height (domain.md: ±0.02-0.1 mm on precise parts)
CAPABLE_SIGMAS = 4.0  # tolerance / material-driven σ of the formed height: Cpk 1.33 on a centred process
WITHIN_LOT_MATERIAL_SD = 0.005  # blank-to-blank strength scatter inside one heat
LOT_MATERIAL_SD = 0.015  # heat-to-heat strength scatter (EN 10204 3.1 certificates show a few %)
MATERIAL_SD = math.hypot(LOT_MATERIAL_SD, WITHIN_LOT_MATERIAL_SD)  # one blank's strength, all heats together
DWELL_SHARE = 0.90
SURFACE_DEFECT_RATE = 0.002  # handling marks, scratches: the only scrap not caused by the process values

_PREFIXES = ("BRK", "FLG", "SUP", "CAP", "BSH", "PLT", "HSG", "CLP")


@dataclass(frozen=True, slots=True)
class QualityWindow:
    """The process window of a part; features outside it make scrap."""

    peak_pressure_min_bar: float
    peak_force_max_kn: float
    bdc_min_mm: float
    bdc_max_mm: float
    dwell_pressure_min_bar: float


@dataclass(frozen=True, slots=True)
class PartSpec:
    """A part number made on a press with a die, its taught recipe and its quality window."""

    part_number: str
    die: str
    recipe: Recipe
    window: QualityWindow
    reference: Mapping[str, float] = field(default_factory=dict)


def teach(
    params: PressParams,
    part_number: str,
    die: str,
    recipe: Recipe,
    *,
    dt_us: int = 2000,
    sensors: StrokeSensors | None = None,
) -> PartSpec:
    """Teach ``recipe`` on the new press: one noiseless stroke sets the time-out and the quality window.

    The stroke is read through the press's own ``sensors`` (range and resolution), as a setter would see it.
    Two more strokes, on material one standard deviation softer and harder, size the tolerance on the
    formed height so that the part is capable (module docstring).
    """

    def stroke(material: float) -> StrokeCurves:
        return simulate_stroke(
            params,
            healthy_condition(params),
            recipe,
            material=material,
            oil_temp_c=LEAK_REF_C,
            dt_us=dt_us,
            sensors=sensors,
        )

    curves = stroke(1.0)
    pressing = curves.phase_slice(Phase.PRESSING)
    pressing_s = (pressing.stop - pressing.start) * dt_us / 1e6
    taught = replace(recipe, timeout_s=TIMEOUT_FACTOR * pressing_s + TIMEOUT_MARGIN_S)
    ref = stroke_features(curves, oil_temp_c=LEAK_REF_C, gap_s=0.0)
    soft, hard = (
        stroke_features(stroke(1.0 + sign * MATERIAL_SD), oil_temp_c=LEAK_REF_C, gap_s=0.0)["bdc_position_mm"]
        for sign in (-1, 1)
    )
    tolerance = max(BDC_TOLERANCE_MM, CAPABLE_SIGMAS * abs(hard - soft) / 2)
    window = QualityWindow(
        peak_pressure_min_bar=UNDERFORMED_SHARE * ref["peak_pressure_bar"],
        peak_force_max_kn=OVERLOAD_SHARE[recipe.stop] * ref["peak_force_kn"],
        bdc_min_mm=ref["bdc_position_mm"] - tolerance,
        bdc_max_mm=ref["bdc_position_mm"] + tolerance,
        dwell_pressure_min_bar=DWELL_SHARE * ref["dwell_pressure_bar"],
    )
    return PartSpec(part_number, die, taught, window, ref)


def make_parts(
    params: PressParams,
    rng: np.random.Generator,
    count: int = 3,
    *,
    dt_us: int = 2000,
    sensors: StrokeSensors | None = None,
) -> tuple[PartSpec, ...]:
    """A seeded catalogue of ``count`` parts for this press, alternating pressure and position stops."""
    parts: list[PartSpec] = []
    for k in range(count):
        recipe = Recipe.for_force(
            params,
            force_share=float(rng.uniform(0.62, 0.88)),
            depth_m=float(rng.uniform(0.005, 0.012)),
            exponent=float(rng.uniform(1.8, 2.6)),
            dwell_s=float(rng.uniform(0.4, 1.2)),
            stop=StopMode.PRESSURE if k % 2 == 0 else StopMode.POSITION,
            contact_offset_m=float(rng.uniform(0.0, 0.03)),
        )
        number = f"{_PREFIXES[int(rng.integers(len(_PREFIXES)))]}-{int(rng.integers(100, 1000))}"
        if any(p.part_number == number for p in parts):
            number = f"{number}-{k + 1}"  # part numbers are unique on a press
        parts.append(
            teach(params, number, f"D-{params.machine}-{k + 1}", recipe, dt_us=dt_us, sensors=sensors)
        )
    return tuple(parts)


def judge(
    features: Mapping[str, float],
    window: QualityWindow,
    rng: np.random.Generator | None = None,
    defect_rate: float = SURFACE_DEFECT_RATE,
) -> tuple[bool, str | None]:
    """``(good, scrap_reason)`` of a stroke from its features; ``rng`` draws the rare surface defect."""
    # Drawn first, whatever the outcome, so that faulty and healthy runs share their random numbers.
    defect = rng is not None and rng.random() < defect_rate
    if features["peak_pressure_bar"] < window.peak_pressure_min_bar:
        return False, "underformed"
    if features["peak_force_kn"] > window.peak_force_max_kn:
        return False, "overload"
    if not window.bdc_min_mm <= features["bdc_position_mm"] <= window.bdc_max_mm:
        return False, "dimension"
    if features["dwell_pressure_bar"] < window.dwell_pressure_min_bar:
        return False, "dwell_pressure"
    if defect:
        return False, "surface"
    return True, None
