"""Patient request and response bodies."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from backend.core.schema import Schema
from backend.patients.age import EARLIEST_BIRTH, BirthDateError, parse_birth_date
from backend.patients.identity import CLINIC_ID_MAX, DISPLAY_NAME_MAX, TextError, clean_text


def _checked(max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        try:
            return clean_text(value, max_length)
        except TextError as exc:
            raise PydanticCustomError("patient_text", "{reason}", {"reason": exc.reason}) from None

    return AfterValidator(check)


ClinicId = Annotated[
    str,
    _checked(CLINIC_ID_MAX),
    Field(description="The clinic's identifier (MRN); compared ignoring case and extra spaces"),
]
DisplayName = Annotated[str, _checked(DISPLAY_NAME_MAX), Field(description="Name as shown")]


def _birth_date(value: Any) -> date:
    # Only the written form: pydantic would otherwise read a number as seconds since 1970, and
    # an ISO time ("1956-03-02T23:00Z") as a day its zone may have moved.
    if not isinstance(value, str):
        raise PydanticCustomError("birth_date", "write the date of birth as text, YYYY-MM-DD")
    try:
        born = parse_birth_date(value)
    except BirthDateError as exc:
        raise PydanticCustomError("birth_date", "{reason}", {"reason": exc.reason}) from None
    if born < EARLIEST_BIRTH:
        reason = f"{born.isoformat()} is before {EARLIEST_BIRTH.isoformat()}: check the year"
        raise PydanticCustomError("birth_date", "{reason}", {"reason": reason})
    return born


BirthDate = Annotated[
    date,
    BeforeValidator(_birth_date),
    Field(
        description="Date of birth, YYYY-MM-DD: not in the future (the clinic's date), "
        "not before 1900"
    ),
]


class PatientCreate(Schema):
    clinic_id: ClinicId
    display_name: DisplayName
    date_of_birth: BirthDate | None = None
    simulated: bool = Field(
        default=False, description="A drill's patient (a trainer's always are); never real"
    )


class PatientUpdate(Schema):
    """The fields to change; at least one. Whether a patient is simulated never changes."""

    clinic_id: ClinicId | None = None
    display_name: DisplayName | None = None
    date_of_birth: BirthDate | None = Field(
        default=None, description="Sent as null, the date of birth is removed (entered in error)"
    )

    @model_validator(mode="after")
    def _something(self) -> "PatientUpdate":
        named = self.clinic_id is not None or self.display_name is not None
        if not named and "date_of_birth" not in self.model_fields_set:
            raise ValueError("send clinic_id, display_name, date_of_birth or several")
        return self


class PatientPublic(Schema):
    id: int
    clinic_id: str
    display_name: str
    simulated: bool
    created_at: datetime
    created_by: str | None
    date_of_birth: date | None = Field(description="YYYY-MM-DD; null when not recorded")


class PatientRead(PatientPublic):
    age: int | None = Field(
        description="Whole years on the clinic's date today; null without a date of birth"
    )


class PatientChangePublic(Schema):
    id: int
    patient_id: int
    field: str
    old_value: str | None
    new_value: str | None
    changed_by: str
    changed_at: datetime


class ImportCreated(Schema):
    line: int
    clinic_id: str
    display_name: str
    date_of_birth: date | None = None
    id: int | None = Field(description="The new patient's id (none in a dry run)")


class ImportPresent(Schema):
    line: int
    clinic_id: str
    id: int = Field(description="The patient already registered under this identifier")
    registered_clinic_id: str = Field(description="Their identifier as registered")
    display_name: str = Field(description="Their name as registered (the file's is not applied)")
    same_name: bool
    same_date_of_birth: bool | None = Field(
        default=None,
        description="Whether the file's date of birth is the one registered (null when either "
        "has none): a different one may mean a different person under a mistyped identifier",
    )


class ImportRejected(Schema):
    line: int
    field: str | None = Field(description="The column at fault; none when the whole row is")
    reason: str
    value: str | None = None


class ImportReport(Schema):
    dry_run: bool
    delimiter: str
    rows: int = Field(description="Data rows read (blank lines are not rows)")
    created: list[ImportCreated]
    present: list[ImportPresent]
    rejected: list[ImportRejected]
    ignored_columns: list[str]
