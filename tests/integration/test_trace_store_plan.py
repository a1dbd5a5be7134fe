"""The SQLite store answers traceability searches from an index, never by scanning the strokes table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cadence.domain import Batch, IdempotencyKey, MachineState, StateChange, Stroke
from cadence.domain.operator import OrderEvent, OrderKind
from cadence.store.sqlite import SqliteStore
from cadence.store.sqlite.store import (
    _STATE_AT,
    _STATES_IN,
    _TRACE_COLUMNS,
    _trace_query,
    _trace_summary_query,
    _window_strokes_query,
    _window_summary_query,
)

T0 = 1_764_403_200_000_000
KEY_INDEX = {
    "serial": "strokes_serial",
    "lot": "strokes_lot",
    "material_lot": "strokes_material_lot_start",
    "production_order": "strokes_order",
    "die": "strokes_die",
}


def _fill(store: SqliteStore, count: int) -> None:
    strokes = tuple(
        Stroke(
            machine=f"P0{n % 3 + 1}",
            n=n,
            start_us=T0 + n * 8_000_000,
            end_us=T0 + n * 8_000_000 + 7_000_000,
            good=n % 17 != 0,
            order=f"OF-{n // 500}",
            lot=f"L-{n // 100}",
            material_lot=f"HEAT-{n // 700}",
            serial=f"S-{n:08d}",
            die=f"D-{n % 4}",
        )
        for n in range(count)
    )
    store.append([Batch(IdempotencyKey("plan", 1, 0), "P01", strokes=strokes, digest=b"plan")])


@pytest.mark.parametrize("column", sorted(_TRACE_COLUMNS.values()))
@pytest.mark.parametrize("narrowed", [False, True])
def test_every_search_key_uses_its_index(tmp_path: Path, column: str, narrowed: bool) -> None:
    with SqliteStore.for_tests(tmp_path) as store:
        _fill(store, 3_000)
        path = store.path
    # Statistics as a long-running store would have them: the planner must still pick the key's index
    # even when machine and time could drive the (machine, start_us) index instead.
    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")
    machine, start, end = ("P01", T0, T0 + 10**12) if narrowed else (None, None, None)
    sql, params = _trace_query(column, "x", machine, start, end, with_waveform=False)
    plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", (*params, 10)))
    conn.close()
    assert f"USING INDEX {KEY_INDEX[column]}" in plan, plan
    assert "SCAN strokes" not in plan, plan


def _plan(path: Path, sql: str, params: tuple[object, ...]) -> str:
    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")
    plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    conn.close()
    return plan


@pytest.mark.parametrize("narrowed", [False, True])
def test_a_heat_is_counted_from_the_covering_index_alone(tmp_path: Path, narrowed: bool) -> None:
    with SqliteStore.for_tests(tmp_path) as store:
        _fill(store, 3_000)
        path = store.path
    machine, start, end = ("P01", T0, T0 + 10**12) if narrowed else (None, None, None)
    sql, params = _trace_summary_query("material_lot", "HEAT-1", machine, start, end)
    plan = _plan(path, sql, tuple(params))
    assert "USING COVERING INDEX strokes_material_lot_trace" in plan, plan
    assert "SCAN strokes" not in plan, plan
    assert "TEMP B-TREE FOR GROUP BY" not in plan, plan  # groups follow the index's order


def test_the_state_in_force_is_one_seek_not_a_history_read(tmp_path: Path) -> None:
    with SqliteStore.for_tests(tmp_path) as store:
        changes = tuple(
            StateChange(T0 + k * 60_000_000, MachineState.RUNNING if k % 2 else MachineState.IDLE)
            for k in range(5_000)
        )
        for machine in ("P01", "P02"):
            store.append(
                [Batch(IdempotencyKey("plan", 2, len(machine)), machine, states=changes, digest=b"s")]
            )
        path = store.path
        assert store.state_at("P01", T0 + 10**9) == changes[16]
    for sql, params in ((_STATE_AT, ("P01", T0)), (_STATES_IN, ("P01", T0, T0 + 10**9))):
        plan = _plan(path, sql, params)
        assert "SEARCH states USING PRIMARY KEY (machine=? AND ts_us" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # the order is the key's, nothing is sorted


def test_a_file_made_before_the_order_and_die_indexes_gets_them(tmp_path: Path) -> None:
    with SqliteStore.for_tests(tmp_path) as store:
        _fill(store, 50)
        path = store.path
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX strokes_order")
    conn.execute("DROP INDEX strokes_die")
    conn.execute("DROP INDEX strokes_material_lot_trace")
    conn.execute("DROP INDEX strokes_material_lot_start")
    conn.execute("CREATE INDEX strokes_material_lot ON strokes (material_lot) WHERE material_lot IS NOT NULL")
    conn.commit()
    conn.close()
    with SqliteStore.for_tests(tmp_path) as store:
        assert [s.n for s in store.find_strokes(order="OF-0", limit=3)] == [49, 48, 47]
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert {
        "strokes_order",
        "strokes_die",
        "strokes_material_lot_start",
        "strokes_material_lot_trace",
    } <= names
    assert "strokes_material_lot" not in names  # the covering index replaces it


def _fill_orders(store: SqliteStore, count: int) -> None:
    """A year of tablet orders on three presses, one every two hours, two heats out of three typed."""
    for k in range(count):
        start = OrderEvent(
            f"P0{k % 3 + 1}",
            T0 + k * 2 * 3_600_000_000,
            OrderKind.START,
            f"OF-{k}",
            "BR-7",
            lot=f"L-{k // 10}",
            material_lot=f"HEAT-{k // 20}" if k % 3 else None,
            by="lea",
        )
        store.record_order_event(start)


@pytest.mark.parametrize("column", ["material_lot", "lot"])
def test_tablet_windows_are_counted_and_paged_from_indexes(tmp_path: Path, column: str) -> None:
    with SqliteStore.for_tests(tmp_path) as store:
        _fill(store, 3_000)
        _fill_orders(store, 300)
        path = store.path
    for sql, params in (
        (_window_summary_query(column), ("HEAT-1",)),
        (_window_strokes_query(column), ("HEAT-1", "HEAT-1", 10, 0)),
    ):
        plan = _plan(path, sql, params)
        # The starts with the key, the next event of each start's press, the window's strokes: all seeks.
        assert f"SEARCH e USING INDEX order_events_{column} ({column}=?)" in plan, plan
        assert "SEARCH n USING COVERING INDEX order_events_at (machine=? AND at_us>?)" in plan, plan
        assert (
            "SEARCH s USING INDEX sqlite_autoindex_strokes_1 (machine=? AND start_us>? AND start_us<?)"
            in plan
        )
        assert "SCAN strokes" not in plan and "SCAN order_events" not in plan and "SCAN s" not in plan, plan


def test_the_order_windows_of_a_press_are_seeks(tmp_path: Path) -> None:
    with SqliteStore.for_tests(tmp_path) as store:
        _fill_orders(store, 300)
        path = store.path
        assert [
            w.start.order for w in store.order_windows("P01", T0 + 7_200_000_000, T0 + 7_200_000_001)
        ] == ["OF-0"]
    plan = _plan(
        path,
        "SELECT * FROM order_events WHERE machine = ? AND at_us < ? ORDER BY at_us DESC, id DESC LIMIT 1",
        ("P01", T0),
    )
    assert "SEARCH order_events USING INDEX order_events_at (machine=? AND at_us<?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_a_file_made_before_the_order_event_key_indexes_gets_them(tmp_path: Path) -> None:
    with SqliteStore.for_tests(tmp_path) as store:
        _fill_orders(store, 30)
        path = store.path
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX order_events_lot")
    conn.execute("DROP INDEX order_events_material_lot")
    conn.commit()
    conn.close()
    with SqliteStore.for_tests(tmp_path) as store:
        assert len(store.order_window_summary(lot="L-0")) == 0  # no strokes, but the query runs
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert {"order_events_lot", "order_events_material_lot"} <= names
