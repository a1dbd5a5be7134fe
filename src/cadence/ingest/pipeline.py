"""The ingest pipeline: bytes from any channel → validated batches → the store, with every refusal kept.

One pipeline serves every channel (MQTT, HTTP, in-process). It works on *groups* of messages so that one
store task and one commit carry many of them (per-message work is what makes naive ingest slow):

1. :meth:`IngestPipeline.prepare` decodes and validates a group (pure: no I/O, no counters). Every
   message ends up either accepted (a :class:`~cadence.domain.Batch`) or refused (an
   :class:`~cadence.errors.IngestError` naming the bad key or value).
2. :meth:`IngestPipeline.submit` hands the accepted batches to the store in ONE task and returns a future
   resolved once the store has **committed** them and every refused message is in quarantine. It raises
   :class:`~cadence.errors.StoreBacklogFull` at once when the store pushes back; nothing has happened
   then, and the caller retries the same group later (MQTT) or tells its client to (HTTP 503).

Store futures are resolved on the store's writer thread, which must never wait for itself; completions
(outcomes, quarantine, counters) therefore run on the pipeline's own small thread pool.

Nothing a sender can put in a message raises out of this module: decoding errors, unknown machines or
signals, out-of-range values, key conflicts and even bugs in decoding become a ``rejected`` result and a
quarantine entry with the error code and reason.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cadence.domain.batch import Batch, IdempotencyKey
from cadence.domain.plant import Plant
from cadence.errors import IngestError, KeyConflict, StoreBacklogFull, StoreClosed, StoreError
from cadence.ingest import failpoints
from cadence.ingest.stats import IngestStats
from cadence.ingest.validation import PlantValidator
from cadence.ports import AppendOutcome, Clock, QuarantineItem, TimeSeriesStore
from cadence.protocol.codec import Limits, decode_message

__all__ = ["Inbound", "IngestPipeline", "IngestStats", "MessageResult", "Prepared", "Status"]

logger = logging.getLogger(__name__)

# A refused payload is kept for diagnosis, not replay: 64 KiB shows what was wrong with any message, while
# a flood of 8 MiB junk cannot fill the disk (the real size is recorded beside it).
QUARANTINE_PAYLOAD_CAP_BYTES = 64 * 1024
# Threads completing groups (outcomes, quarantine writes, counters). Each group's completion waits for a
# few quarantine commits at most; four let that many groups finish while the store commits the next ones.
COMPLETION_WORKERS = 4
# How channels group messages for the store (MQTT ingest and the in-process publisher alike). One store
# task carries at most this many messages or bytes: big enough that a single-sample stream shares one
# commit among ~thousands of messages, small enough that a group commits in ~0.1 s.
GROUP_MAX_MESSAGES = 2_000
GROUP_MAX_BYTES = 2 * 1024 * 1024
# Groups handed to the store and not yet committed. Two keep the store busy while the decoder prepares
# the next. Each holds its JSON, its decoded arrays and the store's quantised copies (~5× the JSON):
# under a sustained burst, 4 groups of 8 MiB kept ingest near 400 MiB for no gain in throughput.
MAX_PENDING_GROUPS = 2
# Longest wait between two attempts when the store pushes back, in seconds (doubling from 10 ms).
BACKLOG_MAX_WAIT_S = 1.0
FAILPOINT_BEFORE_COMMIT = "ingest.before_commit"
FAILPOINT_AFTER_COMMIT = "ingest.after_commit"


class Status(enum.StrEnum):
    """What became of one message."""

    STORED = "stored"  # committed now
    DUPLICATE = "duplicate"  # committed before (a replay or a QoS 1 re-delivery): nothing written
    REJECTED = "rejected"  # refused with a reason and kept in quarantine: the sender must not re-send it
    FAILED = "failed"  # valid, but the store could not commit it: the sender must re-send it later


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as received: where from (``mqtt:<topic>`` or ``http``), its bytes, and its MQTT topic."""

    channel: str
    payload: bytes
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class MessageResult:
    """The outcome of message ``index`` of a group."""

    index: int
    status: Status
    key: IdempotencyKey | None = None
    machine: str | None = None
    code: str | None = None
    error: str | None = None

    @property
    def settled(self) -> bool:
        """True when the sender may forget the message (committed, or quarantined with its reason)."""
        return self.status is not Status.FAILED

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used by the HTTP endpoint."""
        if self.status in (Status.STORED, Status.DUPLICATE) and self.key is not None:
            return {
                "index": self.index,
                "source": self.key.source,
                "epoch": self.key.epoch,
                "seq": self.key.seq,
                "status": str(self.status),
            }
        out: dict[str, Any] = {
            "index": self.index,
            "status": str(self.status),
            "code": self.code,
            "error": self.error,
        }
        if self.key is not None:
            out.update(source=self.key.source, epoch=self.key.epoch, seq=self.key.seq)
        return out


@dataclass(frozen=True, slots=True)
class Prepared:
    """A decoded and validated group, ready for :meth:`IngestPipeline.submit` (possibly several times)."""

    messages: tuple[Inbound, ...]
    received_us: int
    accepted: tuple[tuple[int, Batch], ...]
    rejected: tuple[tuple[int, IngestError, Batch | None], ...]

    @property
    def size(self) -> int:
        """Payload bytes in the group."""
        return sum(len(m.payload) for m in self.messages)


class IngestPipeline:
    """Validate messages against ``plant`` and store them in ``store``, quarantining what is refused.

    On construction, every machine's signals are registered in the store (idempotent).
    """

    def __init__(
        self,
        plant: Plant,
        store: TimeSeriesStore,
        clock: Clock,
        limits: Limits | None = None,
        stats: IngestStats | None = None,
        *,
        completion_workers: int = COMPLETION_WORKERS,
        on_committed: Callable[[Sequence[Batch]], None] | None = None,
    ) -> None:
        if completion_workers < 1:
            raise ValueError(f"completion_workers must be >= 1, got {completion_workers}")
        self.plant = plant
        self.store = store
        self.clock = clock
        self.limits = limits if limits is not None else Limits()
        self.stats = stats if stats is not None else IngestStats()
        self._validator = PlantValidator(plant)
        for machine in plant.machines:
            store.register_signals(machine.id, machine.signals)
        self._executor = ThreadPoolExecutor(
            max_workers=completion_workers, thread_name_prefix="cadence-ingest"
        )
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # groups submitted and not yet completed
        self._store_busy = False  # a channel is waiting on a full store backlog (see submit_waiting)
        self._closed = False
        self._unexpected_seen: set[str] = set()
        self._quarantine_failing = False
        # Told about each group's newly stored batches, on a completion thread, after its sender.
        self._on_committed = on_committed
        self._listener_failed = False

    # --- decoding and validation -----------------------------------------------------------------------

    def validate(self, payload: bytes, topic: str | None = None, received_us: int = 0) -> Batch:
        """The batch in ``payload``, checked against the plant; raise an :class:`IngestError` otherwise."""
        batch = decode_message(payload, self.limits, received_us)
        if topic is not None:
            self._validator.check_topic(topic, batch)
        self._validator.check(batch)
        return batch

    def prepare(self, messages: Sequence[Inbound]) -> Prepared:
        """Decode and validate a group; never raises for anything the messages contain."""
        received_us = self.clock.now_us()
        accepted: list[tuple[int, Batch]] = []
        rejected: list[tuple[int, IngestError, Batch | None]] = []
        for index, message in enumerate(messages):
            batch: Batch | None = None
            try:
                batch = decode_message(message.payload, self.limits, received_us)
                if message.topic is not None:
                    self._validator.check_topic(message.topic, batch)
                self._validator.check(batch)
            except IngestError as err:
                rejected.append((index, err, batch))
            except Exception as err:  # a decoding bug must cost one message, never the ingest thread
                rejected.append((index, self._unexpected(err), batch))
            else:
                accepted.append((index, batch))
        return Prepared(tuple(messages), received_us, tuple(accepted), tuple(rejected))

    def _unexpected(self, err: Exception) -> IngestError:
        kind = type(err).__name__
        if kind not in self._unexpected_seen:  # log each kind of bug once, with its traceback
            self._unexpected_seen.add(kind)
            logger.error("unexpected %s while decoding a message; it is quarantined", kind, exc_info=err)
        return IngestError(f"the message could not be decoded ({kind}: {err})")

    # --- submission ------------------------------------------------------------------------------------

    def submit(self, prepared: Prepared) -> Future[list[MessageResult]]:
        """Store the accepted batches in one store task and quarantine the refused messages.

        The returned future resolves with one :class:`MessageResult` per message, in order, once the store
        has committed (or refused) every batch. Raises :class:`~cadence.errors.StoreBacklogFull` (retry
        later) or :class:`~cadence.errors.StoreClosed` before anything is written or counted.
        """
        with self._lock:
            if self._closed:
                raise StoreClosed("the ingest pipeline is closed")
            self._pending += 1
        try:
            failpoints.hit(FAILPOINT_BEFORE_COMMIT)
            batches = [batch for _, batch in prepared.accepted]
            store_future = self.store.submit(batches) if batches else None
        except BaseException:
            self._done()
            raise
        self.stats.count_received(len(prepared.messages), prepared.size, prepared.received_us)
        for _, batch in prepared.accepted:
            self.stats.count_machine_received(batch.machine)
        result: Future[list[MessageResult]] = Future()
        if store_future is None:
            try:
                self._executor.submit(self._complete, prepared, None, result)
            except RuntimeError:  # closed meanwhile, after a close() timeout
                self._complete_without_store(prepared, result)
        else:
            store_future.add_done_callback(lambda f: self._hand_over(prepared, f, result))
        return result

    def submit_waiting(
        self, prepared: Prepared, stop: threading.Event, channel: str
    ) -> Future[list[MessageResult]] | None:
        """:meth:`submit`, waiting while the store pushes back (10 ms doubling to BACKLOG_MAX_WAIT_S).

        Returns None when ``stop`` is set while waiting. :class:`~cadence.errors.StoreClosed` is raised as
        by :meth:`submit`. The channels (MQTT ingest, the in-process publisher) share this loop, and the
        warning is logged once per busy spell of the store, not once per waiting group.
        """
        wait_s = 0.01
        while True:
            try:
                future = self.submit(prepared)
            except StoreBacklogFull:
                self.stats.count_store_busy()
                with self._lock:
                    first, self._store_busy = not self._store_busy, True
                if first:
                    logger.warning("store backlog full: %s waits", channel)
                if stop.wait(wait_s):
                    return None
                wait_s = min(wait_s * 2, BACKLOG_MAX_WAIT_S)
                continue
            with self._lock:
                recovered, self._store_busy = self._store_busy, False
            if recovered:
                logger.info("store accepts writes again")
            return future

    def handle_many(self, messages: Sequence[Inbound]) -> Future[list[MessageResult]]:
        """:meth:`prepare` then :meth:`submit`."""
        return self.submit(self.prepare(messages))

    def handle(self, channel: str, payload: bytes, topic: str | None = None) -> Future[MessageResult]:
        """One message; the future resolves after its commit or quarantine. May raise StoreBacklogFull."""
        group = self.handle_many([Inbound(channel, payload, topic)])
        single: Future[MessageResult] = Future()
        group.add_done_callback(lambda f: _chain(f, single, lambda results: results[0]))
        return single

    def refuse(
        self, channel: str, payload: bytes, error: IngestError, size: int | None = None
    ) -> MessageResult:
        """Quarantine and count something refused before it could be split into messages.

        For example an HTTP body that is not JSON, or one too large to read (``payload`` is then what was
        read, ``size`` the announced size). Waits for the quarantine commit; never raises for ``payload``.
        """
        received_us = self.clock.now_us()
        inbound = Inbound(channel, payload)
        prepared = Prepared((inbound,), received_us, (), ((0, error, None),))
        self.stats.count_received(1, len(payload) if size is None else size, received_us)
        return self._reject(prepared, 0, error, None, size=size)

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until every submitted group is completed; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout_s)

    def close(self, timeout_s: float | None = 30.0) -> None:
        """Refuse new groups, finish the submitted ones, stop the completion threads. The store stays open."""
        with self._lock:
            self._closed = True
        if not self.wait_idle(timeout_s):
            logger.warning("ingest closed with groups still waiting for the store")
        self._executor.shutdown(wait=True)

    # --- completion ------------------------------------------------------------------------------------

    def _hand_over(
        self,
        prepared: Prepared,
        store_future: Future[list[AppendOutcome]],
        result: Future[list[MessageResult]],
    ) -> None:
        # Runs on the store's writer thread: do nothing here that waits for the store.
        try:
            self._executor.submit(self._complete, prepared, store_future, result)
        except RuntimeError:  # the pool was shut down after a close() timeout: settle without the store
            self._complete_without_store(prepared, result)

    def _complete(
        self,
        prepared: Prepared,
        store_future: Future[list[AppendOutcome]] | None,
        result: Future[list[MessageResult]],
    ) -> None:
        try:
            results: list[MessageResult | None] = [None] * len(prepared.messages)
            for index, error, batch in prepared.rejected:
                results[index] = self._reject(prepared, index, error, batch)
            if store_future is not None:
                outcomes = self._outcomes(prepared, store_future)
                for (index, batch), outcome in zip(prepared.accepted, outcomes, strict=True):
                    results[index] = self._settle(prepared, index, batch, outcome)
                failpoints.hit(FAILPOINT_AFTER_COMMIT)
            final = [r for r in results if r is not None]
            if len(final) != len(results):
                raise RuntimeError("bug: a message of the group got no result")
            result.set_result(final)
            self._notify_committed(prepared, final)
        except BaseException as err:  # a bug here must not leave a sender waiting for ever
            logger.exception("completing an ingest group failed")
            result.set_exception(err)
        finally:
            self._done()

    def _outcomes(
        self, prepared: Prepared, store_future: Future[list[AppendOutcome]]
    ) -> list[AppendOutcome | StoreError]:
        """One outcome per accepted batch, in order; a store failure becomes that batch's outcome."""
        try:
            return list(store_future.result())
        except StoreClosed as err:
            return [err] * len(prepared.accepted)
        except Exception as err:
            if len(prepared.accepted) == 1:
                return [_store_error(err)]
            # One task failing fails all its batches: commit each alone so that one bad batch (a store bug
            # on a content the validator let through) costs only itself.
            logger.warning(
                "a store task of %d batches failed (%s); committing them one by one",
                len(prepared.accepted),
                err,
            )
            alone: list[AppendOutcome | StoreError] = []
            for _, batch in prepared.accepted:
                try:
                    alone.append(self.store.append([batch])[0])
                except Exception as single:
                    alone.append(_store_error(single))
            return alone

    def _settle(
        self, prepared: Prepared, index: int, batch: Batch, outcome: AppendOutcome | StoreError
    ) -> MessageResult:
        if isinstance(outcome, StoreError):
            self.stats.count_failed()
            return MessageResult(
                index, Status.FAILED, batch.key, batch.machine, outcome.code, outcome.message
            )
        if outcome is AppendOutcome.CONFLICT:
            conflict = KeyConflict(
                f"key {batch.key} was already committed with different content: the sender reused "
                "(source, epoch, seq) for other data (re-created buffer without a new epoch?)",
                key=str(batch.key),
            )
            return self._reject(prepared, index, conflict, batch)
        self.stats.count_committed(
            batch.machine,
            stored=outcome is AppendOutcome.STORED,
            points=batch.points,
            strokes=len(batch.strokes),
            states=len(batch.states),
            now_us=prepared.received_us,
        )
        status = Status.STORED if outcome is AppendOutcome.STORED else Status.DUPLICATE
        return MessageResult(index, status, batch.key, batch.machine)

    def _reject(
        self, prepared: Prepared, index: int, error: IngestError, batch: Batch | None, size: int | None = None
    ) -> MessageResult:
        message = prepared.messages[index]
        item = QuarantineItem(
            received_us=prepared.received_us,
            channel=message.channel,
            code=error.code,
            reason=error.message,
            payload=message.payload[:QUARANTINE_PAYLOAD_CAP_BYTES],
            size=len(message.payload) if size is None else size,
        )
        key = batch.key if batch is not None else None
        known = batch.machine if batch is not None and self._validator.knows(batch.machine) else None
        try:
            self.store.quarantine(item)
        except Exception as err:  # store busy or closed: the sender keeps the message and re-sends it
            failure = _store_error(err)
            if not self._quarantine_failing:
                self._quarantine_failing = True
                logger.error("cannot quarantine refused messages: %s", failure.message)
            self.stats.count_failed()
            return MessageResult(index, Status.FAILED, key, known, failure.code, failure.message)
        if self._quarantine_failing:
            self._quarantine_failing = False
            logger.info("quarantining refused messages works again")
        self.stats.count_rejected(error.code, known)
        return MessageResult(index, Status.REJECTED, key, known, error.code, error.message)

    def _notify_committed(self, prepared: Prepared, results: Sequence[MessageResult]) -> None:
        """Hand the batches stored by this group (not duplicates, not refusals) to ``on_committed``."""
        if self._on_committed is None:
            return
        stored = [b for i, b in prepared.accepted if results[i].status is Status.STORED]
        if not stored:
            return
        try:
            self._on_committed(stored)
        except Exception:  # a listener's bug must never cost ingest anything: log once, carry on
            if not self._listener_failed:
                self._listener_failed = True
                logger.exception("the on_committed listener failed; ingest goes on without it")

    def _complete_without_store(self, prepared: Prepared, result: Future[list[MessageResult]]) -> None:
        closed = StoreClosed("ingest was closed before this message was settled")
        results = [
            MessageResult(i, Status.FAILED, code=closed.code, error=closed.message)
            for i in range(len(prepared.messages))
        ]
        self.stats.count_failed(len(results))
        result.set_result(results)
        self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()


def _store_error(err: BaseException) -> StoreError:
    if isinstance(err, StoreError):
        return err
    return StoreError(f"the store could not complete the write: {type(err).__name__}: {err}")


def _chain(source: Future[Any], target: Future[Any], transform: Callable[[Any], Any]) -> None:
    error = source.exception()
    if error is not None:
        target.set_exception(error)
    else:
        target.set_result(transform(source.result()))
