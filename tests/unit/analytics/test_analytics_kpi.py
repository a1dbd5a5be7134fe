"""ISO 22400-2 KPIs: the worked example of docs/domain.md §2.5 built as data, MTBF/MTTR by hand."""

from __future__ import annotations

import pytest

from cadence.analytics.intervals import Category, Interval, tile
from cadence.analytics.kpi import kpi_report
from cadence.domain.cycles import Stroke
from cadence.domain.operator import ScrapDeclaration
from cadence.domain.states import MachineState, StateChange

S = 1_000_000
MIN = 60 * S


def _shift() -> tuple[list[StateChange], list[Stroke]]:
    """The 8-hour shift of docs/domain.md §2.5 as state changes and 1,800 strokes."""
    stops: list[tuple[int, MachineState, str | None]] = [
        (20 * MIN, MachineState.PLANNED_STOP, "planned.break"),
        (18 * MIN, MachineState.DOWN, "breakdown.hydraulic"),  # hose leak
        (10 * MIN, MachineState.PLANNED_STOP, "planned.maintenance"),
        (7 * MIN, MachineState.DOWN, "breakdown.electrical"),  # proximity sensor
    ]
    # 15 min of minor stoppages: ten of 90 s, unexplained, reported as idle or down.
    stops += [(90 * S, MachineState.IDLE if k % 2 else MachineState.DOWN, None) for k in range(10)]
    changes = [
        StateChange(0, MachineState.IDLE, "waiting.order"),  # ADOT 10 min
        StateChange(10 * MIN, MachineState.SETUP, "setup.die_change"),  # AUST 20 min
    ]
    t = 30 * MIN
    running: list[tuple[int, int]] = []
    for k, (length, state, reason) in enumerate([*stops, (0, MachineState.RUNNING, None)]):
        block = 30 * MIN if k == len(stops) else 25 * MIN  # 14 × 25 + 30 = 380 min of APT
        changes.append(StateChange(t, MachineState.RUNNING))
        running.append((t, t + block))
        t += block
        if length:
            changes.append(StateChange(t, state, reason))
            t += length
    assert t == 480 * MIN
    # Strokes evenly over the running time (one every 38/3 s), 8 s long; every 50th is scrap, every
    # 100th (offset 25) is rework: SQ 36, RQ 18.
    strokes: list[Stroke] = []
    for j in range(1_800):
        offset = j * 38 * S // 3
        for begin, end in running:
            if offset < end - begin:
                start = begin + offset
                break
            offset -= end - begin
        good = j % 50 != 0 and j % 100 != 25
        reason = None if good else ("crack" if j % 50 == 0 else "rework.burr")
        strokes.append(Stroke("P01", j + 1, start, start + 8 * S, good=good, scrap_reason=reason))
    # Shuffle the order the changes arrive in: the engine sorts them.
    return changes[::-1], strokes


def test_worked_example_of_the_domain_notes() -> None:
    changes, strokes = _shift()
    spans = tile(changes, [(s.start_us, s.end_us) for s in strokes], 0, 480 * MIN, max_stroke_gap_s=36)
    r = kpi_report(spans, strokes, pri_s=12)

    assert (r.pot_s, r.pdot_s, r.pbt_s) == (480 * 60, 30 * 60, 450 * 60)
    assert (r.adot_s, r.aust_s, r.malfunction_s, r.micro_stop_s) == (600, 1_200, 1_500, 900)
    assert (r.adet_s, r.aubt_s, r.apt_s, r.aupt_s, r.unknown_s) == (2_400, 440 * 60, 380 * 60, 400 * 60, 0)
    assert (r.pq, r.gq, r.sq, r.rq) == (1_800, 1_746, 36, 18)
    assert not any(i.inferred for i in r.intervals)

    assert round(r.availability, 6) == 0.844444
    assert round(r.effectiveness, 6) == 0.947368
    assert round(r.quality_ratio, 6) == 0.97
    assert round(r.oee, 6) == 0.776
    assert r.oee == pytest.approx(r.availability * r.effectiveness * r.quality_ratio, rel=1e-12)
    assert round(r.nee, 6) == 0.816842
    assert round(r.allocation_efficiency, 6) == 0.977778
    assert round(r.utilization_efficiency, 6) == 0.863636
    assert round(r.technical_efficiency, 6) == 0.904762
    assert round(r.setup_rate, 6) == 0.05
    assert (round(r.scrap_ratio, 6), round(r.rework_ratio, 6)) == (0.02, 0.01)
    assert r.failure_events == 2 and r.mttr_s == 12.5 * 60
    assert r.mtbf_s == 200 * 60 and r.mtbf_operating_s == 207.5 * 60
    assert round(r.teep(24 * 3600), 4) == 0.2425
    assert r.throughput_per_h == 240.0
    assert not r.effectiveness_exceeds_plan

    # Nakajima / TRS: micro-stops move from availability to performance; the product is unchanged.
    assert round(r.trs_availability, 6) == 0.877778
    assert round(r.trs_performance, 6) == 0.911392
    assert round(r.trs_quality, 6) == 0.97
    assert r.trs == r.oee
    assert r.trs_availability * r.trs_performance * r.trs_quality == pytest.approx(r.oee, rel=1e-12)


def test_mtbf_and_mttr_by_hand() -> None:
    changes = [
        StateChange(0, MachineState.RUNNING),
        StateChange(300 * S, MachineState.DOWN, "breakdown.hydraulic"),
        StateChange(400 * S, MachineState.DOWN, "breakdown.electrical"),  # same failure, re-qualified
        StateChange(450 * S, MachineState.RUNNING),
        StateChange(800 * S, MachineState.DOWN, "breakdown.die"),
        StateChange(860 * S, MachineState.RUNNING),
        StateChange(880 * S, MachineState.IDLE),  # 10 s: a micro-stop
        StateChange(890 * S, MachineState.RUNNING),
    ]
    r = kpi_report(tile(changes, [], 0, 1_000 * S, micro_stop_s=30), [], pri_s=1)
    # FE 2; TTR 150 + 60 s; APT 300 + 350 + 20 + 110 = 780 s; AUBT = 780 + 210 + 10 = 1,000 s.
    assert (r.failure_events, r.ttr_s, r.apt_s, r.micro_stop_s) == (2, 210, 780, 10)
    assert r.mttr_s == 105
    assert r.mtbf_s == 390  # AUPT / FE
    assert r.mtbf_operating_s == 395  # (AUBT − ΣTTR) / FE


def test_no_failure_means_no_mtbf() -> None:
    r = kpi_report([Interval(0, 60 * S, Category.RUNNING)], [], pri_s=1)
    assert r.mtbf_s is None and r.mttr_s is None and r.mtbf_operating_s is None
    assert (r.effectiveness, r.quality_ratio, r.oee) == (0.0, 0.0, 0.0)


def test_counts_strokes_ending_in_the_period_with_pri_per_part() -> None:
    spans = [Interval(0, 100 * S, Category.RUNNING), Interval(100 * S, 200 * S, Category.UNKNOWN)]
    strokes = [
        Stroke("P01", 1, -5 * S, -1, good=True, part="A"),  # ended before: not counted
        Stroke("P01", 2, -5 * S, 3 * S, good=True, part="A"),
        Stroke("P01", 3, 10 * S, 20 * S, good=True, part="B"),
        Stroke("P01", 4, 30 * S, 40 * S, good=False, part="B", scrap_reason="rework"),
        Stroke("P01", 5, 195 * S, 200 * S, good=True, part="A"),  # ends at the period's end: next period
    ]
    r = kpi_report(spans, strokes, pri_s={"A": 10, "B": 40})
    assert [s.n for s in r.strokes] == [2, 3, 4]
    assert (r.pq, r.gq, r.sq, r.rq) == (3, 2, 0, 1)
    assert (r.pri_pq_s, r.pri_gq_s) == (90, 50)
    # Unknown time is a loss: it stays in PBT but not in APT.
    assert (r.unknown_s, r.availability, r.oee) == (100, 0.5, 0.25)
    assert r.effectiveness == 0.9
    with pytest.raises(ValueError, match="part 'C'"):
        kpi_report(spans, [Stroke("P01", 9, 0, S, good=True, part="C")], pri_s={"A": 10})


def test_effectiveness_above_plan_is_flagged_not_clipped() -> None:
    strokes = [Stroke("P01", n, n * S, n * S + 1, good=True) for n in range(60)]
    r = kpi_report([Interval(0, 60 * S, Category.RUNNING)], strokes, pri_s=2)
    assert r.effectiveness == 2.0 and r.effectiveness_exceeds_plan


def test_refuses_empty_or_gapped_intervals() -> None:
    with pytest.raises(ValueError, match="empty"):
        kpi_report([], [], pri_s=1)
    with pytest.raises(ValueError, match="contiguous"):
        kpi_report([Interval(0, 10, Category.RUNNING), Interval(20, 30, Category.RUNNING)], [], pri_s=1)


def test_declared_scrap_moves_good_parts_to_scrap_and_lowers_the_oee() -> None:
    changes, strokes = _shift()
    spans = tile(changes, [(s.start_us, s.end_us) for s in strokes], 0, 480 * MIN, max_stroke_gap_s=36)
    before = kpi_report(spans, strokes, pri_s=12)
    found = [
        ScrapDeclaration("P01", 100 * MIN, 30, "crack at inspection", "lea"),
        ScrapDeclaration("P01", 300 * MIN, 24, "burr", "lea"),
        ScrapDeclaration("P01", 480 * MIN, 999, "after the period: not counted", "lea"),
    ]
    r = kpi_report(spans, strokes, pri_s=12, declarations=found)
    assert (r.pq, r.gq, r.sq, r.rq) == (1_800, 1_746 - 54, 36 + 54, 18)
    assert (r.declared, r.declared_sq, r.declared_uncounted) == (54, 54, 0)
    assert r.declarations == tuple(found[:2])
    assert r.oee == pytest.approx(12 * 1_692 / (450 * 60), rel=1e-12)
    assert r.oee < before.oee and r.availability == before.availability
    assert r.effectiveness == before.effectiveness  # PQ is unchanged: the parts were made


def test_declared_scrap_never_makes_good_quantity_negative() -> None:
    spans = [Interval(0, 600 * S, Category.RUNNING)]
    strokes = [Stroke("P01", n, n * 12 * S, n * 12 * S + 8 * S, good=n % 5 != 0) for n in range(40)]
    press_good = sum(s.good for s in strokes)
    r = kpi_report(spans, strokes, pri_s=12, declarations=[ScrapDeclaration("P01", 5 * S, 100, "x", "lea")])
    assert (r.gq, r.sq, r.pq) == (0, 40, 40)
    assert (r.declared, r.declared_sq, r.declared_uncounted) == (100, press_good, 100 - press_good)
    assert r.oee == 0.0 and r.quality_ratio == 0.0


def test_declared_scrap_with_a_pri_per_part_shrinks_the_good_time_in_proportion() -> None:
    spans = [Interval(0, 600 * S, Category.RUNNING)]
    strokes = [
        Stroke("P01", n, n * 10 * S, n * 10 * S + 5 * S, good=True, part="A" if n % 2 else "B")
        for n in range(40)
    ]
    r = kpi_report(
        spans, strokes, pri_s={"A": 10, "B": 20}, declarations=[ScrapDeclaration("P01", 0, 10, "x", "lea")]
    )
    assert r.pri_gq_s == pytest.approx((20 * 10 + 20 * 20) * 30 / 40)
    assert r.pri_pq_s == 20 * 10 + 20 * 20
