"""The audit trail on the wire."""

from datetime import datetime
from typing import Any

from backend.core.schema import Schema


class AuditEventPublic(Schema):
    id: int
    at: datetime
    actor_kind: str
    actor_name: str | None
    actor_role: str | None
    action: str
    address: str | None
    patient_id: int | None
    session_id: int | None
    target: str | None
    detail: dict[str, Any] | None
    hash: str


class AuditPage(Schema):
    items: list[AuditEventPublic]
    next_before: int | None = None  # pass as `before` for the next (older) page; None: the last
