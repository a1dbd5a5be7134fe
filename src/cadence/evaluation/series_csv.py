"""Time-series CSV files for ``cadence anomaly score``: read a timestamp column and numeric columns, write
``timestamp,anomaly_score``.

Reading reuses the table reader of ``cadence spc`` (:func:`cadence.services.spc_offline.read_table`):
comma, semicolon (with decimal commas), tab or space separated, one header line, blank and ``#`` lines
skipped, and the same coded errors naming file, line and column (``spc.file``, ``spc.column``,
``spc.value``). Rows stay in file order; timestamps are kept as text, so repeated or out-of-order stamps
are carried through untouched; only the sampling interval is read from the first ones (:func:`row_seconds`).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "press.csv"
>>> _ = path.write_text("horodatage;pression;temp\\n2024-01-01 00:00;1,5;20\\n2024-01-01 00:01;1,6;21\\n")
>>> s = read_series(path, timestamp_column="horodatage")
>>> s.columns, s.values.tolist(), s.timestamps
(('pression', 'temp'), [[1.5, 20.0], [1.6, 21.0]], ('2024-01-01 00:00', '2024-01-01 00:01'))
"""

from __future__ import annotations

import csv
import io
import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cadence.errors import SpcColumnError, SpcValueError
from cadence.services.spc_offline import read_table

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Series:
    """A file's timestamps (text, file order) and its numeric columns as a rows × columns array."""

    path: Path
    timestamps: tuple[str, ...]
    columns: tuple[str, ...]
    values: FloatArray


def read_series(
    path: Path,
    timestamp_column: str = "timestamp",
    columns: Sequence[str] | None = None,
    sep: str | None = None,
) -> Series:
    """Read ``path``; ``columns`` default to every column but the timestamp one (all must be numeric)."""
    table = read_table(path, sep)
    stamp_at = table.column(timestamp_column, "--timestamp-column")
    if columns:
        picked = [table.column(name, "--columns") for name in columns]
    else:
        picked = [k for k in range(len(table.header)) if k != stamp_at]
    if not picked:
        raise SpcColumnError(
            f"{path}: no value column besides the timestamp column {table.header[stamp_at]!r}; "
            f"the header has: {', '.join(table.header)}",
            file=str(path),
        )
    if stamp_at in picked:
        raise SpcColumnError(
            f"{path}: the timestamp column {table.header[stamp_at]!r} cannot also be a value column",
            file=str(path),
            column=table.header[stamp_at],
        )
    stamps = table.labels(stamp_at)
    for row, stamp in enumerate(stamps):
        if not stamp:
            raise SpcValueError(
                f"{path}, line {table.lines[row]}, column {table.header[stamp_at]!r}: empty timestamp",
                file=str(path),
                line=table.lines[row],
                column=table.header[stamp_at],
            )
    values = np.column_stack([np.array(table.numbers(k), dtype=np.float64) for k in picked])
    return Series(path, tuple(stamps), tuple(table.header[k] for k in picked), values)


def row_seconds(timestamps: Sequence[str], rows: int) -> float | None:
    """The sampling interval: the median number of seconds between consecutive timestamps among the first
    ``rows`` (the detector's warm-up, so a score never depends on a later row's stamp).

    Only ISO 8601 stamps are read (``2024-03-01 14:05:00``, ``2024-03-01T14:05``, with or without an
    offset); any other form, or stamps that do not advance, give None: the detector then has no seasonal
    view. Repeated and backward stamps (NAB files have both) count as intervals like the others; the median
    keeps a few of them from mattering.

    >>> row_seconds(["2024-03-01 00:00:00", "2024-03-01 00:05:00", "2024-03-01 00:10:00", "x"], rows=3)
    300.0
    >>> row_seconds(["t1", "t2"], rows=150) is None, row_seconds(["2024-03-01"] * 3, rows=150) is None
    (True, True)
    """
    picked = list(timestamps[: max(rows, 0)])
    if len(picked) < 2:
        return None
    try:
        moments = [datetime.fromisoformat(stamp.strip()) for stamp in picked]
        steps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    except (ValueError, TypeError):  # not ISO 8601, or offsets given on some stamps only
        return None
    interval = statistics.median(steps)
    return interval if interval > 0 else None


def scores_csv(timestamps: Sequence[str], scores: FloatArray) -> str:
    """The output file's text: header ``timestamp,anomaly_score``, one row per input row, 6 decimals.

    >>> print(scores_csv(["t1", "t2"], np.array([0.0, 0.8234567])), end="")
    timestamp,anomaly_score
    t1,0.000000
    t2,0.823457
    """
    if len(timestamps) != scores.shape[0]:
        raise ValueError(f"{len(timestamps)} timestamps for {scores.shape[0]} scores")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["timestamp", "anomaly_score"])
    writer.writerows(
        (stamp, f"{score:.6f}") for stamp, score in zip(timestamps, scores.tolist(), strict=True)
    )
    return buffer.getvalue()
