"""NEWS2, the Royal College of Physicians' National Early Warning Score (2017): clinical.md §6.

Pure functions: the API, the ward tile and the session report all call `score`, so one table
decides every number a nurse sees. A score is given only for a complete, recent set of
observations; otherwise the result says what is missing or too old, and has no total.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Band(StrEnum):
    LOW = "low"
    LOW_MEDIUM = "low-medium"  # total 0–4 with one parameter scoring 3: urgent ward review
    MEDIUM = "medium"
    HIGH = "high"


# The seven NEWS2 parameters, in the chart's order, with the readings field each comes from.
PARAMETERS: dict[str, str] = {
    "respiratory_rate": "Respiration rate",
    "spo2": "SpO2",
    "on_oxygen": "Air or oxygen",
    "systolic": "Systolic BP",
    "heart_rate": "Pulse",
    "consciousness": "Consciousness",
    "temperature": "Temperature",
}


def respiration_points(rate: float) -> int:
    if rate <= 8:
        return 3
    if rate <= 11:
        return 1
    if rate <= 20:
        return 0
    if rate <= 24:
        return 2
    return 3


def spo2_scale1_points(spo2: float) -> int:
    if spo2 <= 91:
        return 3
    if spo2 <= 93:
        return 2
    if spo2 <= 95:
        return 1
    return 0


def spo2_scale2_points(spo2: float, on_oxygen: bool) -> int:
    """Scale 2, for a prescribed 88–92% target: above 92% scores only when on oxygen."""
    if spo2 <= 83:
        return 3
    if spo2 <= 85:
        return 2
    if spo2 <= 87:
        return 1
    if spo2 <= 92 or not on_oxygen:
        return 0
    if spo2 <= 94:
        return 1
    if spo2 <= 96:
        return 2
    return 3


def oxygen_points(on_oxygen: bool) -> int:
    return 2 if on_oxygen else 0


def systolic_points(systolic: float) -> int:
    if systolic <= 90:
        return 3
    if systolic <= 100:
        return 2
    if systolic <= 110:
        return 1
    if systolic <= 219:
        return 0
    return 3


def pulse_points(pulse: float) -> int:
    if pulse <= 40:
        return 3
    if pulse <= 50:
        return 1
    if pulse <= 90:
        return 0
    if pulse <= 110:
        return 1
    if pulse <= 130:
        return 2
    return 3


def consciousness_points(acvpu: str) -> int:
    """Alert scores 0; new confusion, voice, pain or unresponsive score 3."""
    return 0 if acvpu == "A" else 3


def temperature_points(celsius: float) -> int:
    # The chart lists tenths; a value between two rows (35.05) is no longer "≤ 35.0", so it
    # takes the next row's score. The same holds at every boundary below.
    if celsius <= 35.0:
        return 3
    if celsius <= 36.0:
        return 1
    if celsius <= 38.0:
        return 0
    if celsius <= 39.0:
        return 1
    return 2


def band(total: int, parts: Mapping[str, int]) -> Band:
    if total >= 7:
        return Band.HIGH
    if total >= 5:
        return Band.MEDIUM
    if any(points == 3 for points in parts.values()):
        return Band.LOW_MEDIUM
    return Band.LOW


@dataclass(frozen=True)
class Observation:
    value: float | str | bool
    taken_at: datetime


@dataclass(frozen=True)
class Part:
    parameter: str
    value: float | str | bool
    taken_at: datetime
    points: int


@dataclass(frozen=True)
class Missing:
    parameter: str
    reason: str  # "not recorded" or "older than N min"


@dataclass(frozen=True)
class News2:
    total: int | None  # None unless every parameter is present and recent
    band: Band | None
    parts: tuple[Part, ...]  # every parameter that could be scored, complete or not
    missing: tuple[Missing, ...]
    scale: int
    max_age: timedelta

    @property
    def complete(self) -> bool:
        return self.total is not None


def _points(parameter: str, value: float | str | bool, on_oxygen: bool | None, scale: int) -> int:
    if parameter == "respiratory_rate":
        return respiration_points(float(value))
    if parameter == "spo2":
        if scale == 2:
            return spo2_scale2_points(float(value), bool(on_oxygen))
        return spo2_scale1_points(float(value))
    if parameter == "on_oxygen":
        return oxygen_points(bool(value))
    if parameter == "systolic":
        return systolic_points(float(value))
    if parameter == "heart_rate":
        return pulse_points(float(value))
    if parameter == "consciousness":
        return consciousness_points(str(value))
    return temperature_points(float(value))


def score(
    latest: Mapping[str, Observation], now: datetime, *, max_age: timedelta, scale: int = 1
) -> News2:
    """Score the latest value of each parameter; missing or older than `max_age` means no total."""
    if scale not in (1, 2):
        raise ValueError(f"SpO2 scale must be 1 or 2, not {scale}")
    recent: dict[str, Observation] = {}
    missing: list[Missing] = []
    for parameter in PARAMETERS:
        observation = latest.get(parameter)
        if observation is None:
            missing.append(Missing(parameter, "not recorded"))
        elif now - observation.taken_at > max_age:
            missing.append(Missing(parameter, f"older than {max_age.total_seconds() / 60:g} min"))
        else:
            recent[parameter] = observation
    # Scale 2 scores SpO2 above 92% by whether oxygen is given: without a recent answer to
    # "air or oxygen?" that part cannot be scored.
    on_oxygen_obs = recent.get("on_oxygen")
    on_oxygen = bool(on_oxygen_obs.value) if on_oxygen_obs is not None else None
    parts = tuple(
        Part(name, obs.value, obs.taken_at, _points(name, obs.value, on_oxygen, scale))
        for name, obs in recent.items()
        if not (name == "spo2" and scale == 2 and on_oxygen is None)
    )
    if missing or len(parts) != len(PARAMETERS):
        return News2(None, None, parts, tuple(missing), scale, max_age)
    by_name = {part.parameter: part.points for part in parts}
    total = sum(by_name.values())
    return News2(total, band(total, by_name), parts, (), scale, max_age)
