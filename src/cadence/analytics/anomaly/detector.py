"""The streaming anomaly detector: one configuration for every series, a score in [0, 1] per row.

For each numeric column, per row ``t`` (from rows ``0 … t`` only):

1. **novelty** — 1 when no earlier leader lies within the radius around the value (:mod:`.novelty`:
   the range of the first ``warmup_rows`` rows over ``resolution``, widening by ``growth − 1`` times the
   distance beyond that range), or when the mean of the block of ``block_rows`` rows ending here is new
   in the same way among block means (the slow view, reported on each block's last row); 0 otherwise;
2. **deviation** — the larger forecast-error z of :mod:`.deviation` over ``reference_rows`` (a long
   mean and the previous value), scale from the previous ``scale_rows`` rows, squashed with ``half``;
3. **surprise** — :func:`~.likelihood.surprise` of the squashed deviation: the mean of its last
   ``likelihood_rows`` values against the distribution of that mean over the previous ``scale_rows``
   rows, as ``−log10`` of a Gaussian tail; ``likelihood_digits`` digits of surprise count as full;
4. raw score = the larger of ``novelty_weight · novelty + (1 − novelty_weight) · deviation`` and
   ``likelihood_weight · min(1, surprise / likelihood_digits)``, 0 during the warm-up; with several
   columns, the largest raw score of the row;
5. :func:`~.suppression.suppress_repeats` over ``repeat_rows`` rows with ``repeat_margin``.

So a score above ``novelty_weight`` (0.7) means "somewhere new" (graded by how abrupt the move was) or
"a run of deviations this series has not produced in a long time" (a calibrated surprise, up to
``likelihood_weight``, 0.9); below 0.7 it is a mild surprise or the size of a move alone. Scores are
exactly reproducible: the same rows give the same scores, and rows added at the end never change
earlier scores.

>>> rng = np.random.default_rng(7)
>>> v = 20.0 + rng.normal(0.0, 1.0, 1000)
>>> v[700:] += 8.0                     # a level shift at row 700
>>> s = score_series(v)
>>> int(np.argmax(s)), bool(s[700] > 0.9), bool(s[200:700].max() < s[700])
(700, True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cadence.analytics.anomaly.deviation import prediction_error_z, squash
from cadence.analytics.anomaly.likelihood import surprise
from cadence.analytics.anomaly.novelty import Radius, block_novelty, leader_novelty
from cadence.analytics.anomaly.suppression import suppress_repeats

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DetectorConfig:
    """The detector's parameters. The defaults are the one configuration used for every file.

    See docs/guides/anomaly.md for what each one does and which were chosen by looking at NAB scores.
    """

    resolution: float = 12.0
    growth: float = 1.1
    warmup_rows: int = 150
    block_rows: int = 12
    reference_rows: tuple[int, ...] = (6400, 1)
    scale_rows: int = 6400
    half: float = 3.0
    novelty_weight: float = 0.7
    likelihood_rows: int = 10
    likelihood_digits: float = 5.0
    likelihood_weight: float = 0.9
    repeat_rows: int = 75
    repeat_margin: float = 0.05

    def __post_init__(self) -> None:
        if self.warmup_rows < 1 or self.block_rows < 1 or self.repeat_rows < 1:
            raise ValueError("warmup_rows, block_rows and repeat_rows must be at least 1")
        if not self.resolution > 0:
            raise ValueError(f"resolution must be above 0, not {self.resolution}")
        if not self.growth >= 1.0:
            raise ValueError(f"growth must be at least 1 (the same radius everywhere), not {self.growth}")
        if not self.reference_rows or min(self.reference_rows) < 1 or self.scale_rows < 2:
            raise ValueError("reference_rows must be at least 1 row each and scale_rows at least 2")
        if not 0.0 <= self.novelty_weight <= 1.0 or self.half <= 0 or self.repeat_margin < 0:
            raise ValueError("novelty_weight must lie in [0, 1], half above 0 and repeat_margin at least 0")
        if self.likelihood_rows < 1 or not 0.0 <= self.likelihood_weight <= 1.0:
            raise ValueError("likelihood_rows must be at least 1 and likelihood_weight lie in [0, 1]")
        if self.likelihood_digits <= 0:
            raise ValueError(f"likelihood_digits must be above 0, not {self.likelihood_digits}")


DEFAULT = DetectorConfig()


def raw_scores(values: FloatArray, config: DetectorConfig = DEFAULT) -> FloatArray:
    """Steps 1–4 for one column: the score before repeat suppression, in [0, 1)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    if not all(math.isfinite(v) for v in values.tolist()):
        raise ValueError("values must be finite numbers")
    out = np.zeros(n, dtype=np.float64)
    if n <= config.warmup_rows:
        return out
    radius = Radius.from_warmup(values[: config.warmup_rows], config.resolution, config.growth)
    novelty = np.maximum(
        leader_novelty(values, radius),
        block_novelty(values, config.block_rows, config.warmup_rows, config.resolution, config.growth),
    )
    z = np.max([prediction_error_z(values, r, config.scale_rows) for r in config.reference_rows], axis=0)
    deviation = squash(z, config.half)
    w = config.novelty_weight
    digits = surprise(deviation, config.likelihood_rows, config.scale_rows)
    calibrated = config.likelihood_weight * np.minimum(digits / config.likelihood_digits, 1.0)
    out = np.maximum(w * novelty + (1.0 - w) * deviation, calibrated)
    out[: config.warmup_rows] = 0.0
    return out


def score_columns(columns: FloatArray, config: DetectorConfig = DEFAULT) -> FloatArray:
    """Scores of a table (rows × columns): the largest raw score of each row, then repeat suppression.

    >>> t = np.column_stack([np.sin(np.arange(600) / 9.0), np.cos(np.arange(600) / 9.0)])
    >>> t[500, 1] = 9.0
    >>> s = score_columns(t)
    >>> s.shape, int(np.argmax(s))
    ((600,), 500)
    """
    table = np.asarray(columns, dtype=np.float64)
    if table.ndim == 1:
        table = table[:, np.newaxis]
    if table.ndim != 2 or table.shape[1] == 0:
        raise ValueError("expected a table of rows × at least one column")
    raw = np.max([raw_scores(table[:, k], config) for k in range(table.shape[1])], axis=0)
    return np.clip(suppress_repeats(raw, config.repeat_rows, config.repeat_margin), 0.0, 1.0)


def score_series(values: FloatArray, config: DetectorConfig = DEFAULT) -> FloatArray:
    """Scores in [0, 1] of one series, row by row in file order."""
    return score_columns(np.asarray(values, dtype=np.float64)[:, np.newaxis], config)
