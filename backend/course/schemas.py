"""The course as the API sends it."""

from datetime import datetime

from pydantic import Field

from backend.core.schema import Schema
from backend.patients.schemas import PatientPublic


class CourseSession(Schema):
    session_id: int
    started_at: datetime = Field(description="When the session began (UTC)")
    drug: str
    route: str
    phase: str = Field(description="Where the session is now: ended ones are discharged or stopped")
    dose_mg: float | None = Field(description="The planned dose")
    dose_mg_per_kg: float | None
    baseline_systolic: float | None = Field(
        description="The pre-dose baseline: the last valid blood pressure before dosing started"
    )
    baseline_diastolic: float | None
    peak_systolic_rise: float | None = Field(
        description="The highest systolic after dosing started minus the baseline, mmHg; "
        "null without a baseline or a later reading"
    )
    peak_diastolic_rise: float | None
    lowest_spo2: float | None = Field(description="The lowest valid SpO2 of the session, %")
    alarms: int = Field(description="Physiological and technical alarms (reminders aside)")
    high_alarms: int
    deepest_sedation: int | None = Field(description="The lowest MOAA/S recorded (5 alert)")
    deepest_consciousness: str | None = Field(description="The ACVPU letter furthest from A")
    dosing_ended_at: datetime | None
    ready_at: datetime | None = Field(
        description="When the record first showed the patient ready to leave, the minimum "
        "observation time aside"
    )
    minutes_to_ready: float | None = Field(description="From the end of dosing to ready_at")
    ready_note: str | None = Field(description="Why there is no readiness figure")


class CoursePublic(Schema):
    patient: PatientPublic
    sessions: list[CourseSession] = Field(description="Oldest first")
    total: int = Field(description="The patient's real sessions; at most the latest 100 listed")
    clinic_timezone: str = Field(
        description="The clinic's IANA time zone, in which people read the sessions' dates"
    )
