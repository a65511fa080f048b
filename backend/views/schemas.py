"""The ward's view of a session: the session with its latest values, highest alarm and NEWS2."""

from datetime import datetime

from pydantic import Field

from backend.alerts.schemas import AlertSummary
from backend.core.schema import Schema
from backend.readings.schemas import Source
from backend.scores.schemas import News2Public
from backend.sessions.schemas import SessionPublic


class LatestValue(Schema):
    # bool first: pydantic would otherwise turn on_oxygen's true into 1.
    value: bool | int | float | str
    taken_at: datetime
    source: Source = Field(description="how the value was taken: how soon it is stale")


class SessionSummary(SessionPublic):
    latest: dict[str, LatestValue] = Field(
        description="For each vital, its most recent value and when it was taken"
    )
    alert: AlertSummary = Field(description="The session's highest open alarm")
    news2: News2Public = Field(description="NEWS2 now, or what is missing for it")
    patient_age: int | None = Field(
        default=None,
        description="The patient's age in whole years on the session's day (its start, on the "
        "clinic's calendar): the age its pre-dose gate band is chosen by; null without a date "
        "of birth",
    )
