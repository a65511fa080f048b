"""Infusion session request and response bodies."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from backend.core.fields import Moment, RowId
from backend.core.schema import Schema
from backend.patients.schemas import PatientPublic
from backend.sessions.phases import Phase


class Drug(StrEnum):
    KETAMINE = "ketamine"
    ESKETAMINE = "esketamine"


class Route(StrEnum):
    IV = "iv"
    IM = "im"
    INTRANASAL = "intranasal"
    SC = "sc"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"
    ALL = "all"


Chair = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class SessionCreate(Schema):
    patient_id: RowId
    chair_id: RowId | None = Field(
        default=None, description="The configured chair (GET /api/chairs lists them); preferred"
    )
    chair: Chair | None = Field(
        default=None,
        description="Or a configured chair's name, however spelt ('chair 3 ' is 'Chair 3'); a "
        "name held by chairs in several rooms needs chair_id",
    )
    drug: Drug
    route: Route
    planned_dose_mg: float | None = Field(default=None, gt=0, le=2000)
    weight_kg: float | None = Field(default=None, gt=0, le=400)
    planned_duration_min: int | None = Field(default=None, ge=1, le=720)
    simulated: bool = Field(default=False, description="A training session, never a real patient")
    notes: Note | None = None
    limit_profile_id: RowId | None = Field(
        default=None, description="Alert limit profile; the clinic default when omitted"
    )
    spo2_scale: Literal[1, 2] = Field(
        default=1,
        description="NEWS2 SpO2 scale: 2 only for a patient with a prescribed 88–92% target",
    )


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class OverrideIn(Schema):
    """A clinician's decision to go on although the record advises against it, and why."""

    by: Name = Field(
        description="Who decides: on a real session the username of an active nurse or admin "
        "account (GET /api/users/clinicians lists them); on a simulated one any name"
    )
    reason: Reason = Field(description="Why, in the clinician's words")


_OVERRIDE_SHAPE = '{"by": "<username>", "reason": "<why>"}'


class PhaseChangeIn(Schema):
    phase: Phase
    at: Moment | None = Field(
        default=None, description="When it happened; defaults to now. May be set back, not ahead."
    )
    note: Note | None = None
    override_gate: OverrideIn | None = Field(
        default=None,
        description="Start the infusion although the baseline blood pressure is above the "
        "pre-dose gate: who decides and why, kept on the session, its phase change and its "
        f"record. {_OVERRIDE_SHAPE}; null (or false) for none.",
    )
    override_alarms: OverrideIn | None = Field(
        default=None,
        description="Discharge although high-priority alarms are open (unacknowledged or still "
        "present): who decides and why, kept with the phase change and on the session record. "
        f"{_OVERRIDE_SHAPE}; null for none.",
    )
    checklist: dict[str, bool] | None = Field(
        default=None,
        description="The manual checklist items the nurse ticked, by key (see GET .../checklist). "
        "The auto items (judged from the record: BP before dosing, the pre-dose gate, minimum "
        "observation, BP before discharge, an alert patient, open high alarms…) hold for every "
        "client. The manual ones are required only when this is sent; clients that send nothing "
        "(devices, scenario timelines) have the checklist recorded as unconfirmed.",
    )

    @field_validator("override_gate", mode="before")
    @classmethod
    def _named_override(cls, value: Any) -> Any:
        # The old boolean: false still means "no override"; true is refused, because an
        # override now names who decides and why.
        if value is False:
            return None
        if value is True:
            raise PydanticCustomError(
                "override_needs_decider",
                "an override needs who decides and why: {shape}",
                {"shape": _OVERRIDE_SHAPE},
            )
        return value


class ChecklistItemPublic(Schema):
    key: str
    label: str
    kind: Literal["auto", "manual"] = Field(
        description="auto: judged by the server from the record; manual: ticked by the nurse"
    )
    required: bool
    met: bool | None = Field(
        description="Auto items: whether met (null: nothing recorded to judge, which blocks "
        "nothing). Manual items: whether ticked (always false before confirming)."
    )
    detail: str | None
    due_at: datetime | None = Field(
        default=None, description="When a time-bound item not met yet will be"
    )
    attention: bool = Field(
        default=False,
        description="Met, but needs a second look (a baseline above the pre-dose gate, an "
        "override): show it as a warning, never as a plain tick",
    )


class ChecklistPublic(Schema):
    from_phase: Phase
    to_phase: Phase
    transition: Literal["start", "end", "discharge", "stop"]
    at: datetime = Field(description="The moment the auto items were judged for")
    items: list[ChecklistItemPublic]
    ready: bool = Field(description="Every required auto item is met (manual ones aside)")
    ready_at: datetime | None = Field(
        description="When the required auto items will be met, if only time stands in the way"
    )
    reason_required: bool = Field(description="A note giving the reason is required")


class PhaseChangePublic(Schema):
    from_phase: Phase | None
    to_phase: Phase
    at: datetime
    recorded_at: datetime
    by: str
    note: str | None
    checklist: dict[str, Any] | None = Field(
        default=None, description="The protocol checklist as it was confirmed"
    )


class SessionPublic(Schema):
    id: int
    patient: PatientPublic
    chair_id: int
    chair: str = Field(description="The chair's name when the session started (the record's copy)")
    room_id: int
    room: str
    site_id: int
    site: str
    drug: Drug
    route: Route
    planned_dose_mg: float | None
    weight_kg: float | None
    planned_duration_min: int | None
    simulated: bool
    phase: Phase
    phase_changed_at: datetime
    created_at: datetime
    created_by: str
    ended_at: datetime | None
    notes: str | None
    limit_profile_id: int | None
    gate_override_by: str | None = Field(
        description="Who decided to start although the baseline was above the pre-dose gate: "
        "the clinician's display name (on a simulated session, the name given)"
    )
    gate_override_username: str | None = Field(
        description="The deciding clinician's account (null on a simulated session's free name)"
    )
    gate_override_reason: str | None = Field(description="Why the gate was overridden")
    gate_override_entered_by: str | None = Field(
        description="Who entered the override (the signed-in user or token making the change)"
    )
    gate_override_at: datetime | None
    spo2_scale: int
    phase_changes: list[PhaseChangePublic]
