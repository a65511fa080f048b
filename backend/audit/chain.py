"""The hash chain, pure: how an event is serialised and hashed, and how a chain is checked."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class Link:
    """What the hash covers: every column of an event but its own hash."""

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
    prev_hash: str


def canonical(link: Link) -> bytes:
    """One byte string per event, the same on every database and Python: sorted keys, no
    spaces, UTC time to the microsecond (both databases keep microseconds)."""
    fields = {
        "id": link.id,
        "at": link.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_kind": link.actor_kind,
        "actor_name": link.actor_name,
        "actor_role": link.actor_role,
        "action": link.action,
        "address": link.address,
        "patient_id": link.patient_id,
        "session_id": link.session_id,
        "target": link.target,
        "detail": link.detail,
        "prev_hash": link.prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def hash_of(link: Link) -> str:
    return hashlib.sha256(canonical(link)).hexdigest()


@dataclass(frozen=True)
class Break:
    """Where the chain stops holding, and what that means."""

    id: int
    reason: str


class ChainCheck:
    """Walks a chain fed in order, batch by batch, remembering only the last event seen."""

    def __init__(self) -> None:
        self.count = 0
        self.last_id = 0
        self.last_hash = GENESIS

    def feed(self, events: Iterable[tuple[Link, str]]) -> Break | None:
        """Check the next events, each a (link, stored hash); the first break, if any."""
        for link, stored in events:
            if link.prev_hash != self.last_hash:
                if link.id != self.last_id + 1:
                    reason = (
                        f"event {link.id} follows event {self.last_id or 'none'}: "
                        "events between them were deleted, or this one was inserted"
                    )
                else:
                    reason = (
                        f"event {link.id} does not follow event {self.last_id or 'none'}: "
                        "one of them was changed, or this one was inserted"
                    )
                return Break(link.id, reason)
            if link.id != self.last_id + 1:
                return Break(
                    link.id, f"event {link.id} follows event {self.last_id}: numbering broken"
                )
            if hash_of(link) != stored:
                return Break(link.id, f"event {link.id} was changed after it was recorded")
            self.count += 1
            self.last_id = link.id
            self.last_hash = stored
        return None

    def end(self, head_id: int, head_hash: str) -> Break | None:
        """The chain as walked must end where its head says it does."""
        if self.last_id < head_id:
            return Break(
                self.last_id + 1,
                f"the chain ends at event {self.last_id} but its head says {head_id}: "
                "events at its end were deleted",
            )
        if self.last_hash != head_hash:
            return Break(self.last_id, f"event {self.last_id}, the last, was changed")
        return None
