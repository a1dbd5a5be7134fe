"""Every extension point of Cadence, as typed protocols, with the value types that cross them.

Adapters implement these; the core and the services depend only on them. Built-in implementations
register through the ``cadence.stores`` entry point group exactly as a third-party backend would
(:mod:`cadence.plugins`), and each port has one contract suite in ``tests/contracts/`` run against
every implementation found.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

import numpy as np

from cadence.domain.alarms import Alarm
from cadence.domain.batch import Batch
from cadence.domain.cycles import Stroke
from cadence.domain.operator import LogbookNote, OrderEvent, ScrapDeclaration, StopReason
from cadence.domain.samples import F64, I64
from cadence.domain.signals import SignalSpec
from cadence.domain.states import StateChange
from cadence.domain.workorders import WorkOrder, WorkOrderEvent, WorkOrderStatus


class Clock(Protocol):
    """Where time comes from. Core code never reads the wall clock (:mod:`cadence.clock`)."""

    def now_us(self) -> int:
        """Microseconds since the Unix epoch, UTC."""
        ...

    def now(self) -> datetime:
        """The same instant as an aware datetime."""
        ...

    def sleep(self, seconds: float) -> None: ...


class Publisher(Protocol):
    """Where a gateway (or the simulator) sends encoded messages: MQTT, HTTP, or in-process ingest."""

    def publish(self, topic: str, payload: bytes) -> None: ...

    def close(self) -> None: ...


# --- store ---------------------------------------------------------------------------------------------


class AppendOutcome(enum.StrEnum):
    """What happened to one batch handed to the store."""

    STORED = "stored"  # committed now
    DUPLICATE = "duplicate"  # this key was committed before with the same content: nothing written
    CONFLICT = "conflict"  # this key was committed before with different content: refused


class Resolution(enum.StrEnum):
    RAW = "raw"
    MINUTE = "1m"
    HOUR = "1h"


@dataclass(frozen=True, slots=True)
class SeriesData:
    """A signal over a time range. For rollups, ``values`` is the mean and min/max/count are filled."""

    machine: str
    signal: str
    resolution: Resolution
    ts_us: I64
    values: F64
    minimum: F64 | None = None
    maximum: F64 | None = None
    count: I64 | None = None

    def __len__(self) -> int:
        return len(self.ts_us)


@dataclass(frozen=True, slots=True)
class LatestValue:
    machine: str
    signal: str
    ts_us: int
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    """A refused message, kept with the reason it was refused."""

    received_us: int
    channel: str  # "mqtt:<topic>" or "http"
    code: str
    reason: str
    payload: bytes
    size: int
    id: int | None = None


@dataclass(frozen=True, slots=True)
class MachineCounts:
    machine: str
    points: int = 0
    strokes: int = 0
    states: int = 0
    batches: int = 0
    last_us: int | None = None


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What the store holds and what it costs on disk."""

    points: int
    strokes: int
    states: int
    batches: int
    quarantined: int
    bytes_on_disk: int
    sample_bytes: int  # bytes of compressed sample chunks (timestamps and values)
    chunks: int
    machines: tuple[MachineCounts, ...] = field(default_factory=tuple)

    @property
    def bytes_per_point(self) -> float:
        return self.sample_bytes / self.points if self.points else float("nan")


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each kind of data is kept, in days (0 = for ever)."""

    raw_waveform_days: float = 7.0
    raw_slow_days: float = 90.0
    rollup_1m_days: float = 400.0
    rollup_1h_days: float = 0.0
    strokes_days: float = 15 * 366.0  # traceability: OEMs ask 15-20 years (docs/domain.md §6.3)
    stroke_waveform_days: float = 400.0
    quarantine_days: float = 90.0
    # Idempotency keys with their content digest (one row per message). Past this, a key keeps only its
    # number, folded into ranges: a replay is still recognised for ever, but a key reused with other content
    # is then taken for a replay instead of being refused as a conflict.
    ledger_days: float = 1.0

    @classmethod
    def forever(cls, **changes: float) -> RetentionPolicy:
        """Keep everything (every field 0) except what ``changes`` sets.

        >>> RetentionPolicy.forever(ledger_days=1).raw_waveform_days
        0.0
        """
        fields = dict.fromkeys(cls.__dataclass_fields__, 0.0)
        return cls(**{**fields, **changes})


@dataclass(frozen=True, slots=True)
class RetentionReport:
    chunks_deleted: int = 0
    points_deleted: int = 0
    rollup_rows_deleted: int = 0
    strokes_deleted: int = 0
    waveforms_dropped: int = 0
    quarantine_deleted: int = 0
    ledger_keys_deleted: int = 0


@dataclass(frozen=True, slots=True)
class TraceGroup:
    """Strokes of one traceability key that share order, part, lots, press and die, counted by the store.

    :meth:`TimeSeriesStore.trace_summary` returns these so a heat of tens of thousands of parts is
    summed where the data is, never loaded stroke by stroke. ``first_start_us``/``last_start_us`` bound
    the group's stroke starts.
    """

    order: str | None
    part: str | None
    lot: str | None
    material_lot: str | None
    machine: str
    die: str | None
    good: int
    scrap: int
    first_start_us: int
    last_start_us: int

    @property
    def parts(self) -> int:
        return self.good + self.scrap


@dataclass(frozen=True, slots=True)
class OrderWindow:
    """A tablet order in force on one press: from its start event up to (excluded) the next order event
    of that press, a start or an end; ``end_us`` None while it still runs. The windows of one press never
    overlap, so a stroke lies in at most one."""

    start: OrderEvent
    end_us: int | None

    def covers(self, ts_us: int) -> bool:
        return self.start.at_us <= ts_us and (self.end_us is None or ts_us < self.end_us)


@dataclass(frozen=True, slots=True)
class WindowGroup:
    """Strokes of one tablet order window lacking the searched key, counted per their own keys (None where
    the press sent none): :meth:`TimeSeriesStore.order_window_summary`."""

    window: OrderWindow
    group: TraceGroup


@dataclass(frozen=True, slots=True)
class KpiRollup:
    """KPI time elements and quantities of one machine over ``[start_us, end_us)``: one clock hour as the
    KPI refresh computes it (:mod:`cadence.services.kpi_history`), or the sum of a day's hours.

    Times are whole microseconds per interval category, so sums of hours are exact. Quantities are the
    press's own judgement; scrap declared by operators is kept apart in ``declared`` because its cap (at
    most the good parts, :func:`cadence.analytics.kpi.kpi_report`) applies to a whole period, not hour by
    hour. ``failure_events`` counts the down runs that *start* in the span; ``down_carry`` says the span
    begins inside a down run that began before it (a period starting there counts that run once).
    ``downtime_us`` is stop time by reason code, with ``unqualified`` and ``micro_stop`` keys of its own.
    ``energy_kwh`` is None for a machine without a motor power signal.
    """

    machine: str
    start_us: int
    end_us: int
    running_us: int = 0
    idle_us: int = 0
    micro_stop_us: int = 0
    down_us: int = 0
    planned_stop_us: int = 0
    setup_us: int = 0
    no_order_us: int = 0
    unknown_us: int = 0
    pq: int = 0
    gq: int = 0
    sq: int = 0
    rq: int = 0
    declared: int = 0
    pri_pq_s: float = 0.0
    pri_gq_s: float = 0.0
    failure_events: int = 0
    down_carry: bool = False
    energy_kwh: float | None = None
    downtime_us: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KpiDayPool:
    """The day sums of several machines over one day, pooled the way KPI figures pool
    (:func:`cadence.services.kpi_history.pool`: sums, so every ratio is a ratio of sums).

    What is not additive is done row by row, one machine and one day, before summing: declared scrap is
    capped at that row's good parts (taken from ``gq``, added to ``sq``, as
    :func:`cadence.analytics.kpi.kpi_report` caps it over a period), and each row's ``down_carry`` counts as
    a failure event (a day asked alone counts the breakdown in progress at midnight). PRI·GQ of a row
    whose declared scrap took good parts is its target cycle × those good parts: the store does not know
    target cycles, so ``pri_gq_s`` sums the other rows and ``recounted_gq`` gives, by machine, the good
    parts left on the capped one. ``energy_kwh`` sums the metered rows (None if none is) and
    ``metered_gq`` their good parts.

    ``machines`` are the machines that have a day sum for this day (in the order asked), ``pooled`` those
    summed: all of them, unless missing data is skipped (:meth:`TimeSeriesStore.kpi_day_pools`).
    """

    start_us: int
    end_us: int
    machines: tuple[str, ...] = ()
    pooled: tuple[str, ...] = ()
    running_us: int = 0
    idle_us: int = 0
    micro_stop_us: int = 0
    down_us: int = 0
    planned_stop_us: int = 0
    setup_us: int = 0
    no_order_us: int = 0
    unknown_us: int = 0
    pq: int = 0
    gq: int = 0
    sq: int = 0
    rq: int = 0
    declared: int = 0
    pri_pq_s: float = 0.0
    pri_gq_s: float = 0.0
    recounted_gq: Mapping[str, int] = field(default_factory=dict)
    failure_events: int = 0
    energy_kwh: float | None = None
    metered_gq: int = 0
    downtime_us: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KpiStatus:
    """Where a machine's KPI rollups stand: what the refresh has to (re)compute.

    ``token`` is the store's invalidation counter when this was read: give it back to
    :meth:`TimeSeriesStore.put_kpi_hours` so that an hour invalidated by data committed meanwhile stays
    dirty instead of being overwritten with figures computed without that data.
    """

    machine: str
    first_data_us: int | None  # the earliest state change or stroke start of the machine
    rolled_until_us: int | None  # end of the latest hour rolled up
    dirty_hours: tuple[int, ...]  # starts of the hours invalidated by late data, oldest first
    token: int


@dataclass(frozen=True, slots=True)
class SpcLimitsRecord:
    """One version of the control limits of a (machine, feature) chart (cadence.services.spc).

    Never edited: re-establishing the limits stores a new version, and the one with the highest ``id``
    is in force, so the audit trail says who (``by``), when (``at_us``), why and from which baseline
    period each version came. ``center``/``sigma``/``lcl``/``ucl`` are those of the plotted statistic's
    first part (I or X̄); ``sigma`` is the process σ̂. ``id`` is given by the store (0 before).
    """

    id: int
    machine: str
    feature: str
    chart: str  # "imr" or "xbar_r"
    subgroup_size: int  # 1 for imr
    center: float
    sigma: float
    lcl: float
    ucl: float
    baseline_start_us: int
    baseline_end_us: int
    points: int  # plotted points of the baseline (values or subgroups), excluded ones included
    excluded: tuple[int, ...]  # baseline points left out by phase I, indices from 0
    rules: tuple[str, ...]
    lsl: float | None
    usl: float | None
    by: str
    at_us: int
    why: str


@dataclass(frozen=True, slots=True)
class SpcProgress:
    """How far live SPC evaluation of one (machine, feature) has gone: the start of the last stroke
    evaluated, and the evaluator's own state (opaque to the store: JSON text) needed to resume there
    without missing or repeating a violation."""

    machine: str
    feature: str
    watermark_us: int
    state: str
    at_us: int


@dataclass(frozen=True, slots=True)
class HealthProgress:
    """How far press health (cadence.services.health) has read one press: the start of the last stroke
    fed to its monitor, and the monitor's state (opaque to the store: JSON text) to resume from there."""

    machine: str
    watermark_us: int
    state: str
    at_us: int


@dataclass(frozen=True, slots=True)
class LabelledEpisode:
    """What a press showed when a work order on it was closed, and what the technician found there: the
    plant's own fault signatures (cadence.analytics.health.classify)."""

    order_id: int
    machine: str
    mode: str
    ended_us: int
    vector: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class HealthPoint:
    """The health of one press at the end of one hour of its strokes (the press health page's history).

    ``levels`` and ``evidence`` are per subsystem, ``vector`` per watched feature (signed share of the
    change at functional failure), as :class:`cadence.analytics.health.monitor.HealthSnapshot` gives them.
    """

    machine: str
    ts_us: int
    levels: Mapping[str, float]
    evidence: Mapping[str, float]
    vector: Mapping[str, float]
    changes: Mapping[str, float]
    anomaly: float
    learning: bool


@runtime_checkable
class TimeSeriesStore(Protocol):
    """Durable storage for samples, strokes, states, alarms, operator events and quarantined messages.

    Contract (``tests/contracts/test_store_contract.py``):

    * ``submit`` returns a future resolved only after the batch is committed durably; ``append`` waits.
    * A batch whose key was committed before is not written again (``DUPLICATE``), or refused when its
      digest differs (``CONFLICT``). Samples may arrive out of order across batches.
    * 1-minute and 1-hour rollups are maintained in the same transaction as the samples.
    * Reads see every committed batch; they never see part of one.
    """

    def submit(self, batches: Sequence[Batch]) -> Future[list[AppendOutcome]]: ...

    def append(self, batches: Sequence[Batch]) -> list[AppendOutcome]: ...

    def register_signals(self, machine: str, signals: Sequence[SignalSpec]) -> None: ...

    def quarantine(self, item: QuarantineItem) -> None: ...

    def record_alarm(self, alarm: Alarm) -> int:
        """Store a new alarm occurrence (its ``id`` and ack/clear fields are ignored); returns its id."""
        ...

    def acknowledge_alarm(self, alarm_id: int, user: str, ts_us: int) -> Alarm:
        """Mark the alarm seen by ``user`` at ``ts_us`` and return it. Idempotent: a second acknowledgement
        keeps the first one's user and time. Raises :class:`~cadence.errors.NotFound` for an unknown id."""
        ...

    def clear_alarm(self, alarm_id: int, ts_us: int) -> Alarm:
        """Mark the alarm's condition gone at ``ts_us`` and return it. Idempotent like acknowledgement;
        raises :class:`~cadence.errors.NotFound` for an unknown id."""
        ...

    def series(
        self, machine: str, signal: str, start_us: int, end_us: int, resolution: Resolution = Resolution.RAW
    ) -> SeriesData: ...

    def latest(self, machine: str | None = None) -> list[LatestValue]: ...

    def strokes(
        self, machine: str, start_us: int, end_us: int, limit: int = 1000, with_waveform: bool = False
    ) -> list[Stroke]: ...

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
        """Traceability search: the strokes carrying one key, NEWEST FIRST, at most ``limit``.

        Exactly one of ``serial``, ``lot``, ``material_lot``, ``order`` and ``die`` must be given (else
        ``ValueError``); ``machine`` and the half-open ``[start_us, end_us)`` range of stroke starts narrow
        the answer. Backends must answer from an index on the key, not a scan of every stroke. ``offset``
        skips that many strokes of the newest-first order (paging; ties on a start are broken by machine).
        """
        ...

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
        """The strokes :meth:`find_strokes` would return with the same arguments (without a limit), counted
        per (order, part, lot, material lot, machine, die), most recent group first. Backends aggregate
        where the data is (an index, not one object per stroke)."""
        ...

    def states(self, machine: str, start_us: int, end_us: int) -> list[StateChange]: ...

    def state_at(self, machine: str, ts_us: int) -> StateChange | None:
        """The change in force at ``ts_us``: the last one at or before it, however old (None: none yet).
        Backends answer from an index seek, never by reading the machine's history."""
        ...

    def states_since(self, machine: str, start_us: int, end_us: int) -> list[StateChange]:
        """What a period ``[start_us, end_us)`` needs to be tiled: the change in force at ``start_us`` (when
        it is older than ``start_us``) followed by the changes in the period, oldest first."""
        ...

    def alarms(
        self,
        limit: int = 100,
        *,
        active: bool | None = None,
        unacknowledged: bool | None = None,
        machine: str | None = None,
    ) -> list[Alarm]:
        """Alarms newest first (by raise time, then id). Each filter left at None does not filter; ``active``
        is "not cleared", ``unacknowledged`` is "not acknowledged"."""
        ...

    # Operator events (cadence.domain.operator): each write waits for its commit; reads are oldest first.

    def record_stop_reason(self, reason: StopReason) -> None:
        """Keep a reason given to a stop. Earlier reasons for the same stop stay in the history."""
        ...

    def stop_reasons(
        self, machine: str, start_us: int, end_us: int, *, history: bool = False
    ) -> list[StopReason]:
        """Reasons of the stops of ``machine`` that began in ``[start_us, end_us)``, by stop start. Without
        ``history``, only the last reason recorded for each stop; with it, every one, in recording order."""
        ...

    def record_scrap(self, scrap: ScrapDeclaration) -> None: ...

    def scrap_declarations(self, machine: str, start_us: int, end_us: int) -> list[ScrapDeclaration]:
        """Declarations of ``machine`` made in ``[start_us, end_us)``, oldest first."""
        ...

    def record_order_event(self, event: OrderEvent) -> None: ...

    def order_events(self, machine: str, start_us: int, end_us: int) -> list[OrderEvent]:
        """Order starts and ends of ``machine`` in ``[start_us, end_us)``, oldest first (then as recorded)."""
        ...

    def last_order_event(self, machine: str) -> OrderEvent | None:
        """The most recent order event of ``machine`` (by time, then as recorded), however old."""
        ...

    # Tablet orders in traceability: where a press does not send the order keys, the order an operator
    # started on the tablet is the only source (docs/guides/traceability.md).

    def order_windows(self, machine: str, start_us: int, end_us: int) -> list[OrderWindow]:
        """The tablet orders in force on ``machine`` at some instant of ``[start_us, end_us)``, oldest first
        (the one in force at ``start_us`` included, however old). Backends seek an index on machine and
        time, never read the press's whole history."""
        ...

    def order_window_summary(
        self, *, lot: str | None = None, material_lot: str | None = None
    ) -> list[WindowGroup]:
        """Exactly one of ``lot`` and ``material_lot`` (else ``ValueError``): the windows of every tablet
        order started with that key, each with its strokes that do NOT carry the key column themselves
        (NULL), counted per (window, order, part, lot, material lot, die) of the stroke, most recent group
        first. Strokes carrying the key are :meth:`trace_summary`'s, so the two never count a stroke
        twice. Backends count where the data is, from the (machine, start) key of the strokes."""
        ...

    def find_strokes_with_orders(
        self, *, lot: str | None = None, material_lot: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[Stroke]:
        """One page of the union of :meth:`find_strokes` for the key and the strokes
        :meth:`order_window_summary` counts, NEWEST FIRST (ties by machine, descending), without curves."""
        ...

    def record_note(self, note: LogbookNote) -> None: ...

    def logbook(self, start_us: int, end_us: int, machine: str | None = None) -> list[LogbookNote]:
        """Notes written in ``[start_us, end_us)``, oldest first; with ``machine``, only that machine's."""
        ...

    # Live SPC (cadence.services.spc): versions of control limits and the evaluation watermark.

    def record_spc_limits(self, record: SpcLimitsRecord) -> int:
        """Store a new version of the limits of ``(record.machine, record.feature)`` (its ``id`` is
        ignored) and return its id; it supersedes the earlier ones. Waits for the commit."""
        ...

    def spc_limits_history(self, machine: str, feature: str, limit: int = 100) -> list[SpcLimitsRecord]:
        """The versions of the limits of ``(machine, feature)``, NEWEST FIRST (by id), at most ``limit``."""
        ...

    def spc_limits_in_force(self, machine: str | None = None) -> list[SpcLimitsRecord]:
        """The latest version for every (machine, feature) that has limits (of ``machine`` only when
        given), by machine then feature."""
        ...

    # Press health (cadence.services.health): the monitors' watermark and state, and the hourly history.

    def health_progress(self, machine: str) -> HealthProgress | None:
        """Where health evaluation of ``machine`` stands; None before its first pass."""
        ...

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
        watermark is still ``previous_us``; returns the new alarm ids, or None (nothing written) when
        another evaluator moved it first. A point at an hour already stored replaces it, as does an
        episode of a work order already stored."""
        ...

    def health_episodes(self, limit: int = 1000) -> list[LabelledEpisode]:
        """Labelled episodes of every press, newest first."""
        ...

    def health_points(
        self, machine: str, start_us: int, end_us: int, limit: int = 10_000
    ) -> list[HealthPoint]:
        """Hourly health points of ``machine`` with ``start_us <= ts_us < end_us``, oldest first."""
        ...

    def spc_progress(self, machine: str, feature: str) -> SpcProgress | None:
        """Where the live evaluation of ``(machine, feature)`` stands (None: never evaluated)."""
        ...

    def advance_spc(
        self,
        progress: SpcProgress,
        *,
        previous_us: int | None,
        alarms: Sequence[Alarm] = (),
        clears: Sequence[tuple[int, int]] = (),
    ) -> list[int] | None:
        """In ONE transaction: record ``alarms`` (one whose ``cleared_us`` is set is recorded cleared then),
        clear the alarms ``(id, ts_us)`` of ``clears`` and move
        the watermark of ``(progress.machine, progress.feature)`` to ``progress`` — only if the stored
        watermark is still ``previous_us`` (None: none stored). Returns the new alarms' ids, or None when
        the watermark had moved (another evaluator got there first: nothing is written). Waits for the
        commit, so a restart resumes exactly after what was alarmed."""
        ...

    # Maintenance work orders (cadence.services.workorders): the order as it stands now, and every step as an
    # event, both written in one transaction. The health engine reads closed orders to re-baseline and to
    # learn from their labelled episodes.

    def record_work_order(self, order: WorkOrder, event: WorkOrderEvent) -> int:
        """Store a new work order (its ``id`` is ignored) with its first event (``order_id`` ignored) in one
        transaction; returns the order's id. Waits for the commit."""
        ...

    def update_work_order(
        self, order: WorkOrder, event: WorkOrderEvent, *, expected_status: WorkOrderStatus | None = None
    ) -> None:
        """Replace the stored order ``order.id`` by ``order`` and append ``event`` to its trail, in one
        transaction. With ``expected_status``, only if the stored order still has that status, else
        :class:`~cadence.errors.WorkOrderConflict` (someone changed it meanwhile) and nothing is written.
        :class:`~cadence.errors.NotFound` for an unknown id. Waits for the commit."""
        ...

    def work_order(self, order_id: int) -> WorkOrder | None:
        """The work order with this id (None: none)."""
        ...

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
        """Work orders NEWEST FIRST (by creation time, then id), at most ``limit`` after skipping ``offset``.
        Each filter left at None (or False) does not filter; ``open_only`` keeps the orders neither closed
        nor cancelled; ``closed_since_us`` keeps those ended (closed or cancelled) at or after it."""
        ...

    def work_order_events(self, order_id: int) -> list[WorkOrderEvent]:
        """The audit trail of one work order, oldest first (empty for an unknown id)."""
        ...

    def alarm(self, alarm_id: int) -> Alarm | None:
        """One alarm by its id (None: none)."""
        ...

    # KPI rollups (cadence.services.kpi_history). Late state changes, strokes, stop reasons and scrap
    # declarations mark the hours they change dirty in the same transaction as they are stored.

    def kpi_status(self, machine: str) -> KpiStatus:
        """What the KPI refresh needs to know about ``machine``'s rollups (dirty hours, token, extent)."""
        ...

    def put_kpi_hours(
        self, hours: Sequence[KpiRollup], *, token: int, days: Sequence[tuple[str, int, int]] = ()
    ) -> None:
        """Store hour rollups (replacing those of the same machine and hour) and clear their dirty marks
        made up to ``token``; then rebuild each ``(machine, start_us, end_us)`` of ``days`` as the sum of its
        hours when every hour is there and clean (else drop it). Waits for the commit."""
        ...

    def kpi_hours(self, machine: str, start_us: int, end_us: int) -> list[KpiRollup]:
        """Clean (not dirty) hour rollups of ``machine`` lying within ``[start_us, end_us)``, oldest first."""
        ...

    def kpi_days(
        self, machines: Sequence[str], start_us: int, end_us: int, *, summed: bool = False
    ) -> list[KpiRollup]:
        """Day sums of ``machines`` lying within ``[start_us, end_us)``, by machine then time. A day sum
        exists only while all its hours are rolled up and clean. With ``summed``, one row per machine
        that has any: from its first day's start to its last day's end, the first day's down carry, the
        sums of the days (whose time elements add up to less than that span when days are missing)."""
        ...

    def kpi_day_pools(
        self, machines: Sequence[str], start_us: int, end_us: int, *, skip_missing: bool = False
    ) -> list[KpiDayPool]:
        """The day sums of ``machines`` lying within ``[start_us, end_us)``, pooled day by day (one
        :class:`KpiDayPool` per day that has any, in time order), summed by the store. With
        ``skip_missing``, data missing rather than zero is left out: a machine's day without any part
        and with every second unknown (it never reported) is not pooled, and an energy of 0 kWh or less
        with good parts (a meter that sent nothing) is not metered."""
        ...

    def quarantined(self, limit: int = 100) -> list[QuarantineItem]: ...

    def stats(self) -> StoreStats: ...

    def compact(self, now_us: int) -> int: ...

    def apply_retention(self, now_us: int, policy: RetentionPolicy) -> RetentionReport: ...

    def close(self) -> None: ...


def empty_series(machine: str, signal: str, resolution: Resolution) -> SeriesData:
    """A series with no points."""
    return SeriesData(machine, signal, resolution, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))


_KPI_SUMMED = (
    "running_us",
    "idle_us",
    "micro_stop_us",
    "down_us",
    "planned_stop_us",
    "setup_us",
    "no_order_us",
    "unknown_us",
    "pq",
    "gq",
    "sq",
    "rq",
    "declared",
    "failure_events",
)


def sum_rollups(parts: Sequence[KpiRollup]) -> KpiRollup:
    """Consecutive rollups of one machine as one: sums, with the first part's down carry.

    >>> a = KpiRollup("P01", 0, 10, running_us=10, pq=3, downtime_us={"x": 1})
    >>> b = KpiRollup("P01", 10, 20, down_us=10, failure_events=1, downtime_us={"x": 2})
    >>> s = sum_rollups([a, b])
    >>> s.start_us, s.end_us, s.running_us, s.down_us, s.pq, s.failure_events, dict(s.downtime_us)
    (0, 20, 10, 10, 3, 1, {'x': 3})
    """
    if not parts:
        raise ValueError("nothing to sum")
    if len(parts) == 1:
        return parts[0]
    downtime: dict[str, int] = {}
    for p in parts:
        for key, us in p.downtime_us.items():
            downtime[key] = downtime.get(key, 0) + us
    energies = [p.energy_kwh for p in parts if p.energy_kwh is not None]
    sums = {name: sum(getattr(p, name) for p in parts) for name in _KPI_SUMMED}
    return KpiRollup(
        parts[0].machine,
        parts[0].start_us,
        parts[-1].end_us,
        pri_pq_s=sum(p.pri_pq_s for p in parts),
        pri_gq_s=sum(p.pri_gq_s for p in parts),
        down_carry=parts[0].down_carry,
        energy_kwh=sum(energies) if energies else None,
        downtime_us=downtime,
        **sums,
    )
