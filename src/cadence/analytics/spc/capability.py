"""Process capability: Cp, Cpk (Cpu, Cpl), Pp, Ppk (Ppu, Ppl) with 95 % confidence intervals and a
normality check that says when the indices should not be trusted.

Formulas (docs/domain.md §3.4; Montgomery, *Introduction to Statistical Quality Control*, §8.3):

* Within (short term), σ_w from the subgroups — R̄/d₂, s̄/c₄, or MR̄/d₂ (d₂ = 1.128, moving ranges of
  span 2) for individuals — or given: Cp = (USL − LSL)/(6σ_w), Cpu = (USL − μ)/(3σ_w),
  Cpl = (μ − LSL)/(3σ_w), Cpk = min(Cpu, Cpl).
* Overall (long term), s the sample standard deviation of all the values (n − 1 denominator):
  Pp, Ppu, Ppl, Ppk, the same with s in place of σ_w. μ is the mean of all the values.
* One-sided specifications: only Cpu/Ppu (USL alone) or Cpl/Ppl (LSL alone); Cpk and Ppk are then that
  one index, Cp and Pp do not exist (``None``).

Confidence intervals (two-sided, level ``confidence``), with ν the degrees of freedom of the σ estimate:

* Cp, Pp (exact under normality, σ̂²ν/σ² is χ²ν): Ĉp·√(χ²_{α/2,ν}/ν) ≤ Cp ≤ Ĉp·√(χ²_{1−α/2,ν}/ν),
  χ²_{q,ν} the lower-q quantile (Montgomery §8.3.5).
* Cpk, Ppk, Cpu, Cpl, Ppu, Ppl: Bissell's normal approximation (A. F. Bissell, "How reliable is your
  capability index?", *Applied Statistics* 39, 1990, 331–340), with n = ν + 1:
  Ĉpk ± z_{1−α/2}·√(1/(9n) + Ĉpk²/(2(n − 1))).
* ν: N − 1 for the overall s; m(n − 1) for R̄/d₂ and s̄/c₄ from m subgroups of n, N − 1 for MR̄/d₂ —
  the degrees of freedom of the pooled variance. R̄/d₂ and MR̄/d₂ are somewhat less efficient than that
  (they carry less information than a pooled variance), so their intervals are a little too narrow: a
  reading aid, not a guarantee. A σ_w given by the caller comes with its own ν (default N − 1).

χ² quantiles are computed here (no scipy): the regularized incomplete gamma function by its series or
its continued fraction, inverted by safeguarded Newton steps; about 1e-13 relative for levels in
[0.001, 0.999] (tests: the closed forms for ν = 1 and 2, and the printed table; Wilson–Hilferty alone is
7 % low for the 2.5 % quantile at ν = 4 and negative at ν = 1, so it only gives the starting point).

Normality: Anderson–Darling on the values standardised by their own mean and s, with the small-sample
adjustment A*² = A²(1 + 0.75/n + 2.25/n²) and the p-value approximation of D'Agostino and Stephens
(*Goodness-of-Fit Techniques*, 1986, Table 4.9). The indices assume a stable, roughly normal process:
:attr:`Capability.caveats` lists why they should not be trusted — ``"non_normal"`` (p < 0.05: the
tails, which is what the indices are about, are not those of a normal law; use a transformation or a
percentile method), ``"normality_untested"`` (fewer than 8 values), ``"few_values"`` (fewer than 30:
the interval on Cpk is then wider than about ±0.36 at Cpk = 1.33), ``"not_in_control"`` (the caller says
the control chart shows special causes: capability of an unstable process predicts nothing).

Piston rings (docs/domain.md §3.5), spec 74.000 ± 0.05 mm, σ_w = R̄/d₂ from the first 4 subgroups of 5
(the tests use all 25):

>>> from cadence.analytics.spc.capability import capability, sigma_within
>>> subgroups = [[74.030, 74.002, 74.019, 73.992, 74.008], [73.995, 73.992, 74.001, 74.011, 74.004],
...              [73.998, 74.024, 74.021, 74.005, 74.002], [74.002, 73.996, 73.993, 74.015, 74.009]]
>>> within = sigma_within(subgroups)  # R̄/d₂, d₂ = 2.326 (tabulated)
>>> round(within.sigma, 5), within.dof
(0.01129, 16.0)
>>> result = capability(subgroups, lsl=73.95, usl=74.05, within=within)
>>> round(result.cp.value, 3), round(result.cpk.value, 3), round(result.ppk.value, 3)
(1.477, 1.301, 1.324)
>>> round(result.cp.low, 3), round(result.cp.high, 3)
(0.97, 1.983)
>>> result.caveats
('few_values',)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from cadence.analytics.spc.base import Convention
from cadence.analytics.spc.constants import c4, d2

__all__ = [
    "Capability",
    "Estimate",
    "Normality",
    "SigmaMethod",
    "WithinSigma",
    "anderson_darling",
    "capability",
    "chi2_quantile",
    "sigma_within",
]

NORMALITY_MIN_N = 8  # D'Agostino–Stephens: the adjusted statistic and its p-values hold from n = 8
FEW_VALUES = 30  # below this the 95 % interval on Cpk ≈ 1.33 spans more than about ±0.36 (Bissell)
NORMALITY_ALPHA = 0.05


class SigmaMethod(enum.StrEnum):
    """How σ_within is estimated."""

    RANGE = "range"  # R̄/d₂ over subgroups of equal size
    STDEV = "stdev"  # s̄/c₄ over subgroups of equal size
    MOVING_RANGE = "moving_range"  # MR̄/d₂(2) over the values in order (individuals)


@dataclass(frozen=True, slots=True)
class WithinSigma:
    """A short-term σ and the degrees of freedom its intervals use."""

    sigma: float
    dof: float
    method: SigmaMethod | None = None  # None: given by the caller


@dataclass(frozen=True, slots=True)
class Estimate:
    """An index and its confidence interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Normality:
    """Anderson–Darling test of normality: ``a2`` the statistic, ``a2_adjusted`` A*², ``p_value``."""

    n: int
    a2: float
    a2_adjusted: float
    p_value: float

    @property
    def plausible(self) -> bool:
        """Normality not rejected at 5 %."""
        return self.p_value >= NORMALITY_ALPHA


@dataclass(frozen=True, slots=True)
class Capability:
    """Capability indices of one characteristic; ``None`` where a specification limit or σ_within is
    missing. ``caveats`` (stable codes, see the module docstring) is empty when the indices can be read."""

    n: int
    mean: float
    sigma_overall: float
    sigma_within: float | None
    lsl: float | None
    usl: float | None
    confidence: float
    cp: Estimate | None
    cpu: Estimate | None
    cpl: Estimate | None
    cpk: Estimate | None
    pp: Estimate | None
    ppu: Estimate | None
    ppl: Estimate | None
    ppk: Estimate | None
    normality: Normality | None
    caveats: tuple[str, ...]

    @property
    def trustworthy(self) -> bool:
        """No reason to doubt the indices."""
        return not self.caveats


def _as_subgroups(subgroups: Sequence[Sequence[float]] | npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(subgroups, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError("subgroups must be a 2-D table, one row per subgroup of equal size")
    return array


def sigma_within(
    subgroups: Sequence[Sequence[float]] | npt.ArrayLike,
    method: SigmaMethod = SigmaMethod.RANGE,
    convention: Convention = Convention.TABULATED,
) -> WithinSigma:
    """σ_within from subgroups of equal size (R̄/d₂ or s̄/c₄), or from individual values in order
    (MR̄/d₂ with d₂ for n = 2; a 1-D sequence or a one-column table).

    >>> round(sigma_within([[1.0, 2.0], [2.0, 4.0], [3.0, 3.5]]).sigma, 4)  # R̄ = 1.1667, d₂(2) = 1.128
    1.0343
    >>> round(sigma_within([1.0, 2.0, 4.0, 3.0], SigmaMethod.MOVING_RANGE).sigma, 4)  # MR̄ = 4/3
    1.182
    """
    if method is SigmaMethod.MOVING_RANGE:
        values = np.asarray(subgroups, dtype=np.float64).ravel()
        if values.size < 2:
            raise ValueError("moving ranges need at least 2 values")
        mr_bar = float(np.mean(np.abs(np.diff(values))))
        return WithinSigma(mr_bar / d2(2, convention), float(values.size - 1), method)
    table = _as_subgroups(subgroups)
    m, n = table.shape
    if m < 1 or n < 2:
        raise ValueError("σ_within from subgroups needs subgroups of at least 2 values")
    if method is SigmaMethod.RANGE:
        r_bar = float(np.mean(table.max(axis=1) - table.min(axis=1)))
        sigma = r_bar / d2(n, convention)
    else:
        # c₄ is exact under both conventions (constants module): only d₂ is printed rounded.
        sigma = float(np.mean(table.std(axis=1, ddof=1))) / c4(n)
    return WithinSigma(sigma, float(m * (n - 1)), method)


def _lower_gamma_regularized(a: float, x: float) -> float:
    """P(a, x) = γ(a, x)/Γ(a), by the power series below a + 1 and the continued fraction for Q = 1 − P
    above (each converges fast on its side)."""
    if x <= 0.0:
        return 0.0
    log_prefactor = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        k = 0
        while abs(term) > abs(total) * 1e-17 and k < 10_000:
            k += 1
            term *= x / (a + k)
            total += term
        return min(1.0, total * math.exp(log_prefactor))
    # Q(a, x) = e^{-x} x^a / Γ(a) · 1/(x + 1 − a − 1(1 − a)/(x + 3 − a − 2(2 − a)/(x + 5 − a − …))),
    # evaluated by the modified Lentz method.
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return max(0.0, 1.0 - h * math.exp(log_prefactor))


def _chi2_cdf(x: float, dof: float) -> float:
    return _lower_gamma_regularized(dof / 2.0, x / 2.0)


def chi2_quantile(q: float, dof: float) -> float:
    """The lower-``q`` quantile of the χ² distribution with ``dof`` degrees of freedom (dof > 0, real).

    >>> round(chi2_quantile(0.975, 24), 3), round(chi2_quantile(0.025, 24), 3)
    (39.364, 12.401)
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    if not dof > 0:
        raise ValueError(f"dof must be > 0, got {dof}")
    # Start from Wilson–Hilferty (good except for small dof and the far tails), then Newton steps on the
    # cdf, kept inside a bracket that bisection shrinks whenever a step would leave it.
    z = NormalDist().inv_cdf(q)
    h = 2.0 / (9.0 * dof)
    x = max(dof * (1.0 - h + z * math.sqrt(h)) ** 3, 1e-12)
    lo, hi = 0.0, max(2.0 * x, dof + 10.0 * math.sqrt(2.0 * dof) + 10.0)
    while _chi2_cdf(hi, dof) < q:
        lo, hi = hi, 2.0 * hi
    half = dof / 2.0
    log_norm = half * math.log(2.0) + math.lgamma(half)
    for _ in range(200):
        f = _chi2_cdf(x, dof) - q
        if f < 0:
            lo = max(lo, x)
        else:
            hi = min(hi, x)
        density = math.exp((half - 1.0) * math.log(x) - x / 2.0 - log_norm)
        step = f / density if density > 0 else math.inf
        new = x - step
        if not lo < new < hi:
            new = (lo + hi) / 2.0
        if abs(new - x) <= 1e-14 * max(x, 1e-300):
            return new
        x = new
    return x


def anderson_darling(values: npt.ArrayLike) -> Normality:
    """Anderson–Darling test of normality with mean and σ estimated from the data (Stephens' case 3).

    A² = −n − (1/n) Σᵢ (2i − 1)[ln Φ(yᵢ) + ln Φ(−y₍ₙ₊₁₋ᵢ₎)], y the sorted standardised values;
    A*² = A²(1 + 0.75/n + 2.25/n²); p from D'Agostino and Stephens' four exponential pieces in A*².

    >>> result = anderson_darling([2.1, 2.4, 1.9, 2.0, 2.2, 2.6, 1.8, 2.3, 2.1, 2.0])
    >>> round(result.a2_adjusted, 3), result.plausible
    (0.219, True)
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    n = int(x.size)
    if n < NORMALITY_MIN_N:
        raise ValueError(f"Anderson–Darling needs at least {NORMALITY_MIN_N} values, got {n}")
    s = float(np.std(x, ddof=1))
    if s == 0.0:
        raise ValueError("all values are equal: normality cannot be tested")
    y = (x - float(np.mean(x))) / s
    # ln Φ(y) through erfc, which keeps its relative accuracy in the far tail where 1 − Φ would round to 1;
    # the floor only matters beyond ~38σ, where the statistic is enormous anyway.
    log_cdf = np.array([math.log(max(0.5 * math.erfc(-v / math.sqrt(2.0)), 1e-300)) for v in y.tolist()])
    i = np.arange(1, n + 1)
    a2 = float(-n - np.sum((2 * i - 1) * (log_cdf + _log_sf_reversed(y))) / n)
    adjusted = a2 * (1.0 + 0.75 / n + 2.25 / n**2)
    return Normality(n=n, a2=a2, a2_adjusted=adjusted, p_value=_ad_p_value(adjusted))


def _log_sf_reversed(y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """ln(1 − Φ(y₍ₙ₊₁₋ᵢ₎)) for i = 1…n, i.e. ln Φ(−y) of the values in reverse order."""
    return np.array([math.log(max(0.5 * math.erfc(v / math.sqrt(2.0)), 1e-300)) for v in y[::-1].tolist()])


def _ad_p_value(a: float) -> float:
    """D'Agostino and Stephens (1986), Table 4.9: p-value of the adjusted A*² (normal, both parameters
    estimated). The pieces meet within 0.003 at their boundaries."""
    if a >= 0.6:
        p = math.exp(1.2937 - 5.709 * a + 0.0186 * a * a)
    elif a >= 0.34:
        p = math.exp(0.9177 - 4.279 * a - 1.38 * a * a)
    elif a >= 0.2:
        p = 1.0 - math.exp(-8.318 + 42.796 * a - 59.938 * a * a)
    else:
        p = 1.0 - math.exp(-13.436 + 101.14 * a - 223.73 * a * a)
    return min(1.0, max(0.0, p))


def _ratio_interval(value: float, dof: float, confidence: float) -> Estimate:
    alpha = 1.0 - confidence
    low = value * math.sqrt(chi2_quantile(alpha / 2.0, dof) / dof)
    high = value * math.sqrt(chi2_quantile(1.0 - alpha / 2.0, dof) / dof)
    return Estimate(value, low, high)


def _bissell(value: float, dof: float, confidence: float) -> Estimate:
    n = dof + 1.0
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    half = z * math.sqrt(1.0 / (9.0 * n) + value * value / (2.0 * (n - 1.0)))
    return Estimate(value, value - half, value + half)


def _indices(
    mean: float, sigma: float, dof: float, *, lsl: float | None, usl: float | None, confidence: float
) -> tuple[Estimate | None, Estimate | None, Estimate | None, Estimate | None]:
    """(Cp, Cpu, Cpl, Cpk) for one σ; the same function gives (Pp, Ppu, Ppl, Ppk)."""
    cp = (
        _ratio_interval((usl - lsl) / (6.0 * sigma), dof, confidence)
        if lsl is not None and usl is not None
        else None
    )
    cpu = _bissell((usl - mean) / (3.0 * sigma), dof, confidence) if usl is not None else None
    cpl = _bissell((mean - lsl) / (3.0 * sigma), dof, confidence) if lsl is not None else None
    sides = [e for e in (cpu, cpl) if e is not None]
    cpk = min(sides, key=lambda e: e.value) if sides else None
    return cp, cpu, cpl, cpk


def _flatten(values: Sequence[float] | Sequence[Sequence[float]] | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """All the values in one array: a flat sequence, a table, or subgroups of unequal sizes."""
    try:
        return np.asarray(values, dtype=np.float64).ravel()
    except ValueError:  # ragged subgroups (numpy refuses an inhomogeneous table)
        return np.concatenate([np.asarray(row, dtype=np.float64).ravel() for row in values])  # type: ignore[union-attr]


def capability(
    values: Sequence[float] | Sequence[Sequence[float]] | npt.ArrayLike,
    *,
    lsl: float | None = None,
    usl: float | None = None,
    within: WithinSigma | float | None = None,
    confidence: float = 0.95,
    in_control: bool | None = None,
) -> Capability:
    """Capability of ``values`` (individual values, or subgroups whose values are all used) against the
    specification limits. ``within`` is σ_within — a :class:`WithinSigma` from :func:`sigma_within`, or a
    bare σ whose intervals then use N − 1 degrees of freedom; without it only Pp/Ppk are given.
    ``in_control=False`` (the control chart shows special causes) adds the ``"not_in_control"`` caveat.
    """
    x = _flatten(values)
    n = int(x.size)
    if lsl is None and usl is None:
        raise ValueError("capability needs at least one specification limit")
    if lsl is not None and usl is not None and not lsl < usl:
        raise ValueError(f"LSL must be below USL, got {lsl} and {usl}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n < 2:
        raise ValueError("capability needs at least 2 values")
    mean = float(np.mean(x))
    s = float(np.std(x, ddof=1))
    if s == 0.0:
        raise ValueError("all values are equal: no spread, capability is undefined")
    if isinstance(within, int | float):
        within = WithinSigma(float(within), float(n - 1))
    if within is not None and not within.sigma > 0:
        raise ValueError(f"σ_within must be > 0, got {within.sigma}")

    pp, ppu, ppl, ppk = _indices(mean, s, n - 1, lsl=lsl, usl=usl, confidence=confidence)
    if within is not None:
        cp, cpu, cpl, cpk = _indices(mean, within.sigma, within.dof, lsl=lsl, usl=usl, confidence=confidence)
    else:
        cp = cpu = cpl = cpk = None

    caveats: list[str] = []
    normality = anderson_darling(x) if n >= NORMALITY_MIN_N else None
    if normality is None:
        caveats.append("normality_untested")
    elif not normality.plausible:
        caveats.append("non_normal")
    if n < FEW_VALUES:
        caveats.append("few_values")
    if in_control is False:
        caveats.append("not_in_control")
    return Capability(
        n=n,
        mean=mean,
        sigma_overall=s,
        sigma_within=within.sigma if within is not None else None,
        lsl=lsl,
        usl=usl,
        confidence=confidence,
        cp=cp,
        cpu=cpu,
        cpl=cpl,
        cpk=cpk,
        pp=pp,
        ppu=ppu,
        ppl=ppl,
        ppk=ppk,
        normality=normality,
        caveats=tuple(caveats),
    )
