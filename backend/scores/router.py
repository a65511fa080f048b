"""GET a session's NEWS2 with its per-parameter parts."""

from datetime import timedelta

from fastapi import APIRouter

from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.fields import RowId
from backend.core.timeutil import utcnow
from backend.scores.schemas import News2Public
from backend.scores.service import news2_for
from backend.sessions.access import SeenSession
from backend.sessions.service import get_session

router = APIRouter(tags=["scores"])


@router.get(
    "/api/sessions/{session_id}/news2",
    summary="The session's NEWS2: total and band from a complete recent set, or what is missing",
)
def session_news2(
    session_id: RowId, _: SeenSession, db: SessionDep, settings: SettingsDep
) -> News2Public:
    session = get_session(db, session_id)
    max_age = timedelta(minutes=settings.news2_max_age_minutes)
    return news2_for(db, session, utcnow(), max_age)
