"""Read-side use cases: the plant's machines, their latest values, strokes, states and signal series.

One service feeds the JSON API, the CLI and later the tablet pages, so every consumer sees the same answer.
It depends only on the plant model and the store port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cadence.clock import to_datetime
from cadence.domain.cycles import Stroke
from cadence.domain.plant import Machine, Plant
from cadence.domain.states import StateChange
from cadence.errors import BadRequest, NotFound
from cadence.ports import LatestValue, Resolution, SeriesData, TimeSeriesStore

# Span thresholds for resolution="auto": raw points up to 15 min (500 Hz × 15 min is 450k points, the most a
# tablet chart should be sent), minute rollups up to 2 days (2,880 buckets), hourly beyond.
AUTO_RAW_MAX_S = 15 * 60
AUTO_MINUTE_MAX_S = 2 * 86_400
MAX_SPAN_S = 400 * 86_400  # a query longer than this is almost certainly a unit mistake


@dataclass(frozen=True, slots=True)
class MachineSummary:
    machine: Machine
    state: StateChange | None
    strokes: int
    points: int
    last_us: int | None


class PlantData:
    """Answers questions about the plant from the store."""

    def __init__(self, plant: Plant, store: TimeSeriesStore) -> None:
        self.plant = plant
        self.store = store

    def machine(self, machine_id: str) -> Machine:
        try:
            return self.plant.machine(machine_id)
        except KeyError:
            known = ", ".join(m.id for m in self.plant.machines)
            raise NotFound(
                f"no machine {machine_id!r}; known machines: {known}", machine=machine_id
            ) from None

    def summaries(self, now_us: int) -> list[MachineSummary]:
        """Every machine with its current state and what the store holds for it."""
        counts = {c.machine: c for c in self.store.stats().machines}
        out = []
        for machine in self.plant.machines:
            count = counts.get(machine.id)
            out.append(
                MachineSummary(
                    machine=machine,
                    state=self.store.state_at(machine.id, now_us),  # one seek, not the whole history
                    strokes=count.strokes if count else 0,
                    points=count.points if count else 0,
                    last_us=count.last_us if count else None,
                )
            )
        return out

    def latest(self, machine_id: str | None = None) -> list[LatestValue]:
        if machine_id is not None:
            self.machine(machine_id)
        return self.store.latest(machine_id)

    def series(
        self, machine_id: str, signal: str, start_us: int, end_us: int, resolution: str = "auto"
    ) -> SeriesData:
        """A signal over ``[start_us, end_us)``; ``auto`` picks raw, 1-minute or 1-hour data by span."""
        machine = self.machine(machine_id)
        if signal not in machine.signal_names:
            allowed = ", ".join(machine.signal_names)
            raise NotFound(f"machine {machine_id} has no signal {signal!r}; it has {allowed}", signal=signal)
        span_s = (end_us - start_us) / 1e6
        if span_s <= 0:
            raise BadRequest("the end of the range must be after its start", start=start_us, end=end_us)
        if span_s > MAX_SPAN_S:
            raise BadRequest(f"a range of {span_s / 86400:.0f} days is too long (max 400 days)")
        if resolution == "auto":
            if span_s <= AUTO_RAW_MAX_S:
                chosen = Resolution.RAW
            elif span_s <= AUTO_MINUTE_MAX_S:
                chosen = Resolution.MINUTE
            else:
                chosen = Resolution.HOUR
        else:
            try:
                chosen = Resolution(resolution)
            except ValueError:
                raise BadRequest(f"resolution {resolution!r} is not one of auto, raw, 1m, 1h") from None
        return self.store.series(machine_id, signal, start_us, end_us, chosen)

    def strokes(
        self, machine_id: str, start_us: int, end_us: int, limit: int, with_waveform: bool = False
    ) -> list[Stroke]:
        self.machine(machine_id)
        return self.store.strokes(machine_id, start_us, end_us, limit=limit, with_waveform=with_waveform)

    def states(self, machine_id: str, start_us: int, end_us: int) -> list[StateChange]:
        self.machine(machine_id)
        return self.store.states(machine_id, start_us, end_us)


# --- JSON shapes shared by the API and the CLI -----------------------------------------------------------


def iso(ts_us: int | None) -> str | None:
    return None if ts_us is None else to_datetime(ts_us).isoformat()


def stroke_json(stroke: Stroke) -> dict[str, Any]:
    out: dict[str, Any] = {
        "machine": stroke.machine,
        "n": stroke.n,
        "start_us": stroke.start_us,
        "end_us": stroke.end_us,
        "start": iso(stroke.start_us),
        "good": stroke.good,
        "scrap_reason": stroke.scrap_reason,
        "order": stroke.order,
        "part": stroke.part,
        "lot": stroke.lot,
        "material_lot": stroke.material_lot,
        "serial": stroke.serial,
        "die": stroke.die,
        "features": dict(stroke.features),
    }
    if stroke.waveform is not None:
        out["waveform"] = {
            "t0_us": stroke.waveform.t0_us,
            "dt_us": stroke.waveform.dt_us,
            "signals": {k: np.asarray(v).tolist() for k, v in stroke.waveform.signals.items()},
        }
    return out


def state_json(change: StateChange) -> dict[str, Any]:
    return {
        "ts_us": change.ts_us,
        "ts": iso(change.ts_us),
        "state": change.state.value,
        "reason": change.reason,
    }


def series_json(data: SeriesData, unit: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "machine": data.machine,
        "signal": data.signal,
        "unit": unit,
        "resolution": data.resolution.value,
        "points": len(data),
        "ts_us": data.ts_us.tolist(),
        "values": data.values.tolist(),
    }
    if data.minimum is not None and data.maximum is not None and data.count is not None:
        out["min"] = data.minimum.tolist()
        out["max"] = data.maximum.tolist()
        out["count"] = data.count.tolist()
    return out
