"""Slow down password guessing: too many failed sign-ins for one name, or from one address,
within a window lock that name (or address) out until the oldest failure leaves the window.

Failures are rows in the database (`sign_in_failures`), so a restart, or a second worker,
does not hand a guesser a fresh allowance. The address is the client's as uvicorn reports it:
behind a reverse proxy that uvicorn trusts (FORWARDED_ALLOW_IPS), the X-Forwarded-For one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.core.timeutil import utcnow
from backend.users.models import SignInFailure

# Five guesses at a name per five minutes makes a 12-character password unguessable online,
# and a nurse who mistypes five times waits minutes, not hours.
MAX_FAILURES_PER_ACCOUNT = 5
# One address may be a whole clinic behind a NAT: more room, still far from a spraying attack.
MAX_FAILURES_PER_ADDRESS = 20
WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Lockout:
    seconds: int  # until the next try may be made
    reason: str  # "name" or "address"


class LoginThrottle:
    def __init__(
        self,
        max_per_account: int = MAX_FAILURES_PER_ACCOUNT,
        max_per_address: int = MAX_FAILURES_PER_ADDRESS,
        window: timedelta = WINDOW,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.max_per_account = max_per_account
        self.max_per_address = max_per_address
        self.window = window
        self.clock = clock

    def lockout(self, db: Session, username: str, address: str) -> Lockout | None:
        """Whether a sign-in as `username` from `address` must wait, and how long."""
        now = self.clock()
        since = now - self.window
        checks = (
            ("name", SignInFailure.username == key(username), self.max_per_account),
            ("address", SignInFailure.address == address, self.max_per_address),
        )
        longest: Lockout | None = None
        for reason, match, limit in checks:
            # The failure that must leave the window before one more try is allowed.
            times = db.scalars(
                select(SignInFailure.failed_at)
                .where(match, SignInFailure.failed_at > since)
                .order_by(SignInFailure.failed_at.desc())
                .limit(limit)
            ).all()
            if len(times) < limit:
                continue
            wait = (times[-1] + self.window - now).total_seconds()
            seconds = max(1, int(wait) + (0 if wait == int(wait) else 1))
            if longest is None or seconds > longest.seconds:
                longest = Lockout(seconds, reason)
        return longest

    def failed(self, db: Session, username: str, address: str) -> None:
        now = self.clock()
        # Forget what has left the window: the table holds minutes of failures, not years.
        db.execute(delete(SignInFailure).where(SignInFailure.failed_at <= now - self.window))
        db.add(SignInFailure(username=key(username), address=address[:64], failed_at=now))
        db.flush()

    def succeeded(self, db: Session, username: str) -> None:
        """The right password clears the name's failures; the address keeps its count, so one
        known account cannot be used to reset the allowance for guessing at others."""
        db.execute(delete(SignInFailure).where(SignInFailure.username == key(username)))


def key(username: str) -> str:
    """The name as counted: case does not give a guesser five more tries."""
    return username.strip().casefold()[:64]
