r"""The NAB scorer: how the Numenta Anomaly Benchmark turns a detector's scores into one number.

Written from the published description of NAB v1.1 (Lavin & Ahmad 2015, arXiv:1510.03336, and the
notes shipped with the dataset), not from Numenta's code. Everything here works on **row positions** in file
order: NAB files have repeated and out-of-order timestamps, so rows are never sorted or de-duplicated,
and a window limit given as a timestamp is the first row carrying it (:func:`first_row`).

Per file of N rows:

* the first ``P = min(floor(0.15 N), 750)`` rows are a probationary period, left out of scoring;
* anomaly windows are inclusive row ranges ``[start, end]``; each row gets a weight from its position:
  inside a window ``A_TP · σ(−(end − i + 1)/W) / σ(−1)`` (the first row earns ``A_TP``, later rows less),
  after a window ``A_FP · σ((i − end)/(W − 1))`` (near 0 just after it, ``−A_FP`` three widths on),
  before any window ``−A_FP``; σ is the scaled sigmoid ``2/(1 + e^{5y}) − 1`` (``−1`` from y = 3);
* at threshold θ a scored row with score ≥ θ is a detection; each window adds the weight of its best
  (earliest) detection or ``−A_FN`` when it has none; each detection outside windows adds its own weight.

Over a corpus one threshold is chosen for all files (:func:`optimise_threshold`), and the raw corpus
score is normalised between the null detector (never fires) and the perfect one (fires on the first
scored row of every window): ``100 · (raw − null) / (perfect − null)``.

>>> scores = np.zeros(100)
>>> scores[[30, 62, 64]] = [0.7, 0.8, 0.9]   # a false alarm, then two detections in the window
>>> files = [CorpusFile("a.csv", scores, (Window(60, 69),))]
>>> files[0].probation
15
>>> best = optimise_threshold(files, STANDARD)
>>> best.threshold, round(best.raw, 4)
(0.8, 0.9771)
>>> result = evaluate(files, STANDARD)
>>> result.null, result.perfect, round(result.normalised, 2)
(-1.0, 1.0, 98.86)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# NAB's probationary period: 15 % of the file, capped at 15 % of 5 000 rows (750 rows).
PROBATION_FRACTION = 0.15
PROBATION_CAP_ROWS = 5000
# Window length as a share of the file, split evenly among its labels (NAB: 10 %).
WINDOW_FRACTION = 0.10
# The threshold that yields no detection at all (scores live in [0, 1]); it is always a candidate.
NO_DETECTION_THRESHOLD = 1.1
# Beyond this the sigmoid is taken as exactly −1: a false alarm three window widths after a window
# costs the full A_FP.
_SIGMOID_FLOOR_FROM = 3.0

_T = TypeVar("_T")


@dataclass(frozen=True)
class Profile:
    """A cost matrix: the reward of a detected window and the costs of a miss and of a false alarm.

    ``tn`` is carried because NAB's profiles declare it; it enters no score.
    """

    name: str
    tp: float
    fp: float
    fn: float
    tn: float = 1.0


STANDARD = Profile("standard", tp=1.0, fp=0.11, fn=1.0)
REWARD_LOW_FP = Profile("reward_low_FP_rate", tp=1.0, fp=0.22, fn=1.0)
REWARD_LOW_FN = Profile("reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0)
PROFILES: dict[str, Profile] = {p.name: p for p in (STANDARD, REWARD_LOW_FP, REWARD_LOW_FN)}


@dataclass(frozen=True, order=True)
class Window:
    """An anomaly window: rows ``start`` to ``end`` inclusive.

    >>> Window(2126, 2692).width
    567
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"window [{self.start}, {self.end}] is not an ordered pair of rows")

    @property
    def width(self) -> int:
        return self.end - self.start + 1


def probation_rows(n_rows: int) -> int:
    """Rows at the start of a file that are left out of scoring.

    >>> probation_rows(22695), probation_rows(4032), probation_rows(1243)
    (750, 604, 186)
    """
    return min(math.floor(PROBATION_FRACTION * n_rows), math.floor(PROBATION_FRACTION * PROBATION_CAP_ROWS))


def sigmoid(y: FloatArray | float) -> FloatArray:
    """NAB's scaled sigmoid, ``2/(1 + e^{5y}) − 1``, from +1 (far left) to −1 (y ≥ 3).

    >>> [round(float(v), 6) for v in sigmoid(np.array([-1.0, -0.5, 0.0, 1.0, 3.0]))]
    [0.986614, 0.848284, 0.0, -0.986614, -1.0]
    """
    arr = np.asarray(y, dtype=np.float64)
    # Clipping before exp avoids overflow; the clipped rows are set to −1 anyway.
    logistic = 2.0 / (1.0 + np.exp(5.0 * np.minimum(arr, _SIGMOID_FLOOR_FROM))) - 1.0
    out: FloatArray = np.where(arr >= _SIGMOID_FLOOR_FROM, -1.0, logistic)
    return out


def first_row(stamps: Sequence[_T], stamp: _T) -> int:
    """The first row whose timestamp equals ``stamp`` (NAB's rule; files can repeat timestamps).

    >>> first_row(["02:50", "02:55", "02:00", "02:55"], "02:55")
    1
    """
    for i, s in enumerate(stamps):
        if s == stamp:
            return i
    raise ValueError(f"timestamp {stamp!r} is not in the file")


def windows_from_labels(
    n_rows: int, label_rows: Sequence[int], fraction: float = WINDOW_FRACTION
) -> tuple[Window, ...]:
    """Windows built around anomaly labels as NAB builds them.

    Window length ``floor(fraction · N / K)`` for K labels, centred on each label (half that length,
    rounded down, on either side), clipped to the file; overlapping windows are merged.

    >>> [(w.start, w.end) for w in windows_from_labels(22695, [2409, 3986, 16340, 19515])]
    [(2126, 2692), (3703, 4269), (16057, 16623), (19232, 19798)]
    >>> windows_from_labels(1000, [500, 540])
    (Window(start=475, end=565),)
    """
    if not label_rows:
        return ()
    half = math.floor(fraction * n_rows / len(label_rows)) // 2
    merged: list[list[int]] = []
    for row in sorted(label_rows):
        if not 0 <= row < n_rows:
            raise ValueError(f"label row {row} is outside a file of {n_rows} rows")
        start, end = max(row - half, 0), min(row + half, n_rows - 1)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(end, merged[-1][1])
        else:
            merged.append([start, end])
    return tuple(Window(s, e) for s, e in merged)


def _check_windows(n_rows: int, windows: Sequence[Window]) -> None:
    for before, after in itertools.pairwise(windows):
        if after.start <= before.end:
            raise ValueError(f"windows {before} and {after} overlap or are out of order")
    if windows and windows[-1].end >= n_rows:
        raise ValueError(f"window {windows[-1]} ends after the last row ({n_rows - 1})")


def window_index(n_rows: int, windows: Sequence[Window]) -> IntArray:
    """For each row, the index of the window holding it, or −1 outside windows.

    >>> window_index(6, [Window(1, 2), Window(4, 4)]).tolist()
    [-1, 0, 0, -1, 1, -1]
    """
    _check_windows(n_rows, windows)
    index = np.full(n_rows, -1, dtype=np.int64)
    for k, w in enumerate(windows):
        index[w.start : w.end + 1] = k
    return index


def row_weights(n_rows: int, windows: Sequence[Window], profile: Profile) -> FloatArray:
    """What a detection on each row is worth (positive in windows, negative outside).

    >>> [round(float(v), 4) for v in row_weights(8, [Window(2, 4)], STANDARD)]
    [-0.11, -0.11, 1.0, 0.9437, 0.6915, -0.0933, -0.1085, -0.1099]
    """
    _check_windows(n_rows, windows)
    rows = np.arange(n_rows, dtype=np.float64)
    weights = np.full(n_rows, -profile.fp, dtype=np.float64)
    full = float(sigmoid(-1.0))
    for k, w in enumerate(windows):
        inside = slice(w.start, w.end + 1)
        # Dividing last makes the first row of a window worth exactly A_TP.
        weights[inside] = profile.tp * sigmoid(-(w.end - rows[inside] + 1.0) / w.width) / full
        # Rows after this window up to the next one are judged against this window.
        stop = windows[k + 1].start if k + 1 < len(windows) else n_rows
        after = slice(w.end + 1, stop)
        # A one-row window has no W − 1 to scale by: its aftermath counts as far away at once.
        spread = max(w.width - 1, 1)
        weights[after] = profile.fp * sigmoid((rows[after] - w.end) / spread)
    return weights


@dataclass(frozen=True)
class CorpusFile:
    """One series of a corpus: the detector's score per row (file order) and its windows."""

    name: str
    scores: FloatArray
    windows: tuple[Window, ...]

    @property
    def n_rows(self) -> int:
        return int(self.scores.shape[0])

    @property
    def probation(self) -> int:
        return probation_rows(self.n_rows)

    def scored_windows(self) -> tuple[Window, ...]:
        """Windows with at least one row after the probationary period (only those are scored)."""
        return tuple(w for w in self.windows if w.end >= self.probation)


@dataclass(frozen=True)
class FileScore:
    """Raw NAB score of one file at one threshold, and its row counts (after the probationary period)."""

    score: float
    tp: int
    fp: int
    fn: int
    tn: int


def score_file(file: CorpusFile, profile: Profile, threshold: float) -> FileScore:
    """The raw NAB score of one file at ``threshold``.

    >>> f = CorpusFile("f", np.array([0.0] * 20 + [0.8, 0.2, 0.9] + [0.0] * 7), (Window(20, 24),))
    >>> score_file(f, STANDARD, 0.5)
    FileScore(score=1.0, tp=2, fp=0, fn=3, tn=21)
    >>> score_file(f, STANDARD, 1.1).score
    -1.0
    """
    n, p = file.n_rows, file.probation
    weights = row_weights(n, file.windows, profile)
    index = window_index(n, file.windows)
    detected = file.scores >= threshold
    detected[:p] = False
    in_window = index >= 0
    in_window[:p] = False
    outside = ~in_window
    outside[:p] = False
    total = float(weights[detected & outside].sum())
    for k in range(len(file.windows)):
        if file.windows[k].end < p:
            continue
        hits = np.flatnonzero(detected & (index == k))
        total += float(weights[hits[0]]) if hits.size else -profile.fn
    tp = int((detected & in_window).sum())
    fp = int((detected & outside).sum())
    return FileScore(score=total, tp=tp, fp=fp, fn=int(in_window.sum()) - tp, tn=int(outside.sum()) - fp)


def corpus_score(files: Sequence[CorpusFile], profile: Profile, threshold: float) -> float:
    """Sum of the files' raw scores at one threshold."""
    return sum(score_file(f, profile, threshold).score for f in files)


def null_score(files: Sequence[CorpusFile], profile: Profile) -> float:
    """Raw corpus score of a detector that never fires: every scored window is missed.

    >>> null_score([CorpusFile("f", np.zeros(30), (Window(20, 24),))], REWARD_LOW_FN)
    -2.0
    """
    return -profile.fn * sum(len(f.scored_windows()) for f in files)


def perfect_score(files: Sequence[CorpusFile], profile: Profile) -> float:
    """Raw corpus score of a detector that fires once, on the first scored row of every window.

    A window that starts inside the probationary period is worth less than ``A_TP`` even to it.

    >>> perfect_score([CorpusFile("f", np.zeros(30), (Window(20, 24),))], STANDARD)
    1.0
    """
    total = 0.0
    for f in files:
        weights = row_weights(f.n_rows, f.windows, profile)
        total += sum(float(weights[max(w.start, f.probation)]) for w in f.scored_windows())
    return total


def normalise(raw: float, null: float, perfect: float) -> float:
    """NAB score: 0 for the null detector, 100 for the perfect one.

    >>> round(normalise(46.6344501971, -116.0, 116.0), 4)
    70.1011
    """
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True)
class Optimum:
    """The corpus threshold that maximises the raw corpus score, and that score."""

    threshold: float
    raw: float


def optimise_threshold(files: Sequence[CorpusFile], profile: Profile) -> Optimum:
    """The single threshold for the whole corpus that maximises the raw corpus score.

    Candidates are :data:`NO_DETECTION_THRESHOLD` and every distinct score on a scored row; among equal
    maxima the highest threshold wins. All candidates are swept in one pass: rows are taken in
    decreasing score, a row outside windows adds its weight, a row inside a window changes the score
    only when it becomes that window's earliest detection.

    >>> scores = np.array([0.0] * 20 + [0.3, 0.9, 0.6] + [0.0] * 5 + [0.7, 0.0])
    >>> f = CorpusFile("f", scores, (Window(20, 24),))
    >>> optimise_threshold([f], STANDARD)
    Optimum(threshold=0.9, raw=0.9771...)
    """
    score_parts: list[FloatArray] = []
    delta_parts: list[FloatArray] = []
    base = null_score(files, profile)
    for f in files:
        p = f.probation
        weights = row_weights(f.n_rows, f.windows, profile)[p:]
        index = window_index(f.n_rows, f.windows)[p:]
        scores = f.scores[p:]
        deltas = np.where(index < 0, weights, 0.0)
        for k in range(len(f.windows)):
            members = np.flatnonzero(index == k)
            if members.size == 0:
                continue
            # Order the window's rows by decreasing score (ties: earlier row first, it is
            # detected at the same threshold anyway); the window's value follows the running
            # earliest detected row.
            order = members[np.lexsort((members, -scores[members]))]
            earliest = np.minimum.accumulate(order)
            value = weights[earliest]
            previous = np.concatenate(([-profile.fn], value[:-1]))
            deltas[order] = value - previous
        score_parts.append(scores)
        delta_parts.append(deltas)
    if not score_parts:
        return Optimum(NO_DETECTION_THRESHOLD, base)
    scores_all = np.concatenate(score_parts)
    deltas_all = np.concatenate(delta_parts)
    # Stable sort keeps each window's in-order deltas consistent within a group of equal scores.
    order = np.argsort(-scores_all, kind="stable")
    sorted_scores = scores_all[order]
    running = base + np.cumsum(deltas_all[order])
    # The score at a candidate includes every row scoring at least that much: the last row of each
    # group of equal scores.
    last_of_group = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    candidates = np.concatenate(([NO_DETECTION_THRESHOLD], sorted_scores[last_of_group]))
    totals = np.concatenate(([base], running[last_of_group]))
    best = int(np.argmax(totals))  # first maximum = highest threshold among equals
    return Optimum(float(candidates[best]), float(totals[best]))


@dataclass(frozen=True)
class CorpusResult:
    """A detector's evaluation on a corpus under one profile."""

    profile: Profile
    threshold: float
    raw: float
    null: float
    perfect: float
    normalised: float
    files: dict[str, FileScore]


def evaluate(files: Sequence[CorpusFile], profile: Profile, threshold: float | None = None) -> CorpusResult:
    """Score a corpus: optimised threshold (unless one is given), raw, null, perfect and NAB score."""
    if threshold is None:
        threshold = optimise_threshold(files, profile).threshold
    per_file = {f.name: score_file(f, profile, threshold) for f in files}
    raw = sum(s.score for s in per_file.values())
    null, perfect = null_score(files, profile), perfect_score(files, profile)
    return CorpusResult(
        profile=profile,
        threshold=threshold,
        raw=raw,
        null=null,
        perfect=perfect,
        normalised=normalise(raw, null, perfect),
        files=per_file,
    )
