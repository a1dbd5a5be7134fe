"""KPIs over any period, from the hour rollups (docs/guides/kpis.md, "Rollups").

``GET /api/v1/kpis?from=-7d&to=now&machine=P01&machine=P02&by=day`` answers, per machine and bucket, the
time elements, quantities and ratios of :class:`cadence.services.kpi_history.PeriodFigures`, and per
bucket the pool of the machines asked for (ratios of sums). A year of a plant takes tens of milliseconds.
"""

from __future__ import annotations

from itertools import groupby
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from cadence.clock import to_datetime
from cadence.errors import BadRequest
from cadence.services.kpi_history import PeriodFigures, period_figures, pool
from cadence.services.plant_data import MAX_SPAN_S
from cadence.services.timerange import parse_instant
from cadence.web.deps import RuntimeDep

router = APIRouter(prefix="/api/v1/kpis", tags=["kpis"])

_RATIOS = (
    "availability",
    "effectiveness",
    "quality_ratio",
    "oee",
    "good_per_planned_hour",
    "scrap_rate",
    "energy_per_good_part_kwh",
    "mttr_s",
    "mtbf_s",
)
_FIELDS = (
    "running_s",
    "idle_s",
    "micro_stop_s",
    "down_s",
    "planned_stop_s",
    "setup_s",
    "no_order_s",
    "unknown_s",
    "pq",
    "gq",
    "sq",
    "rq",
    "declared",
    "pri_pq_s",
    "pri_gq_s",
    "failure_events",
    "energy_kwh",
)


def figures_json(f: PeriodFigures) -> dict[str, Any]:
    """One :class:`PeriodFigures` as JSON: its sums, its derived time elements and its ratios."""
    out: dict[str, Any] = {
        "machine": f.machine,
        "machines": list(f.machines),
        "start": to_datetime(f.start_us).isoformat(),
        "end": to_datetime(f.end_us).isoformat(),
        "start_us": f.start_us,
        "end_us": f.end_us,
    }
    out.update({name: getattr(f, name) for name in _FIELDS})
    out.update({"pot_s": f.pot_s, "pbt_s": f.pbt_s, "stop_s": f.stop_s})
    out.update({name: getattr(f, name) for name in _RATIOS})
    out["downtime_by_reason_s"] = dict(f.downtime_by_reason)
    return out


@router.get("")
def kpis(
    runtime: RuntimeDep,
    start: Annotated[str, Query(alias="from", description="ISO 8601 with a zone, µs, 'now' or -7d")],
    end: Annotated[str, Query(alias="to", description="as from; default now")] = "now",
    machine: Annotated[list[str] | None, Query(description="repeat for several; default every press")] = None,
    by: Annotated[
        Literal["day", "hour", "total"], Query(description="buckets: local days, hours, or one")
    ] = "total",
) -> dict[str, Any]:
    """Per machine and bucket, and pooled per bucket: the KPI figures of the period, exact and current."""
    now_us = runtime.clock.now_us()
    start_us, end_us = parse_instant(start, now_us), parse_instant(end, now_us)
    if end_us <= start_us:
        raise BadRequest("'to' must be after 'from'", start=start, end=end)
    if end_us - start_us > MAX_SPAN_S * 1_000_000:
        raise BadRequest(f"the period is longer than {MAX_SPAN_S // 86_400} days", start=start, end=end)
    figures = period_figures(
        runtime.plant,
        runtime.store,
        start_us,
        end_us,
        machines=machine,
        by=None if by == "total" else by,
        now_us=now_us,
    )
    buckets = sorted(figures, key=lambda f: f.start_us)
    pooled = [pool(list(group)) for _, group in groupby(buckets, key=lambda f: f.start_us)]
    return {
        "from": to_datetime(start_us).isoformat(),
        "to": to_datetime(min(end_us, now_us)).isoformat(),
        "by": by,
        "timezone": runtime.plant.site.timezone,
        "machines": [figures_json(f) for f in figures],
        "pooled": [figures_json(f) for f in pooled],
    }
