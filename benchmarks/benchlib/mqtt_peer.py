"""The MQTT peers of the ingest benchmark, each run as its own process (its own GIL, its own CPU time).

``publish``: reads pre-encoded messages from a file, connects, prints ``{"ready": ...}``, waits for ``go``
on stdin, publishes everything at QoS 1 as fast as paho allows, waits for every PUBACK and prints one JSON
line with its timings (``time.monotonic()``, which on Linux is one clock for every process of the host).

``count``: a bare subscriber to ``cadence/v1/+/+`` at QoS 1 that only counts messages (no decoding, no
storage): the ceiling of one Python MQTT client on this machine. Prints ``{"ready": ...}`` once its
subscription is acknowledged and a JSON line with the time of the last message once it has them all.

Deliberately self-contained (paho and the standard library only): the publisher must not pay for importing
Cadence, and its CPU time should be MQTT work only.

Usage::

    python benchlib/mqtt_peer.py publish --port 18830 --file msgs.bin --client-id bench-pub-1
    python benchlib/mqtt_peer.py count --port 18830 --expect 60000 --client-id bench-count-1
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

# Record header of the message file: topic length (u16), payload length (u32), big-endian.
HEADER = struct.Struct(">HI")
SUBSCRIPTION = "cadence/v1/+/+"
# Messages paho keeps un-acknowledged at once; 0 = no limit. MQTT 3.1.1 has no receive maximum and
# Mosquitto answers each QoS 1 publish at once, so the window only has to be wide. It must be unlimited
# rather than merely large: with any limit set, paho 2.2 scans every un-acknowledged message on each PUBACK
# (Client._update_inflight), which made a 12k-message burst cost the publisher O(n²) CPU (seconds).
MAX_INFLIGHT = 0
CONNECT_TIMEOUT_S = 10.0
KEEPALIVE_S = 60


def write_messages(path: Path, messages: Iterable[tuple[str, bytes]]) -> tuple[int, int]:
    """Store ``(topic, payload)`` pairs in the length-prefixed file :func:`read_messages` reads.

    Streams them (a caller may generate more than it wants to hold); returns ``(messages, bytes)``.
    """
    count = size = 0
    with path.open("wb") as out:
        for topic, payload in messages:
            count += 1
            size += len(payload)
            encoded = topic.encode("utf-8")
            out.write(HEADER.pack(len(encoded), len(payload)))
            out.write(encoded)
            out.write(payload)
    return count, size


def read_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """The ``(topic, payload)`` pairs written by :func:`write_messages`, in order.

    Read record by record: a caller that keeps every payload then holds them once, not twice.
    """
    with path.open("rb") as source:
        while header := source.read(HEADER.size):
            if len(header) != HEADER.size:
                raise ValueError(f"{path}: truncated record header")
            topic_len, payload_len = HEADER.unpack(header)
            topic = source.read(topic_len).decode("utf-8")
            payload = source.read(payload_len)
            if len(payload) != payload_len:
                raise ValueError(f"{path}: truncated payload")
            yield topic, payload


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _client(client_id: str) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=True
    )
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.max_queued_messages_set(0)  # 0 = unbounded: the whole workload is already in memory anyway
    return client


def publish(port: int, file: Path, client_id: str, timeout_s: float) -> int:
    """Publish every message of ``file`` at QoS 1 once told ``go``; report the timings."""
    messages = list(read_messages(file))
    connected = threading.Event()
    acked = threading.Event()
    state = {"acks": 0, "last_ack": 0.0}

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            connected.set()

    def on_publish(client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        # Network thread only: no lock needed for these counters, the main thread reads them after `acked`.
        state["acks"] += 1
        if state["acks"] == len(messages):
            state["last_ack"] = time.monotonic()
            acked.set()

    client = _client(client_id)
    client.on_connect = on_connect
    client.on_publish = on_publish
    client.connect("127.0.0.1", port, KEEPALIVE_S)
    client.loop_start()
    try:
        if not connected.wait(CONNECT_TIMEOUT_S):
            _emit({"error": f"could not connect to 127.0.0.1:{port}"})
            return 1
        _emit({"ready": len(messages)})
        if sys.stdin.readline().strip() != "go":
            return 1
        first = time.monotonic()
        for topic, payload in messages:
            client.publish(topic, payload, qos=1)
        published = time.monotonic()
        done = acked.wait(timeout_s)
        _emit(
            {
                "messages": len(messages),
                "acked": state["acks"],
                "complete": done,
                "first_publish": first,
                "last_publish": published,
                "last_ack": state["last_ack"] if done else None,
            }
        )
        return 0 if done else 1
    finally:
        client.disconnect()
        client.loop_stop()


def count(port: int, expect: int, client_id: str, timeout_s: float) -> int:
    """Subscribe, report ready, count ``expect`` messages; report when the last one arrived."""
    subscribed = threading.Event()
    complete = threading.Event()
    state = {"n": 0, "first": 0.0, "last": 0.0}

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            client.subscribe(SUBSCRIPTION, qos=1)

    def on_subscribe(client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        subscribed.set()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Counting only, on purpose: this is the cost of receiving a message and nothing else.
        n = state["n"] = state["n"] + 1
        if n == 1:
            state["first"] = time.monotonic()
        if n >= expect:
            state["last"] = time.monotonic()
            complete.set()

    client = _client(client_id)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", port, KEEPALIVE_S)
    client.loop_start()
    try:
        if not subscribed.wait(CONNECT_TIMEOUT_S):
            _emit({"error": f"could not subscribe on 127.0.0.1:{port}"})
            return 1
        _emit({"ready": True})
        done = complete.wait(timeout_s)
        _emit(
            {
                "received": state["n"],
                "complete": done,
                "first_message": state["first"] or None,
                "last_message": state["last"] if done else None,
            }
        )
        return 0 if done else 1
    finally:
        client.disconnect()
        client.loop_stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish")
    pub.add_argument("--file", type=Path, required=True)
    cnt = sub.add_parser("count")
    cnt.add_argument("--expect", type=int, required=True)
    for p in (pub, cnt):
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--client-id", required=True)
        p.add_argument("--timeout", type=float, default=300.0, help="Give up after this many seconds.")
    args = parser.parse_args(argv)
    if args.command == "publish":
        return publish(args.port, args.file, args.client_id, args.timeout)
    return count(args.port, args.expect, args.client_id, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
