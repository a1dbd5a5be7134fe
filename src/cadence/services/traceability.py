"""Traceability: backward genealogy (a part's serial → how it was made) and forward genealogy (a material
lot or heat → every part, order and lot made from it), with CSV and JSON exports (docs/domain.md §6).

Shared by the JSON API and the CLI, so both give the same answer. Depends only on the plant model and the
store port. An answer has two parts, so that its time does not grow with the size of a heat:

* the **summary** (parts, good and scrap per order and per lot, presses, dies, first and last stroke),
  counted by the store (:meth:`TimeSeriesStore.trace_summary`, an aggregate over an index);
* one **page** of parts, newest first (:meth:`TimeSeriesStore.find_strokes` with ``limit`` and
  ``offset``), with the total to page through.

Only the CSV export reads every part (:meth:`Traceability.export`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cadence.domain.cycles import Stroke
from cadence.domain.plant import Plant
from cadence.errors import NotFound
from cadence.ports import TimeSeriesStore, TraceGroup
from cadence.services.overview import shift_window
from cadence.services.plant_data import iso, stroke_json

# Parts per page when the caller does not say, and the most one page may hold: a tablet or a browser
# shows a few hundred rows; the whole list is the CSV export's job.
DEFAULT_PAGE = 100
MAX_PAGE = 5_000
# Most strokes one CSV export holds. A heat feeds a few thousand to tens of thousands of parts in a year;
# past this the export is marked truncated rather than exhausting the server's memory.
MAX_PARTS = 200_000
# Excel opens a CSV as UTF-8 only when it starts with a byte order mark.
BOM = "\ufeff"
SEPARATORS = (",", ";")  # ";" for Excel in locales whose decimal separator is the comma (French)


class TraceKind(StrEnum):
    SERIAL = "serial"
    LOT = "lot"
    MATERIAL_LOT = "material_lot"


@dataclass(frozen=True, slots=True)
class LotCount:
    """The good and scrapped parts of one production lot within one order."""

    lot: str | None
    good: int
    scrap: int


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
    first_us: int = 0  # start of its first and last stroke carrying the key
    last_us: int = 0
    per_lot: tuple[LotCount, ...] = ()


@dataclass(frozen=True, slots=True)
class Trace:
    """What one key reaches: the store's counts per group, and the strokes of one page (newest first).

    ``offset`` is the page's position in the newest-first list of all :attr:`parts`; :attr:`truncated`
    says more strokes exist than the ones held (further pages, or an export cut at MAX_PARTS).
    """

    kind: TraceKind
    key: str
    strokes: tuple[Stroke, ...]
    orders: tuple[OrderSummary, ...]
    groups: tuple[TraceGroup, ...] = ()
    offset: int = 0

    @property
    def parts(self) -> int:
        return sum(g.parts for g in self.groups)

    @property
    def good(self) -> int:
        return sum(g.good for g in self.groups)

    @property
    def scrap(self) -> int:
        return sum(g.scrap for g in self.groups)

    @property
    def first_us(self) -> int | None:
        return min((g.first_start_us for g in self.groups), default=None)

    @property
    def last_us(self) -> int | None:
        return max((g.last_start_us for g in self.groups), default=None)

    @property
    def material_lots(self) -> tuple[str, ...]:
        return _distinct(g.material_lot for g in self.groups)

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, None after the last one."""
        end = self.offset + len(self.strokes)
        return end if end < self.parts else None

    @property
    def truncated(self) -> bool:
        return self.next_offset is not None


class Traceability:
    """Answers traceability questions from the store."""

    def __init__(self, plant: Plant, store: TimeSeriesStore) -> None:
        self.plant = plant
        self.store = store

    def backward(self, serial: str, *, offset: int = 0, limit: int = DEFAULT_PAGE) -> Trace:
        """A serial number → its stroke(s) with press, die, order, lots, features and stored curve."""
        # The curve is wanted here: one part, one (rarely a few re-pressed) strokes.
        return self._trace(TraceKind.SERIAL, serial, offset=offset, limit=limit, with_waveform=True)

    def forward(self, material_lot: str, *, offset: int = 0, limit: int = DEFAULT_PAGE) -> Trace:
        """A material lot or heat number → every order and lot pressed from it, and a page of its parts."""
        return self._trace(TraceKind.MATERIAL_LOT, material_lot, offset=offset, limit=limit)

    def lot(self, lot: str, *, offset: int = 0, limit: int = DEFAULT_PAGE) -> Trace:
        """A production lot → its orders and material lots, and a page of its parts."""
        return self._trace(TraceKind.LOT, lot, offset=offset, limit=limit)

    def search(self, kind: TraceKind, key: str, *, offset: int = 0, limit: int = DEFAULT_PAGE) -> Trace:
        return {
            TraceKind.SERIAL: self.backward,
            TraceKind.LOT: self.lot,
            TraceKind.MATERIAL_LOT: self.forward,
        }[kind](key, offset=offset, limit=limit)

    def export(self, kind: TraceKind, key: str) -> Trace:
        """Every part (at most MAX_PARTS, newest first), for the CSV export; curves are left out."""
        return self._trace(kind, key, offset=0, limit=MAX_PARTS)

    def shift_of(self, stroke: Stroke) -> dict[str, Any]:
        """The shift the stroke was pressed in (its name, or None outside the calendar, and its start)."""
        window = shift_window(self.plant, stroke.start_us)
        return {"name": window.name, "start": iso(window.start_us)}

    def _trace(
        self, kind: TraceKind, key: str, *, offset: int, limit: int, with_waveform: bool = False
    ) -> Trace:
        key = key.strip()
        if not key:
            raise NotFound(f"an empty {kind.value} matches nothing", kind=kind.value)
        if offset < 0 or not 1 <= limit <= MAX_PARTS:
            raise ValueError(f"offset must be >= 0 and limit within 1..{MAX_PARTS}")
        serial, lot, material_lot = (key if kind is k else None for k in TraceKind)
        groups = self.store.trace_summary(serial=serial, lot=lot, material_lot=material_lot)
        if not groups:
            raise NotFound(f"no stroke has {kind.value} {key!r}", kind=kind.value, key=key)
        page = self.store.find_strokes(
            serial=serial,
            lot=lot,
            material_lot=material_lot,
            limit=limit,
            offset=offset,
            with_waveform=with_waveform,
        )
        return Trace(kind, key, tuple(page), summarise(groups), tuple(groups), offset)


def summarise(groups: Sequence[TraceGroup]) -> tuple[OrderSummary, ...]:
    """Per order (most recent first, as the store orders the groups): its part, lots with their good and
    scrap counts, presses, dies, totals and first and last stroke.

    >>> from cadence.ports import TraceGroup
    >>> g = [TraceGroup("OF-2", "BR-7", "L-9", "H-1", "P01", "D-3", 40, 2, 300, 900),
    ...      TraceGroup("OF-1", "BR-7", "L-8", "H-1", "P02", "D-3", 10, 0, 100, 200),
    ...      TraceGroup("OF-2", "BR-7", "L-9", "H-1", "P02", "D-4", 5, 1, 200, 400)]
    >>> [(o.order, o.machines, o.good, o.scrap, o.first_us, o.last_us) for o in summarise(g)]
    [('OF-2', ('P01', 'P02'), 45, 3, 200, 900), ('OF-1', ('P02',), 10, 0, 100, 200)]
    >>> summarise(g)[0].per_lot
    (LotCount(lot='L-9', good=45, scrap=3),)
    """
    by_order: dict[str | None, list[TraceGroup]] = {}
    for g in groups:
        by_order.setdefault(g.order, []).append(g)
    out = []
    for order, members in by_order.items():
        per_lot: dict[str | None, list[int]] = {}
        for g in members:
            counts = per_lot.setdefault(g.lot, [0, 0])
            counts[0] += g.good
            counts[1] += g.scrap
        out.append(
            OrderSummary(
                order=order,
                part=next((g.part for g in members if g.part), None),
                lots=_distinct(g.lot for g in members),
                machines=_distinct(g.machine for g in members),
                dies=_distinct(g.die for g in members),
                good=sum(g.good for g in members),
                scrap=sum(g.scrap for g in members),
                first_us=min(g.first_start_us for g in members),
                last_us=max(g.last_start_us for g in members),
                per_lot=tuple(
                    LotCount(lot, good, scrap)
                    for lot, (good, scrap) in sorted(per_lot.items(), key=lambda kv: kv[0] or "")
                ),
            )
        )
    return tuple(out)


def _distinct(values: Any) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if v}))


# --- exports -------------------------------------------------------------------------------------------


def trace_json(trace: Trace, service: Traceability | None = None) -> dict[str, Any]:
    """The JSON shape of a trace; with ``service``, a serial's strokes also carry their shift.

    ``parts``, ``good``, ``scrap``, ``first``/``last`` and ``orders`` cover every part of the key;
    ``strokes`` holds one page, described by ``page`` (``next_offset`` null on the last page).
    """
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
        "parts": trace.parts,
        "good": trace.good,
        "scrap": trace.scrap,
        "first": iso(trace.first_us),
        "last": iso(trace.last_us),
        "truncated": trace.truncated,
        "material_lots": list(trace.material_lots),
        "orders": [
            {
                "order": o.order,
                "part": o.part,
                "lots": list(o.lots),
                "machines": list(o.machines),
                "dies": list(o.dies),
                "good": o.good,
                "scrap": o.scrap,
                "first": iso(o.first_us),
                "last": iso(o.last_us),
                "per_lot": [{"lot": c.lot, "good": c.good, "scrap": c.scrap} for c in o.per_lot],
            }
            for o in trace.orders
        ],
        "page": {"offset": trace.offset, "returned": len(parts), "next_offset": trace.next_offset},
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
