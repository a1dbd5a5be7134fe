"""The reset point of the live good/scrap counts: the start of the plant's current shift."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from cadence.clock import from_datetime
from cadence.domain.plant import Plant
from cadence.domain.shifts import current_shift
from cadence.live.hub import ShiftStartProvider
from cadence.ports import Clock

logger = logging.getLogger(__name__)


def plant_shift_start(plant: Plant, clock: Clock) -> ShiftStartProvider:
    """A provider of the current shift's start (µs) on ``clock``, in the plant's time zone.

    Outside every shift (a weekend without shifts) it returns None, and the hub then keeps counting.
    """
    zone = ZoneInfo(plant.site.timezone)

    def shift_start_us() -> int | None:
        shift = current_shift(plant.shifts, clock.now().astimezone(zone))
        return None if shift is None else from_datetime(shift.start)

    return shift_start_us
