"""Where a simulated gateway sends its encoded messages: an MQTT broker, or a function in process.

Both implement :class:`cadence.ports.Publisher`. :class:`CallbackPublisher` hands the very bytes that
would go over MQTT to a function (the zero-service demo feeds ingest this way).

>>> seen = []
>>> publisher = CallbackPublisher(lambda topic, payload: seen.append((topic, len(payload))))
>>> publisher.publish("cadence/v1/P01/states", b"{}")
>>> publisher.close()
>>> seen, publisher.published
([('cadence/v1/P01/states', 2)], 1)

:class:`MqttPublisher` speaks MQTT 3.1.1 through paho-mqtt 2: it connects in the background and keeps
reconnecting with exponential back-off, keeps at most ``max_pending`` messages unacknowledged (``publish``
blocks beyond that: back-pressure instead of unbounded memory), and :meth:`MqttPublisher.flush` waits
until the broker has acknowledged everything published so far.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from cadence.errors import BrokerUnavailable
from cadence.mqttclient import new_client

logger = logging.getLogger(__name__)

KEEPALIVE_S = 30
DEFAULT_MAX_PENDING = 1_000  # ≈ 1 min of a 6-press plant at ×60: enough to ride out a broker restart


class CallbackPublisher:
    """Delivers each message to ``fn(topic, payload)`` synchronously, in the caller's thread."""

    def __init__(self, fn: Callable[[str, bytes], None]) -> None:
        self._fn = fn
        self._closed = False
        self.published = 0

    def publish(self, topic: str, payload: bytes) -> None:
        if self._closed:
            raise RuntimeError("publisher is closed")
        self._fn(topic, payload)
        self.published += 1

    def flush(self, timeout: float | None = None) -> bool:
        """Nothing is ever pending: delivery is synchronous."""
        return True

    def close(self) -> None:
        self._closed = True


class MqttPublisher:
    """Publishes to an MQTT broker (MQTT 3.1.1, QoS ``qos``) with bounded in-flight messages.

    The constructor waits up to ``connect_timeout_s`` for the first connection (paho keeps retrying with
    back-off in its network thread) and raises :class:`~cadence.errors.BrokerUnavailable` if the broker
    stays unreachable.
    Later disconnections are retried in the background; QoS 1-2 messages published meanwhile wait in
    paho's bounded queue and are sent on reconnection.
    """

    def __init__(  # noqa: PLR0917 - the documented positional form (host, port, client_id, qos, user, pw)
        self,
        host: str,
        port: int,
        client_id: str,
        qos: int = 1,
        username: str | None = None,
        password: str | None = None,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_inflight: int = 100,
        connect_timeout_s: float = 10.0,
        publish_timeout_s: float = 30.0,
    ) -> None:
        if qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {qos}")
        if max_pending < 1 or max_inflight < 1:
            raise ValueError("max_pending and max_inflight must be >= 1")
        self.host, self.port, self.qos = host, port, qos
        self._max_pending = max_pending
        self._publish_timeout_s = publish_timeout_s
        self._cond = threading.Condition()
        self._pending: set[int] = set()  # mids published and not yet acknowledged
        self._acked_early: set[int] = set()  # acknowledgements that beat publish() to the bookkeeping
        self._connected = False
        self._closed = False
        self.published = 0
        self.acknowledged = 0
        self.failures = 0

        client = new_client(
            client_id, clean_session=True, username=username, password=password, suppress_exceptions=False
        )
        client.max_queued_messages_set(max_pending)
        client.max_inflight_messages_set(max_inflight)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self._client = client
        client.connect_async(host, port, keepalive=KEEPALIVE_S)
        client.loop_start()
        if not self.wait_connected(connect_timeout_s):
            client.loop_stop()
            raise BrokerUnavailable(f"MQTT broker {host}:{port} unreachable after {connect_timeout_s:g} s")

    # --- paho callbacks (network thread) -------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            logger.warning("MQTT broker %s:%d refused the connection: %s", self.host, self.port, reason_code)
            return
        with self._cond:
            self._connected = True
            self._cond.notify_all()
        logger.info("connected to MQTT broker %s:%d", self.host, self.port)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        with self._cond:
            was = self._connected
            self._connected = False
        if was and not self._closed:
            logger.warning(
                "disconnected from MQTT broker %s:%d (%s); reconnecting", self.host, self.port, reason_code
            )

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any
    ) -> None:
        with self._cond:
            if mid in self._pending:
                self._pending.discard(mid)
            else:
                self._acked_early.add(mid)
            self.acknowledged += 1
            self._cond.notify_all()

    # --- Publisher ---------------------------------------------------------------------------------------

    def wait_connected(self, timeout: float) -> bool:
        """Wait until connected to the broker; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._connected, timeout)

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def pending(self) -> int:
        """Messages published and not yet acknowledged by the broker."""
        with self._cond:
            return len(self._pending)

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue one message; blocks while ``max_pending`` messages await acknowledgement.

        Raises :class:`~cadence.errors.BrokerUnavailable` when the broker acknowledges nothing for
        ``publish_timeout_s``.
        """
        if self._closed:
            raise RuntimeError("publisher is closed")
        deadline = time.monotonic() + self._publish_timeout_s
        while True:
            with self._cond:
                room = self._cond.wait_for(
                    lambda: len(self._pending) < self._max_pending, max(deadline - time.monotonic(), 0.0)
                )
            if not room:
                self.failures += 1
                raise BrokerUnavailable(
                    f"MQTT broker {self.host}:{self.port}: {self._max_pending} messages unacknowledged"
                )
            # Never hold our lock while calling paho: its network thread takes paho's locks, then ours.
            info = self._client.publish(topic, payload, qos=self.qos)
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                time.sleep(0.01)  # paho's own queue is full (QoS 0 cannot be): wait for acknowledgements
                continue
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                self.failures += 1
                raise BrokerUnavailable(f"MQTT publish to {topic} failed: {mqtt.error_string(info.rc)}")
            break
        self.published += 1
        if self.qos == 0 and info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            self.failures += 1  # QoS 0 is not queued while disconnected: the message is lost
            return
        with self._cond:
            if info.mid in self._acked_early:
                self._acked_early.discard(info.mid)
            else:
                self._pending.add(info.mid)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every published message is acknowledged by the broker; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Flush for up to ``timeout`` seconds, then disconnect and stop the network thread."""
        if self._closed:
            return
        if not self.flush(timeout):
            logger.warning("closing with %d message(s) not acknowledged by the broker", self.pending)
        self._closed = True
        self._client.disconnect()
        self._client.loop_stop()
