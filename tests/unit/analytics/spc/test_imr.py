"""I-MR chart: docs/domain.md §3.5's constructed example, streaming, exclusion rules."""

from __future__ import annotations

import math

import pytest

from cadence.analytics.spc.base import Convention
from cadence.analytics.spc.constants import d2, d3, factors
from cadence.analytics.spc.imr import IMRChart, IMRLimits, phase_one

# docs/domain.md §3.5: the first value of each phase I piston-ring subgroup, from its own table (which
# differs from qcc's file at subgroups 3 and 21: 73.998 and 73.982 there, 73.988 and 73.988 in qcc).
FIRST = [74.030, 73.995, 73.998, 74.002, 73.992, 74.009, 73.995, 73.985, 74.008, 73.998, 73.994, 74.004,
         73.983, 74.006, 74.012, 74.000, 73.994, 74.006, 73.984, 74.000, 73.982, 74.004, 74.010, 74.015,
         73.982]  # fmt: skip


def test_domain_constructed_example() -> None:
    limits = phase_one(FIRST)
    assert (limits.excluded, limits.iterations) == ((), 1)
    i, mr = limits.i_limits(), limits.mr_limits()
    assert i.center == pytest.approx(73.99952, abs=1e-9)
    assert mr.center == pytest.approx(0.01425, abs=1e-12)
    # domain.md prints 74.03742 / 73.96161 and 0.04655; the I limits are x̄ ± 2.6596·MR̄ (3/1.128):
    # 73.961621 is printed one unit low in the fifth decimal, hence 1.5e-5.
    assert i.ucl == pytest.approx(74.03742, abs=1.5e-5)
    assert i.lcl == pytest.approx(73.96161, abs=1.5e-5)
    assert i.ucl - i.center == pytest.approx(3 / 1.128 * 0.01425, rel=1e-9)
    assert mr.lcl == 0.0
    assert mr.ucl == pytest.approx(0.04655, abs=1e-5)
    exact = phase_one(FIRST, convention=Convention.EXACT).mr_limits()
    assert exact.ucl == pytest.approx(factors(2, Convention.EXACT).D4 * 0.01425, rel=1e-9)
    assert round(exact.ucl, 5) == 0.04655


def test_mr_chart_uses_d2_d3_of_two() -> None:
    limits = phase_one(FIRST)
    mr = limits.mr_limits()
    assert mr.center == pytest.approx(d2(2) * limits.sigma)
    assert mr.ucl == pytest.approx(mr.center + 3 * d3(2) * limits.sigma)
    assert mr.ucl / mr.center == pytest.approx(1 + 3 * 0.8525033 / 1.128)  # qcc's D4(2) = 3.26729…


def test_streaming_points() -> None:
    chart = IMRChart(phase_one(FIRST))
    points = [chart.update(x) for x in FIRST]
    assert points[0].mr is None
    assert [p.i.index for p in points] == list(range(25))
    assert [p.mr.index for p in points[1:] if p.mr is not None] == list(range(1, 25))
    moving = [p.mr.value for p in points[1:] if p.mr is not None]
    assert math.fsum(moving) / 24 == pytest.approx(0.01425, abs=1e-12)
    assert not any(p.i.beyond_limits for p in points)
    jump = chart.update(74.06)
    assert jump.i.beyond_limits and jump.mr is not None and jump.mr.beyond_limits
    with pytest.raises(ValueError):
        chart.update(math.nan)


def test_excluded_values_break_the_moving_ranges() -> None:
    values = [10.0, 10.2, 10.1, 30.0, 10.0, 10.3, 9.9, 10.1]
    limits = phase_one(values, excluded=[3], iterate=False)
    # Moving ranges only between adjacent kept values: 0.2, 0.1, then (skip 30.0) 0.3, 0.4, 0.2.
    assert limits.sigma == pytest.approx((0.2 + 0.1 + 0.3 + 0.4 + 0.2) / 5 / 1.128)
    assert limits.center == pytest.approx(sum(v for j, v in enumerate(values) if j != 3) / 7)


def test_iterative_phase_one_drops_the_outlier() -> None:
    values = [*FIRST[:12], 74.09, *FIRST[12:]]
    assert phase_one(values, iterate=False).excluded == ()
    limits = phase_one(values)
    assert limits.excluded == (12,) and limits.iterations == 2
    assert limits.center == pytest.approx(73.99952, abs=1e-9)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="two consecutive"):
        phase_one([1.0])
    with pytest.raises(ValueError, match="two consecutive"):
        phase_one([1.0, 2.0, 3.0], excluded=[1])
    with pytest.raises(ValueError, match="moving range is 0"):
        phase_one([5.0, 5.0, 5.0])
    with pytest.raises(ValueError):
        phase_one([1.0, math.inf])
    with pytest.raises(ValueError):
        IMRLimits(center=0.0, sigma=-1.0)
