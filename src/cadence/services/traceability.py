"""Traceability: backward genealogy (a part's serial → how it was made) and forward genealogy (a material
lot or heat → every part, order and lot made from it), with CSV and JSON exports (docs/domain.md §6).

Shared by the JSON API and the CLI, so both give the same answer. Depends only on the plant model and the
store port; every search goes through :meth:`TimeSeriesStore.find_strokes`, which answers from an index.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cadence.domain.cycles import Stroke
from cadence.domain.plant import Plant
from cadence.errors import NotFound
from cadence.ports import TimeSeriesStore
from cadence.services.overview import shift_window
from cadence.services.plant_data import iso, stroke_json

# Most strokes one search returns. A heat number feeds a few thousand to tens of thousands of parts in a
# year; past this the answer is marked truncated rather than exhausting the server's memory.
MAX_PARTS = 200_000
# Excel opens a CSV as UTF-8 only when it starts with a byte order mark.
BOM = "\ufeff"
SEPARATORS = (",", ";")  # ";" for Excel in locales whose decimal separator is the comma (French)


class TraceKind(StrEnum):
    SERIAL = "serial"
    LOT = "lot"
    MATERIAL_LOT = "material_lot"


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """One production order found in a trace, with the lots, presses and dies it used and its outcome."""

    order: str | None
    part: str | None
    lots: tuple[str, ...]
    machines: tuple[str, ...]
    dies: tuple[str, ...]
    good: int
    scrap: int


@dataclass(frozen=True, slots=True)
class Trace:
    """The strokes carrying one key (newest first) and what they add up to per order."""

    kind: TraceKind
    key: str
    strokes: tuple[Stroke, ...]
    orders: tuple[OrderSummary, ...]
    truncated: bool  # MAX_PARTS strokes were returned and more may exist

    @property
    def good(self) -> int:
        return sum(o.good for o in self.orders)

    @property
    def scrap(self) -> int:
        return sum(o.scrap for o in self.orders)


class Traceability:
    """Answers traceability questions from the store."""

    def __init__(self, plant: Plant, store: TimeSeriesStore) -> None:
        self.plant = plant
        self.store = store

    def backward(self, serial: str) -> Trace:
        """A serial number → its stroke(s) with press, die, order, lots, features and stored curve."""
        # The curve is wanted here: one part, one (rarely a few re-pressed) strokes.
        return self._trace(TraceKind.SERIAL, serial, with_waveform=True)

    def forward(self, material_lot: str) -> Trace:
        """A material lot or heat number → every part pressed from it, grouped by order."""
        return self._trace(TraceKind.MATERIAL_LOT, material_lot, with_waveform=False)

    def lot(self, lot: str) -> Trace:
        """A production lot → its parts, with the material lots and orders involved."""
        return self._trace(TraceKind.LOT, lot, with_waveform=False)

    def search(self, kind: TraceKind, key: str) -> Trace:
        return {
            TraceKind.SERIAL: self.backward,
            TraceKind.LOT: self.lot,
            TraceKind.MATERIAL_LOT: self.forward,
        }[kind](key)

    def shift_of(self, stroke: Stroke) -> dict[str, Any]:
        """The shift the stroke was pressed in (its name, or None outside the calendar, and its start)."""
        window = shift_window(self.plant, stroke.start_us)
        return {"name": window.name, "start": iso(window.start_us)}

    def _trace(self, kind: TraceKind, key: str, *, with_waveform: bool) -> Trace:
        key = key.strip()
        if not key:
            raise NotFound(f"an empty {kind.value} matches nothing", kind=kind.value)
        found = self.store.find_strokes(
            serial=key if kind is TraceKind.SERIAL else None,
            lot=key if kind is TraceKind.LOT else None,
            material_lot=key if kind is TraceKind.MATERIAL_LOT else None,
            limit=MAX_PARTS + 1,
            with_waveform=with_waveform,
        )
        if not found:
            raise NotFound(f"no stroke has {kind.value} {key!r}", kind=kind.value, key=key)
        truncated = len(found) > MAX_PARTS
        strokes = tuple(found[:MAX_PARTS])
        return Trace(kind, key, strokes, summarise(strokes), truncated)


def summarise(strokes: tuple[Stroke, ...] | list[Stroke]) -> tuple[OrderSummary, ...]:
    """Per order (in order of first appearance, newest first): lots, presses, dies, good and scrap."""
    groups: dict[str | None, list[Stroke]] = {}
    for s in strokes:
        groups.setdefault(s.order, []).append(s)
    out = []
    for order, members in groups.items():
        good = sum(1 for s in members if s.good)
        out.append(
            OrderSummary(
                order=order,
                part=next((s.part for s in members if s.part), None),
                lots=_distinct(s.lot for s in members),
                machines=_distinct(s.machine for s in members),
                dies=_distinct(s.die for s in members),
                good=good,
                scrap=len(members) - good,
            )
        )
    return tuple(out)


def _distinct(values: Any) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if v}))


# --- exports -------------------------------------------------------------------------------------------


def trace_json(trace: Trace, service: Traceability | None = None) -> dict[str, Any]:
    """The JSON shape of a trace; with ``service``, a serial's strokes also carry their shift."""
    parts = []
    for s in trace.strokes:
        item = stroke_json(s)
        if service is not None and trace.kind is TraceKind.SERIAL:
            item["shift"] = service.shift_of(s)
        parts.append(item)
    return {
        "ok": True,
        "kind": trace.kind.value,
        "key": trace.key,
        "parts": len(trace.strokes),
        "good": trace.good,
        "scrap": trace.scrap,
        "truncated": trace.truncated,
        "material_lots": list(_distinct(s.material_lot for s in trace.strokes)),
        "orders": [
            {
                "order": o.order,
                "part": o.part,
                "lots": list(o.lots),
                "machines": list(o.machines),
                "dies": list(o.dies),
                "good": o.good,
                "scrap": o.scrap,
            }
            for o in trace.orders
        ],
        "strokes": parts,
    }


CSV_KEYS = (
    "machine",
    "n",
    "start",
    "end",
    "good",
    "scrap_reason",
    "order",
    "part",
    "lot",
    "material_lot",
    "serial",
    "die",
)


def trace_csv(trace: Trace, separator: str = ",") -> str:
    """One row per stroke: the keys, then every feature found (sorted). Starts with a BOM for Excel.

    Curves are left out: a CSV row is per part, and curves are served by the JSON export.
    """
    if separator not in SEPARATORS:
        raise ValueError(f"separator must be one of {SEPARATORS}")
    features = sorted({name for s in trace.strokes for name in s.features})
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    writer.writerow([*CSV_KEYS, *features])
    for s in trace.strokes:
        keys = (s.machine, s.n, iso(s.start_us), iso(s.end_us), "OK" if s.good else "NOK", s.scrap_reason)
        ids = (s.order, s.part, s.lot, s.material_lot, s.serial, s.die)
        # repr keeps every digit of a float, so a re-read CSV gives back exactly the stored feature.
        values = [repr(s.features[f]) if f in s.features else "" for f in features]
        writer.writerow([*("" if v is None else v for v in (*keys, *ids)), *values])
    return BOM + buffer.getvalue()


def csv_filename(trace: Trace) -> str:
    """A download name safe on every file system, e.g. ``trace-material_lot-HEAT-55120.csv``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", trace.key).strip("._") or "key"
    return f"trace-{trace.kind.value}-{safe[:80]}.csv"
