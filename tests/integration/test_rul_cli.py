"""``cadence rul fit`` / ``cadence rul predict`` as a user runs them (real processes), and the whole FD001.

The fixture is the 3-engine FD001 extract of tests/fixtures/cmapss (SOURCE.md there). The FD001 test
reads the folder found by ``conftest.dataset_dir("cmapss", ...)`` and skips without it; the figure it
guards is in docs/benchmarks.md (benchmarks/cmapss_rul.py).
"""

from __future__ import annotations

import csv
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cadence.analytics.cmapss import PIECEWISE_RUL_CAP, phm08_score, rmse
from cadence.analytics.rul_model import dump_model, load_model
from cadence.cli_rul import DEFAULT_CAP
from cadence.evaluation.cmapss_files import SENSOR_COLUMNS, pair_with_truth, read_rul, read_trajectories
from conftest import ROOT, dataset_dir

CADENCE = [sys.executable, "-m", "cadence", "rul"]
FIXTURES = ROOT / "tests" / "fixtures" / "cmapss"
TRAIN = FIXTURES / "train_FD001_units1-3.csv"
TEST_CSV = FIXTURES / "test_FD001_units1-3.csv"
TEST_TXT = FIXTURES / "test_FD001_units1-3.txt"
TRUTH = FIXTURES / "RUL_FD001_units1-3.txt"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CADENCE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "400"},  # rich wraps error messages at the terminal width
    )


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rul") / "fd001-3.rulmodel"
    result = _run("fit", TRAIN, "--model", path, "--seeds", "1", "--seed", "4")
    assert result.returncode == 0, result.stderr
    assert "fitted on 658 rows of 3 units" in result.stdout and path.exists()
    return path


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_fit_then_predict_writes_unit_rul_for_each_test_unit(model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred.csv"
    result = _run("predict", TEST_CSV, "--model", model_file, "--out", out, "--truth", TRUTH)
    assert result.returncode == 0, result.stderr
    rows = _csv(out)
    assert [r["unit"] for r in rows] == ["1", "2", "3"] and list(rows[0]) == ["unit", "rul"]
    predicted = [float(r["rul"]) for r in rows]
    assert all(0 <= p <= PIECEWISE_RUL_CAP for p in predicted)
    # the printed metrics are those of the written predictions against RUL_FD001 lines 1-3 (112, 98, 69)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RMSE"))
    assert float(line.split()[1]) == pytest.approx(rmse(predicted, [112, 98, 69]), abs=0.011)
    assert float(line.split()[3]) == pytest.approx(phm08_score(predicted, [112, 98, 69]), rel=0.01)


def test_the_nasa_text_layout_predicts_the_same(model_file: Path, tmp_path: Path) -> None:
    from_csv = _run("predict", TEST_CSV, "--model", model_file)
    from_txt = _run("predict", TEST_TXT, "--model", model_file)
    assert from_csv.returncode == 0 and from_csv.stdout == from_txt.stdout
    assert from_csv.stdout.splitlines()[0] == "unit,rul"


def test_the_cli_predictions_are_the_model_s(model_file: Path) -> None:
    model = load_model(model_file.read_bytes())
    test = read_trajectories(TEST_CSV)
    _, rul = model.predict_last(test.units, test.cycles, test.sensors)
    printed = _run("predict", TEST_CSV, "--model", model_file).stdout.splitlines()[1:]
    assert printed == [f"{u},{r:.2f}" for u, r in zip([1, 2, 3], rul, strict=True)]


def test_a_pickle_model_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "model.pkl"
    bad.write_bytes(pickle.dumps({"format": "cadence.rul-model/1"}))
    result = _run("predict", TEST_CSV, "--model", bad)
    assert result.returncode == 2
    assert "learning.model_invalid" in result.stderr and "model.pkl" in result.stderr
    assert "refusing it" in result.stderr


def test_a_missing_model_and_a_malformed_data_file_name_the_file(model_file: Path, tmp_path: Path) -> None:
    missing = _run("predict", TEST_CSV, "--model", tmp_path / "nope.rulmodel")
    assert missing.returncode == 2 and "no such model file" in missing.stderr
    lines = TEST_CSV.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([*lines[:5], lines[5].replace(",", ",x", 1), *lines[6:]]), encoding="utf-8")
    result = _run("predict", broken, "--model", model_file)
    assert result.returncode == 2
    assert "broken.csv, line 6" in result.stderr and "bad_request" in result.stderr


def test_bad_options_are_refused_before_fitting(tmp_path: Path) -> None:
    result = _run("fit", TRAIN, "--model", tmp_path / "m", "--components", "gbr,svm")
    assert result.returncode == 2 and "components must be among" in result.stderr
    assert not (tmp_path / "m").exists()


def test_help_shows_examples_and_the_default_cap_is_the_shared_one() -> None:
    assert DEFAULT_CAP == PIECEWISE_RUL_CAP
    text = _run("--help").stdout + _run("fit", "--help").stdout
    assert "cadence rul fit train_FD001.csv --model" in text and "--cap" in text


# --- the whole FD001 -------------------------------------------------------------------------------------

# benchmarks/cmapss_rul.py --seeds 1 (seed 0) measured RMSE 11.89 and PHM08 188.0 with the default
# components; this test fits that same configuration (one seed instead of the default three, to stay near
# 90 CPU s) and allows a margin of 0.3 cycles of RMSE and 10 % of score.
FD001_RMSE_MAX = 11.89 + 0.3
FD001_PHM08_MAX = 188.0 * 1.1


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fd001_rmse_and_phm08_score() -> None:
    from cadence.learning.rul import FitOptions, fit_rul

    folder = dataset_dir("cmapss", "RUL_FD001.txt")
    train = read_trajectories(folder / "train_FD001.csv")
    test = read_trajectories(folder / "test_FD001.csv")
    truth = pair_with_truth(test, read_rul(folder / "RUL_FD001.txt"), folder / "RUL_FD001.txt")
    cpu = time.process_time()
    model = fit_rul(
        train.units, train.cycles, train.sensors, SENSOR_COLUMNS,
        options=FitOptions(seeds=1), rng=np.random.default_rng(0),
    )  # fmt: skip
    cpu = time.process_time() - cpu
    units, predicted = load_model(dump_model(model)).predict_last(test.units, test.cycles, test.sensors)
    assert units.tolist() == list(range(1, 101))
    score_rmse, score = rmse(predicted, truth), phm08_score(predicted, truth)
    assert score_rmse < FD001_RMSE_MAX, (score_rmse, score, cpu)
    assert score < FD001_PHM08_MAX, (score_rmse, score, cpu)
    assert cpu < 15 * 60
