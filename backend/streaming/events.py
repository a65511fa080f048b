"""The event as it travels on the bus and over the wire."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Events every subscriber receives, including one watching a single session: a nurse looking at
# one chair must still see and hear another chair's alarm the moment it is raised, and a
# profile's new limits (which carry no session) must reach the pages of its sessions.
WARD_WIDE_KINDS = frozenset({"alert.changed", "limits.changed"})

# A reading as the API shows it (readings.schemas.ReadingPublic, in its order; a test keeps the
# two alike). Most of a stored reading's fields are null (a monitor sends two or four vitals of
# nine, and nothing is entered in error yet), so its events are stored without their nulls and
# get them back on the way out: the wire carries every field, as the API's reading does, and the
# event log takes about 40 % less room (issue 18 item 5).
READING_FIELDS = (
    "id",
    "session_id",
    "taken_at",
    "received_at",
    "source",
    "entered_by",
    "heart_rate",
    "systolic",
    "diastolic",
    "spo2",
    "respiratory_rate",
    "temperature",
    "consciousness",
    "sedation",
    "on_oxygen",
    "entered_in_error_at",
    "entered_in_error_by",
    "entered_in_error_reason",
)
STORED_WITHOUT_NULLS: dict[str, tuple[str, ...]] = {
    "reading.created": READING_FIELDS,
    "reading.entered_in_error": READING_FIELDS,
}


def stored_form(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """What the event log keeps of an event's data."""
    if kind not in STORED_WITHOUT_NULLS:
        return data
    return {key: value for key, value in data.items() if value is not None}


def wire_form(kind: str, stored: dict[str, Any]) -> dict[str, Any]:
    """An event's data as subscribers receive it, from what the log kept."""
    fields = STORED_WITHOUT_NULLS.get(kind)
    if fields is None:
        return stored
    return {**dict.fromkeys(fields), **stored}


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
