"""Work orders as values: the steps each status allows, what closing requires and sets by default, and the
checks that keep a stored order coherent (cadence.domain.workorders)."""

from __future__ import annotations

from typing import Any

import pytest

from cadence.domain.workorders import (
    FAULT_MODES,
    SUBSYSTEMS,
    TRANSITIONS,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderEventKind,
    WorkOrderStatus,
    clean_parts,
    subsystem_of_alarm,
)
from cadence.errors import InvalidInput, WorkOrderConflict

S = WorkOrderStatus


def _order(**changes: Any) -> WorkOrder:
    fields: dict[str, Any] = {
        "id": 3,
        "machine": "P02",
        "title": "Température d'huile en hausse",
        "created_by": "lea",
        "created_us": 1_000,
        "subsystem": "cooler",
        "episode_start_us": 400,
    }
    return WorkOrder(**{**fields, **changes})


def _closed(order: WorkOrder, **changes: Any) -> WorkOrder:
    args: dict[str, Any] = {
        "by": "marc",
        "at_us": 5_000,
        "work_done": "Échangeur nettoyé",
        "fault_mode": "cooler_fouling",
    }
    return order.close(**{**args, **changes})


def test_the_contract_vocabulary_is_the_one_the_health_engine_reads() -> None:
    assert SUBSYSTEMS == ("pump", "valves_seals", "cooler", "accumulator", "tooling", "electrical", "other")
    assert FAULT_MODES == (
        "pump_leak",
        "seal_wear",
        "cooler_fouling",
        "valve_lag",
        "die_wear",
        "other",
        "none",
    )
    assert [s.value for s in S] == ["open", "assigned", "in_progress", "closed", "cancelled"]
    assert TRANSITIONS[S.CLOSED] == TRANSITIONS[S.CANCELLED] == frozenset()
    assert {s for s in S if s.final} == {S.CLOSED, S.CANCELLED}


def test_the_usual_path_open_assign_start_close() -> None:
    order = _order()
    assert order.status is S.OPEN and order.is_open and order.assignee is None
    assigned = order.assign("  marc ", due_us=9_000)
    assert (assigned.status, assigned.assignee, assigned.due_us) == (S.ASSIGNED, "marc", 9_000)
    assert assigned.assign("paul").due_us == 9_000  # a new assignee keeps the due time
    started = assigned.start("marc")
    assert started.status is S.IN_PROGRESS
    # Handing an order in progress to someone else keeps it in progress.
    assert started.assign("paul").status is S.IN_PROGRESS
    closed = _closed(started, parts_replaced=[" joint 40x3 ", "", "filtre"])
    assert closed.status is S.CLOSED and not closed.is_open
    assert (closed.closed_by, closed.closed_us, closed.fault_mode) == ("marc", 5_000, "cooler_fouling")
    assert closed.parts_replaced == ("joint 40x3", "filtre")
    assert (closed.episode_start_us, closed.episode_end_us) == (400, 5_000)
    assert closed.rebaseline
    assert order.status is S.OPEN  # values: the first one is unchanged


def test_starting_an_order_nobody_was_given_gives_it_to_the_starter() -> None:
    assert _order().start("marc").assignee == "marc"
    assert _order().assign("paul").start("marc").assignee == "paul"


@pytest.mark.parametrize("final", ["closed", "cancelled"])
def test_closed_and_cancelled_orders_are_final(final: str) -> None:
    ended = (
        _closed(_order()) if final == "closed" else _order().cancel(by="lea", at_us=2_000, reason="doublon")
    )
    for step in (
        lambda o: o.assign("marc"),
        lambda o: o.start("marc"),
        _closed,
        lambda o: o.cancel(by="lea", at_us=3_000, reason="x"),
    ):
        with pytest.raises(WorkOrderConflict, match=f"is {final}"):
            step(ended)


def test_an_order_in_progress_cannot_be_started_again() -> None:
    with pytest.raises(WorkOrderConflict, match="already in progress"):
        _order().start("marc").start("paul")


def test_closing_requires_what_was_done_and_what_was_found() -> None:
    with pytest.raises(InvalidInput, match="fault mode") as err:
        _closed(_order(), fault_mode="broken")
    assert err.value.context["field"] == "fault mode"
    with pytest.raises(InvalidInput, match="work_done is required"):
        _closed(_order(), work_done="   ")


def test_the_rebaseline_default_follows_what_was_repaired() -> None:
    assert _closed(_order()).rebaseline  # a fault found on a named subsystem
    assert not _closed(_order(), fault_mode="none").rebaseline  # a false alarm: nothing relearnt
    assert _closed(_order(), fault_mode="none", parts_replaced=["filtre"]).rebaseline  # a part was changed
    assert not _closed(_order(subsystem=None)).rebaseline  # no subsystem to relearn
    assert not _closed(_order(), rebaseline=False).rebaseline
    with pytest.raises(InvalidInput, match="name the subsystem"):
        _closed(_order(subsystem=None), rebaseline=True)
    # The subsystem named at closing replaces the one guessed at opening.
    assert _closed(_order(), subsystem="pump", fault_mode="pump_leak").subsystem == "pump"


def test_the_episode_defaults_and_its_bounds() -> None:
    # Without a start of its own (no alert), the episode starts at the order's creation.
    assert _closed(_order(episode_start_us=None)).episode_start_us == 1_000
    adjusted = _closed(_order(), episode_start_us=100, episode_end_us=4_000)
    assert (adjusted.episode_start_us, adjusted.episode_end_us) == (100, 4_000)
    with pytest.raises(InvalidInput, match="after the order is closed"):
        _closed(_order(), episode_end_us=5_001)
    with pytest.raises(InvalidInput, match="end after it starts"):
        _closed(_order(), episode_start_us=4_500, episode_end_us=4_000)


def test_cancelling_keeps_who_when_and_why() -> None:
    cancelled = _order().assign("marc").cancel(by=" lea ", at_us=2_000, reason=" doublon de #2 ")
    assert (cancelled.status, cancelled.closed_by, cancelled.closed_us) == (S.CANCELLED, "lea", 2_000)
    assert (
        cancelled.work_done == "doublon de #2" and cancelled.fault_mode is None and not cancelled.rebaseline
    )
    with pytest.raises(InvalidInput, match="reason is required"):
        _order().cancel(by="lea", at_us=2_000, reason=" ")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "  "}, "title is required"),
        ({"title": "x" * 201}, "at most 200"),
        ({"machine": ""}, "machine is required"),
        ({"created_by": ""}, "created_by is required"),
        ({"priority": "asap"}, "unknown priority"),
        ({"subsystem": "hydraulics"}, "unknown subsystem"),
        ({"status": S.ASSIGNED}, "needs an assignee"),
        ({"status": S.CLOSED}, "closed_by and closed_us"),
        ({"closed_us": 5, "closed_by": "x"}, "closed_by and closed_us"),
        ({"fault_mode": "none"}, "only a closed work order"),
        ({"parts_replaced": ("joint",)}, "only a closed work order"),
        ({"rebaseline": True}, "only a closed work order"),
        ({"episode_end_us": 900}, "only a closed work order"),
        ({"work_done": "fait"}, "work_done is set when the order ends"),
        ({"id": -1}, "positive"),
        ({"assignee": " "}, "assignee"),
    ],
)
def test_an_incoherent_order_cannot_be_built(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _order(**changes)


def test_a_closed_order_without_its_label_cannot_be_built() -> None:
    ended = {"status": S.CLOSED, "closed_by": "marc", "closed_us": 5_000, "work_done": "x"}
    with pytest.raises(InvalidInput, match="fault mode"):
        _order(**ended, episode_end_us=5_000)
    with pytest.raises(InvalidInput, match="episode"):
        _order(**ended, fault_mode="none", episode_start_us=None)
    assert _order(**ended, fault_mode="none", episode_end_us=5_000).status is S.CLOSED


def test_events_and_their_details() -> None:
    event = WorkOrderEvent(
        kind=WorkOrderEventKind.CLOSED, by="marc", at_us=5, details=(("fault_mode", "pump_leak"), ("x", ""))
    )
    assert event.detail("fault_mode") == "pump_leak" and event.detail("missing") is None
    assert (event.order_id, event.id) == (0, None)
    with pytest.raises(InvalidInput, match="the user is required"):
        WorkOrderEvent(kind=WorkOrderEventKind.STARTED, by=" ", at_us=5)


def test_the_subsystem_an_alert_points_at() -> None:
    assert [
        subsystem_of_alarm(c) for c in ("health.valves_seals", "health.cooler.trend", "health.weird")
    ] == [
        "valves_seals",
        "cooler",
        "other",
    ]
    assert subsystem_of_alarm("spc.nelson2") == "other"
    assert subsystem_of_alarm("broker.messages_dropped") is None
    assert clean_parts(["", "  "]) == ()
