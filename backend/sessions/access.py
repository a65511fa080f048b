"""Who may see a session, and the record that they saw it: one place for every route with a
`{session_id}`.

Trainers see simulated sessions only: a real session is refused to them (403) before anything
of it is read. A view of a real session is written to the audit trail before its data is sent;
simulated sessions are not patients, and their views are not logged.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit import service as audit
from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.dependencies import DatabaseDep, take_turn
from backend.core.errors import Forbidden, NotFound
from backend.core.fields import RowId
from backend.core.roles import Role
from backend.sessions.models import InfusionSession
from backend.users.auth import CurrentActor

TRAINERS_REFUSED = "trainers see simulated sessions only"


@dataclass(frozen=True)
class SessionRef:
    """The little a route needs to know about a session before touching it."""

    id: int
    patient_id: int
    simulated: bool

    @classmethod
    def of(cls, session: InfusionSession) -> "SessionRef":
        return cls(session.id, session.patient_id, session.simulated)


def find_ref(db: Session, session_id: int) -> SessionRef:
    row = db.execute(
        select(InfusionSession.patient_id, InfusionSession.simulated).where(
            InfusionSession.id == session_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no session with id {session_id}")
    return SessionRef(session_id, row.patient_id, row.simulated)


def refs_of(db: Session, ids: Collection[int]) -> list[SessionRef]:
    """The sessions among `ids` that exist."""
    rows = db.execute(
        select(InfusionSession.id, InfusionSession.patient_id, InfusionSession.simulated).where(
            InfusionSession.id.in_(list(ids))
        )
    )
    return [SessionRef(r.id, r.patient_id, r.simulated) for r in rows]


def may_see(actor: Actor, simulated: bool) -> bool:
    """Trainers see simulated sessions only; every other role sees every session."""
    return simulated or actor.role is not Role.TRAINER


def check_may_see(actor: Actor, simulated: bool) -> None:
    if not may_see(actor, simulated):
        raise Forbidden(TRAINERS_REFUSED)


def session_access(action: str | None = None, *, paged: bool = False) -> Callable[..., SessionRef]:
    """A dependency: the path's session if the actor may see it, its view (`action`) on record.

    It runs before the route's own unit of work touches the database (that one is lazy), reads in
    a transaction of its own and, for a real session and an `action`, appends to the audit trail
    in a short write transaction: the route's read never holds the write lock. `paged`: only
    a listing's first page is a view; the pages after it are the same view going on.
    """

    def dependency(
        session_id: RowId,
        request: Request,
        actor: CurrentActor,
        database: DatabaseDep,
        _turn: Annotated[None, Depends(take_turn, scope="function")],
    ) -> SessionRef:
        with database.unit_of_work(write=False) as db:
            ref = find_ref(db, session_id)
        check_may_see(actor, ref.simulated)
        more = paged and request.query_params.get("page") is not None
        if action is not None and not ref.simulated and not more:
            audit.record_apart(
                database,
                actor,
                action,
                request=request,
                patient_id=ref.patient_id,
                session_id=ref.id,
            )
        return ref

    return dependency


async def refuse_trainers_on_real_sessions(
    session_id: RowId,
    actor: CurrentActor,
    database: DatabaseDep,
    _turn: Annotated[None, Depends(take_turn, scope="function")],
) -> None:
    """For a route whose own unit of work checks access again under the session's row lock (the
    reading POSTs): a trainer is refused a real session before the body is even judged, as by
    `SeenSession`, and every other role (who may see every session) costs no query here."""
    if actor.role is not Role.TRAINER:
        return
    ref = await run_in_threadpool(_ref_apart, database, session_id)
    check_may_see(actor, ref.simulated)


def _ref_apart(database: Database, session_id: int) -> SessionRef:
    with database.unit_of_work(write=False) as db:
        return find_ref(db, session_id)


TrainerGate = Annotated[None, Depends(refuse_trainers_on_real_sessions)]


# A route on a session that it reads or changes, whose access needs no entry of its own (a
# change records its own; its alarms or checklist are part of the session page already logged).
SeenSession = Annotated[SessionRef, Depends(session_access())]
ViewedSession = Annotated[SessionRef, Depends(session_access("session.view"))]
ViewedReadings = Annotated[SessionRef, Depends(session_access("readings.view", paged=True))]
ViewedRecord = Annotated[SessionRef, Depends(session_access("record.view"))]
ExportedPdf = Annotated[SessionRef, Depends(session_access("report.pdf"))]
ExportedCsv = Annotated[SessionRef, Depends(session_access("report.csv"))]


def record_change(
    db: Session,
    actor: Actor,
    action: str,
    request: Request,
    ref: SessionRef,
    *,
    target: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Put a change to a session on the audit trail, in the change's own transaction. A change
    to a simulated session is kept too (a drill's override is still someone's act), marked."""
    if ref.simulated:
        detail = {**(detail or {}), "simulated": True}
    audit.record(
        db,
        actor,
        action,
        request=request,
        patient_id=ref.patient_id,
        session_id=ref.id,
        target=target,
        detail=detail,
    )


def record_view(
    database: Database, actor: Actor, action: str, request: Request, ref: SessionRef
) -> None:
    """Put a view or export of a real session on the trail, once it was made, before it is sent."""
    if not ref.simulated:
        audit.record_apart(
            database, actor, action, request=request, patient_id=ref.patient_id, session_id=ref.id
        )
