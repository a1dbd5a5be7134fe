"""The pipeline over a real SQLite store: idempotency, order, conflicts, back-pressure; junk never escapes."""

from __future__ import annotations

import concurrent.futures
import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.clock import SimClock
from cadence.domain import Plant
from cadence.errors import StoreBacklogFull, StoreClosed
from cadence.ingest.pipeline import Inbound, IngestPipeline, Status
from cadence.store.sqlite import SqliteStore
from support.ingest_fixtures import check_idle_counts, pipeline, plant, store, writer_blocked  # noqa: F401
from support.messages import MESSAGE_SPAN_US, T0_US, encode, message, topic


def _http(*docs: dict[str, Any]) -> list[Inbound]:
    return [Inbound("http", encode(doc)) for doc in docs]


def _pressure(db: SqliteStore, machine: str = "P01") -> tuple[list[int], list[float]]:
    series = db.series(machine, "pressure", T0_US - MESSAGE_SPAN_US, T0_US + 1000 * MESSAGE_SPAN_US)
    return series.ts_us.tolist(), series.values.tolist()


def test_valid_messages_are_stored_and_counted(pipeline: IngestPipeline, store: SqliteStore) -> None:  # noqa: F811
    docs = [message(seq, points=5, machine=m) for seq, m in enumerate(["P01", "P02", "P01"])]
    docs[2]["states"] = [{"ts": T0_US, "state": "running"}]
    results = pipeline.handle_many(_http(*docs)).result(timeout=10)

    assert [r.status for r in results] == [Status.STORED] * 3
    assert [r.key.seq for r in results if r.key] == [0, 1, 2]
    assert store.stats().points == 15
    snap = pipeline.stats.snapshot()
    check_idle_counts(snap)
    assert (snap["received"], snap["stored"], snap["points"], snap["states"]) == (3, 3, 15, 1)
    assert snap["bytes"] == sum(len(encode(d)) for d in docs)
    assert snap["machines"]["P01"]["stored"] == 2
    assert snap["machines"]["P02"]["points"] == 5


def test_the_same_message_twice_is_stored_once(pipeline: IngestPipeline, store: SqliteStore) -> None:  # noqa: F811
    doc = message(7, points=4)
    first = pipeline.handle_many(_http(doc, doc)).result(timeout=10)  # twice in one group
    again = pipeline.handle("http", encode(doc)).result(timeout=10)  # and once more later

    assert [r.status for r in first] == [Status.STORED, Status.DUPLICATE]
    assert again.status is Status.DUPLICATE
    ts, values = _pressure(store)
    assert len(ts) == 4 and values == [100.0, 100.25, 100.5, 100.75]
    assert store.stats().batches == 1
    snap = pipeline.stats.snapshot()
    check_idle_counts(snap)
    assert (snap["stored"], snap["duplicates"], snap["points"]) == (1, 2, 4)


def test_a_re_sent_message_with_a_new_send_time_is_a_duplicate(pipeline: IngestPipeline) -> None:  # noqa: F811
    first = pipeline.handle("http", encode(message(1, sent=T0_US))).result(timeout=10)
    retry = pipeline.handle("http", encode(message(1, sent=T0_US + 5_000_000))).result(timeout=10)
    assert (first.status, retry.status) == (Status.STORED, Status.DUPLICATE)


def test_out_of_order_messages_are_all_stored(pipeline: IngestPipeline, store: SqliteStore) -> None:  # noqa: F811
    for seq in (5, 3, 4, 0):  # later seqs carry later timestamps, and arrive first
        assert (
            pipeline.handle("http", encode(message(seq, points=2))).result(timeout=10).status is Status.STORED
        )
    ts, _ = _pressure(store)
    expected = sorted(T0_US + seq * MESSAGE_SPAN_US + i * 2_000 for seq in (5, 3, 4, 0) for i in range(2))
    assert ts == expected


def test_a_reused_key_with_other_content_is_a_quarantined_conflict(
    pipeline: IngestPipeline,  # noqa: F811
    store: SqliteStore,  # noqa: F811
) -> None:
    original = pipeline.handle("http", encode(message(3, base=100.0))).result(timeout=10)
    clash = pipeline.handle("mqtt:cadence/v1/P01/samples", encode(message(3, base=200.0)), topic()).result(10)

    assert original.status is Status.STORED
    assert (clash.status, clash.code) == (Status.REJECTED, "ingest.key_conflict")
    assert "gw-test/1/3" in (clash.error or "")
    [kept] = store.quarantined()
    assert (kept.code, kept.channel) == ("ingest.key_conflict", "mqtt:cadence/v1/P01/samples")
    assert json.loads(kept.payload)["samples"][0]["values"][0] == 200.0
    assert _pressure(store)[1][0] == 100.0  # the first content stays
    snap = pipeline.stats.snapshot()
    check_idle_counts(snap)
    assert (snap["conflicts"], snap["rejected"], snap["stored"]) == (1, {"ingest.key_conflict": 1}, 1)


def test_a_group_mixing_good_and_bad_messages_settles_each_on_its_own(
    pipeline: IngestPipeline,  # noqa: F811
    store: SqliteStore,  # noqa: F811
) -> None:
    group = [
        Inbound("http", encode(message(1))),
        Inbound("http", b"\x00\xff binary junk"),
        Inbound("http", encode(message(2, machine="P77"))),
        Inbound("http", encode(message(3))),
    ]
    results = pipeline.handle_many(group).result(timeout=10)
    assert [r.status for r in results] == [Status.STORED, Status.REJECTED, Status.REJECTED, Status.STORED]
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert results[2].key is not None and results[2].key.seq == 2  # decoded far enough to name its key
    assert results[1].key is None
    assert store.stats().quarantined == 2
    check_idle_counts(pipeline.stats.snapshot())


def test_store_backlog_full_raises_before_anything_happens(plant: Plant, tmp_path: Path) -> None:  # noqa: F811
    db_path = tmp_path / "busy.db"
    with SqliteStore(db_path, max_backlog=1, auto_compact_interval_s=0) as db:
        pipe = IngestPipeline(plant, db, SimClock())
        try:
            with writer_blocked(db_path):
                held = db.submit([pipe.validate(encode(message(1)))])  # the writer takes it, then waits
                _wait_until(lambda: db.backlog == 0)
                queued = db.submit([pipe.validate(encode(message(2)))])  # fills the one-task queue
                with pytest.raises(StoreBacklogFull, match="disk is not keeping up"):
                    pipe.handle_many(_http(message(3), message(4)))
                assert pipe.stats.snapshot()["received"] == 0  # refused as a whole: nothing counted
            assert held.result(10) and queued.result(10)
            retried = pipe.handle_many(_http(message(3), message(4))).result(timeout=10)
            assert [r.status for r in retried] == [Status.STORED, Status.STORED]
        finally:
            pipe.close()


def test_no_result_before_the_commit(pipeline: IngestPipeline, store: SqliteStore) -> None:  # noqa: F811
    with writer_blocked(store.path):
        future = pipeline.handle("http", encode(message(1)))
        assert not future.done() and not _settles_within(future, 0.5)
    assert future.result(timeout=10).status is Status.STORED


def test_a_closed_pipeline_refuses_new_groups(pipeline: IngestPipeline) -> None:  # noqa: F811
    done = pipeline.handle("http", encode(message(1)))
    pipeline.close()
    assert done.result(timeout=1).status is Status.STORED  # close waited for it
    with pytest.raises(StoreClosed):
        pipeline.handle("http", encode(message(2)))


# --- junk never escapes -------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_fields = ["v", "source", "epoch", "seq", "machine", "sent", "samples", "strokes", "states", "bogus"]
_mutation = st.tuples(
    st.sampled_from(["delete", "set", "set_sample_field", "values"]), st.sampled_from(_fields), _json
)


def _mutate(seq: int, mutations: list[tuple[str, str, object]]) -> bytes:
    doc = copy.deepcopy(message(seq % 16, machine=["P01", "P02"][seq % 2], points=3))
    for action, field, value in mutations:
        if action == "delete":
            doc.pop(field, None)
        elif action == "set":
            doc[field] = value
        elif action == "set_sample_field" and isinstance(doc.get("samples"), list) and doc["samples"]:
            doc["samples"][0][field if field in ("signal", "t0", "dt") else "signal"] = value
        elif action == "values" and isinstance(doc.get("samples"), list) and doc["samples"]:
            doc["samples"][0]["values"] = [value, 1.0, 2.0]
    return json.dumps(doc).encode()


_payloads = st.one_of(
    st.binary(max_size=64),
    _json.map(lambda v: json.dumps(v).encode()),
    st.builds(_mutate, st.integers(0, 40), st.lists(_mutation, max_size=3)),
    st.integers(0, 40).map(lambda seq: encode(message(seq % 16, machine=["P01", "P02"][seq % 2], points=3))),
)
_topics = st.one_of(st.none(), st.sampled_from([topic("P01"), topic("P02"), "cadence/v1/P01/x", "a/b"]))


def test_generated_junk_never_raises_and_everything_is_accounted_for(plant: Plant, tmp_path: Path) -> None:  # noqa: F811
    with SqliteStore(tmp_path / "fuzz.db", auto_compact_interval_s=0) as db:
        pipe = IngestPipeline(plant, db, SimClock())
        rejected_seen = 0

        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(st.tuples(_payloads, _topics), min_size=1, max_size=6))
        def feed(group: list[tuple[bytes, str | None]]) -> None:
            nonlocal rejected_seen
            inbound = [Inbound(f"mqtt:{t}" if t else "http", p, t) for p, t in group]
            results = pipe.handle_many(inbound).result(timeout=30)
            assert [r.index for r in results] == list(range(len(group)))
            assert all(r.status is not Status.FAILED for r in results)
            for result in results:
                if result.status is Status.REJECTED:
                    assert result.code and result.code.startswith("ingest.") and result.error
            rejected_seen += sum(r.status is Status.REJECTED for r in results)

        try:
            feed()
            assert pipe.wait_idle(10)
            snap = pipe.stats.snapshot()
            check_idle_counts(snap)
            stats = db.stats()
            assert snap["rejected_total"] == rejected_seen == stats.quarantined
            assert snap["stored"] == stats.batches
            assert snap["points"] == stats.points
            assert snap["failed"] == 0
            # Valid messages went through too: the generator mixes them in, so some were stored.
            assert snap["stored"] > 0 and snap["rejected_total"] > 0
        finally:
            pipe.close()


# --- helpers ------------------------------------------------------------------------------------------


def _wait_until(condition: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def _settles_within(future: Any, seconds: float) -> bool:
    try:
        future.result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        return False
    return True


def test_pressure_values_round_trip_exactly(pipeline: IngestPipeline, store: SqliteStore) -> None:  # noqa: F811
    values = np.round(np.linspace(-10, 400, 50), 2).tolist()
    doc = message(1, samples=[{"signal": "pressure", "t0": T0_US, "dt": 2_000, "values": values}])
    assert pipeline.handle("http", encode(doc)).result(timeout=10).status is Status.STORED
    assert _pressure(store)[1] == values
