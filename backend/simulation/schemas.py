"""Bodies of the simulation API (trainer console and scripts)."""

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import Field, StringConstraints, model_validator

from backend.core.fields import RowId
from backend.core.schema import Schema
from backend.sessions.schemas import Chair
from simulators.scenario import PatientOverrides

MAX_SCENARIO_CHARS = 50_000


class SimulationStart(Schema):
    scenario: str | None = Field(
        default=None, description="A scenario shipped with Vigil, by name (see /scenarios)"
    )
    scenario_toml: Annotated[str, StringConstraints(max_length=MAX_SCENARIO_CHARS)] | None = Field(
        default=None,
        description="Or a scenario of your own, as the text of a scenario file (TOML)",
    )
    chair_id: RowId | None = Field(
        default=None, description="The configured chair (GET /api/chairs lists them); preferred"
    )
    chair: Chair | None = Field(
        default=None, description="Or a configured chair's name, however spelt"
    )
    patient_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
        | None
    ) = Field(default=None, description="Shown on the ward; marked SIMULATED everywhere")
    seed: int | None = Field(
        default=None, ge=0, lt=2**31, description="Same scenario and seed: the same readings"
    )
    patient: PatientOverrides | None = Field(
        default=None,
        description="The simulated patient's age, weight_kg and baseline vitals (heart_rate, "
        "systolic, diastolic, spo2, respiratory_rate, temperature) and drug sensitivities; "
        "what is left out comes from the scenario, then from the seed",
    )
    speed: float = Field(default=1.0, ge=1, le=60, description="1 = real time, up to 60x")
    start_at_min: float = Field(
        default=0, ge=0, description="Start part-way in, with the minutes before as history"
    )
    limit_profile_id: RowId | None = None

    @model_validator(mode="after")
    def _one_scenario(self) -> Self:
        if (self.scenario is None) == (self.scenario_toml is None):
            raise ValueError("give either scenario (a name) or scenario_toml (a file's text)")
        return self


class SimulationControl(Schema):
    speed: float | None = Field(default=None, ge=1, le=60)
    paused: bool | None = None


class LiveEventPublic(Schema):
    at_s: float
    kind: str
    by: str
    event: dict[str, Any]


class SimulationPublic(Schema):
    session_id: int
    chair: str
    simulated: bool = True
    scenario: str
    title: str
    seed: int
    patient: dict[str, float] = Field(description="The simulated patient as drawn or chosen")
    speed: float
    paused: bool
    status: str = Field(description="running, finished (discharged) or stopped")
    phase: str
    ended_because: str | None = Field(
        default=None,
        description="When the protocol refused a change of the scenario's timeline (e.g. a "
        "discharge before the minimum observation, or with a high alarm open): why, as recorded "
        "on the session when the run was stopped",
    )
    position_s: float = Field(description="Simulated seconds since the session started")
    end_s: float
    truth: dict[str, float] | None = Field(
        description="The simulated patient's actual vitals now (the monitor adds its errors)"
    )
    notices: list[str] = Field(description="The devices' recent technical messages")
    events: list[LiveEventPublic]
    started_by: str
    started_at: datetime


class ScheduledEventPublic(Schema):
    at_s: float
    kind: str


class ScenarioPublic(Schema):
    name: str
    title: str
    description: str
    regimen: str
    minutes: float = Field(description="How long the whole session runs, at real speed")
    events: list[ScheduledEventPublic]
    gate_override: str | None = Field(
        default=None,
        description="Who the scenario says decides to dose although the baseline is above the "
        "pre-dose gate, and why (None: the start is held to the gate like a nurse's)",
    )
