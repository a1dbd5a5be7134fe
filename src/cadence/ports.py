"""Every extension point of Cadence, as typed protocols, with the value types that cross them.

Adapters implement these; the core and the services depend only on them. Built-in implementations
register through the ``cadence.stores`` entry point group exactly as a third-party backend would
(:mod:`cadence.plugins`), and each port has one contract suite in ``tests/contracts/`` run against
every implementation found.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
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
    ) -> list[Stroke]:
        """Traceability search: the strokes carrying one key, NEWEST FIRST, at most ``limit``.

        Exactly one of ``serial``, ``lot``, ``material_lot``, ``order`` and ``die`` must be given (else
        ``ValueError``); ``machine`` and the half-open ``[start_us, end_us)`` range of stroke starts narrow
        the answer. Backends must answer from an index on the key, not a scan of every stroke.
        """
        ...

    def states(self, machine: str, start_us: int, end_us: int) -> list[StateChange]: ...

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

    def record_note(self, note: LogbookNote) -> None: ...

    def logbook(self, start_us: int, end_us: int, machine: str | None = None) -> list[LogbookNote]:
        """Notes written in ``[start_us, end_us)``, oldest first; with ``machine``, only that machine's."""
        ...

    def quarantined(self, limit: int = 100) -> list[QuarantineItem]: ...

    def stats(self) -> StoreStats: ...

    def compact(self, now_us: int) -> int: ...

    def apply_retention(self, now_us: int, policy: RetentionPolicy) -> RetentionReport: ...

    def close(self) -> None: ...


def empty_series(machine: str, signal: str, resolution: Resolution) -> SeriesData:
    """A series with no points."""
    return SeriesData(machine, signal, resolution, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
