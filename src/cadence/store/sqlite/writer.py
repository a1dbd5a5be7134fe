"""The store's only writer: one thread, one connection, typed tasks on a bounded queue (STYLE.md §8).

Appends, quarantined messages, alarms (new, acknowledged, cleared), operator events, KPI rollups and signal
registrations are *grouped*:
the writer takes every task already queued (and, under concurrent load, whatever arrives within
``commit_interval_ms``), applies each in its own savepoint and commits them all in ONE transaction.
Futures are resolved only after COMMIT has returned, because the acknowledgement sent to an edge or an
HTTP client promises the data is on disk.
Maintenance tasks (compaction, retention, checkpoint, stop) run alone, between groups.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from cadence.domain.alarms import Alarm
from cadence.domain.batch import Batch
from cadence.domain.operator import LogbookNote, OrderEvent, ScrapDeclaration, StopReason
from cadence.domain.signals import SignalSpec
from cadence.domain.workorders import WorkOrder, WorkOrderEvent, WorkOrderStatus
from cadence.errors import StoreBacklogFull, StoreClosed, StoreError
from cadence.ports import (
    Clock,
    HealthPoint,
    HealthProgress,
    KpiRollup,
    LabelledEpisode,
    QuarantineItem,
    RetentionPolicy,
    RetentionReport,
    SpcLimitsRecord,
    SpcProgress,
)
from cadence.store.sqlite import ops

logger = logging.getLogger(__name__)

# One commit holds at most this many tasks or points, so that a deep backlog is worked off in commits of
# bounded size and latency (~0.1-0.3 s of work) instead of one huge transaction.
MAX_GROUP_TASKS = 1_000
MAX_GROUP_POINTS = 2_000_000
# When idle, the writer wakes this often to see whether automatic compaction is due, in seconds.
IDLE_POLL_S = 1.0
# One automatic or explicit compaction step merges at most this many points before letting queued appends
# through: about 0.1-0.2 s of decode/encode, so a compaction backlog never stalls ingest.
COMPACT_STEP_POINTS = 1_000_000


# --- tasks ---------------------------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Task:
    """Something for the writer to do; its outcome goes to ``future``."""

    future: Future[Any] = field(default_factory=Future)

    @property
    def points(self) -> int:
        return 0


@dataclass(eq=False, kw_only=True)
class AppendTask(Task):
    batches: tuple[Batch, ...]

    @property
    def points(self) -> int:
        return sum(b.points for b in self.batches)


@dataclass(eq=False, kw_only=True)
class RegisterTask(Task):
    machine: str
    signals: tuple[SignalSpec, ...]


@dataclass(eq=False, kw_only=True)
class QuarantineTask(Task):
    item: QuarantineItem


@dataclass(eq=False, kw_only=True)
class AlarmTask(Task):
    alarm: Alarm


@dataclass(eq=False, kw_only=True)
class AckAlarmTask(Task):
    alarm_id: int
    user: str
    ts_us: int


@dataclass(eq=False, kw_only=True)
class ClearAlarmTask(Task):
    alarm_id: int
    ts_us: int


@dataclass(eq=False, kw_only=True)
class StopReasonTask(Task):
    reason: StopReason


@dataclass(eq=False, kw_only=True)
class ScrapTask(Task):
    scrap: ScrapDeclaration


@dataclass(eq=False, kw_only=True)
class OrderEventTask(Task):
    event: OrderEvent


@dataclass(eq=False, kw_only=True)
class NoteTask(Task):
    note: LogbookNote


@dataclass(eq=False, kw_only=True)
class PutKpiTask(Task):
    hours: tuple[KpiRollup, ...]
    token: int
    days: tuple[tuple[str, int, int], ...]


@dataclass(eq=False, kw_only=True)
class SpcLimitsTask(Task):
    record: SpcLimitsRecord


@dataclass(eq=False, kw_only=True)
class SpcAdvanceTask(Task):
    progress: SpcProgress
    previous_us: int | None
    alarms: tuple[Alarm, ...]
    clears: tuple[tuple[int, int], ...]


@dataclass(eq=False, kw_only=True)
class HealthAdvanceTask(Task):
    progress: HealthProgress
    previous_us: int | None
    hours: tuple[HealthPoint, ...]  # not ``points``: Task.points counts samples for backpressure
    alarms: tuple[Alarm, ...]
    clears: tuple[tuple[int, int], ...]
    episodes: tuple[LabelledEpisode, ...]


@dataclass(eq=False, kw_only=True)
class WorkOrderTask(Task):
    """A new work order with its first event (``update`` False), or a change of one (``update`` True)."""

    order: WorkOrder
    event: WorkOrderEvent
    update: bool = False
    expected: WorkOrderStatus | None = None


@dataclass(eq=False, kw_only=True)
class CompactTask(Task):
    now_us: int
    max_points: int = COMPACT_STEP_POINTS


@dataclass(eq=False, kw_only=True)
class RetentionTask(Task):
    now_us: int
    policy: RetentionPolicy


@dataclass(eq=False, kw_only=True)
class CheckpointTask(Task):
    mode: str = "PASSIVE"


@dataclass(eq=False, kw_only=True)
class StopTask(Task):
    pass


GroupedTask = (
    AppendTask
    | RegisterTask
    | QuarantineTask
    | AlarmTask
    | AckAlarmTask
    | ClearAlarmTask
    | StopReasonTask
    | ScrapTask
    | OrderEventTask
    | NoteTask
    | PutKpiTask
    | SpcLimitsTask
    | SpcAdvanceTask
    | HealthAdvanceTask
    | WorkOrderTask
)
_GROUPED = (
    AppendTask,
    RegisterTask,
    QuarantineTask,
    AlarmTask,
    AckAlarmTask,
    ClearAlarmTask,
    StopReasonTask,
    ScrapTask,
    OrderEventTask,
    NoteTask,
    PutKpiTask,
    SpcLimitsTask,
    SpcAdvanceTask,
    HealthAdvanceTask,
    WorkOrderTask,
)
_CHECKPOINT_MODES = frozenset({"PASSIVE", "FULL", "RESTART", "TRUNCATE"})


class _GroupAborted(Exception):
    """SQLite rolled the whole transaction back by itself (disk full, I/O error): no savepoint is left."""


# --- writer --------------------------------------------------------------------------------------------


class StoreWriter(threading.Thread):
    """Owns the only write connection; applies typed tasks in grouped transactions."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        clock: Clock,
        *,
        max_backlog: int,
        commit_interval_ms: float,
        compact_after_s: float,
        auto_compact_interval_s: float,
    ) -> None:
        super().__init__(name="cadence-store-writer", daemon=True)
        self._connect = connect
        self._clock = clock
        self._queue: queue.Queue[Task] = queue.Queue(maxsize=max_backlog)
        self._interval_s = commit_interval_ms / 1000
        self._compact_after_us = round(compact_after_s * 1_000_000)
        self._auto_compact_us = round(auto_compact_interval_s * 1_000_000)
        self._catalog = ops.SeriesCatalog()
        self._last_group_size = 0
        self._next_auto_compact_us: int | None = None
        self._accepting = True
        self._lock = threading.Lock()  # orders "closed?" checks against the stop task
        self.commits = 0  # groups committed: for observability and tests of group commit

    # -- called from other threads --

    def submit(self, task: Task) -> None:
        """Queue a task; raise StoreBacklogFull at once when the queue is full, StoreClosed after stop."""
        with self._lock:
            if not self._accepting:
                raise StoreClosed("the store is closed; no more writes are accepted")
            try:
                self._queue.put_nowait(task)
            except queue.Full as err:
                raise StoreBacklogFull(
                    f"the store's write queue is full ({self._queue.maxsize} tasks): the disk is not keeping"
                    " up. Senders keep their data and retry; check disk latency and free space, other"
                    " processes writing to the disk, and the store's commit interval and backlog settings",
                    backlog=self._queue.maxsize,
                ) from err

    def stop(self, timeout_s: float | None = None) -> None:
        """Refuse new tasks, let the writer finish the queued ones, checkpoint and close; idempotent."""
        with self._lock:
            if self._accepting:
                self._accepting = False
                # Blocking put: the writer is draining, so a full queue frees a slot soon.
                self._queue.put(StopTask())
        self.join(timeout_s)

    @property
    def backlog(self) -> int:
        """Tasks waiting in the queue."""
        return self._queue.qsize()

    # -- the writer thread --

    def run(self) -> None:
        conn = self._connect()
        try:
            self._loop(conn)
        finally:
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                logger.exception("final checkpoint failed (the WAL is kept and replayed on next open)")
            conn.close()
            with self._lock:  # also when the loop died of a bug: later submits must fail, not hang
                self._accepting = False
            self._fail_leftovers()

    def _loop(self, conn: sqlite3.Connection) -> None:
        pending: Task | None = None
        while True:
            if pending is not None:
                task, pending = pending, None
            else:
                try:
                    task = self._queue.get(timeout=IDLE_POLL_S)
                except queue.Empty:
                    self._auto_compact(conn)
                    continue
            if not task.future.set_running_or_notify_cancel():
                continue  # cancelled by its submitter before we got to it: it was never acknowledged
            if isinstance(task, _GROUPED):
                group, pending = self._collect(task)
                self._commit_group(conn, group)
            elif isinstance(task, StopTask):
                task.future.set_result(None)
                return
            else:
                self._maintain(conn, task)

    def _collect(self, first: GroupedTask) -> tuple[list[GroupedTask], Task | None]:
        """The group to commit with ``first``, and the maintenance task that ended it, if any.

        The writer waits up to ``commit_interval_ms`` for more tasks only when the previous group had
        several (evidence of concurrent senders): a lone sender calling ``append`` in a loop is then never
        slowed down, and concurrent senders share fsyncs.
        """
        group: list[GroupedTask] = [first]
        points = first.points
        wait = self._interval_s > 0 and self._last_group_size > 1
        deadline = time.monotonic() + self._interval_s
        while len(group) < MAX_GROUP_TASKS and points < MAX_GROUP_POINTS:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if not wait or remaining <= 0:
                    break
                try:
                    nxt = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if not isinstance(nxt, _GROUPED):
                return group, nxt
            if nxt.future.set_running_or_notify_cancel():
                group.append(nxt)
                points += nxt.points
        return group, None

    def _commit_group(self, conn: sqlite3.Connection, group: list[GroupedTask]) -> None:
        results: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            committed_us = self._clock.now_us()
            for task in group:
                conn.execute("SAVEPOINT task")
                try:
                    results.append((True, self._apply(conn, task, committed_us)))
                    conn.execute("RELEASE task")
                except Exception as err:  # any failure of one task fails that task only
                    if not conn.in_transaction:
                        raise _GroupAborted from err
                    conn.execute("ROLLBACK TO task")
                    conn.execute("RELEASE task")
                    self._catalog.clear()
                    results.append((False, _as_store_error(err)))
            conn.execute("COMMIT")
        except Exception as err:  # the transaction itself failed: retry each task alone
            self._rollback(conn)
            if len(group) > 1:
                logger.warning(
                    "a grouped commit of %d tasks failed (%s); retrying them one by one", len(group), err
                )
                for task in group:
                    self._commit_group(conn, [task])
            else:
                group[0].future.set_exception(_as_store_error(err))
            return
        self.commits += 1
        self._last_group_size = len(group)
        if any(isinstance(t, RegisterTask) for t in group):
            self._catalog.clear()
        for task, (ok, value) in zip(group, results, strict=True):
            if ok:
                task.future.set_result(value)
            else:
                task.future.set_exception(value)

    def _apply(self, conn: sqlite3.Connection, task: GroupedTask, committed_us: int) -> Any:
        if isinstance(task, AppendTask):
            return ops.append_batches(conn, self._catalog, task.batches, committed_us)
        if isinstance(task, RegisterTask):
            ops.register_signals(conn, task.machine, task.signals)
            return None
        if isinstance(task, QuarantineTask):
            ops.insert_quarantine(conn, task.item)
            return None
        if isinstance(task, AckAlarmTask):
            return ops.acknowledge_alarm(conn, task.alarm_id, task.user, task.ts_us)
        if isinstance(task, ClearAlarmTask):
            return ops.clear_alarm(conn, task.alarm_id, task.ts_us)
        if isinstance(task, StopReasonTask):
            return ops.insert_stop_reason(conn, task.reason, committed_us)
        if isinstance(task, ScrapTask):
            return ops.insert_scrap(conn, task.scrap, committed_us)
        if isinstance(task, OrderEventTask):
            return ops.insert_order_event(conn, task.event)
        if isinstance(task, NoteTask):
            return ops.insert_note(conn, task.note)
        if isinstance(task, PutKpiTask):
            return ops.put_kpi_hours(conn, task.hours, task.token, task.days)
        if isinstance(task, SpcLimitsTask):
            return ops.insert_spc_limits(conn, task.record)
        if isinstance(task, SpcAdvanceTask):
            return ops.advance_spc(conn, task.progress, task.previous_us, task.alarms, task.clears)
        if isinstance(task, HealthAdvanceTask):
            return ops.advance_health(
                conn,
                task.progress,
                previous_us=task.previous_us,
                points=task.hours,
                alarms=task.alarms,
                clears=task.clears,
                episodes=task.episodes,
            )
        if isinstance(task, WorkOrderTask):
            if task.update:
                return ops.update_work_order(conn, task.order, task.event, task.expected)
            return ops.insert_work_order(conn, task.order, task.event)
        return ops.insert_alarm(conn, task.alarm)

    def _rollback(self, conn: sqlite3.Connection) -> None:
        self._catalog.clear()
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                logger.exception("rollback failed")

    # -- maintenance --

    def _maintain(self, conn: sqlite3.Connection, task: Task) -> None:
        try:
            if isinstance(task, CompactTask):
                result: Any = self._compact(conn, task.now_us, task.max_points)
            elif isinstance(task, RetentionTask):
                result = self._retention(conn, task.now_us, task.policy)
            elif isinstance(task, CheckpointTask):
                mode = task.mode.upper()
                if mode not in _CHECKPOINT_MODES:
                    raise StoreError(f"unknown checkpoint mode {task.mode!r}")
                result = tuple(conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone())
            else:
                raise StoreError(f"unknown store task {type(task).__name__}")
        except Exception as err:
            self._rollback(conn)
            task.future.set_exception(_as_store_error(err))
        else:
            task.future.set_result(result)

    def _compact(self, conn: sqlite3.Connection, now_us: int, max_points: int) -> int:
        """Merge small old chunks, one transaction per group, up to ``max_points``. Returns chunks merged."""
        merged = 0
        budget = max_points
        for series_id, resolution, group in ops.plan_compaction(conn, now_us, self._compact_after_us):
            if budget <= 0:
                break
            conn.execute("BEGIN IMMEDIATE")
            try:
                merged += ops.merge_chunks(conn, series_id, resolution, group, now_us)
                conn.execute("COMMIT")
            except BaseException:
                self._rollback(conn)
                raise
            budget -= sum(c.n for c in group)
        if merged:
            logger.debug("compaction merged %d chunks", merged)
        return merged

    def _retention(self, conn: sqlite3.Connection, now_us: int, policy: RetentionPolicy) -> RetentionReport:
        conn.execute("BEGIN IMMEDIATE")
        try:
            report = ops.apply_retention(conn, now_us, policy)
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise
        # Deletions only free pages for reuse once the WAL is folded back; TRUNCATE also returns the WAL's
        # disk space (stack.md §7: checkpoint after maintenance).
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        logger.info("retention applied: %s", report)
        return report

    def _auto_compact(self, conn: sqlite3.Connection) -> None:
        if self._auto_compact_us <= 0:
            return
        now_us = self._clock.now_us()
        if self._next_auto_compact_us is not None and now_us < self._next_auto_compact_us:
            return
        self._next_auto_compact_us = now_us + self._auto_compact_us
        try:
            self._compact(conn, now_us, COMPACT_STEP_POINTS)
        except Exception:
            logger.exception("automatic compaction failed; it will be tried again")

    def _fail_leftovers(self) -> None:
        """Fail any task that slipped in after the stop task, so that no caller waits for ever."""
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                return
            if task.future.set_running_or_notify_cancel():
                task.future.set_exception(StoreClosed("the store was closed before this write was applied"))


def _as_store_error(err: BaseException) -> StoreError:
    if isinstance(err, StoreError):
        return err
    if isinstance(err, _GroupAborted) and err.__cause__ is not None:
        err = err.__cause__
    wrapped = StoreError(f"the store could not complete a write: {type(err).__name__}: {err}")
    wrapped.__cause__ = err
    return wrapped
