"""The event as it travels on the bus and over the wire."""

import json
from dataclasses import dataclass, field
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
    # The JSON text frame, made once by the first subscriber to send it: the same text then goes
    # to every subscriber (500 ward screens cost one serialization, not 500).
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    def wire_text(self) -> str:
        text = self._text
        if text is None:
            text = json.dumps(self.to_wire())
            # Frozen for everything a subscriber could see; this is a cache of what they see.
            object.__setattr__(self, "_text", text)
        return text

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "event",
            "cursor": str(self.seq),
            "kind": self.kind,
            "session_id": self.session_id,
            "at": self.at.isoformat(),
            "data": self.data,
        }
