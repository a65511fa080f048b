"""Reading alarms back: the ward's open alarms, a session's alarms, and each chair's summary."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.alerts.lifecycle import AlarmStatus
from backend.alerts.limits import Priority
from backend.alerts.models import Alert
from backend.alerts.schemas import AlertPublic, AlertSummary
from backend.alerts.store import open_alerts
from backend.core.errors import NotFound
from backend.sessions.models import InfusionSession


def list_open(db: Session) -> list[Alert]:
    return list(db.scalars(open_alerts().order_by(Alert.priority.desc(), Alert.alerted_at)))


def list_for_session(db: Session, session_id: int, limit: int = 200) -> list[Alert]:
    if db.get(InfusionSession, session_id) is None:
        raise NotFound(f"no session with id {session_id}")
    query = (
        select(Alert)
        .where(Alert.session_id == session_id)
        .order_by(Alert.resolved_at.is_not(None), Alert.priority.desc(), Alert.alerted_at.desc())
    )
    return list(db.scalars(query.limit(limit)))


def open_summaries(db: Session, session_ids: Sequence[int]) -> dict[int, AlertSummary]:
    """For the ward: each session's highest open priority, how many are open, any escalated."""
    summaries = {sid: AlertSummary(priority=None, count=0, escalated=False) for sid in session_ids}
    if not session_ids:
        return summaries
    for row in db.scalars(open_alerts().where(Alert.session_id.in_(session_ids))):
        current = summaries[row.session_id]
        top = max(
            Priority(row.priority),
            Priority[current.priority.upper()] if current.priority else Priority.LOW,
        )
        summaries[row.session_id] = AlertSummary(
            priority=top.label,
            count=current.count + 1,
            escalated=current.escalated
            or (AlertPublic.of(row).escalated and row.status == AlarmStatus.ACTIVE.value),
        )
    return summaries
