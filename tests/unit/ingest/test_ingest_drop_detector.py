"""Turning Mosquitto's cumulative drop counter into alarms."""

from __future__ import annotations

from cadence.clock import SimClock
from cadence.domain import Severity
from cadence.ingest.broker_watch import ALARM_CODE, DropDetector


def test_growth_raises_a_critical_alarm_with_the_count_and_advice() -> None:
    clock = SimClock(start_us=0)
    detector = DropDetector(clock, min_interval_s=60)
    assert detector.observe(0) is None  # baseline
    assert detector.observe(0) is None
    clock.sleep(5)
    alarm = detector.observe(90)
    assert alarm is not None
    assert (alarm.code, alarm.severity, alarm.source, alarm.raised_us) == (
        ALARM_CODE,
        Severity.CRITICAL,
        "broker",
        5_000_000,
    )
    assert "dropped 90 message(s) since the previous reading (90 since it started)" in alarm.message_en
    assert "max_queued_messages" in alarm.message_en
    # French first: the stored message is the French one, the English one beside it
    assert "perdu 90 message(s) depuis la lecture précédente (90 depuis son démarrage)" in alarm.message
    assert "max_queued_messages" in alarm.message


def test_a_drop_storm_gives_one_alarm_per_interval_with_everything_counted() -> None:
    clock = SimClock(start_us=0)
    detector = DropDetector(clock, min_interval_s=60)
    detector.observe(0)
    assert detector.observe(10) is not None
    clock.sleep(1)
    assert detector.observe(25) is None  # 15 more, held back
    clock.sleep(1)
    assert detector.observe(25) is None  # nothing new
    clock.sleep(60)
    alarm = detector.observe(30)
    assert alarm is not None and "dropped 20 message(s)" in alarm.message_en


def test_drops_before_watching_are_reported_once() -> None:
    detector = DropDetector(SimClock(start_us=0))
    alarm = detector.observe(12)
    assert (
        alarm is not None
        and "dropped 12 message(s) since it started, before Cadence watched" in alarm.message_en
    )
    assert detector.observe(12) is None


def test_a_broker_restart_resets_the_counter_without_a_false_alarm() -> None:
    clock = SimClock(start_us=0)
    detector = DropDetector(clock, min_interval_s=0)
    detector.observe(0)
    assert detector.observe(50) is not None
    assert detector.observe(0) is None  # restarted: counter back to zero
    alarm = detector.observe(3)
    assert alarm is not None and "dropped 3 message(s)" in alarm.message_en
    assert detector.last == 3
