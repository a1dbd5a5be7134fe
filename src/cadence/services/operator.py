"""Operator use cases behind the tablet: qualify stops, declare scrap, start and end orders, keep a logbook.

The API, the pages and the CLI go through this service so that they agree on what is valid (a reason from
the tree, a quantity above 0, a note of at most 2000 characters, a start naming its order and part) and on
whose name and clock an event carries: the signed-in user's and the server's, never the tablet's. It
depends only on the store port, the plant and a clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cadence.analytics.intervals import DEFAULT_MICRO_STOP_S, US_PER_S, Category, tile
from cadence.domain.operator import (
    LogbookNote,
    OrderEvent,
    OrderKind,
    ScrapDeclaration,
    StopReason,
    current_order,
    latest_stop_reasons,
)
from cadence.domain.plant import Plant
from cadence.domain.states import MachineState, ReasonCode
from cadence.errors import InvalidInput, NotFound
from cadence.ports import Clock, TimeSeriesStore
from cadence.services.plant_data import iso
from cadence.services.production import decisive_changes

# Stops an operator codes one by one: the state engine's stop categories, without micro-stops (counted, not
# coded) and unknown time (offline: no machine state to explain).
_CODED_STOPS = frozenset(
    {Category.IDLE, Category.DOWN, Category.SETUP, Category.PLANNED_STOP, Category.NO_ORDER}
)
# How far back declared scrap causes count as "common" for a press: a month covers the usual defects of
# the dies it runs without keeping a cause typed once long ago.
COMMON_CAUSES_LOOKBACK_US = 30 * 86_400_000_000
# Strokes read for the causes of the press's own quality checks: the last shift's worth (8 h; at a 2 s
# cycle that is 14 400 strokes, within the limit).
_CAUSE_STROKES_LOOKBACK_US = 8 * 3_600_000_000
_CAUSE_STROKES = 20_000


@dataclass(frozen=True, slots=True)
class Stop:
    """A stop of a machine as the operator sees it: when it began (the key its reason is recorded under),
    until when (now while it lasts), the state reported and the reason in force, if any."""

    machine: str
    start_us: int
    end_us: int
    state: MachineState
    reason: str | None
    given: StopReason | None  # the operator's reason in force; None when only the controller gave one
    ongoing: bool

    @property
    def duration_s(self) -> float:
        return (self.end_us - self.start_us) / 1_000_000

    @property
    def unqualified(self) -> bool:
        return self.reason is None


class OperatorService:
    """Validates and records operator events, and lists them back."""

    def __init__(
        self,
        store: TimeSeriesStore,
        plant: Plant,
        clock: Clock,
        reasons: Sequence[ReasonCode] | None = None,
        on_scrap_declared: Callable[[ScrapDeclaration], None] | None = None,
    ) -> None:
        self._store = store
        self._plant = plant
        self._clock = clock
        # The plant's tree unless a caller narrows it.
        self.reasons = tuple(reasons) if reasons is not None else plant.reasons
        # Told after each committed declaration, so that live counts change without waiting for a render.
        self._on_scrap_declared = on_scrap_declared

    def now_us(self) -> int:
        """The server's clock, against which relative times such as ``-8h`` are read."""
        return self._clock.now_us()

    # --- writes ----------------------------------------------------------------------------------------

    def record_stop_reason(self, machine: str, stop_start_us: int, reason_code: str, by: str) -> StopReason:
        """``by`` gives the stop of ``machine`` that began at ``stop_start_us`` a reason from the tree."""
        self._known(machine)
        now = self._clock.now_us()
        if stop_start_us > now:
            raise InvalidInput(
                "a stop cannot begin after now", machine=machine, stop_start_us=stop_start_us, now_us=now
            )
        reason = StopReason(machine, stop_start_us, reason_code.strip(), by, now)
        # The message lists the allowed codes: the envelope carries only scalar context, not lists.
        self._check(reason.problems(self.reasons), reason=reason.reason_code)
        self._store.record_stop_reason(reason)
        return reason

    def declare_scrap(self, machine: str, quantity: int, cause: str, by: str) -> ScrapDeclaration:
        """``by`` declares ``quantity`` parts of ``machine`` scrapped for ``cause``, as of now."""
        self._known(machine)
        scrap = ScrapDeclaration(machine, self._clock.now_us(), quantity, cause.strip(), by)
        self._check(scrap.problems())
        self._store.record_scrap(scrap)
        if self._on_scrap_declared is not None:
            self._on_scrap_declared(scrap)
        return scrap

    def order_event(
        self,
        machine: str,
        kind: OrderKind,
        by: str,
        *,
        order: str | None = None,
        part_number: str | None = None,
        lot: str | None = None,
        material_lot: str | None = None,
        die: str | None = None,
    ) -> OrderEvent:
        """Start an order (which replaces any order still running) or end the running one, as of now.

        An end names no order, or the running one: ending an order that does not run is refused, because
        the tablet showing it is out of date and the operator should see what really runs.
        """
        self._known(machine)
        event = OrderEvent(
            machine,
            self._clock.now_us(),
            kind,
            _blank_to_none(order),
            _blank_to_none(part_number),
            _blank_to_none(lot),
            _blank_to_none(material_lot),
            _blank_to_none(die),
            by,
        )
        self._check(event.problems())
        if kind is OrderKind.END:
            running = self.current_order(machine)
            if running is None:
                raise InvalidInput(f"no order is running on {machine}", machine=machine)
            if event.order is not None and event.order != running.order:
                raise InvalidInput(
                    f"order {event.order} is not running on {machine}; {running.order} is",
                    machine=machine,
                    running=running.order,
                )
            # The end carries what it ended, so an order's history reads whole from its events.
            event = OrderEvent(
                machine,
                event.at_us,
                kind,
                running.order,
                running.part_number,
                running.lot,
                running.material_lot,
                running.die,
                by,
            )
        self._store.record_order_event(event)
        return event

    def write_note(self, machine: str | None, text: str, by: str) -> LogbookNote:
        """``by`` writes ``text`` in the logbook, about ``machine`` or (None) the whole plant."""
        if machine is not None:
            self._known(machine)
        note = LogbookNote(machine, self._clock.now_us(), text.strip(), by)
        self._check(note.problems())
        self._store.record_note(note)
        return note

    # --- reads -----------------------------------------------------------------------------------------

    def stop_reasons(
        self, machine: str, start_us: int, end_us: int, *, history: bool = False
    ) -> list[StopReason]:
        self._known(machine)
        return self._store.stop_reasons(machine, start_us, end_us, history=history)

    def scrap(self, machine: str, start_us: int, end_us: int) -> list[ScrapDeclaration]:
        self._known(machine)
        return self._store.scrap_declarations(machine, start_us, end_us)

    def order_events(self, machine: str, start_us: int, end_us: int) -> list[OrderEvent]:
        self._known(machine)
        return self._store.order_events(machine, start_us, end_us)

    def current_order(self, machine: str) -> OrderEvent | None:
        """The start event of the order running on ``machine`` now, None when none runs."""
        self._known(machine)
        last = self._store.last_order_event(machine)
        return current_order([] if last is None else [last])

    def logbook(self, start_us: int, end_us: int, machine: str | None = None) -> list[LogbookNote]:
        if machine is not None:
            self._known(machine)
        return self._store.logbook(start_us, end_us, machine)

    def stops(
        self, machine: str, start_us: int, end_us: int, *, micro_stop_s: float = DEFAULT_MICRO_STOP_S
    ) -> list[Stop]:
        """The stops of ``machine`` overlapping ``[start_us, end_us)`` that are coded one by one, newest
        first, with the reason in force (the operator's latest, else the controller's).

        Micro-stops (shorter than ``micro_stop_s``, the state engine's rule) and offline time are left
        out. A stop that began before ``start_us`` is listed with its true start, the key of its reason.
        """
        self._known(machine)
        # The micro-stop rule needs the whole stop: a stop crossing ``end_us`` is judged by the change that
        # ends it, up to a threshold later. The change in force at ``start_us`` comes from one index seek.
        changes = decisive_changes(self._store, machine, start_us, end_us + int(micro_stop_s * US_PER_S) + 1)
        intervals = tile(changes, [], start_us, end_us, micro_stop_s=micro_stop_s)
        coded = [(iv, iv.source) for iv in intervals if iv.category in _CODED_STOPS and iv.source is not None]
        if not coded:
            return []
        # ``changes`` carry the reason in force (the operator's, else the controller's); ``given`` tells
        # whether an operator gave it, and who.
        first = min(source.ts_us for _, source in coded)
        given = latest_stop_reasons(self._store.stop_reasons(machine, first, end_us + 1))
        out = []
        for iv, source in coded:
            # Ongoing: it reaches the end and nothing but repeats of it came after its start.
            later = [c for c in changes if c.ts_us > source.ts_us]
            same = all((c.state, c.reason) == (source.state, source.reason) for c in later)
            out.append(
                Stop(
                    machine,
                    source.ts_us,
                    iv.end_us,
                    source.state,
                    source.reason,
                    given.get((machine, source.ts_us)),
                    ongoing=same and iv.end_us == end_us,
                )
            )
        return sorted(out, key=lambda s: s.start_us, reverse=True)

    def common_scrap_causes(self, machine: str, limit: int = 6) -> list[str]:
        """The scrap causes worth a button for ``machine``, most frequent first: those its own quality
        checks gave its strokes in the last 8 h, and those operators declared on it in the last month."""
        self._known(machine)
        now = self._clock.now_us()
        since = now - COMMON_CAUSES_LOOKBACK_US
        counts: Counter[str] = Counter()
        for d in self._store.scrap_declarations(machine, since, now + 1):
            counts[d.cause] += d.quantity
        recent = self._store.strokes(machine, now - _CAUSE_STROKES_LOOKBACK_US, now + 1, limit=_CAUSE_STROKES)
        counts.update(s.scrap_reason for s in recent if not s.good and s.scrap_reason)
        return [cause for cause, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]

    # --- helpers ---------------------------------------------------------------------------------------

    def _known(self, machine: str) -> None:
        if not self._plant.has_machine(machine):
            raise NotFound(f"no machine {machine!r} in the plant", machine=machine)

    @staticmethod
    def _check(problems: list[str], **context: str) -> None:
        if problems:
            raise InvalidInput("; ".join(problems), **context)


def _blank_to_none(value: str | None) -> str | None:
    return None if value is None or not value.strip() else value.strip()


# --- JSON ----------------------------------------------------------------------------------------------


def reason_json(reason: ReasonCode) -> dict[str, Any]:
    return {
        "code": reason.code,
        "category": reason.category,
        "state": reason.state.value,
        "label_fr": reason.label_fr,
        "label_en": reason.label_en,
    }


def stop_reason_json(r: StopReason) -> dict[str, Any]:
    return {
        "machine": r.machine,
        "stop_start_us": r.stop_start_us,
        "stop_start": iso(r.stop_start_us),
        "reason": r.reason_code,
        "by": r.by,
        "at_us": r.at_us,
        "at": iso(r.at_us),
    }


def scrap_json(s: ScrapDeclaration) -> dict[str, Any]:
    return {
        "machine": s.machine,
        "at_us": s.at_us,
        "at": iso(s.at_us),
        "quantity": s.quantity,
        "cause": s.cause,
        "by": s.by,
    }


def order_event_json(e: OrderEvent) -> dict[str, Any]:
    return {
        "machine": e.machine,
        "at_us": e.at_us,
        "at": iso(e.at_us),
        "kind": e.kind.value,
        "order": e.order,
        "part_number": e.part_number,
        "lot": e.lot,
        "material_lot": e.material_lot,
        "die": e.die,
        "by": e.by,
    }


def note_json(n: LogbookNote) -> dict[str, Any]:
    return {"machine": n.machine, "at_us": n.at_us, "at": iso(n.at_us), "text": n.text, "by": n.by}
