"""p, np, c and u charts: every limit qcc publishes for orangejuice and circuit, the out-of-control
samples, exclusion (given and iterative), variable sample sizes checked by hand, phase II streaming."""

from __future__ import annotations

import math

import pytest
from qcc_data import PUBLISHED, Count, Published, circuit, matches_printed, orangejuice

from cadence.analytics.spc import c as c_chart
from cadence.analytics.spc import np as np_chart
from cadence.analytics.spc import p as p_chart
from cadence.analytics.spc import u as u_chart


def _same(computed: tuple[float, float, float, float], printed: Published) -> None:
    center, sigma, lcl, ucl = computed
    for name, got, want in (
        ("center", center, printed.center),
        ("sigma", sigma, printed.sigma),
        ("lcl", lcl, printed.lcl),
        ("ucl", ucl, printed.ucl),
    ):
        assert matches_printed(got, want), f"{name}: {got!r} vs printed {want!r}"
        # qcc prints 7 significant digits: ours must round to exactly those.
        assert float(f"{got:.7g}") == want, f"{name}: {got!r} does not round to {want!r}"


def _phase(samples: list[Count], trial: bool) -> tuple[list[int], list[int]]:
    chosen = [s for s in samples if s.trial is trial]
    return [s.count for s in chosen], [s.size for s in chosen]


def test_p_chart_orangejuice_first_and_revised_limits() -> None:
    d, n = _phase(orangejuice(), True)
    assert len(d) == 30 and set(n) == {50}
    first = p_chart.phase_one(d, n, iterate=False)
    _same((first.center, first.sigma(50), *first.limits(50)), PUBLISHED["orangejuice.p"])
    chart = p_chart.PChart(first)
    assert [
        i + 1 for i, (dj, nj) in enumerate(zip(d, n, strict=True)) if chart.update(dj, nj).beyond_limits
    ] == [
        15,
        23,
    ]
    revised = p_chart.phase_one(d, n, excluded=[14, 22], iterate=False)
    assert revised.excluded == (14, 22)
    _same((revised.center, revised.sigma(50), *revised.limits(50)), PUBLISHED["orangejuice.p.revised"])


def test_p_chart_iterative_exclusion_goes_further_than_the_textbook() -> None:
    # Without known causes, iterating also drops sample 21 (20/50 = 0.40 > 0.389 once 15 and 23 are out),
    # which Montgomery keeps for lack of an assignable cause; then nothing else is out.
    d, n = _phase(orangejuice(), True)
    limits = p_chart.phase_one(d, n)
    assert limits.excluded == (14, 20, 22) and limits.iterations == 3
    assert limits.center == pytest.approx((sum(d) - 22 - 24 - 20) / (27 * 50), rel=1e-15)
    assert all(
        limits.limits(50)[0] <= dj / 50 <= limits.limits(50)[1]
        for j, dj in enumerate(d)
        if j not in limits.excluded
    )
    assert p_chart.phase_one(d, n, max_iterations=1).excluded == (14, 22)  # bounded


def test_np_chart_orangejuice() -> None:
    d, _ = _phase(orangejuice(), True)
    limits = np_chart.phase_one(d, 50, iterate=False)
    _same((limits.center, limits.sigma, limits.lcl, limits.ucl), PUBLISHED["orangejuice.np"])
    chart = np_chart.NpChart(limits)
    assert [i + 1 for i, dj in enumerate(d) if chart.update(dj).beyond_limits] == [15, 23]
    assert np_chart.phase_one(d, 50).excluded == (14, 20, 22)  # same decisions as the p chart


def test_c_chart_circuit_first_and_revised_limits() -> None:
    x, n = _phase(circuit(), True)
    assert len(x) == 26 and set(n) == {100}
    first = c_chart.phase_one(x, iterate=False)
    _same((first.center, first.sigma, first.lcl, first.ucl), PUBLISHED["circuit.c"])
    chart = c_chart.CChart(first)
    assert [i + 1 for i, xj in enumerate(x) if chart.update(xj).beyond_limits] == [6, 20]
    given = c_chart.phase_one(x, excluded=[5, 19], iterate=False)
    iterated = c_chart.phase_one(x)  # here iterating finds exactly the textbook's exclusions
    assert given == c_chart.CLimits(center=given.center, excluded=(5, 19), iterations=1)
    assert iterated.excluded == (5, 19) and iterated.iterations == 2 and iterated.center == given.center
    _same((given.center, given.sigma, given.lcl, given.ucl), PUBLISHED["circuit.c.revised"])


def test_u_chart_circuit_revised_limits_per_board() -> None:
    x, n = _phase(circuit(), True)
    limits = u_chart.phase_one(x, n, excluded=[5, 19], iterate=False)
    # qcc prints the per-board σ √ū and the limits for samples of 100 boards.
    _same((limits.center, limits.sigma(1), *limits.limits(100)), PUBLISHED["circuit.u.revised"])
    first = u_chart.phase_one(x, n, iterate=False)
    assert round(first.center, 4) == 0.1985  # docs/domain.md §3.5
    chart = u_chart.UChart(first)
    assert [
        i + 1 for i, (xj, nj) in enumerate(zip(x, n, strict=True)) if chart.update(xj, nj).beyond_limits
    ] == [
        6,
        20,
    ]


def test_phase_two_streams_against_frozen_limits() -> None:
    d1, n1 = _phase(orangejuice(), True)
    d2, n2 = _phase(orangejuice(), False)
    assert len(d2) == 24
    limits = p_chart.phase_one(d1, n1, excluded=[14, 22], iterate=False)
    chart = p_chart.PChart(limits)
    points = [chart.update(dj, nj) for dj, nj in zip(d2, n2, strict=True)]
    assert [p.index for p in points] == list(range(24))
    lcl, ucl = limits.limits(50)
    assert all((p.center, p.lcl, p.ucl) == (limits.center, lcl, ucl) for p in points)
    assert [p.value for p in points] == [dj / 50 for dj in d2]
    # After the machine adjustment the process runs far better (Montgomery): most points below the old
    # centre line, and sample 41 (2/50) even below the LCL, on the good side.
    assert [i + 31 for i, p in enumerate(points) if p.beyond_limits] == [41]
    assert points[10].lcl is not None and points[10].value < points[10].lcl
    assert sum(p.value < limits.center for p in points) >= 20


def test_p_chart_variable_sample_sizes_by_hand() -> None:
    # p̄ = 80/800 = 0.1, σ(n) = √(0.1·0.9/n) = 0.3/√n.
    limits = p_chart.phase_one([40, 12, 20, 8], [400, 100, 250, 50], iterate=False)
    assert limits.center == pytest.approx(0.1, rel=1e-15)
    expected = {
        400: (0.055, 0.145),  # ± 3·0.015
        100: (0.010, 0.190),  # ± 3·0.03
        250: (0.1 - 0.9 / math.sqrt(250), 0.1 + 0.9 / math.sqrt(250)),  # 0.0430790 / 0.1569210
        50: (0.0, 0.2272792206),  # 0.1 − 0.127279 < 0: clipped at 0
    }
    chart = p_chart.PChart(limits)
    for (d, n), value in zip(
        [(40, 400), (12, 100), (20, 250), (8, 50)], [0.1, 0.12, 0.08, 0.16], strict=True
    ):
        point = chart.update(d, n)
        assert point.value == pytest.approx(value)
        assert (point.lcl, point.ucl) == pytest.approx(expected[n], rel=1e-9, abs=1e-12)
        assert not point.beyond_limits
    assert chart.update(60, 400).beyond_limits  # 0.15 is out for a sample of 400 (UCL 0.145)…
    assert not chart.update(15, 100).beyond_limits  # …but in for a sample of 100 (UCL 0.19)
    assert p_chart.PLimits(center=0.9).limits(10)[1] == 1.0  # the upper limit is clipped at 1 too


def test_u_chart_variable_sample_sizes_by_hand() -> None:
    # ū = 150/60 = 2.5 defects per unit, σ(n) = √(2.5/n).
    limits = u_chart.phase_one([25, 100, 5, 20], [10, 40, 2.5, 7.5], iterate=False)
    assert limits.center == 2.5
    expected = {
        10: (1.0, 4.0),  # ± 3·0.5
        40: (1.75, 3.25),  # ± 3·0.25
        2.5: (0.0, 5.5),  # 2.5 − 3·1 < 0: clipped at 0
        7.5: (2.5 - math.sqrt(3.0), 2.5 + math.sqrt(3.0)),  # ± 3·√(1/3)
    }
    chart = u_chart.UChart(limits)
    for count, size in [(25, 10), (100, 40), (5, 2.5), (20, 7.5)]:
        point = chart.update(count, size)
        assert (point.lcl, point.ucl) == pytest.approx(expected[size], rel=1e-12, abs=1e-12)
    assert not chart.update(40, 10).beyond_limits  # on the UCL is not beyond it
    assert chart.update(41, 10).beyond_limits
    assert chart.update(60, 40).value == 1.5 and chart.update(60, 40).beyond_limits  # below 1.75


@pytest.mark.parametrize(
    "call",
    [
        lambda: p_chart.phase_one([5, 60], [50, 50]),  # more nonconforming than inspected
        lambda: p_chart.phase_one([5], [50, 50]),
        lambda: p_chart.phase_one([5, 6], [50, 50], excluded=[0, 1]),
        lambda: p_chart.PChart(p_chart.PLimits(center=0.1)).update(3, 0),
        lambda: np_chart.phase_one([5, 51], 50),
        lambda: np_chart.phase_one([5], 0),
        lambda: c_chart.phase_one([3, -1]),
        lambda: u_chart.phase_one([3, 4], [1, 0]),
        lambda: u_chart.UChart(u_chart.ULimits(center=1.0)).update(-2, 1),
    ],
)
def test_bad_input_is_refused(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]
