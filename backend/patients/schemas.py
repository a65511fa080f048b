"""Patient request and response bodies."""

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from backend.core.schema import Schema

ClinicId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class PatientCreate(Schema):
    clinic_id: ClinicId
    display_name: DisplayName


class PatientPublic(Schema):
    id: int
    clinic_id: str
    display_name: str
    created_at: datetime
