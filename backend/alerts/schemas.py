"""Alert and limit bodies for the API and the stream."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, StrictBool

from backend.alerts.limits import AlertPhase, AppliedGate, LimitSet, Priority
from backend.alerts.models import Alert
from backend.core.fields import Moment
from backend.core.schema import Schema

PriorityName = Literal["low", "medium", "high"]


class AlertPublic(Schema):
    id: int
    session_id: int
    chair: str
    simulated: bool = Field(description="The session is a simulation, not a patient")
    version: int = Field(description="Grows with every change: the higher copy is the newer")
    condition: str
    kind: str
    priority: PriorityName
    status: str
    present: bool = Field(
        description="The condition still stands (false: latched until acknowledged)"
    )
    escalated: bool = Field(
        description="Left unanswered long enough to escalate since it last demanded attention "
        "(raised, reminded or made worse); each such episode escalates anew"
    )
    escalations: int = Field(description="How many times it has escalated")
    message: str
    value: float | None
    limit: float | None = Field(
        description="The limit the value crossed (a vital out of range), to show beside it"
    )
    raised_at: datetime
    alerted_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None
    resolved_at: datetime | None
    escalated_at: datetime | None = Field(description="When it last escalated")
    reading_id: str | None = Field(description="The reading whose value the alarm shows")
    withdrawn_reason: str | None = Field(
        description="Set when that reading was marked entered in error: the alarm never stood"
    )
    actionable: bool | None = Field(
        default=None, description="The acknowledging person's answer: did it call for action?"
    )

    @classmethod
    def of(cls, row: Alert) -> "AlertPublic":
        return cls(
            id=row.id,
            session_id=row.session_id,
            chair=row.session.chair,
            simulated=row.session.simulated,
            version=row.version,
            condition=row.condition,
            kind=row.kind,
            priority=Priority(row.priority).label,
            status=row.status,
            present=row.present,
            escalated=_escalated(row),
            escalations=row.escalations or 0,
            message=row.message,
            value=row.value,
            limit=row.limit_value,
            raised_at=row.raised_at,
            alerted_at=row.alerted_at,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
            note=row.note,
            resolved_at=row.resolved_at,
            escalated_at=row.escalated_at,
            reading_id=row.reading_id,
            withdrawn_reason=row.withdrawn_reason,
            actionable=row.actionable,
        )


def _escalated(row: Alert) -> bool:
    """The current episode has escalated (see lifecycle.Alarm.escalated)."""
    return row.escalated_at is not None and row.escalated_at >= row.alerted_at


class AcknowledgeIn(Schema):
    note: str | None = Field(default=None, max_length=1000, description="What was done")
    actionable: StrictBool | None = Field(
        default=None,
        description="Optional: did the alarm call for action? Kept for the alarm review",
    )


class AlertSummary(Schema):
    priority: PriorityName | None
    count: int
    escalated: bool


class ProfilePublic(Schema):
    id: int
    name: str
    is_default: bool
    limits: LimitSet
    updated_at: datetime
    updated_by: str


class ProfileIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    limits: LimitSet
    based_on: Moment | None = Field(
        default=None,
        description="The profile's updated_at when you loaded it: a change saved by someone "
        "else since then is answered with 409 instead of being overwritten",
    )


AlertableVital = Literal["heart_rate", "systolic", "diastolic", "spo2", "respiratory_rate"]


class BoundPatch(Schema):
    medium: float | None = None
    high: float | None = None


class VitalLimitPatch(Schema):
    """The fields of a vital's limit this session changes; fields left out keep the profile's,
    a field sent as null removes that limit."""

    above: BoundPatch | None = None
    below: BoundPatch | None = None
    delay_s: float | None = None
    high_delay_s: float | None = None
    hysteresis: float | None = None


Overrides = dict[AlertPhase, dict[AlertableVital, VitalLimitPatch]]


class SessionLimits(Schema):
    profile_id: int | None
    profile_name: str
    spo2_scale: int = Field(description="The session's NEWS2 SpO2 scale")
    scale_limits: dict[str, dict[str, dict[str, Any]]] = Field(
        description="What the SpO2 scale changes over the profile, per phase and vital (scale 2: "
        "the SpO2 low limits follow the prescribed 88–92 % target; empty on scale 1); the "
        "session's own overrides are layered over it"
    )
    scale_note: str | None = Field(description="Says where the SpO2 limits come from, on scale 2")
    overrides: dict[str, dict[str, dict[str, Any]]] = Field(
        description="What this session changes, as sent (fields left out keep the profile's)"
    )
    effective: LimitSet


class OverridesIn(Schema):
    overrides: Overrides = Field(
        description="Per phase, the vitals whose limits differ from the profile for this session"
    )


class GateAdvice(Schema):
    advised_against: bool
    message: str | None
    baseline_systolic: float | None
    baseline_diastolic: float | None
    gate: AppliedGate = Field(
        description="The gate this session's patient is held to: the profile's age band for "
        "their age on the session's day (from_age), or its default (from_age null: no date of "
        "birth, younger than every band, or a profile without bands); basis says which, in words"
    )


class LimitChangePublic(Schema):
    id: int
    profile_id: int | None
    session_id: int | None
    changed_at: datetime
    changed_by: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
