"""Devices that send vitals (bedside monitors, gateways' channels) and the messages they sent.

A device is known by its EUI-64. Its counters and last values are kept on its row, updated as
each message is stored, so the Devices page reads one row per device and never scans messages.
A message is kept whole (its observations as JSON) whether its readings went to a session or it
waits for the device to be bound, for `device_message_retention_hours` (devices/retention.py).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base
from backend.devices.rules import CONTROL_ID_LENGTH, SENDER_LENGTH

EUI64_LENGTH = 16
BED_LENGTH = 250
LABEL_LENGTH = 120
VERSION_LENGTH = 8


class Device(Base):
    __tablename__ = "devices"

    eui64: Mapped[str] = mapped_column(String(EUI64_LENGTH), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(LABEL_LENGTH))
    # One chair at a time; a chair may hold several (a monitor and a separate oximeter or cuff).
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("chairs.id"), index=True)
    bound_at: Mapped[datetime | None]
    bound_by: Mapped[str | None] = mapped_column(String(80))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(index=True)
    last_sender: Mapped[str] = mapped_column(String(SENDER_LENGTH))
    # {vital: {"value": number, "taken_at": ISO 8601}}: the newest value of each, as measured.
    last_values: Mapped[dict[str, Any]] = mapped_column(JSON)
    messages: Mapped[int] = mapped_column(default=0)
    # {Skip value: rows}: observation rows counted, not stored as vitals (device rows, tests...).
    skipped: Mapped[dict[str, int]] = mapped_column(JSON)
    kept: Mapped[int] = mapped_column(default=0)  # messages waiting for the device to be bound
    # Bound to no chair: the chair its last message's bed (PV1-3) named and fed the session of
    # (a gateway that names beds, the simulator's monitors); None when it was kept or bound.
    routed_chair_id: Mapped[int | None] = mapped_column(ForeignKey("chairs.id"))


class DeviceMessage(Base):
    __tablename__ = "device_messages"
    __table_args__ = (
        # The resend key: a sender's control id is stored once, whichever process sees it first.
        UniqueConstraint("sender", "control_id", name="uq_device_messages_sender_control_id"),
        # A device's kept messages in the order they were measured (the bind's backfill), and
        # those of no device (device_eui NULL) for the Devices page.
        Index("ix_device_messages_device_kept", "device_eui", "session_id", "taken_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(SENDER_LENGTH))
    control_id: Mapped[str] = mapped_column(String(CONTROL_ID_LENGTH))
    device_eui: Mapped[str | None] = mapped_column(ForeignKey("devices.eui64"))
    version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    bed: Mapped[str | None] = mapped_column(String(BED_LENGTH))
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(index=True)
    # When its earliest and latest vitals were measured (None: it carried none).
    taken_from: Mapped[datetime | None]
    taken_to: Mapped[datetime | None]
    # [{vital, value, taken_at, mdc_code, mdc_name, unit, segment}], as the report gave them.
    observations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    skipped: Mapped[dict[str, int]] = mapped_column(JSON)
    # Where its readings went; None while it is kept for a device bound to no chair.
    session_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_sessions.id"), index=True)
    attached_at: Mapped[datetime | None]  # set when a bind attached a kept message later
