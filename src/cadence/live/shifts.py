"""The reset point of the live good/scrap counts: the start of the plant's current shift."""

from __future__ import annotations

import logging

from cadence.domain.plant import Plant
from cadence.live.hub import ShiftStartProvider
from cadence.ports import Clock
from cadence.services.overview import shift_window

logger = logging.getLogger(__name__)


def plant_shift_start(plant: Plant, clock: Clock) -> ShiftStartProvider:
    """A provider of the counting period's start (µs) on ``clock``: the current shift's start, or local
    midnight outside the shift calendar — the same window the overview page renders (services.overview).
    """

    def shift_start_us() -> int | None:
        return shift_window(plant, clock.now_us()).start_us

    return shift_start_us
