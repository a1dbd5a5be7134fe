"""MqttPublisher against a real Mosquitto broker started for the test on a free port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from simulator_testkit import START_US, example_plant

from cadence.clock import SimClock
from cadence.errors import BrokerUnavailable
from cadence.protocol import decode_message
from cadence.simulator import MqttPublisher, PlantSimulator
from conftest import require

MOSQUITTO = Path("/usr/sbin/mosquitto")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class _Broker:
    """A private Mosquitto on a free port; ``restart`` keeps the port."""

    def __init__(self, binary: str, conf_dir: Path) -> None:
        self.port = _free_port()
        self._conf = conf_dir / "mosquitto.conf"
        self._conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n", encoding="utf-8")
        self._binary = binary
        self._proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [self._binary, "-c", str(self._conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert _wait_for_port(self.port, 10.0), "mosquitto did not start listening"

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)
        self._proc = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[_Broker]:
    binary = str(MOSQUITTO) if MOSQUITTO.exists() else shutil.which("mosquitto")
    require(binary is not None, "Mosquitto is not installed (/usr/sbin/mosquitto); apt-get install mosquitto")
    assert binary is not None
    broker = _Broker(binary, tmp_path)
    try:
        yield broker
    finally:
        broker.stop()


class _Subscriber:
    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sim-test-sub", protocol=mqtt.MQTTv311)
        client.on_connect = lambda c, u, f, rc, p: c.subscribe("cadence/v1/#", qos=1)
        client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        client.on_message = self._on_message
        client.connect("127.0.0.1", port)
        client.loop_start()
        self.client = client
        assert self._subscribed.wait(10), "subscription not acknowledged"

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def wait_for(self, count: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    break
            time.sleep(0.05)
        with self._lock:
            return len(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.mosquitto
def test_one_simulated_minute_of_a_press_arrives_complete(mosquitto: _Broker) -> None:
    subscriber = _Subscriber(mosquitto.port)
    publisher = MqttPublisher("127.0.0.1", mosquitto.port, "sim-test-pub", qos=1, max_pending=20)
    sent: list[tuple[str, bytes]] = []

    class Recording:
        def publish(self, topic: str, payload: bytes) -> None:
            publisher.publish(topic, payload)
            sent.append((topic, payload))

        def close(self) -> None:
            publisher.close()

    try:
        sim = PlantSimulator(example_plant(), Recording(), SimClock(START_US), seed=3, machines=["P01"])
        sim.step_until(START_US + 60_000_000)
        assert publisher.flush(timeout=15.0), f"{publisher.pending} message(s) not acknowledged"
        counters = sim.counters()["P01"]
        assert counters.messages == publisher.published == len(sent) > 60
        assert counters.strokes >= 5
        received = subscriber.wait_for(len(sent), timeout=15.0)
        assert received == len(sent)
        assert Counter(subscriber.messages) == Counter(sent)  # same topics, same bytes
        assert {decode_message(p).key.source for _, p in subscriber.messages} == {"gw-P01"}
    finally:
        publisher.close()
        subscriber.close()


@pytest.mark.mosquitto
def test_messages_published_while_the_broker_is_down_are_sent_when_it_is_back(mosquitto: _Broker) -> None:
    publisher = MqttPublisher("127.0.0.1", mosquitto.port, "sim-test-restart", qos=1, max_pending=50)
    try:
        for i in range(5):
            publisher.publish("cadence/v1/P01/samples", b"before %d" % i)
        assert publisher.flush(timeout=5.0)
        mosquitto.stop()
        deadline = time.monotonic() + 5.0
        while publisher.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        for i in range(20):  # queued by paho, bounded by max_pending
            publisher.publish("cadence/v1/P01/samples", b"during %d" % i)
        assert publisher.pending == 20
        mosquitto.start()
        assert publisher.flush(timeout=20.0)  # reconnected with back-off, queue sent and acknowledged
        assert publisher.published == publisher.acknowledged == 25
    finally:
        publisher.close()


def test_an_unreachable_broker_is_reported() -> None:
    port = _free_port()  # nothing listens there
    began = time.monotonic()
    with pytest.raises(BrokerUnavailable, match=f"127.0.0.1:{port} unreachable"):
        MqttPublisher("127.0.0.1", port, "sim-test-nobody", connect_timeout_s=0.5)
    assert time.monotonic() - began < 5.0
