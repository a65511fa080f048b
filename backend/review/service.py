"""The alarm review's queries: a few bounded aggregates over the period, then rules.py.

Every query is limited by the period through an index (alerts.raised_at, the sessions' start
and end, limit_changes.changed_at; migration 0016) and returns at most a bounded number of rows:
alarms come back grouped by chair, profile and condition, times to acknowledge as whole seconds
counted (at most ACK_CAP_S + 1 groups), sessions as their spans (refused past MAX_SESSIONS, so a
figure is never computed from part of the period), limit changes as the newest few plus a count.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, literal_column, or_, select
from sqlalchemy.orm import Session

from backend.alerts.models import Alert, LimitChange, LimitProfile
from backend.core.errors import InvalidInput
from backend.review import rules
from backend.sessions.models import InfusionSession
from backend.sites.models import Chair, Room, Site

# A clinic of 20 chairs running 8 sessions a day holds about 58,000 in a year; past this the
# manager is asked for a shorter period or one site rather than shown a partial figure.
MAX_SESSIONS = 100_000
MAX_LIMIT_CHANGES_LISTED = 200


@dataclass(frozen=True)
class ReviewQuery:
    start: datetime
    end: datetime
    site_id: int | None = None
    chair_id: int | None = None
    profile_id: int | None = None
    # The clinic's figures are real sessions only; simulated ones are reviewed apart, never mixed.
    simulated: bool = False


@dataclass(frozen=True)
class ChairName:
    chair: str
    room: str
    site: str


@dataclass(frozen=True)
class ChangeRow:
    id: int
    changed_at: datetime
    changed_by: str
    profile_id: int | None
    session_id: int | None
    chair_id: int | None
    edits: list[rules.LimitEdit]


@dataclass
class ReviewData:
    query: ReviewQuery
    now: datetime
    figures: rules.Review
    sessions: int
    chairs: dict[int, ChairName]
    profiles: dict[int, str]
    default_profile_id: int
    changes: list[ChangeRow]
    changes_total: int
    profile_changes: int
    session_changes: int
    sessions_with_changes: int


def _default_profile_id(db: Session) -> int:
    found = db.scalar(select(LimitProfile.id).where(LimitProfile.is_default.is_(True)))
    return found if found is not None else 0


def check_filters(db: Session, q: ReviewQuery) -> None:
    """A filter naming a site, chair or profile that does not exist is a mistake, not 'none'."""
    for field, model, value in (
        ("site", Site, q.site_id),
        ("chair", Chair, q.chair_id),
        ("profile", LimitProfile, q.profile_id),
    ):
        if value is not None and db.get(model, value) is None:
            raise InvalidInput(("query", field), f"no {field} with id {value}", value)


def _session_where(q: ReviewQuery, default_id: int) -> list[ColumnElement[bool]]:
    S = InfusionSession
    where: list[ColumnElement[bool]] = [S.simulated.is_(q.simulated)]
    if q.chair_id is not None:
        where.append(S.chair_id == q.chair_id)
    if q.site_id is not None:
        at_site = select(Chair.id).join(Room, Chair.room_id == Room.id)
        where.append(S.chair_id.in_(at_site.where(Room.site_id == q.site_id)))
    if q.profile_id is not None:
        if q.profile_id == default_id:  # a session without a profile runs on the default
            where.append(or_(S.limit_profile_id.is_(None), S.limit_profile_id == default_id))
        else:
            where.append(S.limit_profile_id == q.profile_id)
    return where


def _profile_of_session(default_id: int) -> ColumnElement[int]:
    # The id as a literal (an int we read ourselves), so the grouped query's SELECT and GROUP BY
    # are the same expression on PostgreSQL.
    return func.coalesce(InfusionSession.limit_profile_id, literal_column(str(int(default_id))))


def _epoch_seconds(db: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    if db.get_bind().dialect.name == "sqlite":
        return func.julianday(column) * 86400.0
    return func.extract("epoch", column)


def _spans(db: Session, q: ReviewQuery, default_id: int) -> list[rules.SessionSpan]:
    S = InfusionSession
    query = (
        select(S.id, S.chair_id, _profile_of_session(default_id), S.created_at, S.ended_at)
        .where(S.created_at < q.end, or_(S.ended_at.is_(None), S.ended_at > q.start))
        .where(*_session_where(q, default_id))
        .limit(MAX_SESSIONS + 1)
    )
    rows = db.execute(query).all()
    if len(rows) > MAX_SESSIONS:
        raise InvalidInput(
            ("query", "start"),
            f"more than {MAX_SESSIONS} sessions in this period: choose a shorter period or a site",
        )
    return [rules.SessionSpan(*row) for row in rows]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _alarm_groups(db: Session, q: ReviewQuery, default_id: int) -> list[rules.AlarmGroup]:
    A, S = Alert, InfusionSession
    profile = _profile_of_session(default_id)
    closed = and_(A.resolved_at.is_not(None), A.withdrawn_reason.is_(None))
    query = (
        select(
            S.chair_id,
            profile,
            A.condition,
            A.kind,
            func.count(),
            _count_if(A.escalations > 0),
            func.coalesce(func.sum(A.escalations), 0),
            _count_if(A.acknowledged_at.is_not(None)),
            _count_if(closed),
            _count_if(and_(closed, A.acknowledged_at.is_(None))),
            _count_if(A.withdrawn_reason.is_not(None)),
            _count_if(A.actionable.is_(True)),
            _count_if(A.actionable.is_(False)),
        )
        .join(S, A.session_id == S.id)
        .where(A.raised_at >= q.start, A.raised_at < q.end, *_session_where(q, default_id))
        .group_by(S.chair_id, profile, A.condition, A.kind)
    )
    return [
        rules.AlarmGroup(int(chair_id), int(profile_id), condition, kind, *map(int, counts))
        for chair_id, profile_id, condition, kind, *counts in db.execute(query).all()
    ]


def _ack_counts(db: Session, q: ReviewQuery, default_id: int) -> dict[int, int]:
    """Times from an alarm's first announcement to its first acknowledgement, in whole seconds
    (capped at ACK_CAP_S), counted: the distribution, bounded whatever the number of alarms."""
    A, S = Alert, InfusionSession
    acked = func.coalesce(A.first_acknowledged_at, A.acknowledged_at)
    delay = _epoch_seconds(db, acked) - _epoch_seconds(
        db, func.coalesce(A.announced_at, A.raised_at)
    )
    seconds = case(
        (delay < 0, 0),
        (delay > rules.ACK_CAP_S, rules.ACK_CAP_S),
        else_=cast(func.round(delay), Integer),
    ).label("seconds")
    inner = (
        select(seconds)
        .join(S, A.session_id == S.id)
        .where(A.raised_at >= q.start, A.raised_at < q.end, acked.is_not(None))
        .where(*_session_where(q, default_id))
        .subquery()
    )
    rows = db.execute(select(inner.c.seconds, func.count()).group_by(inner.c.seconds)).all()
    return {int(s): int(n) for s, n in rows}


def _limit_changes(
    db: Session, q: ReviewQuery, default_id: int
) -> tuple[list[ChangeRow], int, int, int, int]:
    """The period's limit changes: a profile's (clinic-wide, wherever it is used), and each
    session's own (of the sessions the filters select). The newest few listed, all counted."""
    C, S = LimitChange, InfusionSession
    of_profile: ColumnElement[bool] = C.profile_id.is_not(None)
    if q.profile_id is not None:
        of_profile = C.profile_id == q.profile_id
    of_session = and_(C.session_id.is_not(None), *_session_where(q, default_id))
    where = [C.changed_at >= q.start, C.changed_at < q.end, or_(of_profile, of_session)]
    base = select(C, S.chair_id).outerjoin(S, C.session_id == S.id).where(*where)
    counted = (
        select(
            func.count(),
            _count_if(C.session_id.is_(None)),
            func.count(func.distinct(C.session_id)),
        )
        .select_from(C)
        .outerjoin(S, C.session_id == S.id)
        .where(*where)
    )
    total, profile_changes, sessions_with = db.execute(counted).one()
    rows = db.execute(
        base.order_by(C.changed_at.desc(), C.id.desc()).limit(MAX_LIMIT_CHANGES_LISTED)
    ).all()
    changes = [
        ChangeRow(
            c.id,
            c.changed_at,
            c.changed_by,
            c.profile_id,
            c.session_id,
            chair_id,
            # A session's first override starts from none of its own, not from a new profile.
            rules.limit_edits(c.old if c.session_id is None else (c.old or {}), c.new),
        )
        for c, chair_id in rows
    ]
    total, profile_changes = int(total), int(profile_changes)
    return changes, total, profile_changes, total - profile_changes, int(sessions_with)


def _chair_names(db: Session, ids: set[int]) -> dict[int, ChairName]:
    if not ids:
        return {}
    query = (
        select(Chair.id, Chair.name, Room.name, Site.name)
        .join(Room, Chair.room_id == Room.id)
        .join(Site, Room.site_id == Site.id)
        .where(Chair.id.in_(ids))
    )
    return {cid: ChairName(c, r, s) for cid, c, r, s in db.execute(query).all()}


def alarm_review(db: Session, q: ReviewQuery, now: datetime) -> ReviewData:
    check_filters(db, q)
    default_id = _default_profile_id(db)
    spans = _spans(db, q, default_id)
    hours_by_chair, hours_by_profile = rules.chair_hours(spans, q.start, q.end, now)
    groups = _alarm_groups(db, q, default_id)
    figures = rules.review(groups, hours_by_chair, hours_by_profile, _ack_counts(db, q, default_id))
    changes, total, profile_changes, session_changes, sessions_with = _limit_changes(
        db, q, default_id
    )
    chair_ids = {line.key for line in figures.by_chair} | {
        c.chair_id for c in changes if c.chair_id is not None
    }
    profiles = {pid: name for pid, name in db.execute(select(LimitProfile.id, LimitProfile.name))}
    return ReviewData(
        query=q,
        now=now,
        figures=figures,
        sessions=len(spans),
        chairs=_chair_names(db, chair_ids),
        profiles=profiles,
        default_profile_id=default_id,
        changes=changes,
        changes_total=total,
        profile_changes=profile_changes,
        session_changes=session_changes,
        sessions_with_changes=sessions_with,
    )
