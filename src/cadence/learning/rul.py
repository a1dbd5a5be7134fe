"""Fit the remaining-useful-life model of :mod:`cadence.analytics.rul_model` with scikit-learn.

Recipe (C-MAPSS, one row per cycle of each training unit run to failure):

* target: the RUL of every row, capped at ``cap`` cycles (piecewise-linear target, 125 by default);
* sensors: those taking more than two distinct values in the training file (in FD001 this drops the
  constant ones and P15, which toggles between 21.60 and 21.61); operational settings are not used;
* features: :class:`~cadence.analytics.rul_model.FeatureSpec` (trailing-window mean and slope, slow
  exponential smoothing, cycle number), every row of every unit being a training window;
* components, each fitted with ``seeds`` different random states and the ensemble weighted equally per
  fit: gradient-boosted trees (:class:`~sklearn.ensemble.GradientBoostingRegressor`), extremely randomised
  trees (:class:`~sklearn.ensemble.ExtraTreesRegressor`) and a small MLP
  (:class:`~sklearn.neural_network.MLPRegressor`).

Every fitted scikit-learn estimator is exported to plain arrays (:func:`export`) and evaluated by numpy
afterwards; the random states are drawn from the numpy ``Generator`` passed in, so one seed gives the
same model bytes run after run (all fits are single-threaded).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sklearn
from numpy.typing import NDArray
from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from cadence.analytics.cmapss import PIECEWISE_RUL_CAP, training_rul
from cadence.analytics.rul_model import Component, FeatureSpec, Mlp, RulModel, Trees

COMPONENTS = ("gbr", "et", "mlp")
# Slow smoothing matters most on FD001: the sensor noise is large next to a trend of a few hundred cycles.
DEFAULT_ALPHAS = (0.02, 0.05, 0.1)


@dataclass(frozen=True)
class FitOptions:
    """What to fit; the defaults are the configuration measured in docs/benchmarks.md."""

    cap: float = PIECEWISE_RUL_CAP
    window: int = 30
    ewma_alphas: tuple[float, ...] = DEFAULT_ALPHAS
    components: tuple[str, ...] = COMPONENTS
    seeds: int = 3
    gbr_trees: int = 300
    et_trees: int = 100
    mlp_layers: tuple[int, ...] = (64, 32)
    extra_info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.cap > 0:
            raise ValueError(f"cap must be a positive number of cycles, got {self.cap}")
        if self.window < 1:
            raise ValueError(f"window must be at least 1 cycle, got {self.window}")
        if not all(0 < a <= 1 for a in self.ewma_alphas):
            raise ValueError(f"smoothing factors must be in (0, 1], got {self.ewma_alphas}")
        unknown = [c for c in self.components if c not in COMPONENTS]
        if unknown or not self.components:
            raise ValueError(f"components must be among {', '.join(COMPONENTS)}, got {self.components}")
        if self.seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {self.seeds}")


def select_sensors(sensors: NDArray[np.float64]) -> tuple[int, ...]:
    """Columns with more than two distinct values: constant and two-level sensors carry no trend."""
    return tuple(i for i in range(sensors.shape[1]) if np.unique(sensors[:, i]).size > 2)


def feature_spec(
    units: NDArray[np.int64],
    cycles: NDArray[np.int64],
    sensors: NDArray[np.float64],
    names: Sequence[str],
    options: FitOptions,
) -> tuple[FeatureSpec, NDArray[np.float64]]:
    """The scalers learnt from the training rows, and those rows' standardised features."""
    index = select_sensors(sensors)
    if not index:
        raise ValueError("no sensor varies in the training data")
    kept = sensors[:, list(index)]
    unscaled = FeatureSpec(
        sensors=tuple(names[i] for i in index),
        sensor_index=index,
        sensor_center=kept.mean(axis=0),
        sensor_scale=kept.std(axis=0),
        window=options.window,
        ewma_alphas=tuple(options.ewma_alphas),
        feature_center=np.zeros(0),
        feature_scale=np.zeros(0),
    )
    raw = unscaled.raw_features(units, cycles, sensors)
    scale = raw.std(axis=0)
    # A feature constant over the training rows (e.g. a slope of a single-cycle unit set) keeps scale 1.
    scale[scale <= 0] = 1.0
    spec = FeatureSpec(
        sensors=unscaled.sensors,
        sensor_index=index,
        sensor_center=unscaled.sensor_center,
        sensor_scale=unscaled.sensor_scale,
        window=options.window,
        ewma_alphas=unscaled.ewma_alphas,
        feature_center=raw.mean(axis=0),
        feature_scale=scale,
    )
    return spec, (raw - spec.feature_center) / spec.feature_scale


def export(estimator: Any) -> Component:
    """A fitted forest, gradient-boosting or MLP regressor as plain arrays for numpy evaluation."""
    if isinstance(estimator, (RandomForestRegressor, ExtraTreesRegressor)):
        return _trees([t.tree_ for t in estimator.estimators_], "mean", 0.0, 1.0)
    if isinstance(estimator, GradientBoostingRegressor):
        if estimator.init_ == "zero" or not hasattr(estimator.init_, "constant_"):
            raise ValueError("only the default (mean) initial estimate of gradient boosting can be exported")
        base = float(np.ravel(estimator.init_.constant_)[0])
        trees = [t.tree_ for t in estimator.estimators_[:, 0]]
        return _trees(trees, "sum", base, float(estimator.learning_rate))
    if isinstance(estimator, MLPRegressor):
        if estimator.activation != "relu" or estimator.out_activation_ != "identity":
            raise ValueError("only ReLU networks with an identity output can be exported")
        return Mlp(
            weights=tuple(np.asarray(w, dtype=np.float64) for w in estimator.coefs_),
            biases=tuple(np.asarray(b, dtype=np.float64) for b in estimator.intercepts_),
        )
    raise TypeError(f"cannot export {type(estimator).__name__}")


def _trees(trees: Sequence[Any], mode: str, base: float, factor: float) -> Trees:
    sizes = [t.node_count for t in trees]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    left, right, feature, threshold, value = [], [], [], [], []
    for start, tree in zip(offsets[:-1], trees, strict=True):
        leaf = tree.children_left < 0
        # Absolute node numbers so that all trees share one set of arrays; leaves keep -1 and test feature 0.
        left.append(np.where(leaf, -1, tree.children_left + start))
        right.append(np.where(leaf, -1, tree.children_right + start))
        feature.append(np.where(leaf, 0, tree.feature))
        threshold.append(np.where(leaf, 0.0, tree.threshold))
        value.append(tree.value[:, 0, 0])
    return Trees(
        mode="mean" if mode == "mean" else "sum",
        base=base,
        factor=factor,
        offsets=offsets,
        left=np.concatenate(left).astype(np.int64),
        right=np.concatenate(right).astype(np.int64),
        feature=np.concatenate(feature).astype(np.int64),
        threshold=np.concatenate(threshold).astype(np.float64),
        value=np.concatenate(value).astype(np.float64),
    )


def estimator(name: str, random_state: int, options: FitOptions) -> Any:
    """An unfitted scikit-learn regressor of the component ``name`` (single-threaded, seeded)."""
    makers: dict[str, Callable[[], Any]] = {
        "gbr": lambda: GradientBoostingRegressor(
            n_estimators=options.gbr_trees,
            learning_rate=0.05,
            max_depth=4,
            min_samples_leaf=20,
            subsample=0.8,
            max_features=0.5,
            random_state=random_state,
        ),
        "et": lambda: ExtraTreesRegressor(
            n_estimators=options.et_trees,
            min_samples_leaf=10,
            max_features=0.5,
            n_jobs=1,
            random_state=random_state,
        ),
        "mlp": lambda: MLPRegressor(
            hidden_layer_sizes=options.mlp_layers,
            alpha=1e-3,
            learning_rate_init=1e-3,
            max_iter=200,
            early_stopping=True,
            random_state=random_state,
        ),
    }
    return makers[name]()


def fit_estimators(
    x: NDArray[np.float64], y: NDArray[np.float64], options: FitOptions, rng: np.random.Generator
) -> list[tuple[str, Any]]:
    """Fit every component ``options.seeds`` times; random states come from ``rng``."""
    states = rng.integers(0, 2**31 - 1, size=(options.seeds, len(options.components)))
    fitted: list[tuple[str, Any]] = []
    for seed_states in states:
        for name, state in zip(options.components, seed_states, strict=True):
            model = estimator(name, int(state), options)
            with warnings.catch_warnings():
                # max_iter bounds the MLP's fit time on purpose; early stopping usually ends it sooner.
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(x, y)
            fitted.append((name, model))
    return fitted


def fit_rul(
    units: NDArray[np.int64],
    cycles: NDArray[np.int64],
    sensors: NDArray[np.float64],
    sensor_names: Sequence[str],
    *,
    options: FitOptions,
    rng: np.random.Generator,
) -> RulModel:
    """Fit on run-to-failure trajectories (every unit's last row is its failure) and export the result."""
    spec, x = feature_spec(units, cycles, sensors, sensor_names, options)
    y = training_rul(units, cycles, cap=options.cap)
    fitted = fit_estimators(x, y, options, rng)
    info = {
        "rows": len(units),
        "units": int(np.unique(units).size),
        "components": [name for name, _ in fitted],
        "seeds": options.seeds,
        "fitted_with": f"scikit-learn {sklearn.__version__}",
        **options.extra_info,
    }
    return RulModel(
        spec=spec,
        components=tuple(export(model) for _, model in fitted),
        weights=tuple(1.0 for _ in fitted),
        cap=float(options.cap),
        info=info,
    )
