"""Every way a message is refused: the right error code, a reason naming the bad key or value, quarantine."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from cadence.clock import SimClock
from cadence.domain import Area, Line, Machine, Plant, SignalSpec, Site
from cadence.ingest.pipeline import Inbound, IngestPipeline, Status
from cadence.protocol import Limits
from cadence.store.sqlite import SqliteStore
from support.ingest_fixtures import pipeline, plant, store  # noqa: F401
from support.messages import T0_US, encode, message, topic


def _waveform_stroke(signals: dict[str, list[float]]) -> dict[str, Any]:
    return {
        "n": 7,
        "start": T0_US,
        "end": T0_US + 8_000_000,
        "good": True,
        "waveform": {"t0": T0_US, "dt": 40_000, "signals": signals},
    }


class Case(NamedTuple):
    name: str
    payload: bytes
    topic: str | None  # the MQTT topic, or None for HTTP
    code: str
    fragments: tuple[str, ...]  # what the reason must name


CASES: list[Case] = [
    Case("not json", b"{not json", None, "ingest.malformed", ("invalid payload",)),
    Case("unknown field", encode(message(1, sampels=[])), None, "ingest.malformed", ("sampels",)),
    Case(
        "missing key",
        encode({k: v for k, v in message(1).items() if k != "source"}),
        None,
        "ingest.malformed",
        ("source",),
    ),
    Case(
        "no data",
        encode(message(1, samples=[])),
        None,
        "ingest.malformed",
        ("no samples, strokes or states",),
    ),
    Case("version", encode(message(1, v=2)), None, "ingest.unsupported_version", ("version 2",)),
    Case(
        "topic names another machine",
        encode(message(1, machine="P01")),
        topic("P02"),
        "ingest.topic_mismatch",
        ("'P02'", "'P01'"),
    ),
    Case("topic kind", encode(message(1)), "cadence/v1/P01/bogus", "ingest.topic_mismatch", ("'bogus'",)),
    Case("topic shape", encode(message(1)), "factory/P01", "ingest.topic_mismatch", ("factory/P01",)),
    Case(
        "unknown machine",
        encode(message(1, machine="P99")),
        None,
        "ingest.unknown_machine",
        ("'P99'", "P01, P02, P03, P04, P05, P06"),
    ),
    Case(
        "unknown signal",
        encode(message(1, signal="presure")),
        None,
        "ingest.unknown_signal",
        ("'presure'", "force, motor_power, oil_temp, position, pressure"),
    ),
    Case(
        "value above range",
        encode(message(1, signal="oil_temp", base=150.0, points=1)),
        None,
        "ingest.invalid_value",
        ("oil_temp", "150.0", "-20", "120", "°C"),
    ),
    Case(
        "value below range",
        encode(message(1, signal="pressure", base=-11.5, points=1)),
        None,
        "ingest.invalid_value",
        ("pressure", "-11.5", "-10", "400"),
    ),
    Case(
        "waveform signal unknown",
        encode(message(1, samples=[], strokes=[_waveform_stroke({"presure": [1.0, 2.0]})])),
        None,
        "ingest.unknown_signal",
        ("waveform", "'presure'"),
    ),
    Case(
        "waveform value out of range",
        encode(message(1, samples=[], strokes=[_waveform_stroke({"pressure": [1.0, 999.0]})])),
        None,
        "ingest.invalid_value",
        ("waveform", "999.0", "pressure"),
    ),
    Case(
        "timestamp in milliseconds",
        encode(message(1, samples=[{"signal": "pressure", "ts": [T0_US // 1000], "values": [1.0]}])),
        None,
        "ingest.invalid_value",
        ("timestamp", str(T0_US // 1000)),
    ),
    Case(
        "unknown state",
        encode(message(1, samples=[], states=[{"ts": T0_US, "state": "sleeping"}])),
        None,
        "ingest.invalid_value",
        ("'sleeping'", "running"),
    ),
    Case(
        "stroke ends before it starts",
        encode(message(1, samples=[], strokes=[{"n": 1, "start": T0_US + 5, "end": T0_US, "good": True}])),
        None,
        "ingest.invalid_value",
        ("end is before start",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refusal_has_code_reason_and_quarantine(
    pipeline: IngestPipeline,  # noqa: F811
    store: SqliteStore,  # noqa: F811
    case: Case,
) -> None:
    payload, mqtt_topic, code, fragments = case.payload, case.topic, case.code, case.fragments
    channel = f"mqtt:{mqtt_topic}" if mqtt_topic else "http"
    [result] = pipeline.handle_many([Inbound(channel, payload, mqtt_topic)]).result(timeout=10)

    assert result.status is Status.REJECTED
    assert result.code == code
    for fragment in fragments:
        assert fragment in (result.error or ""), f"{fragment!r} not in {result.error!r}"
    [kept] = store.quarantined()
    assert (kept.code, kept.reason, kept.channel, kept.payload, kept.size) == (
        code,
        result.error,
        channel,
        payload,
        len(payload),
    )
    snapshot = pipeline.stats.snapshot()
    assert snapshot["rejected"] == {code: 1}
    assert snapshot["stored"] == 0
    assert store.stats().batches == 0


def test_payload_over_the_size_cap_is_refused_before_decoding(plant: Plant, store: SqliteStore) -> None:  # noqa: F811
    small = IngestPipeline(plant, store, SimClock(), Limits(max_bytes=1024))
    try:
        payload = encode(message(1, points=300))
        assert len(payload) > 1024
        [result] = small.handle_many([Inbound("http", payload)]).result(timeout=10)
    finally:
        small.close()
    assert (result.status, result.code) == (Status.REJECTED, "ingest.too_large")
    assert f"{len(payload)} bytes exceeds the 1024-byte limit" in (result.error or "")


def test_quarantine_keeps_at_most_64_kib_of_a_payload_but_its_real_size(
    pipeline: IngestPipeline,  # noqa: F811
    store: SqliteStore,  # noqa: F811
) -> None:
    payload = b"[" + b" " * 200_000 + b"garbage"
    [result] = pipeline.handle_many([Inbound("http", payload)]).result(timeout=10)
    assert result.status is Status.REJECTED
    [kept] = store.quarantined()
    assert kept.size == len(payload)
    assert kept.payload == payload[: 64 * 1024]


def test_value_too_large_for_the_resolution_is_refused_alone(tmp_path: Any) -> None:
    # A signal without a range accepts any finite value, but not one the store cannot keep exactly.
    free = SignalSpec("counter", "1", sampling_hz=1, resolution=0.001)
    lone = Plant(
        Site("s", "S"), (Area("A", "A"),), (Line("L", "L", "A"),), (Machine("M1", "M", "L", (free,)),)
    )
    with SqliteStore.for_tests(tmp_path) as db:
        pipe = IngestPipeline(lone, db, SimClock())
        try:
            huge = encode(message(1, machine="M1", signal="counter", base=1e300, points=1))
            fine = encode(message(2, machine="M1", signal="counter", base=-1e9, points=1))
            results = pipe.handle_many([Inbound("http", huge), Inbound("http", fine)]).result(timeout=10)
        finally:
            pipe.close()
        assert [r.status for r in results] == [Status.REJECTED, Status.STORED]
        assert results[0].code == "ingest.invalid_value"
        assert "too large to store" in (results[0].error or "")
        assert db.stats().points == 1
