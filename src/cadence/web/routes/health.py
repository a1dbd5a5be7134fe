"""Liveness and what the process is doing: store, ingest counters, alarms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

import cadence
from cadence.web.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(runtime: RuntimeDep) -> dict[str, Any]:
    """Up and able to read its store; with the ingest counters and the store's size."""
    stats = runtime.store.stats()
    return {
        "ok": True,
        "status": "ok",
        "version": cadence.__version__,
        "plant": runtime.plant.site.id,
        "machines": len(runtime.plant.machines),
        "store": {
            "points": stats.points,
            "strokes": stats.strokes,
            "states": stats.states,
            "batches": stats.batches,
            "quarantined": stats.quarantined,
            "bytes_on_disk": stats.bytes_on_disk,
            "bytes_per_point": None if stats.points == 0 else round(stats.bytes_per_point, 3),
        },
        "ingest": runtime.stats.snapshot(),
        "alarms": len(runtime.store.alarms(limit=1000)),
    }
