"""The embedded store: one SQLite file (WAL, synchronous=FULL) holding samples as compressed chunks.

Samples go in as one row per ingested block and signal (timestamps and quantised values, each a pcodec
blob), not one row per point: that removes the per-row cost that made SQLite slow for time series
(docs/stack.md §7) while keeping SQLite's strengths: stdlib, ~1 MiB of memory, relational data in the same
file, and readers in other processes beside the writer. 1-minute and 1-hour rollups are upserted in the
same transaction as the samples.

Writes go through the single writer thread (:mod:`cadence.store.sqlite.writer`); reads use one
connection per reading thread, each read in one transaction, so a read never sees part of a batch.

>>> import tempfile, numpy as np
>>> from pathlib import Path
>>> from cadence.domain import Batch, IdempotencyKey, SampleBlock, SignalSpec
>>> with tempfile.TemporaryDirectory() as tmp, SqliteStore.for_tests(Path(tmp)) as store:
...     store.register_signals("P01", [SignalSpec("oil_temp", "°C", sampling_hz=1, resolution=0.1)])
...     block = SampleBlock.regular("oil_temp", t0_us=0, dt_us=1_000_000, values=[41.5, 41.6])
...     batch = Batch(IdempotencyKey("gw", 1, 0), "P01", samples=(block,), digest=b"d")
...     store.append([batch]), store.append([batch])
...     store.series("P01", "oil_temp", 0, 10_000_000).values.tolist()
([<AppendOutcome.STORED: 'stored'>], [<AppendOutcome.DUPLICATE: 'duplicate'>])
[41.5, 41.6]
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from cadence.clock import WallClock
from cadence.domain.alarms import Alarm
from cadence.domain.batch import Batch
from cadence.domain.cycles import Stroke
from cadence.domain.operator import LogbookNote, OrderEvent, OrderKind, ScrapDeclaration, StopReason
from cadence.domain.samples import F64, I64
from cadence.domain.signals import SignalSpec
from cadence.domain.states import MachineState, StateChange
from cadence.domain.workorders import WorkOrder, WorkOrderEvent, WorkOrderStatus
from cadence.errors import NotFound, StoreClosed, StoreError, WorkOrderConflict
from cadence.ports import (
    AppendOutcome,
    Clock,
    HealthPoint,
    HealthProgress,
    KpiDayPool,
    KpiRollup,
    KpiStatus,
    LabelledEpisode,
    LatestValue,
    MachineCounts,
    OrderWindow,
    QuarantineItem,
    Resolution,
    RetentionPolicy,
    RetentionReport,
    SeriesData,
    SpcLimitsRecord,
    SpcProgress,
    StoreStats,
    TraceGroup,
    WindowGroup,
    empty_series,
)
from cadence.store import codecs
from cadence.store.sqlite import ops, schema
from cadence.store.sqlite.writer import (
    AckAlarmTask,
    AlarmTask,
    AppendTask,
    CheckpointTask,
    ClearAlarmTask,
    CompactTask,
    HealthAdvanceTask,
    NoteTask,
    OrderEventTask,
    PutKpiTask,
    QuarantineTask,
    RegisterTask,
    RetentionTask,
    ScrapTask,
    SpcAdvanceTask,
    SpcLimitsTask,
    StopReasonTask,
    StoreWriter,
    Task,
    WorkOrderTask,
)

logger = logging.getLogger(__name__)

# Correlates a subquery's row (``later``) with the outer stop_reasons row: the same stop of the same machine.
_SAME_STOP = "later.machine = stop_reasons.machine AND later.stop_start_us = stop_reasons.stop_start_us"

T = TypeVar("T")

# How long a synchronous write (append, register, quarantine…) waits for its commit before giving up, in
# seconds: far above any healthy commit (milliseconds), short enough to surface a stuck disk.
WRITE_TIMEOUT_S = 120.0
_BUCKET_US = {Resolution.MINUTE: ops.MINUTE_US, Resolution.HOUR: ops.HOUR_US}
# The time elements of kpi_days, unknown last: a day whose others are all zero never reported.
_POOL_TIMES = (
    "running_us",
    "idle_us",
    "micro_stop_us",
    "down_us",
    "planned_stop_us",
    "setup_us",
    "no_order_us",
    "unknown_us",
)
_ROLLUP_TABLE = {Resolution.MINUTE: "rollup_1m", Resolution.HOUR: "rollup_1h"}


class SqliteStore:
    """:class:`cadence.ports.TimeSeriesStore` on one SQLite file.

    Parameters
    ----------
    path:
        The database file (created with its schema when absent).
    commit_interval_ms:
        Longest a write waits for others to share its commit, when several senders are writing at once.
    max_backlog:
        Write tasks queued before :meth:`submit` raises :class:`~cadence.errors.StoreBacklogFull`.
    compact_after_s:
        Small chunks whose newest sample is older than this are merged by compaction.
    auto_compact_interval_s:
        The writer compacts by itself this often when idle (0 = only when :meth:`compact` is called).
    clock:
        Time source for ``committed_us`` in the ledger and for automatic compaction.
    read_only:
        Open without a writer (for a second process reading beside the one that writes): writes raise
        :class:`~cadence.errors.StoreError`.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        commit_interval_ms: float = 20.0,
        max_backlog: int = 2_000,
        compact_after_s: float = 300.0,
        auto_compact_interval_s: float = 60.0,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> None:
        if max_backlog < 1:
            raise ValueError(f"max_backlog must be >= 1, got {max_backlog}")
        if commit_interval_ms < 0 or compact_after_s < 0 or auto_compact_interval_s < 0:
            raise ValueError("commit_interval_ms, compact_after_s and auto_compact_interval_s must be >= 0")
        self.path = Path(path)
        self.read_only = read_only
        self._clock: Clock = clock if clock is not None else WallClock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._writer: StoreWriter | None = None
        try:
            if read_only:
                if not self.path.is_file():  # connecting would create an empty file
                    raise StoreError(f"no store at {self.path}", path=str(self.path))
                self._read(schema.check)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                setup = self._open(writer=True)
                try:
                    schema.create_or_check(setup)
                finally:
                    setup.close()
                self._writer = StoreWriter(
                    lambda: self._open(writer=True),
                    self._clock,
                    max_backlog=max_backlog,
                    commit_interval_ms=commit_interval_ms,
                    compact_after_s=compact_after_s,
                    auto_compact_interval_s=auto_compact_interval_s,
                )
                self._writer.start()
        except sqlite3.Error as err:
            self._close_readers()
            raise StoreError(f"cannot open the store {self.path}: {err}", path=str(self.path)) from err
        except BaseException:
            self._close_readers()
            raise
        logger.info("store opened: %s%s", self.path, " (read-only)" if read_only else "")

    @classmethod
    @contextmanager
    def for_tests(cls, tmp_path: Path, **options: Any) -> Iterator[SqliteStore]:
        """A store in ``tmp_path`` (the same file each time: reopening sees the same data), closed on exit.

        Automatic compaction is off unless asked for, so that tests see exactly the chunks they wrote.
        """
        store = cls(tmp_path / "cadence-store.sqlite", **{"auto_compact_interval_s": 0.0, **options})
        try:
            yield store
        finally:
            store.close()

    # --- connections -----------------------------------------------------------------------------------

    def _open(self, *, writer: bool) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE / COMMIT), never implicit.
        # check_same_thread=False for readers only so that close() can close them from its own thread;
        # each is still used by exactly one thread.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=writer)
        try:
            schema.configure(conn, writer=writer)
        except BaseException:
            conn.close()
            raise
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StoreClosed("the store is closed")
            conn = self._open(writer=False)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``query`` in one read transaction (one consistent snapshot), then end it at once.

        Ending it promptly matters: an open read transaction pins the WAL, which then grows without bound
        (stack.md §7, checkpoint starvation).
        """
        if self._closed:
            raise StoreClosed("the store is closed")
        conn = self._reader()
        try:
            conn.execute("BEGIN")
            try:
                return query(conn)
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise StoreError(f"store read failed: {err}", path=str(self.path)) from err

    def _close_readers(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            try:
                conn.close()
            except sqlite3.Error:
                logger.exception("closing a reader connection failed")

    # --- writes ----------------------------------------------------------------------------------------

    def _require_writer(self) -> StoreWriter:
        if self._closed:
            raise StoreClosed("the store is closed; no more writes are accepted")
        if self._writer is None:
            raise StoreError(f"the store {self.path} was opened read-only", path=str(self.path))
        return self._writer

    def _submit(self, task: Task) -> Future[Any]:
        self._require_writer().submit(task)
        return task.future

    def _wait(self, task: Task) -> Any:
        self._refuse_writer_thread()
        return self._submit(task).result(timeout=WRITE_TIMEOUT_S)

    def _refuse_writer_thread(self) -> None:
        # A future's done-callback runs on the writer thread; waiting there for another write would wait for
        # the writer itself until WRITE_TIMEOUT_S.
        if self._writer is not None and threading.current_thread() is self._writer:
            raise StoreError(
                "a synchronous store write was called on the store's writer thread (from a future callback):"
                " hand the work to another thread, or use submit()"
            )

    def submit(self, batches: Sequence[Batch]) -> Future[list[AppendOutcome]]:
        """Queue batches for the writer; the future resolves after their COMMIT, one outcome per batch.

        The batches of one call are atomic: if one cannot be stored (an unregistered signal, a value that
        cannot be quantised), none is, and the future fails with :class:`~cadence.errors.StoreError`.
        Raises :class:`~cadence.errors.StoreBacklogFull` at once when the writer's queue is full.
        """
        future: Future[list[AppendOutcome]] = self._submit(AppendTask(batches=tuple(batches)))
        return future

    def append(self, batches: Sequence[Batch]) -> list[AppendOutcome]:
        """:meth:`submit` and wait for the commit."""
        self._refuse_writer_thread()
        outcomes: list[AppendOutcome] = self.submit(batches).result(timeout=WRITE_TIMEOUT_S)
        return outcomes

    def register_signals(self, machine: str, signals: Sequence[SignalSpec]) -> None:
        """Declare (or update) the signals of a machine; samples of undeclared signals are refused."""
        self._wait(RegisterTask(machine=machine, signals=tuple(signals)))

    def quarantine(self, item: QuarantineItem) -> None:
        """Keep a refused message (payload truncated to 64 KiB, real size kept); waits for the commit."""
        self._wait(QuarantineTask(item=item))

    def record_alarm(self, alarm: Alarm) -> int:
        """Record a new alarm occurrence; waits for the commit and returns the alarm's id."""
        alarm_id: int = self._wait(AlarmTask(alarm=alarm))
        return alarm_id

    def acknowledge_alarm(self, alarm_id: int, user: str, ts_us: int) -> Alarm:
        """Acknowledge an alarm (the first acknowledgement is kept); NotFound for an unknown id."""
        task = AckAlarmTask(alarm_id=alarm_id, user=user, ts_us=ts_us)
        return self._found_alarm(self._wait(task), alarm_id)

    def clear_alarm(self, alarm_id: int, ts_us: int) -> Alarm:
        """Clear an alarm (the first clearing time is kept); NotFound for an unknown id."""
        return self._found_alarm(self._wait(ClearAlarmTask(alarm_id=alarm_id, ts_us=ts_us)), alarm_id)

    @staticmethod
    def _found_alarm(alarm: Alarm | None, alarm_id: int) -> Alarm:
        # Raised here rather than in the writer, which turns every task failure into a StoreError.
        if alarm is None:
            raise NotFound(f"no alarm with id {alarm_id}", alarm_id=alarm_id)
        return alarm

    def record_stop_reason(self, reason: StopReason) -> None:
        """Append a reason for a stop (earlier ones stay as its history); waits for the commit."""
        self._wait(StopReasonTask(reason=reason))

    def record_scrap(self, scrap: ScrapDeclaration) -> None:
        """Keep a scrap declaration; waits for the commit."""
        self._wait(ScrapTask(scrap=scrap))

    def record_order_event(self, event: OrderEvent) -> None:
        """Keep an order start or end; waits for the commit."""
        self._wait(OrderEventTask(event=event))

    def record_note(self, note: LogbookNote) -> None:
        """Keep a logbook note; waits for the commit."""
        self._wait(NoteTask(note=note))

    def put_kpi_hours(
        self, hours: Sequence[KpiRollup], *, token: int, days: Sequence[tuple[str, int, int]] = ()
    ) -> None:
        """Store hour rollups, clear their dirty marks made up to ``token`` and rebuild the given day sums
        (a day with a missing or dirty hour gets none); waits for the commit."""
        self._wait(PutKpiTask(hours=tuple(hours), token=token, days=tuple(days)))

    def compact(self, now_us: int) -> int:
        """Merge small chunks older than ``compact_after_s`` (before ``now_us``); returns chunks merged.

        Runs as several writer tasks of bounded size, so appends queued meanwhile are not held up.
        """
        total = 0
        while True:
            merged: int = self._wait(CompactTask(now_us=now_us))
            if merged == 0:
                return total
            total += merged

    def apply_retention(self, now_us: int, policy: RetentionPolicy) -> RetentionReport:
        """Delete what is past its retention at ``now_us``, then truncate the WAL."""
        report: RetentionReport = self._wait(RetentionTask(now_us=now_us, policy=policy))
        return report

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """Run ``PRAGMA wal_checkpoint(mode)`` in the writer: ``(busy, wal_pages, checkpointed_pages)``."""
        result: tuple[int, int, int] = self._wait(CheckpointTask(mode=mode))
        return result

    @property
    def backlog(self) -> int:
        """Write tasks waiting for the writer (0 for a read-only store)."""
        return 0 if self._writer is None else self._writer.backlog

    def close(self) -> None:
        """Apply every queued write, checkpoint, stop the writer and close all connections; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._writer.stop()
        self._close_readers()
        logger.info("store closed: %s", self.path)

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reads -----------------------------------------------------------------------------------------

    def series(
        self, machine: str, signal: str, start_us: int, end_us: int, resolution: Resolution = Resolution.RAW
    ) -> SeriesData:
        """Samples in ``[start_us, end_us)``, sorted, one per timestamp (the first stored wins).

        For MINUTE and HOUR, one row per bucket overlapping ``[start_us, end_us)`` (bucket timestamps are
        bucket starts): ``values`` is the mean, with min, max and count.
        """
        resolution = Resolution(resolution)
        if resolution is Resolution.RAW:
            return self._read(lambda conn: _raw_series(conn, machine, signal, start_us, end_us))
        return self._read(
            lambda conn: _rollup_series(conn, machine, signal, start_us, end_us, resolution=resolution)
        )

    def latest(self, machine: str | None = None) -> list[LatestValue]:
        """The newest value of every signal (of one machine), ordered by machine and signal."""
        sql = (
            "SELECT s.machine, s.signal, l.ts_us, l.value, s.unit"
            " FROM latest l JOIN series s ON s.id = l.series_id"
        )
        params: tuple[str, ...] = ()
        if machine is not None:
            sql += " WHERE s.machine = ?"
            params = (machine,)
        rows = self._read(lambda conn: conn.execute(sql + " ORDER BY s.machine, s.signal", params).fetchall())
        return [LatestValue(m, s, ts, v, u) for m, s, ts, v, u in rows]

    def strokes(
        self, machine: str, start_us: int, end_us: int, limit: int = 1000, with_waveform: bool = False
    ) -> list[Stroke]:
        """Strokes starting in ``[start_us, end_us)``, NEWEST FIRST, at most ``limit``.

        Newest first because the common question is "the last N strokes"; to page through a long range,
        ask again with ``end_us`` = the oldest ``start_us`` received.
        """
        columns = _STROKE_COLUMNS + (", waveform" if with_waveform else ", NULL")
        rows = self._read(
            lambda conn: conn.execute(
                f"SELECT {columns} FROM strokes WHERE machine = ? AND start_us >= ? AND start_us < ?"
                " ORDER BY start_us DESC LIMIT ?",
                (machine, start_us, end_us, limit),
            ).fetchall()
        )
        return [_stroke_of(row) for row in rows]

    def find_strokes(
        self,
        *,
        serial: str | None = None,
        lot: str | None = None,
        material_lot: str | None = None,
        order: str | None = None,
        die: str | None = None,
        machine: str | None = None,
        start_us: int | None = None,
        end_us: int | None = None,
        limit: int = 1000,
        with_waveform: bool = False,
        offset: int = 0,
    ) -> list[Stroke]:
        """Traceability lookup: strokes of one key, newest first, optionally narrowed by machine and time.

        Exactly one of ``serial``, ``lot``, ``material_lot``, ``order`` and ``die`` must be given: each has
        its own index (see ``EXPLAIN QUERY PLAN`` in tests/integration/test_trace_store_plan.py), so a search
        never scans the strokes table. ``start_us``/``end_us`` bound the stroke start, half-open.
        """
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        column, value = _trace_key(serial=serial, lot=lot, material_lot=material_lot, order=order, die=die)
        sql, params = _trace_query(column, value, machine, start_us, end_us, with_waveform=with_waveform)
        rows = self._read(lambda conn: conn.execute(sql + " OFFSET ?", (*params, limit, offset)).fetchall())
        return [_stroke_of(row) for row in rows]

    def trace_summary(
        self,
        *,
        serial: str | None = None,
        lot: str | None = None,
        material_lot: str | None = None,
        order: str | None = None,
        die: str | None = None,
        machine: str | None = None,
        start_us: int | None = None,
        end_us: int | None = None,
    ) -> list[TraceGroup]:
        """Counts of one key's strokes per order, part, lots, press and die, summed by SQLite.

        A material lot is answered from the covering index ``strokes_material_lot_trace`` alone, in its
        order (no table row is read, nothing is sorted but the groups; tests/integration/
        test_trace_store_plan.py checks the plan), so a heat of 20,000 parts costs one pass over 20,000
        small index entries instead of 20,000 decoded strokes.
        """
        column, value = _trace_key(serial=serial, lot=lot, material_lot=material_lot, order=order, die=die)
        sql, params = _trace_summary_query(column, value, machine, start_us, end_us)
        rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
        return [
            TraceGroup(o, part, lot_, mat, m, d, int(good), int(n) - int(good), first, last)
            for mat, o, part, lot_, m, d, good, n, first, last in rows
        ]

    def states(self, machine: str, start_us: int, end_us: int) -> list[StateChange]:
        """State changes in ``[start_us, end_us)``, oldest first."""
        rows = self._read(lambda conn: conn.execute(_STATES_IN, (machine, start_us, end_us)).fetchall())
        return [StateChange(ts, MachineState(state), reason) for ts, state, reason in rows]

    def state_at(self, machine: str, ts_us: int) -> StateChange | None:
        """The change in force at ``ts_us``: one seek on the (machine, ts_us) primary key."""
        row = self._read(lambda conn: conn.execute(_STATE_AT, (machine, ts_us)).fetchone())
        return None if row is None else StateChange(row[0], MachineState(row[1]), row[2])

    def states_since(self, machine: str, start_us: int, end_us: int) -> list[StateChange]:
        """The change in force at ``start_us`` (if older) and those in ``[start_us, end_us)``, oldest first.

        Both reads are in one transaction, so a change committed between them cannot be missed or doubled.
        """

        def query(conn: sqlite3.Connection) -> list[tuple[int, str, str | None]]:
            rows: list[tuple[int, str, str | None]] = []
            in_force = conn.execute(_STATE_AT, (machine, start_us)).fetchone()
            if in_force is not None and in_force[0] < start_us:  # else the range below reads it
                rows.append(in_force)
            rows += conn.execute(_STATES_IN, (machine, start_us, end_us)).fetchall()
            return rows

        return [StateChange(ts, MachineState(state), reason) for ts, state, reason in self._read(query)]

    def alarms(
        self,
        limit: int = 100,
        *,
        active: bool | None = None,
        unacknowledged: bool | None = None,
        machine: str | None = None,
    ) -> list[Alarm]:
        """The most recent alarms, newest first; each filter set to None does not filter."""
        where: list[str] = []
        params: list[object] = []
        if active is not None:
            where.append("cleared_us IS NULL" if active else "cleared_us IS NOT NULL")
        if unacknowledged is not None:
            where.append("acked_us IS NULL" if unacknowledged else "acked_us IS NOT NULL")
        if machine is not None:
            where.append("+machine = ?")
            params.append(machine)
        sql = f"SELECT {ops.ALARM_COLUMNS} FROM alarms"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY raised_us DESC, id DESC LIMIT ?"
        rows = self._read(lambda conn: conn.execute(sql, (*params, limit)).fetchall())
        return [ops.alarm_of(row) for row in rows]

    def stop_reasons(
        self, machine: str, start_us: int, end_us: int, *, history: bool = False
    ) -> list[StopReason]:
        """Reasons of the stops that began in ``[start_us, end_us)``: the last recorded per stop, or all."""
        where = "machine = ? AND stop_start_us >= ? AND stop_start_us < ?"
        if not history:
            # The highest id is the last recorded: ids follow the writer's order, the clock may step back.
            where += " AND id = (SELECT MAX(id) FROM stop_reasons AS later WHERE " + _SAME_STOP + ")"
        sql = f"SELECT {ops.STOP_REASON_COLUMNS} FROM stop_reasons WHERE {where} ORDER BY stop_start_us, id"
        rows = self._read(lambda conn: conn.execute(sql, (machine, start_us, end_us)).fetchall())
        return [ops.stop_reason_of(row) for row in rows]

    def scrap_declarations(self, machine: str, start_us: int, end_us: int) -> list[ScrapDeclaration]:
        """Scrap declared for ``machine`` in ``[start_us, end_us)``, oldest first."""
        sql = (
            f"SELECT {ops.SCRAP_COLUMNS} FROM scrap_declarations"
            " WHERE machine = ? AND at_us >= ? AND at_us < ? ORDER BY at_us, id"
        )
        rows = self._read(lambda conn: conn.execute(sql, (machine, start_us, end_us)).fetchall())
        return [ops.scrap_of(row) for row in rows]

    def order_events(self, machine: str, start_us: int, end_us: int) -> list[OrderEvent]:
        """Order starts and ends of ``machine`` in ``[start_us, end_us)``, oldest first."""
        sql = (
            f"SELECT {ops.ORDER_EVENT_COLUMNS} FROM order_events"
            " WHERE machine = ? AND at_us >= ? AND at_us < ? ORDER BY at_us, id"
        )
        rows = self._read(lambda conn: conn.execute(sql, (machine, start_us, end_us)).fetchall())
        return [ops.order_event_of(row) for row in rows]

    def last_order_event(self, machine: str) -> OrderEvent | None:
        """The newest order event of ``machine``, None if it never had one."""
        sql = (
            f"SELECT {ops.ORDER_EVENT_COLUMNS} FROM order_events WHERE machine = ?"
            " ORDER BY at_us DESC, id DESC LIMIT 1"
        )
        row = self._read(lambda conn: conn.execute(sql, (machine,)).fetchone())
        return None if row is None else ops.order_event_of(row)

    def order_windows(self, machine: str, start_us: int, end_us: int) -> list[OrderWindow]:
        """Tablet orders in force in ``[start_us, end_us)``: three seeks on ``order_events_at`` (the event in
        force at ``start_us``, those in the range, the first one after it to close the last window)."""
        cols = f"{ops.ORDER_EVENT_COLUMNS}, id"

        def query(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            before = conn.execute(
                f"SELECT {cols} FROM order_events WHERE machine = ? AND at_us < ?"
                " ORDER BY at_us DESC, id DESC LIMIT 1",
                (machine, start_us),
            ).fetchall()
            inside = conn.execute(
                f"SELECT {cols} FROM order_events WHERE machine = ? AND at_us >= ? AND at_us < ?"
                " ORDER BY at_us, id",
                (machine, start_us, end_us),
            ).fetchall()
            after = conn.execute(
                f"SELECT {cols} FROM order_events WHERE machine = ? AND at_us >= ?"
                " ORDER BY at_us, id LIMIT 1",
                (machine, end_us),
            ).fetchall()
            return before + inside + after

        rows = self._read(query)
        events = [ops.order_event_of(row[:-1]) for row in rows]
        windows = []
        # The last row (when past end_us) only closes the window before it.
        for event, following in zip(events, [*events[1:], None], strict=False):
            if event.kind is OrderKind.START and event.at_us < end_us:
                windows.append(OrderWindow(event, None if following is None else following.at_us))
        # A start followed at the same instant by another event is in force for no instant at all.
        return [w for w in windows if w.end_us is None or w.end_us > max(start_us, w.start.at_us)]

    def order_window_summary(
        self, *, lot: str | None = None, material_lot: str | None = None
    ) -> list[WindowGroup]:
        """Windows from ``order_events`` (an index on the key, then one seek on ``order_events_at`` each for
        the next event), strokes from the (machine, start_us) key: both read in one transaction."""
        column, value = _window_key(lot=lot, material_lot=material_lot)

        def query(conn: sqlite3.Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
            windows = conn.execute(
                f"{_windows_cte(column)} SELECT {_EVENT_COLUMNS_E}, w.hi, w.id FROM w"
                " JOIN order_events AS e ON e.id = w.id",
                (value,),
            ).fetchall()
            groups = conn.execute(_window_summary_query(column), (value,)).fetchall()
            return windows, groups

        window_rows, group_rows = self._read(query)
        windows = {row[-1]: OrderWindow(ops.order_event_of(row[:-2]), row[-2]) for row in window_rows}
        return [
            WindowGroup(
                windows[wid],
                TraceGroup(
                    o,
                    part,
                    lot_,
                    mat,
                    windows[wid].start.machine,
                    d,
                    int(good),
                    int(n) - int(good),
                    first,
                    last,
                ),
            )
            for wid, o, part, lot_, mat, d, good, n, first, last in group_rows
        ]

    def find_strokes_with_orders(
        self, *, lot: str | None = None, material_lot: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[Stroke]:
        """The key's strokes (its index) and those of its tablet windows lacking it ((machine, start_us)
        key), merged newest first by SQLite; the sort holds at most ``offset + limit`` rows."""
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        column, value = _window_key(lot=lot, material_lot=material_lot)
        sql = _window_strokes_query(column)
        rows = self._read(lambda conn: conn.execute(sql, (value, value, limit, offset)).fetchall())
        return [_stroke_of(row) for row in rows]

    def logbook(self, start_us: int, end_us: int, machine: str | None = None) -> list[LogbookNote]:
        """Notes written in ``[start_us, end_us)``, oldest first, optionally of one machine only."""
        where = "at_us >= ? AND at_us < ?"
        params: list[object] = [start_us, end_us]
        if machine is not None:
            where = "machine = ? AND " + where
            params.insert(0, machine)
        sql = f"SELECT {ops.NOTE_COLUMNS} FROM logbook WHERE {where} ORDER BY at_us, id"
        rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
        return [ops.note_of(row) for row in rows]

    # --- live SPC ------------------------------------------------------------------------------------

    def record_spc_limits(self, record: SpcLimitsRecord) -> int:
        """Append a version of the limits of a chart; returns its id. Waits for the commit."""
        result: int = self._wait(SpcLimitsTask(record=record))
        return result

    def spc_limits_history(self, machine: str, feature: str, limit: int = 100) -> list[SpcLimitsRecord]:
        """Versions of the limits of ``(machine, feature)``, newest first."""
        sql = (
            f"SELECT {ops.SPC_LIMITS_COLUMNS} FROM spc_limits WHERE machine = ? AND feature = ?"
            " ORDER BY id DESC LIMIT ?"
        )
        rows = self._read(lambda conn: conn.execute(sql, (machine, feature, limit)).fetchall())
        return [ops.spc_limits_of(row) for row in rows]

    def spc_limits_in_force(self, machine: str | None = None) -> list[SpcLimitsRecord]:
        """The latest version of every chart (of ``machine`` when given), by machine then feature."""
        where = "id IN (SELECT MAX(id) FROM spc_limits GROUP BY machine, feature)"
        params: list[object] = []
        if machine is not None:
            where += " AND machine = ?"
            params.append(machine)
        sql = f"SELECT {ops.SPC_LIMITS_COLUMNS} FROM spc_limits WHERE {where} ORDER BY machine, feature"
        rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
        return [ops.spc_limits_of(row) for row in rows]

    def spc_progress(self, machine: str, feature: str) -> SpcProgress | None:
        """The evaluation watermark of ``(machine, feature)``, None before the first evaluation."""
        sql = f"SELECT {ops.SPC_PROGRESS_COLUMNS} FROM spc_progress WHERE machine = ? AND feature = ?"
        row = self._read(lambda conn: conn.execute(sql, (machine, feature)).fetchone())
        return None if row is None else ops.spc_progress_of(row)

    def advance_spc(
        self,
        progress: SpcProgress,
        *,
        previous_us: int | None,
        alarms: Sequence[Alarm] = (),
        clears: Sequence[tuple[int, int]] = (),
    ) -> list[int] | None:
        """Alarms, clearings and the new watermark in one transaction, if the watermark is still
        ``previous_us``; returns the alarm ids, or None when another evaluator moved it first."""
        task = SpcAdvanceTask(
            progress=progress, previous_us=previous_us, alarms=tuple(alarms), clears=tuple(clears)
        )
        result: list[int] | None = self._wait(task)
        return result

    # --- press health --------------------------------------------------------------------------------

    def health_progress(self, machine: str) -> HealthProgress | None:
        """Where health evaluation of ``machine`` stands; None before its first pass."""
        sql = f"SELECT {ops.HEALTH_PROGRESS_COLUMNS} FROM health_progress WHERE machine = ?"
        row = self._read(lambda conn: conn.execute(sql, (machine,)).fetchone())
        return None if row is None else HealthProgress(*row)

    def advance_health(
        self,
        progress: HealthProgress,
        *,
        previous_us: int | None,
        points: Sequence[HealthPoint] = (),
        alarms: Sequence[Alarm] = (),
        clears: Sequence[tuple[int, int]] = (),
        episodes: Sequence[LabelledEpisode] = (),
    ) -> list[int] | None:
        """Points, alarms, clearings, labelled episodes and the new state in one transaction, if the
        watermark is still ``previous_us``; the alarm ids, or None when another evaluator moved it first."""
        task = HealthAdvanceTask(
            progress=progress,
            previous_us=previous_us,
            hours=tuple(points),
            alarms=tuple(alarms),
            clears=tuple(clears),
            episodes=tuple(episodes),
        )
        result: list[int] | None = self._wait(task)
        return result

    def health_episodes(self, limit: int = 1000) -> list[LabelledEpisode]:
        """Labelled episodes of every press, newest first."""
        sql = (
            "SELECT order_id, machine, mode, ended_us, vector FROM health_episodes"
            " ORDER BY ended_us DESC, order_id DESC LIMIT ?"
        )
        rows = self._read(lambda conn: conn.execute(sql, (limit,)).fetchall())
        return [LabelledEpisode(o, m, mode, e, json.loads(v)) for o, m, mode, e, v in rows]

    def health_points(
        self, machine: str, start_us: int, end_us: int, limit: int = 10_000
    ) -> list[HealthPoint]:
        """Hourly health points of ``machine`` with ``start_us <= ts_us < end_us``, oldest first."""
        sql = (
            "SELECT ts_us, point FROM health_points WHERE machine = ? AND ts_us >= ? AND ts_us < ?"
            " ORDER BY ts_us LIMIT ?"
        )
        rows = self._read(lambda conn: conn.execute(sql, (machine, start_us, end_us, limit)).fetchall())
        return [ops.health_point_of(machine, ts, text) for ts, text in rows]

    # --- work orders ---------------------------------------------------------------------------------

    def record_work_order(self, order: WorkOrder, event: WorkOrderEvent) -> int:
        """Store a new work order with its first event in one transaction; returns its id."""
        result: int = self._wait(WorkOrderTask(order=order, event=event))
        return result

    def update_work_order(
        self, order: WorkOrder, event: WorkOrderEvent, *, expected_status: WorkOrderStatus | None = None
    ) -> None:
        """Replace a work order and append its event (only if its status is still ``expected_status``)."""
        task = WorkOrderTask(order=order, event=event, update=True, expected=expected_status)
        stored: str | None = self._wait(task)
        # Raised here rather than in the writer, which turns every task failure into a StoreError.
        if stored is None:
            raise NotFound(f"no work order with id {order.id}", order_id=order.id)
        if expected_status is not None and stored != expected_status.value:
            raise WorkOrderConflict(
                f"work order {order.id} is now {stored}, not {expected_status.value}: changed meanwhile",
                order_id=order.id,
                order_status=stored,
            )

    def work_order(self, order_id: int) -> WorkOrder | None:
        """The work order with this id, None if there is none."""
        sql = f"SELECT {ops.WORK_ORDER_COLUMNS} FROM work_orders WHERE id = ?"
        row = self._read(lambda conn: conn.execute(sql, (order_id,)).fetchone())
        return None if row is None else ops.work_order_of(row)

    def work_orders(
        self,
        *,
        machine: str | None = None,
        status: WorkOrderStatus | None = None,
        open_only: bool = False,
        subsystem: str | None = None,
        alarm_id: int | None = None,
        closed_since_us: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[WorkOrder]:
        """Work orders newest first (creation time, then id); each filter left at None does not filter."""
        where: list[str] = []
        params: list[object] = []
        for column, value in (("machine", machine), ("subsystem", subsystem), ("alarm_id", alarm_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if status is not None:
            where.append("status = ?")
            params.append(WorkOrderStatus(status).value)
        if open_only:
            where.append("status NOT IN (?, ?)")
            params.extend((WorkOrderStatus.CLOSED.value, WorkOrderStatus.CANCELLED.value))
        if closed_since_us is not None:
            where.append("closed_us >= ?")
            params.append(closed_since_us)
        sql = f"SELECT {ops.WORK_ORDER_COLUMNS} FROM work_orders"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_us DESC, id DESC LIMIT ? OFFSET ?"
        rows = self._read(lambda conn: conn.execute(sql, (*params, limit, offset)).fetchall())
        return [ops.work_order_of(row) for row in rows]

    def work_order_events(self, order_id: int) -> list[WorkOrderEvent]:
        """The audit trail of one work order, oldest first."""
        sql = f"SELECT {ops.WORK_ORDER_EVENT_COLUMNS} FROM work_order_events WHERE order_id = ? ORDER BY id"
        rows = self._read(lambda conn: conn.execute(sql, (order_id,)).fetchall())
        return [ops.work_order_event_of(row) for row in rows]

    def alarm(self, alarm_id: int) -> Alarm | None:
        """One alarm by id, None if there is none."""
        sql = f"SELECT {ops.ALARM_COLUMNS} FROM alarms WHERE id = ?"
        row = self._read(lambda conn: conn.execute(sql, (alarm_id,)).fetchone())
        return None if row is None else ops.alarm_of(row)

    def kpi_status(self, machine: str) -> KpiStatus:
        """Dirty hours, invalidation token and extent of ``machine``'s KPI rollups, read in one snapshot."""

        def query(conn: sqlite3.Connection) -> KpiStatus:
            token = ops.kpi_token(conn)
            dirty = conn.execute(
                "SELECT hour_us FROM kpi_dirty WHERE machine = ? ORDER BY hour_us", (machine,)
            ).fetchall()
            last = conn.execute(
                "SELECT end_us FROM kpi_hours WHERE machine = ? ORDER BY start_us DESC LIMIT 1", (machine,)
            ).fetchone()
            first_state = conn.execute(
                "SELECT min(ts_us) FROM states WHERE machine = ?", (machine,)
            ).fetchone()
            first_stroke = conn.execute(
                "SELECT min(start_us) FROM strokes WHERE machine = ?", (machine,)
            ).fetchone()
            firsts = [r[0] for r in (first_state, first_stroke) if r[0] is not None]
            return KpiStatus(
                machine=machine,
                first_data_us=min(firsts) if firsts else None,
                rolled_until_us=None if last is None else int(last[0]),
                dirty_hours=tuple(int(r[0]) for r in dirty),
                token=token,
            )

        return self._read(query)

    def kpi_hours(self, machine: str, start_us: int, end_us: int) -> list[KpiRollup]:
        """Clean hour rollups of ``machine`` within ``[start_us, end_us)``, oldest first."""
        sql = (
            f"SELECT {ops.KPI_COLUMNS} FROM kpi_hours WHERE machine = ? AND start_us >= ? AND start_us < ?"
            " AND end_us <= ? AND NOT EXISTS (SELECT 1 FROM kpi_dirty d"
            " WHERE d.machine = kpi_hours.machine AND d.hour_us = kpi_hours.start_us) ORDER BY start_us"
        )
        rows = self._read(lambda conn: conn.execute(sql, (machine, start_us, end_us, end_us)).fetchall())
        return [ops.kpi_of(row) for row in rows]

    def kpi_days(
        self, machines: Sequence[str], start_us: int, end_us: int, *, summed: bool = False
    ) -> list[KpiRollup]:
        """Day sums of ``machines`` within ``[start_us, end_us)``, by machine (as given) then time. With
        ``summed``, one row per machine that has any, summed by SQLite: from the first day's start to the
        last day's end, with the first day's down carry (its time elements add up to less than its span
        when days are missing in between)."""

        def query(conn: sqlite3.Connection) -> list[KpiRollup]:
            wanted = list(dict.fromkeys(machines))
            marks = ",".join("?" * len(wanted))
            where = f"machine IN ({marks}) AND start_us >= ? AND start_us < ? AND end_us <= ?"
            params = (*wanted, start_us, end_us, end_us)
            if not summed:
                rows = conn.execute(
                    f"SELECT {ops.KPI_COLUMNS} FROM kpi_days WHERE {where} ORDER BY machine, start_us", params
                ).fetchall()
                order = {m: k for k, m in enumerate(wanted)}
                rows.sort(key=lambda row: order[row[0]])  # stable: time order kept within a machine
                return [ops.kpi_of(row) for row in rows]
            sums = {
                row[0]: row
                for row in conn.execute(
                    f"SELECT {ops.KPI_SUMS} FROM kpi_days WHERE {where} GROUP BY machine", params
                ).fetchall()
            }
            # The first day's carry: the row whose start is its machine's smallest.
            carry = dict(
                conn.execute(
                    f"SELECT machine, down_carry FROM kpi_days WHERE {where}"
                    f" AND (machine, start_us) IN (SELECT machine, min(start_us) FROM kpi_days WHERE {where}"
                    " GROUP BY machine)",
                    params * 2,
                ).fetchall()
            )
            # Stop time by reason: each machine's day objects as one JSON array, decoded at once (a tenth of
            # the time json_each takes to sum them in SQL).
            downtime: dict[str, dict[str, int]] = {}
            for machine, array in conn.execute(
                "SELECT machine, '[' || group_concat(downtime) || ']' FROM kpi_days"
                f" WHERE {where} GROUP BY machine",
                params,
            ):
                total = downtime.setdefault(machine, {})
                for day in ops.decode_downtime_list(array):
                    for key, us in day.items():
                        total[key] = total.get(key, 0) + us
            return [
                ops.kpi_of((*sums[m][:-3], carry[m], sums[m][-2], json.dumps(downtime.get(m, {}))))
                for m in wanted
                if m in sums
            ]

        return self._read(query)

    def kpi_day_pools(
        self, machines: Sequence[str], start_us: int, end_us: int, *, skip_missing: bool = False
    ) -> list[KpiDayPool]:
        """Day sums of ``machines`` within ``[start_us, end_us)`` pooled by day in SQL (the port's contract):
        one aggregate row per day and kind (pooled or skipped), a year of a plant is 365 rows instead of
        7,300 rollups built in Python."""

        def query(conn: sqlite3.Connection) -> list[KpiDayPool]:
            wanted = list(dict.fromkeys(machines))
            if not wanted:
                return []
            marks = ",".join("?" * len(wanted))
            where = f"machine IN ({marks}) AND start_us >= ? AND start_us < ? AND end_us <= ?"
            skip = int(skip_missing)
            # Row by row first (one machine, one day): the cap of declared scrap, the missing-data tests.
            rows = conn.execute(
                "SELECT start_us, end_us, counted, json_group_array(machine),"
                f" {', '.join(f'sum({c})' for c in _POOL_TIMES)},"
                " sum(pq), sum(gq - capped), sum(sq + capped), sum(rq), sum(declared), sum(pri_pq_s),"
                " sum(CASE WHEN capped > 0 THEN 0.0 ELSE pri_gq_s END),"
                " json_group_object(machine, gq - capped) FILTER (WHERE capped > 0),"
                " sum(failure_events + down_carry), sum(energy_kwh) FILTER (WHERE metered),"
                " sum(CASE WHEN metered THEN gq - capped ELSE 0 END), '[' || group_concat(downtime) || ']'"
                " FROM (SELECT *, NOT (? AND silent) AS counted,"
                " energy_kwh IS NOT NULL AND NOT (? AND energy_kwh <= 0 AND gq - capped > 0) AS metered"
                " FROM (SELECT *, min(declared, gq) AS capped,"
                f" pq = 0 AND {' + '.join(_POOL_TIMES[:-1])} = 0 AS silent"
                f" FROM kpi_days WHERE {where}))"
                " GROUP BY start_us, end_us, counted ORDER BY start_us, end_us, counted",
                (skip, skip, *wanted, start_us, end_us, end_us),
            ).fetchall()
            order = {m: k for k, m in enumerate(wanted)}
            skipped: dict[int, list[str]] = {}
            counted: dict[int, Any] = {}
            spans: dict[int, int] = {}
            for row in rows:
                spans[row[0]] = row[1]
                if row[2]:
                    counted[row[0]] = row
                else:
                    skipped[row[0]] = json.loads(row[3])
            out: list[KpiDayPool] = []
            for day, end in spans.items():
                row = counted.get(day)
                pooled = sorted(json.loads(row[3]), key=order.__getitem__) if row is not None else []
                every = tuple(sorted([*pooled, *skipped.get(day, [])], key=order.__getitem__))
                if row is None:
                    out.append(KpiDayPool(day, end, machines=every))
                    continue
                downtime: dict[str, int] = {}
                for values in ops.decode_downtime_list(row[23]):
                    for key, us in values.items():
                        downtime[key] = downtime.get(key, 0) + us
                out.append(
                    KpiDayPool(
                        day,
                        end,
                        every,
                        tuple(pooled),
                        row[4],
                        row[5],
                        row[6],
                        row[7],
                        row[8],
                        row[9],
                        row[10],
                        row[11],
                        pq=row[12],
                        gq=row[13],
                        sq=row[14],
                        rq=row[15],
                        declared=row[16],
                        pri_pq_s=row[17],
                        pri_gq_s=row[18],
                        recounted_gq=json.loads(row[19]) if row[19] not in {None, "{}"} else {},
                        failure_events=row[20],
                        energy_kwh=row[21],
                        metered_gq=row[22],
                        downtime_us=downtime,
                    )
                )
            return out

        return self._read(query)

    def quarantined(self, limit: int = 100) -> list[QuarantineItem]:
        """The most recently refused messages, newest first."""
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT received_us, channel, code, reason, payload, size, id FROM quarantine"
                " ORDER BY received_us DESC, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        )
        return [
            QuarantineItem(ts, ch, code, reason, bytes(p), size, i)
            for ts, ch, code, reason, p, size, i in rows
        ]

    def stats(self) -> StoreStats:
        """Counts and sizes. ``points`` counts samples held in chunks. A timestamp repeated under different
        keys is kept once when the batches share a commit group, and otherwise counts until compaction
        merges it away; ingest's own counters count every sample it accepted."""
        stats = self._read(_stats)
        on_disk = 0
        for suffix in ("", "-wal"):
            with suppress(FileNotFoundError):
                on_disk += os.path.getsize(f"{self.path}{suffix}")
        return StoreStats(
            points=stats.points,
            strokes=stats.strokes,
            states=stats.states,
            batches=stats.batches,
            quarantined=stats.quarantined,
            bytes_on_disk=on_disk,
            sample_bytes=stats.sample_bytes,
            chunks=stats.chunks,
            machines=stats.machines,
        )

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` or SQLite's list of problems."""
        rows = self._read(lambda conn: conn.execute("PRAGMA integrity_check").fetchall())
        return "\n".join(str(r[0]) for r in rows)


# --- read helpers --------------------------------------------------------------------------------------

_STROKE_COLUMNS = (
    "machine, n, start_us, end_us, good, features, scrap_reason, production_order, part, lot,"
    " material_lot, serial, die"
)


# The state in force at an instant and the changes of a period: both seek the (machine, ts_us) key.
_STATE_AT = (
    "SELECT ts_us, state, reason FROM states WHERE machine = ? AND ts_us <= ? ORDER BY ts_us DESC LIMIT 1"
)
_STATES_IN = (
    "SELECT ts_us, state, reason FROM states WHERE machine = ? AND ts_us >= ? AND ts_us < ? ORDER BY ts_us"
)

# What trace_summary groups by: the column order of strokes_material_lot_trace, so a heat is counted
# from that index alone, group after group, without a sort.
_TRACE_GROUP = "material_lot, production_order, part, lot, machine, die"

# Traceability keys of find_strokes and their columns; each column has an index (schema.py).
_TRACE_COLUMNS = {
    "serial": "serial",
    "lot": "lot",
    "material_lot": "material_lot",
    "order": "production_order",
    "die": "die",
}


def _trace_key(**keys: str | None) -> tuple[str, str]:
    given = [(_TRACE_COLUMNS[name], v) for name, v in keys.items() if v]
    if len(given) != 1:
        raise ValueError("give exactly one of serial, lot, material_lot, order and die")
    return given[0]


def _trace_query(
    column: str,
    value: str,
    machine: str | None,
    start_us: int | None,
    end_us: int | None,
    *,
    with_waveform: bool,
) -> tuple[str, list[object]]:
    """The SQL of a traceability search (its last parameter, the limit, left to the caller) and its
    parameters; ``column`` comes from _TRACE_COLUMNS, never from the caller.

    The unary ``+`` keeps machine and time out of index selection: otherwise SQLite may walk the
    (machine, start_us) index over a whole year of one press instead of the key's few rows.
    """
    where = [f"{column} = ?"]
    params: list[object] = [value]
    if machine is not None:
        where.append("+machine = ?")
        params.append(machine)
    if start_us is not None:
        where.append("+start_us >= ?")
        params.append(start_us)
    if end_us is not None:
        where.append("+start_us < ?")
        params.append(end_us)
    columns = _STROKE_COLUMNS + (", waveform" if with_waveform else ", NULL")
    sql = f"SELECT {columns} FROM strokes WHERE {' AND '.join(where)} ORDER BY start_us DESC LIMIT ?"
    return sql, params


def _trace_summary_query(
    column: str, value: str, machine: str | None, start_us: int | None, end_us: int | None
) -> tuple[str, list[object]]:
    """The aggregate of a traceability search: the filters of :func:`_trace_query`, counted per group."""
    select, params = _trace_query(column, value, machine, start_us, end_us, with_waveform=False)
    where = select[select.index(" WHERE ") : select.index(" ORDER BY ")]
    sql = (
        f"SELECT {_TRACE_GROUP}, SUM(good), COUNT(*), MIN(start_us), MAX(start_us) FROM strokes{where}"
        f" GROUP BY {_TRACE_GROUP} ORDER BY MAX(start_us) DESC"
    )
    return sql, params


# Tablet order windows carrying a lot or material lot (order_window_summary, find_strokes_with_orders):
# each start event with that key, up to the next event of its press (NULL: still running). The next event
# is one seek on order_events_at (machine, at_us, id); the row value compares time, then recording order.
_WINDOW_COLUMNS = {"lot": "lot", "material_lot": "material_lot"}
_EVENT_COLUMNS_E = ", ".join(f"e.{c.strip()}" for c in ops.ORDER_EVENT_COLUMNS.split(","))
_NO_END_US = 2**63 - 1


def _window_key(**keys: str | None) -> tuple[str, str]:
    given = [(_WINDOW_COLUMNS[name], v) for name, v in keys.items() if v]
    if len(given) != 1:
        raise ValueError("give exactly one of lot and material_lot")
    return given[0]


def _windows_cte(column: str) -> str:
    """``WITH w(id, machine, lo, hi)``: the windows of the start events whose ``column`` is the first
    parameter; ``column`` comes from _WINDOW_COLUMNS, never from the caller."""
    return (
        "WITH w(id, machine, lo, hi) AS (SELECT e.id, e.machine, e.at_us, ("
        "SELECT n.at_us FROM order_events AS n"
        " WHERE n.machine = e.machine AND (n.at_us, n.id) > (e.at_us, e.id)"
        " ORDER BY n.at_us, n.id LIMIT 1)"
        f" FROM order_events AS e WHERE e.{column} = ? AND e.kind = 'start')"
    )


def _window_join(column: str) -> str:
    # Strokes of a window that lack the key: the (machine, start_us) unique index gives the range.
    return (
        "FROM w JOIN strokes AS s ON s.machine = w.machine AND s.start_us >= w.lo"
        f" AND s.start_us < COALESCE(w.hi, {_NO_END_US}) WHERE s.{column} IS NULL"
    )


def _window_summary_query(column: str) -> str:
    keys = "s.production_order, s.part, s.lot, s.material_lot, s.die"
    return (
        f"{_windows_cte(column)} SELECT w.id, {keys}, SUM(s.good), COUNT(*), MIN(s.start_us), MAX(s.start_us)"
        f" {_window_join(column)} GROUP BY w.id, {keys} ORDER BY MAX(s.start_us) DESC"
    )


def _window_strokes_query(column: str) -> str:
    """Parameters: the key (windows), the key (strokes carrying it), limit, offset."""
    own = ", ".join(f"s.{c.strip()}" for c in _STROKE_COLUMNS.split(","))
    return (
        f"{_windows_cte(column)} SELECT * FROM ("
        f"SELECT {own}, NULL FROM strokes AS s WHERE s.{column} = ?"
        f" UNION ALL SELECT {own}, NULL {_window_join(column)}"
        ") ORDER BY start_us DESC, machine DESC LIMIT ? OFFSET ?"
    )


def _stroke_of(row: Sequence[Any]) -> Stroke:
    machine, n, start_us, end_us, good, features, scrap, order, part, lot, mat, serial, die, blob = row
    return Stroke(
        machine=machine,
        n=n,
        start_us=start_us,
        end_us=end_us,
        good=bool(good),
        features=json.loads(features),
        scrap_reason=scrap,
        order=order,
        part=part,
        lot=lot,
        material_lot=mat,
        serial=serial,
        die=die,
        waveform=None if blob is None else codecs.decode_waveform(bytes(blob)),
    )


def _series_id(conn: sqlite3.Connection, machine: str, signal: str) -> int | None:
    row = conn.execute("SELECT id FROM series WHERE machine = ? AND signal = ?", (machine, signal)).fetchone()
    return None if row is None else int(row[0])


def _raw_series(
    conn: sqlite3.Connection, machine: str, signal: str, start_us: int, end_us: int
) -> SeriesData:
    series_id = _series_id(conn, machine, signal)
    if series_id is None or end_us <= start_us:
        return empty_series(machine, signal, Resolution.RAW)
    rows = conn.execute(
        "SELECT resolution, ts_blob, val_blob FROM chunks"
        " WHERE series_id = ? AND end_us >= ? AND start_us < ? ORDER BY id",
        (series_id, start_us, end_us),
    ).fetchall()
    if not rows:
        return empty_series(machine, signal, Resolution.RAW)
    ts_parts: list[I64] = []
    value_parts: list[F64] = []
    for resolution, ts_blob, val_blob in rows:
        ts, values = codecs.decode_chunk(ts_blob, val_blob, resolution)
        keep = (ts >= start_us) & (ts < end_us)
        ts_parts.append(ts[keep])
        value_parts.append(values[keep])
    ts_all, values_all = np.concatenate(ts_parts), np.concatenate(value_parts)
    if len(ts_all) > 1 and not bool(
        (ts_all[1:] > ts_all[:-1]).all()
    ):  # already sorted and unique: the usual case
        ts_all, values_all = ops.sorted_unique(ts_all, values_all)
    return SeriesData(machine, signal, Resolution.RAW, ts_all, values_all)


def _rollup_series(
    conn: sqlite3.Connection, machine: str, signal: str, start_us: int, end_us: int, *, resolution: Resolution
) -> SeriesData:
    series_id = _series_id(conn, machine, signal)
    if series_id is None:
        return empty_series(machine, signal, resolution)
    width = _BUCKET_US[resolution]
    first_bucket = (start_us // width) * width
    rows = conn.execute(
        f'SELECT bucket_us, "count", "sum", "min", "max" FROM {_ROLLUP_TABLE[resolution]}'
        " WHERE series_id = ? AND bucket_us >= ? AND bucket_us < ? ORDER BY bucket_us",
        (series_id, first_bucket, end_us),
    ).fetchall()
    if not rows:
        return empty_series(machine, signal, resolution)
    table = np.array(rows, dtype=np.float64)
    buckets = np.array([r[0] for r in rows], dtype=np.int64)  # int64 exactly: µs do not fit a float64 exactly
    counts = np.array([r[1] for r in rows], dtype=np.int64)
    return SeriesData(
        machine,
        signal,
        resolution,
        buckets,
        table[:, 2] / counts,
        minimum=table[:, 3].copy(),
        maximum=table[:, 4].copy(),
        count=counts,
    )


class _Stats:
    """Counts read in one transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.points, self.chunks, self.sample_bytes = conn.execute(
            "SELECT coalesce(sum(n), 0), count(*), coalesce(sum(length(ts_blob) + length(val_blob)), 0)"
            " FROM chunks"
        ).fetchone()
        self.strokes = conn.execute("SELECT count(*) FROM strokes").fetchone()[0]
        self.states = conn.execute("SELECT count(*) FROM states").fetchone()[0]
        self.batches = conn.execute("SELECT coalesce(sum(batches), 0) FROM ingest_cursor").fetchone()[0]
        self.quarantined = conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        per: dict[str, dict[str, Any]] = {}

        def slot(machine: str) -> dict[str, Any]:
            return per.setdefault(machine, {})

        for machine, points in conn.execute(
            "SELECT s.machine, sum(c.n) FROM chunks c JOIN series s ON s.id = c.series_id GROUP BY s.machine"
        ):
            slot(machine)["points"] = points
        for machine, count in conn.execute("SELECT machine, count(*) FROM strokes GROUP BY machine"):
            slot(machine)["strokes"] = count
        for machine, count in conn.execute("SELECT machine, count(*) FROM states GROUP BY machine"):
            slot(machine)["states"] = count
        for machine, count in conn.execute("SELECT machine, batches FROM machine_totals"):
            slot(machine)["batches"] = count
        for machine, last in conn.execute(
            "SELECT s.machine, max(l.ts_us) FROM latest l JOIN series s ON s.id = l.series_id"
            " GROUP BY s.machine"
        ):
            slot(machine)["last_us"] = last
        self.machines = tuple(MachineCounts(machine, **per[machine]) for machine in sorted(per))


def _stats(conn: sqlite3.Connection) -> _Stats:
    return _Stats(conn)
