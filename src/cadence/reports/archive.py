"""The archive of shift reports: the PDF and CSV files of each shift, and an index of them.

Layout under the archive directory (``Settings.reports_path``, ``<data_dir>/reports`` by default)::

    index.db                                   the index (SQLite, a file of its own)
    2026/11/2026-11-30_0500_matin.pdf          one PDF and one CSV per shift, named by local start
    2026/11/2026-11-30_0500_matin.csv

One row per shift occurrence (shift name + start): regenerating a shift replaces its files and updates
its row, so the archive holds the latest version of each shift's report. Why an index file of its own
rather than a table of the store or a manifest (docs/guides/shift-reports.md, "The archive"): the store
is a pluggable port whose one writer thread serves ingest, and reports must outlive the raw data the
retention policy purges; a manifest file rewritten by two processes (``serve`` and ``cadence report
regenerate``) would need locking that SQLite already does. The index also keeps, per shift, the failed
attempts of the scheduler (how many, the last error), so failures survive a restart and are shown.

Files are written under temporary names and renamed into place, then the row is committed: a crash in
between leaves files without a row, which the scheduler sees as "not done" and generates again.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cadence.clock import from_datetime
from cadence.domain.shifts import Shift
from cadence.errors import NotFound, StoreError

INDEX_FILE = "index.db"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5_000  # the CLI and the server may write the index at the same moment
MAX_ERROR_CHARS = 500  # an error kept in the index is for a person to read, not a full traceback

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY,
    shift_name TEXT NOT NULL,
    shift_start_us INTEGER NOT NULL,
    shift_end_us INTEGER NOT NULL,
    local_date TEXT NOT NULL,
    until_us INTEGER NOT NULL,
    final INTEGER NOT NULL,
    generated_us INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    requested_by TEXT,
    locale TEXT NOT NULL,
    stem TEXT NOT NULL,
    pdf_bytes INTEGER NOT NULL,
    csv_bytes INTEGER NOT NULL,
    generation INTEGER NOT NULL DEFAULT 1,
    UNIQUE (shift_start_us, shift_name)
);
CREATE INDEX IF NOT EXISTS reports_by_start ON reports (shift_start_us DESC);

-- Failed automatic generations, per shift, until one succeeds.
CREATE TABLE IF NOT EXISTS failures (
    shift_name TEXT NOT NULL,
    shift_start_us INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    last_attempt_us INTEGER NOT NULL,
    PRIMARY KEY (shift_start_us, shift_name)
) WITHOUT ROWID;
"""


class Trigger(StrEnum):
    """Who asked for a report."""

    SCHEDULER = "scheduler"  # the shift ended: generated with no click
    PAGE = "page"  # "regenerate" on the Reports page
    CLI = "cli"  # cadence report regenerate


class FileKind(StrEnum):
    PDF = "pdf"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class ArchivedReport:
    """One shift's report in the archive. ``final``: made after the shift ended (else cut at ``until_us``)."""

    id: int
    shift_name: str
    shift_start_us: int
    shift_end_us: int
    local_date: str  # the shift's local start date, YYYY-MM-DD
    until_us: int
    final: bool
    generated_us: int
    trigger: Trigger
    requested_by: str | None
    locale: str
    stem: str  # relative path without extension, e.g. 2026/11/2026-11-30_0500_matin
    pdf_bytes: int
    csv_bytes: int
    generation: int  # 1 when first made, +1 at each regeneration

    def relative(self, kind: FileKind) -> str:
        return f"{self.stem}.{kind.value}"

    def download_name(self, kind: FileKind) -> str:
        """The file name offered to the browser: ``rapport-poste_2026-11-30_0500_matin.pdf``."""
        return f"rapport-poste_{Path(self.stem).name}.{kind.value}"


@dataclass(frozen=True, slots=True)
class Failure:
    """The scheduler's failed attempts at one shift's report, kept until one succeeds."""

    shift_name: str
    shift_start_us: int
    attempts: int
    last_error: str
    last_attempt_us: int


def slug(name: str) -> str:
    """A file-name-safe ASCII form of a shift name.

    >>> slug("après-midi"), slug("Nuit / week-end")
    ('apres-midi', 'nuit-week-end')
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "poste"


def stem_of(shift: Shift) -> str:
    """Where a shift's files go: ``YYYY/MM/YYYY-MM-DD_HHMM_<slug>``, by its local start."""
    start = shift.start
    return f"{start:%Y}/{start:%m}/{start:%Y-%m-%d_%H%M}_{slug(shift.name)}"


_COLUMNS = (
    "id, shift_name, shift_start_us, shift_end_us, local_date, until_us, final, generated_us, trigger, "
    "requested_by, locale, stem, pdf_bytes, csv_bytes, generation"
)


def _report(row: tuple[object, ...]) -> ArchivedReport:
    (rid, name, start, end, day, until, final, generated, trigger, user, locale, stem, pdf, csv, gen) = row
    return ArchivedReport(
        id=int(str(rid)),
        shift_name=str(name),
        shift_start_us=int(str(start)),
        shift_end_us=int(str(end)),
        local_date=str(day),
        until_us=int(str(until)),
        final=bool(final),
        generated_us=int(str(generated)),
        trigger=Trigger(str(trigger)),
        requested_by=None if user is None else str(user),
        locale=str(locale),
        stem=str(stem),
        pdf_bytes=int(str(pdf)),
        csv_bytes=int(str(csv)),
        generation=int(str(gen)),
    )


class ReportArchive:
    """Files and index of the shift reports under ``root``. Thread-safe; several processes may share it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        path = self.root / INDEX_FILE
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.executescript(_TABLES)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) != SCHEMA_VERSION:
                conn.close()
                raise StoreError(f"{path}: report index schema {row[0]}, this Cadence knows {SCHEMA_VERSION}")
        except sqlite3.Error as err:
            raise StoreError(f"{path}: cannot open the report index ({err})", path=str(path)) from err
        self._conn = conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as err:
                raise StoreError(f"report index: {err}") from err

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, params).fetchall())
            except sqlite3.Error as err:
                raise StoreError(f"report index: {err}") from err

    # --- the scheduler's starting point ------------------------------------------------------------

    def started_us(self, now_us: int) -> int:
        """When automatic generation began in this archive (recorded at the first call).

        Shifts that ended before it are not generated automatically: a new installation does not fill its
        archive with a week of empty reports. They can still be regenerated by hand.
        """
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('scheduler_started_us', ?)", (str(now_us),))
            row = conn.execute("SELECT value FROM meta WHERE key = 'scheduler_started_us'").fetchone()
        return int(row[0])

    # --- reading -----------------------------------------------------------------------------------

    def recent(self, limit: int = 100, offset: int = 0) -> list[ArchivedReport]:
        """Reports newest shift first."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM reports ORDER BY shift_start_us DESC, shift_name LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_report(r) for r in rows]

    def count(self) -> int:
        return int(str(self._query("SELECT count(*) FROM reports")[0][0]))

    def get(self, report_id: int) -> ArchivedReport:
        rows = self._query(f"SELECT {_COLUMNS} FROM reports WHERE id = ?", (report_id,))
        if not rows:
            raise NotFound(f"no report {report_id} in the archive", report=report_id)
        return _report(rows[0])

    def find(self, shift_name: str, shift_start_us: int) -> ArchivedReport | None:
        rows = self._query(
            f"SELECT {_COLUMNS} FROM reports WHERE shift_start_us = ? AND shift_name = ?",
            (shift_start_us, shift_name),
        )
        return _report(rows[0]) if rows else None

    def final_since(self, since_us: int) -> set[tuple[str, int]]:
        """``(shift name, start)`` of every final report of a shift that started at or after ``since_us``."""
        rows = self._query(
            "SELECT shift_name, shift_start_us FROM reports WHERE final = 1 AND shift_start_us >= ?",
            (since_us,),
        )
        return {(str(n), int(str(s))) for n, s in rows}

    def path(self, report: ArchivedReport, kind: FileKind) -> Path:
        """The file on disk; :class:`NotFound` if it has gone (deleted by hand)."""
        path = self.root / report.relative(kind)
        if not path.is_file():
            raise NotFound(f"the {kind.value.upper()} of report {report.id} is missing: regenerate it")
        return path

    def failures(self) -> list[Failure]:
        rows = self._query(
            "SELECT shift_name, shift_start_us, attempts, last_error, last_attempt_us FROM failures "
            "ORDER BY shift_start_us DESC"
        )
        return [Failure(str(n), int(str(s)), int(str(a)), str(e), int(str(t))) for n, s, a, e, t in rows]

    def failure(self, shift_name: str, shift_start_us: int) -> Failure | None:
        return next(
            (f for f in self.failures() if (f.shift_name, f.shift_start_us) == (shift_name, shift_start_us)),
            None,
        )

    # --- writing -----------------------------------------------------------------------------------

    def save(
        self,
        shift: Shift,
        *,
        until_us: int,
        pdf: bytes,
        csv: str,
        generated_us: int,
        trigger: Trigger,
        locale: str,
        requested_by: str | None = None,
    ) -> ArchivedReport:
        """Write the files of ``shift`` (replacing older ones) and index them; the shift's failures go."""
        stem = stem_of(shift)
        csv_bytes = csv.encode("utf-8")
        _write_atomically(self.root / f"{stem}.pdf", pdf)
        _write_atomically(self.root / f"{stem}.csv", csv_bytes)
        start_us, end_us = from_datetime(shift.start), from_datetime(shift.end)
        final = until_us >= end_us
        with self._transaction() as conn:
            conn.execute(
                """INSERT INTO reports (shift_name, shift_start_us, shift_end_us, local_date, until_us, final,
                       generated_us, trigger, requested_by, locale, stem, pdf_bytes, csv_bytes)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (shift_start_us, shift_name) DO UPDATE SET
                       shift_end_us = excluded.shift_end_us, until_us = excluded.until_us,
                       final = excluded.final, generated_us = excluded.generated_us,
                       trigger = excluded.trigger, requested_by = excluded.requested_by,
                       locale = excluded.locale, stem = excluded.stem, pdf_bytes = excluded.pdf_bytes,
                       csv_bytes = excluded.csv_bytes, generation = reports.generation + 1""",
                (
                    shift.name,
                    start_us,
                    end_us,
                    shift.start.date().isoformat(),
                    min(until_us, end_us),
                    int(final),
                    generated_us,
                    trigger.value,
                    requested_by,
                    locale,
                    stem,
                    len(pdf),
                    len(csv_bytes),
                ),
            )
            conn.execute(
                "DELETE FROM failures WHERE shift_start_us = ? AND shift_name = ?", (start_us, shift.name)
            )
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM reports WHERE shift_start_us = ? AND shift_name = ?",
                (start_us, shift.name),
            ).fetchone()
        return _report(row)

    def record_failure(self, shift: Shift, error: str, at_us: int) -> Failure:
        """Count one more failed attempt at ``shift``'s report."""
        start_us = from_datetime(shift.start)
        with self._transaction() as conn:
            conn.execute(
                """INSERT INTO failures VALUES (?, ?, 1, ?, ?)
                   ON CONFLICT (shift_start_us, shift_name) DO UPDATE SET
                       attempts = failures.attempts + 1, last_error = excluded.last_error,
                       last_attempt_us = excluded.last_attempt_us""",
                (shift.name, start_us, error[:MAX_ERROR_CHARS], at_us),
            )
            row = conn.execute(
                "SELECT attempts FROM failures WHERE shift_start_us = ? AND shift_name = ?",
                (start_us, shift.name),
            ).fetchone()
        return Failure(shift.name, start_us, int(row[0]), error[:MAX_ERROR_CHARS], at_us)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same directory, flush to disk, then rename over ``path``: a reader
    (a download in progress) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
