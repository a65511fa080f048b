"""Escalation pages to the clinic's paging gateway (VIGIL_ESCALATION_WEBHOOK_URL).

A page is a row (`EscalationPage`) written in the transaction that escalates its alarm, so it is
made exactly when the escalation is, and a process killed before sending it leaves it to the
next holder of the alarm clock's lease. The holder sends what is due beside its ticks, never in
their way; a gateway that is down or answers an error is asked again after 5 s, 10 s, 20 s ...
up to every 5 minutes, and a page nobody could deliver for an hour is given up on and logged as
an error (the escalation itself is on every screen throughout).

Delivery is at least once: a holder killed after the gateway took a page but before the answer
was recorded sends it again. Each page carries an `Idempotency-Key` header, the same on every
attempt, for a gateway that can drop a repeat.
"""

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.alerts.models import EscalationPage
from backend.alerts.schemas import AlertPublic
from backend.core.database import Database
from backend.core.timeutil import as_utc

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=5)
GIVE_UP_AFTER = timedelta(hours=1)
# Pages sent in one pass: a pass with a gateway that never answers lasts at most this many
# timeouts, and the next pass starts only after it.
SEND_BATCH = 20
ERROR_LENGTH = 300

# POST `body` to `url` with the page's idempotency key; raises if the gateway did not take it.
Post = Callable[[str, dict[str, Any], str], None]


def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed attempt a page is tried again: doubling from
    FIRST_RETRY, never longer than LONGEST_RETRY."""
    doublings: int = min(max(attempts - 1, 0), 16)
    return min(FIRST_RETRY * (1 << doublings), LONGEST_RETRY)


def body(alert: AlertPublic) -> dict[str, Any]:
    return {"event": "alert.escalated", "alert": alert.model_dump(mode="json")}


def queue(db: Session, escalated: list[AlertPublic], now: datetime) -> None:
    """Write a page for each alarm that escalated in this transaction; a drill's escalation
    is shown on the screens but never pages anyone."""
    for alert in escalated:
        if alert.simulated:
            continue
        db.add(
            EscalationPage(
                alert_id=alert.id,
                escalation=alert.escalations,
                payload=body(alert),
                created_at=now,
                next_attempt_at=now,
            )
        )


def post_json(url: str, payload: dict[str, Any], key: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - the URL is the clinic's own configuration
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
        method="POST",
    )
    # urlopen raises for an answer outside 2xx (after following redirects).
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):  # noqa: S310
        pass


@dataclass(frozen=True)
class Due:
    id: int
    key: str
    payload: dict[str, Any]
    created_at: datetime


Outcome = Literal["sent", "retrying", "given_up"]


@dataclass(frozen=True)
class Sent:
    """How many pages of a pass had each outcome."""

    sent: int = 0
    retrying: int = 0
    given_up: int = 0


def due(db: Session, now: datetime, limit: int = SEND_BATCH) -> list[Due]:
    rows = db.execute(
        select(
            EscalationPage.id,
            EscalationPage.alert_id,
            EscalationPage.escalation,
            EscalationPage.payload,
            EscalationPage.created_at,
        )
        .where(
            EscalationPage.sent_at.is_(None),
            EscalationPage.failed_at.is_(None),
            EscalationPage.next_attempt_at <= now,
        )
        .order_by(EscalationPage.next_attempt_at, EscalationPage.id)
        .limit(limit)
    )
    return [
        Due(id, f"vigil-alert-{alert_id}-escalation-{escalation}", payload, as_utc(created))
        for id, alert_id, escalation, payload, created in rows
    ]


def _describe(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"the gateway answered {exc.code} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]


def record_attempt(db: Session, page: Due, now: datetime, error: str | None) -> Outcome:
    """Store one attempt's outcome and say which it was."""
    pending = (EscalationPage.id == page.id, EscalationPage.sent_at.is_(None))
    attempts = db.scalar(select(EscalationPage.attempts).where(*pending))
    if attempts is None:  # already recorded sent (an overlapping holder): nothing to change
        return "sent"
    attempts += 1
    changes: dict[str, Any] = {"attempts": attempts}
    outcome: Outcome
    if error is None:
        outcome, changes["sent_at"] = "sent", now
    elif now - page.created_at >= GIVE_UP_AFTER:
        outcome, changes["failed_at"], changes["last_error"] = "given_up", now, error
    else:
        outcome, changes["last_error"] = "retrying", error
        changes["next_attempt_at"] = now + retry_delay(attempts)
    db.execute(update(EscalationPage).where(*pending).values(changes))
    return outcome


def send_due(
    database: Database,
    url: str,
    now: datetime,
    *,
    post: Post = post_json,
    stopping: Callable[[], bool] = lambda: False,
) -> Sent:
    """One pass: send the pages due at `now`, oldest first, at most SEND_BATCH, and record each
    outcome in a transaction of its own (none is held open while a gateway is asked). Stops
    between two pages once `stopping()` says so."""
    with database.unit_of_work(write=False) as db:
        pages = due(db, now)
    counts: dict[Outcome, int] = {"sent": 0, "retrying": 0, "given_up": 0}
    for page in pages:
        if stopping():
            break
        error = None
        try:
            post(url, page.payload, page.key)
        except Exception as exc:  # any failure to deliver is retried, whatever it was
            error = _describe(exc)
        with database.unit_of_work(write=True) as db:
            outcome = record_attempt(db, page, now, error)
        counts[outcome] += 1
        if outcome == "retrying":
            log.warning("escalation page %s not delivered (%s); trying again", page.key, error)
        elif outcome == "given_up":
            log.error(
                "escalation page %s given up after %s undelivered: %s",
                page.key,
                GIVE_UP_AFTER,
                error,
            )
    return Sent(**counts)
