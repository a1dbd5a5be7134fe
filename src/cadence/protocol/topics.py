"""MQTT topic scheme, version 1: ``cadence/v1/<machine>/<kind>``.

``kind`` says what the message mainly carries (``samples``, ``strokes``, ``states``, or ``batch`` for a mix);
the payload is the same documented JSON document whatever the kind. Ingest subscribes to ``cadence/v1/+/+``
and checks that the topic's machine is the payload's. Acknowledgements after commit go to
``cadence/v1/_ack/<source>``.

>>> topic_for("P01", MessageKind.STROKES)
'cadence/v1/P01/strokes'
>>> parse_topic("cadence/v1/P01/strokes")
('P01', <MessageKind.STROKES: 'strokes'>)
"""

from __future__ import annotations

import enum
import re

TOPIC_PREFIX = "cadence/v1"
SUBSCRIPTION = f"{TOPIC_PREFIX}/+/+"
ACK_PREFIX = f"{TOPIC_PREFIX}/_ack"
# Machine ids and sources appear in topics and file names: keep them to a safe, readable alphabet.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class MessageKind(enum.StrEnum):
    SAMPLES = "samples"
    STROKES = "strokes"
    STATES = "states"
    BATCH = "batch"


def topic_for(machine: str, kind: MessageKind) -> str:
    """The topic a gateway publishes ``kind`` messages of ``machine`` on."""
    if not ID_PATTERN.match(machine):
        raise ValueError(f"machine id {machine!r} is not a valid topic level (letters, digits, . _ -)")
    return f"{TOPIC_PREFIX}/{machine}/{kind.value}"


def ack_topic(source: str) -> str:
    """Where ingest publishes the commit acknowledgements for ``source``."""
    return f"{ACK_PREFIX}/{source}"


def parse_topic(topic: str) -> tuple[str, MessageKind]:
    """``(machine, kind)`` of a version-1 topic; ``ValueError`` with the reason otherwise."""
    parts = topic.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != TOPIC_PREFIX:
        raise ValueError(f"topic {topic!r} is not of the form {TOPIC_PREFIX}/<machine>/<kind>")
    machine, kind = parts[2], parts[3]
    if not ID_PATTERN.match(machine):
        raise ValueError(f"topic {topic!r}: {machine!r} is not a valid machine id")
    try:
        return machine, MessageKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in MessageKind)
        raise ValueError(f"topic {topic!r}: kind {kind!r} is not one of {allowed}") from None
