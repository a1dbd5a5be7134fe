"""MQTT ingest end to end: a real Mosquitto started from the shipped configuration, a real SQLite store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cadence.clock import SimClock
from cadence.domain import Plant
from cadence.ingest.mqtt import MqttIngest
from cadence.ingest.pipeline import IngestPipeline
from cadence.protocol.acks import CommitAck, decode_ack
from cadence.store.sqlite import SqliteStore
from support.broker import Broker, BrokerFactory
from support.ingest_fixtures import check_idle_counts, plant, writer_blocked  # noqa: F401
from support.messages import MESSAGE_SPAN_US, T0_US, encode, message, topic

pytestmark = pytest.mark.mosquitto

SOURCE = "edge-mqtt"
EPOCH = 5
POINTS = 200
# Generous bounds for a loaded 2-core machine; a healthy run settles in well under a second.
SETTLE_S = 30.0


class Publisher:
    """A gateway stand-in: QoS 1 publishes, waiting for each PUBACK."""

    def __init__(self, broker: Broker) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-test", protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(100)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, messages: list[tuple[str, bytes]]) -> None:
        infos = [self.client.publish(t, payload, qos=1) for t, payload in messages]
        for info in infos:
            info.wait_for_publish(SETTLE_S)
            assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class AckListener:
    """Collects the commit acknowledgements Cadence publishes for SOURCE."""

    def __init__(self, broker: Broker) -> None:
        self.acks: list[CommitAck] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-acks", protocol=mqtt.MQTTv311)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(f"cadence/v1/_ack/{SOURCE}", 1)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.acks.append(decode_ack(msg.payload))

    def committed(self) -> set[int]:
        with self._lock:
            return {seq for ack in self.acks for seq in ack.seq}

    def rejected(self) -> dict[int, str]:
        with self._lock:
            return {r.seq: r.code for ack in self.acks for r in ack.rejected}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "mqtt.db", auto_compact_interval_s=0)
    try:
        yield store
    finally:
        store.close()


def _ingest(
    plant: Plant,  # noqa: F811
    db: SqliteStore,
    broker: Broker,
    **options: Any,
) -> tuple[MqttIngest, IngestPipeline]:
    pipeline = IngestPipeline(plant, db, SimClock())
    ingest = MqttIngest(pipeline, broker.host, broker.port, client_id="cadence-ingest-test", **options)
    ingest.start()
    assert ingest.wait_connected(10), "ingest did not connect"
    return ingest, pipeline


def _data(seqs: range, machines: tuple[str, ...] = ("P01", "P02")) -> list[tuple[str, bytes]]:
    out = []
    for seq in seqs:
        machine = machines[seq % len(machines)]
        doc = message(seq, machine=machine, source=SOURCE, epoch=EPOCH, points=POINTS, base=20.0 + seq % 50)
        out.append((topic(machine), encode(doc)))
    return out


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_end_to_end_with_duplicates_junk_and_an_ingest_restart(
    mosquitto_broker: BrokerFactory,
    plant: Plant,  # noqa: F811
    db: SqliteStore,
) -> None:
    broker = mosquitto_broker()
    acks = AckListener(broker)
    publisher = Publisher(broker)
    ingest, pipeline = _ingest(plant, db, broker)
    first, second = range(0, 40), range(40, 70)
    junk = [
        ("cadence/v1/P01/samples", b"\x00 not json"),
        (topic("P99"), encode(message(900, machine="P99", source=SOURCE, epoch=EPOCH))),  # unknown machine
        (topic("P02"), encode(message(901, machine="P01", source=SOURCE, epoch=EPOCH))),  # topic mismatch
    ]
    try:
        publisher.send(_data(first) + junk + _data(range(0, 10)))  # the last ten are duplicates
        # Everything published reached ingest (40 + 3 junk + 10 duplicates) before it stops: messages
        # arriving during stop() stay un-acked and would be re-delivered to the next session instead.
        _wait(lambda: pipeline.stats.snapshot()["received"] == 53, "every message of the first round")
        assert ingest.wait_idle(SETTLE_S)
        ingest.stop()

        # Ingest is down: the broker keeps these for its persistent session.
        publisher.send(_data(second))
        ingest2, pipeline2 = _ingest(plant, db, broker)
        try:
            _wait(lambda: pipeline2.stats.snapshot()["stored"] == len(second), "the messages sent while down")
            assert ingest2.wait_idle(SETTLE_S)
            _wait(lambda: acks.committed() >= set(first) | set(second), "commit acknowledgements")
        finally:
            ingest2.stop()
    finally:
        publisher.close()
        acks.close()

    snap1, snap2 = pipeline.stats.snapshot(), pipeline2.stats.snapshot()
    check_idle_counts(snap1)
    check_idle_counts(snap2)
    assert (snap1["stored"], snap1["duplicates"], snap2["stored"]) == (40, 10, 30)
    assert snap1["rejected"] == {
        "ingest.malformed": 1,
        "ingest.topic_mismatch": 1,
        "ingest.unknown_machine": 1,
    }
    assert snap1["acks_published"] >= 1

    stats = db.stats()
    assert (stats.batches, stats.points, stats.quarantined) == (70, 70 * POINTS, 3)
    for machine in ("P01", "P02"):
        series = db.series(machine, "pressure", T0_US, T0_US + 100 * MESSAGE_SPAN_US)
        seqs = [s for s in range(70) if ("P01", "P02")[s % 2] == machine]
        assert len(series) == len(seqs) * POINTS
        expected_first = [20.0 + s % 50 for s in seqs]
        assert np.array_equal(series.values[::POINTS], np.array(expected_first))

    assert acks.committed() == set(range(70))
    assert acks.rejected() == {900: "ingest.unknown_machine", 901: "ingest.topic_mismatch"}
    quarantined = {q.code: q.channel for q in db.quarantined()}
    assert quarantined["ingest.malformed"] == "mqtt:cadence/v1/P01/samples"


def test_messages_received_but_not_committed_are_redelivered_after_a_restart(
    mosquitto_broker: BrokerFactory,
    plant: Plant,  # noqa: F811
    db: SqliteStore,
) -> None:
    # PUBACK only after commit: what ingest took but could not commit before going away stays with the
    # broker, which delivers it again to the next session.
    broker = mosquitto_broker()
    publisher = Publisher(broker)
    # Room for one group per message however they trickle in, so that all twelve reach the store's queue.
    ingest, pipeline = _ingest(plant, db, broker, max_pending_groups=16)
    try:
        with writer_blocked(db.path):
            publisher.send(_data(range(12)))
            _wait(lambda: pipeline.stats.snapshot()["received"] == 12, "ingest to take the messages")
            ingest.stop(timeout_s=0.5)  # cannot commit: the store's writer is blocked
            assert pipeline.stats.snapshot()["in_flight"] == 12
        assert pipeline.wait_idle(SETTLE_S)  # the old instance's commits land once the disk is back
        assert pipeline.stats.snapshot()["stored"] == 12

        ingest2, pipeline2 = _ingest(plant, db, broker)
        try:
            _wait(
                lambda: pipeline2.stats.snapshot()["duplicates"] == 12, "re-delivery of the un-acked messages"
            )
        finally:
            ingest2.stop()
    finally:
        publisher.close()
    assert db.stats().batches == 12
    assert pipeline2.stats.snapshot()["stored"] == 0


def test_ingest_reconnects_after_a_broker_restart_and_logs_it_once(
    mosquitto_broker: BrokerFactory,
    plant: Plant,  # noqa: F811
    db: SqliteStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = mosquitto_broker()
    ingest, pipeline = _ingest(plant, db, broker)
    try:
        publisher = Publisher(broker)
        publisher.send(_data(range(5)))
        publisher.close()
        _wait(lambda: pipeline.stats.snapshot()["stored"] == 5, "messages before the restart")

        with caplog.at_level("INFO", logger="cadence.ingest.mqtt"):
            broker.stop()  # SIGTERM: Mosquitto saves its sessions
            _wait(lambda: not ingest.connected, "ingest to notice the broker is gone")
            time.sleep(1.5)  # at least one failed reconnection attempt
            broker.start()
            assert ingest.wait_connected(SETTLE_S), "ingest did not reconnect"

        publisher = Publisher(broker)
        publisher.send(_data(range(5, 10)))
        publisher.close()
        _wait(lambda: pipeline.stats.snapshot()["stored"] == 10, "messages after the restart")
    finally:
        ingest.stop()
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelname == "WARNING"
    assert len(recovered) == 1 and recovered[0].levelname == "INFO"
    assert ingest.reconnects == 1
    assert db.stats().batches == 10
