"""KPI rollups against the state engine: hour sums, day sums and period figures equal tile + kpi_report.

Every history is written to a real SQLite store through the port, rolled up by the real refresh, then
compared with :func:`kpi_report` over :func:`tile` of the same raw data (operator reasons applied, scrap
declared): time elements to the microsecond, counts exactly.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.analytics.intervals import Interval, tile
from cadence.analytics.kpi import KpiReport, kpi_report
from cadence.clock import SimClock
from cadence.domain.batch import Batch, IdempotencyKey
from cadence.domain.cycles import Stroke
from cadence.domain.operator import ScrapDeclaration, StopReason, apply_stop_reasons
from cadence.domain.plant import Area, Line, Machine, Plant, Site
from cadence.domain.samples import SampleBlock
from cadence.domain.signals import SignalKind, SignalSpec
from cadence.domain.states import MachineState, StateChange
from cadence.errors import BadRequest, NotFound
from cadence.ports import Resolution, RetentionPolicy, TimeSeriesStore, sum_rollups
from cadence.services.kpi_history import (
    HOUR_US,
    PeriodFigures,
    closed_until,
    compute_rollups,
    figures_of,
    period_figures,
    pool,
    pooled_figures,
    present,
    refresh,
)
from cadence.services.production import press_period
from cadence.store.sqlite import SqliteStore

S = 1_000_000
T0 = 1_767_225_600 * S  # 2026-01-01T00:00Z, a local midnight + 1 h in Paris
POWER = SignalSpec("motor_power", "kW", sampling_hz=1, resolution=0.01, kind=SignalKind.SLOW)
P01 = Machine("P01", "Presse 1", "L1", signals=(POWER,), target_cycle_s=9.0)
P02 = Machine("P02", "Presse 2", "L1", target_cycle_s=None)
PLANT = Plant(Site("s", "Site"), (Area("A", "A"),), (Line("L1", "L1", "A"),), (P01, P02))
STATES = [
    (MachineState.RUNNING, None),
    (MachineState.RUNNING, None),
    (MachineState.IDLE, None),
    (MachineState.IDLE, "waiting.order"),
    (MachineState.IDLE, "waiting.operator"),
    (MachineState.DOWN, None),
    (MachineState.DOWN, "breakdown.die"),
    (MachineState.DOWN, "breakdown.hydraulic"),
    (MachineState.SETUP, "setup.die_change"),
    (MachineState.PLANNED_STOP, "planned.break"),
    (MachineState.OFFLINE, None),
]


@dataclass
class History:
    changes: list[StateChange]
    strokes: list[Stroke]
    reasons: list[StopReason]
    scrap: list[ScrapDeclaration]


def make_history(seed: int, hours: int, machine: str = "P01") -> History:
    """A random history over ``hours`` hours from T0 (starting 30 min before it), closed by a last change
    two hours after: gaps from seconds (micro-stops, repeats) to hours, every state and reason."""
    rng = random.Random(seed)
    changes: list[StateChange] = []
    t = T0 - 30 * 60 * S
    end = T0 + hours * HOUR_US
    while t < end:
        state, reason = rng.choice(STATES)
        if changes and rng.random() < 0.1:
            state, reason = changes[-1].state, changes[-1].reason  # a repeat: one stop for the engine
        changes.append(StateChange(t, state, reason))
        t += rng.choice([rng.randint(1, 299), rng.randint(250, 350), rng.randint(300, 5400)]) * S
    changes.append(StateChange(end + 2 * HOUR_US, MachineState.RUNNING))
    strokes = []
    t = T0 - 20 * 60 * S
    n = 0
    while t < end + HOUR_US:
        n += 1
        good = rng.random() > 0.1
        reason = None if good else rng.choice(["crack", "rework.burr", None])
        strokes.append(Stroke(machine, n, t, t + rng.randint(2, 9) * S, good=good, scrap_reason=reason))
        t += rng.choice([9, 9, 12, 40, 700]) * S
    stops = [c for c in changes if c.state.is_stop]
    reasons = [
        StopReason(
            machine, c.ts_us, rng.choice(["waiting.order", "breakdown.die", "setup.adjustment"]), "lea", 0
        )
        for c in rng.sample(stops, k=min(len(stops), 3))
    ]
    scrap = [
        ScrapDeclaration(
            machine, T0 + rng.randint(0, hours * 3600 - 1) * S, rng.randint(1, 40), "crack", "lea"
        )
        for _ in range(rng.randint(0, 3))
    ]
    return History(changes, strokes, reasons, scrap)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.for_tests(tmp_path, clock=SimClock(T0 + 100 * HOUR_US)) as s:
        s.register_signals("P01", [POWER])
        yield s


_seq = iter(range(10**9))


def write(store: TimeSeriesStore, machine: str, h: History) -> None:
    key = IdempotencyKey("test", 1, next(_seq))
    store.append(
        [Batch(key, machine, strokes=tuple(h.strokes), states=tuple(h.changes), digest=b"%d" % key.seq)]
    )
    for r in h.reasons:
        store.record_stop_reason(r)
    for d in h.scrap:
        store.record_scrap(d)


def reference(h: History, start_us: int, end_us: int, pri: float = 9.0) -> KpiReport:
    """What the shift report does for one period, with every change known."""
    changes = apply_stop_reasons(h.changes, h.reasons)
    return kpi_report(tile(changes, [], start_us, end_us), h.strokes, pri_s=pri, declarations=h.scrap)


def assert_matches(f: PeriodFigures, r: KpiReport) -> None:
    assert (f.pq, f.gq, f.sq, f.rq, f.failure_events) == (r.pq, r.gq, r.sq, r.rq, r.failure_events)
    for mine, theirs in [
        (f.running_s, r.apt_s),
        (f.planned_stop_s, r.pdot_s),
        (f.idle_s + f.no_order_s, r.adot_s),
        (f.setup_s, r.aust_s),
        (f.down_s, r.malfunction_s),
        (f.micro_stop_s, r.micro_stop_s),
        (f.unknown_s, r.unknown_s),
        (f.pot_s, r.pot_s),
    ]:
        assert mine == pytest.approx(theirs, abs=1e-6)
    assert f.pri_pq_s == pytest.approx(r.pri_pq_s, rel=1e-12)
    assert f.pri_gq_s == pytest.approx(r.pri_gq_s, rel=1e-12)
    assert f.oee == pytest.approx(r.oee, rel=1e-12)
    assert f.mttr_s == pytest.approx(r.mttr_s)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), hours=st.integers(1, 30), cut=st.data())
def test_hour_sums_equal_tile_and_kpi_report_over_the_whole_period(
    tmp_path_factory: pytest.TempPathFactory, seed: int, hours: int, cut: st.DataObject
) -> None:
    h = make_history(seed, hours)
    clock = SimClock(T0 + (hours + 3) * HOUR_US)
    with SqliteStore.for_tests(tmp_path_factory.mktemp("kpi"), clock=clock) as store:
        write(store, "P01", h)
        now = T0 + hours * HOUR_US + 3 * HOUR_US
        while refresh(PLANT, store, now, machines=["P01"]).pending:
            pass
        rows = store.kpi_hours("P01", T0, T0 + hours * HOUR_US)
        assert [r.start_us for r in rows] == list(range(T0, T0 + hours * HOUR_US, HOUR_US))
        assert_matches(figures_of(P01, sum_rollups(rows)), reference(h, T0, T0 + hours * HOUR_US))
        # Any hour-aligned sub-period from the rollups, any other one partly live: the same answer.
        a = cut.draw(st.integers(0, hours - 1))
        b = cut.draw(st.integers(a + 1, hours))
        sub = sum_rollups(rows[a:b])
        assert_matches(figures_of(P01, sub), reference(h, sub.start_us, sub.end_us))
        lo = T0 + cut.draw(st.integers(-3600, hours * 3600 - 1)) * S
        hi = lo + cut.draw(st.integers(1, 40 * 3600)) * S
        (f,) = period_figures(PLANT, store, lo, hi, machines=["P01"], now_us=now)
        assert_matches(f, reference(h, lo, min(hi, now)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), cut=st.data())
def test_press_period_reads_what_the_state_engine_needs_around_any_period(
    tmp_path_factory: pytest.TempPathFactory, seed: int, cut: st.DataObject
) -> None:
    """The tiles' and reports' reading (``press_period``) gives the answer of the whole history for any
    period: a stop crossing the end is judged by its full length, a stop re-sent before the start counts
    from its first change and keeps the operator's reason."""
    h = make_history(seed, 12)
    with SqliteStore.for_tests(tmp_path_factory.mktemp("period")) as store:
        write(store, "P01", h)
        lo = T0 + cut.draw(st.integers(-1800, 12 * 3600 - 1)) * S
        hi = lo + cut.draw(st.integers(1, 6 * 3600)) * S
        period = press_period(store, P01, lo, hi)
        expected = reference(h, lo, hi)

        # Drill-down of a stop points at its first change; a running stretch re-sent before the start may
        # point at a repeat (nothing depends on its length or start).
        def seen(intervals: tuple[Interval, ...]) -> list[tuple[object, ...]]:
            return [
                (
                    i.start_us,
                    i.end_us,
                    i.category,
                    i.reason,
                    i.unqualified,
                    i.source if i.category != "running" else None,
                )
                for i in intervals
            ]

        assert seen(period.kpi.intervals) == seen(expected.intervals)
        assert (period.kpi.pq, period.kpi.gq, period.kpi.sq) == (expected.pq, expected.gq, expected.sq)


def test_press_period_does_not_lengthen_a_stop_past_now(store: SqliteStore) -> None:
    changes = (StateChange(T0, MachineState.RUNNING), StateChange(T0 + 3590 * S, MachineState.DOWN))
    store.append([Batch(IdempotencyKey("test", 2, 0), "P01", states=changes, digest=b"now")])
    end = T0 + HOUR_US
    # An hour later the stop has lasted over 5 minutes: a breakdown, although only 10 s of it are inside.
    later = press_period(store, P01, T0, end, now_us=end + HOUR_US)
    assert [(i.category.value, i.duration_s) for i in later.intervals] == [
        ("running", 3590.0),
        ("down", 10.0),
    ]
    # At the end itself nobody knows yet: 10 s so far is a micro-stop.
    now = press_period(store, P01, T0, end, now_us=end)
    assert now.intervals[-1].category.value == "micro_stop"


def test_day_buckets_use_day_sums_and_equal_the_reference(store: SqliteStore) -> None:
    h = make_history(7, 72)
    write(store, "P01", h)
    now = T0 + 75 * HOUR_US
    while refresh(PLANT, store, now, machines=["P01"]).pending:
        pass
    days = store.kpi_days(["P01"], T0, T0 + 72 * HOUR_US)
    # Paris midnights are 23:00 UTC: T0 is 01:00 local, so the complete local days are the two after.
    assert [(d.start_us - T0) // HOUR_US for d in days] == [23, 47]
    figures = period_figures(PLANT, store, T0, T0 + 72 * HOUR_US, machines=["P01"], by="day", now_us=now)
    assert [(f.start_us - T0) // HOUR_US for f in figures] == [0, 23, 47, 71]
    for f in figures:
        assert_matches(f, reference(h, f.start_us, f.end_us))
    whole = pool(figures)
    assert whole.failure_events >= sum(f.failure_events for f in figures) - len(figures)
    assert_matches(
        period_figures(PLANT, store, T0, T0 + 72 * HOUR_US, machines=["P01"], now_us=now)[0],
        reference(h, T0, T0 + 72 * HOUR_US),
    )


def closed_dirty(store: TimeSeriesStore, now_us: int) -> list[int]:
    """Dirty hours the refresh would take (marks on hours not closed yet wait for them to close)."""
    return [h for h in store.kpi_status("P01").dirty_hours if h + HOUR_US <= closed_until(now_us)]


def test_late_data_marks_hours_dirty_and_the_refresh_makes_them_right_again(store: SqliteStore) -> None:
    h = make_history(11, 10)
    write(store, "P01", h)
    now = T0 + 13 * HOUR_US
    refresh(PLANT, store, now)
    assert closed_dirty(store, now) == []
    # A breakdown found in a gateway's buffer, a stroke, a reason and scrap, all in hours rolled up.
    late = History(
        changes=[StateChange(T0 + 2 * HOUR_US + 10 * S, MachineState.DOWN, "breakdown.hydraulic")],
        strokes=[Stroke("P01", 99_999, T0 + 5 * HOUR_US + S, T0 + 5 * HOUR_US + 5 * S, good=False)],
        reasons=[StopReason("P01", h.changes[8].ts_us, "waiting.order", "lea", 0)],
        scrap=[ScrapDeclaration("P01", T0 + 7 * HOUR_US + 5 * S, 3, "crack", "lea")],
    )
    write(store, "P01", late)
    dirty = set(closed_dirty(store, now))
    assert {T0 + 2 * HOUR_US, T0 + 5 * HOUR_US, T0 + 7 * HOUR_US} <= dirty
    reason_hour = (h.changes[8].ts_us // HOUR_US) * HOUR_US
    assert reason_hour in dirty or reason_hour < T0
    full = History(
        sorted({c.ts_us: c for c in [*h.changes, *late.changes]}.values(), key=lambda c: c.ts_us),
        [*h.strokes, *late.strokes],
        [*h.reasons, *late.reasons],
        [*h.scrap, *late.scrap],
    )
    # Before the refresh, dirty hours are computed live: already exact.
    end = T0 + 10 * HOUR_US
    assert_matches(
        period_figures(PLANT, store, T0, end, machines=["P01"], now_us=now)[0], reference(full, T0, end)
    )
    assert refresh(PLANT, store, now).dirty == len(dirty)
    assert closed_dirty(store, now) == []
    rows = store.kpi_hours("P01", T0, end)
    assert len(rows) == 10
    assert_matches(figures_of(P01, sum_rollups(rows)), reference(full, T0, end))


def test_a_mark_made_after_the_refresh_read_its_token_survives_the_put(store: SqliteStore) -> None:
    h = make_history(3, 4)
    write(store, "P01", h)
    now = T0 + 6 * HOUR_US
    refresh(PLANT, store, now)
    status = store.kpi_status("P01")
    row = store.kpi_hours("P01", T0, T0 + HOUR_US)[0]
    store.record_scrap(ScrapDeclaration("P01", T0 + 60 * S, 1, "crack", "lea"))  # after the token was read
    store.put_kpi_hours([row], token=status.token)  # figures computed without that declaration
    assert T0 in store.kpi_status("P01").dirty_hours
    assert store.kpi_hours("P01", T0, T0 + HOUR_US) == []  # dirty hours are not served


def test_hours_close_once_the_micro_stop_threshold_has_passed(store: SqliteStore) -> None:
    # A stop begun 2 min before 01:00 and still open: at 01:04 it may still be a micro-stop.
    store.append(
        [
            Batch(
                IdempotencyKey("t", 1, 1),
                "P01",
                states=(
                    StateChange(T0, MachineState.RUNNING),
                    StateChange(T0 + HOUR_US - 120 * S, MachineState.IDLE),
                ),
                digest=b"x",
            )
        ]
    )
    refresh(PLANT, store, T0 + HOUR_US + 240 * S)
    assert store.kpi_status("P01").rolled_until_us is None
    refresh(PLANT, store, T0 + HOUR_US + 300 * S)
    (row,) = store.kpi_hours("P01", T0, T0 + HOUR_US)
    assert row.idle_us == 120 * S and row.micro_stop_us == 0  # 5 min in: no longer a micro-stop


def test_energy_is_mean_power_times_time_and_per_good_part(store: SqliteStore) -> None:
    ts = np.arange(T0, T0 + 2 * HOUR_US, S, dtype=np.int64)
    power = np.where(ts < T0 + HOUR_US, 10.0, 20.0)
    strokes = tuple(Stroke("P01", n, T0 + n * 60 * S, T0 + n * 60 * S + S, good=True) for n in range(100))
    store.append(
        [
            Batch(
                IdempotencyKey("t", 1, 1),
                "P01",
                samples=(SampleBlock("motor_power", ts, power),),
                states=(StateChange(T0, MachineState.RUNNING),),
                strokes=strokes,
                digest=b"e",
            )
        ]
    )
    refresh(PLANT, store, T0 + 3 * HOUR_US)
    first, second = store.kpi_hours("P01", T0, T0 + 2 * HOUR_US)
    assert (first.energy_kwh, second.energy_kwh) == pytest.approx((10.0, 20.0))
    (f,) = period_figures(PLANT, store, T0 + HOUR_US // 2, T0 + 2 * HOUR_US, machines=["P01"])
    assert f.energy_kwh == pytest.approx(5.0 + 20.0)  # half an hour live at 10 kW, then a rolled hour
    assert f.energy_per_good_part_kwh == pytest.approx(25.0 / f.gq)
    (g,) = period_figures(PLANT, store, T0, T0 + HOUR_US, machines=["P02"])
    assert g.energy_kwh is None and g.energy_per_good_part_kwh is None and g.oee is None
    # Past the 1-minute rollups' retention, the hourly ones give the same energy.
    store.apply_retention(T0 + 3 * 86_400 * S, RetentionPolicy.forever(rollup_1m_days=1))
    assert store.series("P01", "motor_power", T0, T0 + HOUR_US, Resolution.MINUTE).ts_us.size == 0
    (old,) = compute_rollups(store, P01, T0, T0 + HOUR_US)
    assert old.energy_kwh == pytest.approx(10.0)


def test_pooling_is_a_ratio_of_sums(store: SqliteStore) -> None:
    for machine, seed in (("P01", 1), ("P02", 2)):
        write(store, machine, make_history(seed, 5, machine))
    now = T0 + 8 * HOUR_US
    refresh(PLANT, store, now)
    a, b = period_figures(PLANT, store, T0, T0 + 5 * HOUR_US, now_us=now)
    both = pool([a, b])
    assert (a.machine, b.machine, both.machine) == ("P01", "P02", None)
    assert both.pq == a.pq + b.pq and both.pbt_s == pytest.approx(a.pbt_s + b.pbt_s)
    assert both.oee is None  # P02 has no target cycle: no OEE rather than a wrong one
    assert both.availability == pytest.approx((a.running_s + b.running_s) / (a.pbt_s + b.pbt_s))
    assert PeriodFigures.pooled([a]) == replace(a, downtime_by_reason=dict(a.downtime_by_reason))


def test_bad_arguments_are_refused(store: SqliteStore) -> None:
    with pytest.raises(NotFound):
        period_figures(PLANT, store, T0, T0 + HOUR_US, machines=["P99"])
    with pytest.raises(BadRequest):
        period_figures(PLANT, store, T0, T0 + HOUR_US, by="week")
    assert period_figures(PLANT, store, T0, T0) == []


def test_hour_buckets_cover_the_period(store: SqliteStore) -> None:
    write(store, "P01", make_history(5, 3))
    got = period_figures(PLANT, store, T0 + 30 * 60 * S, T0 + 3 * HOUR_US, machines=["P01"], by="hour")
    assert [(f.start_us - T0) // (60 * S) for f in got] == [30, 60, 120]
    assert sum(f.pot_s for f in got) == pytest.approx(2.5 * 3600)


def test_data_for_the_running_hour_marks_nothing(tmp_path: Path) -> None:
    now = T0 + 10 * HOUR_US + 600 * S
    with SqliteStore.for_tests(tmp_path, clock=SimClock(now)) as live:
        live.append(
            [Batch(IdempotencyKey("t", 1, 1), "P01", states=(StateChange(T0, MachineState.RUNNING),))]
        )
        refresh(PLANT, live, now)
        status = live.kpi_status("P01")
        assert status.rolled_until_us == T0 + 10 * HOUR_US
        stroke = Stroke("P01", 1, now - 9 * S, now - S, good=True)
        states = (StateChange(now - 2 * S, MachineState.IDLE),)
        live.append([Batch(IdempotencyKey("t", 1, 2), "P01", strokes=(stroke,), states=states)])
        assert live.kpi_status("P01") == status  # ingest at the edge of time costs no invalidation


def test_declared_scrap_is_capped_over_the_period_not_hour_by_hour(store: SqliteStore) -> None:
    # 100 good parts an hour for three hours; 250 found cracked, declared in the last hour.
    strokes = tuple(Stroke("P01", n, T0 + n * 36 * S, T0 + n * 36 * S + 9 * S, good=True) for n in range(300))
    store.append(
        [
            Batch(
                IdempotencyKey("t", 1, 1),
                "P01",
                strokes=strokes,
                states=(StateChange(T0, MachineState.RUNNING),),
            )
        ]
    )
    declared = ScrapDeclaration("P01", T0 + 2 * HOUR_US + 60 * S, 250, "crack at inspection", "lea")
    store.record_scrap(declared)
    now = T0 + 4 * HOUR_US
    refresh(PLANT, store, now)
    (f,) = period_figures(PLANT, store, T0, T0 + 3 * HOUR_US, machines=["P01"], now_us=now)
    whole = kpi_report(
        tile([StateChange(T0, MachineState.RUNNING)], [], T0, T0 + 3 * HOUR_US),
        strokes,
        9.0,
        declarations=[declared],
    )
    assert (f.gq, f.sq, f.declared) == (whole.gq, whole.sq, 250) == (50, 250, 250)
    last = period_figures(PLANT, store, T0 + 2 * HOUR_US, T0 + 3 * HOUR_US, machines=["P01"], now_us=now)[0]
    assert (last.gq, last.sq) == (0, 100)  # within its own hour, capped at that hour's good parts


# --- pooled figures: the store's day pools against pool() of the per-machine figures --------------------

P03 = Machine("P03", "Presse 3", "L1", signals=(POWER,), target_cycle_s=12.0)
PLANT3 = Plant(Site("s", "Site"), (Area("A", "A"),), (Line("L1", "L1", "A"),), (P01, P02, P03))
TIMES = (
    "running_s",
    "idle_s",
    "micro_stop_s",
    "down_s",
    "planned_stop_s",
    "setup_s",
    "no_order_s",
    "unknown_s",
)
RATIOS = (
    "pri_pq_s",
    "pri_gq_s",
    "energy_kwh",
    "availability",
    "effectiveness",
    "quality_ratio",
    "oee",
    "good_per_planned_hour",
    "scrap_rate",
    "energy_per_good_part_kwh",
    "mttr_s",
    "mtbf_s",
)


def shifted(h: History, offset_us: int) -> History:
    """The same history ``offset_us`` later."""
    return History(
        [replace(c, ts_us=c.ts_us + offset_us) for c in h.changes],
        [replace(t, start_us=t.start_us + offset_us, end_us=t.end_us + offset_us) for t in h.strokes],
        [replace(r, stop_start_us=r.stop_start_us + offset_us, at_us=r.at_us + offset_us) for r in h.reasons],
        [replace(d, at_us=d.at_us + offset_us) for d in h.scrap],
    )


def pooled_by_hand(
    store: TimeSeriesStore,
    lo: int,
    hi: int,
    machines: list[str] | None,
    *,
    by: str | None,
    now: int,
    skip: bool,
) -> list[PeriodFigures]:
    """What the ROI view did before the pooled path: pool() of each bucket's per-machine figures."""
    buckets: dict[int, list[PeriodFigures]] = {}
    for f in period_figures(PLANT3, store, lo, hi, machines, by, now_us=now):
        kept = present(f) if skip else f
        if kept is not None:
            buckets.setdefault(f.start_us, []).append(kept)
    return [pool(buckets[a]) for a in sorted(buckets)]


def assert_same_pool(got: PeriodFigures, want: PeriodFigures) -> None:
    """Times and downtime to the microsecond, counts exactly, sums of floats and ratios to 1e-12."""
    assert (got.machine, got.machines, got.start_us, got.end_us) == (
        want.machine,
        want.machines,
        want.start_us,
        want.end_us,
    )
    counts = ("pq", "gq", "sq", "rq", "declared", "failure_events", "metered_gq")
    assert [getattr(got, c) for c in counts] == [getattr(want, c) for c in counts]
    assert [round(getattr(got, t) * S) for t in TIMES] == [round(getattr(want, t) * S) for t in TIMES]
    assert {k: round(v * S) for k, v in got.downtime_by_reason.items()} == {
        k: round(v * S) for k, v in want.downtime_by_reason.items()
    }
    for name in RATIOS:
        mine, theirs = getattr(got, name), getattr(want, name)
        assert (mine is None) == (theirs is None), name
        if mine is not None:
            assert mine == pytest.approx(theirs, rel=1e-12, abs=1e-12), name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), cut=st.data())
def test_pooled_figures_equal_pool_of_the_machines_figures_bucket_by_bucket(
    tmp_path_factory: pytest.TempPathFactory, seed: int, cut: st.DataObject
) -> None:
    """Three presses over four days and a bit: one without a target cycle, one metered part of the time
    (its other days read 0 kWh with parts made), one offline with no part for two days (a day sum the
    missing-data rule skips) then with scrap declared past its day's good parts; late data makes hours
    dirty after the refresh (days without a sum, figured from hours); "now" falls inside an hour."""
    rng = random.Random(seed)
    hours = 100
    now = T0 + hours * HOUR_US + rng.randint(60, 3599) * S
    with SqliteStore.for_tests(tmp_path_factory.mktemp("pool"), clock=SimClock(now)) as store:
        store.register_signals("P01", [POWER])
        store.register_signals("P03", [POWER])
        write(store, "P01", make_history(seed, hours, "P01"))
        write(store, "P02", make_history(seed + 1, hours, "P02"))
        late = shifted(make_history(seed + 2, hours - 60, "P03"), 60 * HOUR_US)
        late.changes.insert(0, StateChange(T0 - 2 * HOUR_US, MachineState.OFFLINE))
        late.scrap.append(ScrapDeclaration("P03", T0 + 75 * HOUR_US, 10**6, "crack", "lea"))
        write(store, "P03", late)
        ts = np.arange(T0 + 20 * HOUR_US, T0 + 50 * HOUR_US, 10 * S, dtype=np.int64)
        watts = np.where((ts // (600 * S)) % 2 == 0, 8.0, 2.5)
        samples = (SampleBlock("motor_power", ts, watts),)
        store.append([Batch(IdempotencyKey("power", 1, seed), "P01", samples=samples, digest=b"p")])
        while refresh(PLANT3, store, now).pending:
            pass
        dirty_at = T0 + rng.randint(0, hours - 2) * HOUR_US + 7 * S
        store.append(
            [
                Batch(
                    IdempotencyKey("late", 1, seed),
                    "P02",
                    strokes=(Stroke("P02", 10**6, dirty_at, dirty_at + S, True),),
                )
            ]
        )
        store.record_scrap(ScrapDeclaration("P01", dirty_at + 30 * HOUR_US, 5, "crack", "lea"))

        whole = (T0 - 2 * HOUR_US, T0 + 200 * HOUR_US)
        lo = T0 + cut.draw(st.integers(-2 * 3600, 60 * 3600)) * S
        hi = lo + cut.draw(st.integers(1, 110 * 3600)) * S
        for skip in (False, True):
            for machines in (None, ["P03", "P01"], ["P02"]):
                for a, b in (whole, (lo, hi)):
                    got = pooled_figures(PLANT3, store, a, b, machines, "day", now_us=now, skip_missing=skip)
                    want = pooled_by_hand(store, a, b, machines, by="day", now=now, skip=skip)
                    assert [f.start_us for f in got] == [f.start_us for f in want]
                    for g, w in zip(got, want, strict=True):
                        assert_same_pool(g, w)
        # Other buckets pool the per-machine figures.
        for by in (None, "hour"):
            got = pooled_figures(PLANT3, store, lo, min(hi, lo + 6 * HOUR_US), by=by, now_us=now)
            want = pooled_by_hand(store, lo, min(hi, lo + 6 * HOUR_US), None, by=by, now=now, skip=False)
            for g, w in zip(got, want, strict=True):
                assert_same_pool(g, w)


def test_pooled_days_come_from_the_stores_day_pools_with_the_rules_applied(store: SqliteStore) -> None:
    """The cases the property test relies on, made sure of: a skipped silent day sum, the cap of declared
    scrap past a day's good parts, zero energy with parts made counted as not metered."""
    store.register_signals("P03", [POWER])
    write(store, "P01", make_history(3, 72, "P01"))
    late = shifted(make_history(4, 24, "P03"), 48 * HOUR_US)
    late.changes.insert(0, StateChange(T0 - 2 * HOUR_US, MachineState.OFFLINE))
    late.scrap.append(ScrapDeclaration("P03", T0 + 50 * HOUR_US, 10**6, "crack", "lea"))
    write(store, "P03", late)
    now = T0 + 75 * HOUR_US
    while refresh(PLANT3, store, now).pending:
        pass
    day2 = T0 + 23 * HOUR_US, T0 + 47 * HOUR_US  # a whole Paris day, P03 offline all of it
    day3 = T0 + 47 * HOUR_US, T0 + 71 * HOUR_US
    pools = store.kpi_day_pools(["P01", "P03"], T0, T0 + 72 * HOUR_US, skip_missing=True)
    by_start = {p.start_us: p for p in pools}
    assert by_start[day2[0]].machines == ("P01", "P03") and by_start[day2[0]].pooled == ("P01",)
    assert by_start[day2[0]].energy_kwh is None  # 0 kWh (no power sent) with parts made: not metered
    kept = store.kpi_day_pools(["P01", "P03"], T0, T0 + 72 * HOUR_US)
    assert {p.start_us: p.pooled for p in kept}[day2[0]] == ("P01", "P03")
    assert {p.start_us: p.energy_kwh for p in kept}[day2[0]] == 0.0
    (p03,) = period_figures(PLANT3, store, *day3, ["P03"], now_us=now)
    assert p03.gq == 0 and p03.sq > 0 and p03.pri_gq_s == 0.0  # every good part declared scrap
    (both,) = pooled_figures(PLANT3, store, *day3, ["P01", "P03"], "day", now_us=now, skip_missing=True)
    assert_same_pool(both, pooled_by_hand(store, *day3, ["P01", "P03"], by="day", now=now, skip=True)[0])
    assert by_start[day3[0]].recounted_gq["P03"] == 0  # PRI·GQ recounted: target × 0 parts
