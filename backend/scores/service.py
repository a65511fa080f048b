"""NEWS2 for stored sessions: the latest valid value of each parameter, scored."""

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from backend.readings.service import Latest, latest_values
from backend.scores.news2 import PARAMETERS, Observation, score
from backend.scores.schemas import News2Public
from backend.sessions.models import InfusionSession

LatestByVital = Mapping[str, Latest]


def news2_of(
    session: InfusionSession, latest: LatestByVital, now: datetime, max_age: timedelta
) -> News2Public:
    """Score a session from its latest values (as `readings.service.latest_values` gives them)."""
    observations = {
        name: Observation(latest[name].value, latest[name].taken_at)
        for name in PARAMETERS
        if name in latest
    }
    # An ended session is scored as it stood when it ended, not as "everything is stale".
    ended = session.ended_at
    as_of = ended if ended is not None and ended < now else now
    return News2Public.of(
        score(observations, as_of, max_age=max_age, scale=session.spo2_scale), as_of
    )


def news2_for(
    db: Session, session: InfusionSession, now: datetime, max_age: timedelta
) -> News2Public:
    return news2_of(session, latest_values(db, [session.id])[session.id], now, max_age)
