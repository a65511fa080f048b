"""Reading bodies, and where every reading is validated before anything is stored."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import (
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from backend.core.fields import Moment
from backend.core.schema import Schema
from backend.readings.vitals import (
    CONSCIOUSNESS_LEVELS,
    SEDATION_LEVELS,
    VITAL_FIELDS,
    VITALS,
    blood_pressure_error,
    range_error,
    type_error,
)


class Source(StrEnum):
    MANUAL = "manual"
    SIMULATOR = "simulator"
    DEVICE = "device"


Consciousness = Literal["A", "C", "V", "P", "U"]
Sedation = Annotated[int, Field(ge=0, le=5)]
MAX_BATCH = 1000


class VitalsBody(Schema):
    heart_rate: int | None = Field(default=None, description="/min")
    systolic: int | None = Field(default=None, description="mmHg")
    diastolic: int | None = Field(default=None, description="mmHg")
    spo2: int | None = Field(default=None, description="%")
    respiratory_rate: int | None = Field(default=None, description="/min")
    temperature: float | None = Field(default=None, description="°C")
    consciousness: Consciousness | None = Field(
        default=None,
        description="ACVPU: " + ", ".join(f"{k} {v}" for k, v in CONSCIOUSNESS_LEVELS.items()),
    )
    sedation: Sedation | None = Field(
        default=None,
        description="MOAA/S: " + ", ".join(f"{k} {v}" for k, v in SEDATION_LEVELS.items()),
    )
    on_oxygen: bool | None = Field(
        default=None, description="On supplemental oxygen (true) or breathing air (false)"
    )

    @field_validator(*VITALS, "sedation", mode="before")
    @classmethod
    def _a_number(cls, value: object) -> object:
        problem = type_error(value)
        if problem:
            raise PydanticCustomError("number_type", problem)
        return value

    @field_validator("on_oxygen", mode="before")
    @classmethod
    def _true_or_false(cls, value: object) -> object:
        # Not 1, "yes" or "off", which pydantic would otherwise read as a choice.
        if value is not None and not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "must be true or false")
        return value

    @field_validator(*VITALS, mode="after")
    @classmethod
    def _possible(cls, value: float | None, info: ValidationInfo) -> float | None:
        name = str(info.field_name)
        if value is not None:
            problem = range_error(name, value)
            if problem:
                spec = VITALS[name]
                raise PydanticCustomError(
                    "impossible_value",
                    problem,
                    {"lowest": spec.lowest, "highest": spec.highest, "unit": spec.unit},
                )
        return value

    @field_validator("diastolic", mode="after")
    @classmethod
    def _below_systolic(cls, diastolic: int | None, info: ValidationInfo) -> int | None:
        # A field validator, not a model one, so a fat-fingered heart rate and swapped BP values
        # are reported together: the nurse fixes everything in one pass.
        problem = blood_pressure_error(info.data.get("systolic"), diastolic)
        if problem:
            raise PydanticCustomError("diastolic_not_below_systolic", problem)
        return diastolic

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if all(getattr(self, name) is None for name in VITAL_FIELDS):
            raise PydanticCustomError(
                "no_vitals", "a reading needs at least one vital: " + ", ".join(VITAL_FIELDS)
            )
        return self


class ReadingIn(VitalsBody):
    id: UUID | None = Field(
        default=None,
        description="Your own UUID for this reading: resending it is safe and stores nothing new",
    )
    taken_at: Moment | None = Field(
        default=None,
        description="When the values were measured (ISO 8601 with offset); now if omitted",
    )
    source: Source | None = Field(
        default=None, description="manual for people, device for tokens, unless given"
    )


class ReadingBatchIn(Schema):
    readings: Annotated[list[ReadingIn], Field(min_length=1, max_length=MAX_BATCH)]


class ReadingPublic(Schema):
    id: str
    session_id: int
    taken_at: datetime
    received_at: datetime
    source: Source
    entered_by: str
    heart_rate: int | None
    systolic: int | None
    diastolic: int | None
    spo2: int | None
    respiratory_rate: int | None
    temperature: float | None
    consciousness: Consciousness | None
    sedation: int | None
    on_oxygen: bool | None
    entered_in_error_at: datetime | None = Field(
        description="Set when the reading was marked entered in error: it stays in the record "
        "but counts nowhere else"
    )
    entered_in_error_by: str | None
    entered_in_error_reason: str | None


class EnteredInErrorIn(Schema):
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)
    ] = Field(description="Why the reading is wrong, e.g. 'typed 180 for 108', 'wrong patient'")


class ReadingPage(Schema):
    items: list[ReadingPublic]
    next_page: str | None = Field(description="Pass as `page` to get the following readings")
    stream_cursor: str = Field(
        description="Open the live stream with after=this to receive what came after this page"
    )


class TrendPoint(Schema):
    t: datetime = Field(description="When the newest reading in this bucket was taken")
    mean: float
    low: float
    high: float
    n: int = Field(description="How many readings the bucket holds")


class TrendLines(Schema):
    heart_rate: list[TrendPoint]
    spo2: list[TrendPoint]
    respiratory_rate: list[TrendPoint]


class TrendBar(Schema):
    t: datetime = Field(description="When the bucket's latest BP was taken")
    high: int = Field(description="Systolic (diastolic when only that half was measured)")
    low: int = Field(description="Diastolic (systolic when only that half was measured)")


class ReadingTrend(Schema):
    lines: TrendLines = Field(description="Per vital, one point per bucket, oldest first")
    bp: list[TrendBar] = Field(description="Each bucket's latest blood pressure, oldest first")
    newest_taken_at: datetime | None = Field(description="The newest reading folded in")
    stream_cursor: str = Field(
        description="Open the live stream with after=this to receive what came after these "
        "buckets (a reading committed meanwhile may be in both)"
    )


class VitalSpecPublic(Schema):
    name: str
    label: str
    unit: str
    lowest: float
    highest: float
    confirm_low: float | None
    confirm_high: float | None
    integer: bool


class VitalsCatalogue(Schema):
    vitals: list[VitalSpecPublic]
    consciousness: dict[str, str]
    sedation: dict[int, str] = Field(description="MOAA/S levels, 5 (alert) to 0")
    max_batch: int
    server_time: datetime
