"""The alarm record's life: active/cleared × unacknowledged/acknowledged, and what it refuses."""

from __future__ import annotations

import pytest

from cadence.domain import Alarm, AlarmState, Severity

RAISED = Alarm("machine.oil_hot", Severity.WARNING, "oil at 68 °C", raised_us=100, source="analytics", id=1)


def test_a_new_alarm_is_active_and_unacknowledged() -> None:
    assert (RAISED.active, RAISED.acknowledged, RAISED.state) == (True, False, AlarmState.ACTIVE_UNACKED)


@pytest.mark.parametrize(
    ("ack", "clear", "expected"),
    [
        (False, False, AlarmState.ACTIVE_UNACKED),
        (True, False, AlarmState.ACTIVE_ACKED),
        (False, True, AlarmState.CLEARED_UNACKED),
        (True, True, AlarmState.CLEARED_ACKED),
    ],
)
def test_acknowledging_and_clearing_are_independent(ack: bool, clear: bool, expected: AlarmState) -> None:
    alarm = RAISED
    if clear:
        alarm = alarm.clear(200)
    if ack:
        alarm = alarm.acknowledge("ana", 300)
    assert alarm.state is expected
    assert alarm.acked_us == (300 if ack else None)
    assert alarm.cleared_us == (200 if clear else None)


def test_the_first_acknowledgement_and_clearing_are_kept() -> None:
    done = RAISED.acknowledge("ana", 200).clear(300)
    assert done.acknowledge("bob", 400).clear(500) == done
    assert (done.acked_by, done.acked_us, done.cleared_us) == ("ana", 200, 300)


@pytest.mark.parametrize(("acked_us", "acked_by"), [(5, None), (None, "ana"), (5, " ")])
def test_an_acknowledgement_says_who_and_when(acked_us: int | None, acked_by: str | None) -> None:
    with pytest.raises(ValueError, match="acked"):
        Alarm("x", Severity.INFO, "x", 0, "test", acked_us=acked_us, acked_by=acked_by)
