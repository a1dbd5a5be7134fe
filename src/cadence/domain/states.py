"""Machine states and the reasons given for them.

A machine reports state *changes*; a state lasts until the next change. Reasons are codes from a
configurable tree (``breakdown.hydraulic``, ``setup.die_change``…); a stop without a reason stays
``None`` until someone qualifies it.

>>> change = StateChange(ts_us=0, state=MachineState.DOWN, reason="breakdown.hydraulic")
>>> change.state.is_stop, MachineState.RUNNING.is_stop
(True, False)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class MachineState(enum.StrEnum):
    """What a machine is doing, as reported by its controller or gateway."""

    RUNNING = "running"  # making strokes
    IDLE = "idle"  # ready, waiting (operator loading, no part, micro-stop)
    DOWN = "down"  # unplanned stop: breakdown, fault, alarm
    SETUP = "setup"  # changeover, die change, adjustment
    PLANNED_STOP = "planned_stop"  # break, planned maintenance, no shift
    OFFLINE = "offline"  # no data: gateway or network lost

    @property
    def is_stop(self) -> bool:
        """True for states in which no good part can be made."""
        return self is not MachineState.RUNNING


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """One node of the reason tree, with its labels in French and English."""

    code: str
    label_fr: str
    label_en: str
    state: MachineState

    @property
    def category(self) -> str:
        """The first level of the dotted code (``breakdown`` for ``breakdown.hydraulic``)."""
        return self.code.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class StateChange:
    """From ``ts_us`` on, the machine is in ``state`` (for ``reason``, when known)."""

    ts_us: int
    state: MachineState
    reason: str | None = None


DEFAULT_REASONS: tuple[ReasonCode, ...] = (
    ReasonCode("microstop", "Micro-arrêt", "Micro-stop", MachineState.IDLE),
    ReasonCode("waiting.operator", "Attente opérateur", "Waiting for operator", MachineState.IDLE),
    ReasonCode("waiting.material", "Attente matière", "Waiting for material", MachineState.IDLE),
    # Available, nothing to make: no order (ADOT), not a loss of the press (docs/guides/kpis.md).
    ReasonCode("waiting.order", "Attente OF", "No order", MachineState.IDLE),
    ReasonCode("breakdown.hydraulic", "Panne hydraulique", "Hydraulic breakdown", MachineState.DOWN),
    ReasonCode("breakdown.electrical", "Panne électrique", "Electrical breakdown", MachineState.DOWN),
    ReasonCode("breakdown.die", "Panne outil", "Die breakdown", MachineState.DOWN),
    ReasonCode("fault.overtemperature", "Surchauffe huile", "Oil over-temperature", MachineState.DOWN),
    ReasonCode("setup.die_change", "Changement d'outil", "Die change", MachineState.SETUP),
    ReasonCode("setup.adjustment", "Réglage", "Adjustment", MachineState.SETUP),
    ReasonCode("planned.break", "Pause", "Break", MachineState.PLANNED_STOP),
    ReasonCode(
        "planned.maintenance", "Maintenance préventive", "Planned maintenance", MachineState.PLANNED_STOP
    ),
)


def reason_tree(extra: Iterable[ReasonCode] = ()) -> tuple[ReasonCode, ...]:
    """The default tree with a plant's own reasons: one with a default's code replaces it (new labels, or
    another state), the others are added after the defaults, in the order given.

    >>> punch = ReasonCode("breakdown.die", "Casse poinçon", "Punch broken", MachineState.DOWN)
    >>> crane = ReasonCode("waiting.crane", "Attente pont", "Waiting for crane", MachineState.IDLE)
    >>> tree = reason_tree([punch, crane])
    >>> [r.code for r in tree][-2:], next(r.label_fr for r in tree if r.code == "breakdown.die")
    (['planned.maintenance', 'waiting.crane'], 'Casse poinçon')
    """
    own = {r.code: r for r in extra}
    merged = [own.pop(r.code, r) for r in DEFAULT_REASONS]
    return (*merged, *own.values())
