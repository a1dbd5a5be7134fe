"""Read the AI4I 2020 predictive-maintenance table (Matzka, UCI 601) into arrays, refusing malformed input.

One CSV file (``datasets/ai4i2020/SOURCE.md``): a header of UCI's 14 columns, then one row per process
run — identifiers, the product quality variant ``L``/``M``/``H``, air and process temperature (K),
rotational speed (rpm), torque (N·m), tool wear (min), the machine-failure label and the five failure-mode
flags (TWF, HDF, PWF, OSF, RNF). The file starts with a UTF-8 byte-order mark, which is skipped.

:func:`features` gives the model inputs: the variant one-hot and the five process values, and optionally
the three quantities the publisher's failure rules are written in (SOURCE.md, "Failure modes"):
process − air temperature (HDF), mechanical power = torque × speed in rad/s (PWF), tool wear × torque
(OSF). With them a tree learner can find the documented thresholds directly.

>>> import tempfile, pathlib
>>> import numpy as np
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ai4i.csv"
>>> _ = path.write_bytes(("\\ufeff" + ",".join(COLUMNS) + "\\n"
...     "1,M14860,M,298.1,308.6,1551,42.8,0,0,0,0,0,0,0\\n"
...     "2,L47181,L,298.2,308.7,1408,46.3,3,1,0,0,0,1,0\\n").encode("utf-8"))
>>> data = read_ai4i(path)
>>> len(data), data.product_type.tolist(), data.failure.tolist(), data.modes["OSF"].tolist()
(2, ['M', 'L'], [0, 1], [0, 1])
>>> x, names = features(data, derived=True)
>>> names[-3:], np.round(x[0, -3:], 1).tolist()
(['temp_diff_K', 'power_W', 'wear_torque_minNm'], [10.5, 6951.6, 0.0])
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cadence.evaluation.files import fail, read_text

COLUMNS = (
    "UDI", "Product ID", "Type", "Air temperature [K]", "Process temperature [K]",
    "Rotational speed [rpm]", "Torque [Nm]", "Tool wear [min]", "Machine failure",
    "TWF", "HDF", "PWF", "OSF", "RNF",
)  # fmt: skip
MODES = ("TWF", "HDF", "PWF", "OSF", "RNF")
TYPES = ("L", "M", "H")
PROCESS_COLUMNS = (
    ("air_temp_K", "Air temperature [K]"),
    ("process_temp_K", "Process temperature [K]"),
    ("speed_rpm", "Rotational speed [rpm]"),
    ("torque_Nm", "Torque [Nm]"),
    ("tool_wear_min", "Tool wear [min]"),
)
DERIVED = ("temp_diff_K", "power_W", "wear_torque_minNm")
MAX_FILE_BYTES = 50 * 1024 * 1024  # the file is ~0.5 MB


@dataclass(frozen=True, slots=True)
class Ai4iData:
    """The rows of the file, in file order."""

    path: Path
    udi: NDArray[np.int64]
    product_id: NDArray[np.str_]
    product_type: NDArray[np.str_]  # "L", "M" or "H"
    process: NDArray[np.float64]  # (rows, 5): the PROCESS_COLUMNS in order
    failure: NDArray[np.int64]  # Machine failure, 0/1
    modes: dict[str, NDArray[np.int64]]  # MODES → 0/1 per row

    def __len__(self) -> int:
        return int(self.udi.size)

    def first_mode(self) -> NDArray[np.str_]:
        """Per row, the first flagged mode in :data:`MODES` order, or ``"none"`` (a stratification label)."""
        label = np.full(len(self), "none", dtype="<U4")
        for mode in reversed(MODES):
            label[self.modes[mode] == 1] = mode
        return label


def _text(path: Path) -> str:
    return read_text(
        path,
        limit_bytes=MAX_FILE_BYTES,
        limit_note="the AI4I 2020 file is about 0.5 MB",
        expected="UTF-8 text",
    )


def _flag(path: Path, line: int, column: str, cell: str) -> int:
    if cell not in ("0", "1"):
        raise fail(path, f"column {column!r}: {cell!r} is not 0 or 1", line)
    return int(cell)


def read_ai4i(path: Path) -> Ai4iData:
    """Read ``ai4i2020.csv`` (or a folder holding it): header and every row checked."""
    if path.is_dir():
        path = path / "ai4i2020.csv"
    reader = csv.reader(io.StringIO(_text(path), newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise fail(path, f"header is not UCI's 14 columns ({', '.join(COLUMNS)})", 1)
    udi, ids, types, process, failure = [], [], [], [], []
    modes: dict[str, list[int]] = {mode: [] for mode in MODES}
    for line, cells in enumerate(reader, start=2):
        if not cells:
            continue
        if len(cells) != len(COLUMNS):
            raise fail(path, f"{len(cells)} values, expected {len(COLUMNS)}", line)
        row = dict(zip(COLUMNS, (c.strip() for c in cells), strict=True))
        try:
            udi.append(int(row["UDI"]))
        except ValueError:
            raise fail(path, f"UDI {row['UDI']!r} is not an integer", line) from None
        if row["Type"] not in TYPES:
            raise fail(path, f"Type {row['Type']!r} is not L, M or H", line)
        if not row["Product ID"].startswith(row["Type"]):
            raise fail(path, f"Product ID {row['Product ID']!r} does not start with its Type", line)
        ids.append(row["Product ID"])
        types.append(row["Type"])
        values = []
        for _, column in PROCESS_COLUMNS:
            try:
                value = float(row[column])
            except ValueError:
                raise fail(path, f"column {column!r}: {row[column]!r} is not a number", line) from None
            if not math.isfinite(value) or value < 0:
                raise fail(path, f"column {column!r}: {row[column]!r} is not a finite number ≥ 0", line)
            values.append(value)
        process.append(values)
        failure.append(_flag(path, line, "Machine failure", row["Machine failure"]))
        for mode in MODES:
            modes[mode].append(_flag(path, line, mode, row[mode]))
    if not udi:
        raise fail(path, "no data rows after the header")
    if len(set(udi)) != len(udi):
        raise fail(path, "UDI values repeat; each row has its own identifier")
    return Ai4iData(
        path,
        np.array(udi, dtype=np.int64),
        np.array(ids, dtype=np.str_),
        np.array(types, dtype=np.str_),
        np.array(process, dtype=np.float64),
        np.array(failure, dtype=np.int64),
        {mode: np.array(flags, dtype=np.int64) for mode, flags in modes.items()},
    )


def features(data: Ai4iData, derived: bool = False) -> tuple[NDArray[np.float64], list[str]]:
    """Model inputs: ``type_L``/``type_M``/``type_H`` (one-hot), the five process values, and with
    ``derived`` the three quantities of the failure rules (:data:`DERIVED`)."""
    one_hot = np.column_stack([(data.product_type == t).astype(np.float64) for t in TYPES])
    names = [f"type_{t}" for t in TYPES] + [name for name, _ in PROCESS_COLUMNS]
    blocks = [one_hot, data.process]
    if derived:
        air, process_temp, speed, torque, wear = data.process.T
        blocks.append(
            np.column_stack([process_temp - air, torque * speed * 2.0 * math.pi / 60.0, wear * torque])
        )
        names += list(DERIVED)
    return np.hstack(blocks), names
