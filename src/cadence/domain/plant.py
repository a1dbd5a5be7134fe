"""The plant hierarchy, ISA-95 style: site → area → line → machine, each machine with its signals.

>>> from cadence.domain.signals import SignalSpec
>>> temp = SignalSpec("oil_temp", unit="°C", sampling_hz=1, resolution=0.1)
>>> press = Machine("P01", name="Presse 1", line="L1", signals=(temp,))
>>> plant = Plant(Site("lyon", "Usine de Lyon"), areas=(Area("A1", "Presses"),),
...               lines=(Line("L1", "Ligne 1", area="A1"),), machines=(press,))
>>> plant.machine("P01").signal("oil_temp").unit
'°C'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cadence.domain.shifts import ShiftPattern
from cadence.domain.signals import SignalSpec
from cadence.domain.states import DEFAULT_REASONS, ReasonCode


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    timezone: str = "Europe/Paris"


@dataclass(frozen=True, slots=True)
class Area:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Line:
    id: str
    name: str
    area: str


@dataclass(frozen=True, slots=True)
class Machine:
    """A machine (a press) with the signals it produces and what it is expected to do."""

    id: str
    name: str
    line: str
    signals: tuple[SignalSpec, ...] = ()
    kind: str = "hydraulic_press"
    tonnage_t: float | None = None
    target_cycle_s: float | None = None

    def signal(self, name: str) -> SignalSpec:
        for spec in self.signals:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def signal_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.signals)


@dataclass(frozen=True, slots=True)
class Plant:
    """A whole plant. Identifiers are unique per level; references between levels are checked."""

    site: Site
    areas: tuple[Area, ...] = ()
    lines: tuple[Line, ...] = ()
    machines: tuple[Machine, ...] = ()
    shifts: tuple[ShiftPattern, ...] = ()
    # The reason tree operators pick from (the defaults unless the plant file adds its own).
    reasons: tuple[ReasonCode, ...] = DEFAULT_REASONS
    _index: dict[str, Machine] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for level, items in (("area", self.areas), ("line", self.lines), ("machine", self.machines)):
            ids = [item.id for item in items]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"duplicate {level} id(s): {', '.join(duplicates)}")
        area_ids = {a.id for a in self.areas}
        for line in self.lines:
            if line.area not in area_ids:
                raise ValueError(f"line {line.id} refers to unknown area {line.area!r}")
        line_ids = {ln.id for ln in self.lines}
        for machine in self.machines:
            if machine.line not in line_ids:
                raise ValueError(f"machine {machine.id} refers to unknown line {machine.line!r}")
            names = machine.signal_names
            if len(set(names)) != len(names):
                raise ValueError(f"machine {machine.id} declares a signal twice")
        self._index.update({m.id: m for m in self.machines})

    def machine(self, machine_id: str) -> Machine:
        """The machine with this id; ``KeyError`` if there is none."""
        return self._index[machine_id]

    def has_machine(self, machine_id: str) -> bool:
        return machine_id in self._index

    def machines_of_line(self, line_id: str) -> tuple[Machine, ...]:
        return tuple(m for m in self.machines if m.line == line_id)
