"""The AI4I 2020 reader on the 201-row fixture (tests/fixtures/ai4i), and the publisher's rules on it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cadence.errors import BadRequest
from cadence.evaluation import ai4i
from conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "ai4i" / "ai4i2020_extract.csv"


@pytest.fixture(scope="module")
def data() -> ai4i.Ai4iData:
    return ai4i.read_ai4i(FIXTURE)


def test_fixture_rows_and_labels(data: ai4i.Ai4iData) -> None:
    assert len(data) == 201
    assert data.udi[:3].tolist() == [1, 2, 3] and data.product_id[0] == "M14860"
    assert data.process[0].tolist() == [298.1, 308.6, 1551.0, 42.8, 0.0]
    assert int(data.failure.sum()) == 45
    assert {m: int(v.sum()) for m, v in data.modes.items()} == {
        "TWF": 11,
        "HDF": 10,
        "PWF": 10,
        "OSF": 10,
        "RNF": 10,
    }
    assert sorted(set(data.product_type.tolist())) == ["H", "L", "M"]
    # Every mode flag but RNF implies a machine failure (SOURCE.md, "Counts in this file").
    for mode in ("TWF", "HDF", "PWF", "OSF"):
        assert np.all(data.failure[data.modes[mode] == 1] == 1)
    labels, flags = data.first_mode(), np.column_stack([data.modes[m] for m in ai4i.MODES])
    single = flags.sum(axis=1) == 1
    assert labels[single].tolist() == [ai4i.MODES[k] for k in np.argmax(flags[single], axis=1)]
    assert set(labels[flags.sum(axis=1) == 0].tolist()) == {"none"}


def test_rule_quantities_follow_the_published_rules(data: ai4i.Ai4iData) -> None:
    x, names = ai4i.features(data, derived=True)
    column = {name: x[:, k] for k, name in enumerate(names)}
    assert names[:3] == ["type_L", "type_M", "type_H"] and np.all(x[:, :3].sum(axis=1) == 1)
    hdf = data.modes["HDF"] == 1
    assert np.all(column["temp_diff_K"][hdf] < 8.6) and np.all(column["speed_rpm"][hdf] < 1380)
    pwf = data.modes["PWF"] == 1
    assert np.all((column["power_W"][pwf] < 3500) | (column["power_W"][pwf] > 9000))
    limit = {"L": 11_000, "M": 12_000, "H": 13_000}
    osf = np.flatnonzero(data.modes["OSF"] == 1)
    assert all(column["wear_torque_minNm"][i] > limit[data.product_type[i]] for i in osf)
    assert column["power_W"][0] == pytest.approx(42.8 * 1551 * 2 * math.pi / 60)
    raw_x, raw_names = ai4i.features(data)
    assert raw_x.shape == (201, 8) and raw_names == names[:8]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ai4i2020.csv"
    path.write_text(text, encoding="utf-8")
    return path


HEADER = ",".join(ai4i.COLUMNS)
GOOD = "1,M14860,M,298.1,308.6,1551,42.8,0,0,0,0,0,0,0"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (GOOD.replace(",M,", ",X,"), "line 2: Type 'X' is not L, M or H"),
        (GOOD.replace("M14860,M", "L14860,M"), "line 2: Product ID 'L14860' does not start with its Type"),
        (GOOD.replace(",42.8,", ",abc,"), "line 2: column 'Torque \\[Nm\\]': 'abc' is not a number"),
        (GOOD[:-2] + ",2", "line 2: column 'RNF': '2' is not 0 or 1"),
        (GOOD + ",0", "line 2: 15 values, expected 14"),
        (GOOD + "\n" + GOOD, "UDI values repeat"),
        ("", "no data rows after the header"),
    ],
)
def test_malformed_rows_are_refused(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        ai4i.read_ai4i(write(tmp_path, f"{HEADER}\n{body}\n"))


def test_header_and_folder(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="header is not UCI's 14 columns"):
        ai4i.read_ai4i(write(tmp_path, HEADER.replace("UDI", "ID") + "\n" + GOOD + "\n"))
    write(tmp_path, "\ufeff" + HEADER + "\n" + GOOD + "\n")
    assert len(ai4i.read_ai4i(tmp_path)) == 1  # a folder holding ai4i2020.csv; the BOM is skipped
    with pytest.raises(BadRequest, match="no such file"):
        ai4i.read_ai4i(tmp_path / "absent.csv")
