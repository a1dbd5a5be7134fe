"""C-MAPSS arithmetic: RMSE, the PHM08 asymmetric score and the training RUL targets, against hand values.

The formulas are those of ``datasets/cmapss/SOURCE.md`` (Saxena et al. 2008), with ``d = predicted - true``:
RMSE = sqrt(mean(d²)); PHM08 s = Σ exp(-d/13) - 1 for d < 0 (early), exp(d/10) - 1 for d >= 0 (late).
Expected values are written out by hand or computed here with plain ``math`` loops, never with the module.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cadence.analytics.cmapss import (
    PIECEWISE_RUL_CAP,
    TEST_MIN_KEPT_CYCLES,
    cut_like_test,
    last_rows,
    phm08_score,
    phm08_terms,
    prediction_errors,
    rmse,
    training_rul,
)

E = math.e


def test_a_perfect_predictor_scores_zero_on_both_metrics() -> None:
    # SOURCE.md: "a perfect predictor has RMSE 0 and score 0".
    truth = [112, 98, 69, 82, 91]
    assert rmse(truth, truth) == 0.0
    assert phm08_score(truth, truth) == 0.0


def test_rmse_on_hand_made_vectors() -> None:
    assert rmse([110, 90], [100, 100]) == 10.0
    assert rmse([103], [100]) == 3.0
    # sqrt((10² + 13²) / 2) = sqrt(134.5)
    assert rmse([110, 87], [100, 100]) == pytest.approx(11.597413504743201, abs=1e-12)
    # sqrt((1 + 4 + 9 + 16) / 4) = sqrt(7.5): the mean is over units, not a sum
    assert rmse([1, 2, 3, 4], [0, 0, 0, 0]) == pytest.approx(math.sqrt(7.5), abs=1e-12)


def test_the_sign_convention_is_predicted_minus_true() -> None:
    assert prediction_errors([110, 90], [100, 100]).tolist() == [10.0, -10.0]


def test_phm08_terms_on_hand_made_errors() -> None:
    terms = phm08_terms([90, 100, 110, 87, 120], [100, 100, 100, 100, 100])
    assert terms.tolist() == pytest.approx(
        [
            math.exp(10 / 13) - 1,  # early by 10: 1.1581…
            0.0,  # exact
            E - 1,  # late by 10: exp(10/10) - 1 = 1.7183…
            E - 1,  # early by 13: exp(13/13) - 1, the same cost as late by 10
            E**2 - 1,  # late by 20
        ],
        abs=1e-12,
    )
    assert terms[0] == pytest.approx(1.1581055339484458, abs=1e-12)


def test_phm08_score_is_the_sum_of_the_terms() -> None:
    predicted = [90, 100, 110, 120, 80]
    true = [100] * 5
    expected = (math.exp(10 / 13) - 1) + 0.0 + (E - 1) + (E**2 - 1) + (math.exp(20 / 13) - 1)
    assert phm08_score(predicted, true) == pytest.approx(expected, abs=1e-12)
    assert phm08_score([110, 87], [100, 100]) == pytest.approx(2 * (E - 1), abs=1e-12)


@pytest.mark.parametrize("k", [1, 5, 10, 13, 30, 100])
def test_late_predictions_cost_more_than_early_ones_of_the_same_size(k: int) -> None:
    late = phm08_score([100 + k], [100])
    early = phm08_score([100 - k], [100])
    assert late > early > 0
    # while RMSE is symmetric
    assert rmse([100 + k], [100]) == rmse([100 - k], [100]) == k


def test_the_score_grows_with_the_number_of_units_but_rmse_does_not() -> None:
    one = ([110], [100])
    ten = ([110] * 10, [100] * 10)
    assert phm08_score(*ten) == pytest.approx(10 * phm08_score(*one))
    assert rmse(*ten) == rmse(*one)


def test_each_branch_is_computed_only_on_its_side() -> None:
    # Early by 8000 cycles: exp(8000/13) is finite, but evaluating the late formula on it as well
    # (np.where over exp(d/10) - 1) underflows; with every floating-point warning raised it must still work.
    with np.errstate(all="raise"):
        score = phm08_score([0.0], [8000.0])
    assert score == pytest.approx(math.expm1(8000 / 13), rel=1e-12)


def test_small_errors_keep_their_precision() -> None:
    # expm1, not exp(x) - 1: a 1e-9 cycle error costs 1e-10 in the late branch.
    assert phm08_score([100 + 1e-9], [100]) == pytest.approx(1e-10, rel=1e-6)


@pytest.mark.parametrize(
    ("predicted", "true", "match"),
    [
        ([1, 2], [1], "2 predictions for 1 true values"),
        ([], [], "no units"),
        ([float("nan")], [1], "finite"),
        ([[1, 2]], [[1, 2]], "1-D"),
    ],
)
def test_bad_metric_inputs_are_refused(predicted: list[object], true: list[object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rmse(predicted, true)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=match):
        phm08_score(predicted, true)  # type: ignore[arg-type]


def test_training_rul_is_last_cycle_minus_cycle() -> None:
    assert training_rul([1, 1, 1, 2, 2], [1, 2, 3, 1, 2]).tolist() == [2, 1, 0, 1, 0]
    # order of rows does not matter
    assert training_rul([2, 1, 2, 1], [1, 3, 2, 1]).tolist() == [1, 0, 0, 2]


def test_the_piecewise_linear_cap_flattens_the_healthy_start() -> None:
    units = [5] * 200
    cycles = list(range(1, 201))
    rul = training_rul(units, cycles, cap=PIECEWISE_RUL_CAP)
    assert PIECEWISE_RUL_CAP == 125.0
    assert rul[:75].tolist() == [125.0] * 75  # cycles 1..75 have 199..125 left: capped
    assert rul[75:].tolist() == [float(r) for r in range(124, -1, -1)]  # then linear down to 0
    assert training_rul([7, 7, 7, 7], [1, 2, 3, 4], cap=2).tolist() == [2, 2, 1, 0]


def test_training_rul_matches_a_plain_loop() -> None:
    rng = np.random.default_rng(6)
    lengths = rng.integers(1, 40, size=12)
    units = np.repeat(np.arange(1, 13), lengths)
    cycles = np.concatenate([np.arange(1, n + 1) for n in lengths])
    order = rng.permutation(units.size)
    units, cycles = units[order], cycles[order]
    last: dict[int, int] = {}
    for u, c in zip(units.tolist(), cycles.tolist(), strict=True):
        last[u] = max(last.get(u, 0), c)
    expected = [min(last[u] - c, 20) for u, c in zip(units.tolist(), cycles.tolist(), strict=True)]
    assert training_rul(units, cycles, cap=20).tolist() == expected


@pytest.mark.parametrize("cap", [0, -5, float("nan")])
def test_a_cap_must_be_positive(cap: float) -> None:
    with pytest.raises(ValueError, match="cap"):
        training_rul([1], [1], cap=cap)


def test_training_rul_refuses_mismatched_columns() -> None:
    with pytest.raises(ValueError, match="one length"):
        training_rul([1, 1], [1])


def test_last_rows_finds_where_each_unit_ends() -> None:
    assert last_rows([1, 1, 2, 2, 2], [1, 2, 1, 2, 3]).tolist() == [1, 4]
    # unsorted rows: unit 3 ends at row 0 (cycle 9), unit 1 at row 2 (cycle 2)
    assert last_rows([3, 1, 1, 3], [9, 1, 2, 4]).tolist() == [2, 0]


def _run_to_failure(lengths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Units 1..n with cycles 1..length each, in file order."""
    units = np.concatenate([np.full(n, i + 1) for i, n in enumerate(lengths)])
    cycles = np.concatenate([np.arange(1, n + 1) for n in lengths])
    return units, cycles


def test_a_cut_keeps_a_prefix_whose_rul_is_the_drawn_value() -> None:
    lengths = [128, 200, 362, 150]
    units, cycles = _run_to_failure(lengths)
    pool = [7, 20, 50, 97, 145]
    mask, ids, rul = cut_like_test(units, cycles, pool, np.random.default_rng(3))
    assert ids.tolist() == [1, 2, 3, 4]
    for unit, length, r in zip(ids.tolist(), lengths, rul.tolist(), strict=True):
        kept = cycles[mask & (units == unit)]
        # cycles 1..k without a gap, k = failure cycle - drawn RUL, and never fewer than the test's 31
        assert kept.tolist() == list(range(1, length - r + 1))
        assert r in pool
        assert length - r >= TEST_MIN_KEPT_CYCLES
    # the 128-cycle unit may lose at most 128 - 31 = 97 cycles: never 145
    assert rul[0] != 145


def test_the_same_seed_gives_the_same_cuts_and_another_seed_other_ones() -> None:
    units, cycles = _run_to_failure([300] * 40)
    pool = list(range(0, 150))
    first = cut_like_test(units, cycles, pool, np.random.default_rng(11))
    again = cut_like_test(units, cycles, pool, np.random.default_rng(11))
    other = cut_like_test(units, cycles, pool, np.random.default_rng(12))
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[2], again[2])
    assert not np.array_equal(first[2], other[2])


def test_drawn_ruls_follow_the_pool_with_its_repeats() -> None:
    # 1 000 long units, pool {10: 3 times, 100: once}: about 75 % of the cuts leave RUL 10.
    units, cycles = _run_to_failure([400] * 1000)
    _, _, rul = cut_like_test(units, cycles, [10, 10, 10, 100], np.random.default_rng(5))
    assert set(rul.tolist()) == {10, 100}
    # binomial(1000, 0.75): sd 13.7, so ±60 is more than 4 sd
    assert abs(int(np.sum(rul == 10)) - 750) < 60


def test_a_short_unit_only_draws_the_ruls_that_leave_enough_cycles() -> None:
    units, cycles = _run_to_failure([40] * 200)
    _, _, rul = cut_like_test(units, cycles, [5, 9, 10, 60], np.random.default_rng(1))
    # 40 - 31 = 9: 10 and 60 would leave too few cycles; 5 and 9 are both drawn
    assert set(rul.tolist()) == {5, 9}


def test_rows_in_any_order_are_cut_by_their_cycle() -> None:
    units = np.array([2, 1, 2, 1, 2, 1])
    cycles = np.array([3, 1, 1, 3, 2, 2])
    mask, ids, rul = cut_like_test(units, cycles, [1], np.random.default_rng(0), min_kept=1)
    assert ids.tolist() == [1, 2] and rul.tolist() == [1, 1]
    assert mask.tolist() == [False, True, True, False, True, True]


@pytest.mark.parametrize(
    ("lengths", "pool", "match"),
    [([20], [5], "unit 1 has 20 cycles"), ([100], [], "pool"), ([100], [-1, 5], "pool")],
)
def test_impossible_cuts_are_refused(lengths: list[int], pool: list[int], match: str) -> None:
    units, cycles = _run_to_failure(lengths)
    with pytest.raises(ValueError, match=match):
        cut_like_test(units, cycles, pool, np.random.default_rng(0))
