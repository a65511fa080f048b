"""A reading: any non-empty subset of the vitals, taken at one moment, from one source."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Float, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, UTCDateTime
from backend.readings.vitals import VITAL_FIELDS


class Reading(Base):
    __tablename__ = "readings"
    __table_args__ = (Index("ix_readings_session_taken", "session_id", "taken_at", "id"),)

    # A UUID, usually the client's own: it is what makes a retried submission safe.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime]
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    entered_by: Mapped[str] = mapped_column(String(80))
    heart_rate: Mapped[int | None]
    systolic: Mapped[int | None]
    diastolic: Mapped[int | None]
    spo2: Mapped[int | None]
    respiratory_rate: Mapped[int | None]
    temperature: Mapped[float | None] = mapped_column(Float)
    consciousness: Mapped[str | None] = mapped_column(String(1))
    sedation: Mapped[int | None]  # MOAA/S, 0 (no response to pain) to 5 (responds readily)
    on_oxygen: Mapped[bool | None]  # supplemental oxygen at the time: NEWS2 scores it
    # A reading entered by mistake is kept for the record, flagged, and left out of charts,
    # latest values, scores and alarms.
    entered_in_error_at: Mapped[datetime | None]
    entered_in_error_by: Mapped[str | None] = mapped_column(String(80))
    entered_in_error_reason: Mapped[str | None] = mapped_column(Text)


def _latest_columns() -> list[Column[Any]]:
    """Per vital: its newest value, when it was taken, its source and the reading it came from
    (the id breaks a tie of taken_at as the readings' order does, and tells which vitals a
    reading struck out was the latest of)."""
    readings = Reading.__table__.c
    columns: list[Column[Any]] = []
    for name in VITAL_FIELDS:
        columns += [
            Column(name, readings[name].type),
            Column(f"{name}_at", UTCDateTime()),
            Column(f"{name}_source", String(16)),
            Column(f"{name}_id", String(36)),
        ]
    return columns


# Each session's latest values, one row, kept by database triggers on `readings` (migration
# 0020): every insert, whatever path made it, and every reading marked entered in error update
# it inside the statement that changed the readings, so it is never out of step with them and
# costs ingest no statement of its own. The ward list, NEWS2 and the alarm clock read this row
# instead of walking a session's history, so their cost does not grow with stored readings.
latest_readings = Table(
    "latest_readings",
    Base.metadata,
    Column(
        "session_id",
        ForeignKey("infusion_sessions.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    *_latest_columns(),
    # When the last reading of a continuous feed (a monitor's heart rate or SpO2) arrived,
    # struck out or not: the device did send it. The no-data alarm is timed from it.
    Column("feed_received_at", UTCDateTime()),
)
