"""The operator flows of the tablet as JSON: stop reasons, scrap, orders, the logbook and the reason tree.

Reads need only to see the plant (the router's permission); each write declares its own permission, so a
manager reads everything here and changes nothing. Names and times come from the session and the server's
clock (:mod:`cadence.services.operator`), never from the request body.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from cadence.auth import Permission, User, require
from cadence.domain.operator import OrderKind
from cadence.services.operator import (
    OperatorService,
    note_json,
    order_event_json,
    reason_json,
    scrap_json,
    stop_reason_json,
)
from cadence.services.timerange import parse_instant
from cadence.web.deps import get_runtime

router = APIRouter(prefix="/api/v1", tags=["operator"])

Start = Annotated[str, Query(description="ISO 8601 with zone, µs since 1970, 'now' or an offset like -8h")]
End = Annotated[str, Query(description="Same forms as start")]


def get_operator_service(request: Request) -> OperatorService:
    # Built per request: it holds nothing but the runtime's store, plant and clock.
    runtime = get_runtime(request)
    return OperatorService(
        runtime.store,
        runtime.plant,
        runtime.clock,
        on_scrap_declared=runtime.live.on_scrap_declared,
    )


ServiceDep = Annotated[OperatorService, Depends(get_operator_service)]


def _range(service: OperatorService, start: str, end: str) -> tuple[int, int]:
    now = service.now_us()
    # The end as typed is included, like the other range reads of the API.
    return parse_instant(start, now), parse_instant(end, now) + 1


# Bodies refuse unknown keys, so a misspelt field is an error rather than silently ignored. Content limits
# (quantity, lengths, codes) are the service's to check, which answers them with 422 and a clear message.
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReasonIn(_Body):
    reason: str


class ScrapIn(_Body):
    quantity: int
    cause: str


class OrderIn(_Body):
    kind: Literal["start", "end"]
    order: str | None = None
    part_number: str | None = None
    lot: str | None = None
    material_lot: str | None = None
    die: str | None = None


class NoteIn(_Body):
    text: str
    machine: str | None = None


@router.get("/reasons")
def reasons(service: ServiceDep) -> dict[str, Any]:
    """The stop-reason tree, with labels in French and English."""
    return {"ok": True, "reasons": [reason_json(r) for r in service.reasons]}


@router.post("/machines/{machine_id}/stops/{stop_start_us}/reason")
def record_stop_reason(
    machine_id: str,
    stop_start_us: int,
    body: ReasonIn,
    service: ServiceDep,
    user: Annotated[User, require(Permission.RECORD_STOP_REASON)],
) -> dict[str, Any]:
    """Give the stop that began at ``stop_start_us`` a reason; a later reason replaces it (history kept)."""
    recorded = service.record_stop_reason(machine_id, stop_start_us, body.reason, user.name)
    return {"ok": True, "stop_reason": stop_reason_json(recorded)}


@router.get("/machines/{machine_id}/stops/reasons")
def stop_reasons(
    machine_id: str,
    service: ServiceDep,
    start: Start = "-8h",
    end: End = "now",
    history: Annotated[bool, Query(description="every reason given, not only the one in force")] = False,
) -> dict[str, Any]:
    """Reasons of the stops that began in the range, by stop start."""
    lo, hi = _range(service, start, end)
    found = service.stop_reasons(machine_id, lo, hi, history=history)
    return {"ok": True, "stop_reasons": [stop_reason_json(r) for r in found]}


@router.post("/machines/{machine_id}/scrap")
def declare_scrap(
    machine_id: str,
    body: ScrapIn,
    service: ServiceDep,
    user: Annotated[User, require(Permission.DECLARE_SCRAP)],
) -> dict[str, Any]:
    """Declare parts found bad outside the press's own judgement (at inspection, say)."""
    recorded = service.declare_scrap(machine_id, body.quantity, body.cause, user.name)
    return {"ok": True, "scrap": scrap_json(recorded)}


@router.get("/machines/{machine_id}/scrap")
def scrap(machine_id: str, service: ServiceDep, start: Start = "-8h", end: End = "now") -> dict[str, Any]:
    """Scrap declared in the range, oldest first."""
    lo, hi = _range(service, start, end)
    return {"ok": True, "scrap": [scrap_json(s) for s in service.scrap(machine_id, lo, hi)]}


@router.post("/machines/{machine_id}/orders")
def order_event(
    machine_id: str,
    body: OrderIn,
    service: ServiceDep,
    user: Annotated[User, require(Permission.MANAGE_ORDERS)],
) -> dict[str, Any]:
    """Start an order (with part number, lot, material lot, die) or end the running one."""
    recorded = service.order_event(
        machine_id,
        OrderKind(body.kind),
        user.name,
        order=body.order,
        part_number=body.part_number,
        lot=body.lot,
        material_lot=body.material_lot,
        die=body.die,
    )
    return {"ok": True, "event": order_event_json(recorded)}


@router.get("/machines/{machine_id}/orders")
def orders(machine_id: str, service: ServiceDep, start: Start = "-24h", end: End = "now") -> dict[str, Any]:
    """Order starts and ends in the range, oldest first, and the order running now."""
    lo, hi = _range(service, start, end)
    running = service.current_order(machine_id)
    return {
        "ok": True,
        "current": None if running is None else order_event_json(running),
        "events": [order_event_json(e) for e in service.order_events(machine_id, lo, hi)],
    }


@router.post("/logbook")
def write_note(
    body: NoteIn, service: ServiceDep, user: Annotated[User, require(Permission.WRITE_LOGBOOK)]
) -> dict[str, Any]:
    """Write a note for the next shift, about one machine or the whole plant."""
    return {"ok": True, "note": note_json(service.write_note(body.machine, body.text, user.name))}


@router.get("/logbook")
def logbook(
    service: ServiceDep,
    start: Start = "-24h",
    end: End = "now",
    machine: Annotated[str | None, Query(description="only this machine's notes")] = None,
) -> dict[str, Any]:
    """Notes written in the range, oldest first."""
    lo, hi = _range(service, start, end)
    return {"ok": True, "notes": [note_json(n) for n in service.logbook(lo, hi, machine)]}
