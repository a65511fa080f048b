"""The simulator: physiology-driven infusion scenarios (see the simulator issue).

Pure domain code (no web framework, no database): a scenario file and a seed become a
deterministic stream of monitor readings, phase changes and device notices, which reach Vigil
through the same ingest path as any device's. The parts, each in its own module:

- pk: Domino three-compartment ketamine kinetics with effect sites and a nasal depot
- patient, regimen: who is treated and with what
- effects: effect-site concentration to heart rate, pressure and breathing (calibrated)
- events: what a trainer can schedule or trigger
- physiology: the true vitals second by second
- devices: oximeter, NIBP cuff, capnograph and thermometer, with their habits and errors
- scenario: the TOML scenario format, validated
- engine: `Simulation`, tying it together on a one-second grid
- clock: `SimClock`, simulated time from wall time at 1–60×
"""

from simulators.clock import SimClock
from simulators.engine import Simulation
from simulators.events import EVENT_KINDS, Event, parse_event
from simulators.outputs import SimNotice, SimObservation, SimOutput, SimPhase, SimReading
from simulators.patient import Patient, sample_patient
from simulators.scenario import (
    Scenario,
    ScenarioError,
    list_scenarios,
    load_packaged,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "EVENT_KINDS",
    "Event",
    "Patient",
    "Scenario",
    "ScenarioError",
    "SimClock",
    "SimNotice",
    "SimObservation",
    "SimOutput",
    "SimPhase",
    "SimReading",
    "Simulation",
    "list_scenarios",
    "load_packaged",
    "load_scenario",
    "parse_event",
    "parse_scenario",
    "sample_patient",
]
