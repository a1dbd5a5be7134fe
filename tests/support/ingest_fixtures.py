"""Fixtures for ingest tests: the example plant, a real SQLite store on disk, a pipeline over both.

Import the fixtures you use into the test module (pytest finds them by name)::

    from support.ingest_fixtures import pipeline, plant, store  # noqa: F401
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cadence.clock import SimClock
from cadence.domain import Plant
from cadence.ingest.pipeline import IngestPipeline
from cadence.ingest.stats import IngestStats
from cadence.plantfile import load_plant
from cadence.protocol import Limits
from cadence.store.sqlite import SqliteStore

EXAMPLE_PLANT = Path(__file__).resolve().parents[2] / "src" / "cadence" / "examples" / "plant.toml"


@pytest.fixture(scope="session")
def plant() -> Plant:
    return load_plant(EXAMPLE_PLANT)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "cadence.db", auto_compact_interval_s=0)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def pipeline(plant: Plant, store: SqliteStore) -> Iterator[IngestPipeline]:
    pipe = IngestPipeline(plant, store, SimClock(start_us=1_764_403_300_000_000), Limits(), IngestStats())
    try:
        yield pipe
    finally:
        pipe.close()


@contextmanager
def writer_blocked(db: Path) -> Iterator[None]:
    """Hold SQLite's write lock from another connection: the store's writer cannot commit meanwhile.

    The writer waits on the lock (busy timeout 10 s) instead of failing, so everything queued commits once
    the block is lifted. Tests use it to observe what happens *before* a commit, deterministically.
    """
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def check_idle_counts(snapshot: dict[str, object]) -> None:
    """Once ingest is idle, every message received is in exactly one final bucket (none in flight)."""
    assert snapshot["in_flight"] == 0, snapshot
    settled = sum(int(str(snapshot[k])) for k in ("stored", "duplicates", "rejected_total", "failed"))
    assert snapshot["received"] == settled, snapshot
    rejected = snapshot["rejected"]
    assert isinstance(rejected, dict)
    assert sum(rejected.values()) == snapshot["rejected_total"], snapshot
