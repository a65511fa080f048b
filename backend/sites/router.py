"""Sites, rooms and chairs: anyone signed in reads them (pickers, the ward's filter); admins
configure them. The chair list with who is on each chair is composed in backend/views."""

from fastapi import APIRouter

from backend.core.dependencies import SessionDep
from backend.core.fields import RowId
from backend.sites import service
from backend.sites.schemas import (
    ChairCreate,
    ChairPublic,
    ChairUpdate,
    PlaceUpdate,
    RoomCreate,
    RoomPublic,
    SiteCreate,
    SitePublic,
)
from backend.users.auth import AdminActor, CurrentActor

router = APIRouter(tags=["sites and chairs"])


def _site(db: SessionDep, site_id: int) -> SitePublic:
    return next(s for s in service.list_sites(db) if s.id == site_id)


def _room(db: SessionDep, room_id: int) -> RoomPublic:
    return next(r for s in service.list_sites(db) for r in s.rooms if r.id == room_id)


@router.get("/api/sites", summary="Sites with their rooms and chairs (retired ones marked)")
def list_sites(_: CurrentActor, db: SessionDep) -> list[SitePublic]:
    return service.list_sites(db)


@router.post("/api/sites", status_code=201, summary="Add a site (admin)")
def create_site(body: SiteCreate, _: AdminActor, db: SessionDep) -> SitePublic:
    return _site(db, service.create_site(db, body).id)


@router.patch("/api/sites/{site_id}", summary="Rename, retire or bring back a site (admin)")
def update_site(site_id: RowId, body: PlaceUpdate, _: AdminActor, db: SessionDep) -> SitePublic:
    return _site(db, service.update_site(db, site_id, body).id)


@router.post("/api/sites/{site_id}/rooms", status_code=201, summary="Add a room to a site (admin)")
def create_room(site_id: RowId, body: RoomCreate, _: AdminActor, db: SessionDep) -> RoomPublic:
    return _room(db, service.create_room(db, site_id, body).id)


@router.patch(
    "/api/sites/{site_id}/rooms/{room_id}", summary="Rename, retire or bring back a room (admin)"
)
def update_room(
    site_id: RowId, room_id: RowId, body: PlaceUpdate, _: AdminActor, db: SessionDep
) -> RoomPublic:
    return _room(db, service.update_room(db, site_id, room_id, body).id)


@router.post("/api/chairs", status_code=201, summary="Add a chair to a room (admin)")
def create_chair(body: ChairCreate, _: AdminActor, db: SessionDep) -> ChairPublic:
    return service.chair_public(service.create_chair(db, body))


@router.patch(
    "/api/chairs/{chair_id}", summary="Rename, move, reorder, retire or bring back a chair (admin)"
)
def update_chair(chair_id: RowId, body: ChairUpdate, _: AdminActor, db: SessionDep) -> ChairPublic:
    return service.chair_public(service.update_chair(db, chair_id, body))
