"""The workflows that cross domains, in one place: recording readings, changing a session's
phase, marking a reading entered in error.

Each domain's service does its own part (readings stores readings, sessions judges and records
phase changes, alerts decides alarms) and none of them calls another to orchestrate: the steps
are put together here, once, for every caller (the HTTP routers, the built-in simulator), so a
simulated reading or phase change takes exactly the path a nurse's does. Flows run inside the
caller's unit of work: they add and flush, the session dependency (or the simulator's step)
commits, so a reading and the alarm it raised, or a discharge and the alarms it closed, commit
together.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.orm import Session

from backend.alerts.clock import close_ended
from backend.alerts.evaluation import evaluate_readings, withdraw_reading
from backend.alerts.limit_profiles import gate_for, profile_exists
from backend.alerts.limits import Priority
from backend.alerts.models import Alert
from backend.alerts.queries import list_for_session
from backend.core.actor import Actor
from backend.core.timeutil import utcnow
from backend.readings import service as readings
from backend.readings.models import Reading
from backend.readings.schemas import ReadingIn
from backend.readings.service import Ingested
from backend.sessions import service as sessions
from backend.sessions.checklists import Item
from backend.sessions.models import InfusionSession
from backend.sessions.phases import ENDED, Phase
from backend.sessions.schemas import PhaseChangeIn, SessionCreate

# ---- readings ---------------------------------------------------------------------------------


def record_readings(
    db: Session,
    session_id: int,
    items: Sequence[ReadingIn],
    actor: Actor,
    *,
    future_tolerance: timedelta,
    batch: bool = False,
) -> list[Ingested]:
    """Store readings (all or nothing; retries answered with what was stored) and check the
    new ones against the session's limits in the same transaction."""
    results = readings.ingest(
        db, session_id, items, actor, future_tolerance=future_tolerance, batch=batch
    )
    created = [r.reading for r in results if r.created]
    if created:
        session = db.get(InfusionSession, session_id)
        assert session is not None  # ingest refused an unknown session
        # The moment they arrived: alarm delays that run on the clock start from it.
        evaluate_readings(db, session, created, created[0].received_at)
    return results


def mark_entered_in_error(
    db: Session, session_id: int, reading_id: str, reason: str, actor: Actor
) -> Reading:
    """Strike a reading from charts, scores and alarms (it stays in the record) and withdraw
    the alarms it raised, unless real values stand behind them."""
    reading = readings.mark_entered_in_error(db, session_id, reading_id, reason, actor)
    session = sessions.get_session(db, session_id)
    assert reading.entered_in_error_at is not None
    withdraw_reading(db, session, reading, reason, reading.entered_in_error_at)
    return reading


# ---- sessions ---------------------------------------------------------------------------------


def start_session(db: Session, body: SessionCreate, actor: Actor) -> InfusionSession:
    """Start a session on its limit profile (the clinic default when it names none)."""
    known = body.limit_profile_id is None or profile_exists(db, body.limit_profile_id)
    return sessions.create_session(db, body, actor, profile_known=known)


# ---- phases -----------------------------------------------------------------------------------


def _describe(alarm: Alert) -> str:
    state = "acknowledged, still present" if alarm.acknowledged_at else "not acknowledged"
    return f"{alarm.message} ({state})"


def protocol_for(
    db: Session, session: InfusionSession, target: Phase, zone: tzinfo, at: datetime
) -> sessions.Protocol:
    """What the alerts domain says about a phase change at `at`: the limit profile's discharge
    rules, the pre-dose gate's advice (by the patient's age band, on the clinic's calendar
    `zone`; on the baseline as it stood at `at`) and, before a discharge, the open high-priority
    alarms."""
    check = gate_for(db, session, zone, at)
    limits = check.limits
    open_high: tuple[str, ...] = ()
    if target is Phase.DISCHARGED:
        # Open means unacknowledged (a latched one too) or acknowledged while still present;
        # either way someone must answer it before the patient leaves, or say why not.
        open_high = tuple(
            _describe(alarm)
            for alarm in list_for_session(db, session.id)
            if alarm.resolved_at is None and alarm.priority >= Priority.HIGH
        )
    return sessions.Protocol(
        gate_limit=(check.gate.systolic, check.gate.diastolic),
        gate_basis=check.gate.basis,
        min_observation_min=limits.discharge.minimum_for(session.drug),
        require_alertness=limits.discharge.require_alertness,
        gate_advice=check.advice,
        observe=lambda session_id, at, since: readings.observations(db, session_id, at, since),
        open_high_alarms=open_high,
    )


def checklist(
    db: Session,
    session_id: int,
    target: Phase,
    at: datetime,
    tz: tzinfo,
    *,
    clinic_zone: tzinfo | None = None,
    simulated_observation_min: float | None = None,
) -> tuple[InfusionSession, list[Item]]:
    """The checklist of moving a session to `target` at `at`, auto items judged (the dialog's
    view before the nurse confirms); clock times in `tz`, ages on the clinic's calendar
    (`clinic_zone`, `tz` when not given)."""
    session = sessions.get_session(db, session_id)
    protocol = protocol_for(db, session, target, clinic_zone or tz, at)
    if simulated_observation_min is not None:
        protocol = replace(protocol, simulated_observation_min=simulated_observation_min)
    return session, sessions.checklist(db, session, target, at, protocol, tz)


def change_phase(
    db: Session,
    session_id: int,
    body: PhaseChangeIn,
    actor: Actor,
    *,
    future_tolerance: timedelta,
    tz: tzinfo,
    now: datetime | None = None,
    simulated_observation_min: float | None = None,
) -> InfusionSession:
    """Move a session on under its protocol: the checklist judged and enforced for every
    client (the manual items only for those that confirm them), the change recorded with it,
    and a session that ends takes its open alarms with it. A simulator moving its own session
    gives `simulated_observation_min`, the observation so far in simulated minutes."""
    now = now or utcnow()
    # Locked first: the record the checklist is judged on cannot change under it.
    current = sessions.get_session(db, session_id, for_update=True)
    protocol = protocol_for(db, current, body.phase, tz, body.at or now)
    if simulated_observation_min is not None:
        protocol = replace(protocol, simulated_observation_min=simulated_observation_min)
    session = sessions.change_phase(
        db,
        session_id,
        body,
        actor,
        future_tolerance=future_tolerance,
        protocol=protocol,
        now=now,
        tz=tz,
    )
    if Phase(session.phase) in ENDED:
        close_ended(db, now, session_id)
    return session
