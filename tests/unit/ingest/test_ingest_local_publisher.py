"""In-process publishing into the pipeline: grouped, back-pressured, nothing lost."""

from __future__ import annotations

from pathlib import Path

from cadence.clock import SimClock
from cadence.domain import Plant
from cadence.ingest.local import LocalPublisher
from cadence.ingest.pipeline import IngestPipeline
from cadence.store.sqlite import SqliteStore
from support.ingest_fixtures import check_idle_counts, pipeline, plant, store, writer_blocked  # noqa: F401
from support.messages import encode, message, topic


def test_everything_published_is_stored_or_quarantined(pipeline: IngestPipeline, store: SqliteStore) -> None:  # noqa: F811
    publisher = LocalPublisher(pipeline)
    for seq in range(300):
        publisher.publish(
            topic("P03"), encode(message(seq, machine="P03", signal="oil_temp", points=1, base=40.0))
        )
    publisher.publish(topic("P03"), b"junk")
    publisher.publish(topic("P01"), encode(message(1000, machine="P03")))  # topic mismatch
    assert publisher.flush(30)
    publisher.close()

    snap = pipeline.stats.snapshot()
    check_idle_counts(snap)
    assert (snap["stored"], snap["rejected_total"]) == (300, 2)
    assert store.stats().points == 300
    assert store.stats().batches == 300


def test_a_saturated_store_slows_the_publisher_down_without_losing_anything(
    plant: Plant,  # noqa: F811
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "slow.db"
    with SqliteStore(db_path, max_backlog=1, auto_compact_interval_s=0) as db:
        pipe = IngestPipeline(plant, db, SimClock())
        publisher = LocalPublisher(pipe, group_max_messages=1, linger_s=0, max_pending_groups=8)
        try:
            with writer_blocked(db_path):
                for seq in range(20):
                    publisher.publish(topic(), encode(message(seq)))
                assert not publisher.flush(timeout_s=0.5)  # nothing can commit meanwhile
            assert publisher.flush(timeout_s=30)
        finally:
            publisher.close()
            pipe.close()
        snap = pipe.stats.snapshot()
        assert snap["store_busy"] > 0  # the store did push back
        assert (snap["stored"], snap["failed"]) == (20, 0)
        assert db.stats().batches == 20
