"""Session endpoints: start, list (with latest vitals for the ward), read, change phase."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from backend.alerts import service as alerts
from backend.core.dependencies import (
    CurrentActor,
    PhaseActor,
    RecorderActor,
    SessionDep,
    SettingsDep,
)
from backend.core.timeutil import utcnow
from backend.readings.service import latest_values
from backend.scores.service import news2_of
from backend.sessions import service
from backend.sessions.models import InfusionSession
from backend.sessions.phases import ENDED, Phase
from backend.sessions.schemas import (
    LatestValue,
    PhaseChangeIn,
    SessionCreate,
    SessionPublic,
    SessionStatus,
    SessionSummary,
)

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


def _summaries(
    db: SessionDep, settings: SettingsDep, rows: list[InfusionSession]
) -> list[SessionSummary]:
    latest = latest_values(db, [s.id for s in rows])
    alarms = alerts.open_summaries(db, [s.id for s in rows])
    now = utcnow()
    max_age = timedelta(minutes=settings.news2_max_age_minutes)
    return [
        SessionSummary(
            **SessionPublic.model_validate(s).model_dump(),
            alert=alarms[s.id],
            news2=news2_of(s, latest[s.id], now, max_age),
            latest={
                name: LatestValue(value=value, taken_at=at)
                for name, (value, at) in latest[s.id].items()
            },
        )
        for s in rows
    ]


@router.get("", summary="Sessions with each vital's latest value (the ward view)")
def list_sessions(
    _: CurrentActor,
    db: SessionDep,
    settings: SettingsDep,
    status: Annotated[SessionStatus, Query()] = SessionStatus.ACTIVE,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    simulated: Annotated[
        bool | None,
        Query(description="false: real patients only; true: simulations only; omitted: both"),
    ] = None,
) -> list[SessionSummary]:
    return _summaries(db, settings, service.list_sessions(db, status, limit, simulated))


@router.post("", status_code=201, summary="Start a session (in the baseline phase)")
def create_session(body: SessionCreate, actor: RecorderActor, db: SessionDep) -> SessionPublic:
    return SessionPublic.model_validate(service.create_session(db, body, actor))


@router.get("/{session_id}", summary="One session with its latest vitals and phase history")
def get_session(
    session_id: int, _: CurrentActor, db: SessionDep, settings: SettingsDep
) -> SessionSummary:
    (summary,) = _summaries(db, settings, [service.get_session(db, session_id)])
    return summary


@router.post(
    "/{session_id}/phase",
    summary="Move a session to its next phase: infusing, recovery, discharged or stopped",
)
def change_phase(
    session_id: int, body: PhaseChangeIn, actor: PhaseActor, db: SessionDep, settings: SettingsDep
) -> SessionPublic:
    tolerance = timedelta(seconds=settings.future_tolerance_seconds)
    if body.phase is Phase.INFUSING:
        alerts.check_gate(db, service.get_session(db, session_id), body.override_gate, actor)
    session = service.change_phase(db, session_id, body, actor, future_tolerance=tolerance)
    if body.phase in ENDED:
        alerts.close_ended(db, utcnow(), session_id)
    return SessionPublic.model_validate(session)
