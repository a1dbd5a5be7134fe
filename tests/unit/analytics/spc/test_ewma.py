"""EWMA: qcc's published piston-ring limits, the textbook's first signal at 37, streaming behaviour."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from qcc_data import PUBLISHED, matches_printed, pistonrings

from cadence.analytics.spc.ewma import EwmaChart, EwmaLimits

D2_5_TABULATED = 2.326  # qcc's d2(5), three decimals (SOURCE.md)


def _qcc_means_and_sigma() -> tuple[list[float], float, float]:
    groups = pistonrings()
    means = [sum(g.values) / len(g.values) for g in groups]
    phase_one = [g for g in groups if g.trial]
    center = sum(means[: len(phase_one)]) / len(phase_one)
    sigma = sum((max(g.values) - min(g.values)) / D2_5_TABULATED for g in phase_one) / len(phase_one)
    return means, center, sigma


def test_the_process_sigma_is_qccs() -> None:
    _, center, sigma = _qcc_means_and_sigma()
    assert matches_printed(center, PUBLISHED["pistonrings.xbar"].center)
    assert matches_printed(sigma, PUBLISHED["pistonrings.xbar"].sigma)


@pytest.mark.parametrize(
    ("L", "count", "expected"),
    [
        # L = 3 on samples 1–25: i = 1, 2 and the last (25).
        (3.0, 25, {1: (73.99855, 74.00380), 2: (73.99781, 74.00454), 25: (73.99680, 74.00555)}),
        # L = 2.7, samples 26–40 as phase II: the index runs on through the new samples, up to 40.
        (2.7, 40, {1: (73.99881, 74.00354), 2: (73.99815, 74.00420), 40: (73.99724, 74.00511)}),
    ],
)
def test_exact_limits_reproduce_qcc(L: float, count: int, expected: dict[int, tuple[float, float]]) -> None:
    means, center, sigma = _qcc_means_and_sigma()
    chart = EwmaChart(center=center, sigma=sigma / math.sqrt(5), lam=0.2, L=L)
    points = [chart.update(m) for m in means[:count]]
    for i, (lcl, ucl) in expected.items():
        point = points[i - 1]
        assert point.lcl is not None and point.ucl is not None
        assert matches_printed(point.lcl, lcl) and matches_printed(point.ucl, ucl), (i, point)
        # Stricter than 1e-6 relative (7e-5 mm here): the values round to qcc's printed decimals.
        assert (round(point.lcl, 5), round(point.ucl, 5)) == (lcl, ucl), (i, point)


# docs/domain.md §3.5 transcribes the piston rings from Montgomery: three diameters differ from qcc's file
# (subgroup 3, first ring; subgroup 21, first and third rings). Its x̿ = 74.00126 and R̄ = 0.02284.
DOMAIN_CHANGES = {(2, 0): 73.998, (20, 0): 73.982, (20, 2): 74.015}


def domain_means() -> tuple[list[float], float, float]:
    """The 40 subgroup means of docs/domain.md, x̿ and σ_x̄ = R̄/d2/√5 from subgroups 1–25."""
    x = np.array([g.values for g in pistonrings()])
    for (i, j), value in DOMAIN_CHANGES.items():
        x[i, j] = value
    means = x.mean(axis=1)
    center = float(means[:25].mean())
    rbar = float(np.ptp(x[:25], axis=1).mean())
    assert round(center, 5) == 74.00126 and round(rbar, 5) == 0.02284  # the document's values
    return [float(m) for m in means], center, rbar / D2_5_TABULATED / math.sqrt(5)


def test_textbook_first_signal_at_37() -> None:
    means, center, sigma_xbar = domain_means()
    chart = EwmaChart(center=center, sigma=sigma_xbar, lam=0.2, L=3.0)
    points = [chart.update(m) for m in means]
    signals = [p.index + 1 for p in points if p.beyond_limits]
    assert signals[0] == 37
    # Debug values of docs/domain.md §3.5, z for subgroups 36–40 (five decimals as printed).
    assert [round(p.value, 5) for p in points[35:40]] == [74.00509, 74.00739, 74.00983, 74.01255, 74.01260]


def test_limits_widen_to_the_asymptote() -> None:
    limits = EwmaLimits(center=0.0, sigma=1.0, lam=0.1, L=2.814)
    widths = [limits.half_width(i) for i in range(1, 400)]
    assert all(b >= a for a, b in pairwise(widths))
    assert widths[0] == pytest.approx(2.814 * 0.1)  # first point: σ_z = λσ
    assert widths[-1] == pytest.approx(limits.half_width(None), rel=1e-12)
    assert limits.half_width(None) == pytest.approx(2.814 * math.sqrt(0.1 / 1.9))


def test_asymptotic_option_and_streaming_state() -> None:
    exact = EwmaChart(center=5.0, sigma=2.0, lam=0.25, L=3.0)
    asym = EwmaChart(center=5.0, sigma=2.0, lam=0.25, L=3.0, exact=False)
    rng = np.random.default_rng(3)
    z = 5.0
    for i, x in enumerate(rng.normal(5.0, 2.0, 300)):
        a, b = exact.update(float(x)), asym.update(float(x))
        z = 0.25 * x + 0.75 * z
        assert a.value == pytest.approx(z, rel=1e-14) and b.value == a.value
        assert a.index == b.index == i
        assert b.ucl == pytest.approx(5.0 + 3.0 * 2.0 * math.sqrt(0.25 / 1.75))
        assert a.ucl is not None and b.ucl is not None and a.ucl <= b.ucl + 1e-12
    assert a.ucl == pytest.approx(b.ucl, rel=1e-12)  # long after the start the exact limits have settled


def test_from_limits_and_bad_parameters() -> None:
    chart = EwmaChart.from_limits(EwmaLimits(center=1.0, sigma=0.5, lam=0.3, L=2.5))
    assert chart.update(1.0).value == 1.0
    for kwargs in ({"lam": 0.0}, {"lam": 1.5}, {"L": 0.0}):
        with pytest.raises(ValueError):
            EwmaChart(center=0.0, sigma=1.0, **kwargs)
    with pytest.raises(ValueError):
        EwmaChart(center=0.0, sigma=0.0)
