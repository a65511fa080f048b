"""Starting, recording and steering simulated sessions in the database.

A simulation's readings and phase changes go through the same flows as a device's or a nurse's
(`backend/flows.py`), so readings are validated, stored, checked for alarms and streamed exactly
as real ones are, and the scenario's phase changes are held to the same protocol rules (BP before
dosing, the minimum observation, no open high alarm at discharge). A change the rules refuse
ends the simulation with the refusal recorded as the reason on the session, so trainers see why.
Each reading's id is derived from the session and its place in the simulation's output, so
replaying a simulation after a restart can never store a reading twice.
"""

import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from backend import flows
from backend.core.actor import Actor
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.roles import Role
from backend.core.timeutil import utcnow
from backend.patients.models import Patient
from backend.readings.schemas import MAX_BATCH, ReadingIn, Source
from backend.sessions import service as sessions
from backend.sessions.checklists import transition_of
from backend.sessions.models import InfusionSession, PhaseChange
from backend.sessions.phases import ENDED, Phase, transition_error
from backend.sessions.schemas import Drug, OverrideIn, PhaseChangeIn, Route, SessionCreate
from backend.simulation.models import SimulationRun
from backend.sites.models import Chair
from backend.streaming.outbox import record_event
from simulators import Scenario, ScenarioError, Simulation, load_packaged, parse_scenario
from simulators.outputs import Decision, Observed
from simulators.regimen import EsketamineNasal, KetamineInfusion
from simulators.scenario import SCENARIO_DIR

log = logging.getLogger(__name__)

RUNNING, FINISHED, STOPPED = "running", "finished", "stopped"
LOST = "lost"  # another process holds the run now
# Renewed by every stored step and every claim (runner.CLAIM_EVERY_S): a run whose process died
# is taken over within LEASE + CLAIM_EVERY_S (8 s), the cluster's bound for a singleton (issue 18).
LEASE = timedelta(seconds=6)
ENDED_PHASES = (Phase.DISCHARGED.value, Phase.STOPPED.value)
_READING_IDS = uuid.UUID("6f1d3c52-3b0e-4c55-9a57-5e0c1f3a9b10")
NO_SLACK = timedelta(0)


def reading_id(session_id: int, index: int) -> uuid.UUID:
    """The same reading of the same simulation always has the same id."""
    return uuid.uuid5(_READING_IDS, f"{session_id}:{index}")


def simulator_actor(started_by: str) -> Actor:
    """Who the simulator's readings and phase changes are recorded as."""
    return Actor("user", 0, f"simulator ({started_by})"[:80], Role.TRAINER)


# ---- scenarios ------------------------------------------------------------------------------


def scenario_text(name: str) -> str:
    load_packaged(name)  # refuses an unknown name with the list of known ones
    return (SCENARIO_DIR / f"{name}.toml").read_text(encoding="utf-8")


def parse(name: str, text: str, field: str) -> Scenario:
    try:
        return parse_scenario(text, name)
    except ScenarioError as exc:
        raise InvalidInput(("body", field), str(exc), name) from None


def with_patient(scenario: Scenario, patient: dict[str, Any] | None) -> Scenario:
    """The scenario with the trainer's choices of patient laid over its own."""
    if not patient:
        return scenario
    chosen = scenario.patient.model_copy(update=patient)
    return scenario.model_copy(update={"patient": chosen})


def build(run: SimulationRun) -> Simulation:
    """The simulation as it was when `run` was started, before any output."""
    scenario = parse_scenario(run.scenario_text, run.scenario_name)
    return Simulation(with_patient(scenario, run.patient), run.seed)


def observed_min(db: Session, session_id: int) -> float | None:
    """A simulated session's observation since its scenario's dosing ended, in simulated
    minutes as far as its run has been stored (None: no simulator plays the session). A
    trainee's own discharge at 10x is judged on it, as the scenario's own is (runner.py)."""
    run = db.get(SimulationRun, session_id)
    if run is None:
        return None
    return max(run.position_s - build(run).scenario.dosing_end_s, 0.0) / 60


# ---- starting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartRequest:
    scenario_name: str
    scenario_text: str
    scenario_field: str  # the request field the scenario came in, for errors
    patient: dict[str, Any] | None  # chosen characteristics; the rest drawn from the seed
    chair: str | None  # a configured chair's name, or
    chair_id: int | None  # its id (preferred)
    patient_name: str | None
    seed: int | None
    speed: float
    start_at_s: float
    limit_profile_id: int | None


def start(
    db: Session, request: StartRequest, actor: Actor, now: datetime, owner: str | None
) -> SimulationRun:
    """A new simulated session on a chair, its patient, and the run that drives it."""
    scenario = parse(request.scenario_name, request.scenario_text, request.scenario_field)
    if request.start_at_s >= scenario.end_s:
        raise InvalidInput(
            ("body", "start_at_min"),
            f"must be before the scenario ends ({scenario.end_s / 60:g} min)",
            request.start_at_s / 60,
        )
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    try:
        simulation = Simulation(with_patient(scenario, request.patient), seed)
    except ValueError as exc:  # e.g. a diastolic too close to the systolic
        raise InvalidInput(("body", "patient"), str(exc), request.patient) from None
    weight = round(simulation.patient.weight_kg, 1)
    regimen = scenario.regimen
    if isinstance(regimen, KetamineInfusion):
        drug, route = Drug.KETAMINE, Route.IV
        dose = round(regimen.dose_mg_per_kg * weight, 1)
        minutes: int | None = max(1, round(regimen.duration_min))
    else:
        assert isinstance(regimen, EsketamineNasal)
        drug, route, dose, minutes = Drug.ESKETAMINE, Route.INTRANASAL, float(regimen.dose_mg), None
    patient = Patient(
        clinic_id=f"SIM-{secrets.token_hex(4).upper()}",
        display_name=request.patient_name or f"Sim: {scenario.title}"[:120],
        simulated=True,
        created_at=now,
        created_by=actor.label,
    )
    db.add(patient)
    db.flush()
    body = SessionCreate(
        patient_id=patient.id,
        chair_id=request.chair_id,
        chair=request.chair,
        drug=drug,
        route=route,
        planned_dose_mg=dose,
        weight_kg=weight,
        planned_duration_min=minutes,
        simulated=True,
        notes=f"SIMULATED: scenario '{scenario.title}', seed {seed}",
        limit_profile_id=request.limit_profile_id,
    )
    session = flows.start_session(db, body, actor)
    # A run started part-way through its scenario has that much history behind it.
    began = now - timedelta(seconds=request.start_at_s)
    session.created_at = session.phase_changed_at = began
    session.phase_changes[0].at = began
    run = SimulationRun(
        session_id=session.id,
        scenario_name=request.scenario_name,
        scenario_text=request.scenario_text,
        seed=seed,
        patient=request.patient,
        speed=request.speed,
        paused=False,
        status=RUNNING,
        start_at_s=request.start_at_s,
        position_s=0.0,
        readings_sent=0,
        live_events=[],
        owner=owner,
        lease_until=now + LEASE if owner else None,
        started_by=actor.label,
        started_at=now,
        updated_at=now,
    )
    db.add(run)
    db.flush()
    return run


# ---- recording what the simulation produced ---------------------------------------------


@dataclass(frozen=True)
class TimedReading:
    index: int  # place in the simulation's output, which makes the reading's id
    taken_at: datetime
    values: Observed
    # A person's observation round is recorded as entered by hand, so it counts as what it is
    # (not a monitor's feed) for the no-data alarm and for how soon it looks stale.
    observed_by_hand: bool = False


@dataclass(frozen=True)
class TimedPhase:
    at: datetime
    phase: str
    gate_override: Decision | None = None  # scripted by the scenario for the start of dosing
    # Simulated seconds since the scenario's dosing ended, for a discharge: the minimum
    # observation is judged on the patient's time, whatever the speed it was played at. Counted
    # from the scenario's end of dosing, never later than the record's (a trainee may end dosing
    # early by hand, never late: the scenario's change would end it), so never overcounted.
    observed_s: float | None = None


@dataclass(frozen=True)
class Step:
    """What a simulation produced since its last step, in time order, and where it now is."""

    items: list[TimedReading | TimedPhase]
    position_s: float
    readings_sent: int


def record(db: Session, session_id: int, step: Step, owner: str, tz: tzinfo = UTC) -> str:
    """Store one step: readings (through the normal ingest path), phase changes, the new
    position, all in one transaction. Returns the run's status afterwards. Clock times in a
    refusal are written in `tz` (the clinic's)."""
    run = get_run(db, session_id, for_update=True)
    if run.status != RUNNING:
        return run.status
    if run.owner != owner:
        return LOST
    if _phase(db, session_id) in ENDED_PHASES:
        # Ended by a person (stopped, or discharged early): the simulation ends with it.
        return _finish(db, session_id, STOPPED, step)
    actor = simulator_actor(run.started_by)
    pending: list[ReadingIn] = []

    def flush() -> None:
        for start_at in range(0, len(pending), MAX_BATCH):
            chunk = pending[start_at : start_at + MAX_BATCH]
            flows.record_readings(
                db, session_id, chunk, actor, future_tolerance=NO_SLACK, batch=True
            )
        pending.clear()

    try:
        for item in step.items:
            if isinstance(item, TimedReading):
                reading = _reading(session_id, item)
                if reading is not None:
                    pending.append(reading)
                continue
            flush()
            _move(db, session_id, item, actor, tz)
        flush()
    except Conflict as exc:
        log.info("simulation of session %s ended: %s", session_id, exc.message)
        return _finish(db, session_id, STOPPED, step)
    if _phase(db, session_id) in ENDED_PHASES:
        return _finish(db, session_id, FINISHED, step)  # the scenario discharged the patient
    run.position_s = step.position_s
    run.readings_sent = step.readings_sent
    run.updated_at = utcnow()
    run.lease_until = run.updated_at + LEASE
    return RUNNING


def _reading(session_id: int, item: TimedReading) -> ReadingIn | None:
    try:
        return ReadingIn(
            id=reading_id(session_id, item.index),
            taken_at=item.taken_at,
            source=Source.MANUAL if item.observed_by_hand else Source.SIMULATOR,
            **item.values,
        )
    except ValidationError as exc:
        # A device value Vigil cannot accept is dropped, as a monitor would show a dash; its
        # index is still used up so that later readings keep their ids.
        log.warning("simulated reading %s of session %s dropped: %s", item.index, session_id, exc)
        return None


def _phase(db: Session, session_id: int) -> str:
    """The session's phase (the row alone: a step needs nothing else of it)."""
    session = db.get(InfusionSession, session_id)
    assert session is not None  # a run's session is deleted only with the run
    return session.phase


def _move(db: Session, session_id: int, item: TimedPhase, actor: Actor, tz: tzinfo) -> None:
    """Make the scenario's phase change through the same flow as a nurse's; the rules that
    the record judges (BP before dosing, minimum observation, open high alarms…) hold here too.
    Raises Conflict when the simulation must end (the session ended, or a rule refused)."""
    session = sessions.get_session(db, session_id)
    current, target = Phase(session.phase), Phase(item.phase)
    if current is target:
        return
    problem = transition_error(current, target)
    if problem:
        if current in ENDED:
            raise Conflict(problem)
        # A trainee moved the phase on already: the timeline follows what people did.
        log.info("session %s: scenario phase %s skipped: %s", session_id, item.phase, problem)
        return
    at = max(item.at, session.phase_changed_at)
    observed_min = item.observed_s / 60 if item.observed_s is not None else None
    scripted = item.gate_override
    body = PhaseChangeIn(
        phase=target,
        at=at,
        note="scenario timeline",
        # The timeline meets the pre-dose gate as a nurse must: a baseline above it refuses the
        # start (and so ends the run, saying why) unless the scenario scripts an override with
        # who decides and why. Trainees may also override on the session page before dosing.
        override_gate=OverrideIn(by=scripted.by, reason=scripted.reason) if scripted else None,
    )
    try:
        flows.change_phase(
            db,
            session_id,
            body,
            actor,
            future_tolerance=NO_SLACK,
            tz=tz,
            simulated_observation_min=observed_min,
        )
    except Conflict as exc:
        _refused(db, session_id, current, target, at, exc.message, actor, tz)
        raise


def _refused(
    db: Session,
    session_id: int,
    current: Phase,
    target: Phase,
    at: datetime,
    why: str,
    actor: Actor,
    tz: tzinfo,
) -> None:
    """The protocol refused the scenario's change: end the session early with the refusal as
    its reason, so the trainer and the trainees see on the session page and its record why the
    simulation stopped there (it cannot go on: the simulated patient has moved on)."""
    transition = transition_of(current, target)
    action = transition.action if transition else f"move to {target.value}"
    note = f"{REFUSED} {action}. {why}"
    if target is Phase.INFUSING and "Pre-dose gate" in why:
        note += (
            " (To rehearse starting anyway, override on the session page before dosing starts, "
            "or script gate_override in the scenario's [timeline].)"
        )
    log.info("simulation of session %s: %s", session_id, note)
    stop = PhaseChangeIn(phase=Phase.STOPPED, at=at, note=note[:2000])
    flows.change_phase(db, session_id, stop, actor, future_tolerance=NO_SLACK, tz=tz)


def _finish(db: Session, session_id: int, status: str, step: Step) -> str:
    run = get_run(db, session_id)
    run.status = status
    run.position_s = max(run.position_s, step.position_s) if status == FINISHED else run.position_s
    run.updated_at = utcnow()
    _publish(db, run)
    return status


# ---- steering -------------------------------------------------------------------------------


def get_run(db: Session, session_id: int, *, for_update: bool = False) -> SimulationRun:
    run = db.get(SimulationRun, session_id, with_for_update=for_update)
    if run is None:
        raise NotFound(f"session {session_id} is not a simulation run by Vigil")
    return run


def claim(db: Session, owner: str, now: datetime, playing: Iterable[int]) -> list[SimulationRun]:
    """Renew the leases of the runs this process is playing and take over running ones nobody
    holds (their process stopped or died); returns the runs newly taken."""
    db.execute(
        update(SimulationRun)
        .where(
            SimulationRun.owner == owner,
            SimulationRun.status == RUNNING,
            SimulationRun.session_id.in_(list(playing)),
        )
        .values(lease_until=now + LEASE)
    )
    free = select(SimulationRun.session_id).where(
        SimulationRun.status == RUNNING,
        or_(SimulationRun.owner.is_(None), SimulationRun.lease_until < now),
    )
    taken = []
    for session_id in db.scalars(free).all():
        won = db.execute(
            update(SimulationRun)
            .where(
                SimulationRun.session_id == session_id,
                or_(SimulationRun.owner.is_(None), SimulationRun.lease_until < now),
            )
            .values(owner=owner, lease_until=now + LEASE)
        )
        if won.rowcount == 1:  # type: ignore[attr-defined]
            run = get_run(db, session_id)
            db.refresh(run)
            taken.append(run)
    return taken


def release(db: Session, owner: str) -> None:
    """Let another process take this one's runs at once (a clean shutdown)."""
    db.execute(update(SimulationRun).where(SimulationRun.owner == owner).values(owner=None))


REFUSED = "Scenario timeline could not"  # how a note of a change the protocol refused begins


def recent(db: Session, limit: int = 50) -> list[tuple[SimulationRun, str, str, str | None]]:
    """The latest runs with their session's chair and phase, and why the protocol ended the
    run if it did, in one query (a console polls it)."""
    last_note = (
        select(PhaseChange.note)
        .where(PhaseChange.session_id == SimulationRun.session_id)
        .order_by(PhaseChange.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(SimulationRun, InfusionSession.chair, InfusionSession.phase, last_note)
        .join(InfusionSession, InfusionSession.id == SimulationRun.session_id)
        .order_by(SimulationRun.started_at.desc())
        .limit(limit)
    )
    return [(run, chair, phase, refusal(note)) for run, chair, phase, note in db.execute(query)]


def refusal(note: str | None) -> str | None:
    """The protocol's refusal that ended a run, from its session's last phase change note."""
    return note if note and note.startswith(REFUSED) else None


def check_running(run: SimulationRun) -> None:
    if run.status != RUNNING:
        raise Conflict(f"the simulation of session {run.session_id} has {run.status}")


def add_event(db: Session, session_id: int, at_s: float, event: dict[str, Any], by: str) -> None:
    run = get_run(db, session_id, for_update=True)
    run.live_events = [*run.live_events, {"at_s": at_s, "event": event, "by": by}]
    run.updated_at = utcnow()
    _publish(db, run)


def set_control(db: Session, session_id: int, *, speed: float, paused: bool) -> SimulationRun:
    run = get_run(db, session_id, for_update=True)
    run.speed, run.paused = speed, paused
    run.updated_at = utcnow()
    _publish(db, run)
    return run


def stop(db: Session, session_id: int, actor: Actor, tz: tzinfo = UTC) -> SimulationRun:
    run = get_run(db, session_id, for_update=True)
    session = sessions.get_session(db, session_id)
    if session.phase not in (Phase.DISCHARGED.value, Phase.STOPPED.value):
        body = PhaseChangeIn(phase=Phase.STOPPED, note="simulation stopped by the trainer")
        flows.change_phase(db, session_id, body, actor, future_tolerance=NO_SLACK, tz=tz)
    if run.status == RUNNING:
        run.status = STOPPED
    run.updated_at = utcnow()
    _publish(db, run)
    return run


def _publish(db: Session, run: SimulationRun) -> None:
    record_event(
        db,
        "simulation.changed",
        run.session_id,
        {
            "session_id": run.session_id,
            "status": run.status,
            "speed": run.speed,
            "paused": run.paused,
            "events": len(run.live_events),
        },
    )


# ---- the simulator's monitors over MLLP (VIGIL_SIMULATOR_MLLP) ---------------------------

MLLP_SENDER = "VIGIL_SIM"


def device_eui64(session_id: int) -> str:
    """The simulated monitor of a session: an EUI-64 of its own, locally administered (first
    octet 02), never a real device's: 02 'VIG' then the session id."""
    return f"02564947{session_id:08X}"


def control_id(session_id: int, first: int, last: int) -> str:
    """MSH-10 of the message carrying a simulation's readings `first` to `last` (their
    indexes): the same readings always get the same one, so a message sent again after a
    restart is a resend, acknowledged and stored once."""
    return f"SIM{session_id}-{first}" if first == last else f"SIM{session_id}-{first}-{last}"


def mllp_bed(db: Session, session_id: int, owner: str) -> tuple[str, str, str] | None:
    """PV1-3 for this run's monitor (site, room and chair, as a gateway names a bed, so the
    listener routes its messages to the session on that chair), while the run is this
    process's and its session open; None when its readings must not be sent."""
    run = db.get(SimulationRun, session_id)
    if run is None or run.status != RUNNING or run.owner != owner:
        return None
    session = db.get(InfusionSession, session_id)
    if session is None or session.phase in ENDED_PHASES:
        return None
    chair = db.get(Chair, session.chair_id)
    if chair is None:
        return None
    return (chair.room.site.name, chair.room.name, chair.name)
