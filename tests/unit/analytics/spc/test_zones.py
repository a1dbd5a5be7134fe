"""Run-rule zones come from the plotted statistic's own sigma, not from the limits, where they differ."""

from __future__ import annotations

import math

import pytest

from cadence.analytics.spc.ewma import EwmaChart
from cadence.analytics.spc.p import PChart, PLimits


def test_a_point_below_a_clipped_lower_limit_is_measured_in_sigmas() -> None:
    limits = PLimits(center=0.05)
    sigma = math.sqrt(0.05 * 0.95 / 50)  # 0.0308: the 3-sigma lower limit would be below zero
    point = PChart(limits).update(0, 50)
    assert point.lcl == 0.0
    assert point.sigma == pytest.approx(sigma)
    assert point.sigma_units == pytest.approx(-0.05 / sigma)  # -1.62, not -3 as the clipped limit says


def test_an_ewma_with_narrow_limits_puts_its_limit_at_L_sigmas() -> None:
    chart = EwmaChart(10.0, 1.0, lam=0.2, L=2.7)
    point = chart.update(10.0 + 1e6)  # far out: the z value is what it is, the zone scale is what matters
    assert point.ucl is not None and point.sigma is not None
    assert (point.ucl - point.center) / point.sigma == pytest.approx(2.7)


def test_a_range_below_its_floored_lower_limit_is_measured_in_sigmas() -> None:
    from cadence.analytics.spc.xbar_r import XbarRChart, phase_one

    limits = phase_one([[10.0, 10.2, 9.9, 10.1, 10.0], [10.1, 9.8, 10.0, 10.2, 9.9]] * 10, iterate=False)
    points = XbarRChart(limits).update([10.0, 10.0, 10.0, 10.0, 10.0])  # a range of 0
    r = points.r
    assert r.lcl == 0.0 and r.sigma is not None
    # R̄ ± 3·d₃σ̂ with the lower floored: the zones come from d₃σ̂, not from the floor.
    assert r.sigma_units == pytest.approx(-r.center / r.sigma)
    assert r.sigma_units > -3.0
