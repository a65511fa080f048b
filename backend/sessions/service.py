"""Starting sessions, moving them through their phases, and finding them."""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from backend.core.actor import Actor
from backend.core.database import add_unique
from backend.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.core.roles import Role
from backend.core.timeutil import utcnow
from backend.patients import service as patients
from backend.sessions import checklists
from backend.sessions.checklists import BloodPressureSeen, Facts, Item, Observed, Override
from backend.sessions.models import InfusionSession, PhaseChange
from backend.sessions.phases import ENDED, Phase, transition_error
from backend.sessions.schemas import (
    OverrideIn,
    PhaseChangeIn,
    SessionCreate,
    SessionPublic,
    SessionStatus,
)
from backend.sites import service as sites
from backend.sites.models import Chair, Room
from backend.streaming.outbox import record_event
from backend.users import service as users

ACTIVE_PHASES = tuple(p.value for p in Phase if p not in ENDED)


def _loaded() -> tuple[ExecutableOption, ...]:
    return (
        selectinload(InfusionSession.patient),
        selectinload(InfusionSession.phase_changes),
        selectinload(InfusionSession.chair_ref),
    )


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


def create_session(
    db: Session, body: SessionCreate, actor: Actor, *, profile_known: bool
) -> InfusionSession:
    """Start a session; `profile_known` says whether its limit profile exists (the alerts
    domain's to know: see backend/flows.py)."""
    check_may_start(actor, body.simulated)
    patient = patients.get_patient(db, body.patient_id)
    if patient.simulated != body.simulated:
        # A drill is run on a drill's patient, and a patient is never a drill's: otherwise a real
        # patient's name would reach trainers, or a drill's patient a real record.
        which = (
            "a simulated session needs a simulated patient"
            if body.simulated
            else ("this patient is a drill's (simulated); a real session needs a real patient")
        )
        raise InvalidInput(("body", "patient_id"), which, body.patient_id)
    if body.limit_profile_id is not None and not profile_known:
        raise InvalidInput(
            ("body", "limit_profile_id"), "no limit profile with this id", body.limit_profile_id
        )
    chair = sites.resolve(db, body.chair_id, body.chair)
    _refuse_taken(db, chair, body.simulated)
    if not body.simulated:
        _refuse_second_session(db, patient.id, patient.display_name)
    now = utcnow()
    session = InfusionSession(
        **body.model_dump(exclude={"chair", "chair_id"}),
        chair_id=chair.id,
        chair=chair.name,
        phase=Phase.BASELINE.value,
        phase_changed_at=now,
        created_at=now,
        created_by=actor.label,
    )
    session.patient = patient
    # The indexes hold when two start at once: one chair, one real patient, one open session.
    add_unique(
        db,
        session,
        f"{chair.name} already has an active session, or the patient is on another chair; "
        "end it first",
    )
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


def open_on_chairs(db: Session) -> dict[int, tuple[int, bool]]:
    """Each chair with an open session: the session's id and whether it is simulated."""
    rows = db.execute(
        select(InfusionSession.chair_id, InfusionSession.id, InfusionSession.simulated).where(
            InfusionSession.ended_at.is_(None)
        )
    )
    return {chair_id: (session_id, simulated) for chair_id, session_id, simulated in rows}


def _refuse_taken(db: Session, chair: Chair, simulated: bool) -> None:
    """One open session per chair, each refusal saying what holds the chair: a drill never
    takes a patient's chair, and a patient's session is told how to free one a drill holds."""
    held = db.execute(
        select(InfusionSession.id, InfusionSession.simulated).where(
            InfusionSession.chair_id == chair.id, InfusionSession.ended_at.is_(None)
        )
    ).first()
    if held is None:
        return
    busy_id, busy_simulated = held
    if simulated and not busy_simulated:
        raise Conflict(
            f"a patient is on {chair.name} ({chair.place}): a simulated session never takes a "
            "patient's chair; choose a free one"
        )
    if not simulated and busy_simulated:
        raise Conflict(
            f"{chair.name} is running a drill (simulated session #{busy_id}), not a patient: "
            "stop the drill (Stop on the trainer console, or Stop early on its session page) "
            "to free the chair, or choose a free one"
        )
    raise Conflict(f"{chair.name} already has an active session (#{busy_id}); end it first")


def _refuse_second_session(db: Session, patient_id: int, name: str) -> None:
    """One real open session per patient: a patient sits in one chair."""
    held = db.execute(
        select(InfusionSession.id, InfusionSession.chair).where(
            InfusionSession.patient_id == patient_id,
            InfusionSession.ended_at.is_(None),
            InfusionSession.simulated.is_(False),
        )
    ).first()
    if held is not None:
        raise Conflict(
            f"{name} already has an open session on {held.chair} (#{held.id}); "
            "end it before starting another"
        )


def get_session(db: Session, session_id: int, *, for_update: bool = False) -> InfusionSession:
    query = select(InfusionSession).where(InfusionSession.id == session_id).options(*_loaded())
    if for_update:
        query = query.with_for_update()
    session = db.scalar(query.execution_options(populate_existing=True))
    if session is None:
        raise NotFound(f"no session with id {session_id}")
    return session


def list_sessions(
    db: Session,
    status: SessionStatus,
    limit: int,
    simulated: bool | None = None,
    *,
    site_id: int | None = None,
    room_id: int | None = None,
) -> list[InfusionSession]:
    query = select(InfusionSession).options(*_loaded())
    if site_id is not None or room_id is not None:
        # Where the chair is now: a chair moved to another room takes its session along.
        query = query.join(Chair, Chair.id == InfusionSession.chair_id).join(Room)
        if site_id is not None:
            query = query.where(Room.site_id == site_id)
        if room_id is not None:
            query = query.where(Chair.room_id == room_id)
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
    session = lock_for_readings(db, session_id)
    if session.phase in ENDED_PHASES:
        refuse_ended(session)
    check_may_work_on(actor, session.simulated)
    return session


ENDED_PHASES = frozenset(p.value for p in ENDED)
# (unit of work, session id) -> that session, row-locked, or None when there is none
Lock = Callable[[Session, int], InfusionSession | None]


def _lock(db: Session, session_id: int) -> InfusionSession | None:
    return db.get(InfusionSession, session_id, with_for_update=True)


def lock_for_readings(db: Session, session_id: int, *, lock: Lock | None = None) -> InfusionSession:
    """The session readings are for, row-locked: the readings of one session, and the alarms
    they raise, are decided one at a time. Unknown sessions are refused with a reason."""
    session = (lock or _lock)(db, session_id)
    if session is None:
        raise NotFound(f"no session with id {session_id}; readings need an existing session")
    return session


def refuse_ended(session: InfusionSession) -> NoReturn:
    ended = session.ended_at.isoformat() if session.ended_at else "earlier"
    raise Conflict(
        f"session {session.id} has ended ({session.phase} at {ended}); "
        "it no longer accepts readings"
    )


@dataclass(frozen=True)
class Observations:
    """What the record held at a moment, for a checklist: the latest valid BP and SpO2, and the
    latest ACVPU and MOAA/S since a given time."""

    bp: BloodPressureSeen | None
    spo2: Observed | None
    consciousness: str | None
    sedation: int | None


# (session id, at, alertness counted from) -> what was observed; the readings domain answers it
Observe = Callable[[int, datetime, datetime | None], Observations]


@dataclass(frozen=True)
class Protocol:
    """What the session's limit profile says about phase changes, the pre-dose gate's advice on
    its baseline, its open high-priority alarms (the alerts domain works these out), and how to
    look up what the record observed (the readings domain's); see backend/flows.py."""

    gate_limit: tuple[float, float]
    min_observation_min: float  # for this session's drug
    require_alertness: bool
    gate_advice: str | None
    observe: Observe
    open_high_alarms: tuple[str, ...] = ()
    gate_basis: str | None = None  # which age band's gate, and why (the profile has bands)
    # A simulated session's observation so far in simulated minutes (its simulator's count);
    # the minimum observation is then judged on it. Never given for a real session.
    simulated_observation_min: float | None = None


def _phase_start(session: InfusionSession, phase: Phase) -> datetime | None:
    times = [c.at for c in session.phase_changes if c.to_phase == phase.value]
    return times[-1] if times else None


def checklist_facts(
    db: Session,
    session: InfusionSession,
    target: Phase,
    at: datetime,
    protocol: Protocol,
    *,
    gate_override: Override | None = None,
    alarm_override: Override | None = None,
) -> Facts:
    """What the checklist of moving `session` to `target` at `at` is judged on."""
    # Alertness counts only as observed after dosing ended: an "A" from the baseline says
    # nothing about whether the patient is fit to leave.
    seen = protocol.observe(session.id, at, _phase_start(session, Phase.RECOVERY))
    if protocol.simulated_observation_min is not None and not session.simulated:
        raise ValueError("only a simulated session is judged on simulated time")
    return Facts(
        current=Phase(session.phase),
        target=target,
        at=at,
        drug=session.drug,
        route=session.route,
        infusion_started_at=_phase_start(session, Phase.INFUSING),
        infusion_ended_at=_phase_start(session, Phase.RECOVERY),
        planned_duration_min=session.planned_duration_min,
        last_bp=seen.bp,
        last_spo2=seen.spo2,
        last_consciousness=seen.consciousness,
        last_sedation=seen.sedation,
        gate_advice=protocol.gate_advice,
        gate_limit=protocol.gate_limit,
        gate_basis=protocol.gate_basis,
        gate_override=gate_override,
        min_observation_min=protocol.min_observation_min,
        simulated_observation_min=protocol.simulated_observation_min,
        require_alertness=protocol.require_alertness,
        open_high_alarms=protocol.open_high_alarms,
        alarm_override=alarm_override,
    )


def checklist(
    db: Session,
    session: InfusionSession,
    target: Phase,
    at: datetime,
    protocol: Protocol,
    tz: tzinfo = UTC,
) -> list[Item]:
    """The checklist of moving `session` to `target` at `at`, auto items judged."""
    problem = transition_error(Phase(session.phase), target)
    if problem:
        raise Conflict(problem)
    return checklists.evaluate(checklist_facts(db, session, target, at, protocol), tz)


@dataclass(frozen=True)
class Decision:
    """A named override as it is kept: the deciding clinician and why."""

    name: str  # as people read it: the account's display name, or a simulation's free name
    username: str | None  # the deciding account (None: a name given on a simulated session)
    reason: str

    def override(self) -> Override:
        return Override(self.name, self.reason)

    def kept(self, entered_by: str) -> dict[str, Any]:
        return {
            "by": self.name,
            "username": self.username,
            "reason": self.reason,
            "recorded_by": entered_by,
        }


def decision(
    db: Session, session: InfusionSession, given: OverrideIn | None, field: str
) -> Decision | None:
    """Who decides an override, and why. On a real session the decider must be a clinician
    with an account (an active nurse or admin), so the record names a person who can be asked;
    trainers role-play on simulated ones, and a scenario cannot know the clinic's accounts, so
    any name is taken there (an account's name, when it is one)."""
    if given is None:
        return None
    account = users.find_clinician(db, given.by)
    if account is not None:
        return Decision(account.display_name, account.username, given.reason)
    if session.simulated:
        return Decision(given.by, None, given.reason)
    raise InvalidInput(
        ("body", field, "by"),
        "must be the username of an active nurse or admin account, who takes the decision "
        "(GET /api/users/clinicians lists them)",
        given.by,
    )


def _confirm(
    db: Session,
    session: InfusionSession,
    body: PhaseChangeIn,
    at: datetime,
    protocol: Protocol,
    tz: tzinfo,
    gate: Decision | None,
    alarms: Decision | None,
) -> list[Item]:
    """The checklist judged at `at` with the nurse's ticks; refused while a required item is
    not met. The auto items (what the record shows) hold for every client; the manual ones only
    for a client that confirms them (sends `checklist`)."""
    facts = checklist_facts(
        db,
        session,
        body.phase,
        at,
        protocol,
        gate_override=gate.override() if gate else None,
        alarm_override=alarms.override() if alarms else None,
    )
    items = checklists.evaluate(facts, tz)
    if body.checklist is not None:
        unknown = sorted(set(body.checklist) - checklists.manual_keys(items))
        if unknown:
            expected = ", ".join(sorted(checklists.manual_keys(items))) or "none"
            raise InvalidInput(
                ("body", "checklist"),
                f"not an item of this checklist: {', '.join(unknown)} (its items: {expected})",
                body.checklist,
            )
        items = checklists.with_ticks(items, body.checklist)
    unmet = checklists.blocking(items, manual=body.checklist is not None)
    transition = checklists.transition_of(facts.current, facts.target)
    if unmet and transition is not None:
        raise Conflict(checklists.refusal(transition, unmet))
    return items


def _record(
    items: list[Item],
    body: PhaseChangeIn,
    protocol: Protocol,
    actor: Actor,
    now: datetime,
    gate: Decision | None,
    alarms: Decision | None,
) -> dict[str, Any]:
    """The checklist as it is kept on the phase change (who confirmed it and when), with each
    named override that was needed: the gate's before dosing, open high alarms' at discharge."""
    record: dict[str, Any] = {
        "confirmed": body.checklist is not None,
        "by": actor.label,
        "recorded_at": now.isoformat(),
        "items": [
            {**asdict(item), "due_at": item.due_at.isoformat() if item.due_at else None}
            for item in items
        ],
    }
    if gate is not None and protocol.gate_advice is not None and body.phase is Phase.INFUSING:
        record["gate_override"] = {**gate.kept(actor.label), "advice": protocol.gate_advice}
    if alarms is not None and protocol.open_high_alarms and body.phase is Phase.DISCHARGED:
        record["alarm_override"] = {
            **alarms.kept(actor.label),
            "alarms": list(protocol.open_high_alarms),
        }
    return record


def change_phase(
    db: Session,
    session_id: int,
    body: PhaseChangeIn,
    actor: Actor,
    *,
    future_tolerance: timedelta,
    protocol: Protocol,
    now: datetime | None = None,
    tz: tzinfo = UTC,
) -> InfusionSession:
    """Move a session on. The transition's checklist is judged at the time of the change,
    enforced (its manual items only when the body carries the nurse's ticks) and kept with it.
    `protocol` comes from the alerts domain: backend/flows.py puts the two together."""
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
    if target is Phase.STOPPED and not body.note:
        raise InvalidInput(("body", "note"), "give the reason for stopping early", body.note)
    gate = decision(db, session, body.override_gate, "override_gate")
    alarms = decision(db, session, body.override_alarms, "override_alarms")
    items = _confirm(db, session, body, at, protocol, tz, gate, alarms)
    record = _record(items, body, protocol, actor, now, gate, alarms)
    if target is Phase.INFUSING and protocol.gate_advice is not None and gate is not None:
        # Dosing despite the gate's advice: who decided, why, who entered it and when is kept
        # on the session.
        session.gate_override_by = gate.name
        session.gate_override_username = gate.username
        session.gate_override_reason = gate.reason
        session.gate_override_entered_by = actor.label
        session.gate_override_at = now
    db.add(
        PhaseChange(
            session_id=session.id,
            from_phase=current.value,
            to_phase=target.value,
            at=at,
            recorded_at=now,
            by=actor.label,
            note=body.note,
            checklist=record,
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
