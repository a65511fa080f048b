"""Patient request and response bodies."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from backend.core.schema import Schema
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


class PatientCreate(Schema):
    clinic_id: ClinicId
    display_name: DisplayName
    simulated: bool = Field(
        default=False, description="A drill's patient (a trainer's always are); never real"
    )


class PatientUpdate(Schema):
    """The fields to change; at least one. Whether a patient is simulated never changes."""

    clinic_id: ClinicId | None = None
    display_name: DisplayName | None = None

    @model_validator(mode="after")
    def _something(self) -> "PatientUpdate":
        if self.clinic_id is None and self.display_name is None:
            raise ValueError("send clinic_id, display_name or both")
        return self


class PatientPublic(Schema):
    id: int
    clinic_id: str
    display_name: str
    simulated: bool
    created_at: datetime
    created_by: str | None


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
    id: int | None = Field(description="The new patient's id (none in a dry run)")


class ImportPresent(Schema):
    line: int
    clinic_id: str
    id: int = Field(description="The patient already registered under this identifier")
    registered_clinic_id: str = Field(description="Their identifier as registered")
    display_name: str = Field(description="Their name as registered (the file's is not applied)")
    same_name: bool


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
