"""What operators record on the tablet: stop reasons, scrap found outside the press, orders, logbook notes.

These are *events*, each stamped with who recorded it and when (on the server's clock), and never edited:
a second reason for the same stop is a new event that wins over the first, so the history of who
qualified a stop, and how, is kept (docs/domain.md §2.8: reclassification is retroactive).
Each type can say what is wrong with it (``problems``) without knowing where it will be stored.

>>> from cadence.domain.states import DEFAULT_REASONS, MachineState, StateChange
>>> reason = StopReason("P01", stop_start_us=60, reason_code="breakdown.die", by="lea", at_us=90)
>>> reason.problems(DEFAULT_REASONS)
[]
>>> StopReason("P01", 60, "broken", "lea", 90).problems(DEFAULT_REASONS)[0][:35]
"unknown reason code 'broken'; allow"
>>> changes = [StateChange(0, MachineState.RUNNING), StateChange(60, MachineState.DOWN)]
>>> [c.reason for c in apply_stop_reasons(changes, [reason])]
[None, 'breakdown.die']
>>> start = OrderEvent("P01", 10, OrderKind.START, order="OF-1", part_number="BR-7", by="lea")
>>> current_order([start]).order, current_order([start, OrderEvent("P01", 20, OrderKind.END, by="lea")])
('OF-1', None)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from cadence.domain.states import ReasonCode, StateChange

# A logbook note is a shift-handover remark, not a report: long enough for a paragraph, short enough to
# read on a tablet.
MAX_NOTE_CHARS = 2000
# Free text fields other than the note (causes, order and lot ids) are identifiers or a few words.
MAX_FIELD_CHARS = 200


def _text_problems(
    name: str, value: str | None, *, required: bool, limit: int = MAX_FIELD_CHARS
) -> list[str]:
    if value is None or not value.strip():
        return [f"{name} is required"] if required else []
    if len(value) > limit:
        return [f"{name} is {len(value)} characters long; at most {limit} are allowed"]
    return []


@dataclass(frozen=True, slots=True)
class StopReason:
    """``by`` gave the stop of ``machine`` that began at ``stop_start_us`` the reason ``reason_code``."""

    machine: str
    stop_start_us: int
    reason_code: str
    by: str
    at_us: int

    def problems(self, reasons: Sequence[ReasonCode]) -> list[str]:
        """What makes this record invalid against the reason tree ``reasons`` (empty when valid)."""
        out = _text_problems("the user", self.by, required=True)
        codes = [r.code for r in reasons]
        if self.reason_code not in codes:
            out.append(f"unknown reason code {self.reason_code!r}; allowed codes: {', '.join(codes)}")
        return out


@dataclass(frozen=True, slots=True)
class ScrapDeclaration:
    """``quantity`` parts of ``machine`` found bad outside the press's own judgement (e.g. at inspection)."""

    machine: str
    at_us: int
    quantity: int
    cause: str
    by: str

    def problems(self) -> list[str]:
        """What makes this declaration invalid (empty when valid)."""
        out = _text_problems("the user", self.by, required=True)
        if self.quantity <= 0:
            out.append(f"the quantity must be a whole number above 0, got {self.quantity}")
        return out + _text_problems("the cause", self.cause, required=True)


class OrderKind(enum.StrEnum):
    START = "start"
    END = "end"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A production order started or ended on ``machine``, with the genealogy keys of what it runs."""

    machine: str
    at_us: int
    kind: OrderKind
    order: str | None = None
    part_number: str | None = None
    lot: str | None = None
    material_lot: str | None = None
    die: str | None = None
    by: str = ""

    def problems(self) -> list[str]:
        """What makes this event invalid on its own: a start must name its order and part number."""
        start = self.kind is OrderKind.START
        out = _text_problems("the user", self.by, required=True)
        out += _text_problems("the order", self.order, required=start)
        out += _text_problems("the part number", self.part_number, required=start)
        for name, value in (
            ("the lot", self.lot),
            ("the material lot", self.material_lot),
            ("the die", self.die),
        ):
            out += _text_problems(name, value, required=False)
        return out


@dataclass(frozen=True, slots=True)
class LogbookNote:
    """A free remark for the next shift, about one machine or (``machine`` None) the whole plant."""

    machine: str | None
    at_us: int
    text: str
    by: str

    def problems(self) -> list[str]:
        """What makes this note invalid: empty, or longer than :data:`MAX_NOTE_CHARS`."""
        return _text_problems("the user", self.by, required=True) + _text_problems(
            "the text", self.text, required=True, limit=MAX_NOTE_CHARS
        )


def latest_stop_reasons(history: Iterable[StopReason]) -> dict[tuple[str, int], StopReason]:
    """The reason in force for each ``(machine, stop_start_us)``: the last one in ``history``'s order."""
    return {(r.machine, r.stop_start_us): r for r in history}


def apply_stop_reasons(changes: Sequence[StateChange], history: Iterable[StopReason]) -> list[StateChange]:
    """``changes`` (oldest first) with the operators' reasons put on the stops they qualify (a given reason
    wins over the controller's, since the operator saw the cause). ``history`` is oldest first, so later
    reasons win.

    A stop re-sent unchanged (same state, same controller reason) is still the stop that began at its
    first change: the reason recorded under that start covers its repeats too, so the state engine keeps
    seeing one stop.

    >>> from cadence.domain.states import MachineState as S
    >>> stop = [StateChange(0, S.DOWN), StateChange(50, S.DOWN), StateChange(90, S.RUNNING)]
    >>> [c.reason for c in apply_stop_reasons(stop, [StopReason("P01", 0, "breakdown.die", "lea", 95)])]
    ['breakdown.die', 'breakdown.die', None]
    """
    by_start = {start: r.reason_code for (_machine, start), r in latest_stop_reasons(history).items()}
    out: list[StateChange] = []
    run_start: int | None = None
    previous: StateChange | None = None
    for change in changes:
        repeat = previous is not None and (previous.state, previous.reason) == (change.state, change.reason)
        if not repeat:
            run_start = change.ts_us
        previous = change
        code = by_start.get(run_start) if run_start is not None else None
        if code is None:
            code = by_start.get(change.ts_us)
        out.append(replace(change, reason=code) if change.state.is_stop and code is not None else change)
    return out


def current_order(events: Iterable[OrderEvent]) -> OrderEvent | None:
    """The order running after ``events`` (oldest first): the last start unless an end came after it."""
    running: OrderEvent | None = None
    for event in events:
        running = event if event.kind is OrderKind.START else None
    return running
