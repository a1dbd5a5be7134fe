"""Shift reports made with no click: at each shift end (plus a grace period), the PDF and CSV of the shift
go into the archive (:mod:`cadence.reports.archive`), exactly once.

:class:`ShiftReports` is the use case shared by the scheduler, the Reports page and the CLI: find a shift,
compute its figures (:func:`cadence.reports.shift.shift_report_data`), render them
(:mod:`cadence.reports.pdf`, :mod:`cadence.reports.csv`) and archive the files. :class:`ReportScheduler`
is its background thread for ``serve`` and ``demo``, driven by the injected clock:

* a shift is *due* when it ended at least ``grace_s`` ago on the plant clock, ended after the archive's
  automatic generation began (a new installation does not fill itself with a week of empty reports) and
  at most ``catchup_days`` ago, and has no final report in the archive;
* the archive's index is the memory: a restart after downtime catches up every missed shift of the window,
  and a shift already archived is never made again (the check is "is there a final row", so two
  processes racing would at worst make the same report twice, replacing the same files);
* a failure (fonts missing, store unavailable…) never stops the thread: it is logged once, counted in
  the index with its error, and retried later with a growing delay.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from cadence.clock import US_PER_S, from_datetime, to_datetime
from cadence.config import Settings
from cadence.domain.plant import Plant
from cadence.domain.shifts import Shift, find_shift, shifts_between
from cadence.errors import InvalidInput
from cadence.ports import Clock, TimeSeriesStore
from cadence.reports.archive import ArchivedReport, Failure, ReportArchive, Trigger
from cadence.reports.csv import shift_report_csv
from cadence.reports.shift import shift_report_data

logger = logging.getLogger(__name__)

# A failed shift is tried again after 1 min, then 2, 4… up to 1 h (plant-clock time): a missing font is
# fixed by a person, a store briefly busy clears by itself; either way the log is not flooded.
RETRY_FIRST_S = 60.0
RETRY_MAX_S = 3600.0
US_PER_DAY = 86_400 * US_PER_S


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """How reports are made; built from the ``reports_*`` settings."""

    locale: str = "fr"
    separator: str = ";"
    grace_s: float = 300.0
    catchup_days: float = 7.0


@dataclass
class SchedulerStats:
    """Counters of the scheduler since the process started (the index keeps failures across restarts)."""

    passes: int = 0
    generated: int = 0
    failed: int = 0
    last_pass_us: int | None = None
    last_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, *, generated: int = 0, failed: int = 0, error: str | None = None, at_us: int) -> None:
        with self._lock:
            self.passes += 1
            self.generated += generated
            self.failed += failed
            self.last_pass_us = at_us
            if error is not None:
                self.last_error = error


def retry_delay_s(attempts: int) -> float:
    """Delay before the next try after ``attempts`` failures.

    >>> [retry_delay_s(n) for n in (1, 2, 3, 10)]
    [60.0, 120.0, 240.0, 3600.0]
    """
    return float(min(RETRY_FIRST_S * 2.0 ** max(attempts - 1, 0), RETRY_MAX_S))


class ShiftReports:
    """Make, list and find the shift reports of one plant, into one archive."""

    def __init__(
        self,
        plant: Plant,
        store: TimeSeriesStore,
        archive: ReportArchive,
        clock: Clock,
        options: ReportOptions | None = None,
    ) -> None:
        self.plant = plant
        self.store = store
        self.archive = archive
        self.clock = clock
        self.options = options or ReportOptions()
        self.tz = ZoneInfo(plant.site.timezone)

    def shift_on(self, name: str, day: date) -> Shift:
        """The occurrence of shift ``name`` starting on the local date ``day``.

        :class:`InvalidInput` when the plant has no such shift or the shift does not run that day
        (weekday, holiday), naming what is allowed.
        """
        names = [p.name for p in self.plant.shifts]
        if name not in names:
            allowed = ", ".join(names) or "(the plant file defines no shifts)"
            raise InvalidInput(
                f"unknown shift {name!r}; allowed: {allowed}", shift=name, reason="unknown_shift"
            )
        shift = find_shift(self.plant.shifts, name, day, self.tz)
        if shift is None:
            raise InvalidInput(
                f"shift {name!r} does not run on {day.isoformat()} (not one of its days, or a holiday)",
                shift=name,
                date=day.isoformat(),
                reason="not_scheduled",
            )
        return shift

    def generate(self, shift: Shift, trigger: Trigger, requested_by: str | None = None) -> ArchivedReport:
        """Compute, render and archive ``shift``'s report now; a running shift is cut at "now" (in progress).

        Raises :class:`InvalidInput` for a shift that has not begun.
        """
        now_us = self.clock.now_us()
        start_us, end_us = from_datetime(shift.start), from_datetime(shift.end)
        if start_us >= now_us:
            raise InvalidInput(
                f"shift {shift.name} of {shift.start:%Y-%m-%d %H:%M} has not begun yet", reason="not_begun"
            )
        # Imported at the first report, not at start-up: the PDF library weighs on a process that may run
        # for hours before a shift ends (docs/benchmarks.md, demo memory).
        from cadence.reports.pdf import shift_report_pdf  # noqa: PLC0415

        until_us = min(now_us, end_us)
        data = shift_report_data(self.plant, self.store, shift, until_us=until_us)
        pdf = shift_report_pdf(data, self.options.locale)
        csv = shift_report_csv(data, self.options.separator)
        saved = self.archive.save(
            shift,
            until_us=until_us,
            pdf=pdf,
            csv=csv,
            generated_us=self.clock.now_us(),
            trigger=trigger,
            locale=self.options.locale,
            requested_by=requested_by,
        )
        logger.info(
            "Shift report %s %s (%s, %s): %d kB PDF",
            shift.name,
            shift.start.isoformat(),
            "final" if saved.final else "in progress",
            trigger.value,
            len(pdf) // 1024,
        )
        return saved

    def regenerate(
        self, name: str, day: date, trigger: Trigger, requested_by: str | None = None
    ) -> ArchivedReport:
        """Make again (or for the first time) the report of shift ``name`` started on ``day``."""
        return self.generate(self.shift_on(name, day), trigger, requested_by)

    def due(self, now_us: int | None = None) -> list[Shift]:
        """Shifts whose automatic report should be made now, oldest first (see the module's rules)."""
        now_us = self.clock.now_us() if now_us is None else now_us
        if not self.plant.shifts:
            return []
        grace_us = int(self.options.grace_s * US_PER_S)
        window_us = max(self.archive.started_us(now_us), now_us - int(self.options.catchup_days * US_PER_DAY))
        longest_h = max(p.hours for p in self.plant.shifts)
        search_from = to_datetime(window_us).astimezone(self.tz) - timedelta(hours=longest_h)
        done = self.archive.final_since(from_datetime(search_from))
        found = []
        for shift in shifts_between(self.plant.shifts, search_from, to_datetime(now_us).astimezone(self.tz)):
            end_us = from_datetime(shift.end)
            ended = window_us < end_us <= now_us - grace_us
            if ended and (shift.name, from_datetime(shift.start)) not in done:
                found.append(shift)
        return found

    def run_once(self, stats: SchedulerStats | None = None, stop: threading.Event | None = None) -> int:
        """Make every due report whose retry time has come; returns how many were made. Never raises for
        one shift's failure: it is logged, counted in the index and retried later."""
        now_us = self.clock.now_us()
        failures = {(f.shift_name, f.shift_start_us): f for f in self.archive.failures()}
        made = failed = 0
        error: str | None = None
        for shift in self.due(now_us):
            if stop is not None and stop.is_set():
                break
            key = (shift.name, from_datetime(shift.start))
            previous = failures.get(key)
            if previous is not None and now_us < previous.last_attempt_us + int(
                retry_delay_s(previous.attempts) * US_PER_S
            ):
                continue
            try:
                self.generate(shift, Trigger.SCHEDULER)
                made += 1
                if previous is not None:
                    logger.info("Shift report %s %s made after %d failures", *key, previous.attempts)
            except Exception as err:  # one shift's failure must not stop the others, nor the process
                failed += 1
                error = f"{type(err).__name__}: {err}"
                failure = self._record_failure(shift, error, now_us)
                self._log_failure(shift, failure, err)
        if stats is not None:
            stats.count(generated=made, failed=failed, error=error, at_us=now_us)
        return made

    def _record_failure(self, shift: Shift, error: str, now_us: int) -> Failure | None:
        try:
            return self.archive.record_failure(shift, error, now_us)
        except Exception:  # the index itself failing: still log the report's error
            logger.exception("Could not record the failure of shift report %s", shift.name)
            return None

    @staticmethod
    def _log_failure(shift: Shift, failure: Failure | None, err: Exception) -> None:
        attempts = failure.attempts if failure is not None else 1
        retry = retry_delay_s(attempts)
        if attempts == 1:  # the first failure with its traceback; repeats in one line
            logger.error(
                "Shift report %s %s failed; retrying in %.0f s",
                shift.name,
                shift.start.isoformat(),
                retry,
                exc_info=err,
            )
        else:
            logger.warning(
                "Shift report %s %s failed again (%d attempts): %s; retrying in %.0f s",
                shift.name,
                shift.start.isoformat(),
                attempts,
                err,
                retry,
            )

    def recent(self, limit: int = 100) -> list[ArchivedReport]:
        return self.archive.recent(limit=limit)

    def get(self, report_id: int) -> ArchivedReport:
        return self.archive.get(report_id)

    def past_days(self, now_us: int | None = None, days: int = 31) -> list[date]:
        """Local dates offered for regeneration: today and the ``days`` before, newest first."""
        today = to_datetime(self.clock.now_us() if now_us is None else now_us).astimezone(self.tz).date()
        return [today - timedelta(days=n) for n in range(days + 1)]


class ReportScheduler:
    """The background thread of :class:`ShiftReports`: one pass now, then one every ``interval_s`` wall
    seconds (or as soon as :meth:`wake` is called: tests advancing a simulated clock, a shift end)."""

    def __init__(self, reports: ShiftReports, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self.reports = reports
        self.interval_s = interval_s
        self.stats = SchedulerStats()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="cadence-report-scheduler", daemon=True)
        self._thread.start()
        logger.info("Report scheduler started: checking every %.0f s", self.interval_s)

    def wake(self) -> None:
        """Check for ended shifts now instead of at the next interval."""
        self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until the pass that follows the last :meth:`wake` is over (tests). True if it is."""
        return self._idle.wait(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.reports.run_once(self.stats, self._stop)
            except Exception as err:  # the index unreadable, the plant clock gone…: try again next time
                self.stats.count(
                    failed=1, error=f"{type(err).__name__}: {err}", at_us=self.reports.clock.now_us()
                )
                logger.exception("Report scheduler pass failed; retrying in %.0f s", self.interval_s)
            if not self._wake.is_set():
                self._idle.set()
            self._wake.wait(self.interval_s)

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None


def options_from(settings: Settings) -> ReportOptions:
    """The :class:`ReportOptions` of the ``reports_*`` settings."""
    return ReportOptions(
        locale=settings.reports_locale,
        separator=settings.reports_csv_separator,
        grace_s=settings.reports_grace_s,
        catchup_days=settings.reports_catchup_days,
    )
