"""Hotelling T²: the quantiles and UCL formulas against independent values, the false-alarm rate they
promise, a correlated process with a known shift, subgroups and iterative exclusion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cadence.analytics.spc.hotelling import (
    HotellingChart,
    beta_cdf,
    beta_ppf,
    f_ppf,
    phase_one,
    ucl_phase_one,
    ucl_phase_two,
)

COV = np.array([[4.0, 3.0, 1.0], [3.0, 4.0, 1.0], [1.0, 1.0, 2.0]])
MEAN = np.array([100.0, 50.0, 20.0])


def _binomial_beta_cdf(x: float, a: int, b: int) -> float:
    # For integer a and b, I_x(a, b) = P(at least a successes in a + b − 1 trials of probability x).
    n = a + b - 1
    return sum(math.comb(n, j) * x**j * (1.0 - x) ** (n - j) for j in range(a, n + 1))


def test_quantiles_against_closed_forms_and_tables() -> None:
    # F(2, d): P(F ≤ f) = 1 − (1 + 2f/d)^(−d/2), so the q-quantile is d/2·((1 − q)^(−2/d) − 1).
    for d in (3, 10, 47, 200):
        for q in (0.5, 0.95, 0.9973):
            assert f_ppf(q, 2, d) == pytest.approx(d / 2 * ((1 - q) ** (-2 / d) - 1), rel=1e-10)
    # Beta(1, b): P(X ≤ x) = 1 − (1 − x)^b.
    for b in (0.5, 3.0, 23.5):
        assert beta_ppf(0.99, 1.0, b) == pytest.approx(1 - 0.01 ** (1 / b), rel=1e-10)
    # Integer parameters: the binomial sum.
    for a, b, x in ((2, 36, 0.1), (3, 4, 0.6), (5, 5, 0.5), (1, 1, 0.3)):
        assert beta_cdf(x, a, b) == pytest.approx(_binomial_beta_cdf(x, a, b), rel=1e-12)
    # Printed F tables (3 decimals): F.95(3, 10) = 3.708, F.99(5, 20) = 4.103, F.95(1, 10) = t.975(10)².
    assert round(f_ppf(0.95, 3, 10), 3) == 3.708
    assert round(f_ppf(0.99, 5, 20), 3) == 4.103
    assert round(f_ppf(0.95, 1, 10), 3) == round(2.228139**2, 3)


def test_ucl_formulas_computed_independently() -> None:
    alpha = 0.0027
    # Individuals, phase II, p = 2, m = 50: p(m+1)(m−1)/(m² − mp) · F(2, 48) with the closed-form quantile.
    f = 48 / 2 * (alpha ** (-2 / 48) - 1)
    assert ucl_phase_two(2, 50) == pytest.approx(2 * 51 * 49 / (2500 - 100) * f, rel=1e-10)
    # Individuals, phase I, p = 2, m = 50: (m − 1)²/m · Beta(1, 23.5) quantile 1 − α^(1/23.5).
    assert ucl_phase_one(2, 50) == pytest.approx(49**2 / 50 * (1 - alpha ** (1 / 23.5)), rel=1e-10)
    # Subgroups, p = 4, m = 25, n = 4: d2 = 100 − 25 − 4 + 1 = 72; the F quantile maps to a
    # Beta(2, 36) quantile, whose CDF the binomial sum gives independently.
    ucl = ucl_phase_two(4, 25, 4)
    f = ucl * 72 / (4 * 26 * 3)
    x = 4 * f / (4 * f + 72)
    assert _binomial_beta_cdf(x, 2, 36) == pytest.approx(1 - alpha, abs=1e-12)
    assert ucl_phase_one(4, 25, 4) == pytest.approx(ucl * 24 / 26, rel=1e-12)
    with pytest.raises(ValueError):
        ucl_phase_two(3, 4)  # m − p − 1 = 0: too few observations to estimate S


def test_false_alarm_rates_are_the_promised_alpha() -> None:
    """The limits account for estimating the mean and covariance: over many baselines of 30 the rate of
    new in-control points above the phase II UCL, and of baseline points above the phase I UCL, is α."""
    rng = np.random.default_rng(2026)
    alpha, m, p, runs = 0.05, 30, 2, 10_000
    ucl2, ucl1 = ucl_phase_two(p, m, alpha=alpha), ucl_phase_one(p, m, alpha=alpha)
    cov = COV[:2, :2]
    above2 = above1 = 0
    for _ in range(runs):
        data = rng.multivariate_normal(MEAN[:2], cov, size=m + 1)
        base, new = data[:m], data[m]
        mean = base.mean(axis=0)
        inv = np.linalg.inv(np.cov(base, rowvar=False))
        above2 += float((new - mean) @ inv @ (new - mean)) > ucl2
        above1 += float((base[0] - mean) @ inv @ (base[0] - mean)) > ucl1
    se = math.sqrt(alpha * (1 - alpha) / runs)  # 0.0022
    assert abs(above2 / runs - alpha) < 4 * se
    assert abs(above1 / runs - alpha) < 4 * se


def test_a_shift_breaking_the_correlation_is_caught() -> None:
    rng = np.random.default_rng(42)
    baseline = rng.multivariate_normal(MEAN, COV, size=100)
    # Two of these in-control points exceed the phase I UCL (it happens to one baseline in four at
    # α = 0.0027 and m = 100): keep them all, as one would without an assignable cause.
    assert phase_one(baseline).excluded == (46, 82)
    limits = phase_one(baseline, iterate=False)
    assert limits.excluded == () and limits.m == 100 and limits.p == 3
    assert np.allclose(limits.mean, baseline.mean(axis=0))
    assert np.allclose(np.linalg.inv(limits.inverse), np.cov(baseline, rowvar=False))
    chart = HotellingChart(limits)
    in_control = rng.multivariate_normal(MEAN, COV, size=200)
    # Known shift: feature 1 up 1.5σ, feature 2 down 1.5σ. Each alone stays within its own 3σ limits,
    # but against a 0.75 correlation the pair is far off: δᵀΣ⁻¹δ = 18 (noncentrality).
    delta = np.array([3.0, -3.0, 0.0])
    assert float(delta @ np.linalg.inv(COV) @ delta) == pytest.approx(18.0)
    shifted = rng.multivariate_normal(MEAN + delta, COV, size=20)
    before = [chart.update(x) for x in in_control]
    after = [chart.update(x) for x in shifted]
    assert sum(p.beyond_limits for p in before) <= 3  # α = 0.0027: about 0.5 expected in 200
    assert sum(p.beyond_limits for p in after) >= 15
    assert after[0].index == 200 and after[0].ucl == limits.ucl and after[0].lcl is None
    # The value is the textbook T², computed here without the chart.
    x = shifted[0]
    direct = (x - baseline.mean(axis=0)) @ np.linalg.solve(
        np.cov(baseline, rowvar=False), x - baseline.mean(axis=0)
    )
    assert after[0].value == pytest.approx(float(direct), rel=1e-9)
    # Univariate 3σ limits on the same baseline see few of these points.
    sd = baseline.std(axis=0, ddof=1)
    univariate = sum(bool(np.any(np.abs(x - baseline.mean(axis=0)) > 3 * sd)) for x in shifted)
    assert univariate < sum(p.beyond_limits for p in after)


def test_subgroups_pooled_covariance_and_iterative_exclusion() -> None:
    rng = np.random.default_rng(8)
    m, n = 30, 5
    groups = rng.multivariate_normal(MEAN[:2], COV[:2, :2], size=(m, n))
    groups[[4, 17]] += np.array([2.5, -2.5])  # two baseline subgroups with an assignable cause
    kept = [j for j in range(m) if j not in (4, 17)]
    limits = phase_one(groups)
    assert limits.excluded == (4, 17) and limits.m == 28 and limits.n == 5 and limits.iterations == 2
    pooled = np.mean([np.cov(groups[j], rowvar=False) for j in kept], axis=0)
    grand = groups[kept].reshape(-1, 2).mean(axis=0)
    assert np.allclose(np.linalg.inv(limits.inverse), pooled)
    assert np.allclose(limits.mean, grand)
    assert limits.ucl == pytest.approx(ucl_phase_two(2, 28, 5))
    assert limits.ucl_phase_one == pytest.approx(ucl_phase_one(2, 28, 5))
    chart = HotellingChart(limits)
    point = chart.update(groups[4])
    xbar = groups[4].mean(axis=0)
    assert point.value == pytest.approx(float(n * (xbar - grand) @ np.linalg.solve(pooled, xbar - grand)))
    assert point.beyond_limits
    assert not phase_one(groups, iterate=False).excluded
    assert phase_one(groups, excluded=[4], iterate=False).excluded == (4,)


def test_bad_input_is_refused() -> None:
    chart = HotellingChart(phase_one(np.random.default_rng(1).normal(size=(20, 2))))
    with pytest.raises(ValueError):
        chart.update([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        phase_one([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        phase_one(np.ones((10, 2)))  # constant features: singular covariance
    with pytest.raises(ValueError):
        phase_one(np.random.default_rng(1).normal(size=(3, 2)))  # too few for 2 features
