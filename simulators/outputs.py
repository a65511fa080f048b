"""What a simulation emits: readings, phase changes and device notices, each stamped in
seconds since the session started."""

from dataclasses import dataclass
from typing import Literal

Phase = Literal["infusing", "recovery", "discharged"]


@dataclass(frozen=True)
class SimReading:
    """What one device measured at one instant: only the vitals it measures (Vigil's names)."""

    at_s: float
    values: dict[str, int | float]
    device: str


@dataclass(frozen=True)
class SimPhase:
    """The session moves to its next phase, following the scenario's timeline."""

    at_s: float
    phase: Phase


@dataclass(frozen=True)
class SimNotice:
    """A device's technical message, as a monitor would show it ("cuff could not measure")."""

    at_s: float
    device: str
    message: str


SimOutput = SimReading | SimPhase | SimNotice
