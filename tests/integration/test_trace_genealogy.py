"""Traceability over a store filled by the simulated plant: service, JSON/CSV API and the CLI.

Expected answers are computed by scanning every stored stroke, independently of the indexed search.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from cadence.clock import SimClock
from cadence.config import load_settings
from cadence.domain.cycles import Stroke
from cadence.ingest.local import LocalPublisher
from cadence.runtime import Runtime, open_runtime
from cadence.services.traceability import BOM, Traceability, TraceKind, trace_csv
from cadence.simulator import PlantSimulator
from cadence.web.app import create_app
from support.auth import FAST_AUTH, sign_in

START_US = 1_764_403_200_000_000  # 2025-11-29T08:00:00Z, a Saturday morning shift in the example plant
END_US = START_US + 40 * 60 * 1_000_000


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data_dir = tmp_path_factory.mktemp("trace")
    clock = SimClock(start_us=START_US)
    rt = open_runtime(load_settings(data_dir=data_dir, **FAST_AUTH), clock=clock)
    publisher = LocalPublisher(rt.pipeline)
    sim = PlantSimulator(rt.plant, publisher, clock, seed=11, start_us=START_US)
    sim.step_until(END_US)
    publisher.close()
    rt.pipeline.wait_idle(30)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def every_stroke(runtime: Runtime) -> list[Stroke]:
    """Every stored stroke, by a plain time-range scan of each machine (not the traceability indexes)."""
    out: list[Stroke] = []
    for m in runtime.plant.machines:
        out += runtime.store.strokes(m.id, 0, END_US + 1, limit=1_000_000)
    assert len(out) > 100
    return out


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as c:
        sign_in(c, runtime.auth, "operator")
        yield c


def _busiest(strokes: list[Stroke], attr: str) -> str:
    counts = Counter(getattr(s, attr) for s in strokes if getattr(s, attr))
    value, n = counts.most_common(1)[0]
    assert n > 1
    return str(value)


def test_backward_from_a_serial_gives_that_strokes_keys_and_curve(
    runtime: Runtime, every_stroke: list[Stroke]
) -> None:
    target = next(s for s in every_stroke[len(every_stroke) // 2 :] if s.serial)
    stored = runtime.store.strokes(target.machine, target.start_us, target.start_us + 1, with_waveform=True)
    assert len(stored) == 1 and stored[0].waveform is not None
    trace = Traceability(runtime.plant, runtime.store).backward(str(target.serial))
    assert trace.strokes == (stored[0],)  # every key, feature and curve point
    assert [(o.order, o.lots, o.machines, o.dies) for o in trace.orders] == [
        (target.order, (target.lot,), (target.machine,), (target.die,))
    ]


def test_forward_from_a_material_lot_finds_exactly_its_strokes_per_order(
    runtime: Runtime, every_stroke: list[Stroke]
) -> None:
    heat = _busiest(every_stroke, "material_lot")
    expected = [s for s in every_stroke if s.material_lot == heat]
    assert len(expected) > 40
    service = Traceability(runtime.plant, runtime.store)
    trace = service.forward(heat, limit=5_000)
    assert sorted((s.machine, s.start_us) for s in trace.strokes) == sorted(
        (s.machine, s.start_us) for s in expected
    )
    assert [s.start_us for s in trace.strokes] == sorted((s.start_us for s in trace.strokes), reverse=True)
    assert (trace.parts, trace.good) == (len(expected), sum(s.good for s in expected))
    assert (trace.first_us, trace.last_us) == (
        min(s.start_us for s in expected),
        max(s.start_us for s in expected),
    )
    by_order = {o.order: o for o in trace.orders}
    assert set(by_order) == {s.order for s in expected}
    for order, o in by_order.items():
        mine = [s for s in expected if s.order == order]
        assert o.good == sum(s.good for s in mine)
        assert o.scrap == len(mine) - o.good
        assert o.lots == tuple(sorted({s.lot for s in mine if s.lot}))
        assert (o.first_us, o.last_us) == (min(s.start_us for s in mine), max(s.start_us for s in mine))
        for count in o.per_lot:
            in_lot = [s for s in mine if s.lot == count.lot]
            assert (count.good, count.scrap) == (sum(s.good for s in in_lot), sum(not s.good for s in in_lot))
        assert sum(c.good + c.scrap for c in o.per_lot) == len(mine)
    assert not trace.truncated and trace.next_offset is None


def test_forward_pages_cover_every_part_once_with_the_same_summary(
    runtime: Runtime, every_stroke: list[Stroke]
) -> None:
    heat = _busiest(every_stroke, "material_lot")
    service = Traceability(runtime.plant, runtime.store)
    first = service.forward(heat, limit=7)
    assert len(first.strokes) == 7 and first.truncated and first.next_offset == 7
    seen: list[Stroke] = []
    page = first
    while True:
        assert page.orders == first.orders and page.parts == first.parts  # counts never depend on the page
        seen += page.strokes
        if page.next_offset is None:
            break
        page = service.forward(heat, offset=page.next_offset, limit=7)
    assert len(seen) == first.parts
    assert len({(s.machine, s.start_us) for s in seen}) == first.parts  # none twice, none missed
    assert [s.start_us for s in seen] == sorted((s.start_us for s in seen), reverse=True)
    assert service.forward(heat, offset=first.parts).strokes == ()


def test_csv_export_reads_back_to_the_stored_strokes(runtime: Runtime, every_stroke: list[Stroke]) -> None:
    lot = _busiest(every_stroke, "lot")
    trace = Traceability(runtime.plant, runtime.store).export(TraceKind.LOT, lot)
    assert not trace.truncated
    text = trace_csv(trace, ";")
    assert text.startswith(BOM)
    rows = list(csv.DictReader(io.StringIO(text[len(BOM) :]), delimiter=";"))
    assert len(rows) == len(trace.strokes) == sum(1 for s in every_stroke if s.lot == lot)
    for row, stroke in zip(rows, trace.strokes, strict=True):
        assert (row["machine"], int(row["n"]), row["serial"], row["lot"]) == (
            stroke.machine,
            stroke.n,
            stroke.serial or "",
            lot,
        )
        assert row["good"] == ("OK" if stroke.good else "NOK")
        assert {k: float(row[k]) for k in stroke.features} == dict(stroke.features)


def test_api_serial_json_and_csv(client: TestClient, every_stroke: list[Stroke]) -> None:
    target = next(s for s in every_stroke if s.serial and s.waveform is None)
    body = client.get(f"/api/v1/trace/serial/{target.serial}").json()
    assert body["ok"] is True and body["parts"] == 1
    part = body["strokes"][0]
    assert (part["machine"], part["n"], part["order"], part["material_lot"], part["die"]) == (
        target.machine,
        target.n,
        target.order,
        target.material_lot,
        target.die,
    )
    assert part["features"] == dict(target.features)
    signals = part["waveform"]["signals"]
    assert signals and all(len(v) > 10 and np.isfinite(v).all() for v in signals.values())
    assert part["shift"]["start"] is not None

    answer = client.get(f"/api/v1/trace/serial/{target.serial}", params={"format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert f'filename="trace-serial-{target.serial}.csv"' in answer.headers["content-disposition"]
    assert answer.content.startswith(BOM.encode("utf-8"))


def test_api_material_lot_counts_match_a_scan(client: TestClient, every_stroke: list[Stroke]) -> None:
    heat = _busiest(every_stroke, "material_lot")
    body = client.get(f"/api/v1/trace/material-lot/{heat}", params={"limit": 10}).json()
    mine = [s for s in every_stroke if s.material_lot == heat]
    assert body["parts"] == len(mine)
    assert body["good"] == sum(s.good for s in mine)
    assert sum(o["good"] + o["scrap"] for o in body["orders"]) == len(mine)
    assert sum(c["good"] + c["scrap"] for o in body["orders"] for c in o["per_lot"]) == len(mine)
    assert body["first"] is not None and body["last"] >= body["first"]
    assert len(body["strokes"]) == 10 and body["truncated"] is True
    assert body["page"] == {"offset": 0, "returned": 10, "next_offset": 10}
    assert all("waveform" not in s for s in body["strokes"])  # curves only for one part
    last = client.get(f"/api/v1/trace/material-lot/{heat}", params={"offset": len(mine) - 3}).json()
    assert last["page"] == {"offset": len(mine) - 3, "returned": 3, "next_offset": None}
    assert last["parts"] == len(mine) and last["truncated"] is False
    for bad in ({"limit": 0}, {"limit": 100_000}, {"offset": -1}):
        assert client.get(f"/api/v1/trace/material-lot/{heat}", params=bad).status_code == 400
    lot = _busiest(every_stroke, "lot")
    assert client.get(f"/api/v1/trace/lot/{lot}").json()["parts"] == sum(
        1 for s in every_stroke if s.lot == lot
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/trace/serial/NO-SUCH",
        "/api/v1/trace/material-lot/HEAT-0",
        "/api/v1/trace/lot/nothing?format=csv",
    ],
)
def test_api_unknown_keys_are_a_404_envelope(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    body = answer.json()
    assert body["ok"] is False and body["status"] == 404 and body["code"] == "not_found"


def test_api_refuses_a_bad_format_and_an_anonymous_caller(runtime: Runtime, client: TestClient) -> None:
    assert client.get("/api/v1/trace/lot/x", params={"format": "xml"}).status_code == 400  # validation
    with TestClient(create_app(runtime.settings, runtime)) as anonymous:
        assert anonymous.get("/api/v1/trace/lot/x").status_code == 401


def test_cli_trace_prints_a_table_and_writes_a_csv(
    runtime: Runtime, every_stroke: list[Stroke], tmp_path: Path
) -> None:
    heat = _busiest(every_stroke, "material_lot")
    mine = [s for s in every_stroke if s.material_lot == heat]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    env |= {"CADENCE_DATA_DIR": str(runtime.settings.data_dir), "COLUMNS": "200"}
    cadence = [sys.executable, "-m", "cadence", "trace"]
    shown = subprocess.run(
        [*cadence, "--material-lot", heat], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert shown.returncode == 0, shown.stderr
    good = sum(s.good for s in mine)
    assert f"{len(mine):,} parts: {good:,} good, {len(mine) - good:,} scrap" in shown.stdout
    assert ("the 50 newest shown" in shown.stdout) == (len(mine) > 50)

    out = tmp_path / "heat.csv"
    written = subprocess.run(
        [*cadence, "--material-lot", heat, "--csv", str(out), "--sep", ";"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert written.returncode == 0, written.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert sorted(r["serial"] for r in rows) == sorted(s.serial or "" for s in mine)

    missing = subprocess.run(
        [*cadence, "--serial", "NO-SUCH"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert missing.returncode == 2 and "not_found" in missing.stderr
