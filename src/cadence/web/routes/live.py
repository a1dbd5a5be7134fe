"""``GET /api/v1/live``: one server-sent-event stream per page, carrying named events of the live hub.

Browsers open at most 6 HTTP/1.1 connections per origin, so a page opens ONE ``EventSource`` and listens
to the named events ``snapshot`` (first, always), ``state``, ``values`` and ``stroke``; FastAPI adds a
``: ping`` comment after 15 s without an event so proxies keep the connection open. Each event's data is
the hub's dict plus ``sent_us``, the runtime clock when the event left, so that a page (or the latency
benchmark) can tell ``arrival − sample_us`` (sensor to screen) from ``arrival − sent_us`` (network).

The stream ends when the app shuts down (:data:`LIVE_STOP` is set by the lifespan) or the client leaves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.params import Depends as DependsParam
from fastapi.sse import EventSourceResponse, ServerSentEvent

from cadence.auth import Permission, require
from cadence.web.deps import RuntimeDep

logger = logging.getLogger(__name__)

LIVE_STOP = "live_stop"  # app.state attribute: an asyncio.Event set when the app shuts down
# Tell a browser that lost the stream to come back after 2 s rather than its default 3 s: a restart of
# the server takes about that long and the tablets should be live again right after.
RECONNECT_MS = 2_000

router = APIRouter(prefix="/api/v1", tags=["live"])


def live_machine(
    runtime: RuntimeDep,
    machine: Annotated[
        str | None, Query(description="Only this machine's events; all machines if omitted")
    ] = None,
) -> str | None:
    """The machine filter, checked before the stream starts so that a bad id gets the 404 envelope."""
    if machine is not None:
        runtime.data.machine(machine)  # raises NotFound
    return machine


LIVE_DEPENDENCIES: list[DependsParam] = [require(Permission.VIEW_PLANT)]


@router.get("/live", response_class=EventSourceResponse, dependencies=LIVE_DEPENDENCIES)
async def live(
    request: Request, runtime: RuntimeDep, machine: Annotated[str | None, Depends(live_machine)]
) -> AsyncIterator[ServerSentEvent]:
    """Live events of one machine, or of all: ``snapshot`` first, then ``state``, ``values``, ``stroke``."""
    stop: asyncio.Event = getattr(request.app.state, LIVE_STOP)
    subscription = runtime.live.subscribe(machine)
    first = True
    try:
        while not stop.is_set():
            for event in await subscription.next_events(stop):
                data = {**event.data, "sent_us": runtime.clock.now_us()}
                yield ServerSentEvent(event=event.event, data=data, retry=RECONNECT_MS if first else None)
                first = False
    finally:
        subscription.close()
