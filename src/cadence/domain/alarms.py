"""Alarms: something a person must look at, raised by Cadence itself or by a machine.

An alarm is a record with a life (ISA-18.2): it is *active* until its condition is cleared and
*unacknowledged* until someone has seen it. The two are independent, so an alarm is in one of four states;
an alarm that cleared by itself before anyone looked stays unacknowledged, so that nobody misses it.

>>> alarm = Alarm("broker.messages_dropped", Severity.CRITICAL, "Mosquitto dropped 12 messages",
...               raised_us=0, source="broker", id=7)
>>> alarm.severity > Severity.WARNING
True
>>> alarm.state
<AlarmState.ACTIVE_UNACKED: 'active_unacked'>
>>> seen = alarm.acknowledge("ana", ts_us=5_000_000)
>>> seen.acknowledge("bob", ts_us=9_000_000).acked_by  # the first acknowledgement is kept
'ana'
>>> seen.clear(ts_us=6_000_000).state
<AlarmState.CLEARED_ACKED: 'cleared_acked'>

The message is written in French, the plant's first language; alarms raised by Cadence also carry it in
English, and a page shows the one of its reader (an alarm with no English text shows the French one):

>>> health = Alarm("health.pump", Severity.WARNING, "Fuite interne de pompe suspectée", 0, "health",
...                message_en="Suspected pump internal leakage")
>>> health.text("en"), health.text("fr"), alarm.text("en")
('Suspected pump internal leakage', 'Fuite interne de pompe suspectée', 'Mosquitto dropped 12 messages')
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass


class Severity(enum.IntEnum):
    INFO = 10
    WARNING = 20
    CRITICAL = 30


class AlarmState(enum.StrEnum):
    """The four ISA-18.2 states an alarm record can be in."""

    ACTIVE_UNACKED = "active_unacked"
    ACTIVE_ACKED = "active_acked"
    CLEARED_UNACKED = "cleared_unacked"
    CLEARED_ACKED = "cleared_acked"


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm occurrence. ``code`` is stable (documented), ``message`` is for people.

    ``id`` is given by the store that recorded it (None before). ``acked_us`` and ``acked_by`` go together:
    an acknowledgement always says who and when.
    """

    code: str
    severity: Severity
    message: str
    raised_us: int
    source: str
    machine: str | None = None
    id: int | None = None
    acked_us: int | None = None
    acked_by: str | None = None
    cleared_us: int | None = None
    message_en: str | None = None  # the same message in English, when whoever raised it wrote one

    def __post_init__(self) -> None:
        if (self.acked_us is None) != (self.acked_by is None):
            raise ValueError("an acknowledgement needs both acked_us and acked_by")
        if self.acked_by is not None and not self.acked_by.strip():
            raise ValueError("acked_by must name who acknowledged the alarm")

    def text(self, lang: str) -> str:
        """The message in ``lang`` ("fr" or "en"), falling back to the French one."""
        if lang == "en" and self.message_en:
            return self.message_en
        return self.message

    @property
    def active(self) -> bool:
        """True until the alarm's condition has cleared."""
        return self.cleared_us is None

    @property
    def acknowledged(self) -> bool:
        return self.acked_us is not None

    @property
    def state(self) -> AlarmState:
        if self.active:
            return AlarmState.ACTIVE_ACKED if self.acknowledged else AlarmState.ACTIVE_UNACKED
        return AlarmState.CLEARED_ACKED if self.acknowledged else AlarmState.CLEARED_UNACKED

    def acknowledge(self, user: str, ts_us: int) -> Alarm:
        """This alarm acknowledged by ``user`` at ``ts_us``; unchanged if it already was.

        Idempotent on purpose: two operators pressing "acknowledge" on two tablets must not rewrite who
        saw it first.
        """
        if self.acknowledged:
            return self
        return dataclasses.replace(self, acked_us=ts_us, acked_by=user)

    def clear(self, ts_us: int) -> Alarm:
        """This alarm with its condition cleared at ``ts_us``; unchanged if it already was."""
        if not self.active:
            return self
        return dataclasses.replace(self, cleared_us=ts_us)
