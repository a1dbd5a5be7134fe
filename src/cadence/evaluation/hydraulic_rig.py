"""Read the UCI hydraulic rig's temperature channels (Helwig et al., UCI 447) and make per-cycle features.

The folder (``datasets/uci-hydraulic/SOURCE.md``) holds, for 2 205 load cycles of 60 s:

* ``raw/TS1.txt`` … ``raw/TS4.txt``: one row per cycle, 60 tab-separated temperatures in °C (1 Hz);
* ``raw/profile.txt``: one row per cycle, 5 tab-separated integers: cooler condition (%), valve
  condition (%), internal pump leakage (0-2), accumulator pressure (bar), stable flag (0/1);
* ``derived/ts_cycle_features.csv``: a per-cycle feature table computed by the dataset's curators.

:func:`cycle_features` computes the 7 features of that table from the raw matrices ourselves (mean,
sample standard deviation, min, max, first, last, least-squares slope in °C/s), so the table only serves
as a check (the tests compare the two to the table's 6 significant digits). Everything is refused with
the file and line when it does not match the documented layout; a silently shifted row would pair every
later cycle with the wrong condition.

>>> import numpy as np
>>> cycle = np.linspace(35.0, 36.18, 60)[None, :]  # one cycle warming by 0.02 °C/s
>>> dict(zip(STATISTICS, np.round(cycle_features(cycle)[0], 4).tolist()))
{'mean': 35.59, 'std': 0.3493, 'min': 35.0, 'max': 36.18, 'first': 35.0, 'last': 36.18, 'slope_per_s': 0.02}
>>> feature_names()[:3], len(feature_names())
(['TS1_mean', 'TS1_std', 'TS1_min'], 28)
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cadence.errors import BadRequest
from cadence.evaluation.files import fail, read_text

SENSORS = ("TS1", "TS2", "TS3", "TS4")
SAMPLES_PER_CYCLE = 60  # 1 Hz over the 60-s load cycle
STATISTICS = ("mean", "std", "min", "max", "first", "last", "slope_per_s")
# The profile's columns, in file order (SOURCE.md, "Formats"), with the values each may take.
PROFILE_COLUMNS = ("cooler_pct", "valve_pct", "pump_leakage", "accumulator_bar", "stable_flag")
PROFILE_VALUES: dict[str, tuple[int, ...]] = {
    "cooler_pct": (3, 20, 100),
    "valve_pct": (73, 80, 90, 100),
    "pump_leakage": (0, 1, 2),
    "accumulator_bar": (90, 100, 115, 130),
    "stable_flag": (0, 1),
}
# Far above the ~0.9 MB of a TS file: anything bigger is not this dataset.
MAX_FILE_BYTES = 50 * 1024 * 1024


def feature_names() -> list[str]:
    """``TS1_mean`` … ``TS4_slope_per_s``: the column order of :func:`cycle_features` over the 4 sensors."""
    return [f"{sensor}_{stat}" for sensor in SENSORS for stat in STATISTICS]


@dataclass(frozen=True, slots=True)
class Profile:
    """The condition of each component per cycle (row k = cycle k + 1)."""

    cooler_pct: NDArray[np.int64]
    valve_pct: NDArray[np.int64]
    pump_leakage: NDArray[np.int64]
    accumulator_bar: NDArray[np.int64]
    stable_flag: NDArray[np.int64]

    def column(self, name: str) -> NDArray[np.int64]:
        if name not in PROFILE_COLUMNS:
            raise BadRequest(f"no profile column {name!r} (columns: {', '.join(PROFILE_COLUMNS)})")
        values: NDArray[np.int64] = getattr(self, name)
        return values

    def __len__(self) -> int:
        return int(self.cooler_pct.size)


@dataclass(frozen=True, slots=True)
class HydraulicRig:
    """Per-cycle features of the four temperature channels and the conditions to classify."""

    folder: Path
    features: NDArray[np.float64]  # (cycles, 28), columns as feature_names()
    feature_names: tuple[str, ...]
    profile: Profile

    def __len__(self) -> int:
        return int(self.features.shape[0])


def _lines(path: Path) -> list[tuple[int, str]]:
    text = read_text(
        path,
        limit_bytes=MAX_FILE_BYTES,
        limit_note="a file of this dataset is below 1 MB",
        encoding="ascii",
        expected="ASCII text; expected tab-separated numbers",
    )
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        raise fail(path, "empty file")
    return numbered


def read_matrix(path: Path, columns: int = SAMPLES_PER_CYCLE) -> NDArray[np.float64]:
    """A tab-separated matrix without header (a ``TS*.txt`` file): one row per cycle, ``columns`` values."""
    rows: list[list[float]] = []
    for number, line in _lines(path):
        cells = line.rstrip("\r").split("\t")
        if len(cells) != columns:
            raise fail(path, f"{len(cells)} tab-separated values, expected {columns}", number)
        row = []
        for index, cell in enumerate(cells, start=1):
            try:
                value = float(cell)
            except ValueError:
                raise fail(path, f"column {index}: {cell.strip()!r} is not a number", number) from None
            if not math.isfinite(value):
                raise fail(path, f"column {index}: {cell.strip()!r} is not a finite number", number)
            row.append(value)
        rows.append(row)
    return np.array(rows, dtype=np.float64)


def read_profile(path: Path) -> Profile:
    """``profile.txt``: 5 tab-separated integers per cycle, each among its documented values."""
    columns: list[list[int]] = [[] for _ in PROFILE_COLUMNS]
    for number, line in _lines(path):
        cells = line.rstrip("\r").split("\t")
        if len(cells) != len(PROFILE_COLUMNS):
            raise fail(path, f"{len(cells)} values, expected {len(PROFILE_COLUMNS)}", number)
        for index, (name, cell) in enumerate(zip(PROFILE_COLUMNS, cells, strict=True)):
            try:
                value = int(cell)
            except ValueError:
                raise fail(path, f"{name}: {cell.strip()!r} is not an integer", number) from None
            if value not in PROFILE_VALUES[name]:
                allowed = ", ".join(map(str, PROFILE_VALUES[name]))
                raise fail(path, f"{name}: {value} is not one of {allowed}", number)
            columns[index].append(value)
    arrays = [np.array(values, dtype=np.int64) for values in columns]
    return Profile(*arrays)


def cycle_features(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """The 7 statistics of :data:`STATISTICS` for each row (cycle) of a (cycles, 60) matrix.

    Standard deviation with denominator n − 1; slope by least squares against t = 0 … n − 1 s.
    """
    values = np.asarray(matrix, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 2:
        raise BadRequest(f"expected a (cycles, samples) matrix with at least 2 samples, got {values.shape}")
    t = np.arange(values.shape[1], dtype=np.float64)
    centred_t = t - t.mean()
    centred = values - values.mean(axis=1, keepdims=True)
    slope = centred @ centred_t / (centred_t @ centred_t)
    return np.column_stack(
        [
            values.mean(axis=1),
            values.std(axis=1, ddof=1),
            values.min(axis=1),
            values.max(axis=1),
            values[:, 0],
            values[:, -1],
            slope,
        ]
    )


def read_rig(folder: Path) -> HydraulicRig:
    """The four TS matrices and the profile of ``folder`` (with ``raw/`` inside, or the raw folder itself),
    as per-cycle features; every file must have the same number of cycles."""
    raw = folder / "raw" if (folder / "raw").is_dir() else folder
    profile_path = raw / "profile.txt"
    profile = read_profile(profile_path)
    blocks = []
    for sensor in SENSORS:
        path = raw / f"{sensor}.txt"
        matrix = read_matrix(path)
        if matrix.shape[0] != len(profile):
            raise fail(path, f"{matrix.shape[0]} cycles, but {profile_path.name} has {len(profile)}")
        blocks.append(cycle_features(matrix))
    return HydraulicRig(folder, np.hstack(blocks), tuple(feature_names()), profile)


def read_derived_table(path: Path) -> tuple[NDArray[np.int64], NDArray[np.float64], Profile]:
    """``derived/ts_cycle_features.csv``: cycle numbers, the 28 features (in :func:`feature_names` order)
    and the profile columns; the header must be exactly the documented one."""
    expected = ["cycle", *feature_names(), *PROFILE_COLUMNS]
    numbered = _lines(path)
    header_line, header_text = numbered[0]
    header = next(csv.reader([header_text]))
    if header != expected:
        raise fail(path, f"header is not the documented columns ({', '.join(expected)})", header_line)
    cycles: list[int] = []
    features: list[list[float]] = []
    profile: list[list[int]] = [[] for _ in PROFILE_COLUMNS]
    for number, line in numbered[1:]:
        cells = line.split(",")
        if len(cells) != len(expected):
            raise fail(path, f"{len(cells)} values, expected {len(expected)}", number)
        try:
            cycles.append(int(cells[0]))
            features.append([float(c) for c in cells[1 : 1 + len(feature_names())]])
            for index, cell in enumerate(cells[1 + len(feature_names()) :]):
                profile[index].append(int(cell))
        except ValueError:
            raise fail(path, "a value is not a number", number) from None
    return (
        np.array(cycles, dtype=np.int64),
        np.array(features, dtype=np.float64),
        Profile(*(np.array(values, dtype=np.int64) for values in profile)),
    )
