"""Traceability: backward genealogy (a part's serial → how it was made) and forward genealogy (a material
lot or heat → every part, order and lot made from it), with CSV and JSON exports (docs/domain.md §6).

Shared by the JSON API and the CLI, so both give the same answer. Depends only on the plant model and the
store port. An answer has two parts, so that its time does not grow with the size of a heat:

* the **summary** (parts, good and scrap per order and per lot, presses, dies, first and last stroke),
  counted by the store (:meth:`TimeSeriesStore.trace_summary`, an aggregate over an index);
* one **page** of parts, newest first (:meth:`TimeSeriesStore.find_strokes` with ``limit`` and
  ``offset``), with the total to page through.

Only the CSV export reads every part (:meth:`Traceability.export`).

Tablet orders fill what the press did not send. Older presses often send no order, lot or heat; the
order an operator started on the tablet (:class:`~cadence.domain.operator.OrderEvent`) is then the only
source. Each part gets the tablet order in force on its press at its start (:class:`PartOrigin`): its
operator, and every genealogy key the stroke lacks, marked ``tablet`` (``press`` for what the controller
sent); where both exist and differ the press's value is kept and the disagreement listed. A lot or heat
also reaches the parts made under tablet orders carrying it whose strokes lack that key (counted by
:meth:`TimeSeriesStore.order_window_summary`, never twice: a stroke carrying the key is the press's),
and the parts list pages through both sources as one newest-first list.
"""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cadence.domain.cycles import Stroke
from cadence.domain.plant import Plant
from cadence.errors import NotFound
from cadence.ports import OrderWindow, TimeSeriesStore, TraceGroup, WindowGroup
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


class Source(StrEnum):
    """Where a part's genealogy key came from: the press controller, or the order typed on the tablet."""

    PRESS = "press"
    TABLET = "tablet"


# The genealogy keys a tablet order can fill, and the OrderEvent field holding each.
GENEALOGY_KEYS = ("order", "part", "lot", "material_lot", "die")
_TABLET_FIELD = {
    "order": "order",
    "part": "part_number",
    "lot": "lot",
    "material_lot": "material_lot",
    "die": "die",
}


@dataclass(frozen=True, slots=True)
class Conflict:
    """The press and the tablet order gave one key different values; the press's is the one kept."""

    key: str
    press: str
    tablet: str


@dataclass(frozen=True, slots=True)
class PartOrigin:
    """A part's genealogy keys with their source, and the tablet order in force on its press (if any)."""

    values: dict[str, str | None]
    sources: dict[str, Source | None]
    tablet: OrderWindow | None = None
    conflicts: tuple[Conflict, ...] = ()

    @property
    def operator(self) -> str | None:
        """Who started the order in force on the tablet (None: no tablet order then)."""
        return None if self.tablet is None else self.tablet.start.by

    def marked(self, key: str) -> str:
        """The key's value for a table: ``—`` when unknown, ``†`` after a value the tablet filled in."""
        value = self.values[key]
        return "—" if value is None else value + (" †" if self.sources[key] is Source.TABLET else "")


def resolve(stroke: Stroke, tablet: OrderWindow | None) -> PartOrigin:
    """The stroke's keys, those it lacks filled from the tablet order in force, each with its source.

    >>> from cadence.domain.operator import OrderEvent, OrderKind
    >>> start = OrderEvent("P01", 10, OrderKind.START, order="OF-1", part_number="BR-7", lot="L-2",
    ...                    material_lot="H-9", by="lea")
    >>> o = resolve(Stroke("P01", 4, 20, 25, True, lot="L-1"), OrderWindow(start, None))
    >>> o.values["order"], o.sources["order"], o.values["lot"], o.sources["lot"], o.operator
    ('OF-1', <Source.TABLET: 'tablet'>, 'L-1', <Source.PRESS: 'press'>, 'lea')
    >>> o.conflicts, o.sources["die"]
    ((Conflict(key='lot', press='L-1', tablet='L-2'),), None)
    """
    values: dict[str, str | None] = {}
    sources: dict[str, Source | None] = {}
    conflicts = []
    for key in GENEALOGY_KEYS:
        press = getattr(stroke, key)
        typed = None if tablet is None else getattr(tablet.start, _TABLET_FIELD[key])
        if press:
            values[key], sources[key] = press, Source.PRESS
            if typed and typed != press:
                conflicts.append(Conflict(key, press, typed))
        elif typed:
            values[key], sources[key] = typed, Source.TABLET
        else:
            values[key], sources[key] = None, None
    return PartOrigin(values, sources, tablet, tuple(conflicts))


def _fill(window_group: WindowGroup) -> TraceGroup:
    """A tablet window's group with the keys its strokes lack taken from the tablet order."""
    g, start = window_group.group, window_group.window.start
    return TraceGroup(
        g.order or start.order,
        g.part or start.part_number,
        g.lot or start.lot,
        g.material_lot or start.material_lot,
        g.machine,
        g.die or start.die,
        g.good,
        g.scrap,
        g.first_start_us,
        g.last_start_us,
    )


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
    tablet_parts: int = 0  # of good + scrap, the parts found through a tablet order, not the press's keys
    operators: tuple[str, ...] = ()  # who started those tablet orders


@dataclass(frozen=True, slots=True)
class Trace:
    """What one key reaches: the store's counts per group, and the strokes of one page (newest first).

    ``offset`` is the page's position in the newest-first list of all :attr:`parts`; :attr:`truncated`
    says more strokes exist than the ones held (further pages, or an export cut at MAX_PARTS).
    ``groups`` are the strokes carrying the key, ``tablet_groups`` those found through tablet orders
    (keys already filled from the order); ``origins`` gives each stroke of the page its sources.
    """

    kind: TraceKind
    key: str
    strokes: tuple[Stroke, ...]
    orders: tuple[OrderSummary, ...]
    groups: tuple[TraceGroup, ...] = ()
    offset: int = 0
    tablet_groups: tuple[TraceGroup, ...] = ()
    origins: tuple[PartOrigin, ...] = ()

    @property
    def _all_groups(self) -> tuple[TraceGroup, ...]:
        return self.groups + self.tablet_groups

    @property
    def parts(self) -> int:
        return sum(g.parts for g in self._all_groups)

    @property
    def tablet_parts(self) -> int:
        """Parts found only through a tablet order (their strokes lack the searched key)."""
        return sum(g.parts for g in self.tablet_groups)

    @property
    def good(self) -> int:
        return sum(g.good for g in self._all_groups)

    @property
    def scrap(self) -> int:
        return sum(g.scrap for g in self._all_groups)

    @property
    def first_us(self) -> int | None:
        return min((g.first_start_us for g in self._all_groups), default=None)

    @property
    def last_us(self) -> int | None:
        return max((g.last_start_us for g in self._all_groups), default=None)

    @property
    def material_lots(self) -> tuple[str, ...]:
        return _distinct(g.material_lot for g in self._all_groups)

    def parts_with_origin(self) -> list[tuple[Stroke, PartOrigin]]:
        """The page's strokes, each with its :class:`PartOrigin`."""
        return list(zip(self.strokes, self.origins, strict=True))

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
        # A serial is the press's alone; a lot or heat may also come from tablet orders.
        windows = [] if serial else self.store.order_window_summary(lot=lot, material_lot=material_lot)
        if not groups and not windows:
            raise NotFound(f"no stroke has {kind.value} {key!r}", kind=kind.value, key=key)
        if windows:
            page = self.store.find_strokes_with_orders(
                lot=lot, material_lot=material_lot, limit=limit, offset=offset
            )
        else:  # the common case keeps the plain index-ordered page
            page = self.store.find_strokes(
                serial=serial,
                lot=lot,
                material_lot=material_lot,
                limit=limit,
                offset=offset,
                with_waveform=with_waveform,
            )
        return Trace(
            kind,
            key,
            tuple(page),
            summarise(groups, windows),
            tuple(groups),
            offset,
            tuple(_fill(w) for w in windows),
            self.origins(page),
        )

    def origins(self, strokes: Sequence[Stroke]) -> tuple[PartOrigin, ...]:
        """Each stroke's :class:`PartOrigin`: the tablet orders of each press over the strokes' time span
        are read once (:meth:`TimeSeriesStore.order_windows`), then each stroke finds its own by bisection."""
        spans: dict[str, tuple[int, int]] = {}
        for s in strokes:
            lo, hi = spans.get(s.machine, (s.start_us, s.start_us))
            spans[s.machine] = (min(lo, s.start_us), max(hi, s.start_us))
        windows = {m: self.store.order_windows(m, lo, hi + 1) for m, (lo, hi) in spans.items()}
        starts = {m: [w.start.at_us for w in ws] for m, ws in windows.items()}
        out = []
        for s in strokes:
            i = bisect_right(starts[s.machine], s.start_us) - 1
            window = windows[s.machine][i] if i >= 0 else None
            out.append(resolve(s, window if window is not None and window.covers(s.start_us) else None))
        return tuple(out)


def summarise(groups: Sequence[TraceGroup], windows: Sequence[WindowGroup] = ()) -> tuple[OrderSummary, ...]:
    """Per order (most recent first): its part, lots with their good and scrap counts, presses, dies,
    totals and first and last stroke. ``windows``' groups (parts found through tablet orders) are merged in
    with their keys filled from the order, and counted in ``tablet_parts`` with the ``operators``.

    >>> from cadence.ports import TraceGroup
    >>> g = [TraceGroup("OF-2", "BR-7", "L-9", "H-1", "P01", "D-3", 40, 2, 300, 900),
    ...      TraceGroup("OF-1", "BR-7", "L-8", "H-1", "P02", "D-3", 10, 0, 100, 200),
    ...      TraceGroup("OF-2", "BR-7", "L-9", "H-1", "P02", "D-4", 5, 1, 200, 400)]
    >>> [(o.order, o.machines, o.good, o.scrap, o.first_us, o.last_us) for o in summarise(g)]
    [('OF-2', ('P01', 'P02'), 45, 3, 200, 900), ('OF-1', ('P02',), 10, 0, 100, 200)]
    >>> summarise(g)[0].per_lot
    (LotCount(lot='L-9', good=45, scrap=3),)
    """
    tablet = [(_fill(w), w.window.start.by) for w in windows]
    merged = [(g, None) for g in groups] + tablet
    # Stable: with press groups alone, the store's order (most recent group first) is kept as it was.
    merged.sort(key=lambda gb: -gb[0].last_start_us)
    by_order: dict[str | None, list[TraceGroup]] = {}
    by_tablet: dict[str | None, list[tuple[TraceGroup, str]]] = {}
    for g, by in merged:
        by_order.setdefault(g.order, []).append(g)
        if by is not None:
            by_tablet.setdefault(g.order, []).append((g, by))
    out = []
    for order, members in by_order.items():
        from_tablet = by_tablet.get(order, [])
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
                tablet_parts=sum(g.parts for g, _ in from_tablet),
                operators=_distinct(by for _, by in from_tablet),
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
    for s, origin in trace.parts_with_origin():
        item = stroke_json(s)  # the keys as the press sent them; "keys" adds the tablet's, marked
        if service is not None and trace.kind is TraceKind.SERIAL:
            item["shift"] = service.shift_of(s)
        item |= origin_json(origin)
        parts.append(item)
    return {
        "ok": True,
        "kind": trace.kind.value,
        "key": trace.key,
        "parts": trace.parts,
        "tablet_parts": trace.tablet_parts,
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
                "tablet_parts": o.tablet_parts,
                "operators": list(o.operators),
            }
            for o in trace.orders
        ],
        "page": {"offset": trace.offset, "returned": len(parts), "next_offset": trace.next_offset},
        "strokes": parts,
    }


def origin_json(origin: PartOrigin) -> dict[str, Any]:
    """A part's ``operator``, the ``tablet_order`` in force (or null), its ``keys`` each as
    ``{"value", "source"}`` (source ``press``, ``tablet`` or null) and the press/tablet ``conflicts``."""
    tablet = None
    if origin.tablet is not None:
        start = origin.tablet.start
        tablet = {
            "order": start.order,
            "part": start.part_number,
            "lot": start.lot,
            "material_lot": start.material_lot,
            "die": start.die,
            "started": iso(start.at_us),
            "started_by": start.by,
            "ended": iso(origin.tablet.end_us),
        }
    return {
        "operator": origin.operator,
        "tablet_order": tablet,
        "keys": {
            k: {
                "value": origin.values[k],
                "source": None if (src := origin.sources[k]) is None else src.value,
            }
            for k in GENEALOGY_KEYS
        },
        "conflicts": [{"key": c.key, "press": c.press, "tablet": c.tablet} for c in origin.conflicts],
    }


# order, part, lot, material_lot and die hold the resolved value; its <key>_source column says whether
# the press sent it or the tablet order filled it.
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
    "operator",
    *(f"{k}_source" for k in GENEALOGY_KEYS),
    "conflicts",
)


def conflicts_text(origin: PartOrigin) -> str:
    """``lot: press L-1, tablet L-2; die: ...`` (empty without conflicts)."""
    return "; ".join(f"{c.key}: press {c.press}, tablet {c.tablet}" for c in origin.conflicts)


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
    for s, origin in trace.parts_with_origin():
        keys = (s.machine, s.n, iso(s.start_us), iso(s.end_us), "OK" if s.good else "NOK", s.scrap_reason)
        v = origin.values
        ids = (v["order"], v["part"], v["lot"], v["material_lot"], s.serial, v["die"], origin.operator)
        sources = (None if (src := origin.sources[k]) is None else src.value for k in GENEALOGY_KEYS)
        # repr keeps every digit of a float, so a re-read CSV gives back exactly the stored feature.
        values = [repr(s.features[f]) if f in s.features else "" for f in features]
        cells = (*keys, *ids, *sources, conflicts_text(origin))
        writer.writerow([*("" if c is None else c for c in cells), *values])
    return BOM + buffer.getvalue()


def csv_filename(trace: Trace) -> str:
    """A download name safe on every file system, e.g. ``trace-material_lot-HEAT-55120.csv``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", trace.key).strip("._") or "key"
    return f"trace-{trace.kind.value}-{safe[:80]}.csv"
