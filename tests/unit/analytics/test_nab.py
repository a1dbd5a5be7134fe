"""The NAB scorer against Numenta's published results and against hand-made cases."""

from __future__ import annotations

import csv
import gzip
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cadence.analytics import nab
from cadence.analytics.nab import (
    PROFILES,
    REWARD_LOW_FN,
    REWARD_LOW_FP,
    STANDARD,
    CorpusFile,
    Window,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nab"
MACHINE = "realKnownCause/machine_temperature_system_failure.csv"
NUMENTA_STANDARD_THRESHOLD = 0.542187690735


@cache
def _labels() -> dict[str, dict[str, list[Any]]]:
    data: dict[str, dict[str, list[Any]]] = json.loads(
        (FIXTURES / "realKnownCause_labels.json").read_text(encoding="utf-8")
    )
    return data


def _stamp(text: object) -> str:
    return str(text).split(".", 1)[0]


@cache
def _output(name: str) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    series = name.split("/", 1)[1]
    with gzip.open(FIXTURES / f"numenta_{series}.gz", "rt", encoding="ascii", newline="") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    stamps = tuple(r["timestamp"] for r in rows)
    scores = np.array([float(r["anomaly_score"]) for r in rows])
    labels = np.array([int(r["label"]) for r in rows])
    return stamps, scores, labels


def _file(name: str) -> CorpusFile:
    stamps, scores, _ = _output(name)
    limits = _labels()[name]["windows"]
    windows = tuple(
        Window(nab.first_row(stamps, _stamp(a)), nab.first_row(stamps, _stamp(b))) for a, b in limits
    )
    return CorpusFile(name, scores, windows)


def _published() -> list[dict[str, str]]:
    with (FIXTURES / "numenta_realKnownCause_scores.csv").open(encoding="ascii", newline="") as handle:
        return list(csv.DictReader(handle))


# --- the worked example: Numenta HTM on machine_temperature_system_failure ----------------------------


def test_machine_temperature_standard_reproduces_the_published_score() -> None:
    result = nab.score_file(_file(MACHINE), STANDARD, NUMENTA_STANDARD_THRESHOLD)
    assert result.score == pytest.approx(1.36013273774, abs=1e-9)
    assert (result.tp, result.fp, result.fn, result.tn) == (5, 5, 2263, 19672)


def test_machine_temperature_detections_and_weights_are_those_of_the_worked_example() -> None:
    f = _file(MACHINE)
    assert f.windows == (Window(2126, 2692), Window(3703, 4269), Window(16057, 16623), Window(19232, 19798))
    assert f.probation == 750
    detected = np.flatnonzero(f.scores >= NUMENTA_STANDARD_THRESHOLD)
    detected = detected[detected >= f.probation]
    assert detected.tolist() == [2147, 2173, 2405, 3969, 7170, 9703, 14558, 14560, 16219, 16699]
    w = nab.row_weights(f.n_rows, f.windows, STANDARD)
    expected = {2147: 0.997262, 3969: 0.880338, 16219: 0.958132, 16699: -0.035599, 7170: -0.11, 14560: -0.11}
    for row, weight in expected.items():
        assert w[row] == pytest.approx(weight, abs=5e-7), row


def test_windows_rebuilt_from_labels_match_the_published_windows() -> None:
    for name, entry in _labels().items():
        stamps, _, label_column = _output(name)
        rows = [nab.first_row(stamps, _stamp(t)) for t in entry["labels"]]
        rebuilt = nab.windows_from_labels(len(stamps), rows)
        assert rebuilt == _file(name).windows, name
        # The detector's own `label` column marks the same rows.
        marked = np.zeros(len(stamps), dtype=int)
        for w in rebuilt:
            marked[w.start : w.end + 1] = 1
        assert (marked == label_column).all(), name


@pytest.mark.parametrize("row", _published(), ids=lambda r: f"{r['File'].split('/')[1]}-{r['Profile']}")
def test_every_published_realknowncause_row_is_reproduced(row: dict[str, str]) -> None:
    result = nab.score_file(_file(row["File"]), PROFILES[row["Profile"]], float(row["Threshold"]))
    assert result.score == pytest.approx(float(row["Score"]), abs=1e-9)
    assert (result.tp, result.tn, result.fp, result.fn) == tuple(
        int(row[k]) for k in ("TP", "TN", "FP", "FN")
    )


def test_other_profiles_of_machine_temperature() -> None:
    f = _file(MACHINE)
    low_fp = nab.score_file(f, REWARD_LOW_FP, 0.575195503235)
    low_fn = nab.score_file(f, REWARD_LOW_FN, NUMENTA_STANDARD_THRESHOLD)
    assert low_fp.score == pytest.approx(1.32453417071, abs=1e-9)
    assert (low_fp.tp, low_fp.fp) == (4, 3)
    assert low_fn.score == pytest.approx(0.360132737738, abs=1e-9)


# --- building blocks on hand-made cases ----------------------------------------------------------------


def test_sigmoid_reference_values_and_floor() -> None:
    values = nab.sigmoid(np.array([-1.0, -0.5, 0.0, 1.0, 2.999, 3.0, 50.0, -50.0]))
    assert values[:4] == pytest.approx([0.986614, 0.848284, 0.0, -0.986614], abs=1e-6)
    assert values[4] > -1.0
    assert values[5:7].tolist() == [-1.0, -1.0]
    assert values[7] == pytest.approx(1.0)


def test_probation_is_fifteen_percent_capped_at_750_rows() -> None:
    assert [nab.probation_rows(n) for n in (10, 100, 4032, 5000, 5001, 22695)] == [1, 15, 604, 750, 750, 750]


def test_windows_are_centred_clipped_and_merged() -> None:
    # 10 % of 200 rows for one label: 20 rows, 10 on either side (21 rows: centred on the label).
    assert nab.windows_from_labels(200, [100]) == (Window(90, 110),)
    assert nab.windows_from_labels(200, [3]) == (Window(0, 13),)
    assert nab.windows_from_labels(200, [198]) == (Window(188, 199),)
    # Two labels share the 10 %: 10 rows each, 5 on either side; close labels merge into one window.
    assert nab.windows_from_labels(200, [150, 40]) == (Window(35, 45), Window(145, 155))
    assert nab.windows_from_labels(200, [100, 108]) == (Window(95, 113),)
    assert nab.windows_from_labels(200, []) == ()
    with pytest.raises(ValueError):
        nab.windows_from_labels(200, [200])


def test_first_row_takes_the_first_of_repeated_timestamps() -> None:
    stamps = ["03:00", "03:00", "03:00", "03:05"]
    assert nab.first_row(stamps, "03:00") == 0
    with pytest.raises(ValueError):
        nab.first_row(stamps, "04:00")


def test_row_weights_follow_position() -> None:
    w = nab.row_weights(40, [Window(10, 19)], STANDARD)
    assert w[10] == 1.0  # first row of a window earns exactly A_TP
    assert (np.diff(w[10:20]) < 0).all()  # earlier is better
    assert w[19] == pytest.approx(float(nab.sigmoid(-0.1)) / float(nab.sigmoid(-1.0)))
    assert w[:10].tolist() == [-0.11] * 10  # before any window: full cost
    assert -0.11 < w[20] < w[19] and w[20] == pytest.approx(0.11 * float(nab.sigmoid(1 / 9)))
    assert w[39] == pytest.approx(0.11 * float(nab.sigmoid(20 / 9)))
    assert nab.row_weights(60, [Window(10, 19)], STANDARD)[19 + 27] == -0.11  # three widths on: full cost


def test_overlapping_windows_are_refused() -> None:
    with pytest.raises(ValueError):
        nab.row_weights(50, [Window(10, 20), Window(20, 30)], STANDARD)
    with pytest.raises(ValueError):
        nab.row_weights(25, [Window(10, 30)], STANDARD)


def test_only_the_earliest_detection_of_a_window_counts_and_false_alarms_add_up() -> None:
    scores = np.zeros(100)
    f = CorpusFile("f", scores, (Window(50, 59),))
    one = nab.score_file(f, STANDARD, 0.5)
    assert one.score == -1.0 and one.fn == 10
    scores_tp = scores.copy()
    scores_tp[[52, 55, 58]] = 1.0
    tp = nab.score_file(CorpusFile("f", scores_tp, f.windows), STANDARD, 0.5)
    weights = nab.row_weights(100, f.windows, STANDARD)
    assert tp.score == pytest.approx(weights[52]) and tp.tp == 3
    scores_fp = scores_tp.copy()
    scores_fp[[20, 30]] = 1.0
    fp = nab.score_file(CorpusFile("f", scores_fp, f.windows), STANDARD, 0.5)
    assert fp.score == pytest.approx(weights[52] - 0.22) and fp.fp == 2


def test_probationary_rows_are_neither_detections_nor_misses() -> None:
    # 100 rows: probation 15. A detection at row 5 is ignored; a window wholly inside it is not scored.
    scores = np.zeros(100)
    scores[5] = 1.0
    inside = CorpusFile("f", scores, (Window(2, 8),))
    assert nab.score_file(inside, STANDARD, 0.5) == nab.FileScore(0.0, 0, 0, 0, 85)
    assert nab.null_score([inside], STANDARD) == 0.0
    # A window straddling the end of probation is scored with its full width; rows before 15 don't count.
    scores = np.zeros(100)
    scores[[12, 16]] = 1.0
    straddling = CorpusFile("g", scores, (Window(10, 19),))
    weights = nab.row_weights(100, straddling.windows, STANDARD)
    assert nab.score_file(straddling, STANDARD, 0.5).score == pytest.approx(weights[16])
    assert nab.perfect_score([straddling], STANDARD) == pytest.approx(weights[15])


def test_null_perfect_and_normalisation() -> None:
    files = [
        CorpusFile("a", np.zeros(100), (Window(30, 39), Window(70, 79))),
        CorpusFile("b", np.zeros(100), ()),
    ]
    assert nab.null_score(files, STANDARD) == -2.0
    assert nab.null_score(files, REWARD_LOW_FN) == -4.0
    assert nab.perfect_score(files, STANDARD) == 2.0
    perfect_scores = np.zeros(100)
    perfect_scores[[30, 70]] = 1.0
    perfect = nab.evaluate([CorpusFile("a", perfect_scores, files[0].windows), files[1]], STANDARD)
    assert perfect.normalised == pytest.approx(100.0)
    assert nab.evaluate(files, STANDARD).normalised == 0.0  # never fires: the null detector
    # The published Numenta HTM standard result: raw 46.6344501971 over 116 windows.
    assert nab.normalise(46.6344501971, -116.0, 116.0) == pytest.approx(70.10105611943965, abs=1e-9)


def _brute_force(files: list[CorpusFile], profile: nab.Profile) -> tuple[float, float]:
    candidates = {nab.NO_DETECTION_THRESHOLD}
    for f in files:
        candidates.update(f.scores[f.probation :].tolist())
    best_t, best_s = nab.NO_DETECTION_THRESHOLD, nab.corpus_score(files, profile, nab.NO_DETECTION_THRESHOLD)
    for t in sorted(candidates, reverse=True):
        s = nab.corpus_score(files, profile, t)
        if s > best_s + 1e-12:
            best_t, best_s = t, s
    return best_t, best_s


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("profile", [STANDARD, REWARD_LOW_FP, REWARD_LOW_FN], ids=lambda p: p.name)
def test_threshold_sweep_agrees_with_scoring_every_candidate(seed: int, profile: nab.Profile) -> None:
    rng = np.random.default_rng(seed)
    files = []
    for k in range(3):
        n = int(rng.integers(60, 160))
        # Scores on a coarse grid so that ties between rows (and between candidates) happen.
        scores = rng.integers(0, 12, size=n) / 11.0
        labels = sorted(rng.choice(np.arange(20, n), size=int(rng.integers(0, 3)), replace=False).tolist())
        files.append(CorpusFile(f"f{k}", scores, nab.windows_from_labels(n, labels)))
    optimum = nab.optimise_threshold(files, profile)
    threshold, score = _brute_force(files, profile)
    assert optimum.raw == pytest.approx(score, abs=1e-9)
    assert optimum.threshold == threshold
    assert nab.corpus_score(files, profile, optimum.threshold) == pytest.approx(optimum.raw, abs=1e-9)


def test_ties_keep_the_highest_threshold() -> None:
    # Rows at 0.8 and 0.6 in the same window: lowering to 0.6 adds a later, worthless detection.
    scores = np.zeros(100)
    scores[[52, 55]] = [0.8, 0.6]
    optimum = nab.optimise_threshold([CorpusFile("f", scores, (Window(50, 59),))], STANDARD)
    assert optimum.threshold == 0.8


def test_optimum_on_the_seven_realknowncause_files() -> None:
    files = [_file(n) for n in _labels()]
    optimum = nab.optimise_threshold(files, STANDARD)
    at_published = nab.corpus_score(files, STANDARD, NUMENTA_STANDARD_THRESHOLD)
    assert optimum.raw >= at_published
    assert nab.corpus_score(files, STANDARD, optimum.threshold) == pytest.approx(optimum.raw, abs=1e-9)
