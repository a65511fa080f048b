"""Stored limits (clinic default and named profiles), their change log, alarms, and the
condition trackers that let delays survive a restart."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.database import Base
from backend.sessions.models import InfusionSession


class LimitProfile(Base):
    """A named set of limits per phase; exactly one is the clinic default."""

    __tablename__ = "limit_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(80))


class LimitChange(Base):
    """Who changed which limits when, with the old and the new value."""

    __tablename__ = "limit_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("limit_profiles.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("infusion_sessions.id", ondelete="CASCADE"), index=True
    )
    changed_at: Mapped[datetime] = mapped_column(index=True)
    changed_by: Mapped[str] = mapped_column(String(80))
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Alert(Base):
    __tablename__ = "alerts"
    # At most one open alarm per session and condition: two readings evaluated together can
    # never raise the same alarm twice, whatever the code above gets wrong.
    __table_args__ = (
        Index(
            "uq_alerts_open_condition",
            "session_id",
            "condition",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("infusion_sessions.id", ondelete="CASCADE"), index=True
    )
    condition: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), index=True)
    present: Mapped[bool]
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None]
    raised_at: Mapped[datetime] = mapped_column(index=True)
    alerted_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    # The latest escalation, and how many unanswered episodes escalated (each one is sent on).
    escalated_at: Mapped[datetime | None]
    escalations: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    # Counts the alarm's changes, so a browser holding a list fetched over HTTP and the
    # stream's events can always tell which copy is newer.
    version: Mapped[int] = mapped_column(server_default=text("1"))
    # The reading whose value the alarm shows: marking that reading "entered in error" withdraws
    # the alarm, since it was raised by a value that never existed.
    reading_id: Mapped[str | None] = mapped_column(String(36), index=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    # The limit the value crossed (the high bound for a high-priority alarm): a screen shows
    # "196 > 180" beside the value without knowing the session's limits.
    limit_value: Mapped[float | None]
    # For the alarm review (backend/review): when the alarm first demanded attention and when
    # someone first acknowledged it (alerted_at and acknowledged_at move on with reminders), and
    # the acknowledging person's optional answer to "did this alarm call for action?".
    announced_at: Mapped[datetime | None]
    first_acknowledged_at: Mapped[datetime | None]
    actionable: Mapped[bool | None]

    # Every alarm is shown with its chair and whether the session is simulated.
    session: Mapped[InfusionSession] = relationship(lazy="joined", innerjoin=True)


class ConditionRecord(Base):
    """A condition tracker's state (breach start times, last value), per session and condition."""

    __tablename__ = "alert_conditions"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("infusion_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    condition: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[float | None]
    medium_since: Mapped[datetime | None]
    high_since: Mapped[datetime | None]
    present: Mapped[int | None]
    # When the last value was measured and when it arrived: delays are timed on the readings'
    # own clock, and a reading measured before the last one is history, not the current value.
    last_taken_at: Mapped[datetime | None]
    last_received_at: Mapped[datetime | None]
    # The reading that began the current breach: the alarm its delay raises stands on it.
    since_reading_id: Mapped[str | None] = mapped_column(String(36))


class EscalationPage(Base):
    """An escalation's page to the clinic's paging gateway: written in the transaction that
    escalates the alarm, so a process that dies before sending it leaves it to the next holder
    of the alarm clock, and sent until the gateway answers (alerts/paging.py)."""

    __tablename__ = "escalation_pages"
    __table_args__ = (
        # One page per escalation of an alarm (its `escalations` count when it escalated).
        UniqueConstraint("alert_id", "escalation", name="uq_escalation_pages_alert_id"),
        # The pages still to send, soonest first, without walking those long sent.
        Index("ix_escalation_pages_due", "sent_at", "failed_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    escalation: Mapped[int]
    # The JSON body as it is POSTed: the alarm as it stood when it escalated.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]  # the gateway answered 2xx
    failed_at: Mapped[datetime | None]  # given up on (paging.GIVE_UP_AFTER): logged as an error
    last_error: Mapped[str | None] = mapped_column(String(300))
