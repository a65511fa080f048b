"""The audit trail's rows: its events, and the head of their hash chain."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base


class AuditEvent(Base):
    """One thing a person or machine did or saw. Never updated or deleted: on PostgreSQL and
    SQLite a trigger refuses both, and `hash` chains it to the event before it."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_actor_name_id", "actor_name", "id"),
        Index("ix_audit_events_patient_id_id", "patient_id", "id"),
        Index("ix_audit_events_session_id_id", "session_id", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
    )

    # Numbered from the chain head inside the appending transaction, not by the database: the
    # number is part of what the hash covers, so it has to be known before the row is written.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))  # user, token, anonymous, system
    actor_name: Mapped[str | None] = mapped_column(String(80))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))
    address: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None]
    session_id: Mapped[int | None]
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """A single row: the last event's number and hash. Appending locks it (SELECT … FOR UPDATE on
    PostgreSQL; SQLite's write lock), so two appends can never both follow the same event, and
    `vigil audit verify` can tell when events were cut off the end."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
