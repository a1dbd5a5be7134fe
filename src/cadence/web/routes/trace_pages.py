"""The traceability page on the tablet: a serial → its part card (press, die, order, lots with their
source, operator, shift, features and curve); a lot or heat → what it reached and a page of its parts.

Everything is read through :class:`~cadence.services.traceability.Traceability`, the service of the JSON
API and the CLI, so the page, the API and the CSV give the same answer; the same permission as the API
(``view_plant``). A search that finds nothing, or a mistyped one, answers the form with a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cadence.auth import Permission, require, require_session
from cadence.auth.service import CurrentSession
from cadence.clock import to_datetime
from cadence.errors import InvalidInput, NotFound
from cadence.services.traceability import (
    GENEALOGY_KEYS,
    PartOrigin,
    Source,
    Trace,
    Traceability,
    TraceKind,
    csv_filename,
    trace_csv,
)
from cadence.web.deps import RuntimeDep
from cadence.web.i18n import translations
from cadence.web.routes.pages import page_locale, render, who
from cadence.web.vocabulary import FEATURE_LABELS, N_

router = APIRouter(include_in_schema=False)

TraceSession = Annotated[CurrentSession, require_session(Permission.VIEW_PLANT)]

# The words of the search form, and the service's kind each stands for ("heat" is the shop's word for
# a material lot).
KINDS = {"serial": TraceKind.SERIAL, "lot": TraceKind.LOT, "heat": TraceKind.MATERIAL_LOT}
KIND_LABELS = {"serial": N_("Serial"), "lot": N_("Lot"), "heat": N_("Heat")}
KEY_LABELS = {
    "order": N_("Order"),
    "part": N_("Part number"),
    "lot": N_("Lot"),
    "material_lot": N_("Heat"),
    "die": N_("Die"),
}
# Rows per page: a lot or heat's parts fill a tablet screen or two; a serial's strokes (one, or a few
# when a part was pressed again) each get a card with its curve.
PAGE_SIZE = {TraceKind.SERIAL: 5, TraceKind.LOT: 50, TraceKind.MATERIAL_LOT: 50}
MAX_KEY = 200  # longer than any serial, lot or heat number; longer input is a mistake, not a search
MAX_OFFSET = 10_000_000


class BadSearch(ValueError):
    """The form's input cannot be a search (unknown kind, empty or over-long key, bad page)."""


def _parse(kind: str, q: str | None, offset: str) -> tuple[str, str, int]:
    if kind not in KINDS:
        raise BadSearch(N_("Choose serial, lot or heat."))
    key = (q or "").strip()
    if not key:
        raise BadSearch(N_("Type a serial, lot or heat number."))
    if len(key) > MAX_KEY or not key.isprintable():
        raise BadSearch(N_("This number is too long or holds characters that cannot be typed."))
    try:
        start = int(offset)
    except ValueError:
        raise BadSearch(N_("Unknown page.")) from None
    if not 0 <= start <= MAX_OFFSET:
        raise BadSearch(N_("Unknown page."))
    return kind, key, start


def _keys(origin: PartOrigin) -> list[dict[str, Any]]:
    """Each genealogy key with its value and source (``press``, ``tablet`` or None when unknown)."""
    return [
        {
            "key": k,
            "label": KEY_LABELS[k],
            "value": origin.values[k],
            "source": None if (src := origin.sources[k]) is None else src.value,
        }
        for k in GENEALOGY_KEYS
    ]


def _curve(stroke: Any) -> str | None:
    """The stored (down-sampled) curve as JSON for the chart: time step, pressure and position."""
    wave = stroke.waveform
    if wave is None or "pressure" not in wave.signals:
        return None
    signals = {k: [float(v) for v in wave.signals[k]] for k in ("pressure", "position") if k in wave.signals}
    return json.dumps({"dt_us": wave.dt_us, **signals})


def _cards(service: Traceability, trace: Trace) -> list[dict[str, Any]]:
    cards = []
    for s, origin in trace.parts_with_origin():
        shift = service.shift_of(s)
        cards.append(
            {
                "machine": s.machine,
                "n": s.n,
                "serial": s.serial,
                "start": to_datetime(s.start_us),
                "duration_s": s.duration_s,
                "good": s.good,
                "reason": s.scrap_reason,
                "keys": _keys(origin),
                "values": origin.values,
                "operator": origin.operator,
                "conflicts": [
                    {"label": KEY_LABELS[c.key], "press": c.press, "tablet": c.tablet}
                    for c in origin.conflicts
                ],
                "shift": shift["name"],
                "features": _features(s.features),
                "curve": _curve(s),
            }
        )
    return cards


def _features(features: Mapping[str, float]) -> list[tuple[str, float]]:
    """``(label msgid, value)`` in the order of the standard features, then the plant's own by name."""
    order = {name: k for k, name in enumerate(FEATURE_LABELS)}
    names = sorted(features, key=lambda n: (order.get(n, len(order)), n))
    return [(FEATURE_LABELS.get(n, n), features[n]) for n in names]


def _rows(trace: Trace) -> list[dict[str, Any]]:
    return [
        {
            "machine": s.machine,
            "n": s.n,
            "serial": s.serial,
            "start": to_datetime(s.start_us),
            "good": s.good,
            "reason": s.scrap_reason,
            "values": origin.values,
            "tablet": {k for k in GENEALOGY_KEYS if origin.sources[k] is Source.TABLET},
            "operator": origin.operator,
            "conflict": bool(origin.conflicts),
        }
        for s, origin in trace.parts_with_origin()
    ]


def _summary(trace: Trace) -> dict[str, Any]:
    return {
        "parts": trace.parts,
        "good": trace.good,
        "scrap": trace.scrap,
        "tablet_parts": trace.tablet_parts,
        "first": None if trace.first_us is None else to_datetime(trace.first_us),
        "last": None if trace.last_us is None else to_datetime(trace.last_us),
        "material_lots": trace.material_lots,
        "orders": [
            {
                "order": o.order,
                "part": o.part,
                "per_lot": o.per_lot,
                "machines": o.machines,
                "dies": o.dies,
                "good": o.good,
                "scrap": o.scrap,
                "first": to_datetime(o.first_us),
                "last": to_datetime(o.last_us),
                "tablet_parts": o.tablet_parts,
                "operators": o.operators,
            }
            for o in trace.orders
        ],
    }


@router.get("/trace", response_class=HTMLResponse)
def trace_page(
    request: Request,
    runtime: RuntimeDep,
    session: TraceSession,
    kind: str = "serial",
    q: str | None = None,
    offset: str = "0",
) -> HTMLResponse:
    """The search form; with ``q``, the part card (serial) or the lot's or heat's summary and parts."""
    user = session.user
    gettext = translations(page_locale(request, user)).gettext
    context: dict[str, Any] = {
        "kind": kind if kind in KINDS else "serial",
        "q": (q or "")[: MAX_KEY + 1],
        "kinds": KIND_LABELS,
        "message": None,
        "result": None,
        **who(session),
    }
    status = 200
    if q is not None:
        try:
            kind, key, start = _parse(kind, q, offset)
        except BadSearch as err:
            context["message"], status = gettext(str(err)), 422
        else:
            context["result"], context["message"] = _search(runtime, kind, key, start, gettext)
    page = render(request, "trace.html", nav="trace", **context)
    page.status_code = status
    return page


def _search(runtime: Any, kind: str, key: str, start: int, gettext: Any) -> tuple[Any, str | None]:
    service = Traceability(runtime.plant, runtime.store)
    size = PAGE_SIZE[KINDS[kind]]
    try:
        trace = service.search(KINDS[kind], key, offset=start, limit=size)
    except NotFound:
        # Nothing is a finding too: the complaint's serial was never pressed here, or was mistyped.
        return None, gettext("Nothing found for %(kind)s “%(key)s”.") % {
            "kind": gettext(KIND_LABELS[kind]).lower(),
            "key": key,
        }
    shown = len(trace.strokes)
    result = {
        "kind": kind,
        "key": key,
        "summary": _summary(trace),
        "first_row": start + 1 if shown else start,
        "last_row": start + shown,
        "prev_offset": max(0, start - size) if start > 0 else None,
        "next_offset": trace.next_offset,
    }
    if kind == "serial":
        result["cards"] = _cards(service, trace)
    else:
        result["rows"] = _rows(trace)
    return result, None


@router.get("/trace.csv", dependencies=[require(Permission.VIEW_PLANT)])
def trace_download(runtime: RuntimeDep, kind: str, q: str, sep: str = ";") -> Response:
    """Every part of a lot or heat (or a serial's strokes) as the API's CSV export, as a download.

    The same export as ``/api/v1/trace/...?format=csv``, reached by query parameters so that a key
    holding ``/`` (``L-2025/11``) downloads too: in the API's path it would split the route.
    """
    try:
        kind, key, _start = _parse(kind, q, "0")
    except BadSearch as err:
        raise InvalidInput(str(err), reason="bad_search") from None
    if sep not in (",", ";"):
        sep = ";"
    trace = Traceability(runtime.plant, runtime.store).export(KINDS[kind], key)
    return Response(
        trace_csv(trace, sep),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{csv_filename(trace)}"'},
    )
