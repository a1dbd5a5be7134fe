"""X̄-S chart: qcc's published piston-ring S limits, the textbook phase II signals, iterative phase I."""

from __future__ import annotations

import math
import statistics

import pytest
from qcc_data import PUBLISHED, matches_printed, pistonrings

from cadence.analytics.spc.base import Convention
from cadence.analytics.spc.constants import c4, factors
from cadence.analytics.spc.xbar_s import XbarSChart, XbarSLimits, phase_one, stdev

GROUPS = pistonrings()
TRIAL = [g.values for g in GROUPS if g.trial]


def test_reproduces_qcc_pistonrings_s_limits() -> None:
    limits = phase_one(TRIAL)
    assert (limits.n, limits.excluded, limits.iterations) == (5, (), 1)
    s, printed = limits.s_limits(), PUBLISHED["pistonrings.S"]
    for name in ("center", "sigma", "lcl", "ucl"):
        assert matches_printed(getattr(s, name), getattr(printed, name)), (name, s, printed)
    # The X̄ part shares qcc's grand mean.
    assert matches_printed(limits.xbar_limits().center, PUBLISHED["pistonrings.xbar"].center)


def test_c4_is_exact_under_both_conventions() -> None:
    tab, exact = phase_one(TRIAL), phase_one(TRIAL, convention=Convention.EXACT)
    assert (tab.center, tab.sigma) == (exact.center, exact.sigma)
    assert tab.convention is Convention.TABULATED and exact.convention is Convention.EXACT


def test_equal_sizes_give_the_textbook_factor_formulas() -> None:
    limits = phase_one(TRIAL)
    f = factors(5, Convention.EXACT)
    s_bar = math.fsum(statistics.stdev(g) for g in TRIAL) / len(TRIAL)
    x, s = limits.xbar_limits(), limits.s_limits()
    assert s.center == pytest.approx(s_bar, rel=1e-12)
    assert (x.lcl, x.ucl) == (pytest.approx(x.center - f.A3 * s_bar), pytest.approx(x.center + f.A3 * s_bar))
    assert (s.lcl, s.ucl) == (0.0, pytest.approx(f.B4 * s_bar, rel=1e-12))
    # docs/domain.md §3.5 computes s̄ = 0.00928 on its own transcription (two values differ from qcc's):
    # ours is qcc's 0.009240037, the same to the textbook's 0.0094 at its two significant digits.
    assert round(s_bar, 4) == 0.0092


def test_textbook_phase_two_flags_subgroups_37_to_39() -> None:
    chart = XbarSChart(phase_one(TRIAL))
    points = [chart.update(g.values) for g in GROUPS]
    assert [GROUPS[p.xbar.index].sample for p in points if p.xbar.beyond_limits] == [37, 38, 39]
    assert not any(p.s.beyond_limits for p in points)
    assert points[0].s.value == pytest.approx(statistics.stdev(TRIAL[0]), rel=1e-12)


def test_stdev_is_accurate_far_from_zero() -> None:
    values = [1e9 + 1, 1e9 + 2, 1e9 + 3]
    assert stdev(values) == 1.0
    assert stdev(TRIAL[3]) == pytest.approx(statistics.stdev(TRIAL[3]), rel=1e-13)


def test_iterative_phase_one_drops_a_noisy_subgroup() -> None:
    noisy = [list(g) for g in TRIAL]
    noisy[4] = [74.0, 74.05, 73.95, 74.05, 73.95]  # same mean, five times the spread
    limits = phase_one(noisy)
    assert limits.excluded == (4,) and limits.iterations == 2
    again = phase_one(noisy, excluded=[4], iterate=False)
    assert (again.center, again.sigma) == (limits.center, limits.sigma)


def test_variable_sizes_follow_each_size() -> None:
    groups = [list(g) for g in TRIAL]
    groups[3] = groups[3][:3]
    limits = phase_one(groups, iterate=False)
    expected = math.fsum(statistics.stdev(g) / c4(len(g)) for g in groups) / len(groups)
    assert limits.sigma == pytest.approx(expected, rel=1e-12)
    three = limits.s_limits(3)
    assert three.center == pytest.approx(c4(3) * limits.sigma)
    assert three.ucl == pytest.approx(three.center + 3 * limits.sigma * math.sqrt(1 - c4(3) ** 2))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        phase_one([*TRIAL, [74.0]])
    with pytest.raises(ValueError, match="standard deviation of 0"):
        phase_one([[1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(ValueError):
        XbarSLimits(center=74.0, sigma=0.01, n=30)
    with pytest.raises(ValueError):
        XbarSChart(phase_one(TRIAL)).update([74.0, math.inf])
