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
                Watch("idle_power_kw", 1, 0.12),
            ),
        ),
        Subsystem(
            "valves_seals",
            "distributeurs et joints",
            "valves and seals",
            (
                Watch("dwell_pressure_bar", -1, 0.10),  # dwell pressure under 90 % of taught makes scrap
                Watch("decompression_time_s", 1, 1.0),
                Watch("command_lag_s", 1, 1.0),
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
                # heats tells the slow wear from the heat-to-heat scatter.
                Watch("peak_force_kn", 1, 0.10, slow=True),  # tonnage monitors trip at 110 %
                Watch("bdc_position_mm", -1, 0.25, "absolute", slow=True),  # the drawing tolerance
            ),
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
