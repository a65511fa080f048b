"""What the devices API takes and answers."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from backend.core.fields import RowId
from backend.core.schema import Schema
from backend.devices.rules import eui64_error, normal_eui64


def _eui64(value: str) -> str:
    problem = eui64_error(value)
    if problem:
        raise PydanticCustomError("eui64", problem)
    return normal_eui64(value)


Eui64 = Annotated[str, AfterValidator(_eui64)]
"""A device's EUI-64 in a path: 16 hex digits, either case (kept in upper case)."""


class DeviceBind(Schema):
    chair_id: RowId | None = Field(
        description="The chair the device is at (its readings go to the session there); "
        "null to unbind it (its messages are then kept until it is bound again)"
    )


class LastValue(Schema):
    value: float
    taken_at: datetime = Field(description="When the device measured it")


class DevicePlace(Schema):
    chair_id: int
    chair: str
    room: str
    site: str
    session_id: int | None = Field(description="The open session on the chair, if any")
    simulated: bool | None = Field(description="Whether that session is a drill")


class DevicePublic(Schema):
    eui64: str
    label: str | None = Field(description="What the device's messages say it is")
    place: DevicePlace | None = Field(description="The chair it is bound to; null: not bound")
    routed: DevicePlace | None = Field(
        default=None,
        description="Not bound: the chair its last message's bed (PV1-3) named, whose session "
        "that message fed; null when bound, or when its last message was kept",
    )
    bound_at: datetime | None
    bound_by: str | None
    first_seen_at: datetime
    last_seen_at: datetime = Field(description="When its latest message arrived")
    last_sender: str = Field(description="The sending application and facility (MSH-3, MSH-4)")
    last_values: dict[str, LastValue] = Field(description="Each vital's newest value")
    messages: int = Field(description="Messages received from it")
    skipped: dict[str, int] = Field(
        description="Rows counted but not stored as vitals, by reason: device_row, invalid, "
        "test, unknown_code, unknown_unit, not_numeric"
    )
    kept: int = Field(description="Messages waiting for it to be bound to a chair")


class SenderKeptPublic(Schema):
    sender: str
    kept: int
    last_received_at: datetime


class DeviceList(Schema):
    devices: list[DevicePublic] = Field(description="The most recently heard first")
    senders_without_device: list[SenderKeptPublic] = Field(
        description="Messages kept under a sender that named no device (no EUI-64 in OBX-18 "
        "or MSH-3) and no configured bed: configure the gateway to send one"
    )
    server_time: datetime


class BindResult(Schema):
    device: DevicePublic
    attached_messages: int = Field(
        description="Kept messages whose readings were added to the chair's open session"
    )
    stored_readings: int
    still_kept: int = Field(description="Messages still waiting (from outside the session)")
