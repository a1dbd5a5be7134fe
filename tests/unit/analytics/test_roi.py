"""The ROI comparison: ratios of sums, differences, bootstrap intervals over days, verdicts in words."""

from __future__ import annotations

import numpy as np
import pytest

from cadence.analytics.roi import (
    MIN_DAYS,
    DayFigures,
    Metric,
    Verdict,
    compare,
)

H = 3600.0


def _day(
    *,
    planned_h: float = 16.0,
    pq: int = 2000,
    sq: int = 60,
    pri_s: float | None = 12.0,
    energy_kwh: float | None = 150.0,
    downtime_h: float = 2.0,
) -> DayFigures:
    gq = pq - sq
    return DayFigures(
        planned_s=planned_h * H,
        pq=pq,
        gq=gq,
        sq=sq,
        pri_gq_s=None if pri_s is None else gq * pri_s,
        energy_kwh=energy_kwh,
        downtime_s=downtime_h * H,
    )


def _noisy_days(
    rng: np.random.Generator, n: int, pq_mean: float, scrap: float, down_h: float
) -> list[DayFigures]:
    days = []
    for _ in range(n):
        planned_h = float(rng.choice([8.0, 16.0, 16.0, 24.0]))
        pq = int(rng.poisson(pq_mean * planned_h / 16))
        sq = int(rng.binomial(pq, scrap))
        days.append(
            _day(
                planned_h=planned_h,
                pq=pq,
                sq=sq,
                energy_kwh=float(rng.normal(9.0 * planned_h, 5.0)),
                downtime_h=float(rng.gamma(2.0, down_h / 2.0)),
            )
        )
    return days


def test_identical_periods_differ_by_zero_with_an_interval_around_zero() -> None:
    days = _noisy_days(np.random.default_rng(3), 20, 2000, 0.03, 2.0)
    result = compare(days, days, rng=np.random.default_rng(11))
    for m in result.metrics:
        assert m.difference == pytest.approx(0.0, abs=1e-12), m.metric
        assert m.relative == pytest.approx(0.0, abs=1e-12)
        assert m.low is not None and m.high is not None
        assert m.low < 0 < m.high, m
        assert m.verdict is Verdict.NOT_SIGNIFICANT
    assert not result.unreliable


def test_a_real_improvement_is_better_and_its_interval_excludes_zero() -> None:
    rng = np.random.default_rng(5)
    before = _noisy_days(rng, 30, 1800, 0.04, 3.0)
    after = _noisy_days(rng, 30, 2100, 0.015, 1.2)
    result = compare(before, after, rng=np.random.default_rng(1))
    y = result.metric(Metric.YIELD)
    assert y.low is not None and y.low > 0
    assert y.verdict is Verdict.BETTER
    scrap = result.metric(Metric.SCRAP_RATE)
    assert scrap.high is not None and scrap.high < 0
    assert scrap.verdict is Verdict.BETTER  # lower scrap is better
    assert result.metric(Metric.DOWNTIME).verdict is Verdict.BETTER
    assert result.metric(Metric.OEE).verdict is Verdict.BETTER
    # The same shift the other way round is worse, with the mirrored interval.
    back = compare(after, before, rng=np.random.default_rng(1))
    assert back.metric(Metric.YIELD).verdict is Verdict.WORSE
    assert back.metric(Metric.SCRAP_RATE).verdict is Verdict.WORSE


def test_known_answer_ratio_of_sums_not_mean_of_daily_ratios() -> None:
    # A short day (1 h, 10 good) and a long one (9 h, 900 good): 910 / 10 h = 91 per hour; the mean of
    # the daily yields would say (10 + 100) / 2 = 55.
    short = _day(planned_h=1, pq=10, sq=0, energy_kwh=5.0, downtime_h=0.5)
    long = _day(planned_h=9, pq=900, sq=0, energy_kwh=45.0, downtime_h=0.0)
    result = compare([short, long] * 3, [short, long] * 3, rng=np.random.default_rng(0))
    assert result.metric(Metric.YIELD).baseline == pytest.approx(91.0)
    assert result.metric(Metric.OEE).baseline == pytest.approx(910 * 12.0 / (10 * H))
    assert result.metric(Metric.ENERGY_PER_GOOD).baseline == pytest.approx(50.0 / 910)
    assert result.metric(Metric.DOWNTIME).baseline == pytest.approx(0.5 / 10 * 100)  # h per 100 h
    assert result.baseline.days == 6
    assert result.baseline.planned_h == pytest.approx(30.0)
    assert result.baseline.gq == 2730


def test_relative_difference_and_known_shift() -> None:
    before = [_day(pq=1000, sq=50), _day(pq=1000, sq=30)] * 5
    after = [_day(pq=1130, sq=50), _day(pq=1130, sq=30)] * 5
    y = compare(before, after, rng=np.random.default_rng(2)).metric(Metric.YIELD)
    assert y.baseline == pytest.approx((950 + 970) / 32)
    assert y.current == pytest.approx((1080 + 1100) / 32)
    assert y.relative == pytest.approx((1080 + 1100) / (950 + 970) - 1)
    assert y.relative_low is not None and y.relative_high is not None
    assert y.relative_low <= y.relative <= y.relative_high


def test_a_fixed_seed_gives_the_same_intervals() -> None:
    days_a = _noisy_days(np.random.default_rng(8), 15, 2000, 0.03, 2.0)
    days_b = _noisy_days(np.random.default_rng(9), 15, 2050, 0.03, 2.0)
    one = compare(days_a, days_b, rng=np.random.default_rng(42))
    two = compare(days_a, days_b, rng=np.random.default_rng(42))
    other = compare(days_a, days_b, rng=np.random.default_rng(43))
    assert one == two
    assert one.metric(Metric.YIELD).difference == other.metric(Metric.YIELD).difference
    assert one.metric(Metric.YIELD).low != other.metric(Metric.YIELD).low


def test_energy_counts_metered_days_only_and_says_no_data_without_a_meter() -> None:
    metered = [_day(pq=1000, sq=0, energy_kwh=100.0)] * 6
    unmetered = [_day(pq=3000, sq=0, energy_kwh=None)] * 6
    result = compare(metered + unmetered, metered, rng=np.random.default_rng(0))
    e = result.metric(Metric.ENERGY_PER_GOOD)
    # The good parts of unmetered days are not in the denominator: 100 kWh / 1000 parts in both.
    assert e.baseline == pytest.approx(0.1)
    assert e.difference == pytest.approx(0.0)
    assert result.baseline.energy_days == 6
    none = compare(unmetered, unmetered, rng=np.random.default_rng(0))
    n = none.metric(Metric.ENERGY_PER_GOOD)
    assert n.verdict is Verdict.NO_DATA
    assert n.baseline is None and n.current is None and n.difference is None
    assert none.baseline.energy_kwh is None


def test_oee_without_planned_cycle_time_is_no_data() -> None:
    days = [_day(pri_s=None)] * 6
    result = compare(days, [_day()] * 6, rng=np.random.default_rng(0))
    assert result.metric(Metric.OEE).verdict is Verdict.NO_DATA
    assert result.metric(Metric.YIELD).verdict is not Verdict.NO_DATA


def test_few_days_are_flagged_and_empty_days_are_left_out() -> None:
    closed = DayFigures(0.0, 0, 0, 0, 0.0, None, 0.0)
    few = [_day(pq=1000 + 10 * k) for k in range(MIN_DAYS - 1)] + [closed] * 5
    result = compare(few, [_day()] * 10, rng=np.random.default_rng(0))
    assert result.baseline.days == MIN_DAYS - 1
    assert result.unreliable
    enough = compare(
        [_day(pq=1000 + 10 * k) for k in range(MIN_DAYS)], [_day()] * 10, rng=np.random.default_rng(0)
    )
    assert not enough.unreliable


def test_an_empty_period_gives_no_data_everywhere() -> None:
    result = compare([], [_day()] * 6, rng=np.random.default_rng(0))
    assert all(m.verdict is Verdict.NO_DATA for m in result.metrics)
    assert result.baseline.days == 0 and result.unreliable


def test_scaled_changes_the_unit_and_keeps_the_verdict() -> None:
    before = _noisy_days(np.random.default_rng(1), 20, 2000, 0.03, 2.0)
    after = [
        DayFigures(d.planned_s, d.pq, d.gq, d.sq, d.pri_gq_s, (d.energy_kwh or 0) * 0.8, d.downtime_s)
        for d in _noisy_days(np.random.default_rng(2), 20, 2000, 0.03, 2.0)
    ]
    e = compare(before, after, rng=np.random.default_rng(3)).metric(Metric.ENERGY_PER_GOOD)
    co2 = e.scaled(52.0)
    assert co2.baseline == pytest.approx((e.baseline or 0) * 52)
    assert (co2.low, co2.high) == pytest.approx(((e.low or 0) * 52, (e.high or 0) * 52))
    assert co2.relative == e.relative and co2.verdict is e.verdict


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="confidence"):
        compare([_day()], [_day()], rng=np.random.default_rng(0), confidence=1.5)
    with pytest.raises(ValueError, match="resamples"):
        compare([_day()], [_day()], rng=np.random.default_rng(0), resamples=10)


def _delta_method_half_width(num: np.ndarray, den: np.ndarray) -> float:
    """Large-sample (linearisation) standard error of Σnum / Σden over iid days, times 1.96."""
    n = len(num)
    r = num.sum() / den.sum()
    residual = num - r * den
    var = n / (n - 1) * float((residual**2).sum()) / float(den.sum()) ** 2
    return 1.959964 * var**0.5


def test_bootstrap_agrees_with_the_closed_form_interval_on_many_days() -> None:
    """With 300 iid days per period, the bootstrap interval matches the delta-method normal interval."""
    rng = np.random.default_rng(2026)
    before = _noisy_days(rng, 300, 1900, 0.03, 2.0)
    after = _noisy_days(rng, 300, 2000, 0.025, 1.8)
    result = compare(before, after, rng=np.random.default_rng(7), resamples=4000)

    def cols(days: list[DayFigures]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        gq = np.array([d.gq for d in days], dtype=float)
        planned_h = np.array([d.planned_s / H for d in days])
        sq = np.array([d.sq for d in days], dtype=float)
        pq = np.array([d.pq for d in days], dtype=float)
        return gq, planned_h, sq, pq

    b_gq, b_h, b_sq, b_pq = cols(before)
    a_gq, a_h, a_sq, a_pq = cols(after)
    for metric, (bn, bd, an, ad) in {
        Metric.YIELD: (b_gq, b_h, a_gq, a_h),
        Metric.SCRAP_RATE: (b_sq, b_pq, a_sq, a_pq),
    }.items():
        m = result.metric(metric)
        expected = (an.sum() / ad.sum()) - (bn.sum() / bd.sum())
        half = (_delta_method_half_width(bn, bd) ** 2 + _delta_method_half_width(an, ad) ** 2) ** 0.5
        assert m.difference == pytest.approx(expected)
        assert m.low is not None and m.high is not None and m.half_width is not None
        assert m.half_width == pytest.approx(half, rel=0.08), metric
        assert (m.low + m.high) / 2 == pytest.approx(expected, abs=0.1 * half), metric


def test_interval_covers_the_true_difference_about_95_percent_of_the_time() -> None:
    """Coverage on repeated synthetic comparisons of 30 days: near the nominal 95 %."""
    rng = np.random.default_rng(12)
    true_before, true_after = 1900 / 16, 2000 / 16  # good parts per planned hour, scrap 0
    hits = 0
    runs = 150
    for _ in range(runs):
        before = [_day(planned_h=16, pq=int(rng.poisson(1900)), sq=0) for _ in range(30)]
        after = [_day(planned_h=16, pq=int(rng.poisson(2000)), sq=0) for _ in range(30)]
        m = compare(before, after, rng=rng, resamples=500).metric(Metric.YIELD)
        assert m.low is not None and m.high is not None
        hits += m.low <= true_after - true_before <= m.high
    assert 0.88 <= hits / runs <= 0.99


def test_energy_is_divided_by_the_good_parts_of_the_metered_presses_only() -> None:
    # Two presses pooled: one metered (1000 good, 100 kWh), one without a meter (3000 good).
    day = DayFigures(16 * H, 4000, 4000, 0, 4000 * 9.0, 100.0, 0.0, metered_gq=1000)
    result = compare([day] * 6, [day] * 6, rng=np.random.default_rng(0))
    assert result.metric(Metric.ENERGY_PER_GOOD).baseline == pytest.approx(0.1)
    assert result.baseline.energy_gq == 6000
