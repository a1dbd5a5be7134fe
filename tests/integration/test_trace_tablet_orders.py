"""Traceability through tablet orders, over a real SQLite store: an old press sends no order keys, the
operator's tablet order fills them (marked ``tablet``), a disagreement is listed, and a heat or lot reaches
the parts of both sources exactly once.

Expected answers are recomputed here from every stroke and every order event, one by one, independently
of the store's windows and SQL counts.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain import Batch, IdempotencyKey
from cadence.domain.cycles import Stroke
from cadence.domain.operator import OrderEvent, OrderKind
from cadence.runtime import Runtime, open_runtime
from cadence.services.traceability import BOM, Source, Traceability, TraceKind, trace_csv
from cadence.web.app import create_app
from support.auth import FAST_AUTH, sign_in

T0 = 1_764_403_200_000_000  # 2025-11-29T08:00:00Z
MINUTE = 60_000_000
KEYS = ("order", "part", "lot", "material_lot", "die")
TABLET_FIELD = {
    "order": "order",
    "part": "part_number",
    "lot": "lot",
    "material_lot": "material_lot",
    "die": "die",
}


def _strokes() -> list[Stroke]:
    out = []
    for n in range(1, 121):
        # P01, an old press: a serial, nothing else.
        out.append(
            Stroke("P01", n, T0 + n * MINUTE, T0 + n * MINUTE + 7_000_000, n % 9 != 0, serial=f"A-{n}")
        )
        # P02 sends its order and die; its heat is HEAT-7 until n 60, then HEAT-8; its lot only until n 60.
        out.append(
            Stroke(
                "P02",
                n,
                T0 + n * MINUTE + 1_000_000,
                T0 + n * MINUTE + 8_000_000,
                n % 7 != 0,
                order="OF-B",
                part="BR-9",
                lot="L-B" if n <= 60 else None,
                material_lot="HEAT-7" if n <= 60 else "HEAT-8",
                serial=f"B-{n}",
                die="D-9",
            )
        )
    return out


EVENTS = (
    OrderEvent("P01", T0 + 10 * MINUTE, OrderKind.START, "OF-A", "BR-7", "L-A", "HEAT-7", "D-1", "lea"),
    OrderEvent("P01", T0 + 50 * MINUTE, OrderKind.START, "OF-C", "BR-7", "L-C", "HEAT-9", None, "max"),
    OrderEvent("P01", T0 + 80 * MINUTE, OrderKind.END, by="max"),
    # P02's controller says HEAT-8 from n 61; the operator typed HEAT-7: a disagreement to show.
    OrderEvent("P02", T0 + 70 * MINUTE, OrderKind.START, "OF-B", "BR-9", "L-B", "HEAT-7", "D-9", "ana"),
)


@dataclass(frozen=True)
class Expected:
    stroke: Stroke
    values: dict[str, str | None]
    sources: dict[str, str | None]
    operator: str | None


def _expected(strokes: list[Stroke]) -> list[Expected]:
    """Each stroke with the tablet order in force (the last event at or before it, if a start)."""
    out = []
    for s in strokes:
        before = [e for e in EVENTS if e.machine == s.machine and e.at_us <= s.start_us]
        tablet = before[-1] if before and before[-1].kind is OrderKind.START else None
        values: dict[str, str | None] = {}
        sources: dict[str, str | None] = {}
        for key in KEYS:
            press, typed = getattr(s, key), tablet and getattr(tablet, TABLET_FIELD[key])
            values[key] = press or typed
            sources[key] = "press" if press else ("tablet" if typed else None)
        out.append(Expected(s, values, sources, tablet.by if tablet else None))
    return out


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data_dir = tmp_path_factory.mktemp("tablet-trace")
    rt = open_runtime(load_settings(data_dir=data_dir, **FAST_AUTH), clock=SimClock(start_us=T0))
    rt.store.append(
        [Batch(IdempotencyKey("trace-test", 1, 0), "P01", strokes=tuple(_strokes()), digest=b"t")]
    )
    for event in EVENTS:
        rt.store.record_order_event(event)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def service(runtime: Runtime) -> Traceability:
    return Traceability(runtime.plant, runtime.store)


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        sign_in(c, runtime.auth, "operator")
        yield c


def test_a_press_without_keys_gets_them_from_the_tablet_marked_as_such(service: Traceability) -> None:
    trace = service.backward("A-20")
    (origin,) = trace.origins
    assert trace.strokes[0].order is None  # the stroke itself stays what the press sent
    assert origin.operator == "lea"
    assert origin.values == {
        "order": "OF-A",
        "part": "BR-7",
        "lot": "L-A",
        "material_lot": "HEAT-7",
        "die": "D-1",
    }
    assert set(origin.sources.values()) == {Source.TABLET} and origin.conflicts == ()
    assert origin.tablet is not None and origin.tablet.start == EVENTS[0]
    assert origin.tablet.end_us == EVENTS[1].at_us
    # Before the first order and after the end: no tablet order, nothing filled, nobody named.
    for serial in ("A-5", "A-100"):
        (none,) = service.backward(serial).origins
        assert none.tablet is None and none.operator is None and set(none.values.values()) == {None}


def test_a_disagreement_keeps_the_press_value_and_is_listed(service: Traceability) -> None:
    (origin,) = service.backward("B-90").origins
    assert origin.operator == "ana"
    assert (origin.values["material_lot"], origin.sources["material_lot"]) == ("HEAT-8", Source.PRESS)
    assert (origin.values["lot"], origin.sources["lot"]) == ("L-B", Source.TABLET)
    assert [(c.key, c.press, c.tablet) for c in origin.conflicts] == [("material_lot", "HEAT-8", "HEAT-7")]
    (agreeing,) = service.backward("B-30").origins  # before the tablet order: press alone, no conflict
    assert (
        agreeing.operator is None and agreeing.conflicts == () and agreeing.sources["order"] is Source.PRESS
    )


def test_every_backward_answer_matches_a_recomputation(service: Traceability) -> None:
    for e in _expected(_strokes())[::7]:
        (origin,) = service.backward(str(e.stroke.serial)).origins
        assert origin.values == e.values
        assert {k: None if v is None else v.value for k, v in origin.sources.items()} == e.sources
        assert origin.operator == e.operator


@pytest.mark.parametrize(("kind", "key"), [(TraceKind.MATERIAL_LOT, "HEAT-7"), (TraceKind.LOT, "L-B")])
def test_forward_counts_both_sources_once_and_pages_cover_every_part(
    service: Traceability, kind: TraceKind, key: str
) -> None:
    mine = [e for e in _expected(_strokes()) if e.values[kind.value] == key]
    from_tablet = [e for e in mine if e.sources[kind.value] == "tablet"]
    assert len(from_tablet) > 10 and len(mine) > len(from_tablet)
    first = service.search(kind, key, limit=9)
    assert (first.parts, first.good, first.tablet_parts) == (
        len(mine),
        sum(e.stroke.good for e in mine),
        len(from_tablet),
    )
    assert (first.first_us, first.last_us) == (
        min(e.stroke.start_us for e in mine),
        max(e.stroke.start_us for e in mine),
    )
    by_order = {o.order: o for o in first.orders}
    assert set(by_order) == {e.values["order"] for e in mine}
    for order, o in by_order.items():
        members = [e for e in mine if e.values["order"] == order]
        tablet_members = [e for e in members if e.sources[kind.value] == "tablet"]
        assert (o.good, o.scrap) == (
            sum(e.stroke.good for e in members),
            sum(not e.stroke.good for e in members),
        )
        assert o.tablet_parts == len(tablet_members)
        assert o.operators == tuple(sorted({str(e.operator) for e in tablet_members}))
        for count in o.per_lot:
            in_lot = [e for e in members if e.values["lot"] == count.lot]
            assert count.good + count.scrap == len(in_lot)
    seen = []
    page = first
    while True:
        assert page.parts == first.parts and page.orders == first.orders
        for stroke, origin in page.parts_with_origin():
            assert origin.values[kind.value] == key
            seen.append(stroke)
        if page.next_offset is None:
            break
        page = service.search(kind, key, offset=page.next_offset, limit=9)
    assert sorted((s.machine, s.start_us) for s in seen) == sorted(
        (e.stroke.machine, e.stroke.start_us) for e in mine
    )
    assert len({(s.machine, s.start_us) for s in seen}) == len(seen)  # none twice
    assert [s.start_us for s in seen] == sorted((s.start_us for s in seen), reverse=True)


def test_a_heat_known_only_from_the_tablet_is_found(service: Traceability) -> None:
    trace = service.forward("HEAT-9")  # typed on P01's tablet, never sent by a press
    assert trace.groups == () and trace.parts == trace.tablet_parts == 30  # P01 n 50..79
    assert [(o.order, o.lots, o.operators) for o in trace.orders] == [("OF-C", ("L-C",), ("max",))]


def test_api_json_and_csv_carry_the_operator_and_the_sources(client: TestClient) -> None:
    body = client.get("/api/v1/trace/serial/A-20").json()
    part = body["strokes"][0]
    assert part["order"] is None and part["operator"] == "lea"  # raw press keys, then the resolved ones
    assert part["keys"]["order"] == {"value": "OF-A", "source": "tablet"}
    assert part["tablet_order"]["started_by"] == "lea" and part["tablet_order"]["material_lot"] == "HEAT-7"
    assert part["conflicts"] == []
    heat = client.get("/api/v1/trace/material-lot/HEAT-7", params={"limit": 5}).json()
    assert heat["tablet_parts"] > 0 and heat["parts"] > heat["tablet_parts"]
    conflict = client.get("/api/v1/trace/serial/B-90").json()["strokes"][0]["conflicts"]
    assert conflict == [{"key": "material_lot", "press": "HEAT-8", "tablet": "HEAT-7"}]

    answer = client.get("/api/v1/trace/lot/L-B", params={"format": "csv", "sep": ";"})
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8")[len(BOM) :]), delimiter=";"))
    assert len(rows) == heat_rows(client, "lot", "L-B")
    tablet_rows = [r for r in rows if r["lot_source"] == "tablet"]
    assert tablet_rows and all(r["operator"] == "ana" and r["lot"] == "L-B" for r in tablet_rows)
    assert all(r["material_lot_source"] == "press" for r in rows)
    assert all(r["conflicts"] == "material_lot: press HEAT-8, tablet HEAT-7" for r in tablet_rows)
    assert {r["lot_source"] for r in rows} == {"press", "tablet"}


def heat_rows(client: TestClient, kind: str, key: str) -> int:
    return int(client.get(f"/api/v1/trace/{kind}/{key}").json()["parts"])


def test_csv_of_a_service_export_has_the_new_columns(service: Traceability) -> None:
    text = trace_csv(service.export(TraceKind.MATERIAL_LOT, "HEAT-7"))
    header = next(csv.reader(io.StringIO(text[len(BOM) :])))
    assert header[12:19] == [
        "operator",
        "order_source",
        "part_source",
        "lot_source",
        "material_lot_source",
        "die_source",
        "conflicts",
    ]


def test_cli_marks_tablet_values_and_lists_conflicts(runtime: Runtime) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    env |= {"CADENCE_DATA_DIR": str(runtime.settings.data_dir), "COLUMNS": "220"}
    shown = subprocess.run(
        [sys.executable, "-m", "cadence", "trace", "--lot", "L-B"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "L-B †" in shown.stdout and "ana" in shown.stdout
    assert "press and tablet disagree — P02 n 120: material_lot: press HEAT-8, tablet HEAT-7" in shown.stdout
    expected = [e for e in _expected(_strokes()) if e.values["lot"] == "L-B"]
    tablet = sum(e.sources["lot"] == "tablet" for e in expected)
    assert (
        f"{len(expected):,} parts" in shown.stdout
        and f"({tablet:,} found through tablet orders)" in shown.stdout
    )
