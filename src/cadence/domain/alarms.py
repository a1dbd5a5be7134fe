"""Alarms: something a person must look at, raised by Cadence itself or by a machine.

>>> alarm = Alarm("broker.messages_dropped", Severity.CRITICAL, "Mosquitto dropped 12 messages",
...               raised_us=0, source="broker")
>>> alarm.severity > Severity.WARNING
True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.IntEnum):
    INFO = 10
    WARNING = 20
    CRITICAL = 30


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm occurrence. ``code`` is stable (documented), ``message`` is for people."""

    code: str
    severity: Severity
    message: str
    raised_us: int
    source: str
    machine: str | None = None
