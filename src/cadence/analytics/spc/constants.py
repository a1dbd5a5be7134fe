"""Control-chart constants d₂, d₃, c₄ and the factors built on them, under both conventions.

* ``Convention.EXACT``: computed here from first principles (normal parent, subgroup size n):
  d₂ = E[R/σ] = ∫ [1 − Φ(x)ⁿ − (1 − Φ(x))ⁿ] dx; d₃ = sd(R/σ) from E[R²] = ∫∫ w² f(x, w) dx dw, f the
  joint density of the subgroup minimum x and range w; c₄ = E[s/σ] = √(2/(n−1)) Γ(n/2)/Γ((n−1)/2).
  The factors follow: A₂ = 3/(d₂√n), D₃,₄ = 1 ∓ 3d₃/d₂, A₃ = 3/(c₄√n), B₃,₄ = 1 ∓ 3√(1−c₄²)/c₄,
  E₂ = 3/d₂ (lower factors floored at 0).
* ``Convention.TABULATED``: the factor table as printed in Montgomery, *Introduction to Statistical
  Quality Control*, Appendix VI "Factors for constructing variables control charts" (the ASTM table
  every SPC text reprints: d₂, d₃, A₂, A₃, B₃, B₄, D₃, D₄ to three decimals, c₄ to four), for
  n = 2…25. E₂ is not in that table; the AIAG SPC manual prints it as 3/d₂ rounded to three decimals
  (2.660, 1.772, … for n = 2…10), which is what :data:`Convention.TABULATED` gives for every n.

Charts do not compute limits from the rounded A₂ or D₄: like qcc (R package, the reference our tests
reproduce) they estimate σ and build the limits from it, with :func:`sigma_constants`. Under
``TABULATED`` that is qcc's choice exactly: d₂ as printed (three decimals, e.g. 2.326 — the only place
where the book's rounding changes the numbers, since σ̂ = R̄/d₂), d₃ from qcc's own table (seven
decimals, its option ``se.R.unscaled``, e.g. d₃(5) = 0.8640855, a little above the exact 0.8640819 but
what the published R-chart limits need) and c₄ computed. Under ``EXACT`` all three are computed.

>>> f = factors(5)
>>> f.d2, f.A2, f.D4, f.c4, f.B4
(2.326, 0.577, 2.114, 0.94, 2.089)
>>> e = factors(5, Convention.EXACT)
>>> round(e.d2, 4), round(e.d3, 4), round(e.A2, 4), round(e.D4, 4), round(e.c4, 4)
(2.3259, 0.8641, 0.5768, 2.1145, 0.94)
>>> sigma_constants(5)
SigmaConstants(n=5, d2=2.326, d3=0.8640855, c4=0.9399856...)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cadence.analytics.spc.base import Convention

__all__ = [
    "N_MAX",
    "N_MIN",
    "Factors",
    "SigmaConstants",
    "c4",
    "d2",
    "d3",
    "factors",
    "sigma_constants",
]

N_MIN = 2
N_MAX = 25

# Montgomery, Introduction to Statistical Quality Control, Appendix VI, as printed, row n = 2…25:
# A2, A3, c4, B3, B4, d2, d3, D3, D4. Transcribed by hand; test_constants checks every entry against the
# exact value rounded to the printed decimals: they agree except in the last digit of eight entries where
# the book rounded from already-rounded d2 and d3 (D4 at n = 3 and 18, d3 at 19, D3 and D4 at 19 and 22,
# D3 at 24), which test_constants lists so that a transcription slip cannot hide among them.
_PRINTED: dict[int, tuple[float, ...]] = {
    2: (1.880, 2.659, 0.7979, 0.0, 3.267, 1.128, 0.853, 0.0, 3.267),
    3: (1.023, 1.954, 0.8862, 0.0, 2.568, 1.693, 0.888, 0.0, 2.574),
    4: (0.729, 1.628, 0.9213, 0.0, 2.266, 2.059, 0.880, 0.0, 2.282),
    5: (0.577, 1.427, 0.9400, 0.0, 2.089, 2.326, 0.864, 0.0, 2.114),
    6: (0.483, 1.287, 0.9515, 0.030, 1.970, 2.534, 0.848, 0.0, 2.004),
    7: (0.419, 1.182, 0.9594, 0.118, 1.882, 2.704, 0.833, 0.076, 1.924),
    8: (0.373, 1.099, 0.9650, 0.185, 1.815, 2.847, 0.820, 0.136, 1.864),
    9: (0.337, 1.032, 0.9693, 0.239, 1.761, 2.970, 0.808, 0.184, 1.816),
    10: (0.308, 0.975, 0.9727, 0.284, 1.716, 3.078, 0.797, 0.223, 1.777),
    11: (0.285, 0.927, 0.9754, 0.321, 1.679, 3.173, 0.787, 0.256, 1.744),
    12: (0.266, 0.886, 0.9776, 0.354, 1.646, 3.258, 0.778, 0.283, 1.717),
    13: (0.249, 0.850, 0.9794, 0.382, 1.618, 3.336, 0.770, 0.307, 1.693),
    14: (0.235, 0.817, 0.9810, 0.406, 1.594, 3.407, 0.763, 0.328, 1.672),
    15: (0.223, 0.789, 0.9823, 0.428, 1.572, 3.472, 0.756, 0.347, 1.653),
    16: (0.212, 0.763, 0.9835, 0.448, 1.552, 3.532, 0.750, 0.363, 1.637),
    17: (0.203, 0.739, 0.9845, 0.466, 1.534, 3.588, 0.744, 0.378, 1.622),
    18: (0.194, 0.718, 0.9854, 0.482, 1.518, 3.640, 0.739, 0.391, 1.608),
    19: (0.187, 0.698, 0.9862, 0.497, 1.503, 3.689, 0.734, 0.403, 1.597),
    20: (0.180, 0.680, 0.9869, 0.510, 1.490, 3.735, 0.729, 0.415, 1.585),
    21: (0.173, 0.663, 0.9876, 0.523, 1.477, 3.778, 0.724, 0.425, 1.575),
    22: (0.167, 0.647, 0.9882, 0.534, 1.466, 3.819, 0.720, 0.434, 1.566),
    23: (0.162, 0.633, 0.9887, 0.545, 1.455, 3.858, 0.716, 0.443, 1.557),
    24: (0.157, 0.619, 0.9892, 0.555, 1.445, 3.895, 0.712, 0.451, 1.548),
    25: (0.153, 0.606, 0.9896, 0.565, 1.435, 3.931, 0.708, 0.459, 1.541),
}

# qcc's d3 table (option se.R.unscaled of luca-scr/qcc, commit af35099, n = 2…25): d3 to seven decimals.
# qcc's R-chart limits use it, so TABULATED charts do too (the printed 0.864 would move the pistonrings
# R-chart UCL by 5e-5 relative). Its values run slightly high: by 8e-7 at n = 2, where d3 = √(2 − 4/π) is
# known in closed form and EXACT reproduces it, growing to 1.2e-5 at n = 25, still within half a unit of
# the fourth decimal (test_constants).
_QCC_D3: tuple[float, ...] = (
    0.8525033, 0.8883697, 0.8798108, 0.8640855, 0.8480442, 0.8332108, 0.8198378, 0.8078413,
    0.7970584, 0.7873230, 0.7784873, 0.7704257, 0.7630330, 0.7562217, 0.7499188, 0.7440627,
    0.7386021, 0.7334929, 0.7286980, 0.7241851, 0.7199267, 0.7158987, 0.7120802, 0.7084528,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Factors:
    """The constants for subgroup size ``n``: d₂, d₃ (range), c₄ (standard deviation) and the limit factors
    A₂, D₃, D₄ (X̄-R), A₃, B₃, B₄ (X̄-S), E₂ (individuals from moving ranges of span n)."""

    n: int
    d2: float
    d3: float
    c4: float
    A2: float
    A3: float
    D3: float
    D4: float
    B3: float
    B4: float
    E2: float


@dataclass(frozen=True, slots=True)
class SigmaConstants:
    """What a chart uses to estimate σ and place its limits: σ̂ = R̄/d₂ or s̄/c₄; sd(R) = d₃σ;
    sd(s) = σ√(1 − c₄²)."""

    n: int
    d2: float
    d3: float
    c4: float


def _check(n: int) -> None:
    if not N_MIN <= n <= N_MAX:
        raise ValueError(f"subgroup size must be between {N_MIN} and {N_MAX}, got {n}")


def c4(n: int) -> float:
    """E[s]/σ for a normal subgroup of ``n`` (s with the n − 1 denominator), exact via ``lgamma``.

    >>> round(c4(2), 6), round(c4(25), 6)
    (0.797885, 0.98964)
    """
    _check(n)
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2.0) - math.lgamma((n - 1) / 2.0))


# Quadrature grid. Step 0.02 and span ±9: the integrands are smooth and decay like the normal density at
# both ends, where the trapezoid rule converges faster than any power of the step (halving the step moves
# no value by more than 1e-9; n = 2 matches the closed forms 2/√π and √(2 − 4/π) to 1e-12). The whole
# table costs a few tens of milliseconds, computed once on first use, never at import.
_H = 0.02
_SPAN = 9.0
_W_MAX = 14.0  # the range of 25 standard normals exceeds 14 with probability far below 1e-30


@cache
def _exact_d2_d3() -> tuple[tuple[float, ...], tuple[float, ...]]:
    nx = round(2 * _SPAN / _H) + 1
    nw = round(_W_MAX / _H) + 1
    t = -_SPAN + _H * np.arange(nx + nw - 1)
    big_phi = np.array([0.5 * math.erfc(-float(v) / math.sqrt(2.0)) for v in t])
    small_phi = np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    x_phi, x_small = big_phi[:nx], small_phi[:nx]
    # d2 = ∫ [1 − Φⁿ − (1 − Φ)ⁿ] dx: one integral over the whole line.
    # E[R²] = ∫∫ w² n(n−1) φ(x) φ(x+w) [Φ(x+w) − Φ(x)]ⁿ⁻² dw dx, the range w ≥ 0 starting at the minimum x.
    # With w on the x grid, x + w is a grid point: row i, column j of a sliding window is x_i + w_j.
    upper = sliding_window_view(big_phi, nw)[:nx]
    dens = sliding_window_view(small_phi, nw)[:nx]
    spread = upper - x_phi[:, None]
    w2 = (_H * np.arange(nw)) ** 2
    base = x_small[:, None] * dens * w2[None, :]
    power = np.ones_like(spread)  # [Φ(x+w) − Φ(x)]ⁿ⁻², starting at n = 2
    d2s: list[float] = []
    d3s: list[float] = []
    for n in range(N_MIN, N_MAX + 1):
        mean = float(np.sum(1.0 - x_phi**n - (1.0 - x_phi) ** n) * _H)
        second = float(n * (n - 1) * np.sum(base * power) * _H * _H)
        d2s.append(mean)
        d3s.append(math.sqrt(second - mean * mean))
        power *= spread
    return tuple(d2s), tuple(d3s)


def d2(n: int, convention: Convention = Convention.TABULATED) -> float:
    """E[R]/σ for a normal subgroup of ``n``: printed (three decimals) or computed.

    >>> d2(2), round(d2(2, Convention.EXACT), 6)
    (1.128, 1.128379)
    """
    _check(n)
    if convention is Convention.TABULATED:
        return _PRINTED[n][5]
    return _exact_d2_d3()[0][n - N_MIN]


def d3(n: int, convention: Convention = Convention.TABULATED) -> float:
    """sd(R)/σ for a normal subgroup of ``n``: qcc's seven-decimal table (``TABULATED``; the printed table
    has it to three decimals, see :func:`factors`) or computed.

    >>> d3(5), round(d3(5, Convention.EXACT), 7)
    (0.8640855, 0.8640819)
    """
    _check(n)
    if convention is Convention.TABULATED:
        return _QCC_D3[n - N_MIN]
    return _exact_d2_d3()[1][n - N_MIN]


def sigma_constants(n: int, convention: Convention = Convention.TABULATED) -> SigmaConstants:
    """d₂, d₃, c₄ as the charts use them (qcc's choice under ``TABULATED``, see the module docstring)."""
    return SigmaConstants(n=n, d2=d2(n, convention), d3=d3(n, convention), c4=c4(n))


@cache
def factors(n: int, convention: Convention = Convention.TABULATED) -> Factors:
    """Every constant for subgroup size ``n`` (2…25): the printed table or the exact values.

    >>> factors(7).D3, round(factors(7, Convention.EXACT).D3, 4)
    (0.076, 0.0757)
    """
    _check(n)
    if convention is Convention.TABULATED:
        a2, a3, c4_, b3, b4, d2_, d3_, dd3, dd4 = _PRINTED[n]
        return Factors(n, d2_, d3_, c4_, a2, a3, dd3, dd4, b3, b4, round(3.0 / d2_, 3))
    d2_, d3_, c4_ = d2(n, convention), d3(n, convention), c4(n)
    root_n = math.sqrt(n)
    r_spread = 3.0 * d3_ / d2_
    s_spread = 3.0 * math.sqrt(1.0 - c4_ * c4_) / c4_
    return Factors(
        n=n,
        d2=d2_,
        d3=d3_,
        c4=c4_,
        A2=3.0 / (d2_ * root_n),
        A3=3.0 / (c4_ * root_n),
        D3=max(0.0, 1.0 - r_spread),
        D4=1.0 + r_spread,
        B3=max(0.0, 1.0 - s_spread),
        B4=1.0 + s_spread,
        E2=3.0 / d2_,
    )
