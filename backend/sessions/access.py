"""Who may see a session, and the record that they saw it: one place for every route with a
`{session_id}`.

Trainers see simulated sessions only: a real session is refused to them (403) before anything
of it is read. A view of a real session is written to the audit trail before its data is sent;
simulated sessions are not patients, and their views are not logged.
"""

from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit import service as audit
from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.dependencies import DatabaseDep, get_database, get_settings, take_turn
from backend.core.errors import Forbidden, NotFound
from backend.core.fields import RowId
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.sessions.models import InfusionSession
from backend.users.auth import RECORDERS, CurrentActor, check_role, get_actor

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


@dataclass(frozen=True)
class Recording:
    """What a reading POST has been let through with."""

    actor: Actor
    database: Database
    settings: Settings


async def recording(request: Request) -> AsyncIterator[Recording]:
    """Everything a reading POST needs before its body is judged, as one dependency: every
    monitor sends one a second, and FastAPI's resolving of the five it replaces (caller, role,
    trainer gate, turn, settings) took about a third of the event loop's time per reading.

    In order: the caller, who must be one who records readings (401, 403); a turn at the
    database, held until the endpoint's unit of work ends (`take_turn`); a trainer refused a real
    session before the body is judged (as by `SeenSession`; the unit of work checks again under
    the session's row lock), while every other role, who may see every session, costs no query.
    """
    database = await get_database(request)
    settings = await get_settings(request)
    actor = check_role(await get_actor(request, database, settings), RECORDERS)
    async with database.admission.turn():
        # The path's session id, read here rather than as a parameter: as one, a malformed id
        # would be refused (422) before the caller is known (401). The route refuses it after.
        session_id = _row_id_or_none(request.path_params.get("session_id"))
        if actor.role is Role.TRAINER and session_id is not None:
            ref = await run_in_threadpool(_ref_apart, database, session_id)
            check_may_see(actor, ref.simulated)
        yield Recording(actor, database, settings)


_ROW_ID: TypeAdapter[int] = TypeAdapter(RowId)


def _row_id_or_none(value: object) -> int | None:
    try:
        return _ROW_ID.validate_python(value)
    except ValidationError:
        return None


def _ref_apart(database: Database, session_id: int) -> SessionRef:
    with database.unit_of_work(write=False) as db:
        return find_ref(db, session_id)


ReadingRecorder = Annotated[Recording, Depends(recording, scope="function")]


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
