"""The chairs as a picker shows them: each configured chair with the open session on it, if any
(the sites domain knows the chairs, the sessions domain who sits in them)."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.core.dependencies import SessionDep
from backend.core.fields import RowId
from backend.core.roles import Role
from backend.sessions.service import open_on_chairs
from backend.sites.schemas import ChairStatus, Occupant
from backend.sites.service import chair_public, list_chairs
from backend.users.auth import CurrentActor

router = APIRouter(tags=["sites and chairs"])


@router.get("/api/chairs", summary="Chairs in display order, each with the open session on it")
def chairs(
    actor: CurrentActor,
    db: SessionDep,
    site_id: Annotated[RowId | None, Query(description="Only this site's chairs")] = None,
    room_id: Annotated[RowId | None, Query(description="Only this room's chairs")] = None,
    include_retired: Annotated[
        bool, Query(description="Also chairs, rooms and sites retired from service")
    ] = False,
) -> list[ChairStatus]:
    held = open_on_chairs(db)
    # A trainer learns that a patient holds a chair, never which session is theirs.
    hide_real = actor.role is Role.TRAINER
    result = []
    for chair in list_chairs(db, site_id=site_id, room_id=room_id, include_retired=include_retired):
        occupant = None
        if chair.id in held:
            session_id, simulated = held[chair.id]
            occupant = Occupant(
                session_id=None if hide_real and not simulated else session_id,
                simulated=simulated,
            )
        result.append(ChairStatus(**chair_public(chair).model_dump(), occupied_by=occupant))
    return result
