"""The fault classifier learned from the plant's labelled episodes: fitted in the real learning worker
(scikit-learn stays there), refitted only when a closing adds an episode, and used by the diagnosis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cadence.analytics.health.classify import classify
from cadence.clock import SimClock
from cadence.ports import HealthProgress, LabelledEpisode
from cadence.services.health import MIN_EPISODES, LearnedDiagnosis
from cadence.services.learning import LearningWorker
from cadence.store.sqlite import SqliteStore

T0 = 1_767_250_800_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "store")
    yield s
    s.close()


@pytest.fixture
def worker() -> Iterator[LearningWorker]:
    w = LearningWorker(SimClock(start_us=T0), timeout_s=120)
    yield w
    w.close()


def _label(store: SqliteStore, episodes: list[LabelledEpisode], previous: int | None) -> int:
    watermark = T0 + len(episodes)
    assert (
        store.advance_health(
            HealthProgress("P05", watermark, "{}", watermark), previous_us=previous, episodes=episodes
        )
        == []
    )
    return watermark


def test_labelled_episodes_teach_a_classifier_in_the_worker(
    store: SqliteStore, worker: LearningWorker
) -> None:
    learned = LearnedDiagnosis(store, worker)
    # Tooling drifts that were, three times, a new material supplier ("none"), and once a worn die.
    episodes = [
        LabelledEpisode(n, "P05", "none", T0 + n, {"peak_force_kn": 0.3, "energy_kj": 0.05 * n})
        for n in (1, 2, 3)
    ]
    watermark = _label(store, episodes, None)
    assert len(episodes) < MIN_EPISODES
    assert not learned.refresh() and learned.model is None  # too few yet
    episodes.append(LabelledEpisode(4, "P05", "die_wear", T0 + 4, {"bdc_position_mm": 0.4}))
    _label(store, episodes, watermark)
    assert learned.refresh()
    assert learned.model is not None
    assert {"none", "die_wear", "pump_leak", "seal_wear"} <= set(map(str, learned.model.classes))
    assert worker.ping()["modules"]["sklearn"]  # it was fitted over there...
    assert not learned.refresh()  # ...and not again while nothing changed

    vector = {"peak_force_kn": 0.28, "energy_kj": 0.1}
    without = classify(vector)
    with_model = classify(vector, model=learned.model)
    assert without.mode == "die_wear"
    assert with_model.shares["none"] > without.shares.get("none", 0.0)
