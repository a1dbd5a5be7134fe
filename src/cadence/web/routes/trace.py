"""Traceability: backward genealogy of a serial, forward genealogy of a material lot, a lot's parts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from cadence.runtime import Runtime
from cadence.services.traceability import Traceability, TraceKind, csv_filename, trace_csv, trace_json
from cadence.web.deps import RuntimeDep

router = APIRouter(prefix="/api/v1/trace", tags=["traceability"])

Format = Annotated[Literal["json", "csv"], Query(description="json, or csv as a file download")]
Separator = Annotated[
    Literal[",", ";"], Query(alias="sep", description="CSV separator: ';' for French-locale Excel")
]


def _answer(runtime: Runtime, kind: TraceKind, key: str, fmt: str, sep: str) -> dict[str, Any] | Response:
    service = Traceability(runtime.plant, runtime.store)
    trace = service.search(kind, key)
    if fmt == "csv":
        return Response(
            trace_csv(trace, sep),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{csv_filename(trace)}"'},
        )
    return trace_json(trace, service)


@router.get("/serial/{serial}", response_model=None)
def by_serial(
    serial: str, runtime: RuntimeDep, format: Format = "json", sep: Separator = ","
) -> dict[str, Any] | Response:
    """Backward genealogy: the part's stroke, press, die, order, lots, shift, features and curve."""
    return _answer(runtime, TraceKind.SERIAL, serial, format, sep)


@router.get("/material-lot/{material_lot}", response_model=None)
def by_material_lot(
    material_lot: str, runtime: RuntimeDep, format: Format = "json", sep: Separator = ","
) -> dict[str, Any] | Response:
    """Forward genealogy: every part, order and lot made from a material lot, with good/scrap per order."""
    return _answer(runtime, TraceKind.MATERIAL_LOT, material_lot, format, sep)


@router.get("/lot/{lot}", response_model=None)
def by_lot(
    lot: str, runtime: RuntimeDep, format: Format = "json", sep: Separator = ","
) -> dict[str, Any] | Response:
    """A production lot's parts, with the material lots and orders involved."""
    return _answer(runtime, TraceKind.LOT, lot, format, sep)
