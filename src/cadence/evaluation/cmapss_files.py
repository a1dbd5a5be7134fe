"""Read C-MAPSS run-to-failure files (NASA turbofan simulation) into arrays, refusing malformed input.

Two layouts of the same 26 columns are read (``datasets/cmapss/SOURCE.md``):

* NASA's original text files (``train_FD001.txt``, ``test_FD001.txt``): no header, one row per line,
  26 numbers separated by spaces (trailing spaces allowed);
* the CSV conversion (``train_FD001.csv``, ``test_FD001.csv``): comma-separated with a header line naming
  the 26 columns in NASA's order (:data:`COLUMNS`), optionally followed by a ``RUL`` column (train files).

Rows are grouped by unit and each unit's cycles run 1, 2, 3… without gaps, as in NASA's files; anything
else is refused with the file and line, because a shuffled or truncated file silently changes every
target. The true-RUL file (``RUL_FD001.txt``) holds one non-negative integer per line, line k being the
RUL of test unit k after its last cycle.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> row = " ".join(["0"] * 24)
>>> _ = (folder / "test.txt").write_text(f"1 1 {row} \\n1 2 {row} \\n2 1 {row} \\n")
>>> _ = (folder / "RUL.txt").write_text("112 \\n98 \\n")
>>> test = read_trajectories(folder / "test.txt")
>>> test.unit_ids.tolist(), test.cycles.tolist(), test.sensors.shape
([1, 2], [1, 2, 1], (3, 21))
>>> pair_with_truth(test, read_rul(folder / "RUL.txt"), folder / "RUL.txt").tolist()
[112, 98]
>>> import shutil; shutil.rmtree(folder)
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cadence.evaluation.files import fail, read_text

# Header names of the CSV conversion, in NASA's column order (SOURCE.md, "Columns"): unit, cycle,
# 3 operational settings, 21 sensors.
ID_COLUMNS = ("ENGINE_NUMBER", "TIME_IN_CYCLES")
SETTING_COLUMNS = ("SETTING_1", "SETTING_2", "TRA")
SENSOR_COLUMNS = (
    "T2", "T24", "T30", "T50", "P2", "P15", "P30", "NF", "NC", "EPR", "PS30",
    "PHI", "NRF", "NRC", "BPR", "FARB", "HTBLEED", "NF_DMD", "PCNFR_DMD", "W31", "W32",
)  # fmt: skip
COLUMNS = ID_COLUMNS + SETTING_COLUMNS + SENSOR_COLUMNS
RUL_COLUMN = "RUL"
# Far above the 3.5 MB of the largest C-MAPSS file (FD004 train, ~10 MB as text): a bigger file is
# not this format, and reading it whole would only waste memory.
MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Trajectories:
    """The rows of one C-MAPSS file, in file order; ``rul`` only when the file has a ``RUL`` column."""

    path: Path
    units: NDArray[np.int64]
    cycles: NDArray[np.int64]
    settings: NDArray[np.float64]  # shape (rows, 3)
    sensors: NDArray[np.float64]  # shape (rows, 21)
    rul: NDArray[np.float64] | None

    @property
    def unit_ids(self) -> NDArray[np.int64]:
        """The units, in the order they appear (the file groups them)."""
        ids, first = np.unique(self.units, return_index=True)
        return ids[np.argsort(first)]

    def __len__(self) -> int:
        return int(self.units.size)


def _text(path: Path) -> str:
    return read_text(
        path,
        limit_bytes=MAX_FILE_BYTES,
        limit_note="a C-MAPSS file is expected below 200 MiB",
        expected="text; expected ASCII numbers",
    )


def _number(path: Path, line: int, column: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise fail(path, f"column {column}: {cell.strip()!r} is not a number", line) from None
    if not math.isfinite(value):
        raise fail(path, f"column {column}: {cell.strip()!r} is not a finite number", line)
    return value


def _whole(path: Path, line: int, column: str, value: float) -> int:
    if value != int(value) or value < 1:
        raise fail(path, f"column {column}: {value:g} is not a whole number from 1 up", line)
    return int(value)


def read_trajectories(path: Path) -> Trajectories:
    """Read a C-MAPSS train or test file, NASA's space-separated text or the CSV with a header."""
    text = _text(path)
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        raise fail(path, f"empty file; expected rows of the {len(COLUMNS)} C-MAPSS columns")
    names: tuple[str, ...] = COLUMNS
    rows: list[tuple[int, list[str]]]
    if "," in numbered[0][1]:
        header_line, header_text = numbered[0]
        header = tuple(cell.strip() for cell in next(csv.reader([header_text])))
        expected = (COLUMNS, (*COLUMNS, RUL_COLUMN))
        if tuple(h.upper() for h in header) not in expected:
            raise fail(
                path,
                f"header {', '.join(header)!r} is not the C-MAPSS columns "
                f"{', '.join(COLUMNS)} (optionally followed by {RUL_COLUMN})",
                header_line,
            )
        names = tuple(h.upper() for h in header)
        body = numbered[1:]
        rows = [(n, cells) for (n, _), cells in zip(body, csv.reader(line for _, line in body), strict=True)]
    else:
        rows = [(n, line.split()) for n, line in numbered]
    if not rows:
        raise fail(path, "a header but no data rows")

    width = len(names)
    values = np.empty((len(rows), width), dtype=np.float64)
    units = np.empty(len(rows), dtype=np.int64)
    cycles = np.empty(len(rows), dtype=np.int64)
    seen: set[int] = set()
    previous_unit, previous_cycle = 0, 0
    for i, (line, cells) in enumerate(rows):
        if len(cells) != width:
            raise fail(path, f"{len(cells)} values, expected {width} ({', '.join(names)})", line)
        row = [_number(path, line, name, cell) for name, cell in zip(names, cells, strict=True)]
        unit = _whole(path, line, names[0], row[0])
        cycle = _whole(path, line, names[1], row[1])
        if unit != previous_unit:
            # A unit must be one block starting at cycle 1: a reappearing unit means shuffled or
            # concatenated files, and a later first cycle means a truncated trajectory.
            if unit in seen:
                raise fail(path, f"unit {unit} appears again after other units; rows must be grouped", line)
            if cycle != 1:
                raise fail(path, f"unit {unit} starts at cycle {cycle}, expected cycle 1", line)
            seen.add(unit)
        elif cycle != previous_cycle + 1:
            raise fail(
                path,
                f"unit {unit}: cycle {cycle} follows cycle {previous_cycle}, expected {previous_cycle + 1}",
                line,
            )
        if width > len(COLUMNS) and row[-1] < 0:
            raise fail(path, f"column {RUL_COLUMN}: {row[-1]:g} is negative", line)
        values[i] = row
        units[i], cycles[i] = unit, cycle
        previous_unit, previous_cycle = unit, cycle

    settings_end = len(ID_COLUMNS) + len(SETTING_COLUMNS)
    return Trajectories(
        path=path,
        units=units,
        cycles=cycles,
        settings=values[:, len(ID_COLUMNS) : settings_end].copy(),
        sensors=values[:, settings_end : len(COLUMNS)].copy(),
        rul=values[:, len(COLUMNS)].copy() if width > len(COLUMNS) else None,
    )


def read_rul(path: Path) -> NDArray[np.int64]:
    """Read a true-RUL file: one whole number of cycles (≥ 0) per line, line k for test unit k."""
    lines = _text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise fail(path, "empty file; expected one RUL (whole number of cycles) per line")
    out = np.empty(len(lines), dtype=np.int64)
    for i, text in enumerate(lines):
        cell = text.strip()
        # A blank line in the middle would shift every later unit's truth by one: refuse it.
        if not cell:
            raise fail(path, "blank line; line k must hold the RUL of test unit k", i + 1)
        try:
            value = int(cell)
        except ValueError:
            raise fail(path, f"{cell!r} is not a whole number of cycles", i + 1) from None
        if value < 0:
            raise fail(path, f"{value} is negative; a remaining useful life is 0 or more", i + 1)
        out[i] = value
    return out


def pair_with_truth(test: Trajectories, rul: NDArray[np.int64], rul_path: Path) -> NDArray[np.int64]:
    """The true RUL of each test unit in ascending unit order, checking the files describe the same units.

    NASA numbers test units 1..n and line k of the RUL file is unit k, so the unit ids must be exactly that.
    """
    ids = np.sort(test.unit_ids)
    if ids.size != rul.size or not np.array_equal(ids, np.arange(1, rul.size + 1)):
        raise fail(
            rul_path,
            f"{rul.size} RUL values for the {ids.size} units of {test.path} "
            f"(units {ids[0]}..{ids[-1]}); line k must be the RUL of unit k",
        )
    return rul.copy()
