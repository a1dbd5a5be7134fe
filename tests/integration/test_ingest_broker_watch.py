"""The broker watch raises an alarm when a real Mosquitto drops messages (deliberately tiny queue)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cadence.clock import WallClock
from cadence.domain import Severity
from cadence.ingest.broker_watch import ALARM_CODE, BrokerWatch
from cadence.ingest.stats import IngestStats
from cadence.store.sqlite import SqliteStore
from support.broker import Broker, BrokerFactory

pytestmark = pytest.mark.mosquitto

QUEUE = 10
PUBLISHED = 60
# $SYS is published every second (sys_interval 1): a few intervals on a loaded machine.
ALARM_WITHIN_S = 15.0


def _client(broker: Broker, client_id: str, clean: bool) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311
    )
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def test_drops_at_the_broker_raise_a_critical_alarm(mosquitto_broker: BrokerFactory, tmp_path: Path) -> None:
    broker = mosquitto_broker(overrides={"max_queued_messages": QUEUE, "max_inflight_messages": 1})
    stats = IngestStats()
    with SqliteStore(tmp_path / "watch.db", auto_compact_interval_s=0) as store:
        watch = BrokerWatch(store, WallClock(), stats, broker.host, broker.port)
        watch.start()
        try:
            assert watch.wait_first_reading(ALARM_WITHIN_S), "no $SYS drop counter from the broker"
            assert store.alarms() == [] and watch.alarms_raised == 0

            # A persistent subscriber that went away: the broker queues QUEUE messages for it, drops the rest.
            offline = _client(broker, "offline-subscriber", clean=False)
            subscribed = threading.Event()
            offline.on_subscribe = lambda *args: subscribed.set()
            offline.subscribe("plant/slow", qos=1)
            assert subscribed.wait(5)
            offline.disconnect()
            offline.loop_stop()

            publisher = _client(broker, "gateway", clean=True)
            for i in range(PUBLISHED):
                publisher.publish("plant/slow", f"{i}".encode(), qos=1).wait_for_publish(5)
            publisher.disconnect()
            publisher.loop_stop()

            deadline = time.monotonic() + ALARM_WITHIN_S
            while not store.alarms() and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            watch.stop()

        [alarm] = store.alarms()
        dropped = stats.snapshot()["broker_dropped"]
        assert PUBLISHED - QUEUE - 1 <= dropped <= PUBLISHED - QUEUE  # one may sit in the in-flight slot
        assert (alarm.code, alarm.severity, alarm.source) == (ALARM_CODE, Severity.CRITICAL, "broker")
        assert f"dropped {dropped} message(s)" in alarm.message_en
        assert "max_queued_messages" in alarm.message_en
        assert stats.snapshot()["alarms"] == 1 and watch.alarms_raised == 1
