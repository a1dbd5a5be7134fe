"""The SQLite store's schema, versioned in the ``meta`` table, and the PRAGMAs of its connections."""

from __future__ import annotations

import logging
import sqlite3

from cadence.errors import StoreError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# Chunks below this many points are merged by compaction. Ingest blocks are a few to a few thousand
# points; pcodec's per-blob overhead (~30 B) stops mattering around a few thousand points.
SMALL_CHUNK_POINTS = 4096

# A writer waiting on another process's lock (a backup, `sqlite3` in a shell) retries this long before
# failing its transaction; readers wait the same during a checkpoint's brief exclusive moments.
BUSY_TIMEOUT_MS = 10_000
# Checkpoint the WAL every 4096 pages (16 MiB with 4 KiB pages): larger than SQLite's 1000-page default so
# that sustained ingest checkpoints a few times a minute rather than several times a second, small enough
# that the WAL a reader must search stays short.
WAL_AUTOCHECKPOINT_PAGES = 4096
# Page cache of each connection, in KiB (negative cache_size means KiB in SQLite): 16 MiB keeps the hot
# chunk index, rollups and ledger pages resident without weighing on a small server's RSS.
CACHE_KIB = 16 * 1024

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    signal TEXT NOT NULL,
    unit TEXT NOT NULL,
    resolution REAL NOT NULL,
    kind TEXT NOT NULL,
    UNIQUE (machine, signal)
);

-- One row per ingested block (later merged by compaction). `resolution` is the one the values were
-- quantised with, so a signal whose resolution changes keeps reading its old chunks correctly.
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    series_id INTEGER NOT NULL REFERENCES series (id),
    start_us INTEGER NOT NULL,
    end_us INTEGER NOT NULL,
    n INTEGER NOT NULL,
    resolution REAL NOT NULL,
    ts_blob BLOB NOT NULL,
    val_blob BLOB NOT NULL,
    created_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_series_end ON chunks (series_id, end_us);
-- Compaction looks only for small chunks; this partial index keeps that search off the big ones.
CREATE INDEX IF NOT EXISTS chunks_small ON chunks (series_id, start_us) WHERE n < {small};

CREATE TABLE IF NOT EXISTS rollup_1m (
    series_id INTEGER NOT NULL,
    bucket_us INTEGER NOT NULL,
    count INTEGER NOT NULL,
    sum REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    PRIMARY KEY (series_id, bucket_us)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS rollup_1h (
    series_id INTEGER NOT NULL,
    bucket_us INTEGER NOT NULL,
    count INTEGER NOT NULL,
    sum REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    PRIMARY KEY (series_id, bucket_us)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS latest (
    series_id INTEGER PRIMARY KEY,
    ts_us INTEGER NOT NULL,
    value REAL NOT NULL
);

-- The idempotency ledger (docs/security.md §2.7): a key is written in the same transaction as its data.
CREATE TABLE IF NOT EXISTS batches (
    source TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    digest BLOB NOT NULL,
    machine TEXT NOT NULL,
    received_us INTEGER NOT NULL,
    committed_us INTEGER NOT NULL,
    points INTEGER NOT NULL,
    PRIMARY KEY (source, epoch, seq)
) WITHOUT ROWID;
-- Retention folds keys by commit time (RetentionPolicy.ledger_days) without scanning the whole ledger.
CREATE INDEX IF NOT EXISTS batches_committed ON batches (committed_us);

-- Keys past the ledger window, kept as ranges of sequence numbers per stream: a replay is recognised for
-- ever at the cost of one row per run of consecutive numbers (usually one per source and epoch).
CREATE TABLE IF NOT EXISTS ledger_ranges (
    source TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    lo INTEGER NOT NULL,
    hi INTEGER NOT NULL,
    PRIMARY KEY (source, epoch, lo)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ingest_cursor (
    source TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    max_seq INTEGER NOT NULL,
    batches INTEGER NOT NULL,
    PRIMARY KEY (source, epoch)
) WITHOUT ROWID;

-- Per-machine totals kept in the append transaction, so that stats() never counts the ledger.
CREATE TABLE IF NOT EXISTS machine_totals (
    machine TEXT PRIMARY KEY,
    batches INTEGER NOT NULL
) WITHOUT ROWID;

-- A rowid table (not WITHOUT ROWID): rows carry waveform blobs, which SQLite advises against in
-- clustered tables.
CREATE TABLE IF NOT EXISTS strokes (
    machine TEXT NOT NULL,
    start_us INTEGER NOT NULL,
    end_us INTEGER NOT NULL,
    n INTEGER NOT NULL,
    good INTEGER NOT NULL,
    scrap_reason TEXT,
    production_order TEXT,
    part TEXT,
    lot TEXT,
    material_lot TEXT,
    serial TEXT,
    die TEXT,
    features TEXT NOT NULL,
    waveform BLOB,
    UNIQUE (machine, start_us)
);
CREATE INDEX IF NOT EXISTS strokes_serial ON strokes (serial) WHERE serial IS NOT NULL;
CREATE INDEX IF NOT EXISTS strokes_lot ON strokes (lot) WHERE lot IS NOT NULL;
{stroke_key_indexes}
CREATE INDEX IF NOT EXISTS strokes_end ON strokes (end_us);
-- Retention drops waveforms years before the strokes: without this, each run would rescan every stroke
-- whose waveform is already gone.
CREATE INDEX IF NOT EXISTS strokes_with_waveform ON strokes (end_us) WHERE waveform IS NOT NULL;

CREATE TABLE IF NOT EXISTS states (
    machine TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (machine, ts_us)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    severity INTEGER NOT NULL,
    message TEXT NOT NULL,
    raised_us INTEGER NOT NULL,
    source TEXT NOT NULL,
    machine TEXT,
    acked_us INTEGER,
    acked_by TEXT,
    cleared_us INTEGER,
    message_en TEXT
);

{operator_tables}

CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    received_us INTEGER NOT NULL,
    channel TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_received ON quarantine (received_us);
"""


# Traceability by order and die (forward genealogy from a die, an order's parts): added after the first
# schema version 1 files, so they are also created, idempotently, when an existing file is opened
# read-write. Keyed with start_us so a search's newest-first order is read off the index, not sorted.
_STROKE_KEY_INDEXES = """
CREATE INDEX IF NOT EXISTS strokes_order ON strokes (production_order, start_us)
    WHERE production_order IS NOT NULL;
CREATE INDEX IF NOT EXISTS strokes_die ON strokes (die, start_us) WHERE die IS NOT NULL;
-- Forward genealogy of a heat, in two indexes that replace the first files' strokes_material_lot
-- (material_lot): one keyed by start, for newest-first pages of parts read off the index; one covering
-- every column trace_summary groups and counts, in its GROUP BY order, so a 20,000-part heat is summed
-- from the index alone, without reading a row or sorting (4x faster than grouping the first one).
CREATE INDEX IF NOT EXISTS strokes_material_lot_start ON strokes (material_lot, start_us)
    WHERE material_lot IS NOT NULL;
CREATE INDEX IF NOT EXISTS strokes_material_lot_trace
    ON strokes (material_lot, production_order, part, lot, machine, die, good, start_us)
    WHERE material_lot IS NOT NULL;
DROP INDEX IF EXISTS strokes_material_lot;
"""


# Operator events (cadence.domain.operator), append-only: a later stop reason is a new row, so who qualified
# a stop and how stays known. Added after the first schema version 1 files, so also created, idempotently,
# when an existing file is opened read-write.
_OPERATOR_TABLES = """
CREATE TABLE IF NOT EXISTS stop_reasons (
    id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    stop_start_us INTEGER NOT NULL,
    reason TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS stop_reasons_stop ON stop_reasons (machine, stop_start_us, id);

CREATE TABLE IF NOT EXISTS scrap_declarations (
    id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    cause TEXT NOT NULL,
    by_user TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scrap_declarations_at ON scrap_declarations (machine, at_us);

CREATE TABLE IF NOT EXISTS order_events (
    id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    kind TEXT NOT NULL,
    production_order TEXT,
    part TEXT,
    lot TEXT,
    material_lot TEXT,
    die TEXT,
    by_user TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS order_events_at ON order_events (machine, at_us, id);

CREATE TABLE IF NOT EXISTS logbook (
    id INTEGER PRIMARY KEY,
    machine TEXT,
    at_us INTEGER NOT NULL,
    text TEXT NOT NULL,
    by_user TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logbook_at ON logbook (at_us);
CREATE INDEX IF NOT EXISTS logbook_machine_at ON logbook (machine, at_us);
"""
_OPERATOR_TABLE_NAMES = frozenset({"stop_reasons", "scrap_declarations", "order_events", "logbook"})

# Traceability through tablet orders (order_window_summary): the starts carrying a lot or material lot.
# Added after the operator tables, so also created, idempotently, when an existing file is opened
# read-write; a read-only opening of an older file still answers, by a scan of the (small) table.
_ORDER_EVENT_KEY_INDEXES = """
CREATE INDEX IF NOT EXISTS order_events_lot ON order_events (lot) WHERE lot IS NOT NULL;
CREATE INDEX IF NOT EXISTS order_events_material_lot ON order_events (material_lot)
    WHERE material_lot IS NOT NULL;
"""


# KPI rollups (cadence.services.kpi_history): one row per machine and clock hour, and the sums of whole
# days so that a year of a plant is a few thousand rows to add, not 175,000. Times are integer µs (exact
# sums); ``downtime`` is a JSON object {reason: µs}. ``kpi_dirty`` holds hours that late data changed,
# each with the value of the ``kpi_dirty_seq`` counter (in ``meta``) when it was marked, so a refresh
# only clears the marks it has seen. Added after the first schema version 1 files, so also created,
# idempotently, when an existing file is opened read-write.
_KPI_COLUMNS_SQL = """
    machine TEXT NOT NULL,
    start_us INTEGER NOT NULL,
    end_us INTEGER NOT NULL,
    running_us INTEGER NOT NULL,
    idle_us INTEGER NOT NULL,
    micro_stop_us INTEGER NOT NULL,
    down_us INTEGER NOT NULL,
    planned_stop_us INTEGER NOT NULL,
    setup_us INTEGER NOT NULL,
    no_order_us INTEGER NOT NULL,
    unknown_us INTEGER NOT NULL,
    pq INTEGER NOT NULL,
    gq INTEGER NOT NULL,
    sq INTEGER NOT NULL,
    rq INTEGER NOT NULL,
    declared INTEGER NOT NULL,
    pri_pq_s REAL NOT NULL,
    pri_gq_s REAL NOT NULL,
    failure_events INTEGER NOT NULL,
    down_carry INTEGER NOT NULL,
    energy_kwh REAL,
    downtime TEXT NOT NULL,
    PRIMARY KEY (machine, start_us)
"""
_KPI_TABLES = f"""
CREATE TABLE IF NOT EXISTS kpi_hours ({_KPI_COLUMNS_SQL}) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kpi_days ({_KPI_COLUMNS_SQL}) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kpi_dirty (
    machine TEXT NOT NULL,
    hour_us INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (machine, hour_us)
) WITHOUT ROWID;
"""
_KPI_TABLE_NAMES = frozenset({"kpi_hours", "kpi_days", "kpi_dirty"})


# Live SPC (cadence.services.spc). ``spc_limits`` is append-only: re-establishing limits adds a version, the
# highest id is in force, so the audit trail (who, when, why, which baseline) is the table itself.
# ``spc_progress`` is the evaluation watermark, moved in the same transaction as the alarms it raised.
# Added after the first schema version 1 files, so also created, idempotently, on a read-write opening.
_SPC_TABLES = """
CREATE TABLE IF NOT EXISTS spc_limits (
    id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    feature TEXT NOT NULL,
    chart TEXT NOT NULL,
    subgroup_size INTEGER NOT NULL,
    center REAL NOT NULL,
    sigma REAL NOT NULL,
    lcl REAL NOT NULL,
    ucl REAL NOT NULL,
    baseline_start_us INTEGER NOT NULL,
    baseline_end_us INTEGER NOT NULL,
    points INTEGER NOT NULL,
    excluded TEXT NOT NULL,
    rules TEXT NOT NULL,
    lsl REAL,
    usl REAL,
    by_user TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    why TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spc_limits_chart ON spc_limits (machine, feature, id);
CREATE TABLE IF NOT EXISTS spc_progress (
    machine TEXT NOT NULL,
    feature TEXT NOT NULL,
    watermark_us INTEGER NOT NULL,
    state TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    PRIMARY KEY (machine, feature)
) WITHOUT ROWID;
"""
_SPC_TABLE_NAMES = frozenset({"spc_limits", "spc_progress"})

# Press health (cadence.services.health): each press's monitor state and watermark, moved in the same
# transaction as the alarms and the hourly points it produced; the points feed the press health page.
_HEALTH_TABLES = """
CREATE TABLE IF NOT EXISTS health_progress (
    machine TEXT PRIMARY KEY,
    watermark_us INTEGER NOT NULL,
    state TEXT NOT NULL,
    at_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS health_points (
    machine TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    point TEXT NOT NULL,
    PRIMARY KEY (machine, ts_us)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS health_episodes (
    order_id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    mode TEXT NOT NULL,
    ended_us INTEGER NOT NULL,
    vector TEXT NOT NULL
);
"""
_HEALTH_TABLE_NAMES = frozenset({"health_progress", "health_points", "health_episodes"})


# Maintenance work orders (cadence.services.workorders): one row per order as it stands now, and its audit
# trail, append-only, written in the same transaction as each change. ``parts_replaced`` and ``details``
# are JSON lists. Added after the first schema version 1 files, so also created, idempotently, on a
# read-write opening.
_WORK_ORDER_TABLES = """
CREATE TABLE IF NOT EXISTS work_orders (
    id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    subsystem TEXT,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    alarm_id INTEGER,
    created_by TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    assignee TEXT,
    due_us INTEGER,
    closed_by TEXT,
    closed_us INTEGER,
    work_done TEXT,
    parts_replaced TEXT NOT NULL,
    fault_mode TEXT,
    episode_start_us INTEGER,
    episode_end_us INTEGER,
    rebaseline INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS work_orders_created ON work_orders (created_us, id);
CREATE INDEX IF NOT EXISTS work_orders_machine ON work_orders (machine, created_us, id);
CREATE INDEX IF NOT EXISTS work_orders_closed ON work_orders (closed_us) WHERE closed_us IS NOT NULL;
CREATE INDEX IF NOT EXISTS work_orders_alarm ON work_orders (alarm_id) WHERE alarm_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS work_order_events (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES work_orders (id),
    kind TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS work_order_events_order ON work_order_events (order_id, id);
"""
_WORK_ORDER_TABLE_NAMES = frozenset({"work_orders", "work_order_events"})


def configure(conn: sqlite3.Connection, *, writer: bool) -> None:
    """PRAGMAs every connection needs; the writer also sets the durability ones.

    ``synchronous=FULL``: a returned COMMIT survives a power loss, which the acknowledgement sent to the
    edge relies on (docs/security.md §2.4); NORMAL could roll back acknowledged commits.
    """
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    if writer:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"could not put the store in WAL mode (journal_mode is {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    else:
        # Readers never write: a bug in a read path cannot modify the store behind the writer's back.
        conn.execute("PRAGMA query_only = ON")


def create_or_check(conn: sqlite3.Connection) -> None:
    """Create the schema on a new file, or check the version of an existing one."""
    found = _version(conn)
    if found is None:
        # One script in one transaction, every statement guarded by IF NOT EXISTS / OR IGNORE: a crash
        # leaves no half-made schema, and two processes creating the same new file both succeed.
        tables = _TABLES.format(
            small=SMALL_CHUNK_POINTS, stroke_key_indexes=_STROKE_KEY_INDEXES, operator_tables=_OPERATOR_TABLES
        )
        conn.executescript(
            f"BEGIN IMMEDIATE;\n{tables}\n{_ORDER_EVENT_KEY_INDEXES}\n{_KPI_TABLES}\n{_SPC_TABLES}\n"
            f"{_WORK_ORDER_TABLES}\n{_HEALTH_TABLES}\n"
            f"INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');\nCOMMIT;"
        )
        logger.info("created store schema version %d", SCHEMA_VERSION)
        return
    if found != SCHEMA_VERSION:
        raise StoreError(
            f"the store file has schema version {found}; this Cadence reads version {SCHEMA_VERSION}",
            found=found,
            expected=SCHEMA_VERSION,
        )
    _add_alarm_columns(conn)
    _add_stroke_key_indexes(conn)
    _add_operator_tables(conn)
    _add_order_event_key_indexes(conn)
    _add_kpi_tables(conn)
    _add_spc_tables(conn)
    _add_work_order_tables(conn)
    _ensure_tables(conn, _HEALTH_TABLE_NAMES, _HEALTH_TABLES, "press health")


def check(conn: sqlite3.Connection) -> None:
    """Refuse a file that is not a Cadence store of this schema version (for read-only opening)."""
    found = _version(conn)
    if found != SCHEMA_VERSION:
        raise StoreError(
            f"not a Cadence store of schema version {SCHEMA_VERSION} (found {found})",
            found=found,
            expected=SCHEMA_VERSION,
        )
    if _missing_alarm_columns(conn):
        raise StoreError(
            "this store file predates some alarm columns (acknowledgement, English text): open it once"
            " read-write (e.g. `cadence serve`) to add them"
        )
    if _missing_operator_tables(conn):
        raise StoreError(
            "this store file predates operator events: open it once read-write (e.g. `cadence serve`)"
            " to add their tables"
        )
    if _missing_kpi_tables(conn):
        raise StoreError(
            "this store file predates KPI rollups: open it once read-write (e.g. `cadence serve`) to add"
            " their tables"
        )
    if _missing_spc_tables(conn):
        raise StoreError(
            "this store file predates live SPC: open it once read-write (e.g. `cadence serve`) to add its"
            " tables"
        )
    if _missing_work_order_tables(conn):
        raise StoreError(
            "this store file predates work orders: open it once read-write (e.g. `cadence serve`) to add"
            " their tables"
        )
    if not _present(conn) >= _HEALTH_TABLE_NAMES:
        raise StoreError(
            "this store file predates press health: open it once read-write (e.g. `cadence serve`) to add"
            " its tables"
        )


# Columns added to the alarms table after some schema version 1 files were made (during development,
# before any release): opening such a file read-write adds them, so a developer's store keeps its data.
_ALARM_COLUMNS_ADDED = (
    ("acked_us", "INTEGER"),
    ("acked_by", "TEXT"),
    ("cleared_us", "INTEGER"),
    ("message_en", "TEXT"),  # alarms in English too (issue 6)
)


def _missing_alarm_columns(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    present = {row[1] for row in conn.execute("PRAGMA table_info(alarms)")}
    return [(name, kind) for name, kind in _ALARM_COLUMNS_ADDED if name not in present]


def _add_alarm_columns(conn: sqlite3.Connection) -> None:
    if not _missing_alarm_columns(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Checked again under the write lock: another process may have added them meanwhile.
        for name, kind in _missing_alarm_columns(conn):
            conn.execute(f"ALTER TABLE alarms ADD COLUMN {name} {kind}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    logger.info("added the missing columns to the alarms table (acknowledgement, clearing, English text)")


def _add_stroke_key_indexes(conn: sqlite3.Connection) -> None:
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    if {
        "strokes_order",
        "strokes_die",
        "strokes_material_lot_start",
        "strokes_material_lot_trace",
    } <= present:
        return
    # One script in one transaction: IF NOT EXISTS makes a race with another opening process harmless.
    conn.executescript(f"BEGIN IMMEDIATE;\n{_STROKE_KEY_INDEXES}\nCOMMIT;")
    logger.info("added the order, die and material lot indexes to the strokes table")


def _missing_operator_tables(conn: sqlite3.Connection) -> bool:
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return not present >= _OPERATOR_TABLE_NAMES


def _add_operator_tables(conn: sqlite3.Connection) -> None:
    if not _missing_operator_tables(conn):
        return
    # One script in one transaction: IF NOT EXISTS makes a race with another opening process harmless.
    conn.executescript(f"BEGIN IMMEDIATE;\n{_OPERATOR_TABLES}\nCOMMIT;")
    logger.info("added the operator event tables (stop reasons, scrap, orders, logbook)")


def _add_order_event_key_indexes(conn: sqlite3.Connection) -> None:
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    if {"order_events_lot", "order_events_material_lot"} <= present:
        return
    # One script in one transaction: IF NOT EXISTS makes a race with another opening process harmless.
    conn.executescript(f"BEGIN IMMEDIATE;\n{_ORDER_EVENT_KEY_INDEXES}\nCOMMIT;")
    logger.info("added the lot and material lot indexes to the order events table")


def _version(conn: sqlite3.Connection) -> int | None:
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def _missing_kpi_tables(conn: sqlite3.Connection) -> bool:
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return not present >= _KPI_TABLE_NAMES


def _add_kpi_tables(conn: sqlite3.Connection) -> None:
    if not _missing_kpi_tables(conn):
        return
    # One script in one transaction: IF NOT EXISTS makes a race with another opening process harmless.
    conn.executescript(f"BEGIN IMMEDIATE;\n{_KPI_TABLES}\nCOMMIT;")
    logger.info("added the KPI rollup tables")


def _missing_spc_tables(conn: sqlite3.Connection) -> bool:
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return not present >= _SPC_TABLE_NAMES


def _add_spc_tables(conn: sqlite3.Connection) -> None:
    if not _missing_spc_tables(conn):
        return
    # One script in one transaction: IF NOT EXISTS makes a race with another opening process harmless.
    conn.executescript(f"BEGIN IMMEDIATE;\n{_SPC_TABLES}\nCOMMIT;")
    logger.info("added the live SPC tables")


def _missing_work_order_tables(conn: sqlite3.Connection) -> bool:
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return not present >= _WORK_ORDER_TABLE_NAMES


def _add_work_order_tables(conn: sqlite3.Connection) -> None:
    if not _missing_work_order_tables(conn):
        return
    # One script in one transaction: IF NOT EXISTS makes a race with another opening process harmless.
    conn.executescript(f"BEGIN IMMEDIATE;\n{_WORK_ORDER_TABLES}\nCOMMIT;")
    logger.info("added the work order tables")


def _present(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _ensure_tables(conn: sqlite3.Connection, names: frozenset[str], ddl: str, what: str) -> None:
    """Create a group of tables added after schema version 1 files were written, if any is missing."""
    if _present(conn) >= names:
        return
    # One script in one transaction: IF NOT EXISTS makes a race with another opening process harmless.
    conn.executescript(f"BEGIN IMMEDIATE;\n{ddl}\nCOMMIT;")
    logger.info("added the %s tables", what)
