"""In-process publishing: a :class:`~cadence.ports.Publisher` that feeds an ingest pipeline directly.

For the zero-setup demo (the simulator feeds ingest without a broker) and for benchmarks of the pipeline
alone. Messages take the same path as MQTT ones — same validation, same quarantine, same group commits —
minus the network: ``publish(topic, payload)`` queues the message, a background thread hands groups of
them to the pipeline, waiting while the store pushes back; ``publish`` blocks while the queue is full, so
a fast simulator is slowed down to what the disk sustains instead of piling messages up in memory.

>>> import tempfile, pathlib
>>> from cadence.clock import SimClock
>>> from cadence.plantfile import load_plant
>>> from cadence.config import EXAMPLE_PLANT
>>> from cadence.store.sqlite import SqliteStore
>>> with tempfile.TemporaryDirectory() as tmp, SqliteStore(pathlib.Path(tmp) / "c.db") as store:
...     pipeline = IngestPipeline(load_plant(EXAMPLE_PLANT), store, SimClock())
...     publisher = LocalPublisher(pipeline)
...     publisher.publish("cadence/v1/P01/states", b'{"v": 1, "source": "sim", "epoch": 1, "seq": 0, '
...                       b'"machine": "P01", "states": [{"ts": 1764403200000000, "state": "running"}]}')
...     publisher.close()
...     pipeline.close()
...     pipeline.stats.snapshot()["states"]
1
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future

from cadence.errors import StoreClosed
from cadence.ingest.inbox import Inbox
from cadence.ingest.pipeline import (
    GROUP_MAX_BYTES,
    GROUP_MAX_MESSAGES,
    MAX_PENDING_GROUPS,
    Inbound,
    IngestPipeline,
    MessageResult,
    Prepared,
)

logger = logging.getLogger(__name__)

# Messages queued before publish() blocks: a few seconds of a busy simulated plant.
QUEUE_MESSAGES = 20_000
QUEUE_BYTES = 64 * 1024 * 1024
# Longest a queued message waits for companions before its group is handed over, in seconds. Keeps the
# demo's live view fresh while still grouping bursts.
LINGER_S = 0.02


class LocalPublisher:
    """``Publisher`` into ``pipeline``: ``publish(topic, payload)``, ``flush()``, ``close()``."""

    def __init__(
        self,
        pipeline: IngestPipeline,
        *,
        queue_messages: int = QUEUE_MESSAGES,
        group_max_messages: int = GROUP_MAX_MESSAGES,
        linger_s: float = LINGER_S,
        max_pending_groups: int = MAX_PENDING_GROUPS,
    ) -> None:
        self.pipeline = pipeline
        self._inbox: Inbox[Inbound] = Inbox(queue_messages, QUEUE_BYTES)
        self._group_max = group_max_messages
        self._linger_s = linger_s
        self._max_pending = max_pending_groups
        self._pending = 0  # groups handed to the pipeline, not settled yet
        self._published = 0  # messages published, and settled (committed, quarantined or failed)
        self._settled = 0
        self._cond = threading.Condition()
        self._closing = threading.Event()
        self._never = threading.Event()  # submit_waiting's stop: the publisher waits as long as it takes
        self._thread = threading.Thread(target=self._feed, name="cadence-local-publisher", daemon=True)
        self._thread.start()

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue one message (blocks while the queue is full); it is validated against ``topic``."""
        if self._closing.is_set():
            raise StoreClosed("the local publisher is closed")
        with self._cond:
            self._published += 1
        self._inbox.put(Inbound(f"mqtt:{topic}", payload, topic), len(payload), lambda: True)

    def flush(self, timeout_s: float = 60.0) -> bool:
        """Wait until every published message is committed or quarantined; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._settled == self._published, timeout_s)

    def close(self) -> None:
        """Flush, then stop the feeding thread. The pipeline and the store stay open."""
        self.flush()
        self._closing.set()
        self._inbox.wake()
        self._thread.join()

    def _feed(self) -> None:
        while not (self._closing.is_set() and not len(self._inbox)):
            group = self._inbox.drain(self._group_max, GROUP_MAX_BYTES, timeout_s=0.1)
            if not group:
                continue
            if len(group) < self._group_max and self._linger_s > 0:
                time.sleep(self._linger_s)  # let a burst gather into one group
                group += self._inbox.drain(self._group_max - len(group), GROUP_MAX_BYTES, timeout_s=0)
            try:
                self._submit(group)
            except Exception:  # never let the feeder die
                logger.exception(
                    "local publisher: a group of %d messages could not be handed to ingest", len(group)
                )
                self._release(len(group), None)

    def _submit(self, group: list[Inbound]) -> None:
        with self._cond:
            while self._pending >= self._max_pending:
                self._cond.wait(0.1)
            self._pending += 1
        try:
            future = self._hand_over(self.pipeline.prepare(group))
        except BaseException:
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()
            raise
        future.add_done_callback(lambda f: self._release(len(group), f))

    def _hand_over(self, prepared: Prepared) -> Future[list[MessageResult]]:
        """Submit, waiting while the store pushes back (never gives up: nothing else would take them)."""
        future = self.pipeline.submit_waiting(prepared, self._never, "the local publisher")
        if future is None:  # only a set stop event gives None, and this one is never set
            raise StoreClosed("the local publisher stopped waiting for the store")
        return future

    def _release(self, messages: int, future: Future[list[MessageResult]] | None) -> None:
        with self._cond:
            if future is not None:
                self._pending -= 1
            self._settled += messages
            self._cond.notify_all()
