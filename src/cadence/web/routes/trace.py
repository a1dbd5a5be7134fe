"""Traceability: backward genealogy of a serial, forward genealogy of a material lot, a lot's parts.

The JSON answer carries the counts of every part (summed by the store) and one page of parts; ``offset``
and ``limit`` page through them. The CSV is the full list. Each part names its operator and the source
(press or tablet order) of each genealogy key; a lot or heat also reaches parts made under tablet orders
carrying it (docs/guides/traceability.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from cadence.runtime import Runtime
from cadence.services.traceability import (
    DEFAULT_PAGE,
    MAX_PAGE,
    Traceability,
    TraceKind,
    csv_filename,
    trace_csv,
    trace_json,
)
from cadence.web.deps import RuntimeDep

router = APIRouter(prefix="/api/v1/trace", tags=["traceability"])

Format = Annotated[Literal["json", "csv"], Query(description="json, or csv as a file download")]
Separator = Annotated[
    Literal[",", ";"], Query(alias="sep", description="CSV separator: ';' for French-locale Excel")
]
Offset = Annotated[int, Query(ge=0, description="JSON: parts to skip, newest first (next_offset)")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="JSON: parts in the page")]


def _answer(
    runtime: Runtime, kind: TraceKind, key: str, fmt: str, sep: str, offset: int, limit: int
) -> dict[str, Any] | Response:
    service = Traceability(runtime.plant, runtime.store)
    if fmt == "csv":
        trace = service.export(kind, key)
        return Response(
            trace_csv(trace, sep),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{csv_filename(trace)}"'},
        )
    return trace_json(service.search(kind, key, offset=offset, limit=limit), service)


@router.get("/serial/{serial:path}", response_model=None)
def by_serial(
    serial: str,
    runtime: RuntimeDep,
    format: Format = "json",
    sep: Separator = ",",
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE,
) -> dict[str, Any] | Response:
    """Backward genealogy: the part's stroke, press, die, order, lots, operator, shift, features, curve."""
    return _answer(runtime, TraceKind.SERIAL, serial, format, sep, offset, limit)


@router.get("/material-lot/{material_lot:path}", response_model=None)
def by_material_lot(
    material_lot: str,
    runtime: RuntimeDep,
    format: Format = "json",
    sep: Separator = ",",
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE,
) -> dict[str, Any] | Response:
    """Forward genealogy: the orders and lots made from a material lot, good/scrap, a page of parts."""
    return _answer(runtime, TraceKind.MATERIAL_LOT, material_lot, format, sep, offset, limit)


@router.get("/lot/{lot:path}", response_model=None)
def by_lot(
    lot: str,
    runtime: RuntimeDep,
    format: Format = "json",
    sep: Separator = ",",
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE,
) -> dict[str, Any] | Response:
    """A production lot's orders and material lots, and a page of its parts."""
    return _answer(runtime, TraceKind.LOT, lot, format, sep, offset, limit)
