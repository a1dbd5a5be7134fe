"""Streaming anomaly detection for time series (``cadence anomaly score``): pure numpy, no I/O.

Modules, one concept each: :mod:`.rolling` (causal rolling statistics), :mod:`.novelty` (has the series
been here before?), :mod:`.deviation` (forecast-error z), :mod:`.likelihood` (how surprising a run of
deviations is, given the series' history), :mod:`.seasonal` (unusual for this time of day or week?),
:mod:`.suppression` (one alert per burst) and
:mod:`.detector` (the ensemble and its single configuration). Evaluated on the whole NAB corpus by
``benchmarks/nab_detector.py``; guide in docs/guides/anomaly.md.

>>> import numpy as np
>>> from cadence.analytics.anomaly import score_series
>>> scores = score_series(np.r_[np.zeros(300), np.ones(10) * 5.0])
>>> float(scores[300]) > 0.9, float(scores[:300].max())
(True, 0.0)
"""

from __future__ import annotations

from cadence.analytics.anomaly.detector import (
    DEFAULT,
    DetectorConfig,
    raw_scores,
    score_columns,
    score_series,
)

__all__ = ["DEFAULT", "DetectorConfig", "raw_scores", "score_columns", "score_series"]
