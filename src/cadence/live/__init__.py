"""Live data for the tablets: committed batches → per-machine snapshots → coalescing subscriptions.

See :class:`LiveHub` (fed by the ingest pipeline) and :class:`Subscription` (read by the SSE route).
"""

from cadence.live.hub import VALUES_INTERVAL_S, LiveHub, ShiftStartProvider
from cadence.live.shifts import plant_shift_start
from cadence.live.subscription import LiveEvent, Subscription

__all__ = [
    "VALUES_INTERVAL_S",
    "LiveEvent",
    "LiveHub",
    "ShiftStartProvider",
    "Subscription",
    "plant_shift_start",
]
