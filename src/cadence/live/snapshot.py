"""What a tablet needs to show one press right now, kept up to date from the committed batches.

A :class:`MachineLive` folds each stored :class:`~cadence.domain.Batch` of its machine into a compact
state: the current machine state, the last value of each slow signal, the peak of each waveform signal
during the last stroke (never the 500 Hz samples themselves), the last stroke's summary and the good and
scrap parts counted since a reset point (the current shift's start). It renders small JSON-ready dicts;
timestamps are integer µs since the Unix epoch (exact in a JavaScript number until the year 2255).

The counts follow the rules of the overview tile and the shift report (``cadence.analytics.kpi``): a
stroke counts once it has *ended* after the reset point, and scrap declared by operators since then moves
good parts to scrap, never below zero good parts (``declared_sq``).

Not thread-safe: :class:`~cadence.live.hub.LiveHub` serialises access.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from cadence.domain.batch import Batch
from cadence.domain.cycles import Stroke
from cadence.domain.operator import ScrapDeclaration
from cadence.domain.plant import Machine
from cadence.domain.signals import SignalKind

logger = logging.getLogger(__name__)

# How a signal's entry in ``values`` was obtained.
LAST = "last"  # the newest sample of a slow or counter signal
STROKE_PEAK = "stroke_peak"  # the highest sample of a waveform signal during the newest stroke


class MachineLive:
    """The live state of one machine."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine.id
        self._kinds = {s.name: s.kind for s in machine.signals}
        self.state: dict[str, Any] | None = None
        self.values: dict[str, dict[str, Any]] = {}
        self.stroke: dict[str, Any] | None = None
        self.press_good = 0  # as the press judged them
        self.press_scrap = 0
        self.declared = 0  # parts declared scrap by operators since reset_us
        self.reset_us: int | None = None  # strokes that end before this are not counted
        self.sample_us: int | None = None  # newest timestamp of any data seen for this machine

    @property
    def declared_sq(self) -> int:
        """The declared scrap counted: at most the good parts there are."""
        return min(self.declared, self.press_good)

    @property
    def good(self) -> int:
        """Good parts (GQ): the press's good strokes less the declared scrap."""
        return self.press_good - self.declared_sq

    @property
    def scrap(self) -> int:
        """Parts not good (SQ + RQ), declared scrap included."""
        return self.press_scrap + self.declared_sq

    def seed_counts(self, reset_us: int | None, good: int, scrap: int, declared: int = 0) -> None:
        """Counts already in the store for the period starting at ``reset_us`` (at start-up): the press's
        good and scrap strokes and the quantity declared scrap by operators."""
        self.reset_us = reset_us
        self.press_good, self.press_scrap, self.declared = good, scrap, declared

    def reset_counts(self, reset_us: int | None) -> None:
        """Count good and scrap strokes from ``reset_us`` on (a new shift); ``None`` keeps counting all."""
        if reset_us != self.reset_us:
            self.reset_us = reset_us
            self.press_good = self.press_scrap = self.declared = 0

    def declare_scrap(self, declaration: ScrapDeclaration) -> bool:
        """Count a scrap declaration made since the reset point; False when it is older (not counted)."""
        if self.reset_us is not None and declaration.at_us < self.reset_us:
            return False
        self.declared += declaration.quantity
        return True

    def apply(self, batch: Batch) -> tuple[bool, bool, bool]:
        """Fold ``batch`` in; which of (state, values, stroke) changed."""
        values_changed = self._apply_samples(batch)
        stroke_changed = False
        for stroke in batch.strokes:
            stroke_changed |= self._apply_stroke(stroke)
        state_changed = False
        for change in batch.states:
            self._seen(change.ts_us)
            # Out-of-order delivery (a gateway replaying its buffer) must not bring back an old state.
            if self.state is None or change.ts_us >= self.state["since_us"]:
                self.state = {"state": change.state.value, "reason": change.reason, "since_us": change.ts_us}
                state_changed = True
        return state_changed, values_changed, stroke_changed

    def _apply_samples(self, batch: Batch) -> bool:
        changed = False
        for block in batch.samples:
            kind = self._kinds.get(block.signal)
            if kind is None:  # the validator let it through, so the plant changed under us: skip it
                continue
            self._seen(block.end_us)
            current = self.values.get(block.signal)
            if kind is SignalKind.WAVEFORM:
                # One stroke's waveform arrives as one block: its maximum is that stroke's peak.
                at = int(np.argmax(block.values))
                entry = {"value": float(block.values[at]), "ts_us": int(block.ts_us[at]), "kind": STROKE_PEAK}
                newest = block.end_us
            else:
                at = int(np.argmax(block.ts_us))
                newest = int(block.ts_us[at])
                entry = {"value": float(block.values[at]), "ts_us": newest, "kind": LAST}
            if current is None or newest >= current["_newest_us"]:
                entry["_newest_us"] = newest
                self.values[block.signal] = entry
                changed = True
        return changed

    def _apply_stroke(self, stroke: Stroke) -> bool:
        self._seen(stroke.end_us)
        if self.reset_us is None or stroke.end_us >= self.reset_us:
            if stroke.good:
                self.press_good += 1
            else:
                self.press_scrap += 1
        if self.stroke is not None and stroke.start_us < self.stroke["start_us"]:
            return True  # counted, but an older stroke does not replace the summary of the newest
        features = stroke.features
        self.stroke = {
            "n": stroke.n,
            "start_us": stroke.start_us,
            "end_us": stroke.end_us,
            "cycle_time_s": features.get("cycle_time_s"),
            "good": stroke.good,
            "scrap_reason": stroke.scrap_reason,
            "peak_pressure_bar": features.get("peak_pressure_bar"),
            "order": stroke.order,
            "part": stroke.part,
            "lot": stroke.lot,
        }
        return True

    def _seen(self, ts_us: int) -> None:
        if self.sample_us is None or ts_us > self.sample_us:
            self.sample_us = ts_us

    # --- JSON ------------------------------------------------------------------------------------------

    def state_json(self) -> dict[str, Any]:
        """The ``state`` event: ``{"machine", "state", "reason", "since_us", "sample_us"}``."""
        state = self.state or {"state": None, "reason": None, "since_us": None}
        return {"machine": self.machine, **state, "sample_us": self.sample_us}

    def values_json(self) -> dict[str, Any]:
        """The ``values`` event: ``{"machine", "values": {signal: {"value", "ts_us", "kind"}}, "sample_us"}``.

        ``kind`` is ``last`` (newest sample) or ``stroke_peak`` (waveform maximum of the newest stroke).
        """
        values = {
            name: {"value": v["value"], "ts_us": v["ts_us"], "kind": v["kind"]}
            for name, v in self.values.items()
        }
        return {"machine": self.machine, "values": values, "sample_us": self.sample_us}

    def stroke_json(self) -> dict[str, Any]:
        """The ``stroke`` event: the last stroke's summary and the counts since ``counted_since_us``."""
        return {
            "machine": self.machine,
            "stroke": None if self.stroke is None else dict(self.stroke),
            "good": self.good,
            "scrap": self.scrap,
            "counted_since_us": self.reset_us,
            "sample_us": self.sample_us,
        }

    def snapshot_json(self) -> dict[str, Any]:
        """Everything at once: one entry of the ``snapshot`` event."""
        state = self.state_json()
        stroke = self.stroke_json()
        return {
            "machine": self.machine,
            "state": None if self.state is None else {k: state[k] for k in ("state", "reason", "since_us")},
            "values": self.values_json()["values"],
            "stroke": stroke["stroke"],
            "good": self.good,
            "scrap": self.scrap,
            "counted_since_us": self.reset_us,
            "sample_us": self.sample_us,
        }
