"""Entry-point groups: how Cadence finds its extensions, built-in ones included.

Built-in backends register in ``pyproject.toml`` exactly as a third-party package would, so the contract
suites (``tests/contracts/``) find and check them the same way.

>>> "sqlite" in discover_stores()
True
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

logger = logging.getLogger(__name__)

STORES_GROUP = "cadence.stores"


def discover(group: str) -> dict[str, type]:
    """Every class registered in an entry-point group, by entry-point name (sorted)."""
    found: dict[str, type] = {}
    for entry in sorted(entry_points(group=group), key=lambda e: e.name):
        obj = entry.load()
        if not isinstance(obj, type):
            raise TypeError(f"entry point {entry.name!r} of {group} is {obj!r}, not a class")
        found[entry.name] = obj
    return found


def discover_stores() -> dict[str, type]:
    """Store backends (implementations of :class:`cadence.ports.TimeSeriesStore`) by name."""
    return discover(STORES_GROUP)
