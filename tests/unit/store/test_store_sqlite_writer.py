"""What the contract suite cannot see: the SQLite store's writer, file layout and second-process reads."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from cadence.clock import SimClock
from cadence.domain import Batch, IdempotencyKey, SampleBlock, SignalKind, SignalSpec, Stroke
from cadence.errors import StoreClosed, StoreError
from cadence.ports import AppendOutcome, QuarantineItem, RetentionPolicy
from cadence.store.sqlite import SqliteStore
from cadence.store.sqlite.ops import QUARANTINE_PAYLOAD_CAP_BYTES
from cadence.store.sqlite.schema import SCHEMA_VERSION

T0 = 1_700_000_000_000_000
DAY_US = 86_400_000_000
TEMP = SignalSpec("oil_temp", "°C", sampling_hz=1, resolution=0.1)
PRESSURE = SignalSpec("pressure", "bar", sampling_hz=500, resolution=0.01, kind=SignalKind.WAVEFORM)


def batch(
    seq: int, signal: str = "oil_temp", values: tuple[float, ...] = (1.0, 2.0), source: str = "gw"
) -> Batch:
    block = SampleBlock.regular(signal, T0 + seq * 10_000_000, 1_000_000, values)
    return Batch(IdempotencyKey(source, 1, seq), "P01", samples=(block,), digest=f"{signal}{values}".encode())


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    opened = SqliteStore(tmp_path / "s.sqlite", auto_compact_interval_s=0)
    opened.register_signals("P01", [TEMP, PRESSURE])
    return opened


def test_file_is_wal_and_records_its_schema_version(store: SqliteStore) -> None:
    store.close()
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
            SCHEMA_VERSION
        )
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(StoreError, match="schema version 999"):
        SqliteStore(store.path)


def test_a_failing_task_in_a_group_fails_alone(store: SqliteStore) -> None:
    # Hold the write lock from another connection so that the writer blocks on its first task while the
    # others queue up behind it: they are then committed together, in one group.
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    commits_before = store._writer.commits  # type: ignore[union-attr]
    first = store.submit([batch(0)])
    time.sleep(0.2)
    grouped = [
        store.submit([batch(1)]),
        store.submit([batch(2, signal="vibration")]),
        store.submit([batch(3)]),
    ]
    blocker.execute("COMMIT")
    blocker.close()

    assert first.result(timeout=30) == [AppendOutcome.STORED]
    assert grouped[0].result(timeout=30) == [AppendOutcome.STORED]
    with pytest.raises(StoreError, match="vibration"):
        grouped[1].result(timeout=30)
    assert grouped[2].result(timeout=30) == [AppendOutcome.STORED]
    assert store._writer.commits - commits_before == 2  # type: ignore[union-attr]
    assert len(store.series("P01", "oil_temp", 0, 2 * T0)) == 6
    store.close()


def test_concurrent_senders_share_commits(store: SqliteStore) -> None:
    futures: list[Future[list[AppendOutcome]]] = []
    lock = threading.Lock()

    def send(source: str) -> None:
        for seq in range(50):
            f = store.submit([batch(seq, source=source)])
            with lock:
                futures.append(f)

    commits_before = store._writer.commits  # type: ignore[union-attr]
    threads = [threading.Thread(target=send, args=(f"gw{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(f.result(timeout=30) == [AppendOutcome.STORED] for f in futures)
    assert store._writer.commits - commits_before < len(futures)  # type: ignore[union-attr]
    assert store.stats().batches == 200
    store.close()


def test_close_applies_every_queued_write_and_later_writes_are_refused(store: SqliteStore) -> None:
    futures = [store.submit([batch(i)]) for i in range(100)]
    store.close()
    assert all(f.done() and f.result() == [AppendOutcome.STORED] for f in futures)
    with pytest.raises(StoreClosed):
        store.submit([batch(1000)])
    with pytest.raises(StoreClosed):
        store.latest()
    store.close()
    assert not Path(f"{store.path}-wal").exists() or Path(f"{store.path}-wal").stat().st_size == 0
    with SqliteStore(store.path) as again:
        assert again.stats().batches == 100
        assert again.integrity_check() == "ok"


def test_a_cancelled_submit_is_not_written(store: SqliteStore) -> None:
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    first = store.submit([batch(0)])
    time.sleep(0.1)
    cancelled = store.submit([batch(1)])
    assert cancelled.cancel()
    blocker.execute("COMMIT")
    blocker.close()
    first.result(timeout=30)
    store.close()
    with SqliteStore(store.path) as again:
        assert again.stats().batches == 1


def test_a_read_only_store_reads_beside_the_writer(store: SqliteStore) -> None:
    reader = SqliteStore(store.path, read_only=True)
    try:
        store.append([batch(0)])
        assert reader.series("P01", "oil_temp", 0, 2 * T0).values.tolist() == [1.0, 2.0]
        with pytest.raises(StoreError, match="read-only"):
            reader.append([batch(1)])
        store.append([batch(1)])
        assert reader.stats().batches == 2
    finally:
        reader.close()
        store.close()


def test_read_only_refuses_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).close()
    with pytest.raises(StoreError, match="not a Cadence store"):
        SqliteStore(other, read_only=True)
    with pytest.raises(StoreError, match="no store"):
        SqliteStore(tmp_path / "missing.sqlite", read_only=True)
    assert not (tmp_path / "missing.sqlite").exists()


def test_quarantined_payloads_are_capped_and_keep_their_size(store: SqliteStore) -> None:
    payload = b"x" * (QUARANTINE_PAYLOAD_CAP_BYTES * 3)
    store.quarantine(QuarantineItem(T0, "http", "ingest.too_large", "big", payload, len(payload)))
    item = store.quarantined()[0]
    assert len(item.payload) == QUARANTINE_PAYLOAD_CAP_BYTES
    assert item.size == len(payload)
    store.close()


def test_strokes_are_found_by_serial_lot_and_material_lot(store: SqliteStore) -> None:
    strokes = [
        Stroke(
            "P01",
            n,
            T0 + n * 10**7,
            T0 + n * 10**7 + 1,
            True,
            lot=f"L{n % 2}",
            material_lot="H1",
            serial=f"S{n}",
        )
        for n in range(6)
    ]
    store.append([Batch(IdempotencyKey("gw", 1, 0), "P01", strokes=tuple(strokes), digest=b"s")])
    assert [s.n for s in store.find_strokes(serial="S3")] == [3]
    assert [s.n for s in store.find_strokes(lot="L1")] == [5, 3, 1]
    assert len(store.find_strokes(material_lot="H1", limit=4)) == 4
    with pytest.raises(ValueError, match="exactly one"):
        store.find_strokes(serial="S1", lot="L1")
    store.close()


def test_a_changed_resolution_applies_to_new_chunks_only(store: SqliteStore) -> None:
    store.append([batch(0, values=(1.2, 3.4))])
    store.register_signals("P01", [SignalSpec("oil_temp", "°C", sampling_hz=1, resolution=0.5)])
    store.append([batch(1, values=(1.2, 3.4))])
    assert store.series("P01", "oil_temp", 0, 2 * T0).values.tolist() == [1.2, 3.4, 1.0, 3.5]
    store.close()


def test_compaction_leaves_recent_chunks_alone(tmp_path: Path) -> None:
    with SqliteStore.for_tests(tmp_path, compact_after_s=300) as store:
        store.register_signals("P01", [TEMP])
        for i in range(5):
            store.append([batch(i)])
        # chunk i holds T0 + 10 i s and T0 + 10 i s + 1 s
        assert store.compact(T0 + 1_000_000 + 299_000_000) == 0  # even the oldest ended < 300 s ago
        assert store.compact(T0 + 21_000_000 + 301_000_000) == 3  # chunks 0, 1, 2 are old enough
        assert store.stats().chunks == 3
        assert store.compact(T0 + 41_000_000 + 301_000_000) == 3  # the merged one and chunks 3 and 4
        assert store.stats().chunks == 1


def test_the_writer_compacts_by_itself_when_idle(tmp_path: Path) -> None:
    clock = SimClock(start_us=T0 + DAY_US)
    with SqliteStore.for_tests(tmp_path, clock=clock, auto_compact_interval_s=0.001) as store:
        store.register_signals("P01", [TEMP])
        store.append([batch(i) for i in range(20)])
        deadline = time.monotonic() + 10
        while store.stats().chunks > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.stats().chunks == 1
        assert len(store.series("P01", "oil_temp", 0, 2 * T0)) == 40


def test_stats_count_the_wal_on_disk(store: SqliteStore) -> None:
    store.append([batch(i, signal="pressure", values=tuple(np.arange(500) / 100)) for i in range(20)])
    stats = store.stats()
    wal = Path(f"{store.path}-wal").stat().st_size
    assert stats.bytes_on_disk == store.path.stat().st_size + wal
    store.close()


def test_retention_folds_ledger_keys_into_ranges_by_commit_time(tmp_path: Path) -> None:
    clock = SimClock(start_us=T0)
    with SqliteStore.for_tests(tmp_path, clock=clock) as store:
        store.register_signals("P01", [TEMP])
        store.append([batch(0), batch(1), batch(2), batch(5)])
        clock.advance_to(T0 + 40 * DAY_US)
        store.append([batch(3)])
        report = store.apply_retention(T0 + 41 * DAY_US, RetentionPolicy(ledger_days=30))
        assert report.ledger_keys_deleted == 4
        with sqlite3.connect(store.path) as conn:
            ranges = conn.execute("SELECT lo, hi FROM ledger_ranges ORDER BY lo").fetchall()
            rows = conn.execute("SELECT seq FROM batches").fetchall()
        assert ranges == [(0, 2), (5, 5)] and rows == [(3,)]
        # Folded keys are still replays, however old; the recent one keeps its digest.
        assert store.append([batch(0), batch(2), batch(5), batch(3)]) == [AppendOutcome.DUPLICATE] * 4
        assert store.append([batch(4)]) == [AppendOutcome.STORED]
        clock.advance_to(T0 + 80 * DAY_US)
        store.apply_retention(T0 + 80 * DAY_US, RetentionPolicy(ledger_days=30))
        with sqlite3.connect(store.path) as conn:
            assert conn.execute("SELECT lo, hi FROM ledger_ranges").fetchall() == [(0, 5)]
        assert store.stats().batches == 6


def test_synchronous_writes_from_a_future_callback_fail_instead_of_hanging(store: SqliteStore) -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    def write_again(_: Future[list[AppendOutcome]]) -> None:
        try:
            store.append([batch(1)])
        except StoreError as err:
            errors.append(err)
        finally:
            done.set()

    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # keeps the future pending until the callback is attached
    future = store.submit([batch(0)])
    future.add_done_callback(write_again)
    blocker.execute("COMMIT")
    blocker.close()
    assert done.wait(30)
    assert len(errors) == 1 and "writer thread" in str(errors[0])
    store.close()


def test_a_store_made_before_alarm_acknowledgement_gains_the_columns_on_opening(store: SqliteStore) -> None:
    store.close()
    # Rebuild the alarms table as schema version 1 first had it, with one alarm in it.
    conn = sqlite3.connect(store.path)
    try:
        for column in ("acked_us", "acked_by", "cleared_us", "message_en"):
            conn.execute(f"ALTER TABLE alarms DROP COLUMN {column}")
        conn.execute(
            "INSERT INTO alarms (code, severity, message, raised_us, source, machine)"
            " VALUES ('broker.messages_dropped', 30, 'dropped 3', ?, 'broker', NULL)",
            (T0,),
        )
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(StoreError, match="predates some alarm columns"):
        SqliteStore(store.path, read_only=True)
    reopened = SqliteStore(store.path, auto_compact_interval_s=0)
    try:
        (old,) = reopened.alarms()
        assert old.message == "dropped 3" and old.active and not old.acknowledged
        assert old.message_en is None and old.text("en") == "dropped 3"  # French only: shown as it is
        assert old.id is not None
        assert reopened.acknowledge_alarm(old.id, "ana", T0 + 1).acked_by == "ana"
    finally:
        reopened.close()
    reader = SqliteStore(store.path, read_only=True)  # upgraded: a second process may read it now
    try:
        assert reader.alarms(unacknowledged=False)[0].acked_by == "ana"
    finally:
        reader.close()
