"""Tabular CUSUM: the textbook's debug values, first signal at 37, both sides, fast initial response."""

from __future__ import annotations

import numpy as np
import pytest
from test_ewma import domain_means

from cadence.analytics.spc.cusum import CusumChart, CusumLimits


def test_textbook_debug_values_and_first_signal_at_37() -> None:
    means, center, sigma_xbar = domain_means()
    assert round(sigma_xbar, 5) == 0.00439
    chart = CusumChart.from_sigma(center, sigma_xbar, k=0.5, h=5.0)
    assert round(chart.limits.H, 5) == 0.02196  # H = 5 σ_x̄ as printed in docs/domain.md §3.5
    results = [chart.update(m) for m in means]
    # docs/domain.md §3.5: C⁺ for subgroups 30–40, five decimals as printed.
    assert [round(r.upper, 5) for r in results[29:40]] == [
        0.0,
        0.00375,
        0.00590,
        0.00024,
        0.00799,
        0.01714,
        0.01769,
        0.03084,
        0.04699,
        0.06693,
        0.07628,
    ]
    signals = [i + 1 for i, r in enumerate(results) if r.side is not None]
    assert signals[0] == 37 and results[36].side == "upper"
    assert results[36].point.beyond_limits and results[36].point.value == results[36].upper


def test_by_hand_both_sides() -> None:
    chart = CusumChart(CusumLimits(target=10.0, K=1.0, H=3.0))
    seen = [chart.update(x) for x in (12.0, 8.0, 7.0, 7.5, 6.0)]
    # C⁺: 1, 0, 0, 0, 0; C⁻: 0, 1, 3, 4.5, 7.5 (x below 9 adds 9 − x).
    assert [r.upper for r in seen] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert [r.lower for r in seen] == [0.0, 1.0, 3.0, 4.5, 7.5]
    assert [r.side for r in seen] == [None, None, None, "lower", "lower"]  # 3.0 is not above H = 3
    assert seen[3].point.value == -4.5 and seen[3].point.lcl == -3.0 and seen[3].point.beyond_limits
    chart.reset()
    assert chart.update(10.0).lower == 0.0


def test_k_and_h_in_sigma_units_equal_absolute_k_and_h() -> None:
    a = CusumChart.from_sigma(50.0, 2.0, k=0.5, h=4.0, head_start=2.0)
    b = CusumChart(CusumLimits(target=50.0, K=1.0, H=8.0, head_start=4.0))
    for x in np.random.default_rng(5).normal(51.0, 2.0, 200):
        ra, rb = a.update(float(x)), b.update(float(x))
        assert (ra.upper, ra.lower, ra.side) == (rb.upper, rb.lower, rb.side)


def _first_signal(chart: CusumChart, xs: np.ndarray) -> int | None:
    for i, x in enumerate(xs):
        if chart.update(float(x)).side is not None:
            return i + 1
    return None


def test_fast_initial_response_signals_a_shifted_start_sooner() -> None:
    """A process that starts 1σ off target: with the head start H/2 the mean run length drops (Lucas and
    Crosier: about 10.4 → 6.4 for k = 0.5, h = 5), and on every run the FIR never signals later."""
    rng = np.random.default_rng(11)
    plain, fir = [], []
    for _ in range(400):
        xs = rng.normal(1.0, 1.0, 200)
        a = _first_signal(CusumChart.from_sigma(0.0, 1.0, k=0.5, h=5.0), xs)
        b = _first_signal(CusumChart.from_sigma(0.0, 1.0, k=0.5, h=5.0, head_start=2.5), xs)
        assert a is not None and b is not None and b <= a
        plain.append(a)
        fir.append(b)
    assert np.mean(plain) == pytest.approx(10.4, rel=0.1)
    assert np.mean(fir) < 0.75 * np.mean(plain)


def test_fast_initial_response_costs_little_in_control() -> None:
    # In control the head start is soon forgotten: the sums fall back to 0 within a few points.
    rng = np.random.default_rng(12)
    chart = CusumChart.from_sigma(0.0, 1.0, k=0.5, h=5.0, head_start=2.5)
    results = [chart.update(float(x)) for x in rng.normal(0.0, 1.0, 30)]
    assert any(r.upper == 0.0 for r in results[:15]) and any(r.lower == 0.0 for r in results[:15])


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        CusumLimits(target=0.0, K=0.5, H=0.0)
    with pytest.raises(ValueError):
        CusumLimits(target=0.0, K=-1.0, H=5.0)
    with pytest.raises(ValueError):
        CusumLimits(target=0.0, K=0.5, H=5.0, head_start=5.0)
    with pytest.raises(ValueError):
        CusumChart.from_sigma(0.0, 0.0)
