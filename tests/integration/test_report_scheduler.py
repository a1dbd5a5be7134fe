"""Automatic shift reports: due shifts on a simulated clock, exactly once, catch-up after downtime bounded
by the window, holidays skipped, failures counted and retried, the archive's files and index, the runtime's
scheduler thread, and the CLI's `report list` / `report regenerate`."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from cadence.clock import SimClock, from_datetime
from cadence.config import EXAMPLE_PLANT, load_settings
from cadence.domain.plant import Plant
from cadence.domain.shifts import Holiday, HolidayCalendar
from cadence.errors import InvalidInput, NotFound, StoreClosed
from cadence.plantfile import load_plant
from cadence.reports.archive import FileKind, ReportArchive, Trigger
from cadence.runtime import open_runtime
from cadence.services.report_scheduler import ReportOptions, ShiftReports, retry_delay_s
from cadence.store.sqlite import SqliteStore
from support.auth import FAST_AUTH

PARIS = ZoneInfo("Europe/Paris")
MONDAY_0900 = datetime(2025, 12, 1, 9, 0, tzinfo=PARIS)  # the morning shift (05:00-13:00) is running
GRACE_S = 300.0


def us(moment: datetime) -> int:
    return from_datetime(moment)


@pytest.fixture
def plant() -> Plant:
    return load_plant(EXAMPLE_PLANT)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "cadence.db")
    yield s
    s.close()


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[ReportArchive]:
    a = ReportArchive(tmp_path / "reports")
    yield a
    a.close()


def reports_at(
    plant: Plant, store: SqliteStore, archive: ReportArchive, clock: SimClock, **options: float
) -> ShiftReports:
    return ShiftReports(plant, store, archive, clock, ReportOptions(grace_s=GRACE_S, **options))  # type: ignore[arg-type]


def test_a_shift_is_due_after_its_end_plus_grace_and_made_once(
    plant: Plant, store: SqliteStore, archive: ReportArchive
) -> None:
    clock = SimClock(us(MONDAY_0900))
    reports = reports_at(plant, store, archive, clock)
    assert reports.due() == []  # records the start of automatic generation: 09:00
    clock.advance_to(us(MONDAY_0900.replace(hour=13, minute=4)))
    assert reports.due() == []  # ended, but late data may still come in
    clock.advance_to(us(MONDAY_0900.replace(hour=13, minute=5)))
    assert [s.name for s in reports.due()] == ["matin"]
    assert reports.run_once() == 1
    assert reports.run_once() == 0 and reports.due() == []  # exactly once
    (made,) = archive.recent()
    assert made.shift_name == "matin" and made.final and made.trigger is Trigger.SCHEDULER
    assert made.local_date == "2025-12-01" and made.until_us == made.shift_end_us
    assert made.stem == "2025/12/2025-12-01_0500_matin" and made.generation == 1
    pdf = archive.path(made, FileKind.PDF).read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) == made.pdf_bytes
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Rapport de fin de poste" in text and "matin" in text  # French by default
    csv = archive.path(made, FileKind.CSV).read_text(encoding="utf-8")
    assert csv.startswith("\ufeff") and ";matin;" in csv and ";P06;" in csv  # French Excel: ";"
    assert made.download_name(FileKind.PDF) == "rapport-poste_2025-12-01_0500_matin.pdf"


def test_restart_catches_up_missed_shifts_within_the_window_and_skips_holidays(
    plant: Plant, store: SqliteStore, tmp_path: Path
) -> None:
    clock = SimClock(us(MONDAY_0900))
    first = ReportArchive(tmp_path / "reports")
    reports_at(plant, store, first, clock).run_once()  # started at Monday 09:00, nothing ended yet
    first.close()
    # Down from Monday 09:00 to Friday 10:00; the window is 2 days; Thursday 4 December is a holiday.
    clock.advance_to(us(datetime(2025, 12, 5, 10, 0, tzinfo=PARIS)))
    holiday = HolidayCalendar((Holiday.parse("2025-12-04", "Sainte-Barbe"),))
    closed = replace(plant, shifts=tuple(replace(p, holidays=holiday) for p in plant.shifts))
    archive = ReportArchive(tmp_path / "reports")
    try:
        reports = reports_at(closed, store, archive, clock, catchup_days=2.0)
        due = [(s.name, s.start.day) for s in reports.due()]
        # Ended after Wednesday 10:00 (Monday's and Tuesday's are out of the window): Wednesday's three,
        # the night ending on Thursday; nothing starts on the Thursday; Friday's morning is still running.
        assert due == [("matin", 3), ("après-midi", 3), ("nuit", 3)]
        assert reports.run_once() == 3
        assert reports.due() == []
        assert [(r.shift_name, r.local_date) for r in archive.recent()] == [
            ("nuit", "2025-12-03"),
            ("après-midi", "2025-12-03"),
            ("matin", "2025-12-03"),
        ]
    finally:
        archive.close()


def test_a_failure_is_counted_retried_later_and_never_raised(
    plant: Plant, tmp_path: Path, archive: ReportArchive
) -> None:
    clock = SimClock(us(MONDAY_0900))
    broken = SqliteStore(tmp_path / "broken.db")
    broken.close()  # a store that refuses every read, as when the disk has gone
    reports = reports_at(plant, broken, archive, clock)
    reports.due()
    clock.advance_to(us(MONDAY_0900.replace(hour=13, minute=10)))
    assert reports.run_once() == 0
    (failure,) = archive.failures()
    assert failure.shift_name == "matin" and failure.attempts == 1
    assert StoreClosed.__name__ in failure.last_error
    reports.run_once()  # too early for a retry: not attempted again
    assert archive.failures()[0].attempts == 1
    clock.sleep(retry_delay_s(1))
    reports.run_once()
    assert archive.failures()[0].attempts == 2
    # Fixed (here: a working store): the next retry makes it and clears the failure.
    fixed = SqliteStore(tmp_path / "fixed.db")
    try:
        clock.sleep(retry_delay_s(2))
        assert reports_at(plant, fixed, archive, clock).run_once() == 1
    finally:
        fixed.close()
    assert archive.failures() == [] and archive.recent()[0].final


def test_regenerate_any_past_shift_and_in_progress_ones(
    plant: Plant, store: SqliteStore, archive: ReportArchive
) -> None:
    clock = SimClock(us(datetime(2025, 12, 3, 15, 0, tzinfo=PARIS)))  # Wednesday afternoon
    reports = reports_at(plant, store, archive, clock)
    assert reports.due() == []  # the scheduler runs from now on
    old = reports.regenerate("nuit", date(2025, 11, 24), Trigger.CLI)
    assert old.final and old.trigger is Trigger.CLI
    again = reports.regenerate("nuit", date(2025, 11, 24), Trigger.PAGE, requested_by="chef")
    assert again.id == old.id and again.generation == 2 and again.requested_by == "chef"
    running = reports.regenerate("après-midi", date(2025, 12, 3), Trigger.PAGE)
    assert not running.final and running.until_us == clock.now_us()
    # The scheduler replaces an in-progress report by the final one when the shift has ended.
    clock.advance_to(running.shift_end_us + int(GRACE_S * 1e6))
    assert [s.name for s in reports.due()] == ["après-midi"]
    reports.run_once()
    final = archive.get(running.id)
    assert final.final and final.generation == 2 and final.trigger is Trigger.SCHEDULER
    with pytest.raises(InvalidInput, match="does not run on 2025-12-06"):
        reports.regenerate("matin", date(2025, 12, 6), Trigger.PAGE)  # a Saturday
    with pytest.raises(InvalidInput, match="allowed: matin, après-midi, nuit"):
        reports.regenerate("soir", date(2025, 12, 1), Trigger.PAGE)
    with pytest.raises(InvalidInput, match="has not begun"):
        reports.regenerate("matin", date(2025, 12, 4), Trigger.PAGE)
    with pytest.raises(NotFound):
        archive.get(9999)


def test_runtime_scheduler_thread_driven_by_a_simulated_clock(tmp_path: Path) -> None:
    clock = SimClock(us(MONDAY_0900))
    settings = load_settings(data_dir=tmp_path, reports_check_interval_s=3600, **FAST_AUTH)
    runtime = open_runtime(settings, clock=clock)
    try:
        scheduler = runtime.start_report_scheduler()
        assert scheduler is not None and scheduler.wait_idle(30)
        assert runtime.reports.recent() == []
        clock.advance_to(us(MONDAY_0900.replace(hour=13, minute=6)))
        scheduler.wake()  # instead of waiting an hour for the next check
        assert scheduler.wait_idle(60)
        assert [r.shift_name for r in runtime.reports.recent()] == ["matin"]
        assert scheduler.stats.generated == 1 and scheduler.stats.failed == 0
        assert (tmp_path / "reports" / "2025" / "12" / "2025-12-01_0500_matin.pdf").is_file()
    finally:
        runtime.close()
    # Reopened (a restart): nothing is made twice.
    runtime = open_runtime(settings, clock=clock)
    try:
        assert runtime.reports.due() == []
    finally:
        runtime.close()


def test_cli_list_and_regenerate(tmp_path: Path) -> None:
    def cadence(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cadence", "report", *args, "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    SqliteStore(tmp_path / "cadence.db").close()  # an installation's store, empty
    empty = cadence("list")
    assert empty.returncode == 0 and "No report" in empty.stdout
    made = cadence("regenerate", "--shift", "matin", "--date", "2025-12-01")
    assert made.returncode == 0, made.stderr
    assert "matin" in made.stdout and "2025-12-01" in made.stdout
    listed = cadence("list")
    assert listed.returncode == 0 and "matin" in listed.stdout and "final" in listed.stdout
    assert (tmp_path / "reports" / "2025" / "12" / "2025-12-01_0500_matin.csv").is_file()
    refused = cadence("regenerate", "--shift", "matin", "--date", "2025-12-06")
    assert refused.returncode == 2 and "does not run on 2025-12-06" in refused.stderr
