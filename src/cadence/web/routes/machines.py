"""Machines, their latest values, strokes, states and signal series; alarms and quarantine."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from cadence.auth import Permission, User, require
from cadence.services.alarms import alarm_json
from cadence.services.plant_data import iso, series_json, state_json, stroke_json
from cadence.services.timerange import parse_instant
from cadence.web.deps import AlarmServiceDep, PlantDataDep, RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["machines"])

Start = Annotated[str, Query(description="ISO 8601 with zone, µs since 1970, 'now' or an offset like -15m")]
End = Annotated[str, Query(description="Same forms as start")]


@router.get("/machines")
def list_machines(runtime: RuntimeDep) -> dict[str, Any]:
    """Every machine of the plant with its line, current state and what the store holds."""
    plant = runtime.plant
    lines = {ln.id: ln for ln in plant.lines}
    out = []
    for s in runtime.data.summaries(runtime.clock.now_us()):
        m = s.machine
        out.append(
            {
                "id": m.id,
                "name": m.name,
                "line": m.line,
                "line_name": lines[m.line].name,
                "kind": m.kind,
                "tonnage_t": m.tonnage_t,
                "target_cycle_s": m.target_cycle_s,
                "state": None if s.state is None else state_json(s.state),
                "strokes": s.strokes,
                "points": s.points,
                "last_data": iso(s.last_us),
                "signals": [
                    {
                        "name": sig.name,
                        "unit": sig.unit,
                        "sampling_hz": sig.sampling_hz,
                        "kind": sig.kind.value,
                    }
                    for sig in m.signals
                ],
            }
        )
    return {"ok": True, "site": {"id": plant.site.id, "name": plant.site.name}, "machines": out}


@router.get("/latest")
def latest_all(data: PlantDataDep) -> dict[str, Any]:
    """The last value of every signal of every machine."""
    return {"ok": True, "values": [_latest(v) for v in data.latest()]}


@router.get("/machines/{machine_id}/latest")
def latest_of_machine(machine_id: str, data: PlantDataDep) -> dict[str, Any]:
    """The last value of each signal of one machine."""
    return {"ok": True, "values": [_latest(v) for v in data.latest(machine_id)]}


@router.get("/machines/{machine_id}/series/{signal}")
def series(
    machine_id: str,
    signal: str,
    runtime: RuntimeDep,
    start: Start = "-5m",
    end: End = "now",
    resolution: Annotated[str, Query(pattern="^(auto|raw|1m|1h)$")] = "auto",
) -> dict[str, Any]:
    """A signal over a time range: raw samples, or 1-minute / 1-hour rollups (mean, min, max, count)."""
    now = runtime.clock.now_us()
    data = runtime.data.series(
        machine_id, signal, parse_instant(start, now), parse_instant(end, now) + 1, resolution
    )
    unit = runtime.plant.machine(machine_id).signal(signal).unit
    return {"ok": True, **series_json(data, unit)}


@router.get("/machines/{machine_id}/strokes")
def strokes(
    machine_id: str,
    runtime: RuntimeDep,
    start: Start = "-1h",
    end: End = "now",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    waveform: bool = False,
) -> dict[str, Any]:
    """Stroke records (newest first) with their features, traceability keys and optional curves."""
    now = runtime.clock.now_us()
    found = runtime.data.strokes(
        machine_id, parse_instant(start, now), parse_instant(end, now) + 1, limit, with_waveform=waveform
    )
    return {"ok": True, "strokes": [stroke_json(s) for s in found]}


@router.get("/machines/{machine_id}/states")
def states(machine_id: str, runtime: RuntimeDep, start: Start = "-8h", end: End = "now") -> dict[str, Any]:
    """State changes in the range, oldest first."""
    now = runtime.clock.now_us()
    found = runtime.data.states(machine_id, parse_instant(start, now), parse_instant(end, now) + 1)
    return {"ok": True, "states": [state_json(s) for s in found]}


@router.get("/alarms")
def alarms(
    service: AlarmServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    active: Annotated[bool | None, Query(description="true: not cleared yet; false: cleared")] = None,
    unacknowledged: Annotated[bool | None, Query(description="true: nobody acknowledged it yet")] = None,
    machine: Annotated[str | None, Query(description="only this machine's alarms")] = None,
) -> dict[str, Any]:
    """Alarms (e.g. the broker dropping messages) with their acknowledgement and clearing, newest first."""
    found = service.history(limit, active=active, unacknowledged=unacknowledged, machine=machine)
    return {"ok": True, "alarms": [alarm_json(a) for a in found]}


@router.post("/alarms/{alarm_id}/ack")
def acknowledge_alarm(
    alarm_id: int, service: AlarmServiceDep, user: Annotated[User, require(Permission.ACKNOWLEDGE_ALARM)]
) -> dict[str, Any]:
    """Acknowledge an alarm as the current user; acknowledging again keeps the first acknowledgement."""
    return {"ok": True, "alarm": alarm_json(service.acknowledge(alarm_id, user.name))}


@router.get("/quarantine", dependencies=[require(Permission.VIEW_QUARANTINE)])
def quarantine(runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Refused messages with the reason they were refused (payloads truncated to 2 kB here)."""
    return {
        "ok": True,
        "items": [
            {
                "id": q.id,
                "received": iso(q.received_us),
                "channel": q.channel,
                "code": q.code,
                "reason": q.reason,
                "size": q.size,
                "payload": q.payload[:2048].decode("utf-8", errors="replace"),
            }
            for q in runtime.store.quarantined(limit=limit)
        ],
    }


def _latest(v: Any) -> dict[str, Any]:
    return {
        "machine": v.machine,
        "signal": v.signal,
        "ts_us": v.ts_us,
        "ts": iso(v.ts_us),
        "value": v.value,
        "unit": v.unit,
    }
