"""What a simulation emits: readings, phase changes and device notices, each stamped in
seconds since the session started."""

from dataclasses import dataclass
from typing import Literal

Phase = Literal["infusing", "recovery", "discharged"]
# What a person records by field name: ACVPU letters, MOAA/S and the air/oxygen flag beside
# counted numbers.
Observed = dict[str, int | float | str | bool]


@dataclass(frozen=True)
class SimReading:
    """What one device measured at one instant: only the vitals it measures (Vigil's names)."""

    at_s: float
    values: dict[str, int | float]
    device: str


@dataclass(frozen=True)
class SimObservation:
    """What a person at the chair observed and recorded at one instant (an observation round)."""

    at_s: float
    values: Observed
    device: str


# Both become readings in Vigil, numbered in the order they were made.
READING_OUTPUTS = (SimReading, SimObservation)


@dataclass(frozen=True)
class Decision:
    """Who decides to go on although the record advises against it, and why."""

    by: str
    reason: str


@dataclass(frozen=True)
class SimPhase:
    """The session moves to its next phase, following the scenario's timeline. The start of
    dosing carries the scenario's scripted gate override, if it has one."""

    at_s: float
    phase: Phase
    gate_override: Decision | None = None


@dataclass(frozen=True)
class SimNotice:
    """A device's technical message, as a monitor would show it ("cuff could not measure")."""

    at_s: float
    device: str
    message: str


SimOutput = SimReading | SimObservation | SimPhase | SimNotice
