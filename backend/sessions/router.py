"""Session endpoints: start, list (with latest vitals for the ward), read, change phase."""

from dataclasses import asdict
from datetime import timedelta, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session as DbSession

from backend import flows
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.errors import InvalidInput
from backend.core.fields import Moment, RowId
from backend.core.simulated_time import simulated_observation_min
from backend.core.timeutil import utcnow
from backend.sessions import checklists
from backend.sessions.access import SeenSession, SessionRef, record_change
from backend.sessions.phases import Phase
from backend.sessions.schemas import (
    ChecklistItemPublic,
    ChecklistPublic,
    PhaseChangeIn,
    SessionCreate,
    SessionPublic,
)
from backend.users.auth import PhaseActor, RecorderActor

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


@router.post("", status_code=201, summary="Start a session (in the baseline phase)")
def create_session(
    body: SessionCreate, actor: RecorderActor, request: Request, db: SessionDep
) -> SessionPublic:
    session = flows.start_session(db, body, actor)
    record_change(
        db,
        actor,
        "session.start",
        request,
        SessionRef.of(session),
        target=session.chair,
    )
    return SessionPublic.model_validate(session)


def _simulated_observation(request: Request, db: DbSession, ref: SessionRef) -> float | None:
    """A simulated session's observation in its simulator's minutes (a trainee discharging a
    patient played at 10x is judged on the patient's time, not the record's); None for real."""
    if not ref.simulated:
        return None
    return simulated_observation_min(request.app, db, ref.id)


@router.post(
    "/{session_id}/phase",
    summary="Move a session to its next phase: infusing, recovery, discharged or stopped",
    responses={
        409: {
            "description": "Not allowed now: the phase machine, or a required checklist item "
            "not met (the message names each one)"
        }
    },
)
def change_phase(
    session_id: RowId,
    body: PhaseChangeIn,
    actor: PhaseActor,
    ref: SeenSession,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
) -> SessionPublic:
    session = flows.change_phase(
        db,
        session_id,
        body,
        actor,
        future_tolerance=timedelta(seconds=settings.future_tolerance_seconds),
        tz=settings.clinic_zone,
        simulated_observation_min=_simulated_observation(request, db, ref),
    )
    change = session.phase_changes[-1]
    record_change(
        db,
        actor,
        "session.phase",
        request,
        ref,
        detail={"from": change.from_phase, "to": change.to_phase, "at": change.at.isoformat()},
    )
    # Going on against the record's advice is a decision of its own, found by its own name
    # (kept only when the record did advise against it, as on the phase change itself).
    kept = change.checklist or {}
    for action, key, override in (
        ("gate.override", "gate_override", body.override_gate),
        ("alarm.override", "alarm_override", body.override_alarms),
    ):
        if override is not None and key in kept:
            record_change(
                db,
                actor,
                action,
                request,
                ref,
                target=override.by,
                detail={"reason": override.reason[:500], "to": change.to_phase},
            )
    return SessionPublic.model_validate(session)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(("query", "tz"), f"unknown time zone {name!r}", name) from None


@router.get(
    "/{session_id}/checklist",
    summary="The protocol checklist of moving a session to a phase, its auto items judged",
)
def get_checklist(
    session_id: RowId,
    ref: SeenSession,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    to: Annotated[Phase, Query(description="The phase to move to")],
    at: Annotated[
        Moment | None,
        Query(description="Judge as of this moment (a change set back); defaults to now"),
    ] = None,
    tz: Annotated[
        str | None,
        Query(description="IANA time zone for clock times in the details; the clinic's if omitted"),
    ] = None,
) -> ChecklistPublic:
    moment = at or utcnow()
    zone = _zone(tz) if tz else settings.clinic_zone
    session, items = flows.checklist(
        db,
        session_id,
        to,
        moment,
        zone,
        clinic_zone=settings.clinic_zone,
        simulated_observation_min=_simulated_observation(request, db, ref),
    )
    transition = checklists.transition_of(Phase(session.phase), to)
    assert transition is not None  # service.checklist refused any other change
    blocking = checklists.blocking([i for i in items if i.kind is checklists.Kind.AUTO])
    return ChecklistPublic(
        from_phase=Phase(session.phase),
        to_phase=to,
        transition=transition.value,
        at=moment,
        items=[ChecklistItemPublic.model_validate(asdict(item)) for item in items],
        ready=not blocking,
        ready_at=checklists.ready_at(items),
        reason_required=to is Phase.STOPPED,
    )
