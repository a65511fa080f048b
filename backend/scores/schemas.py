"""NEWS2 as the API gives it."""

from datetime import datetime

from pydantic import Field

from backend.core.schema import Schema
from backend.scores.news2 import PARAMETERS, Band, News2


class News2Part(Schema):
    parameter: str
    label: str
    value: float | bool | str
    taken_at: datetime
    points: int = Field(description="This parameter's NEWS2 score, 0–3")


class News2Missing(Schema):
    parameter: str
    label: str
    reason: str = Field(description="'not recorded', or how old the last value is allowed to be")


class News2Public(Schema):
    score: int | None = Field(description="The total, only when every parameter is recent")
    band: Band | None = Field(description="low, low-medium, medium or high")
    complete: bool
    parts: list[News2Part] = Field(description="Every parameter that could be scored")
    missing: list[News2Missing] = Field(description="What is needed before a total is given")
    spo2_scale: int
    max_age_minutes: float
    as_of: datetime

    @classmethod
    def of(cls, result: News2, as_of: datetime) -> "News2Public":
        return cls(
            score=result.total,
            band=result.band,
            complete=result.complete,
            parts=[
                News2Part(
                    parameter=p.parameter,
                    label=PARAMETERS[p.parameter],
                    value=p.value,
                    taken_at=p.taken_at,
                    points=p.points,
                )
                for p in result.parts
            ],
            missing=[
                News2Missing(parameter=m.parameter, label=PARAMETERS[m.parameter], reason=m.reason)
                for m in result.missing
            ],
            spo2_scale=result.scale,
            max_age_minutes=result.max_age.total_seconds() / 60,
            as_of=as_of,
        )
