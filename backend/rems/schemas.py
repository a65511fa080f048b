"""The REMS form on the wire: the answers a person may enter, and the form as shown."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from backend.core.schema import Schema
from backend.readings.vitals import VITALS, blood_pressure_error
from backend.rems import rules

# Names and lot numbers are a line of printable text: no control characters (a tab or a newline
# would break the printed form's layout; NUL and lone surrogates are refused by Schema).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=PRINTABLE)
]
Lot = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./-]*$"
    ),
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]
Minutes = Annotated[StrictInt, Field(ge=0, le=1440)]
Medicine = Literal[
    "benzodiazepines", "sedative_hypnotics", "psychostimulants", "maois", "opioids", "none"
]

EARLIEST_BIRTH = date(1900, 1, 1)


def _plausible_birth(value: date) -> date:
    if not EARLIEST_BIRTH <= value <= date.today():
        raise PydanticCustomError(
            "date_of_birth_range",
            "a date of birth lies between {earliest} and today",
            {"earliest": EARLIEST_BIRTH.isoformat()},
        )
    return value


def _distinct(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise PydanticCustomError("medicines_repeated", "a medicine is listed twice")
    if "none" in value and len(value) > 1:
        raise PydanticCustomError(
            "medicines_none", "'none' cannot be given with a medicine: choose one or the other"
        )
    return value


SYSTOLIC, DIASTOLIC = VITALS["systolic"], VITALS["diastolic"]


class BloodPressureIn(Schema):
    systolic: Annotated[StrictInt, Field(ge=int(SYSTOLIC.lowest) + 1, le=int(SYSTOLIC.highest))]
    diastolic: Annotated[StrictInt, Field(ge=int(DIASTOLIC.lowest) + 1, le=int(DIASTOLIC.highest))]

    @model_validator(mode="after")
    def _ordered(self) -> "BloodPressureIn":
        if (problem := blood_pressure_error(self.systolic, self.diastolic)) is not None:
            raise ValueError(problem)
        return self


class RemsEntries(Schema):
    """Answers a person gives; a key sent as null clears that answer, a key left out keeps it."""

    date_of_birth: Annotated[date, AfterValidator(_plausible_birth)] | None = None
    sex: Literal["female", "male"] | None = None
    first_treatment: StrictBool | None = None
    concomitant_medicines: (
        Annotated[list[Medicine], Field(min_length=1, max_length=6), AfterValidator(_distinct)]
        | None
    ) = None
    monitoring_clinician: Name | None = None
    dose_mg: Literal[56, 84] | None = None
    device_lot: Lot | None = None
    bp_before: BloodPressureIn | None = None
    bp_40min: BloodPressureIn | None = None
    bp_end: BloodPressureIn | None = None
    vitals_ok_before_dosing: StrictBool | None = None
    vitals_ok_before_leaving: StrictBool | None = None
    pulse_oximetry: StrictBool | None = None
    sedation: StrictBool | None = None
    dissociation: StrictBool | None = None
    respiratory_depression: StrictBool | None = None
    monitoring_minutes: Minutes | None = None
    minutes_until_ready: Minutes | None = None
    serious_adverse_event: StrictBool | None = None
    sae_description: Description | None = None

    def changes(self) -> dict[str, Any]:
        """The answers sent, as stored (JSON values): only the keys the client gave."""
        dumped = self.model_dump(mode="json")
        return {key: dumped[key] for key in self.model_fields_set}


class RemsSave(Schema):
    version: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)] = Field(
        description="The form's version as read (0 before anything was saved); an older one is 409"
    )
    entries: RemsEntries


class RemsComplete(Schema):
    version: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)] = Field(
        description="The form's version as read"
    )


class FieldPublic(Schema):
    key: str
    label: str
    section: str
    kind: rules.Kind
    choices: dict[str, str]
    required: bool
    value: Any = Field(description="The answer in force (null: not answered)")
    shown: str = Field(description="The answer as printed")
    source: rules.Source
    record_value: Any = Field(description="The session record's answer (null: it has none)")
    record_detail: str | None = Field(description="The record's evidence, in the clinic's time")
    entered: Any = Field(description="What a person entered (null: nothing)")
    editable: bool = Field(description="Whether a person may answer it on this form now")


class RemsFormPublic(Schema):
    session_id: int
    patient_id: int
    phase: str
    session_ended: bool
    dosing_started_at: datetime | None
    due_date: date | None = Field(description="Treatment date (clinic calendar) + 7 days")
    overdue: bool
    status: Literal["complete", "in_progress", "not_started"]
    completable: bool
    missing: list[str] = Field(description="Keys of the questions still to answer")
    version: int
    updated_at: datetime | None
    updated_by: str | None
    completed_at: datetime | None
    completed_by: str | None
    clinic_timezone: str = Field(description="The zone the form's dates and times are in")
    fields: list[FieldPublic]


class DueFormPublic(Schema):
    session_id: int
    patient_id: int
    patient_name: str
    clinic_id: str
    chair: str
    dosing_started_at: datetime
    due_date: date
    overdue: bool
    session_ended: bool
    status: Literal["in_progress", "not_started"]
    updated_at: datetime | None


class DueFormsPublic(Schema):
    items: list[DueFormPublic]
    truncated: bool = Field(description="More forms are due than listed (the oldest are listed)")
    today: date = Field(description="The clinic's today, against which due dates are judged")
    clinic_timezone: str = Field(description="The zone of the clinic's calendar")
