"""What the press page shows of the operators' work: chart and timeline markers, the running order, the stops
waiting for a reason. Apart from the operator pages' routes so that the press page (``pages.py``) can use it
without importing them (they build on its ``render``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from cadence.clock import to_datetime
from cadence.domain.operator import OrderEvent, OrderKind
from cadence.domain.states import ReasonCode
from cadence.services.operator import OperatorService
from cadence.web.i18n import translations
from cadence.web.routes.operator import get_operator_service

# Signs of the chart and timeline markers, one per kind of event (readable without colour).
MARK_ICONS = {"stop": "◆", "note": "✎", "scrap": "✗", "order_start": "⚑", "order_end": "⚐"}
# A note on a chart marker is cut to what a tooltip can show; the logbook has it whole.
MARK_TEXT_CHARS = 120


def reason_label(reason: ReasonCode, locale: str) -> str:
    return reason.label_en if locale == "en" else reason.label_fr


def reason_labels(service: OperatorService, locale: str) -> dict[str, str]:
    return {r.code: reason_label(r, locale) for r in service.reasons}


def order_row(event: OrderEvent | None) -> dict[str, Any] | None:
    if event is None:
        return None
    return {
        "order": event.order,
        "part_number": event.part_number,
        "lot": event.lot,
        "material_lot": event.material_lot,
        "die": event.die,
        "by": event.by,
        "since": to_datetime(event.at_us),
    }


def press_marks(
    service: OperatorService, machine: str, start_us: int, end_us: int, locale: str
) -> list[dict[str, Any]]:
    """What people recorded about ``machine`` in ``[start_us, end_us)``, oldest first, as chart markers:
    reasons given to stops (at the stop's start), notes, scrap declarations, order starts and ends."""
    gettext = translations(locale).gettext
    labels = reason_labels(service, locale)
    marks: list[dict[str, Any]] = []

    def mark(at_us: int, kind: str, text: str) -> None:
        marks.append({"at_us": at_us, "kind": kind, "icon": MARK_ICONS[kind], "text": text})

    for r in service.stop_reasons(machine, start_us, end_us):
        mark(r.stop_start_us, "stop", f"{labels.get(r.reason_code, r.reason_code)} · {r.by}")
    for n in service.logbook(start_us, end_us, machine):
        text = n.text if len(n.text) <= MARK_TEXT_CHARS else n.text[: MARK_TEXT_CHARS - 1] + "…"
        mark(n.at_us, "note", f"{n.by} : {text}" if locale == "fr" else f"{n.by}: {text}")
    for s in service.scrap(machine, start_us, end_us):
        mark(
            s.at_us,
            "scrap",
            gettext("Scrap declared: %(n)s · %(cause)s") % {"n": s.quantity, "cause": s.cause},
        )
    for e in service.order_events(machine, start_us, end_us):
        if e.kind is OrderKind.START:
            mark(e.at_us, "order_start", gettext("Order %(order)s started") % {"order": e.order})
        else:
            mark(e.at_us, "order_end", gettext("Order %(order)s ended") % {"order": e.order})
    return sorted(marks, key=lambda m: m["at_us"])


def press_context(request: Request, machine: str, start_us: int, end_us: int, locale: str) -> dict[str, Any]:
    """What the press page shows of the operators' work over its shift: the stops still waiting for a
    reason, the running order, and the markers of the state timeline with their place in the window."""
    service = get_operator_service(request)
    span = max(end_us - start_us, 1)
    marks = press_marks(service, machine, start_us, end_us + 1, locale)
    for m in marks:
        # Clamped so that an event at the window's very end (``end_us`` is included) stays on the bar.
        m["share"] = min(max((m["at_us"] - start_us) / span, 0.0), 1.0)
        m["at"] = to_datetime(m["at_us"])
    return {
        "waiting_count": sum(1 for s in service.stops(machine, start_us, end_us) if s.unqualified),
        "running_order": order_row(service.current_order(machine)),
        "marks": marks,
    }
