"""Reader of a NAB folder (Numenta Anomaly Benchmark v1.1 layout) for the scorer in cadence.analytics.nab.

Layout read, under the folder passed in (never a fixed path):

* ``data/<category>/<series>.csv`` — ``timestamp,value``; rows are kept in file order (NAB files repeat
  timestamps and step backwards once, and window limits are found by first occurrence);
* ``labels/combined_windows.json`` — ``{"<category>/<series>.csv": [[start, end], ...]}``, or
  ``labels/combined_labels.json`` — ``{name: [timestamp, ...]}`` from which windows are rebuilt;
* ``results/<detector>/<category>/<detector>_<series>.csv`` — a detector's per-row output, column
  ``anomaly_score``;
* ``results/<detector>/<detector>_<profile>_scores.csv`` and ``results/final_results.json`` — published
  per-file and normalised scores, read for comparison.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cadence.analytics import nab
from cadence.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

WINDOWS_FILE = "labels/combined_windows.json"
LABELS_FILE = "labels/combined_labels.json"


def _stamp(text: str) -> str:
    # Label files write ``YYYY-MM-DD HH:MM:SS.ffffff``; data files have no fraction.
    return text.split(".", 1)[0].strip()


def _read_json(path: Path) -> dict[str, object]:
    if not path.is_file():
        raise NotFound(f"no {path.name} in the NAB folder", path=str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InvalidInput(f"{path} is not readable JSON: {err}", path=str(path)) from err
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} is not a JSON object", path=str(path))
    return data


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise NotFound(f"missing file {path}", path=str(path))
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_timestamps(root: Path, name: str) -> list[str]:
    """Timestamps of ``data/<name>`` in file order."""
    rows = _read_rows(root / "data" / name)
    try:
        return [_stamp(r["timestamp"]) for r in rows]
    except KeyError as err:
        raise InvalidInput(f"data/{name} has no timestamp column", path=name) from err


def series_names(root: Path) -> list[str]:
    """The corpus: every ``<category>/<series>.csv`` key of the windows (or labels) file."""
    source = root / WINDOWS_FILE if (root / WINDOWS_FILE).is_file() else root / LABELS_FILE
    return sorted(_read_json(source))


def read_windows(
    root: Path, name: str, timestamps: list[str], *, from_labels: bool = False
) -> tuple[nab.Window, ...]:
    """Windows of one series as row ranges: from the windows file, or rebuilt from the labels file."""
    if from_labels or not (root / WINDOWS_FILE).is_file():
        labels = _read_json(root / LABELS_FILE).get(name, [])
        if not isinstance(labels, list):
            raise InvalidInput(f"labels of {name} are not a list", path=name)
        rows = [_first_row(timestamps, str(t), name) for t in labels]
        return nab.windows_from_labels(len(timestamps), rows)
    limits = _read_json(root / WINDOWS_FILE).get(name, [])
    if not isinstance(limits, list):
        raise InvalidInput(f"windows of {name} are not a list", path=name)
    return tuple(
        nab.Window(_first_row(timestamps, str(a), name), _first_row(timestamps, str(b), name))
        for a, b in limits
    )


def _first_row(timestamps: list[str], stamp: str, name: str) -> int:
    try:
        return nab.first_row(timestamps, _stamp(stamp))
    except ValueError as err:
        raise InvalidInput(f"{name}: window or label {stamp} matches no row", path=name) from err


def results_path(root: Path, detector: str, name: str) -> Path:
    """``results/<detector>/<category>/<detector>_<series>.csv`` for series ``<category>/<series>.csv``."""
    category, _, series = name.partition("/")
    return root / "results" / detector / category / f"{detector}_{series}"


def read_scores(path: Path) -> nab.FloatArray:
    """The ``anomaly_score`` column of a detector's per-row output (or of our own ``SCORES.csv``)."""
    rows = _read_rows(path)
    try:
        return np.array([float(r["anomaly_score"]) for r in rows], dtype=np.float64)
    except (KeyError, ValueError) as err:
        raise InvalidInput(f"{path} needs a numeric anomaly_score column", path=str(path)) from err


def load_corpus(
    root: Path, detector: str, *, names: list[str] | None = None, from_labels: bool = False
) -> list[nab.CorpusFile]:
    """Series of the corpus that have an output of ``detector``, with their windows.

    Series without an output are left out (and logged): the published per-row outputs cover only part
    of the corpus for most detectors.
    """
    corpus: list[nab.CorpusFile] = []
    missing: list[str] = []
    for name in names if names is not None else series_names(root):
        path = results_path(root, detector, name)
        if not path.is_file():
            missing.append(name)
            continue
        stamps = read_timestamps(root, name)
        scores = read_scores(path)
        if scores.shape[0] != len(stamps):
            raise InvalidInput(
                f"{path.name} has {scores.shape[0]} rows, data/{name} has {len(stamps)}", path=str(path)
            )
        corpus.append(nab.CorpusFile(name, scores, read_windows(root, name, stamps, from_labels=from_labels)))
    if missing:
        log.info("NAB detector %s: no output for %d of the series", detector, len(missing))
    return corpus


@dataclass(frozen=True)
class TableRow:
    """One row of a published ``<detector>_<profile>_scores.csv`` table."""

    file: str
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int


def read_score_table(root: Path, detector: str, profile: str) -> dict[str, TableRow]:
    """A published per-file score table, keyed by file; the ``Totals`` row is under ``"Totals"``."""
    path = root / "results" / detector / f"{detector}_{profile}_scores.csv"
    table: dict[str, TableRow] = {}
    for r in _read_rows(path):
        try:
            key = "Totals" if r["Detector"] == "Totals" else r["File"]
            table[key] = TableRow(
                file=key,
                threshold=float(r["Threshold"] or "nan"),
                score=float(r["Score"]),
                tp=int(float(r["TP"])),
                tn=int(float(r["TN"])),
                fp=int(float(r["FP"])),
                fn=int(float(r["FN"])),
            )
        except (KeyError, ValueError) as err:
            raise InvalidInput(f"{path} has an unreadable row: {err}", path=str(path)) from err
    return table


def read_final_results(root: Path) -> dict[str, dict[str, float]]:
    """``results/final_results.json``: normalised corpus score per detector and profile."""
    data = _read_json(root / "results" / "final_results.json")
    out: dict[str, dict[str, float]] = {}
    for detector, scores in data.items():
        if not isinstance(scores, dict):
            raise InvalidInput(f"final_results.json: {detector} is not an object", detector=detector)
        out[detector] = {str(p): float(v) for p, v in scores.items()}
    return out
