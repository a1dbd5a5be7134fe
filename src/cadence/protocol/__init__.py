"""Cadence's wire protocol, version 1: MQTT topics and the JSON payload shared by MQTT and HTTP ingest.

Documented for integrators in docs/protocol.md; the producer side (:func:`encode_batch`) is used by the
simulator and edge agents, the consumer side (:func:`decode_message`) by ingest.
"""

from cadence.protocol.codec import (
    PROTOCOL_VERSION,
    Limits,
    decode_message,
    encode_batch,
)
from cadence.protocol.topics import TOPIC_PREFIX, MessageKind, parse_topic, topic_for

__all__ = [
    "PROTOCOL_VERSION",
    "TOPIC_PREFIX",
    "Limits",
    "MessageKind",
    "decode_message",
    "encode_batch",
    "parse_topic",
    "topic_for",
]
