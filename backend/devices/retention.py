"""Device messages are kept for `device_message_retention_hours`, then pruned: they are the
transport's log, not the record.

A message's readings are stored as readings (with their own idempotent ids, so a resend after
its message went is still stored once); what the message row adds is the resend key, the raw
report for troubleshooting, and, for a device bound to no chair, the readings waiting for a
nurse to bind it. At one message a second a monitor sends 3,600 a hour, each with its
observations as JSON: kept for ever, they would outgrow the record itself.

Pruning is a pass of the pruner (core/housekeeping.py), oldest received first, in bounded
batches. A batch locks the devices whose kept messages it deletes (in one order, as a message
and a bind lock their device first) and takes them off each device's `kept` count.
"""

from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from backend.core.database import Database
from backend.core.housekeeping import Pruned, in_batches
from backend.devices.models import Device, DeviceMessage


def prune_batch(db: Session, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` of the oldest messages received before `cutoff`; how many went."""
    rows = db.execute(
        select(DeviceMessage.id, DeviceMessage.device_eui)
        .where(DeviceMessage.received_at < cutoff)
        .order_by(DeviceMessage.received_at)
        .limit(batch)
    ).all()
    if not rows:
        return 0
    ids = [row.id for row in rows]
    devices = sorted({row.device_eui for row in rows if row.device_eui is not None})
    if devices:
        # Locked before the kept ones are counted: a bind attaching them meanwhile has finished.
        db.execute(
            select(Device.eui64)
            .where(Device.eui64.in_(devices))
            .order_by(Device.eui64)
            .with_for_update()
        ).all()
        kept = db.execute(
            select(DeviceMessage.device_eui, func.count())
            .where(DeviceMessage.id.in_(ids), DeviceMessage.session_id.is_(None))
            .where(DeviceMessage.device_eui.is_not(None))
            .group_by(DeviceMessage.device_eui)
        ).all()
        for eui64, count in kept:
            db.execute(
                update(Device)
                .where(Device.eui64 == eui64)
                .values(kept=case((Device.kept > count, Device.kept - count), else_=0))
                .execution_options(synchronize_session=False)
            )
    result = db.execute(
        delete(DeviceMessage)
        .where(DeviceMessage.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def prune(
    database: Database,
    now: datetime,
    retention: timedelta,
    *,
    batch: int,
    max_batches: int,
    pause: float = 0.0,
) -> Pruned:
    """One bounded pass: delete messages received more than `retention` before `now`."""
    cutoff = now - retention
    return in_batches(
        database,
        lambda db: prune_batch(db, cutoff, batch),
        batch=batch,
        max_batches=max_batches,
        pause=pause,
    )
