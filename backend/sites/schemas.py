"""Bodies of the sites and chairs API."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from backend.core.fields import RowId
from backend.core.schema import Schema
from backend.sites.rules import tidy

ChairName = Annotated[
    str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True), AfterValidator(tidy)
]
PlaceName = Annotated[
    str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True), AfterValidator(tidy)
]
Position = Annotated[int, Field(ge=0, le=10_000)]


class SiteCreate(Schema):
    name: PlaceName = Field(description="The site as the clinic calls it, e.g. 'Riverside clinic'")


class PlaceUpdate(Schema):
    name: PlaceName | None = None
    active: bool | None = Field(
        default=None,
        description="false retires it: no new session starts there; true brings it back",
    )


class RoomCreate(Schema):
    name: PlaceName = Field(description="e.g. 'Main room', 'Bay 2'")


class ChairCreate(Schema):
    room_id: RowId
    name: ChairName = Field(
        description="Unique within its room however it is spelt ('chair 7 ' is 'Chair 7')"
    )
    position: Position | None = Field(
        default=None, description="Where it comes in the room's list; after the others if omitted"
    )


class ChairUpdate(Schema):
    name: ChairName | None = None
    room_id: RowId | None = Field(default=None, description="Move it to another room")
    position: Position | None = None
    active: bool | None = Field(
        default=None,
        description="false retires it (kept for the record; no new session starts on it); "
        "true brings it back",
    )


class ChairPublic(Schema):
    id: int
    name: str
    position: int
    active: bool = Field(description="The chair itself is in use (not retired)")
    in_service: bool = Field(description="A session may start here: chair, room and site in use")
    room_id: int
    room: str
    site_id: int
    site: str


class Occupant(Schema):
    session_id: int | None = Field(
        description="The open session on the chair (null when it is a patient's and you may "
        "see simulated sessions only)"
    )
    simulated: bool = Field(description="true: a drill; false: a patient")


class ChairStatus(ChairPublic):
    occupied_by: Occupant | None = Field(description="The open session on it; null when free")


class RoomPublic(Schema):
    id: int
    site_id: int
    name: str
    active: bool
    chairs: list[ChairPublic]


class SitePublic(Schema):
    id: int
    name: str
    active: bool
    rooms: list[RoomPublic]
