"""A seeded, physics-inspired simulator of a hydraulic press plant that publishes like PLC gateways.

* :mod:`.params`: a press's physical constants from its tonnage (docs/domain.md §1.1).
* :mod:`.press`: one stroke, phase by phase, sampled at the plant file's rate; :mod:`.features` computes
  the per-stroke features from the sampled curves.
* :mod:`.thermal`: oil temperature; :mod:`.faults`: slowly evolving faults acting on physical parameters,
  scenarios and their command-line syntax; :mod:`.parts`: recipes and the good-part rule.
* :mod:`.operation`: one press in operation (orders, lots, stops, breakdowns, setups) as its own gateway;
  :mod:`.runner`: :class:`PlantSimulator`, all presses in simulated-time order on an injected clock.
* :mod:`.publish`: :class:`MqttPublisher` (paho-mqtt 2) and :class:`CallbackPublisher` (in process).

>>> from cadence.clock import SimClock
>>> from cadence.config import EXAMPLE_PLANT
>>> from cadence.plantfile import load_plant
>>> plant = load_plant(EXAMPLE_PLANT)
>>> payloads = []
>>> sim = PlantSimulator(plant, CallbackPublisher(lambda t, p: payloads.append(p)), SimClock(), seed=1,
...                      scenario=parse_scenario("default,P05=seal_wear:0.7", plant))
>>> sim.step_until(sim.start_us + 30 * 1_000_000)
>>> sim.totals().strokes >= 12 and sim.totals().messages == len(payloads)
True
"""

from cadence.simulator.faults import FaultMode, FaultSpec, Scenario, default_scenario, parse_scenario
from cadence.simulator.operation import OperationConfig, PressProcess, StrokeResult
from cadence.simulator.publish import CallbackPublisher, MqttPublisher
from cadence.simulator.runner import PlantSimulator, PressCounters

__all__ = [
    "CallbackPublisher",
    "FaultMode",
    "FaultSpec",
    "MqttPublisher",
    "OperationConfig",
    "PlantSimulator",
    "PressCounters",
    "PressProcess",
    "Scenario",
    "StrokeResult",
    "default_scenario",
    "parse_scenario",
]
