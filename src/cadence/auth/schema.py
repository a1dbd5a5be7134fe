"""The users database: its schema, versioned in ``meta``, and the PRAGMAs of its one connection.

It is a file of its own (``Settings.users_db_path``), not a table of the store: a login then never waits
behind the ingest writer's transaction, and the file can be backed up or reset on its own.
"""

from __future__ import annotations

import sqlite3

from cadence.errors import StoreError

# Still 1 while unreleased: new tables are added with CREATE IF NOT EXISTS, which a version-1 file of a
# development install picks up at its next open. Once released, a change bumps this and migrates.
SCHEMA_VERSION = 1
# A login waiting on another process's lock (a backup, `sqlite3` in a shell) retries this long (ms).
BUSY_TIMEOUT_MS = 5_000

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- NOCASE: "Anna" and "anna" are one user; people type names on tablets with auto-capitalisation.
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    locale TEXT,
    created_us INTEGER NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until_us INTEGER,
    disabled INTEGER NOT NULL DEFAULT 0
);

-- Only the SHA-256 of a session token is stored: a copy of this file cannot be replayed as a cookie.
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_us INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL,
    csrf_token TEXT NOT NULL,
    address TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);

CREATE TABLE IF NOT EXISTS setup_tokens (
    token_sha256 BLOB PRIMARY KEY,
    created_us INTEGER NOT NULL,
    expires_us INTEGER NOT NULL,
    used_us INTEGER
) WITHOUT ROWID;

-- Failed logins, per scope ('name' or 'address') and key, counted over a sliding window.
CREATE TABLE IF NOT EXISTS login_attempts (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    ts_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_key ON login_attempts (scope, key, ts_us);

-- Locks of names and addresses; names that match no user are locked the same way, so that lockout
-- behaviour does not reveal which names exist.
CREATE TABLE IF NOT EXISTS login_locks (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    locked_until_us INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

-- Keys of edge agents and gateways posting to the ingest endpoint; only their SHA-256 is stored, as for
-- sessions. A revoked key keeps its row (and its name) so that the list still shows who sent data.
CREATE TABLE IF NOT EXISTS device_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    key_sha256 BLOB NOT NULL UNIQUE,
    created_us INTEGER NOT NULL,
    last_used_us INTEGER,
    revoked_us INTEGER
);
"""


def open_users_db(path: str) -> sqlite3.Connection:
    """Open (creating if needed) the users database in WAL mode with ``synchronous=FULL``.

    FULL: a returned COMMIT survives a power loss, so a revoked session or a changed password cannot
    come back after a crash. Autocommit mode; callers open their transactions explicitly.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"could not put the users database in WAL mode (journal_mode is {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(_TABLES)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StoreError(
                f"{path}: users database schema version {row[0]}, this Cadence knows {SCHEMA_VERSION}",
                path=path,
            )
    except BaseException:
        conn.close()
        raise
    return conn
