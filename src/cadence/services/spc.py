"""Live SPC: control charts on the features of every stroke, limits kept as audited versions, violations
raised as alarms (docs/guides/spc.md, "Live charts").

* :meth:`SpcService.establish` computes the limits of one (machine, feature) from a chosen baseline period
  (phase I of :mod:`cadence.analytics.spc.imr` or :mod:`~cadence.analytics.spc.xbar_r`, out-of-control
  points excluded round after round) and stores them as a NEW version: who, when, why and which baseline
  stay in the audit trail (:meth:`SpcService.history`); the latest version is in force.
* :meth:`SpcService.view` is what a page shows: the points of a period against the limits in force
  (phase II), the rule violations, the capability when specification limits are set.
* :meth:`SpcService.evaluate` is the background check (the runtime's maintenance loop calls it every
  ``spc_evaluate_interval_s``): the strokes since the last pass, per chart, through the run rules; each
  *episode* of a rule raises ONE alarm ``spc.<rule>`` and clears it once the rule has stayed quiet for
  :data:`EPISODE_QUIET_POINTS` points. The watermark, the rules' recent points and the open episodes are
  stored in the same transaction as the alarms (:meth:`TimeSeriesStore.advance_spc`), so a restart
  neither misses nor repeats a violation.

Only the first part of a chart (I or X̄) is plotted and checked: a drift of the features shows there; the
MR and R parts stay the offline tool's (``cadence spc``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cadence.analytics.spc import imr, xbar_r
from cadence.analytics.spc.base import Point, Violation
from cadence.analytics.spc.capability import Capability, capability
from cadence.analytics.spc.rules import ALL_RULES, RULES, WESTERN_ELECTRIC, RuleChecker, check, explain
from cadence.domain.alarms import Alarm, Severity
from cadence.domain.cycles import Stroke
from cadence.domain.plant import Plant
from cadence.errors import InvalidInput, NotFound
from cadence.ports import Clock, SpcLimitsRecord, SpcProgress, TimeSeriesStore
from cadence.services.stroke_reading import forward_strokes

__all__ = [
    "ALARM_SOURCE_PREFIX",
    "CHARTS",
    "EPISODE_QUIET_POINTS",
    "MIN_BASELINE_POINTS",
    "SPC_FEATURES",
    "SpcLimitsRecord",
    "SpcService",
    "SpcView",
    "alarm_code",
]

logger = logging.getLogger(__name__)

# The per-stroke features charted by default, in display order: the ones a drift of a press shows in
# (issue 5: pressure, leakage, cycle time, energy, bottom dead centre, oil temperature).
SPC_FEATURES: tuple[str, ...] = (
    "peak_pressure_bar",
    "dwell_decay_bar_s",
    "cycle_time_s",
    "energy_kj",
    "bdc_position_mm",
    "oil_temp_c",
)
CHARTS: tuple[str, ...] = ("imr", "xbar_r")
# Fewer baseline points (values for I-MR, subgroups for X̄-R) give limits too uncertain to act on
# (Montgomery §6.2: 20–25 subgroups).
MIN_BASELINE_POINTS = 20
# A baseline is read in one piece; beyond this many strokes, ask for a shorter period (it is phase I, not
# an archive query).
MAX_BASELINE_STROKES = 20_000
# An episode of a rule ends after this many points without a new violation of it: a drift that keeps
# crossing the limits is one alarm, not one per stroke.
EPISODE_QUIET_POINTS = 25
# Alarms raised here carry this source followed by the feature ("spc/peak_pressure_bar").
ALARM_SOURCE_PREFIX = "spc/"
# The rules' memory between passes: their longest window is 15 points (Nelson 7); twice that and more
# rebuilds every run counter they compare with their threshold.
_RECENT_POINTS = 32
_L = 3.0  # limits at ±3σ of the plotted statistic, as the record's lcl/ucl


def alarm_code(rule: str) -> str:
    """The stable alarm code of a run rule: ``spc.we1``, ``spc.nelson3``… (docs/guides/spc.md).

    >>> alarm_code("we2")
    'spc.we2'
    """
    return f"spc.{rule}"


@dataclass(frozen=True, slots=True)
class SpcView:
    """What a page shows for one (machine, feature) over a period.

    ``points`` is the plotted statistic (I values or subgroup means), indexed from 0 in time order, with
    ``times_us`` the time of each (stroke start, or the start of the subgroup's last stroke). Without
    limits, the points carry the period's mean as centre and no limits, and there are no violations.
    """

    machine: str
    feature: str
    limits: SpcLimitsRecord | None
    points: tuple[Point, ...]
    times_us: tuple[int, ...]
    violations: tuple[Violation, ...]
    capability: Capability | None


def _refuse(message: str, problem: str, **context: Any) -> InvalidInput:
    # ``problem`` is the stable code of the refusal (the envelope's code stays "invalid_input").
    return InvalidInput(message, problem=problem, **context)


def _value(stroke: Stroke, feature: str) -> float | None:
    value = stroke.features.get(feature)
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _point(record: SpcLimitsRecord, index: int, value: float) -> Point:
    # Phase II point of the first part; its σ (the rules' zones) is that of the plotted statistic.
    return Point(index, value, record.center, record.lcl, record.ucl, sigma=(record.ucl - record.center) / _L)


def _subgroups(rows: Sequence[tuple[Stroke, float]], size: int) -> list[tuple[Stroke, list[float]]]:
    """Consecutive ``size``-stroke subgroups (an incomplete tail is left out), each with its last stroke."""
    return [
        (rows[j + size - 1][0], [v for _, v in rows[j : j + size]])
        for j in range(0, len(rows) - size + 1, size)
    ]


@dataclass(slots=True)
class _State:
    """What evaluation carries from one pass to the next (stored as JSON with the watermark)."""

    recent: list[tuple[int, float]]  # (stroke counter, plotted value) of the last points
    quiet: dict[str, int]  # open episodes: rule -> points since its last violation

    def dump(self) -> str:
        return json.dumps({"v": 1, "recent": self.recent, "quiet": self.quiet}, separators=(",", ":"))

    @classmethod
    def load(cls, text: str | None) -> _State:
        if not text:
            return cls([], {})
        data = json.loads(text)
        return cls(
            [(int(n), float(v)) for n, v in data["recent"]],
            {str(k): int(q) for k, q in data["quiet"].items()},
        )


class SpcService:
    """Limits, views and live evaluation of the control charts of the plant's presses."""

    def __init__(self, plant: Plant, store: TimeSeriesStore, clock: Clock) -> None:
        self._plant = plant
        self._store = store
        self._clock = clock

    # --- limits ------------------------------------------------------------------------------------------

    def establish(
        self,
        machine: str,
        feature: str,
        start_us: int,
        end_us: int,
        *,
        by: str,
        why: str,
        chart: str = "imr",
        subgroup_size: int = 1,
        rules: Iterable[str] = WESTERN_ELECTRIC,
        lsl: float | None = None,
        usl: float | None = None,
        exclude: bool = True,
    ) -> SpcLimitsRecord:
        """Compute the limits of ``(machine, feature)`` from the strokes started in ``[start_us, end_us)``
        and store them as the version in force. ``exclude``: drop out-of-control baseline points and
        recompute until none is left (phase I). Refusals are :class:`InvalidInput` whose ``problem``
        context is a stable code (``spc.too_few_points``, ``spc.feature_absent``…)."""
        self._known(machine)
        if not by.strip():
            raise _refuse("establishing limits must name who does it", "spc.by_required")
        if not why.strip():
            raise _refuse(
                "establishing limits must say why (new die, after maintenance…)", "spc.why_required"
            )
        if chart not in CHARTS:
            raise _refuse(f"unknown chart {chart!r}; known: {', '.join(CHARTS)}", "spc.unknown_chart")
        if chart == "imr" and subgroup_size != 1:
            raise _refuse(
                "an I-MR chart has subgroups of 1", "spc.subgroup_size", subgroup_size=subgroup_size
            )
        if chart == "xbar_r" and not 2 <= subgroup_size <= 25:
            raise _refuse(
                "X̄-R subgroups have 2 to 25 strokes", "spc.subgroup_size", subgroup_size=subgroup_size
            )
        selected = tuple(code for code in RULES if code in frozenset(rules))
        unknown = sorted(frozenset(rules) - ALL_RULES)
        if unknown:
            raise _refuse(f"unknown run rules {unknown}; known: {sorted(ALL_RULES)}", "spc.unknown_rule")
        if lsl is not None and usl is not None and not lsl < usl:
            raise _refuse("the lower specification limit must be below the upper one", "spc.spec_limits")
        if not start_us < end_us:
            raise _refuse("the baseline period must end after it starts", "spc.period")

        strokes = self._store.strokes(machine, start_us, end_us, limit=MAX_BASELINE_STROKES + 1)
        if len(strokes) > MAX_BASELINE_STROKES:
            raise _refuse(
                f"the baseline period holds more than {MAX_BASELINE_STROKES} strokes: choose a shorter one",
                "spc.baseline_too_long",
            )
        rows = [(s, v) for s in reversed(strokes) if (v := _value(s, feature)) is not None]
        if not rows:
            raise _refuse(
                f"no stroke of {machine} in the baseline period carries the feature {feature!r}",
                "spc.feature_absent",
                machine=machine,
                feature=feature,
            )
        try:
            if chart == "imr":
                points = len(rows)
                self._enough(points, "values")
                limits = imr.phase_one([v for _, v in rows], iterate=exclude)
                part, excluded = limits.i_limits(), limits.excluded
            else:
                groups = _subgroups(rows, subgroup_size)
                points = len(groups)
                self._enough(points, f"subgroups of {subgroup_size}")
                x_limits = xbar_r.phase_one([g for _, g in groups], iterate=exclude)
                part, excluded = x_limits.xbar_limits(), x_limits.excluded
        except ValueError as err:  # a flat baseline: no spread to set limits from
            raise _refuse(str(err), "spc.flat_baseline", machine=machine, feature=feature) from err
        record = SpcLimitsRecord(
            id=0,
            machine=machine,
            feature=feature,
            chart=chart,
            subgroup_size=subgroup_size,
            center=part.center,
            sigma=part.sigma,
            lcl=part.lcl,
            ucl=part.ucl,
            baseline_start_us=start_us,
            baseline_end_us=end_us,
            points=points,
            excluded=excluded,
            rules=selected,
            lsl=lsl,
            usl=usl,
            by=by.strip(),
            at_us=self._clock.now_us(),
            why=why.strip(),
        )
        record_id = self._store.record_spc_limits(record)
        logger.info("SPC limits of %s %s established by %s (version %d)", machine, feature, by, record_id)
        return dataclasses.replace(record, id=record_id)

    def limits(self, machine: str, feature: str) -> SpcLimitsRecord | None:
        """The version in force (the latest), None when the chart has no limits yet."""
        latest = self._store.spc_limits_history(machine, feature, limit=1)
        return latest[0] if latest else None

    def history(self, machine: str, feature: str) -> list[SpcLimitsRecord]:
        """Every version of the limits, newest first: the audit trail."""
        return self._store.spc_limits_history(machine, feature, limit=10_000)

    # --- view --------------------------------------------------------------------------------------------

    def view(self, machine: str, feature: str, start_us: int, end_us: int, max_points: int = 2000) -> SpcView:
        """The strokes started in ``[start_us, end_us)`` as chart points (the latest ``max_points`` when
        there are more), against the limits in force."""
        self._known(machine)
        if max_points < 1:
            raise _refuse("max_points must be at least 1", "spc.max_points")
        record = self.limits(machine, feature)
        size = record.subgroup_size if record is not None else 1
        strokes = self._store.strokes(machine, start_us, end_us, limit=max_points * size)
        rows = [(s, v) for s in reversed(strokes) if (v := _value(s, feature)) is not None]
        if record is not None and record.chart == "xbar_r":
            groups = _subgroups(rows, size)
            stats = [(last.start_us, math.fsum(g) / len(g)) for last, g in groups]
        else:
            stats = [(s.start_us, v) for s, v in rows]
        times = tuple(t for t, _ in stats)
        if record is None:
            mean = math.fsum(v for _, v in stats) / len(stats) if stats else 0.0
            points = tuple(Point(i, v, mean, None, None) for i, (_, v) in enumerate(stats))
            return SpcView(machine, feature, None, points, times, (), None)
        points = tuple(_point(record, i, v) for i, (_, v) in enumerate(stats))
        violations = tuple(check(points, record.rules))
        return SpcView(
            machine, feature, record, points, times, violations, _capability(record, rows, violations)
        )

    # --- live evaluation ---------------------------------------------------------------------------------

    def evaluate(self, now_us: int) -> int:
        """Check the strokes started since the last pass on every chart with limits, up to ``now_us``;
        raise one alarm per episode of a rule. Returns the number of alarms raised."""
        raised = 0
        for record in self._store.spc_limits_in_force():
            if not self._plant.has_machine(record.machine):
                continue  # a press removed from the plant file keeps its audit trail, not its alarms
            try:
                raised += self._evaluate_chart(record, now_us)
            except Exception:  # one chart failing must not stop the others; retried next pass
                logger.exception("SPC evaluation of %s %s failed", record.machine, record.feature)
        return raised

    def _evaluate_chart(self, record: SpcLimitsRecord, now_us: int) -> int:
        raised = 0
        while True:
            progress = self._store.spc_progress(record.machine, record.feature)
            previous = progress.watermark_us if progress is not None else None
            # Monitoring begins when the first limits were set; after that, right after the watermark.
            first = previous + 1 if previous is not None else record.at_us
            strokes, done = forward_strokes(self._store, record.machine, first, now_us + 1)
            outcome = self._pass(record, _State.load(progress.state if progress else None), strokes)
            if outcome is None:
                return raised
            watermark, state, alarms, clears = outcome
            ids = self._store.advance_spc(
                SpcProgress(record.machine, record.feature, watermark, state.dump(), now_us),
                previous_us=previous,
                alarms=alarms,
                clears=clears,
            )
            if ids is None:  # another process evaluated this chart meanwhile: its alarms stand
                return raised
            raised += len(ids)
            if done:
                return raised

    def _pass(
        self, record: SpcLimitsRecord, state: _State, strokes: list[Stroke]
    ) -> tuple[int, _State, list[Alarm], list[tuple[int, int]]] | None:
        """Run ``strokes`` (oldest first) through the rules; None when no point is complete."""
        rows = [(s, v) for s in strokes if (v := _value(s, record.feature)) is not None]
        if not strokes:
            return None
        watermark = strokes[-1].start_us
        if record.chart == "xbar_r":
            groups = _subgroups(rows, record.subgroup_size)
            stats = [(last, math.fsum(g) / len(g)) for last, g in groups]
            pending = rows[len(groups) * record.subgroup_size :]
            if pending:  # an incomplete subgroup waits for its last strokes: the watermark stays before it
                watermark = pending[0][0].start_us - 1
                if not stats:
                    return None
        else:
            stats = list(rows)
        checker = RuleChecker(record.rules)
        counters = [n for n, _ in state.recent]
        for i, (_, value) in enumerate(state.recent):
            checker.update(_point(record, i, value))  # rebuilds the rules' memory; found before
        open_ids = self._open_alarms(record) if state.quiet else {}
        alarms: list[Alarm] = []
        clears: list[tuple[int, int]] = []
        for stroke, value in stats:
            index = len(counters)
            counters.append(stroke.n)
            fired = {v.rule: v for v in checker.update(_point(record, index, value))}
            for rule in list(state.quiet):
                if rule in fired:
                    continue
                state.quiet[rule] += 1
                if state.quiet[rule] >= EPISODE_QUIET_POINTS:  # the episode is over
                    del state.quiet[rule]
                    self._end_episode(rule, stroke.start_us, open_ids, alarms, clears)
            for rule, violation in fired.items():
                if rule in state.quiet:
                    state.quiet[rule] = 0  # the same episode goes on
                    continue
                state.quiet[rule] = 0
                alarms.append(self._alarm(record, violation, counters, stroke.start_us))
        state.recent = [*state.recent, *((stroke.n, value) for stroke, value in stats)][-_RECENT_POINTS:]
        return watermark, state, alarms, clears

    @staticmethod
    def _end_episode(
        rule: str, ts_us: int, open_ids: dict[str, int], alarms: list[Alarm], clears: list[tuple[int, int]]
    ) -> None:
        code = alarm_code(rule)
        for j in range(len(alarms) - 1, -1, -1):  # raised in this very pass: recorded already cleared
            if alarms[j].code == code and alarms[j].active:
                alarms[j] = dataclasses.replace(alarms[j], cleared_us=ts_us)
                return
        if code in open_ids:
            clears.append((open_ids.pop(code), ts_us))

    def _open_alarms(self, record: SpcLimitsRecord) -> dict[str, int]:
        """Active alarms of this chart by code (the episodes open at the previous pass)."""
        source = ALARM_SOURCE_PREFIX + record.feature
        found: dict[str, int] = {}
        for alarm in self._store.alarms(1000, active=True, machine=record.machine):
            if alarm.source == source and alarm.id is not None:
                found.setdefault(alarm.code, alarm.id)  # newest first: the newest of a code
        return found

    @staticmethod
    def _alarm(record: SpcLimitsRecord, violation: Violation, counters: list[int], ts_us: int) -> Alarm:
        # The text names points by stroke counter (the subgroup's last stroke on X̄-R), which people can
        # find on the press and in traceability; explain() numbers from 1, hence the - 1.
        renumbered = Violation(
            violation.rule, counters[violation.index] - 1, tuple(counters[i] - 1 for i in violation.points)
        )
        return Alarm(
            code=alarm_code(violation.rule),
            severity=Severity.WARNING,
            message=f"{record.feature} : {explain(renumbered, 'fr')}",
            message_en=f"{record.feature}: {explain(renumbered, 'en')}",
            raised_us=ts_us,
            source=ALARM_SOURCE_PREFIX + record.feature,
            machine=record.machine,
        )

    # --- helpers -----------------------------------------------------------------------------------------

    def _known(self, machine: str) -> None:
        if not self._plant.has_machine(machine):
            raise NotFound(f"no machine {machine!r} in the plant", machine=machine)

    @staticmethod
    def _enough(points: int, what: str) -> None:
        if points < MIN_BASELINE_POINTS:
            raise _refuse(
                f"the baseline period gives {points} {what}; limits need at least {MIN_BASELINE_POINTS}",
                "spc.too_few_points",
                points=points,
                required=MIN_BASELINE_POINTS,
            )


def _capability(
    record: SpcLimitsRecord, rows: Sequence[tuple[Stroke, float]], violations: Sequence[Violation]
) -> Capability | None:
    """Capability of the period's values against the record's specification limits, σ_within from the
    baseline; None without specification limits or with fewer than 2 values or no spread."""
    if record.lsl is None and record.usl is None:
        return None
    values = [v for _, v in rows]
    if len(values) < 2:
        return None
    try:
        return capability(
            values, lsl=record.lsl, usl=record.usl, within=record.sigma, in_control=not violations
        )
    except ValueError:  # every value equal: no spread, the indices are undefined
        return None
