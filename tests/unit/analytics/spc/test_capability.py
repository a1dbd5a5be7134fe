"""Capability: the piston-ring indices of docs/domain.md §3.5, interval formulas against hand computation
with printed χ² quantiles, the χ² quantile itself, and the Anderson–Darling normality check."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from cadence.analytics.spc.base import Convention
from cadence.analytics.spc.capability import (
    SigmaMethod,
    WithinSigma,
    anderson_darling,
    capability,
    chi2_quantile,
    sigma_within,
)

# docs/domain.md §3.5, subgroups 1–25 (phase I), inside diameter in mm; typed from the table there (the qcc
# file differs slightly).
PISTON_RINGS = [
    [74.030, 74.002, 74.019, 73.992, 74.008],
    [73.995, 73.992, 74.001, 74.011, 74.004],
    [73.998, 74.024, 74.021, 74.005, 74.002],
    [74.002, 73.996, 73.993, 74.015, 74.009],
    [73.992, 74.007, 74.015, 73.989, 74.014],
    [74.009, 73.994, 73.997, 73.985, 73.993],
    [73.995, 74.006, 73.994, 74.000, 74.005],
    [73.985, 74.003, 73.993, 74.015, 73.988],
    [74.008, 73.995, 74.009, 74.005, 74.004],
    [73.998, 74.000, 73.990, 74.007, 73.995],
    [73.994, 73.998, 73.994, 73.995, 73.990],
    [74.004, 74.000, 74.007, 74.000, 73.996],
    [73.983, 74.002, 73.998, 73.997, 74.012],
    [74.006, 73.967, 73.994, 74.000, 73.984],
    [74.012, 74.014, 73.998, 73.999, 74.007],
    [74.000, 73.984, 74.005, 73.998, 73.996],
    [73.994, 74.012, 73.986, 74.005, 74.007],
    [74.006, 74.010, 74.018, 74.003, 74.000],
    [73.984, 74.002, 74.003, 74.005, 73.997],
    [74.000, 74.010, 74.013, 74.020, 74.003],
    [73.982, 74.001, 74.015, 74.005, 73.996],
    [74.004, 73.999, 73.990, 74.006, 74.009],
    [74.010, 73.989, 73.990, 74.009, 74.014],
    [74.015, 74.008, 73.993, 74.000, 74.010],
    [73.982, 73.984, 73.995, 74.017, 74.013],
]
LSL, USL = 73.95, 74.05
Z975 = 1.959964  # printed standard normal quantile

# Printed χ² quantiles (lower 0.025 and 0.975) from the usual statistical tables, three decimals.
CHI2_TABLE = {
    2: (0.0506, 7.378),
    5: (0.831, 12.833),
    10: (3.247, 20.483),
    20: (9.591, 34.170),
    24: (12.401, 39.364),
    30: (16.791, 46.979),
    100: (74.222, 129.561),
}


def test_piston_ring_indices_match_the_reference() -> None:
    within = sigma_within(PISTON_RINGS)  # R̄/d₂, d₂ = 2.326
    assert within.sigma == pytest.approx(0.00982, abs=5e-6)
    assert within.dof == 100  # 25 subgroups of 5
    result = capability(PISTON_RINGS, lsl=LSL, usl=USL, within=within)
    assert result.n == 125
    assert result.mean == pytest.approx(74.00126, abs=5e-6)
    assert result.sigma_overall == pytest.approx(0.01013, abs=5e-6)
    assert (
        result.cp is not None and result.cpk is not None and result.pp is not None and result.ppk is not None
    )
    assert round(result.cp.value, 4) == 1.6973
    # docs/domain.md's 1.6546 is computed with the exact d₂ (2.325929); the printed d₂ = 2.326 gives
    # 1.654678, which rounds to 1.6547. Cp is 1.6973 either way.
    assert result.cpk.value == pytest.approx(1.654678, abs=1e-6)
    exact = capability(
        PISTON_RINGS, lsl=LSL, usl=USL, within=sigma_within(PISTON_RINGS, convention=Convention.EXACT)
    )
    assert exact.cp is not None and exact.cpk is not None
    assert (round(exact.cp.value, 4), round(exact.cpk.value, 4)) == (1.6973, 1.6546)
    assert round(result.pp.value, 4) == 1.6447
    assert round(result.ppk.value, 4) == 1.6034
    # The mean sits above nominal: Cpk is the upper side.
    assert result.cpk == result.cpu
    assert result.cpl is not None and result.cpu is not None and result.cpl.value > result.cpu.value
    assert result.normality is not None and result.normality.plausible
    assert result.caveats == () and result.trustworthy


def test_sigma_within_by_standard_deviations_and_moving_ranges() -> None:
    by_s = sigma_within(PISTON_RINGS, SigmaMethod.STDEV)
    assert by_s.sigma == pytest.approx(0.00987, abs=5e-6)  # s̄/c₄, docs/domain.md §3.5
    assert by_s.dof == 100
    # I-MR on the first value of each subgroup: MR̄ = 0.01425 (docs/domain.md §3.5), σ = MR̄/1.128.
    firsts = [row[0] for row in PISTON_RINGS]
    by_mr = sigma_within(firsts, SigmaMethod.MOVING_RANGE)
    assert by_mr.sigma == pytest.approx(0.01425 / 1.128, abs=5e-6)
    assert by_mr.dof == 24
    exact = sigma_within(PISTON_RINGS, convention=Convention.EXACT)
    assert exact.sigma == pytest.approx(within_by_hand(PISTON_RINGS) / 2.325929, rel=1e-6)


def within_by_hand(rows: list[list[float]]) -> float:
    return sum(max(r) - min(r) for r in rows) / len(rows)


def test_cp_and_cpk_intervals_by_hand() -> None:
    within = sigma_within(PISTON_RINGS)
    result = capability(PISTON_RINGS, lsl=LSL, usl=USL, within=within)
    assert result.cp is not None and result.cpk is not None
    cp = result.cp.value
    # ν = 100: Cp·√(χ²₀.₀₂₅/ν) and Cp·√(χ²₀.₉₇₅/ν) with the printed quantiles.
    lo, hi = CHI2_TABLE[100]
    assert result.cp.low == pytest.approx(cp * math.sqrt(lo / 100), rel=2e-5)
    assert result.cp.high == pytest.approx(cp * math.sqrt(hi / 100), rel=2e-5)
    assert result.cp.low == pytest.approx(1.4623, abs=1e-4)
    # Bissell with n = ν + 1 = 101.
    cpk = result.cpk.value
    half = Z975 * math.sqrt(1 / (9 * 101) + cpk**2 / (2 * 100))
    assert result.cpk.low == pytest.approx(cpk - half, rel=1e-6)
    assert result.cpk.high == pytest.approx(cpk + half, rel=1e-6)
    assert half == pytest.approx(0.2384, abs=1e-4)


def test_pp_and_ppk_intervals_by_hand() -> None:
    values = [v for row in PISTON_RINGS[:5] for v in row]  # 25 values: ν = 24
    result = capability(values, lsl=LSL, usl=USL)
    assert result.pp is not None and result.ppk is not None and result.ppl is not None
    s = float(np.std(values, ddof=1))
    pp = (USL - LSL) / (6 * s)
    lo, hi = CHI2_TABLE[24]
    assert result.pp.value == pytest.approx(pp, rel=1e-12)
    assert result.pp.low == pytest.approx(pp * math.sqrt(lo / 24), rel=2e-5)
    assert result.pp.high == pytest.approx(pp * math.sqrt(hi / 24), rel=2e-5)
    ppl = (float(np.mean(values)) - LSL) / (3 * s)
    half = Z975 * math.sqrt(1 / (9 * 25) + ppl**2 / (2 * 24))
    assert (result.ppl.low, result.ppl.high) == pytest.approx((ppl - half, ppl + half), rel=1e-6)
    # No σ_within: no within indices.
    assert result.cp is None and result.cpk is None and result.sigma_within is None


def test_a_bare_sigma_within_uses_n_minus_one_degrees_of_freedom() -> None:
    values = [v for row in PISTON_RINGS[:5] for v in row]
    bare = capability(values, lsl=LSL, usl=USL, within=0.01)
    explicit = capability(values, lsl=LSL, usl=USL, within=WithinSigma(0.01, 24))
    assert bare.cp == explicit.cp
    assert bare.cp is not None and bare.cp.value == pytest.approx(0.1 / 0.06)


def test_wider_confidence_gives_wider_intervals() -> None:
    narrow = capability(PISTON_RINGS, lsl=LSL, usl=USL, confidence=0.90)
    wide = capability(PISTON_RINGS, lsl=LSL, usl=USL, confidence=0.99)
    assert narrow.pp is not None and wide.pp is not None
    assert wide.pp.low < narrow.pp.low < narrow.pp.value < narrow.pp.high < wide.pp.high


def test_one_sided_specifications() -> None:
    upper = capability(PISTON_RINGS, usl=USL, within=sigma_within(PISTON_RINGS))
    assert upper.cp is None and upper.pp is None and upper.cpl is None and upper.ppl is None
    assert upper.cpk == upper.cpu and upper.ppk == upper.ppu
    assert upper.cpu is not None and upper.cpu.value == pytest.approx(1.654678, abs=1e-6)
    lower = capability(PISTON_RINGS, lsl=LSL, within=sigma_within(PISTON_RINGS))
    assert lower.cpk == lower.cpl and lower.cpu is None
    assert lower.cpl is not None and lower.cpl.value == pytest.approx(
        (74.00126 - LSL) / (3 * 0.00982), rel=1e-3
    )


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="specification"):
        capability([1.0, 2.0])
    with pytest.raises(ValueError, match="below"):
        capability([1.0, 2.0], lsl=3.0, usl=1.0)
    with pytest.raises(ValueError, match="no spread"):
        capability([1.0, 1.0, 1.0], usl=2.0)
    with pytest.raises(ValueError, match="subgroups"):
        sigma_within([[1.0], [2.0]])


@pytest.mark.parametrize(("dof", "printed"), sorted(CHI2_TABLE.items()))
def test_chi2_quantiles_match_the_printed_table(dof: int, printed: tuple[float, float]) -> None:
    lo, hi = printed
    assert chi2_quantile(0.025, dof) == pytest.approx(lo, abs=6e-4 if dof > 2 else 6e-5)
    assert chi2_quantile(0.975, dof) == pytest.approx(hi, abs=6e-4)


@pytest.mark.parametrize("q", [1e-9, 0.001, 0.025, 0.3, 0.5, 0.9, 0.975, 0.999999])
def test_chi2_quantiles_match_the_closed_forms(q: float) -> None:
    # ν = 2 is the exponential law with mean 2: x = −2 ln(1 − q). ν = 1 is the square of a standard
    # normal: P(χ²₁ ≤ x) = erf(√(x/2)), accurate even for tiny x. No absolute slack: tiny quantiles count.
    assert chi2_quantile(q, 2) == pytest.approx(-2 * math.log1p(-q), rel=1e-10, abs=0)
    assert math.erf(math.sqrt(chi2_quantile(q, 1) / 2)) == pytest.approx(q, rel=1e-12, abs=0)
    if 0.001 <= q <= 0.999:
        assert chi2_quantile(q, 1) == pytest.approx(NormalDist().inv_cdf((1 + q) / 2) ** 2, rel=1e-10, abs=0)


def test_chi2_quantiles_accept_fractional_and_large_dof() -> None:
    # A quantile's cdf is its level, whatever the degrees of freedom.
    from cadence.analytics.spc.capability import _chi2_cdf

    for dof in (0.5, 3.6, 87.3, 2_000.0):
        for q in (0.01, 0.5, 0.99):
            assert _chi2_cdf(chi2_quantile(q, dof), dof) == pytest.approx(q, rel=1e-10)


def test_anderson_darling_accepts_a_normal_sample_and_rejects_a_skewed_one() -> None:
    rng = np.random.default_rng(42)
    normal = anderson_darling(rng.normal(50.0, 2.0, 200))
    assert normal.plausible and normal.p_value > 0.2
    skewed = anderson_darling(rng.exponential(1.0, 100))
    assert not skewed.plausible and skewed.p_value < 1e-4
    result = capability(rng.exponential(1.0, 100), usl=8.0)
    assert "non_normal" in result.caveats and not result.trustworthy


def test_anderson_darling_statistic_equals_its_integral_definition() -> None:
    # A² = n ∫ (Fₙ − Φ)² / (Φ(1 − Φ)) dΦ over the standardised sample, integrated numerically.
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 30)
    y = np.sort((x - x.mean()) / x.std(ddof=1))
    grid = np.linspace(-9.0, 9.0, 400_001)
    big = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in grid])
    upper = np.array([0.5 * math.erfc(v / math.sqrt(2)) for v in grid])  # 1 − Φ without cancellation
    dens = np.exp(-grid * grid / 2) / math.sqrt(2 * math.pi)
    empirical = np.searchsorted(y, grid, side="right") / y.size
    integrand = (empirical - big) ** 2 / (big * upper) * dens
    a2 = float(y.size * np.sum((integrand[1:] + integrand[:-1]) / 2 * np.diff(grid)))
    assert anderson_darling(x).a2 == pytest.approx(a2, rel=1e-3)


@pytest.mark.parametrize(("critical", "level"), [(0.631, 0.10), (0.752, 0.05), (0.873, 0.025), (1.035, 0.01)])
def test_anderson_darling_p_values_at_stephens_critical_values(critical: float, level: float) -> None:
    # Stephens' critical values of the adjusted A*² for the normal case with both parameters estimated
    # (D'Agostino and Stephens 1986, Table 4.7): the p-value approximation must give back their levels.
    from cadence.analytics.spc.capability import _ad_p_value

    assert _ad_p_value(critical) == pytest.approx(level, rel=0.03)


def test_caveats_say_when_not_to_trust_the_indices() -> None:
    few = capability([74.0, 74.01, 73.99, 74.0, 74.02], lsl=LSL, usl=USL)
    assert few.normality is None and few.caveats == ("normality_untested", "few_values")
    unstable = capability(PISTON_RINGS, lsl=LSL, usl=USL, in_control=False)
    assert unstable.caveats == ("not_in_control",)
    with pytest.raises(ValueError, match="at least 8"):
        anderson_darling([1.0, 2.0, 3.0])


def test_subgroups_of_unequal_sizes_pool_their_values() -> None:
    ragged = [[74.01, 74.0, 73.99], [74.02, 73.98], [74.0, 74.01, 73.99, 74.0]]
    flat = [v for row in ragged for v in row]
    assert capability(ragged, lsl=LSL, usl=USL) == capability(flat, lsl=LSL, usl=USL)
