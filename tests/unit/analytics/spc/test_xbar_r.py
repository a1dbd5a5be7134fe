"""X̄-R chart: qcc's published piston-ring limits, the textbook phase II signals, iterative phase I."""

from __future__ import annotations

import math

import pytest
from qcc_data import PUBLISHED, matches_printed, pistonrings

from cadence.analytics.spc.base import Convention
from cadence.analytics.spc.constants import d2, factors
from cadence.analytics.spc.xbar_r import PartLimits, XbarRChart, XbarRLimits, phase_one

GROUPS = pistonrings()
TRIAL = [g.values for g in GROUPS if g.trial]


def _assert_printed(
    part: PartLimits, key: str, names: tuple[str, ...] = ("center", "sigma", "lcl", "ucl")
) -> None:
    printed = PUBLISHED[key]
    for name in names:
        assert matches_printed(getattr(part, name), getattr(printed, name)), (key, name, part, printed)


def test_reproduces_qcc_pistonrings_limits() -> None:
    limits = phase_one(TRIAL)
    assert len(TRIAL) == 25 and limits.n == 5
    assert (limits.excluded, limits.iterations) == ((), 1)  # the 25 trial samples are in control
    _assert_printed(limits.xbar_limits(), "pistonrings.xbar")
    _assert_printed(limits.r_limits(), "pistonrings.R")


def test_exact_convention_moves_sigma_as_qcc_source_says() -> None:
    tab, exact = phase_one(TRIAL), phase_one(TRIAL, convention=Convention.EXACT)
    # SOURCE.md: exact d2(5) = 2.325929 moves σ from 0.009785039 to 0.009785338 ...
    assert exact.sigma == pytest.approx(0.009785338, abs=5e-10)
    assert exact.sigma / tab.sigma == pytest.approx(2.326 / d2(5, Convention.EXACT), rel=1e-12)
    # ... while the X̄ limits stay the same to 7 significant digits.
    _assert_printed(exact.xbar_limits(), "pistonrings.xbar", ("center", "lcl", "ucl"))


def test_equal_sizes_give_the_textbook_factor_formulas() -> None:
    # With exact constants, x̿ ± A2·R̄ and D3·R̄, D4·R̄ are algebraically what the chart computes.
    limits = phase_one(TRIAL, convention=Convention.EXACT)
    f = factors(5, Convention.EXACT)
    r_bar = math.fsum(max(g) - min(g) for g in TRIAL) / len(TRIAL)
    x, r = limits.xbar_limits(), limits.r_limits()
    assert r.center == pytest.approx(r_bar, rel=1e-12)
    assert x.ucl == pytest.approx(x.center + f.A2 * r_bar, rel=1e-12)
    assert x.lcl == pytest.approx(x.center - f.A2 * r_bar, rel=1e-12)
    assert (r.lcl, r.ucl) == (0.0, pytest.approx(f.D4 * r_bar, rel=1e-12))


def test_textbook_phase_two_flags_subgroups_37_to_39() -> None:
    chart = XbarRChart(phase_one(TRIAL))
    points = [chart.update(g.values) for g in GROUPS]
    assert [p.xbar.index for p in points] == list(range(40))
    assert [GROUPS[p.xbar.index].sample for p in points if p.xbar.beyond_limits] == [37, 38, 39]
    assert all(p.xbar.value > p.xbar.ucl for p in points[36:39])  # above the UCL, as in the textbook
    assert all(g.trial for g in GROUPS[:25]) and not any(g.trial for g in GROUPS[25:])
    assert not any(p.r.beyond_limits for p in points)
    p39 = points[38]
    assert p39.xbar.value == pytest.approx(74.0234, abs=1e-9)
    assert p39.r.value == pytest.approx(0.023, abs=1e-9)
    assert (p39.xbar.ucl, p39.r.ucl) == (chart.limits.xbar_limits().ucl, chart.limits.r_limits().ucl)


def test_iterative_phase_one_drops_a_shifted_subgroup_and_stops() -> None:
    shifted = [list(g) for g in TRIAL]
    shifted[9] = [v + 0.03 for v in shifted[9]]  # subgroup 10 moved by about 7 σ of its mean
    shifted[16][0] += 0.06  # subgroup 17 gets a wild value: its range is out
    once = phase_one(shifted, iterate=False)
    assert (once.excluded, once.iterations) == ((), 1)
    limits = phase_one(shifted)
    assert limits.excluded == (9, 16) and limits.iterations >= 2
    again = phase_one(shifted, excluded=[9, 16], iterate=False)
    assert (again.center, again.sigma) == (limits.center, limits.sigma)
    # The kept baseline is the clean data minus two subgroups: nothing more is removed.
    assert limits.xbar_limits().ucl == pytest.approx(limits.center + 3 * limits.sigma / math.sqrt(5))


def test_max_iterations_bounds_the_rounds() -> None:
    # Spread growing geometrically: each round drops the widest subgroups, which narrows the limits and
    # drops the next ones, down to the two smallest pairs; the bound stops it earlier.
    groups = [g for k in range(10) for g in ([3.0**k, 2 * 3.0**k], [-(3.0**k), -2 * 3.0**k])]
    full = phase_one(groups, max_iterations=100)
    assert (full.iterations, full.excluded) == (7, tuple(range(2, 20)))
    bounded = phase_one(groups, max_iterations=2)
    assert (bounded.iterations, bounded.excluded) == (3, tuple(range(12, 20)))


def test_variable_sizes_follow_each_size() -> None:
    groups = [list(g) for g in TRIAL]
    groups[0] = groups[0][:4]
    limits = phase_one(groups, iterate=False)
    assert limits.n == 5
    expected_sigma = math.fsum((max(g) - min(g)) / d2(len(g)) for g in groups) / len(groups)
    assert limits.sigma == pytest.approx(expected_sigma, rel=1e-12)
    assert limits.center == pytest.approx(math.fsum(v for g in groups for v in g) / 124, rel=1e-14)
    four = limits.r_limits(4)
    assert four.center == pytest.approx(d2(4) * limits.sigma)
    point = XbarRChart(limits).update(groups[0])
    assert (point.xbar.ucl, point.r.ucl) == (limits.xbar_limits(4).ucl, four.ucl)


@pytest.mark.parametrize("bad", [[74.0], [74.0] * 26, [74.0, math.nan, 74.1]])
def test_bad_subgroups_are_refused(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        phase_one([*TRIAL, bad])
    chart = XbarRChart(phase_one(TRIAL))
    chart.update(TRIAL[0])
    with pytest.raises(ValueError):
        chart.update(bad)


def test_degenerate_baselines_are_refused() -> None:
    with pytest.raises(ValueError, match="range of 0"):
        phase_one([[1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="no baseline subgroup"):
        phase_one(TRIAL[:2], excluded=[0, 1])
    with pytest.raises(ValueError):
        XbarRLimits(center=0.0, sigma=0.0, n=5)
