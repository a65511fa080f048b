"""The event as it travels on the bus and over the wire."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Events every subscriber receives, including one watching a single session: a nurse looking at
# one chair must still see and hear another chair's alarm the moment it is raised, and a
# profile's new limits (which carry no session) must reach the pages of its sessions.
WARD_WIDE_KINDS = frozenset({"alert.changed", "limits.changed"})


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    kind: str
    session_id: int | None
    data: dict[str, Any]
    at: datetime

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "event",
            "cursor": str(self.seq),
            "kind": self.kind,
            "session_id": self.session_id,
            "at": self.at.isoformat(),
            "data": self.data,
        }
