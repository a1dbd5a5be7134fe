"""Run rules: each rule fires exactly where its pattern completes, once per episode, with all its points;
plain-language texts in both languages; the in-control ARL of Western Electric 1–4 on individuals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cadence.analytics.spc.base import Point, Violation
from cadence.analytics.spc.rules import (
    ALL_RULES,
    LOCALES,
    NELSON,
    RULES,
    WESTERN_ELECTRIC,
    RuleChecker,
    check,
    explain,
)


def _points(values: list[float], center: float = 0.0, sigma: float = 1.0) -> list[Point]:
    """Points of a chart with limits at ±3σ, so that a value reads directly in sigmas when sigma is 1."""
    return [Point(i, v, center, center - 3 * sigma, center + 3 * sigma) for i, v in enumerate(values)]


def _found(rule: str, values: list[float]) -> list[tuple[int, tuple[int, ...]]]:
    return [(v.index, v.points) for v in check(_points(values), {rule})]


ALTERNATING_14 = [0.1, -0.1] * 7

# (rule, values, [(index where it fires, points involved)]): one hand-made sequence per rule.
FIRES = [
    ("we1", [0.0, 3.1, 0.0, -3.5, 3.2], [(1, (1,)), (3, (3,)), (4, (4,))]),
    ("nelson1", [0.0, 2.9, -3.01], [(2, (2,))]),
    ("we2", [0.5, 2.1, -0.5, 2.2, 0.0], [(3, (1, 2, 3))]),
    ("nelson5", [-0.5, -2.1, -2.2, 0.0], [(2, (1, 2))]),
    ("we3", [1.1, 1.2, 0.5, 1.3, 1.4, 0.0], [(4, (0, 1, 2, 3, 4))]),
    ("nelson6", [0.0, -1.1, -1.2, -1.3, 0.4, -1.4], [(5, (1, 2, 3, 4, 5))]),
    ("we4", [-0.2] + [0.1] * 8, [(8, (1, 2, 3, 4, 5, 6, 7, 8))]),
    ("nelson2", [0.3] + [-0.1] * 9, [(9, tuple(range(1, 10)))]),
    ("nelson3", [0.5, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5], [(6, (1, 2, 3, 4, 5, 6))]),
    ("nelson3", [0.0, 2.0, 1.5, 1.0, 0.0, -1.0, -2.5], [(6, (1, 2, 3, 4, 5, 6))]),
    ("nelson4", [0.0, 0.5, *ALTERNATING_14], [(15, tuple(range(2, 16)))]),  # 0.5 → 0.1 → -0.1: no alternation
    ("nelson7", [1.5] + [0.5, -0.5, 0.0] * 5, [(15, tuple(range(1, 16)))]),
    ("nelson8", [0.5] + [1.5, -1.5] * 4, [(8, tuple(range(1, 9)))]),
]

# (rule, values): near-misses that must not fire.
NEAR_MISSES = [
    ("we1", [2.99, -3.0, 3.0]),  # on the limit is not beyond it
    ("nelson1", [2.999, -2.999]),
    ("we2", [2.1, -2.2, -0.5, 2.3]),  # beyond 2σ but never twice on one side within 3
    ("we2", [2.1, 0.5, 0.5, 2.1]),  # twice on one side, but 4 points apart
    ("nelson5", [2.0, 2.0, 2.0]),  # on 2σ is not beyond it
    ("we3", [1.1, 1.2, 0.5, 0.9, 1.4, -1.5]),  # 3 of 5 only
    ("nelson6", [1.1, 1.2, -1.3, 1.4, 0.5]),  # 4 of 5 beyond 1σ, but on two sides
    ("we4", [0.1] * 7 + [0.0] + [0.1] * 7),  # a point on the centre line breaks the run
    ("nelson2", [0.1] * 8 + [-0.1] + [0.1] * 8),
    ("nelson3", [0.0, 0.1, 0.2, 0.3, 0.4, 0.4, 0.5, 0.6, 0.7]),  # a tie breaks the trend
    ("nelson3", [0.0, 0.1, 0.2, 0.3, 0.4, 0.2, 0.3]),
    ("nelson4", [*ALTERNATING_14[:13], 0.2]),  # 13 alternating, then up twice
    ("nelson7", [0.5, -0.5, 0.0] * 4 + [0.5, -0.5] + [1.5] + [0.5] * 14),  # 14 within, a point out, 14 within
    ("nelson8", [1.5, -1.5] * 3 + [1.2, 0.5, 1.5, -1.5]),  # 7 beyond 1σ, then one within
]


@pytest.mark.parametrize(("rule", "values", "expected"), FIRES)
def test_each_rule_fires_where_its_pattern_completes(
    rule: str, values: list[float], expected: list[tuple[int, tuple[int, ...]]]
) -> None:
    assert _found(rule, values) == expected


@pytest.mark.parametrize(("rule", "values"), NEAR_MISSES)
def test_a_near_miss_does_not_fire(rule: str, values: list[float]) -> None:
    assert _found(rule, values) == []


def test_every_rule_has_a_firing_sequence_and_a_near_miss() -> None:
    assert {rule for rule, *_ in FIRES} == ALL_RULES
    assert {rule for rule, _ in NEAR_MISSES} == ALL_RULES


def test_presets() -> None:
    assert frozenset({"we1", "we2", "we3", "we4"}) == WESTERN_ELECTRIC
    assert frozenset(f"nelson{k}" for k in range(1, 9)) == NELSON
    assert WESTERN_ELECTRIC | NELSON == ALL_RULES == frozenset(RULES)


def test_a_run_fires_once_then_again_only_after_it_breaks() -> None:
    values = [0.2] * 12 + [-0.1] + [0.3] * 9
    assert _found("nelson2", values) == [(8, tuple(range(9))), (21, tuple(range(13, 22)))]
    # A trend that reverses is a new run, sharing its turning point.
    up_down = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
    assert _found("nelson3", up_down) == [(5, (0, 1, 2, 3, 4, 5)), (11, (6, 7, 8, 9, 10, 11))]


def test_k_of_m_fires_once_per_episode() -> None:
    # Beyond 2σ for 5 points: one alarm; the pattern then lapses (a window of 3 without it) and returns.
    values = [2.5] * 5 + [0.0, 0.0, 0.0] + [2.5, 0.0, 2.5]
    assert _found("we2", values) == [(1, (0, 1)), (10, (8, 9, 10))]
    # Still held across the gap of one point: 2.5, 0, 2.5 is 2 of 3 again, so no new alarm.
    assert _found("we2", [2.5, 2.5, 0.0, 2.5, 0.0, 0.0]) == [(1, (0, 1))]
    # Switching sides is a new pattern.
    assert _found("we2", [2.5, 2.5, -2.5, -2.5]) == [(1, (0, 1)), (3, (2, 3))]


def test_rule_one_reports_every_point_beyond_the_limits() -> None:
    assert [i for i, _ in _found("we1", [3.5, 3.6, 3.7])] == [0, 1, 2]


def test_several_rules_at_one_point_come_in_table_order() -> None:
    values = [1.5] * 7 + [3.5]
    found = check(_points(values), WESTERN_ELECTRIC | NELSON)
    at_last = [v.rule for v in found if v.index == 7]
    assert at_last == ["we1", "we4", "nelson1", "nelson8"]
    assert all(v.points[-1] == v.index for v in found)


def test_zones_follow_variable_limits() -> None:
    # Same values, limits that differ point by point (p chart with variable n): zones come from each
    # point's own limits.
    wide = [Point(i, 2.5, 0.0, -6.0, 6.0) for i in range(3)]  # 1.25σ: not beyond 2σ
    narrow = [Point(i, 2.5, 0.0, -3.5, 3.5) for i in range(3)]  # 2.14σ
    assert check(wide, {"we2"}) == []
    assert check(narrow, {"we2"}) == [Violation("we2", 1, (0, 1))]
    mixed = [Point(0, 2.5, 0.0, -3.5, 3.5), Point(1, 2.5, 0.0, -6.0, 6.0), Point(2, 2.5, 0.0, -3.5, 3.5)]
    assert check(mixed, {"we2"}) == [Violation("we2", 2, (0, 1, 2))]


def test_points_on_a_side_without_limit_have_no_zone() -> None:
    # A p chart whose LCL does not exist: points below the centre still count for same-side runs, never
    # as beyond 1σ, and they break "within 1σ" runs.
    below = [Point(i, -0.5, 0.0, None, 3.0) for i in range(15)]
    assert [v.rule for v in check(below, NELSON)] == ["nelson2"]


def test_the_window_is_what_the_longest_selected_rule_needs() -> None:
    assert RuleChecker(NELSON).window == 15
    assert RuleChecker(WESTERN_ELECTRIC).window == 8
    assert RuleChecker({"we1"}).window == 1
    checker = RuleChecker(NELSON)
    for p in _points([0.1] * 100):
        checker.update(p)
    assert len(checker._last) == 15


def test_unknown_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="nelson9"):
        RuleChecker({"we1", "nelson9"})


@pytest.mark.parametrize("rule", sorted(ALL_RULES))
@pytest.mark.parametrize("locale", LOCALES)
def test_every_rule_is_explained_in_both_languages(rule: str, locale: str) -> None:
    length = RULES[rule].length
    violation = Violation(rule, 19, tuple(range(20 - length, 20)))
    text = explain(violation, locale)
    assert "20" in text
    if length > 1:
        assert f"{21 - length} " in text
    other = explain(violation, "en" if locale == "fr" else "fr")
    assert text != other


def test_explanation_wording_and_locale_tags() -> None:
    violation = Violation("nelson2", 19, tuple(range(11, 20)))
    fr = (
        "9 points de suite du même côté de la ligne centrale (points 12 à 20) : "
        "la moyenne du procédé a probablement changé."
    )
    en = (
        "9 points in a row on the same side of the centre line (points 12 to 20): "
        "the process mean has probably shifted."
    )
    assert explain(violation, "fr") == explain(violation, "fr_FR") == explain(violation) == fr
    assert explain(violation, "en") == explain(violation, "en-GB") == en
    assert explain(violation, "de") == fr  # French first


def test_in_control_arl_of_western_electric_rules_on_individuals() -> None:
    """docs/domain.md §3.6: 92.3 ± 0.6. Run lengths are roughly geometric, so their standard deviation is
    about the mean (≈ 92); 4,000 runs give a standard error of the mean of 92/√4000 ≈ 1.5, and ± 6 is
    4 standard errors: a correct rule set passes whatever the seed, while dropping a rule (WE 1–3 alone:
    ≈ 132; WE 1, 2, 4: ≈ 122, simulated) moves the mean far outside. About 370,000 points, ~2 s. The 3 %
    target of issue 5 needs ~ 40,000 runs: a benchmark's job, not a unit test's."""
    rng = np.random.default_rng(20261129)
    runs = 4_000
    lengths = np.zeros(runs)
    for r in range(runs):
        checker = RuleChecker(WESTERN_ELECTRIC)
        i = 0
        while not lengths[r : r + 1].any():
            for v in rng.standard_normal(256).tolist():
                i += 1
                if checker.update(Point(i, v, 0.0, -3.0, 3.0)):
                    lengths[r] = i
                    break
    arl = float(lengths.mean())
    assert abs(arl - 92.3) < 6.0, arl


def _reference(values: list[float], rule: str) -> list[tuple[int, tuple[int, ...]]]:
    """The rules read off the whole history at each point, the plain way (limits ±3, z = value): a pattern
    "holds" at i when the points ending at i show it; it fires where it holds and did not hold (on that
    side) at i − 1, except rule 1, which fires at every point beyond the limits."""

    def holds(i: int) -> tuple[object, int]:
        """(the pattern's key, or None when it does not hold; its length in points)."""
        if rule in ("we1", "nelson1"):
            return (True, 1) if abs(values[i]) > 3 else (None, 0)
        if rule in ("we2", "we3", "nelson5", "nelson6"):
            k, m, z = {"we2": (2, 3, 2), "nelson5": (2, 3, 2), "we3": (4, 5, 1), "nelson6": (4, 5, 1)}[rule]
            start = max(0, i - m + 1)
            for side in (1, -1):
                beyond = [j for j in range(start, i + 1) if side * values[j] > z]
                if len(beyond) >= k:
                    return side, i - beyond[0] + 1
            return None, 0
        length = {"we4": 8, "nelson2": 9, "nelson3": 6, "nelson4": 14, "nelson7": 15, "nelson8": 8}[rule]
        if i + 1 < length:
            return None, 0
        run = values[i + 1 - length : i + 1]
        diffs = [b - a for a, b in itertools.pairwise(run)]
        ok = {
            "we4": all(v > 0 for v in run) or all(v < 0 for v in run),
            "nelson2": all(v > 0 for v in run) or all(v < 0 for v in run),
            "nelson3": all(d > 0 for d in diffs) or all(d < 0 for d in diffs),
            "nelson4": all(d != 0 for d in diffs) and all(a * b < 0 for a, b in itertools.pairwise(diffs)),
            "nelson7": all(abs(v) <= 1 for v in run),
            "nelson8": all(abs(v) > 1 for v in run),
        }[rule]
        return (True, length) if ok else (None, 0)

    found = []
    before: object = None
    for i in range(len(values)):
        key, length = holds(i)
        if key is not None and (rule in ("we1", "nelson1") or key != before):
            found.append((i, tuple(range(i - length + 1, i + 1))))
        before = key
    return found


@pytest.mark.parametrize("rule", sorted(ALL_RULES))
def test_streaming_rules_agree_with_a_plain_reading_of_the_history(rule: str) -> None:
    # Values on a coarse grid, so that ties and points on zone boundaries happen often.
    rng = np.random.default_rng(5)
    grid = np.arange(-3.5, 3.75, 0.25)
    for trial in range(200):
        size = int(rng.integers(1, 60))
        # Narrow the spread now and then, so that long runs inside 1σ occur too.
        spread = 0.4 if trial % 3 == 0 else 1.5
        values = [float(grid[np.abs(grid - v).argmin()]) for v in rng.normal(0, spread, size)]
        if trial % 5 == 0:  # runs and trends, which random values rarely give
            values = sorted(values) if trial % 2 else [abs(v) for v in values]
        elif trial % 7 == 0:  # zigzags, for Nelson 4
            values = [abs(v) if j % 2 else -abs(v) for j, v in enumerate(values)]
        assert _found(rule, values) == _reference(values, rule), values
