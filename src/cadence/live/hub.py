"""The live hub: committed batches in, per-machine snapshots and live events out.

The ingest pipeline calls :meth:`LiveHub.on_committed` on its completion threads with the batches it has
just stored. The hub folds them into one :class:`~cadence.live.snapshot.MachineLive` per machine and
offers ``state``, ``values`` and ``stroke`` events to the matching subscriptions. Everything it does there
is in-memory and bounded (a few dict updates per batch), so it costs ingest next to nothing and can never
block it: a slow browser only makes its own mailbox coalesce.

Readers (the SSE route) call :meth:`LiveHub.subscribe` on their event loop; the first event of a
subscription is always a ``snapshot`` of the machines it follows.

The hub counts good and scrap parts like the overview tile (strokes that ended since the shift start,
less the scrap operators declared: :meth:`LiveHub.on_scrap_declared`), but computes no OEE: that needs
the whole shift's state history, so the tiles' OEE comes from the server's render
(``cadence.services.overview``), refreshed every 30 s, never from a live event.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence

from cadence.domain.batch import Batch, IdempotencyKey
from cadence.domain.operator import ScrapDeclaration, apply_stop_reasons
from cadence.domain.plant import Plant
from cadence.live.snapshot import MachineLive
from cadence.live.subscription import SNAPSHOT, STATE, STROKE, VALUES, LiveEvent, Subscription
from cadence.ports import TimeSeriesStore

logger = logging.getLogger(__name__)

# At most this many ``values`` events per machine and per subscriber each second. uPlot rebuilds its paths
# on every setData, so charts are throttled to 1–5 Hz on cheap tablets (docs: stack.md §6); 4/s keeps a
# gauge visibly live while staying inside that range, and caps a 20-press page at 80 small events a second.
VALUES_PER_S = 4
VALUES_INTERVAL_S = 1.0 / VALUES_PER_S
# Strokes read per machine to seed the shift's counts at start-up: a 3 s cycle for 8 hours is 9,600.
SEED_MAX_STROKES = 20_000
# Strokes count where they end, but are read by their start: look back as the tiles do.
SEED_LOOKBACK_US = 10 * 60 * 1_000_000

ShiftStartProvider = Callable[[], int | None]
"""Returns the µs timestamp from which good and scrap strokes are counted (None: since the hub started)."""


class LiveHub:
    """Live snapshots of every machine of ``plant`` and their subscribers."""

    def __init__(
        self,
        plant: Plant,
        shift_start_us: ShiftStartProvider | None = None,
        *,
        values_interval_s: float = VALUES_INTERVAL_S,
    ) -> None:
        self.plant = plant
        self.values_interval_s = values_interval_s
        self._shift_start_us = shift_start_us
        self._lock = threading.Lock()
        self._machines = {m.id: MachineLive(m) for m in plant.machines}
        self._subscriptions: set[Subscription] = set()
        self._failures = 0
        self.batches = 0  # batches folded in since the hub started

    def seed(self, store: TimeSeriesStore, now_us: int) -> None:
        """Start from what the store already holds: the current state and the shift's good and scrap counts.

        Without it, a server restarted mid-shift would send counts since its start, and the live figures
        on the tablets would fall below the ones the page was rendered with.
        """
        reset_us = self._shift_start_us() if self._shift_start_us is not None else None
        since = reset_us if reset_us is not None else 0
        with self._lock:
            for machine_id, live in self._machines.items():
                read = store.strokes(machine_id, since - SEED_LOOKBACK_US, now_us + 1, limit=SEED_MAX_STROKES)
                strokes = [s for s in read if s.end_us >= since]
                good = sum(1 for s in strokes if s.good)
                declared = sum(d.quantity for d in store.scrap_declarations(machine_id, since, now_us + 1))
                live.seed_counts(reset_us, good, len(strokes) - good, declared)
                # One index seek for the state in force, with the operator's reason if the stop has one.
                state = store.state_at(machine_id, now_us)
                if state is not None:
                    reasons = store.stop_reasons(machine_id, state.ts_us, state.ts_us + 1)
                    state = apply_stop_reasons([state], reasons)[0]
                    live.apply(Batch(IdempotencyKey("seed", 0, 0), machine_id, states=(state,)))

    # --- the ingest side -------------------------------------------------------------------------------

    def on_committed(self, batches: Sequence[Batch]) -> None:
        """Fold stored ``batches`` in and notify subscribers. Never raises (ingest must not notice us)."""
        try:
            self._fold(batches)
        except Exception:
            self._failures += 1
            if self._failures == 1:  # a bug here would repeat on every batch: log it once with its trace
                logger.exception("live hub failed to process committed batches; further failures counted")

    def _fold(self, batches: Sequence[Batch]) -> None:
        reset_us = None
        if self._shift_start_us is not None and any(b.strokes for b in batches):
            reset_us = self._shift_start_us()
        with self._lock:
            for batch in batches:
                live = self._machines.get(batch.machine)
                if live is None:
                    continue
                if batch.strokes and self._shift_start_us is not None:
                    live.reset_counts(reset_us)
                state, values, stroke = live.apply(batch)
                self.batches += 1
                targets = [s for s in self._subscriptions if s.wants(live.machine) and not s.closed]
                if not targets:
                    continue
                events = []
                if state:
                    events.append(LiveEvent(STATE, live.state_json()))
                if values:
                    events.append(LiveEvent(VALUES, live.values_json()))
                if stroke:
                    events.append(LiveEvent(STROKE, live.stroke_json()))
                for sub in targets:
                    for event in events:
                        sub.offer(event, live.machine)
            self._subscriptions = {s for s in self._subscriptions if not s.closed}

    def on_scrap_declared(self, declaration: ScrapDeclaration) -> None:
        """Count scrap an operator just declared (after its commit) and tell the machine's subscribers.

        Called by whoever records declarations (the operator service), so live counts stay equal to the
        tile's between two renders. Never raises for an unknown machine: the plant may have changed.
        """
        reset_us = self._shift_start_us() if self._shift_start_us is not None else None
        with self._lock:
            live = self._machines.get(declaration.machine)
            if live is None:
                return
            if self._shift_start_us is not None:
                live.reset_counts(reset_us)
            if not live.declare_scrap(declaration):
                return
            event = LiveEvent(STROKE, live.stroke_json())
            for sub in self._subscriptions:
                if sub.wants(live.machine) and not sub.closed:
                    sub.offer(event, live.machine)

    # --- the reader side -------------------------------------------------------------------------------

    def subscribe(
        self, machine: str | None = None, loop: asyncio.AbstractEventLoop | None = None
    ) -> Subscription:
        """A new subscription to ``machine`` (all machines when None), its ``snapshot`` already pending.

        ``loop`` is the event loop that reads it (default: the running one; None outside a loop, for
        readers that poll :meth:`Subscription.take`). Raises ``KeyError`` for an unknown machine.
        """
        if machine is not None and machine not in self._machines:
            raise KeyError(machine)
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        sub = Subscription(machine, loop, self.values_interval_s, self._forget)
        with self._lock:
            # Taken under the lock that ingest holds, so no event falls between the snapshot and the feed.
            sub.offer(LiveEvent(SNAPSHOT, self._snapshot_locked(machine)), "*")
            self._subscriptions.add(sub)
        return sub

    def snapshot(self, machine: str | None = None) -> dict[str, object]:
        """The ``snapshot`` event's data: ``{"machines": [...], "sample_us"}``."""
        with self._lock:
            return self._snapshot_locked(machine)

    def _snapshot_locked(self, machine: str | None) -> dict[str, object]:
        chosen = [self._machines[machine]] if machine is not None else list(self._machines.values())
        newest = [m.sample_us for m in chosen if m.sample_us is not None]
        return {"machines": [m.snapshot_json() for m in chosen], "sample_us": max(newest, default=None)}

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def _forget(self, sub: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(sub)
