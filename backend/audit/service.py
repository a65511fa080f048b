"""Appending to the audit trail, reading it back, and checking its chain.

`record` runs in the caller's unit of work, so an event commits with the change it records or
not at all. It locks the chain head until that transaction ends: call it last, as the stream's
events are, just before the unit of work commits.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from starlette.requests import HTTPConnection

from backend.audit.chain import GENESIS, Break, ChainCheck, Link, hash_of
from backend.audit.models import AuditChainHead, AuditEvent
from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.timeutil import utcnow

HEAD_ID = 1
# A detail is a few facts (a reason, what changed), never a copy of the record.
MAX_DETAIL_CHARS = 2000
VERIFY_BATCH = 1000


def address_of(conn: HTTPConnection | None) -> str | None:
    """The client's address as the server sees it (behind a proxy, the forwarded one when
    uvicorn trusts the proxy: `vigil serve` runs with proxy headers on)."""
    if conn is None or conn.client is None:
        return None
    return conn.client.host[:64]


def _text(value: str | None, limit: int = 200) -> str | None:
    """Text as the trail keeps it: short, and without NUL, which PostgreSQL cannot store (a
    username tried at sign-in is whatever was typed)."""
    return None if value is None else value.replace("\x00", "\ufffd")[:limit]


def _head(db: Session) -> AuditChainHead:
    head = db.scalar(select(AuditChainHead).where(AuditChainHead.id == HEAD_ID).with_for_update())
    if head is None:  # the migration makes it; a database made otherwise gets it on first use
        head = AuditChainHead(id=HEAD_ID, last_id=0, last_hash=GENESIS)
        db.add(head)
        db.flush()
    return head


def record(
    db: Session,
    actor: Actor | None,
    action: str,
    *,
    request: HTTPConnection | None = None,
    patient_id: int | None = None,
    session_id: int | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event in `db`'s transaction. `actor` None: nobody signed in (a failed sign-in)."""
    if detail is not None and len(json.dumps(detail, default=str)) > MAX_DETAIL_CHARS:
        raise ValueError(f"audit detail of {action} is too large to keep in the trail")
    head = _head(db)
    link = Link(
        id=head.last_id + 1,
        at=utcnow(),
        actor_kind=actor.kind if actor else "anonymous",
        actor_name=_text(actor.name) if actor else None,
        actor_role=actor.role.value if actor else None,
        action=action,
        address=address_of(request),
        patient_id=patient_id,
        session_id=session_id,
        target=_text(target),
        # Through JSON and back: what is hashed is exactly what the database will return.
        detail=None if detail is None else json.loads(json.dumps(detail, default=str)),
        prev_hash=head.last_hash,
    )
    digest = hash_of(link)
    event = AuditEvent(**link.__dict__, hash=digest)
    db.add(event)
    head.last_id, head.last_hash = link.id, digest
    db.flush()
    return event


def record_apart(
    database: Database,
    actor: Actor | None,
    action: str,
    *,
    request: HTTPConnection | None = None,
    patient_id: int | None = None,
    session_id: int | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an event in a short write transaction of its own, for a request that only reads
    (a view, an export): the read stays off the write lock, and what was seen is on record
    before it is sent. Never call it while this thread holds a write transaction."""
    with database.unit_of_work(write=True) as db:
        record(
            db,
            actor,
            action,
            request=request,
            patient_id=patient_id,
            session_id=session_id,
            target=target,
            detail=detail,
        )


def record_refusal(
    db: Session,
    actor: Actor | None,
    action: str,
    *,
    request: HTTPConnection | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append and commit at once, for a request about to be refused (a failed sign-in): the
    refusal rolls its unit of work back, and the event must outlive it."""
    record(db, actor, action, request=request, target=target, detail=detail)
    db.commit()


@dataclass(frozen=True)
class AuditFilter:
    user: str | None = None
    patient_id: int | None = None
    session_id: int | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(query: Select[tuple[AuditEvent]], where: AuditFilter) -> Select[tuple[AuditEvent]]:
    if where.user is not None:
        # A person's own acts, and what was done to their account or tried in their name.
        query = query.where(
            or_(AuditEvent.actor_name == where.user, AuditEvent.target == where.user)
        )
    if where.patient_id is not None:
        query = query.where(AuditEvent.patient_id == where.patient_id)
    if where.session_id is not None:
        query = query.where(AuditEvent.session_id == where.session_id)
    if where.action is not None:
        # "auth" finds auth.sign_in, auth.sign_out, …; "auth.sign_in" only that action.
        query = query.where(
            or_(AuditEvent.action == where.action, AuditEvent.action.startswith(where.action + "."))
        )
    if where.since is not None:
        query = query.where(AuditEvent.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEvent.at < where.until)
    return query


def list_events(
    db: Session, where: AuditFilter, *, before: int | None = None, limit: int = 100
) -> tuple[list[AuditEvent], int | None]:
    """A page of events, newest first, and the `before` of the next page (None: no more)."""
    query: Select[tuple[AuditEvent]] = _filtered(select(AuditEvent), where)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows: list[AuditEvent] = list(db.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


def iter_events(
    database: Database, where: AuditFilter, batch: int = VERIFY_BATCH
) -> Iterator[list[AuditEvent]]:
    """Every matching event, newest first, a batch per short read transaction (an export of
    years of events holds neither memory nor a transaction for long)."""
    before: int | None = None
    while True:
        with database.unit_of_work(write=False) as db:
            rows, before = list_events(db, where, before=before, limit=batch)
        if rows:
            yield rows
        if before is None:
            return


def _link(row: AuditEvent) -> Link:
    return Link(
        id=row.id,
        at=row.at,
        actor_kind=row.actor_kind,
        actor_name=row.actor_name,
        actor_role=row.actor_role,
        action=row.action,
        address=row.address,
        patient_id=row.patient_id,
        session_id=row.session_id,
        target=row.target,
        detail=row.detail,
        prev_hash=row.prev_hash,
    )


@dataclass(frozen=True)
class Verdict:
    count: int
    last_hash: str
    broken: Break | None


def verify(database: Database, batch: int = VERIFY_BATCH) -> Verdict:
    """Walk the chain, oldest first, `batch` events per read transaction, up to the head as it
    was when the walk began (events appended meanwhile are the next walk's)."""
    with database.unit_of_work(write=False) as db:
        # One statement, one snapshot (PostgreSQL gives each statement its own): the head and
        # the highest event number always move together, so they must agree.
        newest = select(func.max(AuditEvent.id)).scalar_subquery()
        row = db.execute(
            select(AuditChainHead.last_id, AuditChainHead.last_hash, newest).where(
                AuditChainHead.id == HEAD_ID
            )
        ).first()
        if row is None:
            head_id, head_hash, beyond = 0, GENESIS, db.scalar(select(func.max(AuditEvent.id)))
        else:
            head_id, head_hash, beyond = row
    if beyond is not None and beyond > head_id:
        beyond_end = Break(
            beyond, f"event {beyond} lies beyond the chain's end ({head_id}): inserted"
        )
        return Verdict(0, GENESIS, beyond_end)
    check = ChainCheck()
    after = 0
    while True:
        with database.unit_of_work(write=False) as db:
            rows = list(
                db.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.id > after, AuditEvent.id <= head_id)
                    .order_by(AuditEvent.id)
                    .limit(batch)
                )
            )
        broken = check.feed((_link(r), r.hash) for r in rows)
        if broken is not None:
            return Verdict(check.count, check.last_hash, broken)
        if len(rows) < batch:
            break
        after = rows[-1].id
    return Verdict(check.count, check.last_hash, check.end(head_id, head_hash))
