"""Infusion sessions and the record of every phase change."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.database import Base
from backend.patients.models import Patient
from backend.sites.models import Chair


class InfusionSession(Base):
    __tablename__ = "infusion_sessions"
    # One open session per chair, and one real open session per patient, enforced by the
    # database so two nurses starting sessions at the same moment cannot both succeed.
    __table_args__ = (
        Index(
            "uq_infusion_sessions_open_chair",
            "chair_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index(
            "uq_infusion_sessions_open_patient",
            "patient_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL AND NOT simulated"),
            postgresql_where=text("ended_at IS NULL AND NOT simulated"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id"), index=True)
    # The chair's name when the session was held: the record's own copy, kept if it is renamed.
    chair: Mapped[str] = mapped_column(String(32))
    drug: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(16))
    planned_dose_mg: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    planned_duration_min: Mapped[int | None]
    simulated: Mapped[bool] = mapped_column(default=False)
    phase: Mapped[str] = mapped_column(String(16), index=True)
    phase_changed_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(String(80))
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    # Alert limits: a named profile (None: the clinic default) and this session's own overrides
    # as {phase: {vital: limit}}.
    limit_profile_id: Mapped[int | None] = mapped_column(ForeignKey("limit_profiles.id"))
    limit_overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The decision to start although the pre-dose gate advised against it: the deciding
    # clinician (display name, and account on a real session), why, and who entered it.
    gate_override_by: Mapped[str | None] = mapped_column(String(120))
    gate_override_username: Mapped[str | None] = mapped_column(String(64))
    gate_override_reason: Mapped[str | None] = mapped_column(Text)
    gate_override_entered_by: Mapped[str | None] = mapped_column(String(80))
    gate_override_at: Mapped[datetime | None]
    # NEWS2 SpO2 scale: 2 only for a patient with a prescribed 88–92% target.
    spo2_scale: Mapped[int] = mapped_column(server_default=text("1"), default=1)

    patient: Mapped[Patient] = relationship(lazy="raise")
    # Not lazy="raise": every view of a session shows its room and site, so the place loads
    # itself wherever a session is described (backend/sessions/service.py preloads it).
    chair_ref: Mapped[Chair] = relationship()
    phase_changes: Mapped[list["PhaseChange"]] = relationship(
        lazy="raise", order_by="PhaseChange.id"
    )

    # Where the session is held, for its JSON: the chair's room and site as they are now.
    @property
    def room_id(self) -> int:
        return self.chair_ref.room_id

    @property
    def room(self) -> str:
        return self.chair_ref.room.name

    @property
    def site_id(self) -> int:
        return self.chair_ref.room.site_id

    @property
    def site(self) -> str:
        return self.chair_ref.room.site.name


class PhaseChange(Base):
    __tablename__ = "phase_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("infusion_sessions.id", ondelete="CASCADE"), index=True
    )
    from_phase: Mapped[str | None] = mapped_column(String(16))
    to_phase: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    # The protocol checklist as judged at the change (sessions/checklists.py):
    # {confirmed, by, recorded_at, items: [{key, label, kind, required, met, detail, due_at}]}.
    checklist: Mapped[dict[str, Any] | None] = mapped_column(JSON)
