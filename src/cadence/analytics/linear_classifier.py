"""A fitted linear classifier evaluated with numpy alone: how long-running processes use a worker's model.

The learning worker (:mod:`cadence.learning.jobs`, scikit-learn) fits a standardised logistic regression
and returns it as plain numbers, format ``cadence.linear-classifier/1``::

    {"format": "cadence.linear-classifier/1",
     "classes": [...],              # class labels (str, int or float), in the order of the probabilities
     "features": [...],             # feature names, in the order of the columns of X
     "mean": [...], "scale": [...], # standardisation: z = (x - mean) / scale, one value per feature
     "coef": [[...], ...],          # one row per class, or a single row for two classes
     "intercept": [...]}            # one value per row of coef

The probabilities are those of scikit-learn's ``LogisticRegression.predict_proba``: a softmax of the
decision values when there is one row per class (multinomial), the logistic function of the single
decision value when two classes share one row (``[1 - p, p]``, ``p`` the second class's).

>>> model = LinearClassifier.from_dict({
...     "format": "cadence.linear-classifier/1", "classes": ["ok", "worn"], "features": ["temp", "rms"],
...     "mean": [40.0, 1.0], "scale": [2.0, 0.5], "coef": [[0.0, 2.0]], "intercept": [0.0]})
>>> model.predict_proba({"temp": 41.0, "rms": 1.0})
{'ok': 0.5, 'worn': 0.5}
>>> {k: round(v, 4) for k, v in model.predict_proba({"rms": 1.5, "temp": 40.0}).items()}
{'ok': 0.1192, 'worn': 0.8808}
>>> model.predict({"temp": 40.0, "rms": 2.0})
'worn'
>>> LinearClassifier.from_dict({"format": "other/1"})
Traceback (most recent call last):
...
cadence.errors.ModelInvalid: model format 'other/1' is not 'cadence.linear-classifier/1'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cadence.errors import ModelInvalid

FORMAT: Final = "cadence.linear-classifier/1"
ClassLabel = str | int | float
_KEYS: Final = ("format", "classes", "features", "mean", "scale", "coef", "intercept")


def _matrix(model: Mapping[str, Any], key: str, ndim: int) -> NDArray[np.float64]:
    try:
        values = np.asarray(model[key], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ModelInvalid(f"model field {key!r} is not an array of numbers", field=key) from err
    if values.ndim != ndim:
        raise ModelInvalid(f"model field {key!r} has {values.ndim} dimension(s), expected {ndim}", field=key)
    if not np.all(np.isfinite(values)):
        raise ModelInvalid(f"model field {key!r} holds a non-finite number", field=key)
    return values


@dataclass(frozen=True, slots=True, eq=False)
class LinearClassifier:
    """A standardised linear classifier: probabilities from plain arrays (see the module docstring)."""

    classes: tuple[ClassLabel, ...]
    features: tuple[str, ...]
    mean: NDArray[np.float64]  # (n_features,)
    scale: NDArray[np.float64]  # (n_features,), all > 0
    coef: NDArray[np.float64]  # (n_rows, n_features), n_rows = n_classes, or 1 for two classes
    intercept: NDArray[np.float64]  # (n_rows,)

    @classmethod
    def from_dict(cls, model: Mapping[str, Any]) -> LinearClassifier:
        """Check a ``cadence.linear-classifier/1`` mapping and build the classifier; :class:`ModelInvalid`
        names the first field that is wrong."""
        if not isinstance(model, Mapping):
            raise ModelInvalid(f"a model is a JSON object, got {type(model).__name__}")
        if model.get("format") != FORMAT:
            raise ModelInvalid(f"model format {model.get('format')!r} is not {FORMAT!r}", field="format")
        missing = [key for key in _KEYS if key not in model]
        if missing:
            raise ModelInvalid(f"model lacks the field(s) {', '.join(missing)}", fields=missing)
        classes = model["classes"]
        if not isinstance(classes, Sequence) or isinstance(classes, str) or len(classes) < 2:
            raise ModelInvalid("model field 'classes' must list at least two classes", field="classes")
        for label in classes:
            if isinstance(label, bool) or not isinstance(label, str | int | float):
                raise ModelInvalid(f"class label {label!r} is not a string or a number", field="classes")
        if len(set(classes)) != len(classes):
            raise ModelInvalid("model field 'classes' repeats a class", field="classes")
        features = model["features"]
        if (
            not isinstance(features, Sequence)
            or isinstance(features, str)
            or not features
            or not all(isinstance(name, str) for name in features)
        ):
            raise ModelInvalid("model field 'features' must list feature names", field="features")
        if len(set(features)) != len(features):
            raise ModelInvalid("model field 'features' repeats a name", field="features")
        mean, scale = _matrix(model, "mean", 1), _matrix(model, "scale", 1)
        coef, intercept = _matrix(model, "coef", 2), _matrix(model, "intercept", 1)
        n_features, n_classes = len(features), len(classes)
        for key, values in (("mean", mean), ("scale", scale)):
            if values.shape != (n_features,):
                raise ModelInvalid(
                    f"model field {key!r} has {values.size} values for {n_features} features", field=key
                )
        if np.any(scale <= 0):
            raise ModelInvalid("model field 'scale' must be > 0 everywhere", field="scale")
        rows = 1 if n_classes == 2 and coef.shape[0] == 1 else n_classes
        if coef.shape != (rows, n_features):
            raise ModelInvalid(
                f"model field 'coef' has shape {coef.shape}, expected ({rows}, {n_features})", field="coef"
            )
        if intercept.shape != (rows,):
            raise ModelInvalid(
                f"model field 'intercept' has {intercept.size} values, expected {rows}", field="intercept"
            )
        return cls(tuple(classes), tuple(features), mean, scale, coef, intercept)

    def as_dict(self) -> dict[str, Any]:
        """The plain-numbers form :meth:`from_dict` reads (JSON-serialisable)."""
        return {
            "format": FORMAT,
            "classes": list(self.classes),
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }

    def _row(self, x: Mapping[str, float] | ArrayLike) -> NDArray[np.float64]:
        if isinstance(x, Mapping):
            absent = [name for name in self.features if name not in x]
            if absent:
                raise ModelInvalid(f"no value for feature(s) {', '.join(absent)}", features=absent)
            values = np.array([float(x[name]) for name in self.features], dtype=np.float64)
        else:
            values = np.asarray(x, dtype=np.float64)
        if values.shape != (len(self.features),):
            raise ModelInvalid(f"expected {len(self.features)} feature values, got shape {values.shape}")
        return values

    def decision(self, x: Mapping[str, float] | ArrayLike) -> NDArray[np.float64]:
        """Decision values of one point (a mapping feature → value, or values in :attr:`features` order)."""
        z = (self._row(x) - self.mean) / self.scale
        return np.asarray(self.coef @ z + self.intercept, dtype=np.float64)

    def probabilities(self, x: Mapping[str, float] | ArrayLike) -> NDArray[np.float64]:
        """Class probabilities of one point, in :attr:`classes` order."""
        scores = self.decision(x)
        if scores.size == 1:
            # Two classes on one row: the logistic function, written to stay finite for any score.
            s = float(scores[0])
            p = 1.0 / (1.0 + math.exp(-s)) if s >= 0 else math.exp(s) / (1.0 + math.exp(s))
            return np.array([1.0 - p, p])
        shifted = np.exp(scores - scores.max())  # softmax without overflow
        return np.asarray(shifted / shifted.sum(), dtype=np.float64)

    def predict_proba(self, x: Mapping[str, float] | ArrayLike) -> dict[ClassLabel, float]:
        """Class → probability for one point (a mapping feature → value, or values in feature order)."""
        return {label: float(p) for label, p in zip(self.classes, self.probabilities(x), strict=True)}

    def predict(self, x: Mapping[str, float] | ArrayLike) -> ClassLabel:
        """The most probable class (the first one on a tie, like scikit-learn)."""
        return self.classes[int(np.argmax(self.probabilities(x)))]
