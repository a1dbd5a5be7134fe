"""The hydraulic-rig reader and feature extraction on the 60-cycle fixture (tests/fixtures/uci-hydraulic)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from cadence.errors import BadRequest
from cadence.evaluation import hydraulic_rig
from conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "uci-hydraulic"


def test_fixture_reads_into_28_features_and_the_profile() -> None:
    rig = hydraulic_rig.read_rig(FIXTURE)
    assert rig.features.shape == (60, 28) and len(rig) == 60
    assert rig.feature_names[:7] == tuple(f"TS1_{s}" for s in hydraulic_rig.STATISTICS)
    values, counts = np.unique(rig.profile.cooler_pct, return_counts=True)
    assert values.tolist() == [3, 20, 100] and counts.tolist() == [20, 20, 20]
    assert np.unique(rig.profile.valve_pct, return_counts=True)[1].tolist() == [8, 13, 9, 30]
    # First cycle of TS1 as printed in the dataset notes: 35.57, 35.492, …
    first_row = hydraulic_rig.read_matrix(FIXTURE / "raw" / "TS1.txt")[0]
    assert first_row[:2].tolist() == [35.57, 35.492] and first_row.size == 60


def test_features_agree_with_the_derived_table_definition() -> None:
    """Our extraction from the raw matrices against the curators' table (6 significant digits)."""
    rig = hydraulic_rig.read_rig(FIXTURE)
    cycles, table, profile = hydraulic_rig.read_derived_table(FIXTURE / "derived" / "ts_cycle_features.csv")
    assert cycles.tolist() == list(range(1, 2206, 37))
    np.testing.assert_allclose(rig.features, table, rtol=1e-5, atol=1e-8)
    for column in hydraulic_rig.PROFILE_COLUMNS:
        assert np.array_equal(profile.column(column), rig.profile.column(column))


def test_statistics_by_hand() -> None:
    cycle = np.array([[1.0, 3.0, 2.0, 6.0]])
    mean, sd, low, high, first, last, slope = hydraulic_rig.cycle_features(cycle)[0]
    assert (mean, low, high, first, last) == (3.0, 1.0, 6.0, 1.0, 6.0)
    assert sd == pytest.approx(np.sqrt(14 / 3))  # squares 4+0+1+9 over n − 1 = 3
    assert slope == pytest.approx(1.4)  # Σ(t−1.5)(x−3) = 7, Σ(t−1.5)² = 5


def copy_fixture(tmp_path: Path) -> Path:
    target = tmp_path / "rig"
    shutil.copytree(FIXTURE, target)
    return target


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        (
            "TS2.txt",
            lambda t: t.replace("\t", " ", 1),
            "TS2.txt, line 1: 59 tab-separated values, expected 60",
        ),
        ("TS3.txt", lambda t: t.replace("\t", "\tx", 1), "line 1: column 2: 'x38.332' is not a number"),
        ("TS4.txt", lambda t: t + t.splitlines()[0] + "\n", "TS4.txt: 61 cycles, but profile.txt has 60"),
        ("profile.txt", lambda t: "50" + t[1:], "line 1: cooler_pct: 50 is not one of 3, 20, 100"),
        ("profile.txt", lambda t: t.replace("\t1\n", "\t1\t0\n", 1), "line 1: 6 values, expected 5"),
        ("TS1.txt", lambda t: "nan" + t[5:], "column 1: 'nan' is not a finite number"),
    ],
)
def test_malformed_files_are_refused_with_file_and_line(
    tmp_path: Path, file: str, edit, message: str
) -> None:
    folder = copy_fixture(tmp_path)
    path = folder / "raw" / file
    path.chmod(0o644)
    path.write_text(edit(path.read_text(encoding="ascii")), encoding="ascii")
    with pytest.raises(BadRequest, match=re.escape(message)):
        hydraulic_rig.read_rig(folder)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"profile\.txt: no such file"):
        hydraulic_rig.read_rig(tmp_path)
    (tmp_path / "profile.txt").write_bytes(b"3\t100\t0\t130\t1\n\xff\n")
    with pytest.raises(BadRequest, match="not ASCII text"):
        hydraulic_rig.read_rig(tmp_path)


def test_derived_table_header_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    source = (FIXTURE / "derived" / "ts_cycle_features.csv").read_text(encoding="ascii")
    path.write_text(source.replace("TS1_mean", "TS1_avg", 1), encoding="ascii")
    with pytest.raises(BadRequest, match="header is not the documented columns"):
        hydraulic_rig.read_derived_table(path)
