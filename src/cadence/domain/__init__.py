"""Cadence's vocabulary: plants, machines, signals, samples, states, strokes, orders and shifts.

Pure: no I/O, no wall clock, no global randomness. Everything here can be built from plain values in a
test and reused by the simulator, ingest, the store, analytics and the twin.
"""

from cadence.domain.alarms import Alarm, AlarmState, Severity
from cadence.domain.batch import Batch, IdempotencyKey
from cadence.domain.cycles import Stroke, Waveform
from cadence.domain.plant import Area, Line, Machine, Plant, Site
from cadence.domain.production import Lot, ProductionOrder
from cadence.domain.samples import SampleBlock
from cadence.domain.shifts import Shift, ShiftPattern
from cadence.domain.signals import SignalKind, SignalSpec
from cadence.domain.states import MachineState, ReasonCode, StateChange

__all__ = [
    "Alarm",
    "AlarmState",
    "Area",
    "Batch",
    "IdempotencyKey",
    "Line",
    "Lot",
    "Machine",
    "MachineState",
    "Plant",
    "ProductionOrder",
    "ReasonCode",
    "SampleBlock",
    "Severity",
    "Shift",
    "ShiftPattern",
    "SignalKind",
    "SignalSpec",
    "Site",
    "StateChange",
    "Stroke",
    "Waveform",
]
