"""Work order use cases: open one by hand or from an alert, assign, start, close, cancel; list and read.

The tablet pages, the JSON API and the health engine go through this service or the store port it wraps,
so that they agree on the steps allowed and on whose clock a step is stamped (the server's). Every step is
written with its audit event in one transaction, and a change only lands if the order's status is still
the one the person saw (two tablets closing the same order: the second is told it changed meanwhile).

Opening from an alert pre-fills the press, the subsystem (``health.<subsystem>`` names it, ``spc.…`` is a
process drift: "other"), the description (the alert's message), the priority (from its severity) and the
episode start (the alert's raise time), and acknowledges the alert in the name of the person opening the
order: they have seen it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cadence.domain.alarms import Alarm, Severity
from cadence.domain.plant import Plant
from cadence.domain.workorders import (
    MAX_TITLE_CHARS,
    PRIORITIES,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderEventKind,
    WorkOrderStatus,
    subsystem_of_alarm,
)
from cadence.errors import InvalidInput, NotFound, WorkOrderConflict
from cadence.ports import Clock, TimeSeriesStore
from cadence.services.plant_data import iso

# The priority an order opened from an alert starts with (the person may change it).
PRIORITY_OF_SEVERITY = {Severity.INFO: "low", Severity.WARNING: "normal", Severity.CRITICAL: "high"}


class WorkOrderService:
    """Opens and moves the work orders held by the store, each step with its audit event."""

    def __init__(self, plant: Plant, store: TimeSeriesStore, clock: Clock) -> None:
        self._plant = plant
        self._store = store
        self._clock = clock

    # --- reading ----------------------------------------------------------------------------------------

    def get(self, order_id: int) -> WorkOrder:
        """The work order, or :class:`NotFound`."""
        order = self._store.work_order(order_id)
        if order is None:
            raise NotFound(f"no work order with id {order_id}", order_id=order_id)
        return order

    def events(self, order_id: int) -> list[WorkOrderEvent]:
        """The audit trail of the order, oldest first (:class:`NotFound` for an unknown order)."""
        self.get(order_id)
        return self._store.work_order_events(order_id)

    def find(
        self,
        *,
        machine: str | None = None,
        status: WorkOrderStatus | None = None,
        open_only: bool = False,
        subsystem: str | None = None,
        alarm_id: int | None = None,
        closed_since_us: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[WorkOrder]:
        """Work orders newest first (see :meth:`TimeSeriesStore.work_orders`); an unknown press is refused."""
        if machine is not None:
            self._machine(machine)
        return self._store.work_orders(
            machine=machine,
            status=status,
            open_only=open_only,
            subsystem=subsystem,
            alarm_id=alarm_id,
            closed_since_us=closed_since_us,
            limit=limit,
            offset=offset,
        )

    def alarm(self, alarm_id: int) -> Alarm:
        """The alert an order would be opened from, or :class:`NotFound`."""
        alarm = self._store.alarm(alarm_id)
        if alarm is None:
            raise NotFound(f"no alarm with id {alarm_id}", alarm_id=alarm_id)
        return alarm

    def draft_from_alarm(self, alarm_id: int, lang: str = "fr") -> dict[str, Any]:
        """What a new order opened from this alert is pre-filled with (the form shows it, changeable), in
        the language of whoever opens it."""
        alarm = self.alarm(alarm_id)
        return {
            "machine": alarm.machine,
            "title": _title_of(alarm.text(lang)),
            "description": alarm.text(lang),
            "subsystem": subsystem_of_alarm(alarm.code),
            "priority": PRIORITY_OF_SEVERITY.get(alarm.severity, "normal"),
            "episode_start_us": alarm.raised_us,
            "alarm": alarm,
        }

    # --- steps --------------------------------------------------------------------------------------------

    def create(
        self,
        machine: str,
        title: str,
        *,
        by: str,
        description: str = "",
        subsystem: str | None = None,
        priority: str = "normal",
        assignee: str | None = None,
        due_us: int | None = None,
    ) -> WorkOrder:
        """Open a work order by hand; with ``assignee``, it is given to them at once."""
        self._machine(machine)
        now = self._clock.now_us()
        order = WorkOrder(
            id=0,
            machine=machine,
            title=title.strip(),
            description=description.strip(),
            subsystem=subsystem,
            priority=priority,
            created_by=by.strip(),
            created_us=now,
            due_us=due_us,
            episode_start_us=now,
        )
        return self._record(order, assignee)

    def create_from_alarm(
        self,
        alarm_id: int,
        *,
        by: str,
        machine: str | None = None,
        title: str | None = None,
        description: str | None = None,
        subsystem: str | None = None,
        priority: str | None = None,
        assignee: str | None = None,
        due_us: int | None = None,
    ) -> WorkOrder:
        """Open a work order from an alert (what is not given comes from the alert, see the module) and
        acknowledge the alert as ``by``. An alert that already has an open order is refused
        (:class:`WorkOrderConflict` naming it), so two tablets do not open two orders for one alert."""
        draft = self.draft_from_alarm(alarm_id)
        chosen = machine or draft["machine"]
        if chosen is None:
            raise InvalidInput(f"alarm {alarm_id} concerns no press: say which press the order is for")
        self._machine(chosen)
        already = self._store.work_orders(alarm_id=alarm_id, open_only=True, limit=1)
        if already:
            raise WorkOrderConflict(
                f"alarm {alarm_id} already has an open work order: {already[0].id}",
                order_id=already[0].id,
                alarm_id=alarm_id,
            )
        now = self._clock.now_us()
        order = WorkOrder(
            id=0,
            machine=chosen,
            title=(title or draft["title"]).strip(),
            description=(draft["description"] if description is None else description).strip(),
            subsystem=subsystem if subsystem is not None else draft["subsystem"],
            priority=priority or draft["priority"],
            alarm_id=alarm_id,
            created_by=by.strip(),
            created_us=now,
            due_us=due_us,
            episode_start_us=min(draft["episode_start_us"], now),
        )
        created = self._record(order, assignee)
        self._store.acknowledge_alarm(alarm_id, by.strip(), now)
        return created

    def assign(self, order_id: int, assignee: str, *, by: str, due_us: int | None = None) -> WorkOrder:
        """Give the order to ``assignee`` (again, to someone else, until it ends)."""
        order = self.get(order_id)
        changed = order.assign(assignee, due_us=due_us)
        details = [("assignee", changed.assignee or "")]
        if due_us is not None:
            details.append(("due", iso(due_us) or ""))
        return self._update(order, changed, WorkOrderEventKind.ASSIGNED, by, details)

    def start(self, order_id: int, *, by: str) -> WorkOrder:
        """Work begins on the order (given to ``by`` when it was nobody's)."""
        order = self.get(order_id)
        changed = order.start(by)
        return self._update(
            order, changed, WorkOrderEventKind.STARTED, by, [("assignee", changed.assignee or "")]
        )

    def close(
        self,
        order_id: int,
        *,
        by: str,
        work_done: str,
        fault_mode: str | None,
        parts_replaced: Iterable[str] = (),
        subsystem: str | None = None,
        rebaseline: bool | None = None,
        episode_start_us: int | None = None,
        episode_end_us: int | None = None,
    ) -> WorkOrder:
        """Close the order with what was done and found (:meth:`WorkOrder.close`); ``fault_mode`` is
        required ("none" when nothing was wrong)."""
        if fault_mode is None or not fault_mode.strip():
            raise InvalidInput(
                "say what was found (the fault mode) to close a work order", field="fault_mode"
            )
        order = self.get(order_id)
        changed = order.close(
            by=by,
            at_us=self._clock.now_us(),
            work_done=work_done,
            fault_mode=fault_mode,
            parts_replaced=parts_replaced,
            subsystem=subsystem,
            rebaseline=rebaseline,
            episode_start_us=episode_start_us,
            episode_end_us=episode_end_us,
        )
        details = [
            ("fault_mode", changed.fault_mode or ""),
            ("subsystem", changed.subsystem or ""),
            ("parts_replaced", ", ".join(changed.parts_replaced)),
            ("rebaseline", "yes" if changed.rebaseline else "no"),
            ("episode_start", iso(changed.episode_start_us) or ""),
            ("episode_end", iso(changed.episode_end_us) or ""),
            ("work_done", changed.work_done or ""),
        ]
        return self._update(order, changed, WorkOrderEventKind.CLOSED, by, details)

    def cancel(self, order_id: int, *, by: str, reason: str) -> WorkOrder:
        """Abandon the order (kept, with who, when and why)."""
        order = self.get(order_id)
        changed = order.cancel(by=by, at_us=self._clock.now_us(), reason=reason)
        return self._update(
            order, changed, WorkOrderEventKind.CANCELLED, by, [("reason", changed.work_done or "")]
        )

    # --- helpers ------------------------------------------------------------------------------------------

    def _machine(self, machine_id: str) -> None:
        if not self._plant.has_machine(machine_id):
            known = ", ".join(m.id for m in self._plant.machines)
            raise NotFound(f"no machine {machine_id!r}; known machines: {known}", machine=machine_id)

    def _record(self, order: WorkOrder, assignee: str | None) -> WorkOrder:
        if order.priority not in PRIORITIES:  # checked by WorkOrder too; named here for the API's message
            raise InvalidInput(f"unknown priority {order.priority!r}", field="priority")
        details = [("title", order.title), ("priority", order.priority)]
        if order.alarm_id is not None:
            details.append(("alarm", str(order.alarm_id)))
        if order.subsystem is not None:
            details.append(("subsystem", order.subsystem))
        if assignee is not None and assignee.strip():
            order = order.assign(assignee)
            details.append(("assignee", order.assignee or ""))
        event = WorkOrderEvent(
            kind=WorkOrderEventKind.CREATED,
            by=order.created_by,
            at_us=order.created_us,
            details=tuple(details),
        )
        order_id = self._store.record_work_order(order, event)
        return self.get(order_id)

    def _update(
        self,
        before: WorkOrder,
        after: WorkOrder,
        kind: WorkOrderEventKind,
        by: str,
        details: list[tuple[str, str]],
    ) -> WorkOrder:
        event = WorkOrderEvent(kind=kind, by=by.strip(), at_us=self._clock.now_us(), details=tuple(details))
        self._store.update_work_order(after, event, expected_status=before.status)
        return self.get(before.id)


def _title_of(message: str) -> str:
    """An alert's message as an order's title: its first line, cut at a word to fit."""
    line = message.strip().splitlines()[0] if message.strip() else "?"
    if len(line) <= MAX_TITLE_CHARS:
        return line
    return line[: MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def work_order_json(order: WorkOrder) -> dict[str, Any]:
    """One work order as the JSON API returns it: instants as ISO 8601 text, with the raw µs beside them."""
    return {
        "id": order.id,
        "machine": order.machine,
        "title": order.title,
        "description": order.description,
        "subsystem": order.subsystem,
        "priority": order.priority,
        "status": order.status.value,
        "open": order.is_open,
        "alarm_id": order.alarm_id,
        "created_by": order.created_by,
        "created": iso(order.created_us),
        "created_us": order.created_us,
        "assignee": order.assignee,
        "due": iso(order.due_us),
        "due_us": order.due_us,
        "closed_by": order.closed_by,
        "closed": iso(order.closed_us),
        "closed_us": order.closed_us,
        "work_done": order.work_done,
        "parts_replaced": list(order.parts_replaced),
        "fault_mode": order.fault_mode,
        "episode_start": iso(order.episode_start_us),
        "episode_start_us": order.episode_start_us,
        "episode_end": iso(order.episode_end_us),
        "episode_end_us": order.episode_end_us,
        "rebaseline": order.rebaseline,
    }


def work_order_event_json(event: WorkOrderEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "order_id": event.order_id,
        "kind": event.kind.value,
        "by": event.by,
        "at": iso(event.at_us),
        "at_us": event.at_us,
        "details": dict(event.details),
    }
