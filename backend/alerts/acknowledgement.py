"""When a nurse responds: acknowledging an alarm, with the action taken."""

from datetime import datetime

from sqlalchemy.orm import Session

from backend.alerts import lifecycle
from backend.alerts.models import Alert
from backend.alerts.store import finish, load_context, lock_session, save, to_alarm
from backend.core.actor import Actor
from backend.core.errors import Conflict, NotFound
from backend.sessions.service import check_may_work_on


def acknowledge(
    db: Session,
    alert_id: int,
    actor: Actor,
    note: str | None,
    now: datetime,
    actionable: bool | None = None,
) -> Alert:
    """Acknowledge an alarm; `actionable` is the optional answer to "did it call for action?"
    (None: not answered), kept for the alarm review."""
    row = db.get(Alert, alert_id)
    if row is None:
        raise NotFound(f"no alert with id {alert_id}")
    session = lock_session(db, row.session_id)
    check_may_work_on(actor, session.simulated)
    db.refresh(row)
    try:
        alarm, changes = lifecycle.acknowledge(to_alarm(row), actor.label, note, now)
    except lifecycle.AlarmError as exc:
        raise Conflict(f"alert {alert_id}: {exc}") from None
    if not changes:
        return row
    ctx = load_context(db, session, now)
    if actionable is not None:
        row.actionable = actionable
    row = save(ctx, row, alarm, None, changes)
    finish(ctx)
    return row
