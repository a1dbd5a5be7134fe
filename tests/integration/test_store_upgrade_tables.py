"""A store file made before work orders or press health existed gets their tables when opened read-write,
and a read-only opening of such a file says what to do (cadence.store.sqlite.schema)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cadence.domain import Alarm, Severity
from cadence.domain.workorders import WorkOrder, WorkOrderEvent, WorkOrderEventKind
from cadence.errors import StoreError
from cadence.ports import HealthProgress
from cadence.store.sqlite import SqliteStore

T0 = 1_764_403_200_000_000


def test_an_older_store_file_gains_the_work_order_tables(tmp_path: Path) -> None:
    with SqliteStore.for_tests(tmp_path) as store:
        alarm_id = store.record_alarm(Alarm("health.pump", Severity.WARNING, "fuite", T0, "health", "P01"))
        path = store.path
    # The file as a Cadence without work orders left it.
    with sqlite3.connect(path) as conn:
        conn.executescript("DROP TABLE work_order_events; DROP TABLE work_orders;")
    conn.close()

    with pytest.raises(StoreError, match="predates work orders"):
        SqliteStore(path, read_only=True)

    with SqliteStore.for_tests(tmp_path) as store:
        assert store.alarm(alarm_id) is not None
        order = WorkOrder(
            id=0, machine="P01", title="Fuite", created_by="marc", created_us=T0, alarm_id=alarm_id
        )
        event = WorkOrderEvent(kind=WorkOrderEventKind.CREATED, by="marc", at_us=T0)
        order_id = store.record_work_order(order, event)
        assert store.work_order(order_id) is not None

    reader = SqliteStore(path, read_only=True)
    try:
        assert [o.id for o in reader.work_orders(machine="P01")] == [order_id]
    finally:
        reader.close()


def test_an_older_store_file_gains_the_press_health_tables(tmp_path: Path) -> None:
    with SqliteStore.for_tests(tmp_path) as store:
        path = store.path
    with sqlite3.connect(path) as conn:
        conn.executescript("DROP TABLE health_progress; DROP TABLE health_points; DROP TABLE health_episodes")
    conn.close()

    with pytest.raises(StoreError, match="predates press health"):
        SqliteStore(path, read_only=True)

    with SqliteStore.for_tests(tmp_path) as store:
        assert store.advance_health(HealthProgress("P01", T0, "{}", T0), previous_us=None) == []
    reader = SqliteStore(path, read_only=True)
    try:
        assert reader.health_progress("P01") == HealthProgress("P01", T0, "{}", T0)
    finally:
        reader.close()
