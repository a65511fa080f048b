"""Who a credential belongs to, remembered for a few seconds so a monitor posting every second
does not look its token up every second.

Revoking a token, signing out, disabling or changing an account in this process clears it at
once: every flush or UPDATE/DELETE statement that changes an account, a browser sign-in (other
than noting its use) or a token clears it, and so does the commit that follows (a look-up that
read the old row between the two cannot store it: see `generation`). A change made by another
process (another worker, the command line) is seen within `TTL_SECONDS`; a token's expiry and a
sign-in's idle limit are seen to the second (an entry never outlives them).
"""

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from backend.users.models import ApiToken, BrowserLogin, User

TTL_SECONDS = 5.0
MOST_ENTRIES = 4096
_CHANGED = "vigil.credentials_changed"
# Noting that a credential was used is not a change to what it lets in.
_USE_COLUMNS = {BrowserLogin: {"last_seen_at"}, ApiToken: {"last_used_at"}, User: {"last_login_at"}}


@dataclass(frozen=True)
class _Entry:
    value: Any
    until: float  # monotonic


class CredentialCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.generation = 0  # bumped by every clear: a look-up begun before one is not stored

    @staticmethod
    def key(scheme: str, credential: str) -> str:
        return hashlib.sha256(f"{scheme}\0{credential}".encode()).hexdigest()

    def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry.until:
            self._entries.pop(key, None)
            return None
        return entry.value

    def put(self, key: str, value: Any, generation: int, *, at_most: float = TTL_SECONDS) -> None:
        """Remember `value` for TTL_SECONDS (or `at_most`, if sooner), unless the cache was
        cleared since `generation` was read."""
        with self._lock:
            if generation != self.generation or at_most <= 0:
                return
            now = self._clock()
            if len(self._entries) >= MOST_ENTRIES:
                self._entries = {k: e for k, e in self._entries.items() if e.until > now}
                if len(self._entries) >= MOST_ENTRIES:
                    self._entries.clear()
            self._entries[key] = _Entry(value, now + min(TTL_SECONDS, at_most))

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


CACHE = CredentialCache()


def _changes_credentials(db: Session) -> bool:
    for obj in db.deleted:
        if isinstance(obj, (User, BrowserLogin, ApiToken)):
            return True
    for obj in db.dirty:
        kind = type(obj)
        if kind not in _USE_COLUMNS:
            continue
        state = inspect(obj)
        for attr in state.attrs:
            if attr.key not in _USE_COLUMNS[kind] and attr.history.has_changes():
                return True
    return False


@event.listens_for(Session, "after_flush")
def _after_flush(db: Session, _context: Any) -> None:
    if _changes_credentials(db):
        db.info[_CHANGED] = True
        CACHE.clear()


@event.listens_for(Session, "do_orm_execute")
def _bulk_change(state: ORMExecuteState) -> None:
    """An UPDATE or DELETE statement on those tables (not through objects) counts as a change."""
    mapper = state.bind_mapper
    if (
        (state.is_update or state.is_delete)
        and mapper is not None
        and mapper.class_ in _USE_COLUMNS
    ):
        state.session.info[_CHANGED] = True
        CACHE.clear()


@event.listens_for(Session, "after_commit")
def _after_commit(db: Session) -> None:
    if db.info.pop(_CHANGED, False):
        CACHE.clear()


@event.listens_for(Session, "after_rollback")
def _after_rollback(db: Session) -> None:
    if db.info.pop(_CHANGED, False):
        CACHE.clear()
