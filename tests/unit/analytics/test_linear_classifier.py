"""LinearClassifier: the format checks and the arithmetic, without scikit-learn."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

from cadence.analytics.linear_classifier import FORMAT, LinearClassifier
from cadence.errors import ModelInvalid

THREE: dict[str, Any] = {
    "format": FORMAT,
    "classes": [3, 20, 100],
    "features": ["t1", "t2"],
    "mean": [40.0, 50.0],
    "scale": [2.0, 4.0],
    "coef": [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]],
    "intercept": [0.0, 0.5, -0.5],
}


def test_multinomial_probabilities_are_a_softmax_of_the_standardised_scores() -> None:
    model = LinearClassifier.from_dict(THREE)
    z = np.array([(42.0 - 40.0) / 2.0, (46.0 - 50.0) / 4.0])  # [1, -1]
    scores = np.array([z[0], z[1] + 0.5, -z[0] - z[1] - 0.5])
    expected = np.exp(scores) / np.exp(scores).sum()
    proba = model.predict_proba({"t2": 46.0, "t1": 42.0})
    assert list(proba) == [3, 20, 100]
    np.testing.assert_allclose(list(proba.values()), expected, rtol=1e-15)
    np.testing.assert_allclose(model.probabilities([42.0, 46.0]), expected, rtol=1e-15)
    assert model.predict([42.0, 46.0]) == 3


def test_extreme_scores_stay_finite() -> None:
    model = LinearClassifier.from_dict(THREE)
    proba = model.probabilities([40.0 + 2e6, 50.0])
    assert np.all(np.isfinite(proba)) and proba[0] == 1.0
    binary = LinearClassifier.from_dict(
        {**THREE, "classes": ["a", "b"], "coef": [[1.0, 0.0]], "intercept": [0.0]}
    )
    assert binary.probabilities([40.0 - 2e6, 50.0]).tolist() == [1.0, 0.0]
    p = binary.probabilities([41.0, 50.0])[1]
    assert math.isclose(p, 1.0 / (1.0 + math.exp(-0.5)), rel_tol=1e-15)


def test_round_trip_through_the_plain_form() -> None:
    model = LinearClassifier.from_dict(THREE)
    again = LinearClassifier.from_dict(model.as_dict())
    assert again.as_dict() == model.as_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "cadence.linear-classifier/2"}, "is not 'cadence.linear-classifier/1'"),
        ({"classes": ["only"]}, "at least two classes"),
        ({"classes": [1, 1, 2]}, "repeats a class"),
        ({"classes": [True, False, None]}, "is not a string or a number"),
        ({"features": ["t1", "t1"]}, "repeats a name"),
        ({"features": "t1"}, "must list feature names"),
        ({"mean": [40.0]}, "'mean' has 1 values for 2 features"),
        ({"scale": [2.0, 0.0]}, "'scale' must be > 0"),
        ({"scale": [2.0, "wide"]}, "'scale' is not an array of numbers"),
        ({"coef": [[1.0, 0.0], [0.0, 1.0]]}, "'coef' has shape \\(2, 2\\), expected \\(3, 2\\)"),
        ({"coef": [1.0, 0.0]}, "'coef' has 1 dimension\\(s\\), expected 2"),
        ({"intercept": [0.0, float("nan"), 0.0]}, "'intercept' holds a non-finite number"),
        ({"intercept": [0.0]}, "'intercept' has 1 values, expected 3"),
    ],
)
def test_malformed_models_are_refused_with_the_field(change: dict[str, Any], message: str) -> None:
    broken = {**copy.deepcopy(THREE), **change}
    with pytest.raises(ModelInvalid, match=message) as refused:
        LinearClassifier.from_dict(broken)
    assert refused.value.code == "learning.model_invalid"


def test_missing_fields_and_values_are_named() -> None:
    partial = {k: v for k, v in THREE.items() if k not in ("scale", "coef")}
    with pytest.raises(ModelInvalid, match="lacks the field\\(s\\) scale, coef"):
        LinearClassifier.from_dict(partial)
    model = LinearClassifier.from_dict(THREE)
    with pytest.raises(ModelInvalid, match="no value for feature\\(s\\) t2"):
        model.predict_proba({"t1": 1.0})
    with pytest.raises(ModelInvalid, match="expected 2 feature values"):
        model.predict_proba([1.0, 2.0, 3.0])
