"""Starting sessions, moving them through their phases, and finding them."""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from backend.alerts.models import LimitProfile
from backend.core.actor import Actor
from backend.core.database import add_unique
from backend.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.core.timeutil import utcnow
from backend.patients import service as patients
from backend.sessions.models import InfusionSession, PhaseChange
from backend.sessions.phases import ENDED, Phase, transition_error
from backend.sessions.schemas import PhaseChangeIn, SessionCreate, SessionPublic, SessionStatus
from backend.streaming.outbox import record_event
from backend.users.roles import Role

ACTIVE_PHASES = tuple(p.value for p in Phase if p not in ENDED)


def _loaded() -> tuple[ExecutableOption, ...]:
    return (selectinload(InfusionSession.patient), selectinload(InfusionSession.phase_changes))


def check_may_start(actor: Actor, simulated: bool) -> None:
    """Trainers start simulated sessions, clinical roles real ones (admins either)."""
    if actor.role is Role.ADMIN:
        return
    if simulated and actor.role is not Role.TRAINER:
        raise Forbidden("only trainers start simulated sessions")
    check_may_work_on(actor, simulated)


def check_may_work_on(actor: Actor, simulated: bool) -> None:
    """Trainers never touch a real patient's session. Anyone may work on a simulated one: the
    nurses and staff a trainer is drilling enter its readings and move its phases."""
    if not simulated and actor.role is Role.TRAINER:
        raise Forbidden("trainers may only work with simulated sessions")


def create_session(db: Session, body: SessionCreate, actor: Actor) -> InfusionSession:
    check_may_start(actor, body.simulated)
    patient = patients.get_patient(db, body.patient_id)
    if body.limit_profile_id is not None and db.get(LimitProfile, body.limit_profile_id) is None:
        raise InvalidInput(
            ("body", "limit_profile_id"), "no limit profile with this id", body.limit_profile_id
        )
    busy = db.scalar(
        select(InfusionSession.id).where(
            InfusionSession.chair == body.chair, InfusionSession.phase.in_(ACTIVE_PHASES)
        )
    )
    if busy is not None:
        raise Conflict(f"{body.chair} already has an active session (#{busy}); end it first")
    now = utcnow()
    session = InfusionSession(
        **body.model_dump(),
        phase=Phase.BASELINE.value,
        phase_changed_at=now,
        created_at=now,
        created_by=actor.label,
    )
    session.patient = patient
    add_unique(db, session, f"{body.chair} already has an active session; end it first")
    db.add(
        PhaseChange(
            session_id=session.id,
            from_phase=None,
            to_phase=Phase.BASELINE.value,
            at=now,
            recorded_at=now,
            by=actor.label,
        )
    )
    db.flush()
    loaded = get_session(db, session.id)
    _publish(db, "session.created", loaded)
    return loaded


def get_session(db: Session, session_id: int, *, for_update: bool = False) -> InfusionSession:
    query = select(InfusionSession).where(InfusionSession.id == session_id).options(*_loaded())
    if for_update:
        query = query.with_for_update()
    session = db.scalar(query.execution_options(populate_existing=True))
    if session is None:
        raise NotFound(f"no session with id {session_id}")
    return session


def list_sessions(
    db: Session, status: SessionStatus, limit: int, simulated: bool | None = None
) -> list[InfusionSession]:
    query = select(InfusionSession).options(*_loaded())
    if simulated is not None:
        query = query.where(InfusionSession.simulated.is_(simulated))
    if status is SessionStatus.ACTIVE:
        query = query.where(InfusionSession.phase.in_(ACTIVE_PHASES)).order_by(
            InfusionSession.chair
        )
    else:
        if status is SessionStatus.ENDED:
            query = query.where(InfusionSession.phase.not_in(ACTIVE_PHASES))
        query = query.order_by(InfusionSession.created_at.desc())
    return list(db.scalars(query.limit(limit)))


def open_session_for_writing(db: Session, session_id: int, actor: Actor) -> InfusionSession:
    """The session a reading is for, refusing unknown and ended sessions with a reason."""
    # Locked: the readings of one session, and the alarms they raise, are decided one at a time.
    session = db.get(InfusionSession, session_id, with_for_update=True)
    if session is None:
        raise NotFound(f"no session with id {session_id}; readings need an existing session")
    if session.phase in {p.value for p in ENDED}:
        ended = session.ended_at.isoformat() if session.ended_at else "earlier"
        raise Conflict(
            f"session {session_id} has ended ({session.phase} at {ended}); "
            "it no longer accepts readings"
        )
    check_may_work_on(actor, session.simulated)
    return session


def change_phase(
    db: Session,
    session_id: int,
    body: PhaseChangeIn,
    actor: Actor,
    *,
    future_tolerance: timedelta,
    now: datetime | None = None,
) -> InfusionSession:
    now = now or utcnow()
    session = get_session(db, session_id, for_update=True)
    check_may_work_on(actor, session.simulated)
    current, target = Phase(session.phase), body.phase
    problem = transition_error(current, target)
    if problem:
        raise Conflict(problem)
    at = body.at or now
    if at > now + future_tolerance:
        raise InvalidInput(("body", "at"), "the time of a phase change cannot be in the future", at)
    if at < session.phase_changed_at:
        raise InvalidInput(
            ("body", "at"),
            f"must be after the previous phase change ({session.phase_changed_at.isoformat()})",
            at,
        )
    db.add(
        PhaseChange(
            session_id=session.id,
            from_phase=current.value,
            to_phase=target.value,
            at=at,
            recorded_at=now,
            by=actor.label,
            note=body.note,
        )
    )
    session.phase = target.value
    session.phase_changed_at = at
    if target in ENDED:
        session.ended_at = at
    db.flush()
    loaded = get_session(db, session.id)
    _publish(db, "session.phase_changed", loaded)
    return loaded


def _publish(db: Session, kind: str, session: InfusionSession) -> None:
    data = SessionPublic.model_validate(session).model_dump(mode="json")
    record_event(db, kind, session.id, data)
