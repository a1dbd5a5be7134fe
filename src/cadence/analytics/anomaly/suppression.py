"""Repeat suppression: NAB rewards the first detection in a window and charges every later false alarm.

A row keeps its score only when it beats every raw score of the previous ``rows`` rows by ``margin``;
otherwise it reports 0. The rule holds whatever threshold is applied afterwards: a burst of high scores
alerts on its first row (and again only if it climbs clearly higher), and an isolated strong score
mutes its echo for ``rows`` rows.

>>> s = np.array([0.1, 0.9, 0.92, 0.5, 0.99, 0.2, 0.2, 0.2, 0.8])
>>> suppress_repeats(s, rows=3, margin=0.05).tolist()
[0.1, 0.9, 0.0, 0.0, 0.99, 0.0, 0.0, 0.0, 0.8]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cadence.analytics.anomaly.rolling import trailing_max

FloatArray = npt.NDArray[np.float64]


def suppress_repeats(scores: FloatArray, rows: int, margin: float) -> FloatArray:
    """Scores that do not exceed the previous ``rows`` raw scores by ``margin`` become 0."""
    before = np.maximum(trailing_max(scores, rows), 0.0)
    out: FloatArray = np.where(scores > before + margin, scores, 0.0)
    return out
