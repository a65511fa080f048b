"""Devices: the list a nurse or clinic IT reads (each device, its chair, last values, what it
keeps waiting), and binding a device to a chair. Nurses and admins bind; staff, who set chairs
up for sessions, may read the list to see whether a monitor feeds a chair. Trainers see none of
it: devices carry real patients' values.

The list names chairs, never patients, like a central station's device view; binding is on the
audit trail with the session its backfill went to."""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from backend import flows
from backend.audit import service as audit
from backend.core.actor import Actor
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.roles import Role
from backend.core.timeutil import utcnow
from backend.devices import service
from backend.devices.schemas import (
    BindResult,
    DeviceBind,
    DeviceList,
    DevicePlace,
    DevicePublic,
    Eui64,
    LastValue,
    SenderKeptPublic,
)
from backend.users.auth import require_person, require_role

router = APIRouter(prefix="/api/devices", tags=["devices"])

_readers = require_role(Role.NURSE, Role.STAFF)
_binders = require_role(Role.NURSE)


# People only: a gateway's token sends readings; it has no business with the clinic's devices.
async def _reader(actor: Annotated[Actor, Depends(_readers)]) -> Actor:
    return await require_person(actor)


async def _binder(actor: Annotated[Actor, Depends(_binders)]) -> Actor:
    return await require_person(actor)


ReaderActor = Annotated[Actor, Depends(_reader)]
BinderActor = Annotated[Actor, Depends(_binder)]
EuiPath = Annotated[Eui64, Path(description="The device's EUI-64: 16 hexadecimal digits")]


def _place(place: service.Place | None) -> DevicePlace | None:
    return DevicePlace(**vars(place)) if place is not None else None


def _public(listed: service.Listed) -> DevicePublic:
    device = listed.device
    return DevicePublic(
        eui64=device.eui64,
        label=device.label,
        place=_place(listed.place),
        routed=_place(listed.routed),
        bound_at=device.bound_at,
        bound_by=device.bound_by,
        first_seen_at=device.first_seen_at,
        last_seen_at=device.last_seen_at,
        last_sender=device.last_sender,
        last_values={k: LastValue.model_validate(v) for k, v in device.last_values.items()},
        messages=device.messages,
        skipped=dict(device.skipped),
        kept=device.kept,
    )


@router.get("", summary="Devices with their chair, last values and messages kept waiting")
def list_devices(_: ReaderActor, db: SessionDep) -> DeviceList:
    return DeviceList(
        devices=[_public(item) for item in service.list_devices(db)],
        senders_without_device=[
            SenderKeptPublic(sender=s.sender, kept=s.kept, last_received_at=s.last_received_at)
            for s in service.senders_kept(db)
        ],
        server_time=utcnow(),
    )


@router.put(
    "/{eui64}",
    summary="Bind a device to a chair, or unbind it (nurse, admin); on binding, the messages it "
    "kept during the chair's open session are added to that session",
)
def bind_device(
    eui64: EuiPath,
    body: DeviceBind,
    actor: BinderActor,
    db: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> BindResult:
    bound = flows.bind_device(
        db,
        eui64,
        body.chair_id,
        actor,
        future_tolerance=timedelta(seconds=settings.future_tolerance_seconds),
    )
    listed = service.describe(db, bound.device)
    detail: dict[str, Any] = {
        "chair_id": body.chair_id,
        "previous_chair_id": bound.previous_chair_id,
        "attached_messages": bound.attached_messages,
        "stored_readings": bound.stored_readings,
    }
    session = bound.session
    audit.record(
        db,
        actor,
        "device.bind" if body.chair_id is not None else "device.unbind",
        request=request,
        target=eui64,
        session_id=session.id if session is not None else None,
        patient_id=session.patient_id if session is not None else None,
        detail=detail,
    )
    return BindResult(
        device=_public(listed),
        attached_messages=bound.attached_messages,
        stored_readings=bound.stored_readings,
        still_kept=bound.device.kept,
    )
