"""Configuring sites, rooms and chairs, and finding the chair a session starts on."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from backend.core.database import add_unique
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.timeutil import utcnow
from backend.sites import rules
from backend.sites.models import Chair, Room, Site
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


def _order(chair: Chair) -> tuple[object, ...]:
    room, site = chair.room, chair.room.site
    return (
        rules.natural_key(site.name),
        site.id,
        rules.natural_key(room.name),
        room.id,
        chair.position,
        rules.natural_key(chair.name),
        chair.id,
    )


def chair_public(chair: Chair) -> ChairPublic:
    return ChairPublic(
        id=chair.id,
        name=chair.name,
        position=chair.position,
        active=chair.active,
        in_service=chair.in_service,
        room_id=chair.room_id,
        room=chair.room.name,
        site_id=chair.room.site_id,
        site=chair.room.site.name,
    )


# ---- reading ----------------------------------------------------------------------------------


def list_sites(db: Session) -> list[SitePublic]:
    """Every site with its rooms and their chairs (retired ones too, marked), in display order."""
    sites = db.scalars(
        select(Site).options(selectinload(Site.rooms).selectinload(Room.chairs))
    ).all()
    return [
        SitePublic(
            id=site.id,
            name=site.name,
            active=site.active,
            rooms=[
                RoomPublic(
                    id=room.id,
                    site_id=site.id,
                    name=room.name,
                    active=room.active,
                    chairs=[chair_public(c) for c in sorted(room.chairs, key=_order)],
                )
                for room in sorted(site.rooms, key=lambda r: (rules.natural_key(r.name), r.id))
            ],
        )
        for site in sorted(sites, key=lambda s: (rules.natural_key(s.name), s.id))
    ]


def list_chairs(
    db: Session,
    *,
    site_id: int | None = None,
    room_id: int | None = None,
    include_retired: bool = False,
) -> list[Chair]:
    """Chairs in display order: by site, room, the room's order, then name as people read it."""
    query = select(Chair).join(Room)
    if site_id is not None:
        query = query.where(Room.site_id == site_id)
    if room_id is not None:
        query = query.where(Chair.room_id == room_id)
    chairs = [c for c in db.scalars(query) if include_retired or c.in_service]
    return sorted(chairs, key=_order)


def get_site(db: Session, site_id: int) -> Site:
    site = db.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site with id {site_id}")
    return site


def get_room(db: Session, room_id: int, *, site_id: int | None = None) -> Room:
    room = db.get(Room, room_id)
    if room is None or (site_id is not None and room.site_id != site_id):
        raise NotFound(f"no room with id {room_id}" + (f" in site {site_id}" if site_id else ""))
    return room


def get_chair(db: Session, chair_id: int) -> Chair:
    chair = db.get(Chair, chair_id)
    if chair is None:
        raise NotFound(f"no chair with id {chair_id}")
    return chair


def resolve(db: Session, chair_id: int | None, name: str | None) -> Chair:
    """The configured chair a session starts on: by `chair_id` (preferred) or by `chair`, a
    configured chair's name however it is spelt. Unknown, retired or ambiguous: a 422 naming
    the field."""
    if chair_id is not None:
        chair = db.get(Chair, chair_id)
        if chair is None:
            raise InvalidInput(
                ("body", "chair_id"), "no chair with this id (GET /api/chairs lists them)", chair_id
            )
        if not chair.in_service:
            raise InvalidInput(
                ("body", "chair_id"),
                f"{chair.name} ({chair.place}) is retired: start the session on a chair in use",
                chair_id,
            )
        if name is not None and rules.name_key(name) != chair.name_key:
            raise InvalidInput(
                ("body", "chair"),
                f"chair_id {chair_id} is {chair.name}, not {name!r}: give one of them",
                name,
            )
        return chair
    if name is None:
        raise InvalidInput(
            ("body", "chair_id"),
            "give the chair: chair_id (GET /api/chairs lists them) or chair, its name",
        )
    same = db.scalars(select(Chair).where(Chair.name_key == rules.name_key(name))).all()
    found = rules.match(name, [rules.Candidate(c.id, c.name, c.place, c.in_service) for c in same])
    if isinstance(found, str):
        raise InvalidInput(("body", "chair"), found, name)
    return next(c for c in same if c.id == found.chair_id)


# ---- configuring (admin) ---------------------------------------------------------------------


def create_site(db: Session, body: SiteCreate) -> Site:
    site = Site(name=body.name, name_key=rules.name_key(body.name), created_at=utcnow())
    _refuse_taken_site(db, site.name_key, body.name, None)
    add_unique(db, site, f"a site named {body.name!r} already exists")
    return site


def _refuse_taken_site(db: Session, key: str, name: str, own_id: int | None) -> None:
    taken = db.scalar(select(Site.id).where(Site.name_key == key, Site.id != (own_id or 0)))
    if taken is not None:
        raise Conflict(f"a site named {name!r} already exists")


def update_site(db: Session, site_id: int, body: PlaceUpdate) -> Site:
    site = get_site(db, site_id)
    if body.name is not None:
        _refuse_taken_site(db, rules.name_key(body.name), body.name, site.id)
        site.name, site.name_key = body.name, rules.name_key(body.name)
    if body.active is not None:
        site.active = body.active
    _flush(db, f"a site named {site.name!r} already exists")
    return site


def create_room(db: Session, site_id: int, body: RoomCreate) -> Room:
    site = get_site(db, site_id)
    room = Room(
        site_id=site.id, name=body.name, name_key=rules.name_key(body.name), created_at=utcnow()
    )
    _refuse_taken_room(db, site, room.name_key, body.name, None)
    add_unique(db, room, f"{site.name} already has a room named {body.name!r}")
    return room


def _refuse_taken_room(db: Session, site: Site, key: str, name: str, own_id: int | None) -> None:
    taken = db.scalar(
        select(Room.id).where(
            Room.site_id == site.id, Room.name_key == key, Room.id != (own_id or 0)
        )
    )
    if taken is not None:
        raise Conflict(f"{site.name} already has a room named {name!r}")


def update_room(db: Session, site_id: int, room_id: int, body: PlaceUpdate) -> Room:
    room = get_room(db, room_id, site_id=site_id)
    if body.name is not None:
        _refuse_taken_room(db, room.site, rules.name_key(body.name), body.name, room.id)
        room.name, room.name_key = body.name, rules.name_key(body.name)
    if body.active is not None:
        room.active = body.active
    _flush(db, f"{room.site.name} already has a room named {room.name!r}")
    return room


def _refuse_taken_chair(db: Session, room: Room, name: str, own_id: int | None) -> None:
    taken = db.scalar(
        select(Chair.name).where(
            Chair.room_id == room.id,
            Chair.name_key == rules.name_key(name),
            Chair.id != (own_id or 0),
        )
    )
    if taken is not None:
        raise Conflict(
            f"{room.name} already has {taken}: a chair's name is unique within its room, "
            "whatever its capitals and spaces"
        )


def _room_for_chair(db: Session, room_id: int) -> Room:
    room = db.get(Room, room_id)
    if room is None:
        raise InvalidInput(("body", "room_id"), "no room with this id", room_id)
    return room


def create_chair(db: Session, body: ChairCreate) -> Chair:
    room = _room_for_chair(db, body.room_id)
    _refuse_taken_chair(db, room, body.name, None)
    position = body.position
    if position is None:
        last = db.scalar(select(func.max(Chair.position)).where(Chair.room_id == room.id))
        position = 0 if last is None else last + 1
    chair = Chair(
        room_id=room.id,
        name=body.name,
        name_key=rules.name_key(body.name),
        position=position,
        created_at=utcnow(),
    )
    chair.room = room
    add_unique(db, chair, f"{room.name} already has a chair named {body.name!r}")
    return chair


def update_chair(db: Session, chair_id: int, body: ChairUpdate) -> Chair:
    """Rename, move, reorder or retire a chair. Sessions already held there keep the name they
    were held under (their record's copy); a session running on a retired chair runs on."""
    chair = get_chair(db, chair_id)
    room = _room_for_chair(db, body.room_id) if body.room_id is not None else chair.room
    name = body.name if body.name is not None else chair.name
    _refuse_taken_chair(db, room, name, chair.id)
    chair.name, chair.name_key = name, rules.name_key(name)
    if room.id != chair.room_id:
        chair.room = room
    if body.position is not None:
        chair.position = body.position
    if body.active is not None:
        chair.active = body.active
    _flush(db, f"{room.name} already has a chair named {name!r}")
    return chair


def _flush(db: Session, conflict: str) -> None:
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise Conflict(conflict) from None
