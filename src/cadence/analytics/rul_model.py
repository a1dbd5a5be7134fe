"""Remaining-useful-life model evaluated with numpy alone: window features, tree ensembles and an MLP.

:mod:`cadence.learning.rul` fits the model with scikit-learn and saves it as plain numbers in the format
``cadence.rul-model/1``; this module reads such a file and predicts without importing scikit-learn, so a
long-running process can serve predictions (the file is never unpickled: it is an NPZ archive read with
``allow_pickle=False``, holding one JSON header and numeric arrays).

**Features** (one row per cycle of a unit, from that cycle and the ones before it). The sensors kept at
fit time are standardised with the training mean and standard deviation, then for each sensor:

* the mean and the least-squares slope (per cycle) over a trailing window of ``window`` cycles; a unit
  with fewer cycles than the window is padded at its start with its first reading (so any unit, even one
  of a single cycle, gets a prediction);
* exponentially smoothed values ``s_t = a x_t + (1 - a) s_(t-1)``, ``s_1 = x_1``, for each ``a`` of
  ``ewma_alphas`` (the slow ones average out the sensor noise over the whole history);

and last the cycle number. All features are standardised again (training mean and deviation) before the
models see them.

**Prediction** is the weighted mean of the components, clipped to ``[0, cap]`` (the models learnt the
piecewise-linear target capped at ``cap``):

* ``trees``: a forest (mean of the trees' leaf values) or a boosted sum (``base + factor * sum``); nodes
  of all trees in flat arrays, children as absolute node numbers, ``-1`` for a leaf. As scikit-learn,
  features are compared with the thresholds in single precision.
* ``mlp``: dense layers with ReLU between them and an identity output.

>>> import numpy as np
>>> spec = FeatureSpec(sensors=("T24",), sensor_index=(1,), sensor_center=np.array([0.0]),
...     sensor_scale=np.array([1.0]), window=3, ewma_alphas=(0.5,),
...     feature_center=np.zeros(4), feature_scale=np.ones(4))
>>> spec.feature_names
('T24_mean3', 'T24_slope3', 'T24_ewma0.5', 'cycle')
>>> sensors = np.zeros((4, 21)); sensors[:, 1] = [1.0, 3.0, 5.0, 7.0]
>>> spec.features(np.array([1, 1, 1, 1]), np.array([1, 2, 3, 4]), sensors).tolist()[-1]
[5.0, 2.0, 5.25, 4.0]
>>> stump = Trees(mode="mean", base=0.0, factor=1.0, offsets=np.array([0, 3]),
...     left=np.array([1, -1, -1]), right=np.array([2, -1, -1]), feature=np.array([3, 0, 0]),
...     threshold=np.array([2.5, 0.0, 0.0]), value=np.array([0.0, 100.0, 40.0]))
>>> model = RulModel(spec=spec, components=(stump,), weights=(1.0,), cap=125.0, info={})
>>> units, rul = model.predict_last(np.array([7, 7, 7, 8]), np.array([1, 2, 3, 1]), sensors)
>>> units.tolist(), rul.tolist()      # unit 7 is at cycle 3 (> 2.5), unit 8 at cycle 1
([7, 8], [40.0, 100.0])
>>> load_model(dump_model(model)).predict_last(np.array([7, 7, 7, 8]), np.array([1, 2, 3, 1]), sensors)[1]
array([ 40., 100.])
>>> load_model(b"\\x80\\x04\\x95 a pickle")
Traceback (most recent call last):
...
cadence.errors.ModelInvalid: model file: not a cadence.rul-model/1 file (an NPZ archive); refusing it
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from cadence.errors import ModelInvalid

FORMAT: Final = "cadence.rul-model/1"
# Rows evaluated at once by the tree traversal: bounds the (rows x trees) index arrays to a few MB.
_CHUNK_ROWS: Final = 2048
_ZIP_MAGIC: Final = b"PK\x03\x04"

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def _fail(message: str, source: str, **context: Any) -> ModelInvalid:
    return ModelInvalid(f"{source}: {message}", file=source, **context)


@dataclass(frozen=True)
class FeatureSpec:
    """How a row of sensor readings becomes the model's input (see the module docstring)."""

    sensors: tuple[str, ...]  # names of the kept sensors, for people reading the file
    sensor_index: tuple[int, ...]  # their columns among the 21 C-MAPSS sensors (0-based)
    sensor_center: Floats
    sensor_scale: Floats
    window: int
    ewma_alphas: tuple[float, ...]
    feature_center: Floats
    feature_scale: Floats

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the feature columns, in order: per sensor mean, slope, smoothed values; then cycle."""
        per_sensor = [
            (
                f"{s}_mean{self.window}",
                f"{s}_slope{self.window}",
                *(f"{s}_ewma{a:g}" for a in self.ewma_alphas),
            )
            for s in self.sensors
        ]
        return (*(name for names in per_sensor for name in names), "cycle")

    def raw_features(self, units: Ints, cycles: Ints, sensors: Floats) -> Floats:
        """Feature rows before the final standardisation, in the order of the input rows.

        Rows may come in any order: each unit's rows are taken in cycle order.
        """
        units = np.asarray(units)
        cycles = np.asarray(cycles)
        sensors = np.asarray(sensors, dtype=np.float64)
        if units.ndim != 1 or cycles.shape != units.shape or sensors.ndim != 2 or len(sensors) != len(units):
            raise ValueError(
                f"units, cycles and sensors must describe the same rows, got shapes {units.shape}, "
                f"{cycles.shape} and {sensors.shape}"
            )
        if sensors.shape[1] <= max(self.sensor_index, default=-1):
            raise ValueError(
                f"{sensors.shape[1]} sensor columns; the model reads column {max(self.sensor_index)}"
            )
        z = (sensors[:, list(self.sensor_index)] - self.sensor_center) / self.sensor_scale
        w = self.window
        # Least-squares slope over w equally spaced points: sum((i - mean_i) * y_i) / sum((i - mean_i)^2).
        ramp = np.arange(w, dtype=np.float64) - (w - 1) / 2.0
        ramp = ramp / float(ramp @ ramp) if w > 1 else np.zeros(1)
        k = len(self.sensor_index)
        per_sensor = 2 + len(self.ewma_alphas)
        out = np.empty((len(units), k * per_sensor + 1), dtype=np.float64)
        order = np.lexsort((cycles, units))
        bounds = np.flatnonzero(np.diff(units[order])) + 1
        for rows in np.split(order, bounds) if order.size else []:
            x = z[rows]
            padded = np.concatenate([np.repeat(x[:1], w - 1, axis=0), x])
            windows = sliding_window_view(padded, w, axis=0)  # (rows, sensors, w)
            block = np.empty((len(rows), k, per_sensor))
            block[:, :, 0] = windows.mean(axis=-1)
            block[:, :, 1] = windows @ ramp
            for j, alpha in enumerate(self.ewma_alphas):
                smooth = np.empty_like(x)
                smooth[0] = x[0]
                for t in range(1, len(x)):
                    smooth[t] = alpha * x[t] + (1.0 - alpha) * smooth[t - 1]
                block[:, :, 2 + j] = smooth
            out[rows, :-1] = block.reshape(len(rows), k * per_sensor)
            out[rows, -1] = cycles[rows]
        return out

    def features(self, units: Ints, cycles: Ints, sensors: Floats) -> Floats:
        """Standardised feature rows, what the components read."""
        return (self.raw_features(units, cycles, sensors) - self.feature_center) / self.feature_scale


@dataclass(frozen=True)
class Trees:
    """A tree ensemble in flat arrays: ``mode`` "mean" (forest) or "sum" (boosting, ``base + factor*sum``)."""

    mode: Literal["mean", "sum"]
    base: float
    factor: float
    offsets: Ints  # node k of tree t is row offsets[t] + k; offsets[-1] = number of nodes
    left: Ints
    right: Ints
    feature: Ints
    threshold: Floats
    value: Floats

    def predict(self, x: Floats) -> Floats:
        """The ensemble's output for each row of ``x`` (standardised features)."""
        # scikit-learn casts features to float32 before comparing them with the (float64) thresholds.
        x32 = np.asarray(x, dtype=np.float32).astype(np.float64)
        roots = self.offsets[:-1]
        depth_bound = int(np.max(np.diff(self.offsets))) if roots.size else 0
        out = np.empty(len(x32), dtype=np.float64)
        for start in range(0, len(x32), _CHUNK_ROWS):
            rows = x32[start : start + _CHUNK_ROWS]
            node = np.broadcast_to(roots, (len(rows), roots.size)).copy()
            index = np.arange(len(rows))[:, None]
            for _ in range(depth_bound):
                inner = self.left[node] >= 0
                if not inner.any():
                    break
                go_left = rows[index, self.feature[node]] <= self.threshold[node]
                node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
            leaves = self.value[node]
            total = leaves.mean(axis=1) if self.mode == "mean" else leaves.sum(axis=1)
            out[start : start + len(rows)] = self.base + self.factor * total
        return out


@dataclass(frozen=True)
class Mlp:
    """A multilayer perceptron: ``h = relu(h @ W + b)`` for the hidden layers, identity output."""

    weights: tuple[Floats, ...]
    biases: tuple[Floats, ...]

    def predict(self, x: Floats) -> Floats:
        """The network's output for each row of ``x`` (standardised features)."""
        h = np.asarray(x, dtype=np.float64)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return np.asarray(h[:, 0], dtype=np.float64)


Component = Trees | Mlp


@dataclass(frozen=True)
class RulModel:
    """Features, components and their weights; ``info`` says how it was fitted (JSON-serialisable)."""

    spec: FeatureSpec
    components: tuple[Component, ...]
    weights: tuple[float, ...]
    cap: float
    info: Mapping[str, Any] = field(default_factory=dict)

    def predict_features(self, x: Floats) -> Floats:
        """RUL for standardised feature rows: the weighted mean of the components, clipped to [0, cap]."""
        total = sum(
            (w * c.predict(x) for w, c in zip(self.weights, self.components, strict=True)), np.zeros(len(x))
        )
        return np.clip(total / sum(self.weights), 0.0, self.cap)

    def predict_rows(self, units: Ints, cycles: Ints, sensors: Floats) -> Floats:
        """RUL after every row (each row seen with the cycles before it), in the order of the rows."""
        return self.predict_features(self.spec.features(units, cycles, sensors))

    def predict_last(self, units: Ints, cycles: Ints, sensors: Floats) -> tuple[Ints, Floats]:
        """Unit ids in ascending order and the RUL after each unit's last cycle (the benchmark protocol)."""
        x = self.spec.features(units, cycles, sensors)
        order = np.lexsort((np.asarray(cycles), np.asarray(units)))
        sorted_units = np.asarray(units)[order]
        is_last = np.ones(order.size, dtype=bool)
        is_last[:-1] = sorted_units[1:] != sorted_units[:-1]
        last = order[is_last]
        return np.asarray(units)[last].astype(np.int64), self.predict_features(x[last])


# --- the file: NPZ (zip of .npy arrays, no pickled objects) with a JSON header --------------------------


def dump_model(model: RulModel) -> bytes:
    """The model as ``cadence.rul-model/1`` bytes: an NPZ archive, header JSON in the array ``meta``."""
    arrays: dict[str, Any] = {
        "sensor_center": model.spec.sensor_center,
        "sensor_scale": model.spec.sensor_scale,
        "feature_center": model.spec.feature_center,
        "feature_scale": model.spec.feature_scale,
    }
    described: list[dict[str, Any]] = []
    for i, (component, weight) in enumerate(zip(model.components, model.weights, strict=True)):
        prefix = f"c{i}_"
        if isinstance(component, Trees):
            described.append(
                {"kind": "trees", "mode": component.mode, "base": component.base, "factor": component.factor,
                 "weight": weight}
            )  # fmt: skip
            for name in ("offsets", "left", "right", "feature"):
                arrays[prefix + name] = np.asarray(getattr(component, name), dtype=np.int32)
            arrays[prefix + "threshold"] = component.threshold
            arrays[prefix + "value"] = component.value
        else:
            described.append({"kind": "mlp", "layers": len(component.weights), "weight": weight})
            for j, (w, b) in enumerate(zip(component.weights, component.biases, strict=True)):
                arrays[f"{prefix}w{j}"] = w
                arrays[f"{prefix}b{j}"] = b
    meta = {
        "format": FORMAT,
        "cap": model.cap,
        "sensors": list(model.spec.sensors),
        "sensor_index": list(model.spec.sensor_index),
        "window": model.spec.window,
        "ewma_alphas": list(model.spec.ewma_alphas),
        "features": list(model.spec.feature_names),
        "components": described,
        "info": dict(model.info),
    }
    buffer = io.BytesIO()
    arrays["meta"] = np.array(json.dumps(meta))  # a 0-d unicode array: stored as .npy, never pickled
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def _array(
    arrays: Mapping[str, NDArray[Any]], key: str, source: str, ndim: int, integer: bool = False
) -> Any:
    if key not in arrays:
        raise _fail(f"the array {key!r} is missing", source, field=key)
    values = arrays[key]
    kind = "iu" if integer else "fiu"
    if values.dtype.kind not in kind or values.ndim != ndim:
        raise _fail(
            f"the array {key!r} is not {ndim}-D {'whole ' if integer else ''}numbers", source, field=key
        )
    if not integer and not np.all(np.isfinite(values)):
        raise _fail(f"the array {key!r} holds a non-finite number", source, field=key)
    return values.astype(np.int64 if integer else np.float64)


def _check_trees(trees: Trees, width: int, key: str, source: str) -> None:
    offsets, n = trees.offsets, trees.left.size
    if offsets.size < 2 or offsets[0] != 0 or offsets[-1] != n or np.any(np.diff(offsets) < 1):
        raise _fail(f"{key}: tree offsets do not split the {n} nodes into trees", source)
    for name in ("right", "feature", "threshold", "value"):
        if getattr(trees, name).size != n:
            raise _fail(f"{key}: {name} has {getattr(trees, name).size} entries for {n} nodes", source)
    tree_of = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    inner = trees.left >= 0
    node = np.arange(n)
    end = offsets[1:][tree_of]
    for child in (trees.left, trees.right):
        # Children must lie after their parent, inside its tree: the traversal then always ends at a leaf.
        if np.any(inner & ((child <= node) | (child >= end))) or np.any(~inner & (child != -1)):
            raise _fail(f"{key}: a child node is outside its tree or not after its parent", source)
    if np.any(inner & ((trees.feature < 0) | (trees.feature >= width))):
        raise _fail(f"{key}: a node tests a feature outside the {width} features", source)


def load_model(data: bytes, source: str = "model file") -> RulModel:
    """Read ``cadence.rul-model/1`` bytes; anything else (a pickle, another format or version) is refused."""
    if not data.startswith(_ZIP_MAGIC):
        raise _fail(f"not a {FORMAT} file (an NPZ archive); refusing it", source)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise _fail(f"not a readable {FORMAT} archive ({err})", source) from None
    meta_array = arrays.get("meta")
    if meta_array is None or meta_array.dtype.kind != "U" or meta_array.ndim != 0:
        raise _fail(f"no header: not a {FORMAT} file", source)
    try:
        meta = json.loads(str(meta_array))
    except json.JSONDecodeError as err:
        raise _fail(f"the header is not JSON ({err.msg})", source) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise _fail(f"format {found!r} is not {FORMAT!r}; refusing it", source, field="format")
    try:
        names = tuple(str(s) for s in meta["sensors"])
        index = tuple(int(i) for i in meta["sensor_index"])
        window = int(meta["window"])
        alphas = tuple(float(a) for a in meta["ewma_alphas"])
        cap = float(meta["cap"])
        described = list(meta["components"])
        info = dict(meta.get("info", {}))
    except (KeyError, TypeError, ValueError) as err:
        raise _fail(f"the header lacks or garbles a field ({err})", source) from None
    if window < 1 or not all(0 < a <= 1 for a in alphas) or not cap > 0 or len(names) != len(index):
        raise _fail("window, ewma_alphas, cap or sensors out of range", source)
    if any(i < 0 for i in index):
        raise _fail("a sensor index is negative", source)
    width = len(index) * (2 + len(alphas)) + 1
    spec = FeatureSpec(
        sensors=names,
        sensor_index=index,
        sensor_center=_array(arrays, "sensor_center", source, 1),
        sensor_scale=_array(arrays, "sensor_scale", source, 1),
        window=window,
        ewma_alphas=alphas,
        feature_center=_array(arrays, "feature_center", source, 1),
        feature_scale=_array(arrays, "feature_scale", source, 1),
    )
    if spec.sensor_center.size != len(index) or spec.sensor_scale.size != len(index):
        raise _fail("the sensor scaler does not match the sensors", source)
    if spec.feature_center.size != width or spec.feature_scale.size != width:
        raise _fail(f"the feature scaler does not match the {width} features", source)
    if np.any(spec.sensor_scale <= 0) or np.any(spec.feature_scale <= 0):
        raise _fail("a scale is not positive", source)
    components: list[Component] = []
    weights: list[float] = []
    for i, item in enumerate(described):
        prefix = f"c{i}_"
        try:
            kind = item["kind"]
            weight = float(item["weight"])
            if kind == "trees":
                mode = item["mode"]
                if mode not in ("mean", "sum"):
                    raise ValueError(f"tree mode {mode!r}")
                trees = Trees(
                    mode=mode,
                    base=float(item["base"]),
                    factor=float(item["factor"]),
                    offsets=_array(arrays, prefix + "offsets", source, 1, integer=True),
                    left=_array(arrays, prefix + "left", source, 1, integer=True),
                    right=_array(arrays, prefix + "right", source, 1, integer=True),
                    feature=_array(arrays, prefix + "feature", source, 1, integer=True),
                    threshold=_array(arrays, prefix + "threshold", source, 1),
                    value=_array(arrays, prefix + "value", source, 1),
                )
                _check_trees(trees, width, f"component {i}", source)
                components.append(trees)
            elif kind == "mlp":
                layers = int(item["layers"])
                ws = tuple(_array(arrays, f"{prefix}w{j}", source, 2) for j in range(layers))
                bs = tuple(_array(arrays, f"{prefix}b{j}", source, 1) for j in range(layers))
                inputs = [width, *(w.shape[1] for w in ws)]
                if (
                    layers < 1
                    or inputs[-1] != 1
                    or any(
                        w.shape[0] != n or b.size != w.shape[1]
                        for w, b, n in zip(ws, bs, inputs, strict=False)
                    )
                ):
                    raise ValueError("layer shapes do not chain from the features to one output")
                components.append(Mlp(weights=ws, biases=bs))
            else:
                raise ValueError(f"unknown component kind {kind!r}")
        except (KeyError, TypeError, ValueError) as err:
            raise _fail(f"component {i}: {err}", source) from None
        if not weight > 0:
            raise _fail(f"component {i}: weight {weight} is not positive", source)
        weights.append(weight)
    if not components:
        raise _fail("no component", source)
    return RulModel(spec=spec, components=tuple(components), weights=tuple(weights), cap=cap, info=info)


def component_names(model: RulModel) -> Sequence[str]:
    """Short descriptions of the components, e.g. ``['trees(mean, 100 trees)', 'mlp(64-32)']``."""
    names: list[str] = []
    for c in model.components:
        if isinstance(c, Trees):
            names.append(f"trees({c.mode}, {c.offsets.size - 1} trees)")
        else:
            names.append("mlp(" + "-".join(str(w.shape[1]) for w in c.weights[:-1]) + ")")
    return names
