"""Cross-validated classification with scikit-learn, for the public evaluations (benchmarks, CLI, worker).

Two models, both with balanced class weights (every dataset here is unbalanced, some extremely: AI4I's
random failures are 19 in 10 000):

* ``gradient_boosting`` — scikit-learn's histogram gradient boosting. The main model: trees learn
  thresholds on raw values, which is how the classes of both datasets are made (cooler efficiency shifts
  temperature levels; AI4I's failure modes are threshold rules), it needs no scaling, and it fits a few
  thousand rows in about a second on one core (a random forest of comparable accuracy took 5-10 times
  longer here);
* ``logistic`` — standardised logistic regression, the linear baseline, and the model the learning
  worker ships to long-running processes (:mod:`cadence.learning.jobs`).

Scores are per fold of a stratified k-fold (seeded shuffle, or the file order kept with
``shuffle=False``), summarised as mean ± sample standard deviation over the folds. Fits run with native
thread pools limited to ``threads`` (default 1): results do not depend on the machine's core count, and
a benchmark does not take every core of a shared machine.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(2, 1, (40, 2))])
>>> y = np.array(["ok"] * 40 + ["fault"] * 40)
>>> result = cross_validate(x, y, stratified_splits(y, folds=4, seed=0), "logistic", seed=0)
>>> result.classes, result.folds, round(result.accuracy.mean, 2)
(('fault', 'ok'), 4, 0.88)
>>> print(result.scores("fault").f1)
0.88 ± 0.06
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from cadence.errors import BadRequest

MODELS = ("gradient_boosting", "logistic")
MODEL_TEXT = {
    "gradient_boosting": "histogram gradient boosting (balanced class weights)",
    "logistic": "standardised logistic regression (balanced class weights)",
}
Split = tuple[NDArray[np.int64], NDArray[np.int64]]


def make_model(name: str, seed: int) -> Any:
    """A fresh, unfitted estimator of one of :data:`MODELS`, seeded."""
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(class_weight="balanced", random_state=seed)
    if name == "logistic":
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(class_weight="balanced", max_iter=5000, random_state=seed),
        )
    raise BadRequest(f"no model {name!r} (models: {', '.join(MODELS)})")


def stratified_splits(labels: ArrayLike, folds: int = 5, seed: int = 0, shuffle: bool = True) -> list[Split]:
    """(train, test) index pairs of a stratified k-fold on ``labels``.

    ``shuffle=False`` keeps the file order: each fold is then a contiguous stretch of each class's rows,
    so rows recorded next to each other (and nearly alike) rarely fall on both sides of a split.
    """
    y = np.asarray(labels)
    splitter = StratifiedKFold(n_splits=folds, shuffle=shuffle, random_state=seed if shuffle else None)
    return [
        (np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64))
        for train, test in splitter.split(np.zeros((y.size, 1)), y)
    ]


@dataclass(frozen=True, slots=True)
class Summary:
    """Mean and sample standard deviation of a score over the folds."""

    per_fold: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.per_fold))

    @property
    def sd(self) -> float:
        return float(np.std(self.per_fold, ddof=1)) if len(self.per_fold) > 1 else 0.0

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.sd:.2f}"

    def percent(self) -> str:
        """``mean ± sd`` in percent with one decimal."""
        return f"{100 * self.mean:.1f} ± {100 * self.sd:.1f}"


@dataclass(frozen=True, slots=True)
class ClassScores:
    """Precision, recall and F1 of one class over the folds, and its number of rows."""

    label: Any
    support: int
    precision: Summary
    recall: Summary
    f1: Summary


@dataclass(frozen=True, slots=True)
class CvResult:
    """Per-fold scores of one model on one target."""

    model: str
    classes: tuple[Any, ...]
    folds: int
    accuracy: Summary
    macro_f1: Summary
    per_class: tuple[ClassScores, ...]
    seconds: float

    def scores(self, label: Any) -> ClassScores:
        for scores in self.per_class:
            if scores.label == label:
                return scores
        raise KeyError(label)


def cross_validate(
    x: ArrayLike, y: ArrayLike, splits: Sequence[Split], model: str, *, seed: int = 0, threads: int = 1
) -> CvResult:
    """Fit ``model`` on each training part and score it on the held-out part of every split."""
    features, labels = np.asarray(x, dtype=np.float64), np.asarray(y)
    if features.ndim != 2 or features.shape[0] != labels.size:
        raise BadRequest(f"x {features.shape} and y ({labels.size},) do not describe the same rows")
    classes = np.unique(labels)
    accuracy: list[float] = []
    precision, recall, f1 = (np.zeros((len(splits), classes.size)) for _ in range(3))
    started = time.perf_counter()
    with threadpool_limits(limits=threads):
        for fold, (train, test) in enumerate(splits):
            estimator = make_model(model, seed).fit(features[train], labels[train])
            predicted = estimator.predict(features[test])
            accuracy.append(float(np.mean(predicted == labels[test])))
            p, r, f, _ = precision_recall_fscore_support(
                labels[test], predicted, labels=classes, zero_division=0
            )
            precision[fold], recall[fold], f1[fold] = p, r, f
    per_class = tuple(
        ClassScores(
            label.item() if hasattr(label, "item") else label,
            int(np.sum(labels == label)),
            Summary(tuple(precision[:, k].tolist())),
            Summary(tuple(recall[:, k].tolist())),
            Summary(tuple(f1[:, k].tolist())),
        )
        for k, label in enumerate(classes)
    )
    return CvResult(
        model,
        tuple(c.item() if hasattr(c, "item") else c for c in classes),
        len(splits),
        Summary(tuple(accuracy)),
        Summary(tuple(f1.mean(axis=1).tolist())),
        per_class,
        time.perf_counter() - started,
    )


def macro_over_targets(results: Sequence[CvResult], positive: Any = 1) -> Summary:
    """Per fold, the mean F1 of the ``positive`` class over several binary targets scored on the same
    splits (e.g. AI4I's five failure modes): their macro F1, summarised over the folds."""
    if not results:
        raise BadRequest("no results to average")
    per_fold = np.mean([r.scores(positive).f1.per_fold for r in results], axis=0)
    return Summary(tuple(per_fold.tolist()))
