"""The work order use cases over a real SQLite store and a simulated clock (cadence.services.workorders):
opening from an alert (pre-filled, alert acknowledged by whoever opens), by hand, the steps with their
audit trail, and the refusals: unknown press or alert, closing without saying what was found, a second
order for the same alert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain import Alarm, Severity
from cadence.domain.workorders import WorkOrderEventKind, WorkOrderStatus
from cadence.errors import InvalidInput, NotFound, WorkOrderConflict
from cadence.runtime import Runtime, open_runtime
from cadence.services.workorders import WorkOrderService, work_order_json

T0 = 1_764_403_200_000_000  # 2025-11-29T08:00:00Z
MINUTE_US = 60_000_000


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = open_runtime(load_settings(data_dir=tmp_path), clock=SimClock(start_us=T0))
    yield rt
    rt.close()


@pytest.fixture
def service(runtime: Runtime) -> WorkOrderService:
    return WorkOrderService(runtime.plant, runtime.store, runtime.clock)


def _alarm(
    runtime: Runtime, code: str, machine: str | None = "P02", severity: Severity = Severity.CRITICAL
) -> int:
    message = "Pompe P02 : débit de fuite interne en hausse depuis 3 jours"
    return runtime.store.record_alarm(Alarm(code, severity, message, T0 - 30 * MINUTE_US, "health", machine))


def _advance(runtime: Runtime, minutes: int) -> int:
    clock = runtime.clock
    assert isinstance(clock, SimClock)
    clock.advance_to(clock.now_us() + minutes * MINUTE_US)
    return clock.now_us()


def test_an_order_from_a_health_alert_is_prefilled_and_acknowledges_it(
    runtime: Runtime, service: WorkOrderService
) -> None:
    alarm_id = _alarm(runtime, "health.pump")
    order = service.create_from_alarm(alarm_id, by="chef.equipe")
    assert (order.machine, order.subsystem, order.priority, order.alarm_id) == (
        "P02",
        "pump",
        "high",
        alarm_id,
    )
    assert order.description == "Pompe P02 : débit de fuite interne en hausse depuis 3 jours"
    assert order.title == order.description  # a one-line message is its own title
    assert order.episode_start_us == T0 - 30 * MINUTE_US  # the episode starts when the alert was raised
    assert (order.created_by, order.created_us, order.status) == ("chef.equipe", T0, WorkOrderStatus.OPEN)
    alarm = runtime.store.alarm(alarm_id)
    assert alarm is not None and (alarm.acked_by, alarm.acked_us) == ("chef.equipe", T0)
    [created] = service.events(order.id)
    assert created.kind is WorkOrderEventKind.CREATED and created.detail("alarm") == str(alarm_id)


def test_what_is_given_wins_over_the_alert(runtime: Runtime, service: WorkOrderService) -> None:
    spc = _alarm(runtime, "spc.we1", severity=Severity.WARNING)
    assert service.draft_from_alarm(spc)["subsystem"] == "other"
    assert service.draft_from_alarm(spc)["priority"] == "normal"
    order = service.create_from_alarm(
        spc, by="marc", subsystem="tooling", priority="urgent", title="Usure outil ?", assignee="marc"
    )
    assert (order.subsystem, order.priority, order.title) == ("tooling", "urgent", "Usure outil ?")
    assert (order.status, order.assignee) == (WorkOrderStatus.ASSIGNED, "marc")


def test_one_open_order_per_alert(runtime: Runtime, service: WorkOrderService) -> None:
    alarm_id = _alarm(runtime, "health.cooler")
    first = service.create_from_alarm(alarm_id, by="marc")
    with pytest.raises(WorkOrderConflict) as refused:
        service.create_from_alarm(alarm_id, by="paul")
    assert refused.value.context["order_id"] == first.id
    service.cancel(first.id, by="marc", reason="ouvert trop tôt")
    again = service.create_from_alarm(alarm_id, by="paul")  # the first one ended: a new one may be opened
    assert again.id != first.id
    assert [o.id for o in service.find(alarm_id=alarm_id)] == [again.id, first.id]


def test_unknown_press_or_alert_are_refused_and_nothing_is_written(
    runtime: Runtime, service: WorkOrderService
) -> None:
    with pytest.raises(NotFound, match="no alarm with id 999"):
        service.create_from_alarm(999, by="marc")
    with pytest.raises(NotFound, match="no machine 'P99'"):
        service.create("P99", "Fuite", by="marc")
    broker = _alarm(runtime, "broker.messages_dropped", machine=None)
    with pytest.raises(InvalidInput, match="concerns no press"):
        service.create_from_alarm(broker, by="marc")
    with pytest.raises(NotFound):
        service.find(machine="P99")
    assert service.find() == []
    assert runtime.store.alarm(broker).acked_by is None  # type: ignore[union-attr]
    assert service.create_from_alarm(broker, by="marc", machine="P01").machine == "P01"


def test_the_steps_leave_an_audit_trail(runtime: Runtime, service: WorkOrderService) -> None:
    order = service.create(
        "P03", "Bruit au niveau de l'accumulateur", by="chef.equipe", subsystem="accumulator"
    )
    assert order.episode_start_us == T0  # by hand: the episode starts when the order is opened
    t1 = _advance(runtime, 5)
    service.assign(order.id, "marc", by="chef.equipe", due_us=T0 + 120 * MINUTE_US)
    t2 = _advance(runtime, 30)
    service.start(order.id, by="marc")
    t3 = _advance(runtime, 60)
    closed = service.close(
        order.id,
        by="marc",
        work_done="Vessie de l'accumulateur remplacée, précharge refaite à 90 bar",
        fault_mode="other",
        parts_replaced=["vessie accumulateur 4 L", ""],
    )
    assert (closed.closed_by, closed.closed_us, closed.episode_end_us) == ("marc", t3, t3)
    assert closed.rebaseline and closed.parts_replaced == ("vessie accumulateur 4 L",)
    trail = service.events(order.id)
    assert [(e.kind.value, e.by, e.at_us) for e in trail] == [
        ("created", "chef.equipe", T0),
        ("assigned", "chef.equipe", t1),
        ("started", "marc", t2),
        ("closed", "marc", t3),
    ]
    assert trail[1].detail("assignee") == "marc" and trail[1].detail("due") == "2025-11-29T10:00:00+00:00"
    assert trail[3].detail("fault_mode") == "other" and trail[3].detail("rebaseline") == "yes"
    with pytest.raises(WorkOrderConflict):
        service.cancel(order.id, by="marc", reason="trop tard")
    assert len(service.events(order.id)) == 4
    # What the health engine reads: the closed orders since a time, with their label.
    [found] = service.find(status=WorkOrderStatus.CLOSED, closed_since_us=t3)
    assert work_order_json(found)["fault_mode"] == "other" and work_order_json(found)["rebaseline"] is True


def test_closing_requires_saying_what_was_found(runtime: Runtime, service: WorkOrderService) -> None:
    order = service.create("P01", "Fuite", by="marc", subsystem="pump")
    for missing in (None, " "):
        with pytest.raises(InvalidInput, match="fault mode") as refused:
            service.close(order.id, by="marc", work_done="Serrage raccord", fault_mode=missing)
        assert refused.value.context["field"] == "fault_mode"
    assert service.get(order.id).status is WorkOrderStatus.OPEN
    assert len(service.events(order.id)) == 1
    # "none" is an answer: nothing was wrong, a false alarm; nothing to relearn.
    false_alarm = service.close(order.id, by="marc", work_done="Rien d'anormal", fault_mode="none")
    assert false_alarm.fault_mode == "none" and not false_alarm.rebaseline
    with pytest.raises(NotFound):
        service.get(order.id + 1)
