"""Press health, live: every press's strokes through its health monitor, alerts, history and diagnosis.

The maintenance loop calls :meth:`HealthService.evaluate`. For each press it reads the strokes started
since its watermark, oldest first, feeds them to the press's :class:`HealthMonitor` (operating point =
part and die), and commits in one transaction the new watermark, the monitor's state, one history point
per hour of strokes, and the alerts raised or cleared (code ``health.<subsystem>``, message = the
explanation in French, the plant's first language). A second process evaluating at the same time loses
the compare-and-set and writes nothing, so an alert is never raised twice.

Closed work orders are the maintenance loop's other half: a work order closed with ``rebaseline`` on a
subsystem makes the monitor forget that subsystem's baseline at the closing time (the strokes after the
repair are the new normal), and a work order closed with the fault found labels the episode, whose
feature vector then serves as a signature for diagnosing later episodes (:mod:`.classify`).

:meth:`HealthService.view` is what the press health page and the API show: per subsystem the level and
its history, the features that moved, the forecast to the threshold with its band, a sentence to act on;
the suspected fault with the most similar past episodes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cadence.analytics.health.classify import MODE_SUBSYSTEM, Diagnosis, Episode, classify, training_rows
from cadence.analytics.health.explain import Lang, Move, explain
from cadence.analytics.health.monitor import HealthConfig, HealthMonitor, HealthSnapshot, SubsystemHealth
from cadence.analytics.health.trend import Forecast, failure_forecast
from cadence.analytics.linear_classifier import LinearClassifier
from cadence.config import Settings
from cadence.domain.alarms import Alarm, Severity
from cadence.domain.cycles import Stroke
from cadence.domain.plant import Plant
from cadence.domain.workorders import WorkOrder, WorkOrderStatus
from cadence.errors import NotFound
from cadence.ports import Clock, HealthPoint, HealthProgress, LabelledEpisode, TimeSeriesStore
from cadence.services.learning import LearningWorker
from cadence.services.stroke_reading import forward_strokes

logger = logging.getLogger(__name__)

ALARM_SOURCE = "health"
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
CRITICAL_LEVEL = 0.6  # an alert past 60 % of the way to failure is critical: plan the repair now
_STATE_VERSION = 1
_RECENT_DAYS = 30  # history read for forecasts and explanations
_MOVES = 3


def alarm_code(subsystem: str) -> str:
    """The stable alarm code of a subsystem's health alert (docs/reference/errors.md lists them)."""
    return f"health.{subsystem}"


def health_config(settings: Settings) -> HealthConfig:
    """The monitor configuration of a plant: the settings an integrator may change, defaults for the rest.

    Every reader and writer of the monitors' state uses this one, so the page reads the state with the
    thresholds the evaluator used.
    """
    return HealthConfig(
        learn_strokes=settings.health_learn_strokes,
        calibration_strokes=settings.health_calibration_strokes,
        alert_level=settings.health_alert_level,
        clear_level=settings.health_alert_level / 2,
        trip_temp_c=settings.health_trip_temp_c,
    )


def context_of(stroke: Stroke) -> str:
    """The operating point of a stroke: its part program and die (a part formed on another die is
    another operating point)."""
    return f"{stroke.part or '-'}|{stroke.die or '-'}"


@dataclass(slots=True)
class _State:
    monitor: HealthMonitor
    hour_us: int | None = None  # the hour the strokes being summarised belong to
    rebaselined_us: int = 0  # closing time of the last work order applied

    def dump(self) -> str:
        return json.dumps(
            {
                "version": _STATE_VERSION,
                "monitor": self.monitor.to_dict(),
                "hour_us": self.hour_us,
                "rebaselined_us": self.rebaselined_us,
            },
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, text: str | None, config: HealthConfig) -> _State:
        if text is None:
            return cls(HealthMonitor(config))
        data = json.loads(text)
        if data.get("version") != _STATE_VERSION:
            raise ValueError(f"unknown health state version {data.get('version')!r}")
        return cls(
            HealthMonitor.from_dict(data["monitor"], config), data["hour_us"], int(data["rebaselined_us"])
        )


@dataclass(frozen=True, slots=True)
class SubsystemView:
    name: str
    health: SubsystemHealth
    forecast: Forecast | None
    moves: tuple[Move, ...]
    over_days: float
    explanation: str
    history: tuple[tuple[int, float], ...]  # (hour, level)


@dataclass(frozen=True, slots=True)
class HealthView:
    machine: str
    at_us: int | None  # start of the last stroke read; None: nothing read yet
    strokes: int
    learning: bool
    subsystems: tuple[SubsystemView, ...]
    diagnosis: Diagnosis
    explanation: str | None  # the sentence for the worst subsystem, when one deviates
    anomaly: float
    points: tuple[HealthPoint, ...] = field(default=())


class HealthService:
    """Press health for every press of the plant (module docstring)."""

    def __init__(
        self,
        plant: Plant,
        store: TimeSeriesStore,
        clock: Clock,
        config: HealthConfig | None = None,
        *,
        model: LinearClassifier | None = None,
    ) -> None:
        self._plant = plant
        self._store = store
        self._clock = clock
        self.config = config or HealthConfig()
        self._model = model  # fitted on the plant's labelled episodes (LearnedDiagnosis), if any

    # --- live evaluation ---------------------------------------------------------------------------------

    def evaluate(self, now_us: int) -> int:
        """Feed every press's new strokes up to ``now_us``; returns the number of alerts raised."""
        raised = 0
        for machine in self._plant.machines:
            try:
                raised += self._evaluate_machine(machine.id, now_us)
            except Exception:  # one press failing must not stop the others; retried next pass
                logger.exception("health evaluation of %s failed", machine.id)
        return raised

    def _evaluate_machine(self, machine: str, now_us: int) -> int:
        raised = 0
        while True:
            progress = self._store.health_progress(machine)
            previous = progress.watermark_us if progress is not None else None
            first = previous + 1 if previous is not None else 0
            strokes, done = forward_strokes(self._store, machine, first, now_us + 1)
            if not strokes:
                return raised
            state = _State.load(progress.state if progress is not None else None, self.config)
            points, alarms, clears, episodes = self._pass(machine, state, strokes)
            ids = self._store.advance_health(
                HealthProgress(machine, strokes[-1].start_us, state.dump(), now_us),
                previous_us=previous,
                points=points,
                alarms=alarms,
                clears=clears,
                episodes=episodes,
            )
            if ids is None:  # another process evaluated this press meanwhile: its alerts stand
                return raised
            raised += len(ids)
            if done:
                return raised

    def _pass(
        self, machine: str, state: _State, strokes: Sequence[Stroke]
    ) -> tuple[list[HealthPoint], list[Alarm], list[tuple[int, int]], list[LabelledEpisode]]:
        monitor = state.monitor
        closings = self._closings(machine, state.rebaselined_us)
        open_ids = self._open_alarms(machine)
        points: list[HealthPoint] = []
        alarms: list[Alarm] = []
        clears: list[tuple[int, int]] = []
        episodes: list[LabelledEpisode] = []
        alerts_before = monitor.alerts
        for stroke in strokes:
            while closings and (closings[0].closed_us or 0) < stroke.start_us:
                order = closings.pop(0)
                closed_us = order.closed_us or 0
                # What the press showed up to the closing is the episode's signature, labelled with what
                # was found; then the repaired subsystem starts a new baseline.
                if order.fault_mode is not None:
                    vector = {k: v for k, v in monitor.snapshot().vector().items() if v != 0.0}
                    episodes.append(LabelledEpisode(order.id, machine, order.fault_mode, closed_us, vector))
                if order.rebaseline and order.subsystem is not None:
                    monitor.rebaseline([order.subsystem])
                state.rebaselined_us = max(state.rebaselined_us, closed_us)
            hour = stroke.start_us // HOUR_US * HOUR_US
            if state.hour_us is not None and hour != state.hour_us:
                points.append(_point(machine, state.hour_us, monitor.snapshot()))
            state.hour_us = hour
            monitor.update(
                stroke.start_us / 1e6, context_of(stroke), stroke.features, material_lot=stroke.material_lot
            )
            alerts_now = monitor.alerts
            if alerts_now != alerts_before:
                snapshot = monitor.snapshot()
                for name in sorted(alerts_now - alerts_before):
                    alarms.append(self._alarm(machine, name, snapshot, stroke.start_us, points))
                for name in sorted(alerts_before - alerts_now):
                    _end_alert(alarm_code(name), stroke.start_us, open_ids, alarms, clears)
                alerts_before = alerts_now
        if state.hour_us is not None:  # the hour in progress, replaced by the next pass
            points.append(_point(machine, state.hour_us, monitor.snapshot()))
        return points, alarms, clears, episodes

    def _closings(self, machine: str, after_us: int) -> list[WorkOrder]:
        """Work orders of ``machine`` closed after ``after_us``, oldest closing first."""
        found = self._store.work_orders(
            machine=machine, status=WorkOrderStatus.CLOSED, closed_since_us=after_us + 1, limit=1000
        )
        return sorted((o for o in found if (o.closed_us or 0) > after_us), key=lambda o: o.closed_us or 0)

    def _open_alarms(self, machine: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for alarm in self._store.alarms(1000, active=True, machine=machine):
            if alarm.source == ALARM_SOURCE and alarm.id is not None:
                found.setdefault(alarm.code, alarm.id)
        return found

    def _alarm(
        self, machine: str, name: str, snapshot: HealthSnapshot, ts_us: int, pending: Sequence[HealthPoint]
    ) -> Alarm:
        history = self._store.health_points(machine, ts_us - _RECENT_DAYS * DAY_US, ts_us + 1)
        merged = _merge(history, pending)
        merged.append(_point(machine, ts_us, snapshot))
        view = self._subsystem_view(name, snapshot.subsystems[name], merged, "fr")
        mode = _mode_for(self._diagnose(snapshot), name)
        texts: dict[Lang, str] = {  # stored in both languages; each reader sees theirs
            lang: explain(mode, name, view.moves, over_days=view.over_days, forecast=view.forecast, lang=lang)
            for lang in ("fr", "en")
        }
        severity = (
            Severity.CRITICAL if snapshot.subsystems[name].level >= CRITICAL_LEVEL else Severity.WARNING
        )
        return Alarm(
            alarm_code(name),
            severity,
            texts["fr"],
            raised_us=ts_us,
            source=ALARM_SOURCE,
            machine=machine,
            message_en=texts["en"],
        )

    # --- reading -----------------------------------------------------------------------------------------

    def view(self, machine: str, *, days: int = 30, lang: Lang = "fr") -> HealthView:
        """The press health page's content for ``machine`` over the last ``days``."""
        if not self._plant.has_machine(machine):
            raise NotFound(f"no machine {machine!r} in the plant", machine=machine)
        progress = self._store.health_progress(machine)
        state = _State.load(progress.state if progress is not None else None, self.config)
        snapshot = state.monitor.snapshot()
        end_us = (progress.watermark_us if progress is not None else self._clock.now_us()) + HOUR_US
        points = self._store.health_points(machine, end_us - max(days, 1) * DAY_US - HOUR_US, end_us)
        subsystems = tuple(
            self._subsystem_view(name, health, points, lang)
            for name, health in snapshot.subsystems.items()
            if health.followed
        )
        diagnosis = self._diagnose(snapshot)
        worst = max(subsystems, key=lambda v: v.health.level, default=None)
        sentence = None
        if worst is not None and worst.moves and (worst.health.alert or worst.health.level > 0):
            sentence = explain(
                _mode_for(diagnosis, worst.name),
                worst.name,
                worst.moves,
                over_days=worst.over_days,
                forecast=worst.forecast,
                lang=lang,
            )
        return HealthView(
            machine,
            progress.watermark_us if progress is not None else None,
            snapshot.strokes,
            snapshot.learning,
            subsystems,
            diagnosis,
            sentence,
            snapshot.anomaly,
            tuple(points),
        )

    def episodes(self) -> list[Episode]:
        """Labelled past episodes of every press: what each showed when a work order on it was closed,
        with what was found (those with no deviation at all teach nothing and are left out)."""
        return [
            Episode(e.mode, e.vector, f"#{e.order_id}", e.machine, e.ended_us)
            for e in self._store.health_episodes()
            if e.vector
        ]

    def _diagnose(self, snapshot: HealthSnapshot) -> Diagnosis:
        if not any(s.level > 0 for s in snapshot.subsystems.values()):
            return Diagnosis(None, 0.0, {}, ())
        return classify(snapshot.vector(), self.episodes(), model=self._model)

    def _subsystem_view(
        self, name: str, health: SubsystemHealth, points: Sequence[HealthPoint], lang: Lang
    ) -> SubsystemView:
        history = tuple((p.ts_us, float(p.levels.get(name, 0.0))) for p in points if name in p.levels)
        days = [ts / DAY_US for ts, _ in history]
        levels = [level for _, level in history]
        eta = failure_forecast(days, levels) if len(history) >= 2 and health.level > 0 else None
        # How long the level has been rising: since the last hour it was still at zero.
        start = next(
            (ts for ts, level in reversed(history) if level <= 0.0), history[0][0] if history else None
        )
        over_days = (history[-1][0] - start) / DAY_US if history and start is not None else 0.0
        significant = sorted(
            (c for c in health.contributions if c.evidence >= self.config.significant and c.share > 0),
            key=lambda c: -c.share,
        )
        moves = tuple(Move(c.feature, c.change, c.scale) for c in significant[:_MOVES])
        text = explain(None, name, moves, over_days=over_days, forecast=eta, lang=lang) if moves else ""
        return SubsystemView(name, health, eta, moves, max(over_days, 0.0), text, history)


MIN_EPISODES = 4  # labelled episodes, of at least two modes, before a classifier is worth fitting


class LearnedDiagnosis:
    """The classifier of fault directions fitted on the plant's labelled episodes (:func:`training_rows`),
    refitted in the learning worker when a work order closing adds or relabels one.

    scikit-learn runs in the worker process only; this process keeps the plain numbers it returns and
    evaluates them with numpy (:class:`LinearClassifier`).
    """

    def __init__(self, store: TimeSeriesStore, worker: LearningWorker) -> None:
        self._store = store
        self._worker = worker
        self.model: LinearClassifier | None = None
        self._key: tuple[tuple[int, str], ...] | None = None

    def refresh(self) -> bool:
        """Refit if the labelled episodes changed; True when a new model was fitted."""
        labelled = [e for e in self._store.health_episodes() if e.vector]
        key = tuple(sorted((e.order_id, e.mode) for e in labelled))
        if key == self._key:
            return False
        if len(labelled) < MIN_EPISODES or len({e.mode for e in labelled}) < 2:
            self.model, self._key = None, key
            return False
        episodes = [Episode(e.mode, e.vector, f"#{e.order_id}", e.machine, e.ended_us) for e in labelled]
        names, rows, labels = training_rows(episodes)
        self.model = LinearClassifier.from_dict(self._worker.fit_classifier(rows, labels, names))
        self._key = key  # only once fitted: a failed fit is tried again at the next pass
        return True


def _mode_for(diagnosis: Diagnosis, subsystem: str) -> str | None:
    """The diagnosed mode, if it concerns ``subsystem`` (a pump leak is not named on the tooling alert)."""
    if diagnosis.mode is None:
        return None
    owner = MODE_SUBSYSTEM.get(diagnosis.mode)
    return diagnosis.mode if owner is None or owner == subsystem else None


def _point(machine: str, hour_us: int, snapshot: HealthSnapshot) -> HealthPoint:
    return HealthPoint(
        machine,
        hour_us,
        {name: _round(s.level) for name, s in snapshot.subsystems.items() if s.followed},
        {name: _round(s.evidence) for name, s in snapshot.subsystems.items() if s.followed},
        {k: _round(v) for k, v in snapshot.vector().items()},
        {c.feature: _round(c.change) for s in snapshot.subsystems.values() for c in s.contributions},
        _round(snapshot.anomaly),
        snapshot.learning,
    )


def _round(value: float) -> float:
    return round(value, 5) if math.isfinite(value) else 0.0


def _merge(stored: Sequence[HealthPoint], pending: Sequence[HealthPoint]) -> list[HealthPoint]:
    by_hour = {p.ts_us: p for p in stored}
    by_hour.update({p.ts_us: p for p in pending})
    return [by_hour[k] for k in sorted(by_hour)]


def _end_alert(
    code: str, ts_us: int, open_ids: dict[str, int], alarms: list[Alarm], clears: list[tuple[int, int]]
) -> None:
    for j in range(len(alarms) - 1, -1, -1):  # raised in this very pass: recorded already cleared
        if alarms[j].code == code and alarms[j].active:
            alarms[j] = dataclasses.replace(alarms[j], cleared_us=ts_us)
            return
    if code in open_ids:
        clears.append((open_ids.pop(code), ts_us))


def view_json(view: HealthView) -> dict[str, Any]:
    """The JSON form of a :class:`HealthView` (API and page scripts)."""
    return {
        "machine": view.machine,
        "at_us": view.at_us,
        "strokes": view.strokes,
        "learning": view.learning,
        "anomaly": view.anomaly,
        "explanation": view.explanation,
        "diagnosis": {
            "mode": view.diagnosis.mode,
            "confidence": view.diagnosis.confidence,
            "shares": dict(view.diagnosis.shares),
            "similar": [
                {
                    "mode": s.episode.mode,
                    "reference": s.episode.reference,
                    "machine": s.episode.machine,
                    "ended_us": s.episode.ended_us,
                    "similarity": s.similarity,
                }
                for s in view.diagnosis.similar
            ],
        },
        "subsystems": [
            {
                "name": s.name,
                "level": s.health.level,
                "evidence": s.health.evidence,
                "alert": s.health.alert,
                "worst": s.health.worst,
                "explanation": s.explanation,
                "forecast": None
                if s.forecast is None
                else {
                    "eta_days": s.forecast.eta_days,
                    "low_days": s.forecast.low_days,
                    "high_days": s.forecast.high_days,
                    "model": s.forecast.model,
                },
                "contributions": [
                    {
                        "feature": c.feature,
                        "change": c.change,
                        "scale": c.scale,
                        "share": c.share,
                        "evidence": c.evidence,
                    }
                    for c in s.health.contributions
                ],
                "history": [[ts, level] for ts, level in s.history],
            }
            for s in view.subsystems
        ],
    }


__all__ = [
    "ALARM_SOURCE",
    "HealthService",
    "HealthView",
    "LearnedDiagnosis",
    "SubsystemView",
    "alarm_code",
    "context_of",
    "health_config",
    "view_json",
]
