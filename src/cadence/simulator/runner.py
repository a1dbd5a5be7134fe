"""The plant simulator: every press of a plant, interleaved in simulated time, published like PLC gateways.

Events of all presses (strokes ending, stops, state changes, slow-signal batches every
``batch_interval_s``) sit in one heap ordered by time; :meth:`PlantSimulator.run` sleeps on the injected
clock until the next one, so ``WallClock(speed=60)`` runs the plant at ×60 and ``SimClock`` as fast as
the CPU allows. The same seed and start time give the same messages, byte for byte.

>>> from cadence.clock import SimClock
>>> from cadence.config import EXAMPLE_PLANT
>>> from cadence.plantfile import load_plant
>>> from cadence.simulator.publish import CallbackPublisher
>>> received = []
>>> publisher = CallbackPublisher(lambda topic, payload: received.append(topic))
>>> sim = PlantSimulator(load_plant(EXAMPLE_PLANT), publisher, SimClock(start_us=1_767_225_600_000_000),
...                      seed=42, machines=["P01"])
>>> sim.run(duration_s=60)
>>> counters = sim.counters()["P01"]
>>> counters.messages == len(received), counters.strokes > 3
(True, True)
>>> received[0]
'cadence/v1/P01/states'
"""

from __future__ import annotations

import csv
import heapq
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from cadence.domain.plant import Plant
from cadence.domain.states import MachineState
from cadence.ports import Clock, Publisher
from cadence.simulator.faults import Scenario, default_scenario
from cadence.simulator.operation import Message, OperationConfig, PressProcess, StrokeResult

logger = logging.getLogger(__name__)

US = 1_000_000
_PROCESS, _TICK = 0, 1  # at equal times a press acts before its slow signals are sampled
SIMULATED_KIND = "hydraulic_press"


@dataclass(frozen=True, slots=True)
class PressCounters:
    """What one press has published so far (a snapshot)."""

    machine: str
    messages: int = 0
    bytes: int = 0
    points: int = 0
    strokes: int = 0
    good: int = 0
    scrap: int = 0
    states: int = 0
    publish_errors: int = 0
    state: str = MachineState.RUNNING.value
    last_us: int | None = None


class PlantSimulator:
    """Simulates every hydraulic press of ``plant`` and publishes their messages through ``publisher``.

    ``scenario`` picks the faults (default: :func:`~cadence.simulator.faults.default_scenario`);
    ``operation`` is one :class:`OperationConfig` for all presses or a mapping per machine id;
    ``machines`` restricts the run to some presses; ``truth_csv`` writes the ground truth of every stroke;
    ``on_stroke`` receives every :class:`StrokeResult` in process (exceptions are logged, not raised).
    """

    def __init__(
        self,
        plant: Plant,
        publisher: Publisher,
        clock: Clock,
        seed: int = 0,
        scenario: Scenario | None = None,
        *,
        operation: OperationConfig | Mapping[str, OperationConfig] | None = None,
        machines: Iterable[str] | None = None,
        batch_interval_s: float = 1.0,
        start_us: int | None = None,
        truth_csv: Path | None = None,
        on_stroke: Callable[[StrokeResult], None] | None = None,
    ) -> None:
        if not batch_interval_s > 0:
            raise ValueError(f"batch_interval_s must be > 0, got {batch_interval_s}")
        self.plant = plant
        self.scenario = scenario if scenario is not None else default_scenario(plant)
        self._publisher = publisher
        self._clock = clock
        self._interval_us = max(1, round(batch_interval_s * US))
        self.start_us = clock.now_us() if start_us is None else start_us
        self._on_stroke = on_stroke
        wanted = None if machines is None else set(machines)
        if wanted is not None:
            unknown = sorted(wanted - {m.id for m in plant.machines})
            if unknown:
                raise ValueError(f"unknown machine(s): {', '.join(unknown)}")
        self.presses: list[PressProcess] = []
        for machine in plant.machines:
            if wanted is not None and machine.id not in wanted:
                continue
            if machine.kind != SIMULATED_KIND:
                logger.warning(
                    "%s is a %s, not simulated (only hydraulic presses are)", machine.id, machine.kind
                )
                continue
            config = operation.get(machine.id) if isinstance(operation, Mapping) else operation
            self.presses.append(
                PressProcess(
                    machine,
                    seed=seed,
                    start_us=self.start_us,
                    faults=self.scenario.faults_of(machine.id),
                    operation=config,
                )
            )
        self._lock = threading.Lock()
        self._counters = {p.machine.id: PressCounters(p.machine.id) for p in self.presses}
        self._failed: set[int] = set()
        self._heap: list[tuple[int, int, int]] = []
        for i in range(len(self.presses)):
            heapq.heappush(self._heap, (self.start_us, _PROCESS, i))
            heapq.heappush(self._heap, (self.start_us + self._interval_us, _TICK, i))
        self.now_us = self.start_us  # simulated time of the last event processed
        self._truth_file: IO[str] | None = None
        self._truth_writer: csv.DictWriter[str] | None = None
        if truth_csv is not None:
            self._truth_file = truth_csv.open("w", newline="", encoding="utf-8")

    # --- running ---------------------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None, duration_s: float | None = None) -> None:
        """Simulate in step with the clock until ``stop`` is set or ``duration_s`` simulated seconds pass."""
        end_us = None if duration_s is None else self._clock.now_us() + round(duration_s * US)
        logger.info(
            "simulating %d press(es) from %d, scenario %s",
            len(self.presses),
            self.now_us,
            self.scenario.describe(),
        )
        while self._heap and not (stop is not None and stop.is_set()):
            ts = self._heap[0][0]
            if end_us is not None and ts > end_us:
                self._wait_until(end_us, stop)
                break
            if not self._wait_until(ts, stop):
                break
            self._process_next()

    def step_until(self, ts_us: int) -> None:
        """Process every event up to ``ts_us`` at once, without sleeping (tests, replays)."""
        while self._heap and self._heap[0][0] <= ts_us:
            self._process_next()

    def counters(self) -> dict[str, PressCounters]:
        """A snapshot of each press's counters (safe to call from another thread)."""
        with self._lock:
            return dict(self._counters)

    def totals(self) -> PressCounters:
        """All presses added up (``machine`` is ``"*"``)."""
        total = PressCounters("*")
        for c in self.counters().values():
            total = replace(
                total,
                messages=total.messages + c.messages,
                bytes=total.bytes + c.bytes,
                points=total.points + c.points,
                strokes=total.strokes + c.strokes,
                good=total.good + c.good,
                scrap=total.scrap + c.scrap,
                states=total.states + c.states,
                publish_errors=total.publish_errors + c.publish_errors,
                last_us=max(filter(None, (total.last_us, c.last_us)), default=None),
            )
        return total

    def close(self) -> None:
        """Close the ground-truth file (the publisher belongs to the caller)."""
        if self._truth_file is not None:
            self._truth_file.close()
            self._truth_file = None

    def __enter__(self) -> PlantSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -------------------------------------------------------------------------------------

    def _wait_until(self, ts_us: int, stop: threading.Event | None) -> bool:
        sleep_until = getattr(self._clock, "sleep_until", None)
        if callable(sleep_until):
            return bool(sleep_until(ts_us, stop))
        while (delay := (ts_us - self._clock.now_us()) / US) > 0:
            if stop is not None and stop.is_set():
                return False
            self._clock.sleep(min(delay, 1.0))
        return not (stop is not None and stop.is_set())

    def _process_next(self) -> None:
        ts, kind, i = heapq.heappop(self._heap)
        self.now_us = max(self.now_us, ts)
        press = self.presses[i]
        try:
            if kind == _PROCESS:
                following = press.advance()
                heapq.heappush(self._heap, (max(following, ts), _PROCESS, i))
            else:
                press.tick(ts)
                heapq.heappush(self._heap, (ts + self._interval_us, _TICK, i))
        except Exception:
            # One press's bug must not stop the plant: drop that press, keep the others running.
            logger.exception("%s: simulation failed; this press stops publishing", press.machine.id)
            self._failed.add(i)
            self._heap = [e for e in self._heap if e[2] != i]
            heapq.heapify(self._heap)
        messages, results = press.drain()
        self._publish(press, messages)
        for result in results:
            self._record(result)

    def _publish(self, press: PressProcess, messages: list[Message]) -> None:
        machine = press.machine.id
        for msg in messages:
            try:
                self._publisher.publish(msg.topic, msg.payload)
            except Exception as err:
                with self._lock:
                    c = self._counters[machine]
                    self._counters[machine] = replace(c, publish_errors=c.publish_errors + 1)
                if c.publish_errors == 0:  # log the transition, not every repeat
                    logger.error(
                        "%s: publishing failed (%s); counting further failures silently", machine, err
                    )
                continue
            with self._lock:
                c = self._counters[machine]
                self._counters[machine] = replace(
                    c,
                    messages=c.messages + 1,
                    bytes=c.bytes + len(msg.payload),
                    points=c.points + msg.points,
                    strokes=c.strokes + msg.strokes,
                    good=c.good + msg.good,
                    scrap=c.scrap + msg.scrap,
                    states=c.states + msg.states,
                    state=press.state.value,
                    last_us=msg.ts_us,
                )

    def _record(self, result: StrokeResult) -> None:
        if self._truth_file is not None:
            row: dict[str, object] = {
                "machine": result.machine,
                "n": result.stroke.n,
                "start_us": result.stroke.start_us,
                "end_us": result.stroke.end_us,
                "good": int(result.stroke.good),
                "scrap_reason": result.stroke.scrap_reason or "",
            }
            row.update({k: f"{v:.6g}" for k, v in sorted(result.truth.items())})
            if self._truth_writer is None:
                self._truth_writer = csv.DictWriter(self._truth_file, fieldnames=list(row))
                self._truth_writer.writeheader()
            self._truth_writer.writerow(row)
        if self._on_stroke is not None:
            try:
                self._on_stroke(result)
            except Exception:
                logger.exception(
                    "on_stroke callback failed for %s stroke %d", result.machine, result.stroke.n
                )
