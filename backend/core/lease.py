"""A lease in the database: which one process of a cluster runs a singleton (the alarm clock).

One row per singleton in `leases`: who holds it and until when. The holder renews it every few
seconds; once it has lapsed (its holder died or lost the database) any process may take it.
Taking and renewing are one compare-and-set UPDATE (`WHERE holder = me OR expires_at < now`):
PostgreSQL re-checks that condition on the row a concurrent winner just wrote, and SQLite has
one writer at a time, so two processes can never both come out of it holding the lease.

Expiry is judged on each process's own clock: the hosts of a cluster keep time by NTP, and the
lease outlasts any skew they tolerate by seconds. What runs under a lease must still be safe
to run twice at once (the alarm clock is: see alerts/ticker.py): the lease saves the doubled
work, it is not the only guard.
"""

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.core.database import Base, Database

log = logging.getLogger(__name__)

ALARM_CLOCK = "alarm-clock"
NEVER_HELD = datetime(1970, 1, 1, tzinfo=UTC)  # a new lease's expiry: free to take at once


class LeaseRow(Base):
    """One singleton's lease; `term` counts its holders, so a takeover is visible afterwards."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime]
    taken_at: Mapped[datetime]
    term: Mapped[int]


def process_name() -> str:
    """Who holds a lease, as an operator reads it: host, process id and a random suffix (a
    process id is reused after a restart; the suffix tells the two lives apart)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_hold(db: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease `name` for `holder` until `now + ttl`; whether it is held.

    One UPDATE decides: it matches only if `holder` holds the lease already or the lease has
    lapsed. The row is made the first time a lease is asked for (a conflicting insert from
    another process is ignored, and the UPDATE then decides between them)."""
    dialect = db.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.execute(
        insert(LeaseRow)
        .values(name=name, holder="", expires_at=NEVER_HELD, taken_at=NEVER_HELD, term=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    taken = LeaseRow.holder != holder
    result = db.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name)
        .where((LeaseRow.holder == holder) | (LeaseRow.expires_at < now))
        .values(
            holder=holder,
            expires_at=now + ttl,
            taken_at=case((taken, now), else_=LeaseRow.taken_at),
            term=case((taken, LeaseRow.term + 1), else_=LeaseRow.term),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release(db: Session, name: str, holder: str, now: datetime) -> None:
    """Give the lease up at once (a clean shutdown): the next process takes it on its next try
    instead of waiting for it to lapse."""
    db.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name, LeaseRow.holder == holder)
        .values(expires_at=now - timedelta(microseconds=1))
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Holding:
    name: str
    holder: str
    expires_at: datetime
    taken_at: datetime
    term: int


def holding(db: Session, name: str) -> Holding | None:
    row = db.scalar(select(LeaseRow).where(LeaseRow.name == name))
    if row is None or not row.holder:
        return None
    return Holding(row.name, row.holder, row.expires_at, row.taken_at, row.term)


class Lease:
    """This process's hold on one lease, asked about on every pass of the singleton's loop.

    `keep(now)` renews at most every `renew_s` seconds (a contender tries as often); between
    renewals it answers from what the last one granted. The holder counts on the lease only
    until the expiry it wrote itself, so a holder cut off from the database stops acting by
    then, as another may take over from that instant on."""

    def __init__(
        self, database: Database, name: str, ttl_s: float, renew_s: float, holder: str = ""
    ) -> None:
        self._database = database
        self.name = name
        self.holder = holder or process_name()
        self._ttl = timedelta(seconds=ttl_s)
        self.renew_s = renew_s
        self._renew = timedelta(seconds=renew_s)
        self._asked: datetime | None = None  # when the database was last asked
        self._until: datetime | None = None  # held until then, by this process's own writing

    def keep(self, now: datetime) -> bool:
        """Whether this process holds the lease at `now`, renewing or taking it when due."""
        if self._asked is None or now - self._asked >= self._renew or now < self._asked:
            self._asked = now
            was_held = self.held(now)
            try:
                with self._database.unit_of_work(write=True) as db:
                    won = try_hold(db, self.name, self.holder, now, self._ttl)
            except Exception:
                # Still ours until the expiry last written: nobody may take it before then.
                log.warning("could not renew the %s lease; trying again", self.name, exc_info=True)
            else:
                self._until = now + self._ttl if won else None
                if won and not was_held:
                    log.warning("%s lease taken by %s", self.name, self.holder)
                elif was_held and not won:
                    log.warning("%s lease lost by %s", self.name, self.holder)
        return self.held(now)

    def held(self, now: datetime) -> bool:
        return self._until is not None and now < self._until

    def release(self, now: datetime) -> None:
        if self._until is None:
            return
        self._until = None
        with self._database.unit_of_work(write=True) as db:
            release(db, self.name, self.holder, now)
