"""The subsystems of a hydraulic press whose health Cadence follows, and the features that show their wear.

Each subsystem lists the per-stroke features that move when it wears (docs/domain.md §1.5), with the
direction that means "worse" and the change at which the press stops doing its job (functional failure).
A subsystem's degradation level is the largest of its features' changes measured in those units, so
0 is the press as it was when its baseline was learned and 1 is functional failure.

The failure changes are defaults from press physics, the PLC's monitors and the quality windows of the
parts (a build-up a quarter longer runs into the pressing time-out; dwell pressure 10 % low makes scrap;
force 10 % high trips the tonnage monitor; oil at 70 °C trips the press): a plant can tighten them,
never needs to loosen them to get useful warnings.

>>> pump = SUBSYSTEMS["pump"]
>>> [w.feature for w in pump.watches][:2]
['buildup_time_s', 'approach_speed_mm_s']
>>> pump.watches[1].direction   # slower approach is worse
-1
>>> sorted(SUBSYSTEMS)
['accumulator', 'cooler', 'pump', 'tooling', 'valves_seals']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal[-1, 1]
Scale = Literal["relative", "absolute"]

# Derived by the monitor from the slow signals, not sent by the press: oil temperature above what the
# press's own load explains (cadence.analytics.health.thermal).
OIL_EXCESS = "oil_excess_c"


@dataclass(frozen=True, slots=True)
class Watch:
    """One feature watched for one subsystem.

    ``failure`` is the change at functional failure: a share of the baseline value when ``scale`` is
    "relative" (0.5 = +50 %), or a change in the feature's own unit when "absolute" (°C, bar/s).
    """

    feature: str
    direction: Direction
    failure: float
    scale: Scale = "relative"
    slow: bool = False  # smoothed over many more strokes: the feature also follows each heat of material
    # Followed per operating point (part and die), against its own heat-to-heat scatter: the wear belongs
    # to one die, and the feature moves only where the controller leaves it free (force on a part formed
    # to a position, bottom dead centre on a part formed to a pressure), so pooling the press's operating
    # points would dilute it with the ones that cannot show it.
    per_die: bool = False
    # Its line against oil temperature is the press's, whatever the part program (read with the pump
    # unloaded: the oil's viscosity on the pump), so an operating point learned on steady warm oil, too
    # narrow a range to see a slope, takes the one the press's other operating points learned.
    press_slope: bool = False

    def __post_init__(self) -> None:
        if not self.failure > 0:
            raise ValueError(f"{self.feature}: the failure change must be > 0")


@dataclass(frozen=True, slots=True)
class Subsystem:
    name: str
    label_fr: str
    label_en: str
    watches: tuple[Watch, ...]
    alert_level: float | None = None  # its own alert threshold (share of failure); None: the plant's
    alert_evidence: float | None = None  # its own evidence threshold; None: the plant's

    def features(self) -> tuple[str, ...]:
        return tuple(w.feature for w in self.watches)


SUBSYSTEMS: dict[str, Subsystem] = {
    s.name: s
    for s in (
        Subsystem(
            "pump",
            "pompe",
            "pump",
            (
                # Internal leakage: the pump fills the cylinder slower. Presses watch the pressing time and
                # call "pressure not reached" a little over the taught time (+20 % and 0.1 s is common),
                # so a build-up a quarter longer already makes scrap.
                Watch("buildup_time_s", 1, 0.25),
                Watch("approach_speed_mm_s", -1, 0.35),
                Watch("stroke_time_s", 1, 0.25),
                Watch("energy_kj", 1, 0.30),
                Watch("peak_pressure_bar", -1, 0.05),  # 95 % of taught is the "pressure not reached" scrap
                # Mechanical wear (scored pistons and valve plate, worn bearings) makes the unloaded pump
                # drag more. No monitor or tolerance bounds it, so its failure change is where it stands
                # when the leak has made the build-up a quarter longer (the failure above): ≈ +12 % with
                # the simulator's wear law (cadence.simulator.faults). Its line against oil temperature
                # matters: cold oil alone adds ≈ 0.6 %/K.
                Watch("idle_power_kw", 1, 0.12, press_slope=True),
            ),
        ),
        Subsystem(
            "valves_seals",
            "distributeurs et joints",
            "valves and seals",
            (
                Watch("dwell_pressure_bar", -1, 0.10),  # dwell pressure under 90 % of taught makes scrap
                # A lagging valve shuts the pressing off late: the pressure overshoots its set point in
                # proportion to the lag, and a part formed to a pressure has only its tonnage window
                # (108 % of taught) and its drawing tolerance to absorb it. A response half as slow again
                # uses them up (the simulator's lagging valves make overload and dimension scrap at
                # +50-57 % of command lag), not a doubled one.
                Watch("decompression_time_s", 1, 0.5),
                Watch("command_lag_s", 1, 0.5),
                Watch("dwell_decay_bar_s", 1, 20.0, "absolute"),
            ),
        ),
        Subsystem(
            "cooler",
            "refroidisseur",
            "cooler",
            (Watch(OIL_EXCESS, 1, 15.0, "absolute"),),  # replaced by the trip margin when it is known
            # Oil at equal load is read to a few tenths of a degree, and a fouling cooler loses its last
            # capacity fastest (the temperature rise grows as 1 / effectiveness): alert at a tenth of the
            # way to the trip, a couple of degrees, not a fifth.
            alert_level=0.1,
        ),
        Subsystem(
            "accumulator",
            "accumulateur",
            "accumulator",
            (Watch("accumulator_precharge_bar", -1, 0.30),),  # only on presses that report it
        ),
        Subsystem(
            "tooling",
            "outillage",
            "tooling",
            (
                # A worn die needs more force, as a harder heat of material does: only smoothing over many
                # heats tells the slow wear from the heat-to-heat scatter. The failure changes are the
                # quality window's; the monitor narrows them by each part's own scatter (a part whose heats
                # spread widely makes scrap long before its mean reaches the limit).
                Watch("peak_force_kn", 1, 0.10, slow=True, per_die=True),  # tonnage monitors trip at 110 %
                Watch("bdc_position_mm", -1, 0.25, "absolute", slow=True, per_die=True),  # drawing tolerance
            ),
            # Its evidence is in units of a noise modelled from the part's own heats (within-heat and
            # heat-to-heat scatter, the reference's own error), not of a healthy wander that also holds
            # warm-ups and part changes: a few of those noises are already rare.
            alert_evidence=4.0,
        ),
    )
}


def watched_features() -> tuple[str, ...]:
    """Every feature some subsystem watches, once, in a stable order."""
    seen: dict[str, None] = {}
    for subsystem in SUBSYSTEMS.values():
        for watch in subsystem.watches:
            seen.setdefault(watch.feature, None)
    return tuple(seen)
