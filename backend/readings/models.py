"""A reading: any non-empty subset of the vitals, taken at one moment, from one source."""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base


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
