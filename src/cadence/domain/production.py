"""Production orders, lots and serial numbers: the genealogy keys strokes are linked to.

>>> order = ProductionOrder("OF-1001", part_number="BRK-220", quantity=500, die="D-17")
>>> lot = Lot("L-1001-01", order="OF-1001", material_lot="HEAT-55120")
>>> lot.material_lot
'HEAT-55120'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProductionOrder:
    """An order to make ``quantity`` parts ``part_number`` with ``die``."""

    id: str
    part_number: str
    quantity: int
    die: str | None = None
    target_cycle_s: float | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"order {self.id}: quantity must be > 0")


@dataclass(frozen=True, slots=True)
class Lot:
    """A production lot of an order, made from one material lot (heat number, EN 10204 3.1 certificate)."""

    id: str
    order: str
    material_lot: str | None = None


def serial_number(machine: str, stroke_n: int) -> str:
    """The serial Cadence gives a part when the press has no marking of its own.

    >>> serial_number("P01", 42)
    'P01-00000042'
    """
    return f"{machine}-{stroke_n:08d}"
