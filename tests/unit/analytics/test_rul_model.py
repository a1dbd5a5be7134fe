"""The numpy-only RUL model: features against plain loops, tree and MLP evaluation by hand, the file format.

No scikit-learn here: the comparison with scikit-learn's own predictions is in tests/unit/learning.
"""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from cadence.analytics.rul_model import FORMAT, FeatureSpec, Mlp, RulModel, Trees, dump_model, load_model
from cadence.errors import ModelInvalid


def _spec(window: int = 4, alphas: tuple[float, ...] = (0.5, 0.1)) -> FeatureSpec:
    width = 2 * (2 + len(alphas)) + 1
    return FeatureSpec(
        sensors=("T30", "PS30"),
        sensor_index=(2, 10),
        sensor_center=np.array([1590.0, 47.5]),
        sensor_scale=np.array([6.0, 0.25]),
        window=window,
        ewma_alphas=alphas,
        feature_center=np.linspace(-1.0, 1.0, width),
        feature_scale=np.linspace(0.5, 2.0, width),
    )


def _rows(lengths: dict[int, int], seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    units = np.concatenate([[u] * n for u, n in lengths.items()]).astype(np.int64)
    cycles = np.concatenate([np.arange(1, n + 1) for n in lengths.values()]).astype(np.int64)
    sensors = rng.normal(size=(units.size, 21)) * 3.0 + 100.0
    return units, cycles, sensors


def _expected_features(spec: FeatureSpec, x: list[float], cycle: int) -> list[float]:
    """One sensor's features at the last element of ``x`` (its history), with plain Python loops."""
    w = spec.window
    padded = [x[0]] * max(0, w - len(x)) + x[-w:]
    mean = sum(padded) / w
    centre = (w - 1) / 2
    slope = sum((i - centre) * v for i, v in enumerate(padded)) / sum((i - centre) ** 2 for i in range(w))
    out = [mean, slope]
    for a in spec.ewma_alphas:
        s = x[0]
        for v in x[1:]:
            s = a * v + (1 - a) * s
        out.append(s)
    return out


def test_features_match_plain_loops_including_units_shorter_than_the_window() -> None:
    spec = _spec(window=4)
    units, cycles, sensors = _rows({5: 7, 9: 2, 11: 1})
    raw = spec.raw_features(units, cycles, sensors)
    assert raw.shape == (10, len(spec.feature_names))
    for row in range(units.size):
        same = (units == units[row]) & (cycles <= cycles[row])
        expected: list[float] = []
        for j, col in enumerate(spec.sensor_index):
            z = [(v - spec.sensor_center[j]) / spec.sensor_scale[j] for v in sensors[same, col]]
            expected += _expected_features(spec, z, int(cycles[row]))
        expected.append(float(cycles[row]))
        assert raw[row].tolist() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # a single-cycle unit: window mean = its value, slope 0, smoothed values = its value
    single = raw[units == 11][0]
    assert single[1] == pytest.approx(0.0, abs=1e-12) and single[0] == single[2] == single[3]
    standardised = spec.features(units, cycles, sensors)
    assert np.allclose(standardised, (raw - spec.feature_center) / spec.feature_scale, rtol=0, atol=1e-12)


def test_row_order_does_not_change_any_row_s_features() -> None:
    spec = _spec()
    units, cycles, sensors = _rows({1: 12, 2: 5})
    shuffle = np.random.default_rng(3).permutation(units.size)
    direct = spec.raw_features(units, cycles, sensors)
    shuffled = spec.raw_features(units[shuffle], cycles[shuffle], sensors[shuffle])
    assert np.array_equal(shuffled, direct[shuffle])


def _two_trees() -> Trees:
    # tree 0: x0 <= 0.5 ? 10 : (x1 <= -1 ? 20 : 30); tree 1: a leaf of 6.
    return Trees(
        mode="mean",
        base=0.0,
        factor=1.0,
        offsets=np.array([0, 5, 6]),
        left=np.array([1, -1, 3, -1, -1, -1]),
        right=np.array([2, -1, 4, -1, -1, -1]),
        feature=np.array([0, 0, 1, 0, 0, 0]),
        threshold=np.array([0.5, 0.0, -1.0, 0.0, 0.0, 0.0]),
        value=np.array([0.0, 10.0, 0.0, 20.0, 30.0, 6.0]),
    )


def test_tree_traversal_by_hand_in_both_modes() -> None:
    x = np.array([[0.5, 9.0], [0.6, -1.0], [0.6, -0.9], [-3.0, -3.0]])
    forest = _two_trees()
    assert forest.predict(x).tolist() == [8.0, 13.0, 18.0, 8.0]
    boosted = Trees(**{**forest.__dict__, "mode": "sum", "base": 100.0, "factor": 0.1})
    assert boosted.predict(x).tolist() == pytest.approx([101.6, 102.6, 103.6, 101.6], abs=1e-12)


def test_thresholds_compare_single_precision_features_as_scikit_learn_does() -> None:
    # 0.1000000025 is above the threshold float32(0.1) = 0.10000000149..., but rounds to it in single
    # precision, so scikit-learn sends it left (x <= threshold); so must the numpy evaluation.
    thr = float(np.float32(0.1))
    trees = Trees(
        mode="mean",
        base=0.0,
        factor=1.0,
        offsets=np.array([0, 3]),
        left=np.array([1, -1, -1]),
        right=np.array([2, -1, -1]),
        feature=np.array([0, 0, 0]),
        threshold=np.array([thr, 0.0, 0.0]),
        value=np.array([0.0, 1.0, 2.0]),
    )
    x = np.array([[0.1000000025]])
    assert x[0, 0] > thr and trees.predict(x).tolist() == [1.0]


def test_mlp_is_relu_layers_and_a_linear_output() -> None:
    w0, b0 = np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([0.0, 1.0])
    w1, b1 = np.array([[3.0], [-2.0]]), np.array([0.25])
    mlp = Mlp(weights=(w0, w1), biases=(b0, b1))
    x = np.array([[1.0, 1.0], [-1.0, 0.0]])
    # row 1: h = relu([3, 0.5]) = [3, 0.5] -> 9 - 1 + 0.25; row 2: h = relu([-1, 2]) = [0, 2] -> -4 + 0.25
    assert mlp.predict(x).tolist() == [8.25, -3.75]


def _model() -> RulModel:
    spec = _spec()
    width = len(spec.feature_names)
    rng = np.random.default_rng(7)
    trees = _two_trees()
    mlp = Mlp(
        weights=(rng.normal(size=(width, 5)), rng.normal(size=(5, 1))),
        biases=(rng.normal(size=5), np.array([60.0])),
    )
    return RulModel(spec=spec, components=(trees, mlp), weights=(1.0, 3.0), cap=125.0, info={"seed": 7})


def test_prediction_is_the_weighted_mean_clipped_to_the_cap() -> None:
    model = _model()
    units, cycles, sensors = _rows({3: 40, 1: 3})
    x = model.spec.features(units, cycles, sensors)
    expected = np.clip((model.components[0].predict(x) + 3.0 * model.components[1].predict(x)) / 4.0, 0, 125)
    assert np.array_equal(model.predict_rows(units, cycles, sensors), expected)
    ids, last = model.predict_last(units, cycles, sensors)
    assert ids.tolist() == [1, 3]
    assert last.tolist() == [expected[-1], expected[39]]


def test_save_and_load_give_identical_predictions() -> None:
    model = _model()
    loaded = load_model(dump_model(model))
    units, cycles, sensors = _rows({1: 50, 2: 8, 3: 1}, seed=4)
    assert np.array_equal(
        loaded.predict_rows(units, cycles, sensors), model.predict_rows(units, cycles, sensors)
    )
    assert loaded.spec.feature_names == model.spec.feature_names and loaded.info == {"seed": 7}
    assert loaded.weights == model.weights and loaded.cap == model.cap


def _npz(**arrays: object) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def _with_meta(change: dict[str, object]) -> bytes:
    with np.load(io.BytesIO(dump_model(_model()))) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays["meta"]))
    meta.update(change)
    arrays["meta"] = np.array(json.dumps(meta))
    return _npz(**arrays)


def test_a_pickle_is_refused_without_being_unpickled() -> None:
    blob = pickle.dumps({"format": FORMAT})
    with pytest.raises(ModelInvalid, match=r"not a cadence\.rul-model/1 file"):
        load_model(blob, "model.pkl")


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "not a cadence.rul-model/1 file"),
        (b"PK\x03\x04 truncated", "not a readable"),
        (_npz(x=np.zeros(3)), "no header"),
        (_npz(meta=np.array([{"format": FORMAT}], dtype=object)), "not a readable"),  # pickled inside
        (_npz(meta=np.array("not json")), "not JSON"),
    ],
)
def test_other_files_are_refused(blob: bytes, message: str) -> None:
    with pytest.raises(ModelInvalid, match=message) as caught:
        load_model(blob, "some.file")
    assert caught.value.code == "learning.model_invalid" and caught.value.context["file"] == "some.file"


def test_another_format_or_version_is_refused() -> None:
    with pytest.raises(ModelInvalid, match=r"format 'cadence.rul-model/2' is not 'cadence.rul-model/1'"):
        load_model(_with_meta({"format": "cadence.rul-model/2"}))
    with pytest.raises(ModelInvalid, match=r"format 'cadence\.linear-classifier/1'"):
        load_model(_with_meta({"format": "cadence.linear-classifier/1"}))


def test_inconsistent_arrays_are_refused() -> None:
    with np.load(io.BytesIO(dump_model(_model()))) as archive:
        arrays = {name: archive[name] for name in archive.files}
    looped = dict(arrays, c0_left=np.array([1, -1, 0, -1, -1, -1], dtype=np.int32))  # node 2 -> root
    with pytest.raises(ModelInvalid, match="not after its parent"):
        load_model(_npz(**looped))
    far = dict(arrays, c0_feature=np.array([0, 0, 99, 0, 0, 0], dtype=np.int32))
    with pytest.raises(ModelInvalid, match="outside the 9 features"):
        load_model(_npz(**far))
    wrong_mlp = dict(arrays, c1_w1=np.zeros((5, 2)))
    with pytest.raises(ModelInvalid, match="one output"):
        load_model(_npz(**wrong_mlp))
    missing = {k: v for k, v in arrays.items() if k != "c0_value"}
    with pytest.raises(ModelInvalid, match="'c0_value' is missing"):
        load_model(_npz(**missing))
    with pytest.raises(ModelInvalid, match="non-finite"):
        load_model(_npz(**dict(arrays, sensor_scale=np.array([1.0, np.nan]))))


def test_the_archive_holds_no_pickled_array() -> None:
    with zipfile.ZipFile(io.BytesIO(dump_model(_model()))) as archive:
        names = archive.namelist()
        assert "meta.npy" in names
        for name in names:
            header = archive.read(name)[:128]
            assert b"'descr': '|O'" not in header  # no object dtype anywhere


def test_importing_the_model_module_loads_neither_sklearn_nor_scipy() -> None:
    code = (
        "import sys, cadence.analytics.rul_model as m; "
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('sklearn', 'scipy')); "
        "print(','.join(bad) or 'clean')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "clean"
