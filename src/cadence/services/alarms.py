"""Alarm use cases: what is active, the history, acknowledging by a person, clearing by the source.

The alarms page of the tablet, the JSON API and the CLI go through this service, so that they agree on
what "active" and "unacknowledged" mean and on whose clock an acknowledgement is stamped (the server's,
never the tablet's). It depends only on the store port and a clock.
"""

from __future__ import annotations

from typing import Any

from cadence.domain.alarms import Alarm
from cadence.errors import BadRequest
from cadence.ports import Clock, TimeSeriesStore
from cadence.services.plant_data import iso


class AlarmService:
    """Lists, acknowledges and clears the alarms held by the store."""

    def __init__(self, store: TimeSeriesStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def active(self, limit: int = 100, machine: str | None = None) -> list[Alarm]:
        """Alarms whose condition has not cleared, acknowledged or not, newest first."""
        return self._store.alarms(limit, active=True, machine=machine)

    def history(
        self,
        limit: int = 100,
        *,
        active: bool | None = None,
        unacknowledged: bool | None = None,
        machine: str | None = None,
    ) -> list[Alarm]:
        """Every alarm matching the filters (None: any), newest first."""
        return self._store.alarms(limit, active=active, unacknowledged=unacknowledged, machine=machine)

    def acknowledge(self, alarm_id: int, user: str) -> Alarm:
        """``user`` has seen the alarm now; a later acknowledgement keeps the first one's user and time."""
        if not user.strip():
            raise BadRequest("an acknowledgement must name the user who made it")
        return self._store.acknowledge_alarm(alarm_id, user, self._clock.now_us())

    def clear(self, alarm_id: int) -> Alarm:
        """The alarm's condition is gone as of now (for the component that raised it)."""
        return self._store.clear_alarm(alarm_id, self._clock.now_us())


def alarm_json(alarm: Alarm) -> dict[str, Any]:
    """One alarm as the JSON API returns it: instants as ISO 8601 text, with the raw µs beside them."""
    return {
        "id": alarm.id,
        "code": alarm.code,
        "severity": alarm.severity.name.lower(),
        "message": alarm.message,  # French, the plant's first language
        "message_en": alarm.message_en,  # null when whoever raised it wrote French only
        "raised": iso(alarm.raised_us),
        "raised_us": alarm.raised_us,
        "source": alarm.source,
        "machine": alarm.machine,
        "state": alarm.state.value,
        "active": alarm.active,
        "acknowledged": alarm.acknowledged,
        "acked": iso(alarm.acked_us),
        "acked_us": alarm.acked_us,
        "acked_by": alarm.acked_by,
        "cleared": iso(alarm.cleared_us),
        "cleared_us": alarm.cleared_us,
    }
