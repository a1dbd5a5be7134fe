"""The state engine: tiling, micro-stops, unqualified stops, stroke gaps and the period's edges."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.analytics.intervals import Category, Interval, durations_by_category, tile
from cadence.domain.states import MachineState, StateChange

S = 1_000_000  # µs per second


def _time_in_states(changes: list[tuple[int, str]], start: int, end: int) -> dict[str, float]:
    """Time spent in each state within ``[start, end)`` from ``(time, state)`` changes in time order; the
    time before the first change is not attributed. The plain arithmetic the engine is checked against."""
    totals: dict[str, float] = {}
    bounds = [ts for ts, _ in changes[1:]] + [end] if changes else []
    for (ts, state), next_ts in zip(changes, bounds, strict=True):
        begin, stop = max(ts, start), min(next_ts, end)
        if stop > begin:
            totals[state] = totals.get(state, 0) + (stop - begin)
    return totals


def _spans(intervals: list[Interval]) -> list[tuple[float, float, Category]]:
    return [(i.start_us / S, i.end_us / S, i.category) for i in intervals]


changes_st = st.lists(
    st.builds(
        StateChange,
        ts_us=st.integers(-2_000 * S, 12_000 * S),
        state=st.sampled_from(list(MachineState)),
        reason=st.one_of(st.none(), st.sampled_from(["breakdown.die", "waiting.order", "setup.x", "r"])),
    ),
    max_size=30,
)
strokes_st = st.lists(
    st.tuples(st.integers(-2_000 * S, 12_000 * S), st.integers(0, 60 * S)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    changes=changes_st,
    strokes=strokes_st,
    start=st.integers(-1_000 * S, 5_000 * S),
    length=st.integers(0, 6_000 * S),
    micro_s=st.floats(0, 1_000),
    gap_s=st.one_of(st.none(), st.floats(0, 500)),
)
def test_intervals_tile_the_period_exactly(
    *,
    changes: list[StateChange],
    strokes: list[tuple[int, int]],
    start: int,
    length: int,
    micro_s: float,
    gap_s: float | None,
) -> None:
    end = start + length
    out = tile(changes, strokes, start, end, micro_stop_s=micro_s, max_stroke_gap_s=gap_s)
    if length == 0:
        assert out == []
        return
    assert out[0].start_us == start
    assert out[-1].end_us == end
    assert all(i.end_us > i.start_us for i in out)
    assert all(a.end_us == b.start_us for a, b in pairwise(out))
    assert sum(i.end_us - i.start_us for i in out) == length
    # Each interval stays true to the reported state it came from: regrouped by that state, the time
    # matches plain state arithmetic (_time_in_states, written independently of the engine).
    ordered = sorted(changes, key=lambda c: c.ts_us)
    expected = _time_in_states([(c.ts_us, c.state.value) for c in ordered], start, end)
    by_source: dict[str, float] = {}
    for i in out:
        if i.source is not None:
            by_source[i.source.state.value] = by_source.get(i.source.state.value, 0) + i.end_us - i.start_us
        else:
            assert i.category is Category.UNKNOWN
        if i.category is Category.MICRO_STOP:
            assert i.duration_s < micro_s and not i.unqualified
        if i.inferred:
            assert i.source is not None and i.source.state is MachineState.RUNNING
            assert gap_s is not None and i.duration_s > 0
    assert by_source == {k: v for k, v in expected.items() if v > 0}


def test_micro_stop_threshold_is_strict() -> None:
    changes = [
        StateChange(0, MachineState.RUNNING),
        StateChange(100 * S, MachineState.IDLE),
        StateChange(400 * S, MachineState.RUNNING),  # exactly 300 s: a stop, not a micro-stop
        StateChange(500 * S, MachineState.DOWN, "breakdown.die"),
        StateChange(800 * S - 1, MachineState.RUNNING),  # 1 µs short of 300 s: a micro-stop
    ]
    out = tile(changes, [], 0, 1_000 * S)
    assert [i.category for i in out] == [
        Category.RUNNING,
        Category.IDLE,
        Category.RUNNING,
        Category.MICRO_STOP,
        Category.RUNNING,
    ]
    assert out[1].unqualified and not out[3].unqualified
    assert out[3].reason == "breakdown.die" and out[3].source == changes[3]
    wider = tile(changes, [], 0, 1_000 * S, micro_stop_s=301)
    assert wider[1].category is Category.MICRO_STOP


def test_unqualified_stops_wait_for_a_reason() -> None:
    changes = [
        StateChange(0, MachineState.DOWN),
        StateChange(600 * S, MachineState.SETUP),
        StateChange(1_200 * S, MachineState.SETUP, "setup.die_change"),
        StateChange(1_800 * S, MachineState.PLANNED_STOP, "planned.break"),
        StateChange(2_400 * S, MachineState.RUNNING),
    ]
    out = tile(changes, [], 0, 3_000 * S)
    assert [(i.category, i.unqualified) for i in out] == [
        (Category.DOWN, True),
        (Category.SETUP, True),
        (Category.SETUP, False),
        (Category.PLANNED_STOP, False),
        (Category.RUNNING, False),
    ]


def test_no_order_reason_and_its_children() -> None:
    changes = [
        StateChange(0, MachineState.IDLE, "waiting.order"),
        StateChange(600 * S, MachineState.IDLE, "waiting.order.release"),
        StateChange(1_200 * S, MachineState.IDLE, "waiting.orderly"),
    ]
    out = tile(changes, [], 0, 1_800 * S)
    assert [i.category for i in out] == [Category.NO_ORDER, Category.NO_ORDER, Category.IDLE]


def test_no_data_is_unknown() -> None:
    assert _spans(tile([], [], 0, 60 * S)) == [(0, 60, Category.UNKNOWN)]


def test_changes_after_the_period_leave_it_unknown() -> None:
    out = tile([StateChange(100 * S, MachineState.RUNNING)], [], 0, 60 * S)
    assert _spans(out) == [(0, 60, Category.UNKNOWN)]


def test_unknown_until_the_first_change_and_offline_is_unknown() -> None:
    changes = [StateChange(10 * S, MachineState.RUNNING), StateChange(20 * S, MachineState.OFFLINE)]
    out = tile(changes, [], 0, 60 * S)
    assert _spans(out) == [(0, 10, Category.UNKNOWN), (10, 20, Category.RUNNING), (20, 60, Category.UNKNOWN)]
    assert out[0].source is None and out[2].source == changes[1]


def test_one_change_before_the_period_holds_throughout() -> None:
    change = StateChange(-3_600 * S, MachineState.SETUP, "setup.die_change")
    out = tile([change], [], 0, 60 * S)
    assert out == [Interval(0, 60 * S, Category.SETUP, "setup.die_change", change)]


def test_stop_length_counts_beyond_the_period_edges() -> None:
    # 200 s of this stop fall inside the period, but it lasted 400 s: not a micro-stop.
    changes = [
        StateChange(-200 * S, MachineState.DOWN, "breakdown.die"),
        StateChange(200 * S, MachineState.RUNNING),
    ]
    assert tile(changes, [], 0, 300 * S)[0].category is Category.DOWN
    # Closed just after the period's end, a short stop is a micro-stop even though the period cuts it.
    changes = [StateChange(250 * S, MachineState.IDLE), StateChange(320 * S, MachineState.RUNNING)]
    assert tile(changes, [], 0, 300 * S)[-1].category is Category.MICRO_STOP
    # Still open at the end: measured to the end of the period.
    assert tile(changes[:1], [], 0, 300 * S)[-1].category is Category.MICRO_STOP


def test_duplicate_timestamps_keep_the_last_and_repeats_merge() -> None:
    changes = [
        StateChange(100 * S, MachineState.IDLE, "waiting.operator"),
        StateChange(0, MachineState.RUNNING),
        StateChange(100 * S, MachineState.DOWN, "breakdown.die"),
        StateChange(250 * S, MachineState.DOWN, "breakdown.die"),  # same stop re-sent
        StateChange(500 * S, MachineState.RUNNING),
    ]
    out = tile(changes, [], 0, 600 * S)
    assert _spans(out) == [
        (0, 100, Category.RUNNING),
        (100, 500, Category.DOWN),
        (500, 600, Category.RUNNING),
    ]
    assert out[1].source == changes[2]


def test_running_without_strokes_becomes_an_inferred_stop() -> None:
    strokes = [(t * S, (t + 8) * S) for t in (0, 12, 24, 424, 436)]
    out = tile([StateChange(0, MachineState.RUNNING)], strokes, 0, 460 * S, max_stroke_gap_s=36)
    assert _spans(out) == [(0, 32, Category.RUNNING), (32, 424, Category.IDLE), (424, 460, Category.RUNNING)]
    assert out[1].inferred and out[1].unqualified and out[1].reason is None
    # A gap of exactly the allowed length is still running; without a gap setting, the state is trusted.
    strokes = [(0, 8 * S), (44 * S, 52 * S)]
    assert len(tile([StateChange(0, MachineState.RUNNING)], strokes, 0, 52 * S, max_stroke_gap_s=36)) == 1
    assert len(tile([StateChange(0, MachineState.RUNNING)], [], 0, 460 * S)) == 1


def test_durations_by_category_and_bad_arguments() -> None:
    changes = [StateChange(0, MachineState.RUNNING), StateChange(90 * S, MachineState.IDLE)]
    d = durations_by_category(tile(changes, [], -10 * S, 100 * S))
    assert d[Category.UNKNOWN] == 10 and d[Category.RUNNING] == 90 and d[Category.MICRO_STOP] == 10
    assert sum(d.values()) == 110 and set(d) == set(Category)
    with pytest.raises(ValueError, match="before it starts"):
        tile([], [], 10, 0)
    with pytest.raises(ValueError, match="micro_stop_s"):
        tile([], [], 0, 10, micro_stop_s=-1)
