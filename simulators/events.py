"""Events a trainer can schedule in a scenario file or trigger live during a session.

Physiological events have a smooth onset, a plateau of `duration_s` and a smooth offset, so
vitals move the way a body does, not in steps. Some add to whatever the patient is doing
(a surge on top of the ketamine rise); others pull a vital towards a level (vasovagal
bradycardia to ~45/min whatever the starting rate). Device events change what the monitor can
measure, not the patient. Defaults are chosen to cross Vigil's default alert limits
(clinical.md section 4) so each event rehearses the alarm it is named after.

The same models validate scenario files and a trainer console's requests: `parse_event`
accepts a mapping such as {"kind": "steer", "vital": "systolic", "target": 185}.
"""

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

Vital = Literal["heart_rate", "systolic", "diastolic", "spo2", "respiratory_rate", "temperature"]

# The true values the simulated body can take; the monitor can report more (artefacts).
PHYSIOLOGICAL_RANGE: dict[str, tuple[float, float]] = {
    "heart_rate": (20, 260),
    "systolic": (40, 280),
    "diastolic": (20, 200),
    "spo2": (40, 100),
    "respiratory_rate": (0, 60),
    "temperature": (30, 43),
}

_Seconds = Annotated[float, Field(ge=0, le=6 * 3600)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Episode(_Event):
    """Timing shared by physiological events."""

    onset_s: _Seconds = 60
    duration_s: _Seconds = 300
    offset_s: _Seconds = 120


class HypertensiveSurge(_Episode):
    """Blood pressure climbs on top of the drug's rise (pain, anxiety, an unusual responder)."""

    kind: Literal["hypertensive_surge"] = "hypertensive_surge"
    systolic_rise: float = Field(55, ge=0, le=150)
    diastolic_rise: float = Field(30, ge=0, le=100)
    heart_rate_rise: float = Field(8, ge=-40, le=100)
    onset_s: _Seconds = 180
    duration_s: _Seconds = 600
    offset_s: _Seconds = 300


class Tachycardia(_Episode):
    """Heart rate rises (anxiety, emergence reaction); pressure follows a little."""

    kind: Literal["tachycardia"] = "tachycardia"
    heart_rate_rise: float = Field(60, ge=0, le=150)
    systolic_rise: float = Field(10, ge=-40, le=80)
    diastolic_rise: float = Field(6, ge=-30, le=60)
    onset_s: _Seconds = 60
    duration_s: _Seconds = 300
    offset_s: _Seconds = 180


class Desaturation(_Episode):
    """Respiratory depression: breathing slows, SpO2 falls, the heart speeds up to compensate."""

    kind: Literal["desaturation"] = "desaturation"
    spo2: float = Field(84, ge=40, le=100, description="SpO2 reached at the plateau, %")
    respiratory_rate: float = Field(6, ge=0, le=60, description="breaths/min at the plateau")
    heart_rate_rise: float = Field(12, ge=-40, le=80)
    onset_s: _Seconds = 120
    duration_s: _Seconds = 180
    offset_s: _Seconds = 180


class Vasovagal(_Episode):
    """A vasovagal reaction: bradycardia and hypotension, fast onset, slow recovery."""

    kind: Literal["vasovagal"] = "vasovagal"
    heart_rate: float = Field(45, ge=20, le=100, description="heart rate at the plateau, /min")
    systolic: float = Field(80, ge=40, le=140, description="systolic at the plateau, mmHg")
    diastolic: float = Field(45, ge=20, le=100, description="diastolic at the plateau, mmHg")
    onset_s: _Seconds = 40
    duration_s: _Seconds = 90
    offset_s: _Seconds = 240

    @model_validator(mode="after")
    def _pressure_pair(self) -> "Vasovagal":
        if self.diastolic >= self.systolic - 10:
            raise ValueError("diastolic must be at least 10 mmHg below systolic")
        return self


class SensorOff(_Event):
    """The oximeter probe comes off: no SpO2 or pulse until reattached or `duration_s` passes."""

    kind: Literal["sensor_off"] = "sensor_off"
    duration_s: float | None = Field(None, gt=0, le=6 * 3600)


class SensorOn(_Event):
    """The oximeter probe is put back."""

    kind: Literal["sensor_on"] = "sensor_on"


class CuffFailure(_Event):
    """The blood-pressure cuff cannot measure (leak, kinked tube) for `duration_s`."""

    kind: Literal["cuff_failure"] = "cuff_failure"
    duration_s: float = Field(900, gt=0, le=6 * 3600)


class CuffMeasureNow(_Event):
    """Someone presses 'start NIBP': a measurement outside the cycle."""

    kind: Literal["cuff_measure_now"] = "cuff_measure_now"


class Steer(_Event):
    """Move a vital smoothly to `target` over `over_s` seconds and hold it there until released."""

    kind: Literal["steer"] = "steer"
    vital: Vital
    target: float
    over_s: _Seconds = 60

    @model_validator(mode="after")
    def _target_possible(self) -> "Steer":
        low, high = PHYSIOLOGICAL_RANGE[self.vital]
        if not low <= self.target <= high:
            raise ValueError(f"target for {self.vital} must be within {low:g}–{high:g}")
        return self


class Release(_Event):
    """Hand a steered vital back to the physiology, blending over `over_s` seconds."""

    kind: Literal["release"] = "release"
    vital: Vital
    over_s: _Seconds = 60


class MotionArtefact(_Event):
    """The patient moves: oximeter readings drop out or go wrong, the cuff cannot measure."""

    kind: Literal["motion_artefact"] = "motion_artefact"
    duration_s: float = Field(20, gt=0, le=600)


PhysiologicalEvent = HypertensiveSurge | Tachycardia | Desaturation | Vasovagal
Event = Annotated[
    HypertensiveSurge
    | Tachycardia
    | Desaturation
    | Vasovagal
    | SensorOff
    | SensorOn
    | CuffFailure
    | CuffMeasureNow
    | Steer
    | Release
    | MotionArtefact,
    Field(discriminator="kind"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_KINDS: tuple[str, ...] = (
    "hypertensive_surge",
    "tachycardia",
    "desaturation",
    "vasovagal",
    "sensor_off",
    "sensor_on",
    "cuff_failure",
    "cuff_measure_now",
    "steer",
    "release",
    "motion_artefact",
)


def parse_event(data: Mapping[str, object]) -> Event:
    """An event from plain data (a console request); raises pydantic's ValidationError."""
    return EVENT_ADAPTER.validate_python(data)
