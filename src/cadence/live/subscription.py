"""One listener of the live hub: a bounded, coalescing mailbox filled by ingest threads, read on asyncio.

Ingest must never wait for a browser. So a subscription holds at most ONE pending event per (kind,
machine): a newer ``values`` of P01 replaces the pending one instead of queueing behind it, and a tablet
that stops reading holds at most ``3 × machines`` small dicts, whatever the ingest rate. A reader that
keeps up still sees every state change and every stroke; one that falls behind sees the latest of each,
which is what a live display needs (the ``stroke`` event carries the running good/scrap counts).

``values`` events are also spaced per machine by ``values_interval_s`` (see
:data:`~cadence.live.hub.VALUES_INTERVAL_S`): the newest values wait in the mailbox until their slot.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

STATE = "state"
VALUES = "values"
STROKE = "stroke"
SNAPSHOT = "snapshot"


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """A named event and its JSON-ready data (shared between subscribers: never mutate it)."""

    event: str
    data: dict[str, Any]


class Subscription:
    """Events of one machine (or of all when ``machine`` is None), for one reader on ``loop``.

    :meth:`offer` is called from any thread; :meth:`next_events` from ``loop`` only.
    """

    def __init__(
        self,
        machine: str | None,
        loop: asyncio.AbstractEventLoop | None,
        values_interval_s: float,
        on_close: Callable[[Subscription], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.machine = machine
        self.values_interval_s = values_interval_s
        self._loop = loop
        self._on_close = on_close
        self._monotonic = monotonic
        self._lock = threading.Lock()
        # Insertion-ordered: events leave in the order their key first became pending.
        self._pending: dict[tuple[str, str], LiveEvent] = {}
        self._values_sent: dict[str, float] = {}  # machine → monotonic time of its last values event
        self._wakeup = asyncio.Event()
        self._wakeup_scheduled = False
        self.closed = False
        self.replaced = 0  # pending events overwritten by a newer one (what coalescing saved)

    def wants(self, machine: str) -> bool:
        return self.machine is None or self.machine == machine

    @property
    def pending(self) -> int:
        """Events waiting to be read."""
        with self._lock:
            return len(self._pending)

    def offer(self, event: LiveEvent, machine: str) -> None:
        """Make ``event`` pending, replacing the pending one of the same kind and machine. Never blocks."""
        with self._lock:
            if self.closed:
                return
            key = (event.event, machine)
            if key in self._pending:
                self.replaced += 1
            self._pending[key] = event
            if self._wakeup_scheduled or self._loop is None:
                return
            self._wakeup_scheduled = True  # one loop callback per burst, not one per batch
        try:
            self._loop.call_soon_threadsafe(self._wakeup.set)
        except RuntimeError:  # the loop is closed: nobody will ever read this subscription
            with self._lock:  # (not close(): the hub calls us holding its lock; it drops closed ones)
                self.closed = True
                self._pending.clear()

    def take(self) -> tuple[list[LiveEvent], float | None]:
        """The events ready now, and in how many seconds held-back ``values`` become due (None: none)."""
        now = self._monotonic()
        ready: list[LiveEvent] = []
        due_in: float | None = None
        with self._lock:
            self._wakeup_scheduled = False
            self._wakeup.clear()
            for key in list(self._pending):
                kind, machine = key
                if kind == VALUES:
                    wait = self._values_sent.get(machine, -float("inf")) + self.values_interval_s - now
                    if wait > 0:
                        due_in = wait if due_in is None else min(due_in, wait)
                        continue
                    self._values_sent[machine] = now
                ready.append(self._pending.pop(key))
        return ready, due_in

    async def next_events(self, stop: asyncio.Event, timeout_s: float | None = None) -> list[LiveEvent]:
        """Wait until events are ready, ``stop`` is set or ``timeout_s`` passed; [] in the last two cases."""
        deadline = None if timeout_s is None else self._monotonic() + timeout_s
        while not (stop.is_set() or self.closed):
            ready, due_in = self.take()
            if ready:
                return ready
            left = None if deadline is None else deadline - self._monotonic()
            waits = [x for x in (due_in, left) if x is not None]
            wait = min(waits) if waits else None
            if wait is not None and wait <= 0:
                return []
            woken = asyncio.ensure_future(self._wakeup.wait())
            stopped = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({woken, stopped}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            finally:
                woken.cancel()
                stopped.cancel()
            if deadline is not None and self._monotonic() >= deadline:
                return self.take()[0]
        return []

    def close(self) -> None:
        """Stop receiving events (idempotent)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._pending.clear()
        self._on_close(self)
