"""The jobs the learning worker runs, by name: plain JSON values in, plain JSON values out.

A job is a function of its ``params`` mapping. It raises :class:`cadence.errors.LearningInvalidParams`
for parameters it cannot use; anything else it raises is reported by the worker as a failed job. Each
job imports scikit-learn or scipy itself, when it runs: a worker that has only answered ``ping`` has not
paid for them, which ``ping`` shows.

>>> sorted(JOBS)
['fit_classifier', 'ping']
>>> run("ping", {})["pid"] > 0
True
>>> model = run("fit_classifier", {"X": [[0.0], [1.0], [10.0], [11.0]], "y": ["a", "a", "b", "b"],
...                                "feature_names": ["x"], "kind": "logistic"})
>>> model["format"], model["classes"], model["features"], model["mean"]
('cadence.linear-classifier/1', ['a', 'b'], ['x'], [5.5])
>>> run("fit_classifier", {"X": [[0.0]], "y": ["a", "b"], "feature_names": ["x"]})
Traceback (most recent call last):
...
cadence.errors.LearningInvalidParams: fit_classifier: X has 1 rows but y has 2 values
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cadence.errors import LearningInvalidParams, LearningUnknownJob

Job = Callable[[Mapping[str, Any]], Any]
MODEL_FORMAT = "cadence.linear-classifier/1"  # the same string as cadence.analytics.linear_classifier
# Enough for lbfgs on standardised features; a fit that still has not converged is reported, not hidden.
MAX_ITER = 2000
DEFAULT_SEED = 0
HEAVY_MODULES = ("sklearn", "scipy")


def _rss_bytes() -> int | None:
    """Resident memory of this process now (Linux ``/proc/self/statm``), or None elsewhere."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def ping(params: Mapping[str, Any]) -> dict[str, Any]:
    """The worker's pid, resident memory, and whether scikit-learn and scipy are loaded in it."""
    return {
        "pid": os.getpid(),
        "rss_bytes": _rss_bytes(),
        "modules": {name: name in sys.modules for name in HEAVY_MODULES},
    }


def _invalid(message: str) -> LearningInvalidParams:
    return LearningInvalidParams(f"fit_classifier: {message}", job="fit_classifier")


def _training_data(params: Mapping[str, Any]) -> tuple[list[list[float]], list[Any], list[str]]:
    """X, y and the feature names, checked: rectangular finite numbers, labels all strings or all numbers."""
    try:
        raw_x, y, names = params["X"], params["y"], params["feature_names"]
    except KeyError as err:
        raise _invalid(f"missing parameter {err.args[0]!r} (X, y and feature_names are required)") from err
    if not isinstance(raw_x, list) or not raw_x or not all(isinstance(row, list) for row in raw_x):
        raise _invalid("X must be a non-empty list of rows (lists of numbers)")
    if not isinstance(y, list):
        raise _invalid("y must be a list of class labels")
    if len(raw_x) != len(y):
        raise _invalid(f"X has {len(raw_x)} rows but y has {len(y)} values")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _invalid("feature_names must be a non-empty list of strings")
    if len(set(names)) != len(names):
        raise _invalid("feature_names repeats a name")
    x: list[list[float]] = []
    for index, row in enumerate(raw_x):
        if len(row) != len(names):
            raise _invalid(f"row {index} of X has {len(row)} values for {len(names)} feature_names")
        values = []
        for value in row:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise _invalid(f"row {index} of X holds {value!r}, not a finite number")
            values.append(float(value))
        x.append(values)
    kinds = {isinstance(label, str) for label in y}
    if len(kinds) > 1 or any(
        isinstance(label, bool) or not isinstance(label, str | int | float) for label in y
    ):
        raise _invalid("class labels in y must be all strings or all numbers")
    if len(set(y)) < 2:
        raise _invalid("y must hold at least two classes")
    return x, y, names


def fit_classifier(params: Mapping[str, Any]) -> dict[str, Any]:
    """A standardised logistic regression (multinomial for more than two classes), balanced class
    weights, as ``cadence.linear-classifier/1`` plain numbers (read by
    :class:`cadence.analytics.linear_classifier.LinearClassifier`).

    Optional params: ``C`` (inverse L2 strength, default 1.0), ``seed`` (default 0).
    """
    kind = params.get("kind", "logistic")
    if kind != "logistic":
        raise _invalid(f"kind {kind!r} is not supported (supported: 'logistic')")
    x, y, names = _training_data(params)
    c = params.get("C", 1.0)
    if isinstance(c, bool) or not isinstance(c, int | float) or not c > 0:
        raise _invalid(f"C must be a number > 0, got {c!r}")
    seed = params.get("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _invalid(f"seed must be an integer, got {seed!r}")

    # Imported here, in the worker, when a fit is asked for (module docstring).
    import numpy as np  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    features = np.asarray(x, dtype=np.float64)
    scaler = StandardScaler().fit(features)
    model = LogisticRegression(
        C=float(c), class_weight="balanced", max_iter=MAX_ITER, random_state=seed, solver="lbfgs"
    ).fit(scaler.transform(features), np.asarray(y))
    return {
        "format": MODEL_FORMAT,
        "classes": model.classes_.tolist(),
        "features": list(names),
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "coef": model.coef_.tolist(),
        "intercept": model.intercept_.tolist(),
        "n_samples": len(y),
        "n_iter": int(np.max(model.n_iter_)),
        "converged": bool(np.max(model.n_iter_) < MAX_ITER),
    }


JOBS: dict[str, Job] = {"fit_classifier": fit_classifier, "ping": ping}


def run(name: str, params: Mapping[str, Any]) -> Any:
    """Run job ``name``; :class:`LearningUnknownJob` lists the known ones."""
    job = JOBS.get(name)
    if job is None:
        raise LearningUnknownJob(
            f"no learning job {name!r} (known: {', '.join(sorted(JOBS))})", job=name, known=sorted(JOBS)
        )
    if not isinstance(params, Mapping):
        raise LearningInvalidParams(f"{name}: params must be a JSON object", job=name)
    return job(params)
