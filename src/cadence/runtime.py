"""Wire a running Cadence from its settings: plant, store, ingest pipeline and counters.

``open_runtime(settings)`` is the one factory the CLI, the web app and the tests use; nothing is built at
import time. The runtime owns the store and closes it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cadence.auth import AuthService, open_auth
from cadence.clock import WallClock
from cadence.config import Settings
from cadence.domain.plant import Plant
from cadence.ingest.pipeline import IngestPipeline, IngestStats
from cadence.live import LiveHub, plant_shift_start
from cadence.plantfile import load_plant
from cadence.ports import Clock, RetentionPolicy, TimeSeriesStore
from cadence.protocol import Limits
from cadence.reports.archive import ReportArchive
from cadence.services import kpi_history
from cadence.services.health import HealthService, LearnedDiagnosis, health_config
from cadence.services.learning import LearningWorker
from cadence.services.plant_data import PlantData
from cadence.services.report_scheduler import ReportScheduler, ShiftReports, options_from
from cadence.services.spc import SpcService
from cadence.store.sqlite import SqliteStore

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a Cadence process needs, built once from the settings."""

    settings: Settings
    plant: Plant
    store: TimeSeriesStore
    clock: Clock
    stats: IngestStats
    pipeline: IngestPipeline
    data: PlantData
    live: LiveHub
    auth: AuthService
    _closed: bool = field(default=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _maintenance: threading.Thread | None = field(default=None, repr=False)
    # Shift reports (archive and scheduler), opened on first use: see the "shift reports" section below.
    _reports: ShiftReports | None = field(default=None, repr=False)
    _report_scheduler: ReportScheduler | None = field(default=None, repr=False)
    _reports_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # The learning worker and the classifier it fitted on the labelled episodes (press health).
    _learning: LearningWorker | None = field(default=None, repr=False)
    _diagnosis: LearnedDiagnosis | None = field(default=None, repr=False)
    _learning_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def retention(self) -> RetentionPolicy:
        s = self.settings
        return RetentionPolicy(
            raw_waveform_days=s.retention_raw_waveform_days,
            raw_slow_days=s.retention_raw_slow_days,
            rollup_1m_days=s.retention_rollup_1m_days,
            rollup_1h_days=s.retention_rollup_1h_days,
            strokes_days=s.retention_strokes_days,
            stroke_waveform_days=s.retention_stroke_waveform_days,
            quarantine_days=s.retention_quarantine_days,
            ledger_days=s.retention_ledger_days,
        )

    def start_maintenance(self) -> None:
        """Apply the retention policy now and then every ``retention_interval_s``, roll up KPI hours
        every ``kpi_refresh_interval_s``, check new strokes against the SPC limits every
        ``spc_evaluate_interval_s`` and feed them to the press health monitors every
        ``health_evaluate_interval_s`` (compaction is the store writer's own job)."""
        s = self.settings
        every = (
            s.retention_interval_s,
            s.kpi_refresh_interval_s,
            s.spc_evaluate_interval_s,
            s.health_evaluate_interval_s,
        )
        if self._maintenance is not None or all(interval <= 0 for interval in every):
            return
        self._maintenance = threading.Thread(target=self._maintain, name="cadence-maintenance", daemon=True)
        self._maintenance.start()

    def _maintain(self) -> None:
        intervals = {
            self._retain: self.settings.retention_interval_s,
            self._refresh_kpis: self.settings.kpi_refresh_interval_s,
            self._evaluate_spc: self.settings.spc_evaluate_interval_s,
            self._evaluate_health: self.settings.health_evaluate_interval_s,
        }
        due = {task: 0.0 for task, every in intervals.items() if every > 0}
        while not self._stop.is_set():
            for task, when in list(due.items()):
                if time.monotonic() >= when:
                    task()
                    due[task] = time.monotonic() + intervals[task]
            self._stop.wait(max(0.0, min(due.values()) - time.monotonic()))

    def _retain(self) -> None:
        try:
            report = self.store.apply_retention(self.clock.now_us(), self.retention)
            logger.info("Retention applied: %s", report)
            purged = self.auth.purge_expired_sessions()
            if purged:
                logger.info("Expired sessions purged: %d", purged)
        except Exception:  # a failed pass is retried at the next interval; never kill the process
            logger.exception("Retention pass failed; retrying in %.0f s", self.settings.retention_interval_s)

    def _refresh_kpis(self) -> None:
        # A first start on a long history catches up pass after pass (a week per press each), stopping
        # as soon as the process is asked to.
        try:
            while not self._stop.is_set():
                report = kpi_history.refresh(self.plant, self.store, self.clock.now_us())
                if report.hours:
                    logger.info(
                        "KPI hours rolled up: %d (%d invalidated by late data)", report.hours, report.dirty
                    )
                if not report.pending:
                    return
        except Exception:
            logger.exception("KPI refresh failed; retrying in %.0f s", self.settings.kpi_refresh_interval_s)

    def _evaluate_spc(self) -> None:
        # Live SPC (docs/guides/spc.md, "Live charts"): new strokes against the limits in force.
        try:
            raised = SpcService(self.plant, self.store, self.clock).evaluate(self.clock.now_us())
            if raised:
                logger.info("SPC alarms raised: %d", raised)
        except Exception:
            logger.exception(
                "SPC evaluation failed; retrying in %.0f s", self.settings.spc_evaluate_interval_s
            )

    @property
    def health(self) -> HealthService:
        """Press health with the plant's monitor configuration (the evaluator and the pages share it) and
        the classifier learned from its labelled episodes, if one was fitted."""
        model = self._diagnosis.model if self._diagnosis is not None else None
        return HealthService(self.plant, self.store, self.clock, health_config(self.settings), model=model)

    def refresh_diagnosis(self) -> bool:
        """Refit the fault classifier in the learning worker (started on demand, stopped when idle) if the
        labelled episodes changed since the last fit; True when a new model was fitted."""
        with self._learning_lock:
            if self._diagnosis is None:
                self._learning = LearningWorker(self.clock, watch_interval_s=60.0)
                self._diagnosis = LearnedDiagnosis(self.store, self._learning)
            return self._diagnosis.refresh()

    def _evaluate_health(self) -> None:
        # Press health (docs/guides/press-health.md): new strokes through each press's monitor.
        try:
            raised = self.health.evaluate(self.clock.now_us())
            if raised:
                logger.info("Health alerts raised: %d", raised)
            if self.refresh_diagnosis():
                logger.info("Fault classifier refitted on the labelled episodes")
        except Exception:
            logger.exception(
                "Health evaluation failed; retrying in %.0f s", self.settings.health_evaluate_interval_s
            )

    # --- shift reports: the archive and its scheduler (docs/guides/shift-reports.md) ---------------------

    @property
    def reports(self) -> ShiftReports:
        """The shift-report use case over the archive at ``settings.reports_path`` (opened on first use)."""
        with self._reports_lock:
            if self._reports is None:
                archive = ReportArchive(self.settings.reports_path)
                self._reports = ShiftReports(
                    self.plant, self.store, archive, self.clock, options_from(self.settings)
                )
            return self._reports

    def start_report_scheduler(self) -> ReportScheduler | None:
        """Make each shift's report when it ends, in a thread of its own (``serve`` and ``demo``)."""
        if not self.settings.reports_auto:
            return None
        reports = self.reports
        with self._reports_lock:
            if self._report_scheduler is None:
                self._report_scheduler = ReportScheduler(reports, self.settings.reports_check_interval_s)
                self._report_scheduler.start()
            return self._report_scheduler

    @property
    def report_scheduler(self) -> ReportScheduler | None:
        return self._report_scheduler

    def _close_reports(self) -> None:
        if self._report_scheduler is not None:
            self._report_scheduler.stop()
        if self._reports is not None:
            self._reports.archive.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._stop.set()
            self._close_reports()
            if self._maintenance is not None:
                self._maintenance.join(timeout=60)
            if self._learning is not None:
                self._learning.close()
            self.pipeline.close()
            self.store.close()
            self.auth.close()


def open_store(settings: Settings, clock: Clock | None = None) -> SqliteStore:
    """The embedded store at ``settings.store_path`` (created if needed), compacting on ``clock``'s time."""
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return SqliteStore(
        settings.store_path,
        commit_interval_ms=settings.store_commit_interval_ms,
        max_backlog=settings.store_max_backlog,
        compact_after_s=settings.store_compact_after_s,
        clock=clock,
    )


def open_runtime(
    settings: Settings,
    clock: Clock | None = None,
    plant: Plant | None = None,
    auth_clock: Clock | None = None,
) -> Runtime:
    """Load the plant, open the store and build the ingest pipeline, which feeds the live hub."""
    plant = plant if plant is not None else load_plant(settings.plant_file)
    clock = clock if clock is not None else WallClock()
    store = open_store(settings, clock)
    stats = IngestStats()
    limits = Limits(max_bytes=settings.ingest_max_payload_bytes, max_points=settings.ingest_max_points)
    live = LiveHub(plant, plant_shift_start(plant, clock))
    live.seed(store, clock.now_us())
    try:
        pipeline = IngestPipeline(plant, store, clock, limits, stats, on_committed=live.on_committed)
        # Sessions and lockouts run on real time even when the plant's clock is simulated and accelerated
        # (demo, tests): a ×60 demo must not log its users out after 30 s.
        auth = open_auth(settings, auth_clock if auth_clock is not None else WallClock())
    except BaseException:
        store.close()
        raise
    logger.info("Cadence runtime open: %d machines, store %s", len(plant.machines), settings.store_path)
    return Runtime(settings, plant, store, clock, stats, pipeline, PlantData(plant, store), live, auth)
