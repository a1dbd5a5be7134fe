"""What the writer does inside a transaction: append batches, register signals, compact, apply retention.

Every function here runs on the writer's connection, inside a transaction the caller opened; none of them
commits. Reads live in :mod:`cadence.store.sqlite.store`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from cadence.domain.alarms import Alarm, Severity
from cadence.domain.batch import Batch
from cadence.domain.cycles import Stroke
from cadence.domain.operator import LogbookNote, OrderEvent, OrderKind, ScrapDeclaration, StopReason
from cadence.domain.samples import F64, I64, SampleBlock
from cadence.domain.signals import SignalKind, SignalSpec
from cadence.domain.states import MachineState
from cadence.domain.workorders import WorkOrder, WorkOrderEvent, WorkOrderEventKind, WorkOrderStatus
from cadence.errors import StoreError
from cadence.ports import (
    AppendOutcome,
    HealthPoint,
    HealthProgress,
    KpiRollup,
    LabelledEpisode,
    QuarantineItem,
    RetentionPolicy,
    RetentionReport,
    SpcLimitsRecord,
    SpcProgress,
    sum_rollups,
)
from cadence.store import codecs
from cadence.store.sqlite.schema import SMALL_CHUNK_POINTS

logger = logging.getLogger(__name__)

MINUTE_US = 60_000_000
HOUR_US = 3_600_000_000
DAY_US = 86_400_000_000
ROLLUPS: tuple[tuple[str, int], ...] = (("rollup_1m", MINUTE_US), ("rollup_1h", HOUR_US))
# Refused payloads are kept for diagnosis, not replay: 64 KiB shows what was wrong with any message while
# a flood of 8 MiB junk bodies cannot fill the disk (the real size is kept beside it).
QUARANTINE_PAYLOAD_CAP_BYTES = 64 * 1024
# Compaction merges small chunks into chunks of at most this many points or this time span: ~100k points
# compress as well as a million (pcodec's overhead is per blob), and a one-hour chunk is the most a
# one-hour raw read has to decode beyond its range.
COMPACT_MAX_POINTS = 100_000
COMPACT_MAX_SPAN_US = HOUR_US


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One registered (machine, signal) and how its values are stored."""

    id: int
    machine: str
    signal: str
    unit: str
    resolution: float
    kind: str


class SeriesCatalog:
    """``(machine, signal) → SeriesInfo``, read through from the connection it is given.

    Only the writer uses it. It is cleared whenever a transaction rolls back, because an entry may name
    a series row created by the rolled-back work.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], SeriesInfo] = {}

    def get(self, conn: sqlite3.Connection, machine: str, signal: str) -> SeriesInfo | None:
        info = self._known.get((machine, signal))
        if info is None:
            row = conn.execute(
                "SELECT id, machine, signal, unit, resolution, kind FROM series"
                " WHERE machine = ? AND signal = ?",
                (machine, signal),
            ).fetchone()
            if row is None:
                return None
            info = SeriesInfo(*row)
            self._known[(machine, signal)] = info
        return info

    def clear(self) -> None:
        self._known.clear()


# --- append --------------------------------------------------------------------------------------------

_UPSERT_ROLLUP = """
INSERT INTO {table} (series_id, bucket_us, "count", "sum", "min", "max") VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, bucket_us) DO UPDATE SET
    "count" = "count" + excluded."count",
    "sum" = "sum" + excluded."sum",
    "min" = min("min", excluded."min"),
    "max" = max("max", excluded."max")
"""
_ROLLUP_UPSERTS = tuple((_UPSERT_ROLLUP.format(table=table), width_us) for table, width_us in ROLLUPS)
_UPSERT_LATEST = """
INSERT INTO latest (series_id, ts_us, value) VALUES (?, ?, ?)
ON CONFLICT (series_id) DO UPDATE SET ts_us = excluded.ts_us, value = excluded.value
WHERE excluded.ts_us > latest.ts_us
"""
_INSERT_STROKE = """
INSERT OR IGNORE INTO strokes (machine, start_us, end_us, n, good, scrap_reason, production_order, part,
                               lot, material_lot, serial, die, features, waveform)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def register_signals(conn: sqlite3.Connection, machine: str, signals: Sequence[SignalSpec]) -> None:
    """Create or update the series of ``machine``; a changed resolution applies to chunks written later."""
    conn.executemany(
        """
        INSERT INTO series (machine, signal, unit, resolution, kind) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (machine, signal) DO UPDATE SET
            unit = excluded.unit, resolution = excluded.resolution, kind = excluded.kind
        """,
        [(machine, s.name, s.unit, float(s.resolution), str(s.kind)) for s in signals],
    )


def append_batches(
    conn: sqlite3.Connection, catalog: SeriesCatalog, batches: Sequence[Batch], committed_us: int
) -> list[AppendOutcome]:
    """Write batches and their ledger entries; a batch whose key is in the ledger writes nothing.

    Returns one outcome per batch, in order: STORED, DUPLICATE (same key, same digest) or CONFLICT. Sample
    blocks of one series from every stored batch become ONE chunk, and the ledger, cursor and
    totals rows are written with one statement each. Per-message cost, not per-point cost, limits ingest of
    small messages (one sample each: ~64 µs a batch one at a time), and this is where it goes away.
    """
    outcomes: list[AppendOutcome] = []
    seen: dict[tuple[str, int, int], bytes] = {}
    stored: list[Batch] = []
    for batch in batches:
        key = (batch.key.source, batch.key.epoch, batch.key.seq)
        digest = seen.get(key)
        if digest is None:
            row = conn.execute(
                "SELECT digest FROM batches WHERE source = ? AND epoch = ? AND seq = ?", key
            ).fetchone()
            digest = None if row is None else bytes(row[0])
        if digest is None and _in_folded_range(conn, key):
            # Past the ledger window only the number is kept: a replay, whatever its content.
            outcomes.append(AppendOutcome.DUPLICATE)
            continue
        if digest is not None:
            outcomes.append(AppendOutcome.DUPLICATE if digest == batch.digest else AppendOutcome.CONFLICT)
            continue
        seen[key] = batch.digest
        stored.append(batch)
        outcomes.append(AppendOutcome.STORED)

    blocks: dict[tuple[str, str], list[tuple[SampleBlock, int]]] = {}
    for batch in stored:
        for block in batch.samples:
            blocks.setdefault((batch.machine, block.signal), []).append((block, batch.received_us))
    for (machine, signal), group in blocks.items():
        info = _series_or_fail(conn, catalog, machine, signal)
        created_us = min(r for _, r in group)
        if len(group) == 1:
            ts, values = sorted_unique(group[0][0].ts_us, group[0][0].values)
        else:
            ts, values = sorted_unique(
                np.concatenate([b.ts_us for b, _ in group]), np.concatenate([b.values for b, _ in group])
            )
        # One chunk per clock hour touched: retention deletes whole chunks, so a chunk must not tie old
        # samples (a backfill) to recent ones in the same group.
        hours = ts // COMPACT_MAX_SPAN_US
        cuts = np.flatnonzero(hours[1:] != hours[:-1]) + 1
        for piece_ts, piece_values in zip(np.split(ts, cuts), np.split(values, cuts), strict=True):
            write_block(conn, info, SampleBlock(signal, piece_ts, piece_values), created_us=created_us)
    strokes = [_stroke_row(conn, catalog, s) for b in stored for s in b.strokes]
    if strokes:
        conn.executemany(_INSERT_STROKE, strokes)
    states = [(b.machine, s.ts_us, str(s.state), s.reason) for b in stored for s in b.states]
    if states:
        conn.executemany(
            "INSERT OR IGNORE INTO states (machine, ts_us, state, reason) VALUES (?, ?, ?, ?)", states
        )
    if strokes or states:
        # Late data for hours already rolled up: those hours are recomputed (docs/guides/kpis.md).
        spans = [(b.machine, s.end_us, s.end_us) for b in stored for s in b.strokes]
        spans += [(m, *state_dirty_span(conn, m, ts, committed_us)) for m, ts, _, _ in states]
        mark_kpi_dirty(conn, spans, committed_us)
    conn.executemany(
        "INSERT INTO batches (source, epoch, seq, digest, machine, received_us, committed_us, points)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (b.key.source, b.key.epoch, b.key.seq, b.digest, b.machine, b.received_us, committed_us, b.points)
            for b in stored
        ],
    )
    cursors: dict[tuple[str, int], list[int]] = {}
    totals: dict[str, int] = {}
    for b in stored:
        cursor = cursors.setdefault((b.key.source, b.key.epoch), [b.key.seq, 0])
        cursor[0] = max(cursor[0], b.key.seq)
        cursor[1] += 1
        totals[b.machine] = totals.get(b.machine, 0) + 1
    conn.executemany(
        """
        INSERT INTO ingest_cursor (source, epoch, max_seq, batches) VALUES (?, ?, ?, ?)
        ON CONFLICT (source, epoch) DO UPDATE SET
            max_seq = max(max_seq, excluded.max_seq), batches = batches + excluded.batches
        """,
        [(source, epoch, max_seq, n) for (source, epoch), (max_seq, n) in cursors.items()],
    )
    conn.executemany(
        "INSERT INTO machine_totals (machine, batches) VALUES (?, ?)"
        " ON CONFLICT (machine) DO UPDATE SET batches = batches + excluded.batches",
        list(totals.items()),
    )
    return outcomes


def _in_folded_range(conn: sqlite3.Connection, key: tuple[str, int, int]) -> bool:
    row = conn.execute(
        "SELECT hi FROM ledger_ranges WHERE source = ? AND epoch = ? AND lo <= ? ORDER BY lo DESC LIMIT 1",
        key,
    ).fetchone()
    return row is not None and row[0] >= key[2]


def fold_ledger(conn: sqlite3.Connection, cutoff_us: int) -> int:
    """Replace the ledger rows committed before ``cutoff_us`` by ranges of sequence numbers.

    A row (one per message, ~100 bytes with its digest and index entry) is what lets the store tell a
    replay from a key reused with other content. Past the window only the numbers are kept, merged with
    the stream's existing ranges: replays are still recognised for ever, in a few bytes per stream.
    Returns the number of rows folded.
    """
    rows = conn.execute(
        "SELECT source, epoch, seq FROM batches WHERE committed_us < ? ORDER BY source, epoch, seq",
        (cutoff_us,),
    ).fetchall()
    if not rows:
        return 0
    streams: dict[tuple[str, int], list[int]] = {}
    for source, epoch, seq in rows:
        streams.setdefault((source, epoch), []).append(seq)
    for (source, epoch), seqs in streams.items():
        existing = conn.execute(
            "SELECT lo, hi FROM ledger_ranges WHERE source = ? AND epoch = ?", (source, epoch)
        ).fetchall()
        merged = merge_ranges([*existing, *((s, s) for s in seqs)])
        conn.execute("DELETE FROM ledger_ranges WHERE source = ? AND epoch = ?", (source, epoch))
        conn.executemany(
            "INSERT INTO ledger_ranges (source, epoch, lo, hi) VALUES (?, ?, ?, ?)",
            [(source, epoch, lo, hi) for lo, hi in merged],
        )
    return conn.execute("DELETE FROM batches WHERE committed_us < ?", (cutoff_us,)).rowcount


def merge_ranges(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive ranges merged where they overlap or touch.

    >>> merge_ranges([(5, 5), (1, 3), (4, 4), (7, 9), (8, 8)])
    [(1, 5), (7, 9)]
    """
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _series_or_fail(
    conn: sqlite3.Connection, catalog: SeriesCatalog, machine: str, signal: str
) -> SeriesInfo:
    info = catalog.get(conn, machine, signal)
    if info is None:
        raise StoreError(
            f"signal {signal!r} of machine {machine!r} is not registered in the store: register the plant's"
            " signals (register_signals) before appending their samples",
            machine=machine,
            signal=signal,
        )
    return info


def sorted_unique(ts_us: I64, values: F64) -> tuple[I64, F64]:
    """Samples sorted by time; of several samples at one timestamp, the first given is kept."""
    order = np.argsort(ts_us, kind="stable")
    ts, vals = ts_us[order], values[order]
    if len(ts) > 1:
        keep = np.empty(len(ts), dtype=bool)
        keep[0] = True
        np.not_equal(ts[1:], ts[:-1], out=keep[1:])
        if not keep.all():
            ts, vals = ts[keep], vals[keep]
    return ts, vals


def write_block(conn: sqlite3.Connection, info: SeriesInfo, block: SampleBlock, created_us: int) -> int:
    """One chunk row for the block, plus its rollups and latest value. Returns the points written."""
    ts, raw_values = sorted_unique(block.ts_us, block.values)
    try:
        steps = codecs.quantise(raw_values, info.resolution)
    except codecs.CodecError as err:
        raise StoreError(
            f"{info.machine}/{info.signal}: {err}", machine=info.machine, signal=info.signal
        ) from err
    values = codecs.dequantise(steps, info.resolution)  # exactly what a read will return
    conn.execute(
        "INSERT INTO chunks (series_id, start_us, end_us, n, resolution, ts_blob, val_blob, created_us)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            info.id,
            int(ts[0]),
            int(ts[-1]),
            len(ts),
            info.resolution,
            codecs.encode_ints(ts),
            codecs.encode_ints(steps),
            created_us,
        ),
    )
    # Most blocks fall in one bucket (always for 1 h, mostly for 1 min): their one aggregate row is worth
    # computing once, without the general path's per-call numpy overhead (it dominated small appends).
    whole = (len(ts), float(values.sum()), float(values.min()), float(values.max()))
    for sql, width_us in _ROLLUP_UPSERTS:
        first_bucket = (int(ts[0]) // width_us) * width_us
        if first_bucket == (int(ts[-1]) // width_us) * width_us:
            conn.execute(sql, (info.id, first_bucket, *whole))
        else:
            conn.executemany(sql, aggregate(info.id, ts, values, width_us))
    conn.execute(_UPSERT_LATEST, (info.id, int(ts[-1]), float(values[-1])))
    return len(ts)


def aggregate(
    series_id: int, ts_sorted: I64, values: F64, width_us: int
) -> list[tuple[int, int, int, float, float, float]]:
    """``(series_id, bucket_us, count, sum, min, max)`` of each bucket of ``width_us`` touched by the samples.

    ``ts_sorted`` must be sorted, so that each bucket is one contiguous run.
    """
    buckets = (ts_sorted // width_us) * width_us  # floor division: negative timestamps bucket correctly too
    starts = np.flatnonzero(np.concatenate(([True], buckets[1:] != buckets[:-1])))
    counts = np.diff(np.append(starts, len(buckets)))
    sums = np.add.reduceat(values, starts)
    mins = np.minimum.reduceat(values, starts)
    maxs = np.maximum.reduceat(values, starts)
    return list(
        zip(
            [series_id] * len(starts),
            buckets[starts].tolist(),
            counts.tolist(),
            sums.tolist(),
            mins.tolist(),
            maxs.tolist(),
            strict=True,
        )
    )


def _stroke_row(conn: sqlite3.Connection, catalog: SeriesCatalog, stroke: Stroke) -> tuple[object, ...]:
    blob: bytes | None = None
    if stroke.waveform is not None:
        resolutions: dict[str, float] = {}
        for name in stroke.waveform.signals:
            info = catalog.get(conn, stroke.machine, name)
            if info is not None:
                resolutions[name] = info.resolution
        try:
            blob = codecs.encode_waveform(stroke.waveform, resolutions)
        except codecs.CodecError as err:
            raise StoreError(
                f"stroke {stroke.machine}#{stroke.n}: waveform: {err}", machine=stroke.machine
            ) from err
    return (
        stroke.machine,
        stroke.start_us,
        stroke.end_us,
        stroke.n,
        int(stroke.good),
        stroke.scrap_reason,
        stroke.order,
        stroke.part,
        stroke.lot,
        stroke.material_lot,
        stroke.serial,
        stroke.die,
        json.dumps(dict(stroke.features), separators=(",", ":")),
        blob,
    )


def insert_quarantine(conn: sqlite3.Connection, item: QuarantineItem) -> None:
    """Keep a refused message, its payload truncated to :data:`QUARANTINE_PAYLOAD_CAP_BYTES`."""
    conn.execute(
        "INSERT INTO quarantine (received_us, channel, code, reason, payload, size)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            item.received_us,
            item.channel,
            item.code,
            item.reason,
            bytes(item.payload[:QUARANTINE_PAYLOAD_CAP_BYTES]),
            max(item.size, len(item.payload)),
        ),
    )


# The columns :func:`alarm_of` reads, in its order; the store's reads select the same.
ALARM_COLUMNS = (
    "id, code, severity, message, raised_us, source, machine, acked_us, acked_by, cleared_us, message_en"
)


def alarm_of(row: tuple[Any, ...]) -> Alarm:
    """An :class:`Alarm` from a row of :data:`ALARM_COLUMNS`."""
    alarm_id, code, severity, message, raised_us, source, machine, acked_us, acked_by, cleared, english = row
    return Alarm(
        code,
        Severity(severity),
        message,
        raised_us,
        source,
        machine,
        id=alarm_id,
        acked_us=acked_us,
        acked_by=acked_by,
        cleared_us=cleared,
        message_en=english,
    )


def insert_alarm(conn: sqlite3.Connection, alarm: Alarm) -> int:
    """Record one new alarm occurrence and return its id; its own id, ack and clear fields are ignored."""
    cursor = conn.execute(
        "INSERT INTO alarms (code, severity, message, message_en, raised_us, source, machine)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            alarm.code,
            int(alarm.severity),
            alarm.message,
            alarm.message_en,
            alarm.raised_us,
            alarm.source,
            alarm.machine,
        ),
    )
    if cursor.lastrowid is None:  # never for an INSERT into a rowid table; a loud error if it ever were
        raise StoreError("SQLite gave no id for the alarm just recorded")
    return cursor.lastrowid


def acknowledge_alarm(conn: sqlite3.Connection, alarm_id: int, user: str, ts_us: int) -> Alarm | None:
    """Acknowledge an alarm unless it already is (the first acknowledgement is kept); None if unknown."""
    conn.execute(
        "UPDATE alarms SET acked_us = ?, acked_by = ? WHERE id = ? AND acked_us IS NULL",
        (ts_us, user, alarm_id),
    )
    return _alarm_by_id(conn, alarm_id)


def clear_alarm(conn: sqlite3.Connection, alarm_id: int, ts_us: int) -> Alarm | None:
    """Clear an alarm unless it already is (the first clearing time is kept); None if unknown."""
    conn.execute("UPDATE alarms SET cleared_us = ? WHERE id = ? AND cleared_us IS NULL", (ts_us, alarm_id))
    return _alarm_by_id(conn, alarm_id)


def _alarm_by_id(conn: sqlite3.Connection, alarm_id: int) -> Alarm | None:
    row = conn.execute(f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id = ?", (alarm_id,)).fetchone()
    return None if row is None else alarm_of(row)


# --- compaction ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ChunkRef:
    id: int
    start_us: int
    end_us: int
    n: int


def plan_compaction(
    conn: sqlite3.Connection, now_us: int, compact_after_us: int, max_points: int = COMPACT_MAX_POINTS
) -> list[tuple[int, float, list[_ChunkRef]]]:
    """Groups of small chunks to merge: ``(series_id, resolution, chunks)``, each group 2+ chunks.

    A chunk qualifies when it holds fewer than ``SMALL_CHUNK_POINTS`` points and ended more than
    ``compact_after_us`` before ``now_us`` (late data for recent minutes keeps arriving; merging them now
    would only be redone).
    """
    rows = conn.execute(
        f"SELECT series_id, resolution, id, start_us, end_us, n FROM chunks"
        f" WHERE n < {SMALL_CHUNK_POINTS} AND end_us < ? ORDER BY series_id, start_us, id",
        (now_us - compact_after_us,),
    ).fetchall()
    groups: list[tuple[int, float, list[_ChunkRef]]] = []
    current: list[_ChunkRef] = []
    current_key: tuple[int, float] | None = None
    points = 0
    for series_id, resolution, chunk_id, start_us, end_us, n in rows:
        ref = _ChunkRef(chunk_id, start_us, end_us, n)
        key = (series_id, resolution)
        fits = (
            key == current_key
            and points + n <= max_points
            and end_us - current[0].start_us <= COMPACT_MAX_SPAN_US
        )
        if fits:
            current.append(ref)
            points += n
            continue
        if current_key is not None and len(current) > 1:
            groups.append((current_key[0], current_key[1], current))
        current, current_key, points = [ref], key, n
    if current_key is not None and len(current) > 1:
        groups.append((current_key[0], current_key[1], current))
    return groups


def merge_chunks(
    conn: sqlite3.Connection, series_id: int, resolution: float, group: Sequence[_ChunkRef], now_us: int
) -> int:
    """Replace a group of chunks by one, sorted, without repeated timestamps. Returns the chunks removed.

    The merged chunk takes the smallest id of the group, so reads that meet two values at one timestamp
    still prefer the one stored first.
    """
    ids = [c.id for c in group]
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT ts_blob, val_blob FROM chunks WHERE id IN ({marks}) ORDER BY id", ids
    ).fetchall()
    if len(rows) != len(ids):  # changed since planning (retention ran in between): plan again later
        return 0
    ts_parts: list[I64] = []
    step_parts: list[I64] = []
    for ts_blob, val_blob in rows:
        ts_parts.append(codecs.decode_ints(ts_blob))
        step_parts.append(codecs.decode_ints(val_blob))
    ts, steps = sorted_unique(np.concatenate(ts_parts), np.concatenate(step_parts))
    conn.execute(f"DELETE FROM chunks WHERE id IN ({marks})", ids)
    conn.execute(
        "INSERT INTO chunks (id, series_id, start_us, end_us, n, resolution, ts_blob, val_blob, created_us)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            min(ids),
            series_id,
            int(ts[0]),
            int(ts[-1]),
            len(ts),
            resolution,
            codecs.encode_ints(ts),
            codecs.encode_ints(steps.astype(np.int64)),
            now_us,
        ),
    )
    return len(ids)


# --- retention -----------------------------------------------------------------------------------------


def cutoff_us(now_us: int, days: float) -> int | None:
    """The instant before which data of a ``days`` retention is deleted; None keeps it for ever."""
    if days <= 0:
        return None
    return now_us - round(days * DAY_US)


def apply_retention(conn: sqlite3.Connection, now_us: int, policy: RetentionPolicy) -> RetentionReport:
    """Delete what is past its retention, whole rows only (a chunk goes once its newest sample is past).

    Ledger keys are folded into ranges by their commit time (the store's clock); everything else goes by
    its data time.
    """
    chunks_deleted = points_deleted = rollup_rows = strokes_deleted = waveforms = quarantine_deleted = 0
    raw_days = {
        str(SignalKind.WAVEFORM): policy.raw_waveform_days,
        str(SignalKind.SLOW): policy.raw_slow_days,
        str(SignalKind.COUNTER): policy.raw_slow_days,  # counters are slow signals with monotonic values
    }
    kinds = [r[0] for r in conn.execute("SELECT DISTINCT kind FROM series").fetchall()]
    for kind in kinds:
        cutoff = cutoff_us(now_us, raw_days.get(kind, policy.raw_slow_days))
        if cutoff is None:
            continue
        where = "end_us < ? AND series_id IN (SELECT id FROM series WHERE kind = ?)"
        n_chunks, n_points = conn.execute(
            f"SELECT count(*), coalesce(sum(n), 0) FROM chunks WHERE {where}", (cutoff, kind)
        ).fetchone()
        conn.execute(f"DELETE FROM chunks WHERE {where}", (cutoff, kind))
        chunks_deleted += n_chunks
        points_deleted += n_points
    for (table, width_us), days in zip(ROLLUPS, (policy.rollup_1m_days, policy.rollup_1h_days), strict=True):
        cutoff = cutoff_us(now_us, days)
        if cutoff is not None:  # a bucket goes once it has ended
            rollup_rows += conn.execute(
                f"DELETE FROM {table} WHERE bucket_us <= ?", (cutoff - width_us,)
            ).rowcount
    cutoff = cutoff_us(now_us, policy.strokes_days)
    if cutoff is not None:
        strokes_deleted = conn.execute("DELETE FROM strokes WHERE end_us < ?", (cutoff,)).rowcount
    cutoff = cutoff_us(now_us, policy.stroke_waveform_days)
    if cutoff is not None:
        waveforms = conn.execute(
            "UPDATE strokes SET waveform = NULL WHERE end_us < ? AND waveform IS NOT NULL", (cutoff,)
        ).rowcount
    cutoff = cutoff_us(now_us, policy.quarantine_days)
    if cutoff is not None:
        quarantine_deleted = conn.execute("DELETE FROM quarantine WHERE received_us < ?", (cutoff,)).rowcount
    ledger_deleted = 0
    cutoff = cutoff_us(now_us, policy.ledger_days)
    if cutoff is not None:
        ledger_deleted = fold_ledger(conn, cutoff)
    return RetentionReport(
        chunks_deleted=chunks_deleted,
        points_deleted=points_deleted,
        rollup_rows_deleted=rollup_rows,
        strokes_deleted=strokes_deleted,
        waveforms_dropped=waveforms,
        quarantine_deleted=quarantine_deleted,
        ledger_keys_deleted=ledger_deleted,
    )


# --- operator events -------------------------------------------------------------------------------------
# Each *_COLUMNS string lists what the matching *_of function reads, in its order; the store's reads select
# the same.

STOP_REASON_COLUMNS = "machine, stop_start_us, reason, by_user, at_us"
SCRAP_COLUMNS = "machine, at_us, quantity, cause, by_user"
ORDER_EVENT_COLUMNS = "machine, at_us, kind, production_order, part, lot, material_lot, die, by_user"
NOTE_COLUMNS = "machine, at_us, text, by_user"


def stop_reason_of(row: tuple[Any, ...]) -> StopReason:
    machine, stop_start_us, reason, by, at_us = row
    return StopReason(machine, stop_start_us, reason, by, at_us)


def scrap_of(row: tuple[Any, ...]) -> ScrapDeclaration:
    machine, at_us, quantity, cause, by = row
    return ScrapDeclaration(machine, at_us, quantity, cause, by)


def order_event_of(row: tuple[Any, ...]) -> OrderEvent:
    machine, at_us, kind, order, part, lot, material_lot, die, by = row
    return OrderEvent(machine, at_us, OrderKind(kind), order, part, lot, material_lot, die, by)


def note_of(row: tuple[Any, ...]) -> LogbookNote:
    machine, at_us, text, by = row
    return LogbookNote(machine, at_us, text, by)


def insert_stop_reason(conn: sqlite3.Connection, r: StopReason, committed_us: int) -> None:
    """Append a reason; earlier ones for the same stop are kept as its history. The hours the stop spans
    are marked dirty for the KPI rollups (its category and Pareto key may change)."""
    conn.execute(
        f"INSERT INTO stop_reasons ({STOP_REASON_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        (r.machine, r.stop_start_us, r.reason_code, r.by, r.at_us),
    )
    span = state_dirty_span(conn, r.machine, r.stop_start_us, committed_us)
    mark_kpi_dirty(conn, [(r.machine, *span)], committed_us)


def insert_scrap(conn: sqlite3.Connection, s: ScrapDeclaration, committed_us: int) -> None:
    """Keep a declaration and mark its hour dirty for the KPI rollups."""
    conn.execute(
        f"INSERT INTO scrap_declarations ({SCRAP_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        (s.machine, s.at_us, s.quantity, s.cause, s.by),
    )
    mark_kpi_dirty(conn, [(s.machine, s.at_us, s.at_us)], committed_us)


def insert_order_event(conn: sqlite3.Connection, e: OrderEvent) -> None:
    conn.execute(
        f"INSERT INTO order_events ({ORDER_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (e.machine, e.at_us, e.kind.value, e.order, e.part_number, e.lot, e.material_lot, e.die, e.by),
    )


def insert_note(conn: sqlite3.Connection, n: LogbookNote) -> None:
    conn.execute(
        f"INSERT INTO logbook ({NOTE_COLUMNS}) VALUES (?, ?, ?, ?)", (n.machine, n.at_us, n.text, n.by)
    )


# --- KPI rollups ----------------------------------------------------------------------------------------
# cadence.services.kpi_history computes one row per machine and clock hour; the writer keeps them honest:
# data stored late for an hour already rolled up marks that hour dirty in the same transaction.

# How far before a late state change the hours it can change begin. Shortening a stop can turn it into a
# micro-stop only if it is now shorter than the threshold (at most 1 h: docs/domain.md §2.8 says 1-10 min),
# so hours more than this before the change keep their figures. kpi_history refuses larger thresholds.
KPI_LOOKBACK_US = HOUR_US
# A KPI refresh puts at most this far past a machine's last rolled hour (kpi_history.REFRESH_MAX_HOURS is
# smaller), so invalidation need not mark hours beyond: a backfill whose last state is still open would
# otherwise mark every hour up to now.
KPI_MAX_AHEAD_US = 31 * DAY_US
_KPI_SEQ_KEY = "kpi_dirty_seq"
_KPI_TIMES = (
    "running_us",
    "idle_us",
    "micro_stop_us",
    "down_us",
    "planned_stop_us",
    "setup_us",
    "no_order_us",
    "unknown_us",
)
_KPI_COUNTS = ("pq", "gq", "sq", "rq", "declared")
KPI_COLUMNS = ", ".join(
    (
        "machine",
        "start_us",
        "end_us",
        *_KPI_TIMES,
        *_KPI_COUNTS,
        "pri_pq_s",
        "pri_gq_s",
        "failure_events",
        "down_carry",
        "energy_kwh",
        "downtime",
    )
)
_KPI_MARKS = ", ".join("?" * len(KPI_COLUMNS.split(", ")))
# The same columns summed over rows of one machine (down_carry and downtime are the caller's to fill).
KPI_SUMS = ", ".join(
    (
        "machine",
        "min(start_us)",
        "max(end_us)",
        *(f"sum({c})" for c in (*_KPI_TIMES, *_KPI_COUNTS, "pri_pq_s", "pri_gq_s", "failure_events")),
        "0",
        "sum(energy_kwh)",
        "NULL",
    )
)


# msgspec decodes a year of a plant's day rows (7,300 small objects) several times faster than json.
_DOWNTIME = msgspec.json.Decoder(dict[str, int])
_DOWNTIME_LIST = msgspec.json.Decoder(list[dict[str, int]])


def decode_downtime_list(text: str) -> list[dict[str, int]]:
    """A JSON array of ``downtime`` column values (``{reason: µs}`` objects)."""
    return _DOWNTIME_LIST.decode(text)


def kpi_row(r: KpiRollup) -> tuple[object, ...]:
    """The row of :data:`KPI_COLUMNS` for a rollup."""
    return (
        r.machine,
        r.start_us,
        r.end_us,
        r.running_us,
        r.idle_us,
        r.micro_stop_us,
        r.down_us,
        r.planned_stop_us,
        r.setup_us,
        r.no_order_us,
        r.unknown_us,
        r.pq,
        r.gq,
        r.sq,
        r.rq,
        r.declared,
        r.pri_pq_s,
        r.pri_gq_s,
        r.failure_events,
        int(r.down_carry),
        r.energy_kwh,
        json.dumps(dict(sorted(r.downtime_us.items())), separators=(",", ":")),
    )


def kpi_of(row: Sequence[Any]) -> KpiRollup:
    """A rollup from a row of :data:`KPI_COLUMNS` (in the dataclass's field order)."""
    # Indexed rather than unpacked: a year of a plant by day reads 7,300 rows through here.
    downtime = row[21]
    return KpiRollup(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        row[12],
        row[13],
        row[14],
        row[15],
        row[16],
        row[17],
        row[18],
        bool(row[19]),
        row[20],
        {} if downtime == "{}" else _DOWNTIME.decode(downtime),
    )


def _floor_hour(ts_us: int) -> int:
    return (ts_us // HOUR_US) * HOUR_US


def state_dirty_span(
    conn: sqlite3.Connection, machine: str, ts_us: int, committed_us: int
) -> tuple[int, int]:
    """``[lo, hi]``: the instants whose hours a state change (or a stop reason) at ``ts_us`` can change.

    From the start of the stop it cuts short, when that stop is an idle or down one begun less than
    :data:`KPI_LOOKBACK_US` before (else from the change itself), to the end of the stop that follows it,
    repeats included (the state engine merges repeated changes into one stop): the first change after the
    next one that differs from it. A stop still open reaches the commit time.
    """
    lo = ts_us
    before = conn.execute(
        "SELECT ts_us, state, reason FROM states WHERE machine = ? AND ts_us < ? AND ts_us >= ?"
        " ORDER BY ts_us DESC",
        (machine, ts_us, ts_us - KPI_LOOKBACK_US),
    ).fetchall()
    # Only an idle or down stop begun within the look-back can change category by being cut short (a
    # micro-stop by its length); the stop's first change is the earliest of its repeats.
    if before and before[0][1] in (MachineState.IDLE.value, MachineState.DOWN.value):
        for row in before:
            if (row[1], row[2]) != (before[0][1], before[0][2]):
                break
            lo = row[0]
    nxt = conn.execute(
        "SELECT ts_us, state, reason FROM states WHERE machine = ? AND ts_us > ? ORDER BY ts_us LIMIT 1",
        (machine, ts_us),
    ).fetchone()
    if nxt is None:
        return lo, max(committed_us, ts_us)
    after = conn.execute(
        "SELECT min(ts_us) FROM states WHERE machine = ? AND ts_us > ? AND (state != ? OR reason IS NOT ?)",
        (machine, nxt[0], nxt[1], nxt[2]),
    ).fetchone()[0]
    return lo, max(committed_us, ts_us) if after is None else after


def mark_kpi_dirty(conn: sqlite3.Connection, spans: Sequence[tuple[str, int, int]], committed_us: int) -> int:
    """Mark dirty the hours that ``(machine, lo, hi)`` spans touch (``hi`` included) and that have ended by
    ``committed_us`` (an hour still running has not been rolled up, nor can a refresh be computing it), and
    drop the day sums holding them. Returns the hours marked."""
    hours: dict[str, set[int]] = {}
    rolled: dict[str, int | None] = {}
    for machine, lo, hi in spans:
        last = min(_floor_hour(hi), _floor_hour(committed_us) - HOUR_US)
        if last < _floor_hour(lo):
            continue  # the usual case: live data for the hour still running
        if machine not in rolled:
            row = conn.execute(
                "SELECT end_us FROM kpi_hours WHERE machine = ? ORDER BY start_us DESC LIMIT 1", (machine,)
            ).fetchone()
            rolled[machine] = None if row is None else int(row[0])
        # Hours far beyond what is rolled up cannot be in a refresh's hands yet: they will be computed
        # with this data. (A refresh puts at most KPI_MAX_AHEAD_US past the rollups' end.)
        reach = rolled[machine]
        last = min(
            last, (_floor_hour(lo) if reach is None else max(reach, _floor_hour(lo))) + KPI_MAX_AHEAD_US
        )
        hours.setdefault(machine, set()).update(range(_floor_hour(lo), last + 1, HOUR_US))
    marks = [(machine, h) for machine, found in hours.items() for h in sorted(found)]
    if not marks:
        return 0
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1')"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (_KPI_SEQ_KEY,),
    )
    seq = kpi_token(conn)
    conn.executemany(
        "INSERT INTO kpi_dirty (machine, hour_us, seq) VALUES (?, ?, ?)"
        " ON CONFLICT (machine, hour_us) DO UPDATE SET seq = excluded.seq",
        [(machine, h, seq) for machine, h in marks],
    )
    for machine, found in hours.items():
        if found:
            conn.execute(
                "DELETE FROM kpi_days WHERE machine = ? AND start_us <= ? AND end_us > ?",
                (machine, max(found), min(found)),
            )
    return len(marks)


def kpi_token(conn: sqlite3.Connection) -> int:
    """The invalidation counter: the ``seq`` of the latest dirty marks."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_KPI_SEQ_KEY,)).fetchone()
    return 0 if row is None else int(row[0])


def put_kpi_hours(
    conn: sqlite3.Connection,
    hours: Sequence[KpiRollup],
    token: int,
    days: Sequence[tuple[str, int, int]],
) -> None:
    """Upsert hour rollups, clear their dirty marks up to ``token``, rebuild or drop the given day sums."""
    conn.executemany(
        f"INSERT OR REPLACE INTO kpi_hours ({KPI_COLUMNS}) VALUES ({_KPI_MARKS})", map(kpi_row, hours)
    )
    conn.executemany(
        "DELETE FROM kpi_dirty WHERE machine = ? AND hour_us = ? AND seq <= ?",
        [(h.machine, h.start_us, token) for h in hours],
    )
    for machine, start_us, end_us in days:
        conn.execute(
            "DELETE FROM kpi_days WHERE machine = ? AND start_us < ? AND end_us > ?",
            (machine, end_us, start_us),
        )
        if start_us % HOUR_US or end_us % HOUR_US or end_us <= start_us:
            continue  # a day that is not made of whole clock hours (a half-hour time zone) has no sum
        dirty = conn.execute(
            "SELECT 1 FROM kpi_dirty WHERE machine = ? AND hour_us >= ? AND hour_us < ? LIMIT 1",
            (machine, start_us, end_us),
        ).fetchone()
        rows = conn.execute(
            f"SELECT {KPI_COLUMNS} FROM kpi_hours WHERE machine = ? AND start_us >= ? AND start_us < ?"
            " ORDER BY start_us",
            (machine, start_us, end_us),
        ).fetchall()
        if dirty is None and len(rows) == (end_us - start_us) // HOUR_US:
            row = kpi_row(sum_rollups([kpi_of(r) for r in rows]))
            conn.execute(f"INSERT INTO kpi_days ({KPI_COLUMNS}) VALUES ({_KPI_MARKS})", row)


# --- live SPC ---------------------------------------------------------------------------------------------

SPC_LIMITS_COLUMNS = (
    "id, machine, feature, chart, subgroup_size, center, sigma, lcl, ucl, baseline_start_us, baseline_end_us,"
    " points, excluded, rules, lsl, usl, by_user, at_us, why"
)
SPC_PROGRESS_COLUMNS = "machine, feature, watermark_us, state, at_us"


def spc_limits_of(row: tuple[Any, ...]) -> SpcLimitsRecord:
    (id_, machine, feature, chart, size, center, sigma, lcl, ucl, b0, b1, points, excluded, rules, lsl, usl,
     by, at_us, why) = row  # fmt: skip
    return SpcLimitsRecord(
        id_, machine, feature, chart, size, center, sigma, lcl, ucl, b0, b1, points,
        tuple(json.loads(excluded)), tuple(json.loads(rules)), lsl, usl, by, at_us, why,
    )  # fmt: skip


def spc_progress_of(row: tuple[Any, ...]) -> SpcProgress:
    machine, feature, watermark_us, state, at_us = row
    return SpcProgress(machine, feature, watermark_us, state, at_us)


def insert_spc_limits(conn: sqlite3.Connection, r: SpcLimitsRecord) -> int:
    """Append a version of the limits (never an update: the table is the audit trail); returns its id."""
    cursor = conn.execute(
        f"INSERT INTO spc_limits ({SPC_LIMITS_COLUMNS}) VALUES (NULL{', ?' * 18})",
        (
            r.machine, r.feature, r.chart, r.subgroup_size, r.center, r.sigma, r.lcl, r.ucl,
            r.baseline_start_us, r.baseline_end_us, r.points, json.dumps(list(r.excluded)),
            json.dumps(list(r.rules)), r.lsl, r.usl, r.by, r.at_us, r.why,
        ),
    )  # fmt: skip
    if cursor.lastrowid is None:  # never for an INSERT into a rowid table
        raise StoreError("SQLite gave no id for the SPC limits just recorded")
    return cursor.lastrowid


def advance_spc(
    conn: sqlite3.Connection,
    progress: SpcProgress,
    previous_us: int | None,
    alarms: Sequence[Alarm],
    clears: Sequence[tuple[int, int]],
) -> list[int] | None:
    """Compare-and-set of the watermark with the alarms it raised and cleared; None (nothing written)
    when the stored watermark is not ``previous_us``: another evaluator advanced it first."""
    row = conn.execute(
        "SELECT watermark_us FROM spc_progress WHERE machine = ? AND feature = ?",
        (progress.machine, progress.feature),
    ).fetchone()
    if (None if row is None else row[0]) != previous_us:
        return None
    ids = apply_alarms(conn, alarms, clears)
    conn.execute(
        f"INSERT OR REPLACE INTO spc_progress ({SPC_PROGRESS_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        (progress.machine, progress.feature, progress.watermark_us, progress.state, progress.at_us),
    )
    return ids


# --- work orders ------------------------------------------------------------------------------------------

WORK_ORDER_COLUMNS = (
    "id, machine, title, description, subsystem, priority, status, alarm_id, created_by, created_us,"
    " assignee, due_us, closed_by, closed_us, work_done, parts_replaced, fault_mode, episode_start_us,"
    " episode_end_us, rebaseline"
)
WORK_ORDER_EVENT_COLUMNS = "id, order_id, kind, by_user, at_us, details"


def work_order_of(row: tuple[Any, ...]) -> WorkOrder:
    (id_, machine, title, description, subsystem, priority, status, alarm_id, created_by, created_us,
     assignee, due_us, closed_by, closed_us, work_done, parts, fault_mode, ep_start, ep_end,
     rebaseline) = row  # fmt: skip
    return WorkOrder(
        id=id_, machine=machine, title=title, description=description, subsystem=subsystem,
        priority=priority, status=WorkOrderStatus(status), alarm_id=alarm_id, created_by=created_by,
        created_us=created_us, assignee=assignee, due_us=due_us, closed_by=closed_by, closed_us=closed_us,
        work_done=work_done, parts_replaced=tuple(json.loads(parts)), fault_mode=fault_mode,
        episode_start_us=ep_start, episode_end_us=ep_end, rebaseline=bool(rebaseline),
    )  # fmt: skip


def work_order_event_of(row: tuple[Any, ...]) -> WorkOrderEvent:
    id_, order_id, kind, by, at_us, details = row
    pairs = tuple((str(k), str(v)) for k, v in json.loads(details))
    return WorkOrderEvent(
        kind=WorkOrderEventKind(kind), by=by, at_us=at_us, details=pairs, order_id=order_id, id=id_
    )


def _work_order_values(o: WorkOrder) -> tuple[object, ...]:
    return (
        o.machine, o.title, o.description, o.subsystem, o.priority, o.status.value, o.alarm_id, o.created_by,
        o.created_us, o.assignee, o.due_us, o.closed_by, o.closed_us, o.work_done,
        json.dumps(list(o.parts_replaced), ensure_ascii=False), o.fault_mode, o.episode_start_us,
        o.episode_end_us, int(o.rebaseline),
    )  # fmt: skip


def _insert_work_order_event(conn: sqlite3.Connection, order_id: int, e: WorkOrderEvent) -> None:
    conn.execute(
        "INSERT INTO work_order_events (order_id, kind, by_user, at_us, details) VALUES (?, ?, ?, ?, ?)",
        (order_id, e.kind.value, e.by, e.at_us, json.dumps([list(p) for p in e.details], ensure_ascii=False)),
    )


def insert_work_order(conn: sqlite3.Connection, order: WorkOrder, event: WorkOrderEvent) -> int:
    """Record a new work order (its own id ignored) and its first event; returns the order's id."""
    cursor = conn.execute(
        f"INSERT INTO work_orders ({WORK_ORDER_COLUMNS}) VALUES (NULL{', ?' * 19})", _work_order_values(order)
    )
    if cursor.lastrowid is None:  # never for an INSERT into a rowid table
        raise StoreError("SQLite gave no id for the work order just recorded")
    _insert_work_order_event(conn, cursor.lastrowid, event)
    return cursor.lastrowid


def update_work_order(
    conn: sqlite3.Connection, order: WorkOrder, event: WorkOrderEvent, expected: WorkOrderStatus | None
) -> str | None:
    """Replace a work order and append its event, unless its stored status is not ``expected``; returns
    the status stored before (None: no such order, nothing written). The caller compares it with
    ``expected`` to know whether anything was written."""
    row = conn.execute("SELECT status FROM work_orders WHERE id = ?", (order.id,)).fetchone()
    if row is None:
        return None
    stored = str(row[0])
    if expected is not None and stored != expected.value:
        return stored
    names = [c.strip() for c in WORK_ORDER_COLUMNS.split(",")][1:]
    conn.execute(
        f"UPDATE work_orders SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
        (*_work_order_values(order), order.id),
    )
    _insert_work_order_event(conn, order.id, event)
    return stored


def apply_alarms(
    conn: sqlite3.Connection, alarms: Sequence[Alarm], clears: Sequence[tuple[int, int]]
) -> list[int]:
    """Record ``alarms`` and clear ``(id, ts_us)`` pairs; returns the new ids, in order."""
    ids = [insert_alarm(conn, alarm) for alarm in alarms]
    # An episode that began and ended within one evaluation pass is raised already cleared.
    for alarm_id, alarm in zip(ids, alarms, strict=True):
        if alarm.cleared_us is not None:
            clear_alarm(conn, alarm_id, alarm.cleared_us)
    for alarm_id, ts_us in clears:
        clear_alarm(conn, alarm_id, ts_us)
    return ids


HEALTH_PROGRESS_COLUMNS = "machine, watermark_us, state, at_us"


def health_point_json(point: HealthPoint) -> str:
    return json.dumps(
        {
            "levels": dict(point.levels),
            "evidence": dict(point.evidence),
            "vector": dict(point.vector),
            "changes": dict(point.changes),
            "anomaly": point.anomaly,
            "learning": point.learning,
        },
        separators=(",", ":"),
    )


def health_point_of(machine: str, ts_us: int, text: str) -> HealthPoint:
    data = json.loads(text)
    return HealthPoint(
        machine,
        ts_us,
        data["levels"],
        data["evidence"],
        data["vector"],
        data.get("changes", {}),
        float(data["anomaly"]),
        bool(data["learning"]),
    )


def advance_health(
    conn: sqlite3.Connection,
    progress: HealthProgress,
    *,
    previous_us: int | None,
    points: Sequence[HealthPoint],
    alarms: Sequence[Alarm],
    clears: Sequence[tuple[int, int]],
    episodes: Sequence[LabelledEpisode] = (),
) -> list[int] | None:
    """Compare-and-set of a press's health watermark with the points and alarms of the pass; None (nothing
    written) when the stored watermark is not ``previous_us``."""
    row = conn.execute(
        "SELECT watermark_us FROM health_progress WHERE machine = ?", (progress.machine,)
    ).fetchone()
    if (None if row is None else row[0]) != previous_us:
        return None
    ids = apply_alarms(conn, alarms, clears)
    conn.executemany(
        "INSERT OR REPLACE INTO health_points (machine, ts_us, point) VALUES (?, ?, ?)",
        [(p.machine, p.ts_us, health_point_json(p)) for p in points],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO health_episodes (order_id, machine, mode, ended_us, vector)"
        " VALUES (?, ?, ?, ?, ?)",
        [(e.order_id, e.machine, e.mode, e.ended_us, json.dumps(dict(e.vector))) for e in episodes],
    )
    conn.execute(
        f"INSERT OR REPLACE INTO health_progress ({HEALTH_PROGRESS_COLUMNS}) VALUES (?, ?, ?, ?)",
        (progress.machine, progress.watermark_us, progress.state, progress.at_us),
    )
    return ids
