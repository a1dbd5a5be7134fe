"""Maintenance work orders: the maintenance loop of failure anticipation.

A work order is opened by hand or from an alert, assigned to a technician, started, and closed with what
was done, which parts were replaced and what was actually found (``fault_mode``, required at closing;
``"none"`` says nothing was wrong: a false alarm, which the models learn from too). Closing labels the
*episode* ``[episode_start_us, episode_end_us]`` (by default from the alert's raise time, or the order's
creation, to the closing) with that fault mode, and ``rebaseline`` tells the health engine to learn the
repaired subsystem's normal behaviour again from the strokes after ``closed_us``.

Orders are values: each step returns a new order and the store keeps every step as a
:class:`WorkOrderEvent` (who, when, what, details), the audit trail. Closed and cancelled are final.

>>> order = WorkOrder(id=7, machine="P01", title="Fuite pompe", created_by="lea", created_us=100,
...                   subsystem="pump", episode_start_us=40)
>>> order.status
<WorkOrderStatus.OPEN: 'open'>
>>> started = order.assign("marc").start("marc")
>>> started.status, started.assignee
(<WorkOrderStatus.IN_PROGRESS: 'in_progress'>, 'marc')
>>> done = started.close(by="marc", at_us=900, work_done="Joint de pompe changé", fault_mode="pump_leak",
...                      parts_replaced=["joint torique 40x3"])
>>> done.status, done.episode_start_us, done.episode_end_us, done.rebaseline
(<WorkOrderStatus.CLOSED: 'closed'>, 40, 900, True)
>>> done.cancel(by="marc", at_us=950, reason="doublon")
Traceback (most recent call last):
...
cadence.errors.WorkOrderConflict: work order 7 is closed: it cannot be cancelled
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cadence.errors import InvalidInput, WorkOrderConflict

# What failed, at the level a press's health is followed (cadence.analytics.health reads the same names).
SUBSYSTEMS: tuple[str, ...] = (
    "pump",
    "valves_seals",
    "cooler",
    "accumulator",
    "tooling",
    "electrical",
    "other",
)
# What was actually found at closing; "none" = nothing wrong (a false alarm), a label of its own.
FAULT_MODES: tuple[str, ...] = (
    "pump_leak",
    "seal_wear",
    "cooler_fouling",
    "valve_lag",
    "die_wear",
    "other",
    "none",
)
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")

MAX_TITLE_CHARS = 200
# A description, what was done, why it was cancelled: a paragraph or two, readable on a tablet.
MAX_TEXT_CHARS = 4000
MAX_PART_CHARS = 200
MAX_PARTS = 50
MAX_NAME_CHARS = 100


class WorkOrderStatus(enum.StrEnum):
    """Where a work order stands. Closed and cancelled are final."""

    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """True for closed and cancelled: nothing may change such an order any more."""
        return self in (WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELLED)


# The steps allowed from each status. Assigning again (to someone else) keeps an order in progress in
# progress; a technician may close an order without "starting" it (a quick fix, a false alarm seen at once).
TRANSITIONS: Mapping[WorkOrderStatus, frozenset[WorkOrderStatus]] = {
    WorkOrderStatus.OPEN: frozenset(
        {
            WorkOrderStatus.ASSIGNED,
            WorkOrderStatus.IN_PROGRESS,
            WorkOrderStatus.CLOSED,
            WorkOrderStatus.CANCELLED,
        }
    ),
    WorkOrderStatus.ASSIGNED: frozenset(
        {
            WorkOrderStatus.ASSIGNED,
            WorkOrderStatus.IN_PROGRESS,
            WorkOrderStatus.CLOSED,
            WorkOrderStatus.CANCELLED,
        }
    ),
    WorkOrderStatus.IN_PROGRESS: frozenset(
        {WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELLED}
    ),
    WorkOrderStatus.CLOSED: frozenset(),
    WorkOrderStatus.CANCELLED: frozenset(),
}


class WorkOrderEventKind(enum.StrEnum):
    """What a step of the audit trail did."""

    CREATED = "created"
    ASSIGNED = "assigned"
    STARTED = "started"
    CLOSED = "closed"
    CANCELLED = "cancelled"


def _text(name: str, value: str | None, *, required: bool, limit: int) -> None:
    if value is None or not value.strip():
        if required:
            raise InvalidInput(f"{name} is required", field=name)
        return
    if len(value) > limit:
        raise InvalidInput(f"{name} is {len(value)} characters long; at most {limit} are allowed", field=name)


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise InvalidInput(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}", field=name)


def clean_parts(parts: Iterable[str]) -> tuple[str, ...]:
    """Replaced parts as typed (one per line, or a list): trimmed, blanks dropped, in order.

    >>> clean_parts(["  joint 40x3 ", "", "filtre HP"])
    ('joint 40x3', 'filtre HP')
    """
    return tuple(p.strip() for p in parts if p.strip())


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrder:
    """One maintenance work order. ``id`` is given by the store (0 before it is recorded).

    ``closed_by``/``closed_us`` say who ended the order and when, closed or cancelled; ``work_done`` is what
    was done (for a cancelled order, why it was cancelled). ``fault_mode``, the episode bounds and
    ``rebaseline`` are set by :meth:`close` only.
    """

    id: int
    machine: str
    title: str
    created_by: str
    created_us: int
    description: str = ""
    subsystem: str | None = None
    priority: str = "normal"
    status: WorkOrderStatus = WorkOrderStatus.OPEN
    alarm_id: int | None = None
    assignee: str | None = None
    due_us: int | None = None
    closed_by: str | None = None
    closed_us: int | None = None
    work_done: str | None = None
    parts_replaced: tuple[str, ...] = field(default_factory=tuple)
    fault_mode: str | None = None
    episode_start_us: int | None = None
    episode_end_us: int | None = None
    rebaseline: bool = False

    def __post_init__(self) -> None:
        if self.id < 0:
            raise InvalidInput(f"a work order id is positive (got {self.id})", field="id")
        _text("machine", self.machine, required=True, limit=MAX_NAME_CHARS)
        _text("title", self.title, required=True, limit=MAX_TITLE_CHARS)
        _text("description", self.description, required=False, limit=MAX_TEXT_CHARS)
        _text("created_by", self.created_by, required=True, limit=MAX_NAME_CHARS)
        _text("assignee", self.assignee, required=False, limit=MAX_NAME_CHARS)
        _choice("subsystem", self.subsystem, SUBSYSTEMS)
        _choice("priority", self.priority, PRIORITIES)
        _choice("fault mode", self.fault_mode, FAULT_MODES)
        if not isinstance(self.status, WorkOrderStatus):
            raise InvalidInput(f"unknown work order status {self.status!r}", field="status")
        if len(self.parts_replaced) > MAX_PARTS:
            raise InvalidInput(f"at most {MAX_PARTS} replaced parts", field="parts_replaced")
        for part in self.parts_replaced:
            _text("a replaced part", part, required=True, limit=MAX_PART_CHARS)
        if self.assignee is not None and not self.assignee.strip():
            raise InvalidInput("an assignee must be named", field="assignee")
        if self.status in (WorkOrderStatus.ASSIGNED, WorkOrderStatus.IN_PROGRESS) and self.assignee is None:
            raise InvalidInput(f"a work order {self.status.value} needs an assignee", field="assignee")
        self._check_end()
        start, end = self.episode_start_us, self.episode_end_us
        if start is not None and end is not None and end < start:
            raise InvalidInput("the episode must end after it starts", field="episode_end_us")

    def _check_end(self) -> None:
        ended = self.status.final
        if ended != (self.closed_us is not None) or ended != (self.closed_by is not None):
            raise InvalidInput(
                "closed_by and closed_us are set exactly when the order is closed or cancelled"
            )
        if self.closed_by is not None:
            _text("closed_by", self.closed_by, required=True, limit=MAX_NAME_CHARS)
        if self.status is WorkOrderStatus.CLOSED:
            _text("work_done", self.work_done, required=True, limit=MAX_TEXT_CHARS)
            if self.fault_mode is None:
                raise InvalidInput(
                    "say what was found (the fault mode) to close a work order", field="fault_mode"
                )
            if self.episode_start_us is None or self.episode_end_us is None:
                raise InvalidInput("a closed work order labels an episode: give its start and end")
            if self.rebaseline and self.subsystem is None:
                raise InvalidInput("name the subsystem whose baseline is learnt again", field="subsystem")
        else:
            if self.status is WorkOrderStatus.CANCELLED:
                _text("the reason", self.work_done, required=True, limit=MAX_TEXT_CHARS)
            elif self.work_done is not None:
                raise InvalidInput("work_done is set when the order ends", field="work_done")
            if self.fault_mode is not None or self.rebaseline or self.parts_replaced:
                raise InvalidInput("only a closed work order has a fault mode, parts and a re-baseline")
            if self.episode_end_us is not None:
                raise InvalidInput("only a closed work order ends an episode", field="episode_end_us")

    @property
    def is_open(self) -> bool:
        """True until the order is closed or cancelled."""
        return not self.status.final

    def _step(self, to: WorkOrderStatus, verb: str) -> None:
        if to not in TRANSITIONS[self.status]:
            raise WorkOrderConflict(
                f"work order {self.id} is {self.status.value}: it cannot be {verb}",
                order_id=self.id,
                order_status=self.status.value,
            )

    def assign(self, assignee: str, *, due_us: int | None = None) -> WorkOrder:
        """This order given to ``assignee`` (again, to someone else, is allowed until it ends); ``due_us``
        None keeps the due time it had. An order in progress stays in progress."""
        to = (
            WorkOrderStatus.IN_PROGRESS
            if self.status is WorkOrderStatus.IN_PROGRESS
            else WorkOrderStatus.ASSIGNED
        )
        self._step(to, "assigned")
        _text("assignee", assignee, required=True, limit=MAX_NAME_CHARS)
        return dataclasses.replace(
            self, status=to, assignee=assignee.strip(), due_us=self.due_us if due_us is None else due_us
        )

    def start(self, by: str) -> WorkOrder:
        """Work begins; an order nobody was given goes to ``by``."""
        if self.status is WorkOrderStatus.IN_PROGRESS:
            raise WorkOrderConflict(
                f"work order {self.id} is already in progress",
                order_id=self.id,
                order_status=self.status.value,
            )
        self._step(WorkOrderStatus.IN_PROGRESS, "started")
        _text("the user", by, required=True, limit=MAX_NAME_CHARS)
        return dataclasses.replace(
            self, status=WorkOrderStatus.IN_PROGRESS, assignee=self.assignee or by.strip()
        )

    def close(
        self,
        *,
        by: str,
        at_us: int,
        work_done: str,
        fault_mode: str,
        parts_replaced: Iterable[str] = (),
        subsystem: str | None = None,
        rebaseline: bool | None = None,
        episode_start_us: int | None = None,
        episode_end_us: int | None = None,
    ) -> WorkOrder:
        """The order closed by ``by`` at ``at_us`` with what was done and what was found.

        ``subsystem`` None keeps the order's. The episode runs by default from the order's
        ``episode_start_us`` (the alert's raise time or the creation time, set when it was created) to
        ``at_us``; it must not end after ``at_us``. ``rebaseline`` None means: yes when a subsystem is named
        and something was repaired (parts replaced, or a fault found), no for a false alarm.

        >>> o = WorkOrder(id=1, machine="P01", title="t", created_by="a", created_us=10)
        >>> c = o.close(by="b", at_us=50, work_done="rien", fault_mode="none", subsystem="cooler")
        >>> c.rebaseline, c.episode_start_us, c.episode_end_us
        (False, 10, 50)
        """
        self._step(WorkOrderStatus.CLOSED, "closed")
        parts = clean_parts(parts_replaced)
        chosen = self.subsystem if subsystem is None else subsystem
        _choice("fault mode", fault_mode, FAULT_MODES)
        if rebaseline is None:
            rebaseline = chosen is not None and (bool(parts) or fault_mode != "none")
        start = episode_start_us if episode_start_us is not None else self.episode_start_us
        if start is None:
            start = self.created_us
        end = at_us if episode_end_us is None else episode_end_us
        if end > at_us:
            raise InvalidInput("the episode cannot end after the order is closed", field="episode_end_us")
        return dataclasses.replace(
            self,
            status=WorkOrderStatus.CLOSED,
            closed_by=by.strip(),
            closed_us=at_us,
            work_done=work_done.strip(),
            parts_replaced=parts,
            fault_mode=fault_mode,
            subsystem=chosen,
            rebaseline=rebaseline,
            episode_start_us=start,
            episode_end_us=end,
        )

    def cancel(self, *, by: str, at_us: int, reason: str) -> WorkOrder:
        """The order abandoned (a duplicate, raised by mistake): kept, with who, when and why."""
        self._step(WorkOrderStatus.CANCELLED, "cancelled")
        return dataclasses.replace(
            self,
            status=WorkOrderStatus.CANCELLED,
            closed_by=by.strip(),
            closed_us=at_us,
            work_done=reason.strip(),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrderEvent:
    """One step of a work order's audit trail: ``by`` did ``kind`` at ``at_us``; ``details`` are the values
    that step set, as (name, text) pairs in a fixed order (e.g. ``("assignee", "marc")``).

    ``order_id`` and ``id`` are given by the store (0 and None before).

    >>> e = WorkOrderEvent(kind=WorkOrderEventKind.ASSIGNED, by="lea", at_us=5,
    ...                    details=(("assignee", "marc"),))
    >>> e.detail("assignee"), e.detail("due")
    ('marc', None)
    """

    kind: WorkOrderEventKind
    by: str
    at_us: int
    details: tuple[tuple[str, str], ...] = ()
    order_id: int = 0
    id: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, WorkOrderEventKind):
            raise InvalidInput(f"unknown work order event {self.kind!r}", field="kind")
        _text("the user", self.by, required=True, limit=MAX_NAME_CHARS)

    def detail(self, name: str) -> str | None:
        """The value of detail ``name`` (None when absent)."""
        return next((value for key, value in self.details if key == name), None)


def subsystem_of_alarm(code: str) -> str | None:
    """The subsystem an alert's code points at: ``health.<subsystem>[.…]`` names it, an SPC alert
    (``spc.…``) is a process drift ("other"); anything else says nothing.

    >>> subsystem_of_alarm("health.pump"), subsystem_of_alarm("spc.we1"), subsystem_of_alarm("broker.x")
    ('pump', 'other', None)
    """
    family, _, rest = code.partition(".")
    if family == "health":
        name = rest.split(".", 1)[0]
        return name if name in SUBSYSTEMS else "other"
    if family == "spc":
        return "other"
    return None
