"""The ward's view of sessions: each with its latest vitals, highest open alarm and NEWS2."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from backend.alerts.queries import open_summaries
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.fields import RowId
from backend.core.roles import Role
from backend.core.timeutil import utcnow
from backend.patients.age import age_at
from backend.readings.service import latest_values
from backend.scores.service import news2_of
from backend.sessions import service
from backend.sessions.access import ViewedSession
from backend.sessions.models import InfusionSession
from backend.sessions.schemas import SessionPublic, SessionStatus
from backend.users.auth import CurrentActor
from backend.views.schemas import LatestValue, SessionSummary

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


def _summaries(
    db: SessionDep, settings: SettingsDep, rows: list[InfusionSession]
) -> list[SessionSummary]:
    latest = latest_values(db, [s.id for s in rows])
    alarms = open_summaries(db, [s.id for s in rows])
    now = utcnow()
    max_age = timedelta(minutes=settings.news2_max_age_minutes)
    return [
        SessionSummary(
            **SessionPublic.model_validate(s).model_dump(),
            alert=alarms[s.id],
            news2=news2_of(s, latest[s.id], now, max_age),
            patient_age=age_at(s.patient.date_of_birth, s.created_at, settings.clinic_zone),
            latest={
                name: LatestValue(value=v.value, taken_at=v.taken_at, source=v.source)
                for name, v in latest[s.id].items()
            },
        )
        for s in rows
    ]


@router.get("", summary="Sessions with each vital's latest value (the ward view)")
def list_sessions(
    actor: CurrentActor,
    db: SessionDep,
    settings: SettingsDep,
    status: Annotated[SessionStatus, Query()] = SessionStatus.ACTIVE,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    simulated: Annotated[
        bool | None,
        Query(description="false: real patients only; true: simulations only; omitted: both"),
    ] = None,
    site_id: Annotated[
        RowId | None, Query(description="Only sessions on chairs of this site")
    ] = None,
    room_id: Annotated[
        RowId | None, Query(description="Only sessions on chairs of this room")
    ] = None,
) -> list[SessionSummary]:
    if actor.role is Role.TRAINER:  # trainers see simulated sessions only (sessions/access.py)
        if simulated is False:
            return []
        simulated = True
    rows = service.list_sessions(db, status, limit, simulated, site_id=site_id, room_id=room_id)
    return _summaries(db, settings, rows)


@router.get("/{session_id}", summary="One session with its latest vitals and phase history")
def get_session(
    session_id: RowId, _: ViewedSession, db: SessionDep, settings: SettingsDep
) -> SessionSummary:
    (summary,) = _summaries(db, settings, [service.get_session(db, session_id)])
    return summary
