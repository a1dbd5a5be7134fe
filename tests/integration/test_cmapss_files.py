"""The C-MAPSS reader on real files: the trimmed fixture (engines 1-3), malformed input, the shared FD001.

The whole FD001 files are found by ``conftest.dataset_dir("cmapss", ...)`` (``CMAPSS_DIR``, ``DATASETS_DIR``
or the workspace's shared copy); without them those tests skip with the reason.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cadence.analytics.cmapss import last_rows, phm08_score, rmse, training_rul
from cadence.errors import BadRequest
from cadence.evaluation.cmapss_files import (
    COLUMNS,
    pair_with_truth,
    read_rul,
    read_trajectories,
)
from conftest import ROOT, dataset_dir

FIXTURES = ROOT / "tests" / "fixtures" / "cmapss"
HEADER = ",".join(COLUMNS)


def _row(unit: int, cycle: int, sep: str = ",") -> str:
    return sep.join([str(unit), str(cycle)] + ["1.5"] * 24)


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the fixture ---------------------------------------------------------------------------------------


def test_train_fixture_reads_with_its_rul_column() -> None:
    train = read_trajectories(FIXTURES / "train_FD001_units1-3.csv")
    assert len(train) == 658
    assert train.unit_ids.tolist() == [1, 2, 3]
    assert np.bincount(train.units)[1:].tolist() == [192, 287, 179]
    assert train.settings.shape == (658, 3) and train.sensors.shape == (658, 21)
    # first data line of the file: 1,1,-0.0007,-0.0004,100.0,518.67,641.82,1589.7,…,39.06,23.419,191
    assert train.settings[0].tolist() == [-0.0007, -0.0004, 100.0]
    assert train.sensors[0, :3].tolist() == [518.67, 641.82, 1589.7]
    assert train.sensors[0, -2:].tolist() == [39.06, 23.419]
    assert train.rul is not None
    assert train.rul[0] == 191.0 and train.rul[191] == 0.0
    # the file's RUL column is the documented convention: last cycle of the engine minus the cycle
    assert np.array_equal(train.rul, training_rul(train.units, train.cycles))


def test_the_csv_and_nasa_text_layouts_read_the_same() -> None:
    csv = read_trajectories(FIXTURES / "test_FD001_units1-3.csv")
    txt = read_trajectories(FIXTURES / "test_FD001_units1-3.txt")
    assert csv.rul is None and txt.rul is None
    assert len(csv) == len(txt) == 206
    for name in ("units", "cycles", "settings", "sensors"):
        assert np.array_equal(getattr(csv, name), getattr(txt, name)), name
    # "553.90" and "1.30" are numbers, not text
    assert csv.sensors[0, COLUMNS.index("P30") - 5] == 553.9


def test_fixture_truth_pairs_with_the_test_units() -> None:
    test = read_trajectories(FIXTURES / "test_FD001_units1-3.csv")
    rul_path = FIXTURES / "RUL_FD001_units1-3.txt"
    truth = pair_with_truth(test, read_rul(rul_path), rul_path)
    assert truth.tolist() == [112, 98, 69]
    assert test.cycles[last_rows(test.units, test.cycles)].tolist() == [31, 49, 126]


# --- malformed input: the error names the file and the line ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        (f"{HEADER}\n{_row(1, 1)}\n1,2,3\n", 3, "3 values, expected 26"),
        (
            f"{HEADER}\n{_row(1, 1)}\n{_row(1, 2).replace('1.5', 'x', 1)}\n",
            3,
            "column SETTING_1: 'x' is not a number",
        ),
        (f"{HEADER}\n{_row(1, 1).replace('1.5', 'nan', 1)}\n", 2, "not a finite number"),
        (f"{HEADER}\n{_row(1, 1)}\n{_row(1, 3)}\n", 3, "cycle 3 follows cycle 1, expected 2"),
        (f"{HEADER}\n{_row(1, 2)}\n", 2, "unit 1 starts at cycle 2"),
        (f"{HEADER}\n{_row(1, 1)}\n{_row(2, 1)}\n{_row(1, 2)}\n", 4, "unit 1 appears again"),
        (f"{HEADER}\n1.5,{_row(1, 1).split(',', 1)[1]}\n", 2, "ENGINE_NUMBER: 1.5 is not a whole number"),
        (f"{HEADER},RUL\n{_row(1, 1)},-1\n", 2, "RUL: -1 is negative"),
        (f"{HEADER.replace('T24', 'T25')}\n{_row(1, 1)}\n", 1, "is not the C-MAPSS columns"),
        (f"{_row(1, 1, ' ')}\n{_row(1, 2, ' ')} 7\n", 2, "27 values, expected 26"),
    ],
)
def test_malformed_trajectories_are_refused_with_file_and_line(
    tmp_path: Path, text: str, line: int, match: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(BadRequest, match=match) as caught:
        read_trajectories(path)
    assert caught.value.context == {"file": str(path), "line": line}
    assert str(caught.value).startswith(f"{path}, line {line}: ")


def test_unreadable_files_are_refused_with_the_file(tmp_path: Path) -> None:
    for path, match in [
        (tmp_path / "missing.csv", "no such file"),
        (tmp_path, "is a directory"),
        (_write(tmp_path, "\n\n", "blank.csv"), "empty file"),
        (_write(tmp_path, HEADER + "\n", "header.csv"), "a header but no data rows"),
    ]:
        with pytest.raises(BadRequest, match=match) as caught:
            read_trajectories(path)
        assert caught.value.context["file"] == str(path)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe1,1\n")
    with pytest.raises(BadRequest, match="not text"):
        read_trajectories(binary)


def test_a_byte_order_mark_and_lower_case_header_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + HEADER.lower() + "\r\n" + _row(4, 1) + "\r\n").encode("utf-8"))
    assert read_trajectories(path).unit_ids.tolist() == [4]


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("112 \n\n98 \n", 2, "blank line"),
        ("112 \n9.5\n", 2, "'9.5' is not a whole number"),
        ("112 \n-3\n", 2, "-3 is negative"),
    ],
)
def test_malformed_rul_files_are_refused_with_file_and_line(
    tmp_path: Path, text: str, line: int, match: str
) -> None:
    path = _write(tmp_path, text, "RUL.txt")
    with pytest.raises(BadRequest, match=match) as caught:
        read_rul(path)
    assert caught.value.context == {"file": str(path), "line": line}


def test_trailing_blank_lines_of_a_rul_file_are_ignored(tmp_path: Path) -> None:
    assert read_rul(_write(tmp_path, "112 \n98 \n\n\n", "RUL.txt")).tolist() == [112, 98]
    with pytest.raises(BadRequest, match="empty file"):
        read_rul(_write(tmp_path, " \n", "empty.txt"))


def test_truth_for_other_units_is_refused(tmp_path: Path) -> None:
    test = read_trajectories(FIXTURES / "test_FD001_units1-3.csv")
    short = _write(tmp_path, "112\n98\n", "RUL.txt")
    with pytest.raises(BadRequest, match="2 RUL values for the 3 units"):
        pair_with_truth(test, read_rul(short), short)


# --- the shared FD001 files ----------------------------------------------------------------------------


@pytest.fixture
def fd001() -> Path:
    return dataset_dir("cmapss", "test_FD001.csv")


def test_shared_fd001_has_the_documented_shape(fd001: Path) -> None:
    train = read_trajectories(fd001 / "train_FD001.csv")
    test = read_trajectories(fd001 / "test_FD001.csv")
    rul = read_rul(fd001 / "RUL_FD001.txt")
    # SOURCE.md: 20 631 train rows, 13 096 test rows, 100 engines each, 100 RUL values from 7 to 145
    assert (len(train), len(test)) == (20_631, 13_096)
    assert train.unit_ids.tolist() == test.unit_ids.tolist() == list(range(1, 101))
    assert rul.size == 100 and (rul.min(), rul.max()) == (7, 145)
    assert train.rul is not None and np.array_equal(train.rul, training_rul(train.units, train.cycles))
    # SOURCE.md: in FD001, TRA and T2 are constant
    assert np.unique(train.settings[:, 2]).tolist() == [100.0]
    assert np.unique(train.sensors[:, 0]).size == 1


def test_a_constant_mean_rul_baseline_on_fd001(fd001: Path) -> None:
    train = read_trajectories(fd001 / "train_FD001.csv")
    test = read_trajectories(fd001 / "test_FD001.csv")
    truth = pair_with_truth(test, read_rul(fd001 / "RUL_FD001.txt"), fd001 / "RUL_FD001.txt")
    assert train.rul is not None
    guess = float(np.mean(train.rul))  # one prediction for every engine: the mean training target
    # independent computation: plain Python over the 100 engines
    d = [guess - float(t) for t in truth.tolist()]
    expected_rmse = math.sqrt(sum(x * x for x in d) / len(d))
    expected_score = sum(math.exp(-x / 13) - 1 if x < 0 else math.exp(x / 10) - 1 for x in d)
    predicted = np.full(truth.size, guess)
    assert rmse(predicted, truth) == pytest.approx(expected_rmse, rel=1e-12)
    assert phm08_score(predicted, truth) == pytest.approx(expected_score, rel=1e-9)
    # measured once (2026-11-29) and kept as a regression figure: mean target 107.81 cycles,
    # RMSE 52.62, score 269 287; the published table's worst row (MLP) is RMSE 37.56, score 18 000.
    assert guess == pytest.approx(107.80786, abs=1e-5)
    assert rmse(predicted, truth) == pytest.approx(52.6249, abs=1e-4)
    assert phm08_score(predicted, truth) == pytest.approx(269_287.50, abs=0.01)
