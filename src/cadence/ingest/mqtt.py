"""MQTT ingest: a persistent paho subscriber feeding the pipeline, acknowledging only after commit.

Threads and flow::

    paho network thread ── on_message: (topic, payload, mid) → bounded inbox ──┐
    decoder thread ◀─────────────────────────────────────────────────────────────┘
        drains up to ``group_max_messages`` / ``group_max_bytes`` at a time, decodes and validates them,
        hands the group to the store as ONE task (at most ``max_pending_groups`` uncommitted at once)
    completion thread (the pipeline's) once the store has committed the group:
        PUBACK each message, then publish one commit acknowledgement per (source, epoch) on
        ``cadence/v1/_ack/<source>`` (:mod:`cadence.protocol.acks`)

Design choices:

* **Persistent session.** A fixed client id with clean session off, MQTT 3.1.1 (paho's fastest path): the
  broker keeps the subscription and queues QoS 1 messages while ingest is down, and delivers them on
  reconnect.
* **PUBACK after commit** (paho ``manual_ack``). The broker keeps a message until ingest has committed it
  (or quarantined it); a message received but not committed when ingest dies is re-delivered by the broker
  on the next session, and the store's idempotency keys turn the re-delivery into a duplicate. The PUBACK
  still is not the durability acknowledgement for senders (the broker's own copy is in memory): the commit
  acknowledgement on ``cadence/v1/_ack/<source>`` is (security.md §2.6, point 5).
* **Back-pressure, never drops.** Unacknowledged messages occupy the broker's in-flight window for this
  client (``max_inflight_messages`` in the shipped configuration), so a slow store makes the broker queue
  instead of pushing more. When the store's backlog is full the decoder waits and retries; if the inbox
  fills up anyway (a broker with an unlimited window), ``on_message`` blocks the paho network thread until
  there is room: the socket is not read, TCP pushes back and the broker queues (up to its limits; beyond
  them it drops and the broker watch alarms). Nothing received is ever discarded by ingest.
* **Own acks are ignored.** ``cadence/v1/+/+`` also matches ``cadence/v1/_ack/<source>``; those are
  acknowledged and skipped in ``on_message`` before costing anything else.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from cadence.errors import StoreClosed
from cadence.ingest.inbox import Inbox
from cadence.ingest.pipeline import (
    GROUP_MAX_BYTES,
    GROUP_MAX_MESSAGES,
    MAX_PENDING_GROUPS,
    Inbound,
    IngestPipeline,
    MessageResult,
    Prepared,
    Status,
)
from cadence.mqttclient import new_client
from cadence.protocol.acks import CommitAck, RejectedSeq, encode_ack
from cadence.protocol.topics import ACK_PREFIX, SUBSCRIPTION, ack_topic

logger = logging.getLogger(__name__)

# Messages buffered between the network thread and the decoder. With PUBACK after commit the broker's
# in-flight window (1000 in the shipped config) bounds what arrives, so the inbox only fills when a broker
# allows an unlimited window; it then blocks the network thread (back-pressure), never drops.
DEFAULT_QUEUE_MESSAGES = 20_000
# The inbox also stops taking messages past this many payload bytes: 64 MiB of JSON is ~10 M samples, two
# broker windows of 5,000-sample messages, and a hard bound on memory whatever the message sizes.
DEFAULT_QUEUE_BYTES = 64 * 1024 * 1024
# Keepalive in seconds. The network thread can block on a full inbox; 60 s leaves room for the store to
# drain before the broker declares us dead (which is harmless anyway: un-acked messages are re-delivered).
KEEPALIVE_S = 60
# Our own outgoing QoS 1 acknowledgements: in flight at once, and queued while disconnected (beyond that an
# ack is skipped; the sender re-sends the message and gets a "duplicate" ack).
ACK_INFLIGHT = 1_000
ACK_QUEUE = 100_000
# Delay before a message the store failed to commit (an error, not a refusal) is tried again, in seconds.
RETRY_DELAY_S = 2.0
# How often blocked waits re-check whether ingest is stopping, in seconds.
POLL_S = 0.1
_ACK_TOPIC_PREFIX = f"{ACK_PREFIX}/"
# Published (empty, QoS 1) when stopping, see MqttIngest._barrier. Within ingest's own acknowledgement
# space, under a name no sender can have ("_" is not a valid first character of a source id).
BARRIER_TOPIC = f"{ACK_PREFIX}/_ingest"


@dataclass(frozen=True, slots=True)
class _Item:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int  # the connection it arrived on: a PUBACK only makes sense on that connection


class MqttIngest:
    """Subscribe to ``cadence/v1/+/+`` on a broker and feed every message to ``pipeline``.

    ``start()`` returns at once; the client connects (and reconnects) in the background. ``stop()`` stops
    taking messages, commits and acknowledges those already taken, and disconnects, leaving the session on
    the broker so that messages published meanwhile wait for the next ``start()``.
    """

    def __init__(  # noqa: PLR0917 -- the documented order: pipeline, broker, identity, credentials
        self,
        pipeline: IngestPipeline,
        host: str = "127.0.0.1",
        port: int = 1883,
        client_id: str = "cadence-ingest",
        qos: int = 1,
        username: str | None = None,
        password: str | None = None,
        queue_size: int = DEFAULT_QUEUE_MESSAGES,
        *,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
        tls: ssl.SSLContext | None = None,
        keepalive_s: int = KEEPALIVE_S,
        group_max_messages: int = GROUP_MAX_MESSAGES,
        group_max_bytes: int = GROUP_MAX_BYTES,
        max_pending_groups: int = MAX_PENDING_GROUPS,
        publish_acks: bool = True,
    ) -> None:
        if qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {qos}")
        if not client_id:
            raise ValueError("a persistent session needs a fixed, non-empty client id")
        if queue_size < 1 or queue_bytes < 1 or group_max_messages < 1 or group_max_bytes < 1:
            raise ValueError("queue and group sizes must be >= 1")
        if max_pending_groups < 1:
            raise ValueError(f"max_pending_groups must be >= 1, got {max_pending_groups}")
        self.pipeline = pipeline
        self.host, self.port, self.client_id, self.qos = host, port, client_id, qos
        self._keepalive_s = keepalive_s
        self._group_max_messages = group_max_messages
        self._group_max_bytes = group_max_bytes
        self._publish_acks = publish_acks
        self._inbox: Inbox[_Item] = Inbox(queue_size, queue_bytes)
        self._max_pending = max_pending_groups
        self._pending = 0  # groups handed to the pipeline and not yet acknowledged
        self._pending_cond = threading.Condition()
        self._count_lock = threading.Lock()
        self._taken = 0  # messages put in the inbox
        self._settled = 0  # of those, acknowledged or given up (un-acked: the broker re-delivers them)
        self._retry: deque[tuple[float, _Item]] = deque()
        self._retry_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._generation = 0
        self._connected = threading.Event()
        self._accepting = False
        self._stop_decoder = threading.Event()
        self._decoder: threading.Thread | None = None
        self._started = False
        self._lost_at: float | None = None
        self._inbox_full = False
        self._failing = False
        self.reconnects = 0

        # A persistent session with manual PUBACK: the broker keeps what ingest took but did not commit.
        client = new_client(
            client_id, clean_session=False, username=username, password=password, tls=tls, manual_ack=True
        )
        client.max_inflight_messages_set(ACK_INFLIGHT)
        client.max_queued_messages_set(ACK_QUEUE)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client

    # --- life cycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background and start ingesting; returns at once (see :meth:`wait_connected`)."""
        if self._started:
            raise RuntimeError("MqttIngest is already started")
        self._started = True
        self._accepting = True
        self._stop_decoder.clear()
        self._decoder = threading.Thread(target=self._decode_loop, name="cadence-mqtt-decoder", daemon=True)
        self._decoder.start()
        logger.info("MQTT ingest connecting to %s:%d as %r", self.host, self.port, self.client_id)
        self._client.connect_async(self.host, self.port, self._keepalive_s)
        self._client.loop_start()

    def wait_connected(self, timeout_s: float | None = None) -> bool:
        """Wait until connected and subscribed; False on timeout."""
        return self._connected.wait(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking messages, commit and acknowledge the ones taken, disconnect (the session stays)."""
        if not self._started:
            return
        self._accepting = False  # from now on, arriving messages stay un-acked: re-delivered next session
        self._inbox.wake()
        deadline = time.monotonic() + timeout_s
        while not self._idle() and time.monotonic() < deadline:
            time.sleep(POLL_S / 5)
        self._stop_decoder.set()
        self._inbox.wake()
        if self._decoder is not None:
            self._decoder.join(max(0.0, deadline - time.monotonic()) + 1.0)
        self.pipeline.wait_idle(max(0.0, deadline - time.monotonic()))
        self._barrier(max(0.0, deadline - time.monotonic()) + 1.0)
        self._connected.clear()
        self._client.disconnect()
        self._client.loop_stop()
        self.pipeline.stats.set_gauge("mqtt_connected", False)
        self._started = False
        logger.info("MQTT ingest stopped")

    def _barrier(self, timeout_s: float) -> None:
        """Make sure the broker has processed every PUBACK sent so far, before disconnecting.

        Closing the socket while the broker still has data for us makes Linux answer with a reset, and
        Mosquitto then discards what it had not read yet, our last PUBACKs included: those messages would
        be delivered again. The broker handles a connection's packets in order, so once it acknowledges
        a QoS 1 publish sent after them, they have all been applied.
        """
        if not self._connected.is_set():
            return
        try:
            self._client.publish(BARRIER_TOPIC, b"", qos=1).wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as err:  # not connected any more: nothing more to flush
            logger.debug("no PUBACK barrier before disconnecting: %s", err)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def status(self) -> dict[str, Any]:
        """Connection and queue state, for the health endpoint."""
        return {
            "connected": self.connected,
            "broker": f"{self.host}:{self.port}",
            "client_id": self.client_id,
            "reconnects": self.reconnects,
            "inbox": len(self._inbox),
            "retrying": len(self._retry),
        }

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything received is committed and acknowledged (tests, benchmarks)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._idle():
                return True
            time.sleep(0.01)
        return False

    def _idle(self) -> bool:
        """Every message taken from the broker is settled: acknowledged, or left for re-delivery."""
        with self._count_lock:
            return self._settled >= self._taken

    def _account(self, messages: int) -> None:
        with self._count_lock:
            self._settled += messages

    def _take_slot(self) -> bool:
        """Wait for room among the pending groups; False when ingest stops meanwhile."""
        with self._pending_cond:
            while self._pending >= self._max_pending:
                if self._stop_decoder.is_set():
                    return False
                self._pending_cond.wait(POLL_S)
            self._pending += 1
            return True

    def _release_slot(self) -> None:
        with self._pending_cond:
            self._pending -= 1
            self._pending_cond.notify_all()

    # --- paho callbacks (network thread) ---------------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.error("MQTT broker %s:%d refused the connection: %s", self.host, self.port, reason_code)
            return
        with self._state_lock:
            self._generation += 1
            first = self._generation == 1
        client.subscribe(SUBSCRIPTION, self.qos)
        if first:
            logger.info(
                "MQTT ingest connected to %s:%d (session present: %s)",
                self.host,
                self.port,
                flags.session_present,
            )
        else:
            self.reconnects += 1
            outage = time.monotonic() - self._lost_at if self._lost_at is not None else 0.0
            logger.info("MQTT connection recovered after %.1f s", outage)
            if not flags.session_present:
                logger.warning(
                    "the broker had no session for %r: messages published while ingest was disconnected were"
                    " not kept by the broker (restarted without persistence, or session expired); senders"
                    " re-send what Cadence has not acknowledged",
                    self.client_id,
                )
        self._lost_at = None

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        if self._lost_at is None:
            self._lost_at = time.monotonic()
            logger.warning(
                "cannot connect to MQTT broker %s:%d; retrying in the background", self.host, self.port
            )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(code.is_failure for code in reason_codes):
            logger.error(
                "the broker refused the subscription to %s: %s (check its ACL)", SUBSCRIPTION, reason_codes
            )
            return
        self._connected.set()
        self.pipeline.stats.set_gauge("mqtt_connected", True)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        self.pipeline.stats.set_gauge("mqtt_connected", False)
        if was_connected and self._accepting:
            self._lost_at = time.monotonic()
            logger.warning(
                "MQTT connection to %s:%d lost (%s); reconnecting", self.host, self.port, reason_code
            )

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Runs on the network thread: only enqueue. Never raises (paho would log and carry on anyway).
        try:
            try:
                topic = message.topic
            except UnicodeDecodeError:
                topic = "<topic is not valid UTF-8>"  # the pipeline refuses it as a topic mismatch
            payload = message.payload if isinstance(message.payload, bytes) else bytes(message.payload)
            item = _Item(topic, payload, message.mid, message.qos, self._generation)
            if topic.startswith(_ACK_TOPIC_PREFIX):
                self._puback(item)  # our own acknowledgement coming back through cadence/v1/+/+
                return
            if not self._accepting:
                return  # stopping: left un-acked, the broker re-delivers it next session
            if self._inbox.full and not self._inbox_full:
                self._inbox_full = True
                logger.warning("ingest inbox full: holding the broker back until the store catches up")
            with self._count_lock:
                self._taken += 1  # before the decoder can see it, so that idle never misses it
            if not self._inbox.put(item, len(payload), lambda: self._accepting):
                self._account(1)  # stopping: left un-acked, the broker re-delivers it next session
            elif self._inbox_full and self._inbox.half_empty:
                self._inbox_full = False
                logger.info("ingest inbox below half full again")
        except Exception:
            logger.exception(
                "unexpected error taking an MQTT message; it stays un-acked and will be re-delivered"
            )

    # --- decoder thread --------------------------------------------------------------------------------

    def _decode_loop(self) -> None:
        while not self._stop_decoder.is_set():
            try:
                items = self._retry_due()
                room = self._group_max_messages - len(items)
                if room > 0:
                    items += self._inbox.drain(room, self._group_max_bytes, POLL_S if not items else 0.0)
                if items:
                    self._process(items)
            except Exception:  # never let the decoder die: log, and the items stay un-acked
                logger.exception("unexpected error in the MQTT decoder; continuing")
                time.sleep(POLL_S)

    def _process(self, items: list[_Item]) -> None:
        if not self._take_slot():
            self._account(len(items))  # stopping: left un-acked for the next session
            return
        handed_over = False
        try:
            prepared = self.pipeline.prepare(
                [Inbound(f"mqtt:{it.topic}", it.payload, it.topic) for it in items]
            )
            future = self._submit(prepared)
            if future is not None:
                future.add_done_callback(lambda f: self._on_group_done(items, f))
                handed_over = True
        finally:
            if not handed_over:
                self._account(len(items))
                self._release_slot()

    def _submit(self, prepared: Prepared) -> Future[list[MessageResult]] | None:
        """Submit, waiting while the store pushes back; None when ingest stops or the store is closed."""
        try:
            # The broker queues meanwhile: un-acked messages hold its in-flight window.
            return self.pipeline.submit_waiting(prepared, self._stop_decoder, "MQTT ingest")
        except StoreClosed:
            logger.error("the store is closed: MQTT messages stay un-acked until ingest runs again")
            self._stop_decoder.wait(1.0)
            return None

    # --- completion (pipeline thread) ------------------------------------------------------------------

    def _on_group_done(self, items: list[_Item], future: Future[list[MessageResult]]) -> None:
        retried = 0
        try:
            try:
                results = future.result()
            except Exception as err:
                logger.error("an MQTT group could not be settled (%s); its messages will be retried", err)
                results = [MessageResult(i, Status.FAILED) for i in range(len(items))]
            acks: dict[tuple[str, int], CommitAck] = {}
            failed: list[_Item] = []
            for item, result in zip(items, results, strict=True):
                if not result.settled:
                    failed.append(item)
                    continue
                self._puback(item)
                if result.key is not None and self._publish_acks:
                    ack = acks.get((result.key.source, result.key.epoch))
                    if ack is None:
                        ack = acks[(result.key.source, result.key.epoch)] = CommitAck(
                            result.key.source, result.key.epoch
                        )
                    if result.status is Status.REJECTED:
                        ack.rejected.append(RejectedSeq(result.key.seq, result.code or "ingest.invalid"))
                    else:
                        ack.seq.append(result.key.seq)
            for ack in acks.values():
                self._client.publish(ack_topic(ack.source), encode_ack(ack), qos=1)
            if acks:
                self.pipeline.stats.count_acks(len(acks))
            self._schedule_retry(failed)
            retried = len(failed)
        except Exception:
            logger.exception("unexpected error acknowledging an MQTT group")
        finally:
            self._account(len(items) - retried)
            self._release_slot()

    def _puback(self, item: _Item) -> None:
        if item.qos > 0 and item.generation == self._generation:
            self._client.ack(item.mid, item.qos)

    def _schedule_retry(self, failed: list[_Item]) -> None:
        if not failed:
            if self._failing:
                self._failing = False
                logger.info("the store commits MQTT messages again")
            return
        if not self._failing:
            self._failing = True
            logger.error(
                "the store failed to commit %d MQTT message(s); retrying every %.0f s",
                len(failed),
                RETRY_DELAY_S,
            )
        due = time.monotonic() + RETRY_DELAY_S
        with self._retry_lock:
            self._retry.extend((due, item) for item in failed)

    def _retry_due(self) -> list[_Item]:
        if not self._retry:
            return []
        now = time.monotonic()
        due: list[_Item] = []
        with self._retry_lock:
            while self._retry and self._retry[0][0] <= now and len(due) < self._group_max_messages:
                due.append(self._retry.popleft()[1])
        return due
