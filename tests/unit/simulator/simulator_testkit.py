"""Helpers shared by the simulator tests: plants, a recording publisher and a run-and-collect helper."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from cadence.clock import SimClock
from cadence.config import EXAMPLE_PLANT
from cadence.domain import Batch, Plant
from cadence.plantfile import load_plant
from cadence.protocol import decode_message
from cadence.simulator import CallbackPublisher, OperationConfig, PlantSimulator, Scenario, StrokeResult

START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
HOUR_US = 3_600_000_000


def example_plant() -> Plant:
    return load_plant(EXAMPLE_PLANT)


def lean_plant(signals: Iterable[str] = ("motor_power", "oil_temp"), machine: str = "P01") -> Plant:
    """The example plant reduced to one press declaring only ``signals``.

    Long runs use it without the 500 Hz channels: strokes are simulated the same way, only the bulky
    waveform messages are not produced, which keeps hours of simulated time within a test's budget.
    """
    plant = example_plant()
    press = plant.machine(machine)
    wanted = set(signals)
    press = replace(press, signals=tuple(s for s in press.signals if s.name in wanted))
    return Plant(plant.site, plant.areas, plant.lines, (press,), plant.shifts)


@dataclass
class Run:
    sim: PlantSimulator
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    results: list[StrokeResult] = field(default_factory=list)

    def batches(self) -> list[Batch]:
        return [decode_message(payload) for _, payload in self.messages]


def simulate(
    plant: Plant,
    *,
    seed: int = 1,
    scenario: Scenario | None = None,
    hours: float = 0.0,
    seconds: float = 0.0,
    machines: Iterable[str] | None = None,
    operation: OperationConfig | Mapping[str, OperationConfig] | None = None,
    batch_interval_s: float = 1.0,
) -> Run:
    """Run ``plant`` on a SimClock for the given simulated time and keep everything it produced."""
    run = Run(sim=None)  # type: ignore[arg-type]
    publisher = CallbackPublisher(lambda topic, payload: run.messages.append((topic, payload)))
    run.sim = PlantSimulator(
        plant,
        publisher,
        SimClock(start_us=START_US),
        seed=seed,
        scenario=scenario if scenario is not None else Scenario({}),
        machines=machines,
        operation=operation,
        batch_interval_s=batch_interval_s,
        on_stroke=run.results.append,
    )
    run.sim.step_until(START_US + round(hours * HOUR_US + seconds * 1_000_000))
    return run
