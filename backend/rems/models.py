"""A session's Spravato REMS form: what people entered on it, and the form as it was completed."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base


class RemsForm(Base):
    __tablename__ = "rems_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One form per session; what the record answers is read from the record, never copied here
    # until the form is completed.
    session_id: Mapped[int] = mapped_column(
        ForeignKey("infusion_sessions.id", ondelete="CASCADE"), unique=True
    )
    # The answers people entered, {question key: value}; a question the record answers is
    # stored only where it is a clinician's judgement that may differ from the record.
    entries: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Bumped on every save: a save made on an out-of-date copy is refused, not merged.
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(80))
    # Completion freezes the form: `submitted` keeps every answer as it stood, with its source,
    # so a later correction of the record cannot change what was reported.
    completed_at: Mapped[datetime | None] = mapped_column(index=True)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    submitted: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
