"""Watch the broker's own counters and raise an alarm when Mosquitto drops messages.

Mosquitto drops messages silently once a client's queue is full (``max_queued_messages`` /
``max_queued_bytes``), while publishers still get their PUBACK (docs: peers.md). Its only trace is the
counter ``$SYS/broker/publish/messages/dropped``, published every ``sys_interval`` seconds (1 in the
shipped configuration). :class:`BrokerWatch` subscribes to it and records a CRITICAL alarm
``broker.messages_dropped`` in the store whenever it grows, saying how many were lost and what to do.

The counter is cumulative since the broker started: the first reading is a baseline (alarmed too when not
zero: those drops happened while nobody watched), a lower reading means the broker restarted.

>>> from cadence.clock import SimClock
>>> watch = DropDetector(SimClock(start_us=0))
>>> watch.observe(0) is None, watch.observe(0) is None
(True, True)
>>> alarm = watch.observe(12)
>>> alarm.message.split(".")[0]
'Mosquitto a perdu 12 message(s) depuis la lecture précédente (12 depuis son démarrage)'
>>> alarm.text("en").split(".")[0]
'Mosquitto dropped 12 message(s) since the previous reading (12 since it started)'
>>> watch.observe(15) is None  # within a minute of the last alarm: counted, reported with the next one
True
"""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from cadence.domain.alarms import Alarm, Severity
from cadence.ingest.stats import IngestStats
from cadence.mqttclient import new_client
from cadence.ports import Clock, TimeSeriesStore

logger = logging.getLogger(__name__)

ALARM_CODE = "broker.messages_dropped"
ALARM_SOURCE = "broker"
DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"
STORED_TOPIC = "$SYS/broker/store/messages/count"
CLIENTS_TOPIC = "$SYS/broker/clients/connected"
# Shortest time between two drop alarms, in seconds: a drop storm gives one alarm a minute with the count,
# not one per $SYS update.
ALARM_MIN_INTERVAL_S = 60.0
# Keepalive in seconds; the watch only reads a few bytes a second.
KEEPALIVE_S = 30

_ADVICE_FR = (
    "Des données publiées par les passerelles ont été perdues au broker avant que Cadence ne les enregistre."
    " Vérifiez que l'ingestion de Cadence tourne et suit le rythme (page santé : ingestion in_flight, retard"
    " du stockage), augmentez max_queued_messages / max_queued_bytes dans la configuration du broker"
    " (cadence/deploy/mosquitto.conf) si l'ingestion a été longtemps arrêtée, et assurez-vous que les"
    " émetteurs renvoient ce que Cadence n'a pas acquitté."
)
_ADVICE_EN = (
    "Data published by gateways was lost at the broker before Cadence could store it. Check that Cadence "
    "ingest is running and keeping up (health page: ingest in_flight, store backlog), raise "
    "max_queued_messages / max_queued_bytes in the broker configuration (cadence/deploy/mosquitto.conf) if "
    "ingest was down for long, and make sure senders re-send what Cadence has not acknowledged."
)


class DropDetector:
    """Turns successive readings of the cumulative drop counter into alarms (pure; no I/O).

    While drops go on, one alarm per ``min_interval_s`` carries everything dropped since the previous
    alarm: an operator needs to know that and how much, not one alarm per second of the same incident.
    """

    def __init__(self, clock: Clock, min_interval_s: float = ALARM_MIN_INTERVAL_S) -> None:
        self._clock = clock
        self._min_interval_us = round(min_interval_s * 1_000_000)
        self._last: int | None = None
        self._unreported = 0  # drops seen since the last alarm, held back by the minimum interval
        self._last_alarm_us: int | None = None

    @property
    def last(self) -> int | None:
        """The latest reading, None before the first."""
        return self._last

    def observe(self, total: int) -> Alarm | None:
        """The alarm to raise for this reading of the counter, if any."""
        previous, self._last = self._last, total
        if previous is None:
            if total == 0:
                return None
            return self._raise(
                total,
                f"Mosquitto a perdu {total} message(s) depuis son démarrage, avant que Cadence ne le"
                " surveille.",
                f"Mosquitto has dropped {total} message(s) since it started, before Cadence watched it.",
            )
        if total < previous:
            logger.info("broker drop counter went from %d to %d: the broker restarted", previous, total)
            previous = 0
        self._unreported += total - previous
        if not self._unreported:
            return None
        now_us = self._clock.now_us()
        if self._last_alarm_us is not None and now_us - self._last_alarm_us < self._min_interval_us:
            return None
        dropped = self._unreported
        return self._raise(
            dropped,
            f"Mosquitto a perdu {dropped} message(s) depuis la lecture précédente ({total} depuis son"
            " démarrage).",
            f"Mosquitto dropped {dropped} message(s) since the previous reading ({total} since it started).",
        )

    def _raise(self, dropped: int, what_fr: str, what_en: str) -> Alarm:
        now_us = self._clock.now_us()
        self._unreported = 0
        self._last_alarm_us = now_us
        logger.debug("broker drop alarm for %d message(s)", dropped)
        return Alarm(
            ALARM_CODE,
            Severity.CRITICAL,
            f"{what_fr} {_ADVICE_FR}",
            now_us,
            ALARM_SOURCE,
            message_en=f"{what_en} {_ADVICE_EN}",
        )


class BrokerWatch:
    """Subscribe to the broker's ``$SYS`` counters; alarm (store + stats) when it drops messages.

    Its gauges appear in ``stats.snapshot()``: ``broker_dropped``, ``broker_stored_messages``,
    ``broker_clients``.
    """

    def __init__(
        self,
        store: TimeSeriesStore,
        clock: Clock,
        stats: IngestStats,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        client_id: str = "cadence-broker-watch",
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.store = store
        self.stats = stats
        self.host, self.port = host, port
        self.detector = DropDetector(clock)
        self._lock = threading.Lock()
        self._alarms_raised = 0
        self._connected = threading.Event()
        self._first_reading = threading.Event()
        self._lost = False
        # A clean session: $SYS values are retained and re-sent on subscribe, nothing needs queueing.
        client = new_client(client_id, clean_session=True, username=username, password=password, tls=tls)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        self._client = client

    def start(self) -> None:
        """Connect in the background; returns at once."""
        self._client.connect_async(self.host, self.port, KEEPALIVE_S)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def wait_first_reading(self, timeout_s: float | None = None) -> bool:
        """Wait for the first value of the drop counter (the baseline); False on timeout."""
        return self._first_reading.wait(timeout_s)

    @property
    def alarms_raised(self) -> int:
        return self._alarms_raised

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.error("broker watch: %s:%d refused the connection: %s", self.host, self.port, reason_code)
            return
        client.subscribe([(DROPPED_TOPIC, 0), (STORED_TOPIC, 0), (CLIENTS_TOPIC, 0)])
        self._connected.set()
        if self._lost:
            self._lost = False
            logger.info("broker watch reconnected to %s:%d", self.host, self.port)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        if not self._lost:
            self._lost = True
            logger.warning(
                "broker watch cannot reach %s:%d; retrying in the background", self.host, self.port
            )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._connected.is_set() and reason_code != 0:
            self._lost = True
            logger.warning("broker watch lost %s:%d (%s); reconnecting", self.host, self.port, reason_code)
        self._connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            value = int(message.payload.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            logger.debug("broker watch: ignoring non-integer %s = %r", message.topic, message.payload[:40])
            return
        try:
            topic = message.topic
            if topic == STORED_TOPIC:
                self.stats.set_gauge("broker_stored_messages", value)
            elif topic == CLIENTS_TOPIC:
                self.stats.set_gauge("broker_clients", value)
            elif topic == DROPPED_TOPIC:
                self._on_dropped(value)
        except Exception:  # a store or stats failure must not kill the network thread
            logger.exception("broker watch: handling %s failed", message.topic)

    def _on_dropped(self, total: int) -> None:
        with self._lock:
            alarm = self.detector.observe(total)
        self.stats.set_gauge("broker_dropped", total)
        self._first_reading.set()
        if alarm is None:
            return
        logger.critical("%s", alarm.message)
        self.store.record_alarm(alarm)
        self.stats.count_alarm()
        with self._lock:
            self._alarms_raised += 1
