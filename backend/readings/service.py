"""The ingest path every reading takes, whatever its source: check, store, publish.

Schemas have already rejected impossible values; here live the rules that need the clock or
the database (future times, ended sessions, retried ids). This module only stores and queries
readings: backend/flows.py has the stored readings checked for alarms in the same transaction,
so a reading and the alarm it raised commit together.
"""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from pydantic_core import to_jsonable_python
from sqlalchemy import Table, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.instrumentation import manager_of_class

from backend.core.actor import Actor
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.fast_sql import Prepared
from backend.core.timeutil import as_utc, utcnow
from backend.readings.models import Reading, latest_readings
from backend.readings.schemas import ReadingIn, ReadingPublic, Source
from backend.readings.trend import Sample, Trend, fold
from backend.readings.vitals import VITAL_FIELDS
from backend.sessions import service as sessions
from backend.sessions.checklists import BloodPressureSeen, Observed
from backend.sessions.models import InfusionSession
from backend.streaming.outbox import last_sequence, last_sequence_column, record_events

# A reading may be entered late (an observation written up after the event, a gateway's backlog)
# but not from before the patient was in the chair: more than this before the session was started
# is a wrong clock, and a reading from year 1 once made a 761 MB session record.
HOUR = timedelta(hours=1)
BACKDATE_LIMIT = 24 * HOUR
Loc = Callable[..., tuple[str | int, ...]]  # (item index, *field names) -> error location
LatestValue = bool | int | float | str


@dataclass(frozen=True)
class Ingested:
    reading: Reading
    created: bool  # False when this was a retry of a reading already stored
    # A new reading as its stream event and its answer carry it (JSON-ready), made once.
    public: dict[str, Any] | None = None

    def public_form(self) -> dict[str, Any]:
        if self.public is not None:
            return self.public
        return ReadingPublic.model_validate(self.reading).model_dump(mode="json")


def ingest(
    db: Session,
    session_id: int,
    items: Sequence[ReadingIn],
    actor: Actor,
    *,
    future_tolerance: timedelta,
    loc_prefix: tuple[str | int, ...] = ("body",),
    batch: bool = False,
    lock: "sessions.Lock | None" = None,
) -> list[Ingested]:
    """Store `items` for one session, all or nothing; retries return what was stored before.

    `lock` row-locks and returns the session (or None when there is none): backend/flows.py
    gives one that also reads what the alarm check needs in the same statement."""

    def loc(index: int, *rest: str) -> tuple[str | int, ...]:
        return (*loc_prefix, "readings", index, *rest) if batch else (*loc_prefix, *rest)

    # The session's row lock first: the readings of one session, and the alarms they raise, are
    # decided one at a time, and a retry is judged against what is stored under that lock.
    session = sessions.lock_for_readings(db, session_id, lock=lock)
    # Trainers never see a real patient's session, not even as the answer to a retry.
    sessions.check_may_work_on(actor, session.simulated)
    if session.phase in sessions.ENDED_PHASES:
        # A gateway resending what was stored must hear "stored", even if the session has
        # ended since: answering "refused" would make it think the reading was lost.
        replay = _replay(db, session_id, items, loc)
        if replay is not None:
            return replay
        sessions.refuse_ended(session)
    # Stamped now that this session's readings are taken one at a time (its row lock):
    # readings sent without a time of their own get times in the order they are stored, so
    # one that waited for the lock never looks measured before, and so late to, the alarm check.
    now = utcnow()
    earliest = as_utc(session.created_at) - BACKDATE_LIMIT

    for index, item in enumerate(items):
        if item.taken_at is not None and as_utc(item.taken_at) > now + future_tolerance:
            raise InvalidInput(
                loc(index, "taken_at"),
                f"{item.taken_at.isoformat()} is in the future (server time is "
                f"{now.isoformat()}); check the device clock",
                item.taken_at.isoformat(),
            )
        if item.taken_at is not None and as_utc(item.taken_at) < earliest:
            raise InvalidInput(
                loc(index, "taken_at"),
                f"{item.taken_at.isoformat()} is more than {BACKDATE_LIMIT / HOUR:g} hours "
                f"before the session was started ({as_utc(session.created_at).isoformat()}); "
                "check the device clock",
                item.taken_at.isoformat(),
            )

    results = _store(db, session, items, actor, now, loc)
    record_events(
        db, [("reading.created", session.id, r.public_form()) for r in results if r.created]
    )
    return results


def _replay(
    db: Session, session_id: int, items: Sequence[ReadingIn], loc: Loc
) -> list[Ingested] | None:
    """The stored readings when every item is a resubmission of one, else None."""
    if any(item.id is None for item in items):
        return None
    ids = [str(item.id) for item in items]
    stored = {r.id: r for r in db.scalars(select(Reading).where(Reading.id.in_(ids)))}
    if len(stored) < len(set(ids)):
        return None
    results = []
    for index, item in enumerate(items):
        existing = stored[str(item.id)]
        _check_retry(existing, item, session_id, loc, index)
        results.append(Ingested(existing, created=False))
    return results


def _check_retry(existing: Reading, item: ReadingIn, session_id: int, loc: Loc, index: int) -> None:
    problem = _retry_mismatch(existing, item, session_id)
    if problem:
        raise Conflict(
            f"reading {existing.id}{_item_label(loc, index)} was already stored with "
            f"different content ({problem}); a new reading needs a new id"
        )


def _store(
    db: Session,
    session: InfusionSession,
    items: Sequence[ReadingIn],
    actor: Actor,
    now: datetime,
    loc: Loc,
) -> list[Ingested]:
    """Insert the new readings in one statement; an id stored before is a retry, answered with
    what was stored (and refused if its content differs).

    ON CONFLICT DO NOTHING on the id makes the insert itself the idempotency check: no look-up
    before it, and two requests racing with one id cannot both store it (the loser's row is
    skipped and it reads the winner's, committed under the session lock it waited for)."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    repeated: list[tuple[int, str]] = []  # an id sent twice in one batch: the first one stands
    for index, item in enumerate(items):
        reading_id = str(item.id) if item.id is not None else str(uuid.uuid4())
        if reading_id in seen:
            repeated.append((index, reading_id))
            rows.append({})
            continue
        seen.add(reading_id)
        rows.append(
            {
                "id": reading_id,
                "session_id": session.id,
                # UTC on the wire as in storage: the answer is made from this row.
                "taken_at": as_utc(item.taken_at) if item.taken_at is not None else now,
                "received_at": now,
                "source": (item.source or _default_source(actor)).value,
                "entered_by": actor.label,
                "entered_in_error_at": None,
                "entered_in_error_by": None,
                "entered_in_error_reason": None,
                **{name: getattr(item, name) for name in VITAL_FIELDS},
            }
        )
    values = [row for row in rows if row]
    configure_mappers()  # _as_stored skips the constructor, which would have done it
    created = set(_INSERT_NEW.returned(db, values))
    missing = [row["id"] for row in values if row["id"] not in created]
    stored = (
        {r.id: r for r in db.scalars(select(Reading).where(Reading.id.in_(missing)))}
        if missing
        else {}
    )
    results: list[Ingested] = []
    fresh: dict[str, Reading] = {}
    for index, (item, row) in enumerate(zip(items, rows, strict=True)):
        if not row:
            row_id = next(rid for i, rid in repeated if i == index)
            first = fresh.get(row_id) or stored[row_id]
            _check_retry(first, item, session.id, loc, index)
            results.append(Ingested(first, created=False))
            continue
        if row["id"] in created:
            # Built from what was inserted rather than read back: the row is exactly this.
            reading = _as_stored(row)
            fresh[row["id"]] = reading
            results.append(Ingested(reading, created=True, public=_public(row)))
            continue
        existing = stored[row["id"]]
        _check_retry(existing, item, session.id, loc, index)
        results.append(Ingested(existing, created=False))
    return results


_TABLE = Reading.__table__
assert isinstance(_TABLE, Table)
# Compiled once (core/fast_sql.py); a batch is one statement (SQLite) or one round trip
# (PostgreSQL). Both dialects spell ON CONFLICT alike.
_INSERT_NEW = Prepared(
    postgresql_insert(_TABLE)
    .values({column.name: bindparam(column.name) for column in _TABLE.columns})
    .on_conflict_do_nothing(index_elements=[_TABLE.c.id])
    .returning(_TABLE.c.id)
)


_MANAGER = manager_of_class(Reading)


def _as_stored(row: dict[str, Any]) -> Reading:
    """A Reading (detached from any session) holding `row` as its loaded values: what loading
    it would give, without the constructor's per-attribute change tracking, which cost a batch
    of 1,000 readings more than inserting them."""
    reading = _MANAGER.new_instance()
    instance_state(reading).dict.update(row)
    return reading


_PUBLIC_FIELDS = tuple(ReadingPublic.model_fields)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """`ReadingPublic`'s JSON form of a row made here from a validated ReadingIn, without
    validating it again (pydantic's own construct alone cost 10 us a reading): its times as
    pydantic writes them, everything else as it is."""
    return cast(dict[str, Any], to_jsonable_python({name: row[name] for name in _PUBLIC_FIELDS}))


def _item_label(loc: Loc, index: int) -> str:
    where = loc(index)
    return f" (item {where[-1]})" if len(where) > 1 and isinstance(where[-1], int) else ""


def _default_source(actor: Actor) -> Source:
    return Source.MANUAL if actor.kind == "user" else Source.DEVICE


def _retry_mismatch(existing: Reading, item: ReadingIn, session_id: int) -> str | None:
    """What differs between a stored reading and a resubmission claiming the same id."""
    if existing.session_id != session_id:
        return f"it belongs to session {existing.session_id}"
    if item.taken_at is not None and as_utc(item.taken_at) != existing.taken_at:
        return "taken_at differs"
    if item.source is not None and item.source.value != existing.source:
        return "source differs"
    differing = [n for n in VITAL_FIELDS if getattr(item, n) != getattr(existing, n)]
    return ", ".join(differing) + " differ" if differing else None


def _encode_page(taken_at: datetime, reading_id: str) -> str:
    return base64.urlsafe_b64encode(f"{taken_at.isoformat()}|{reading_id}".encode()).decode()


def _decode_page(token: str) -> tuple[datetime, str]:
    try:
        taken, reading_id = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return as_utc(datetime.fromisoformat(taken)), reading_id
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            ("query", "page"), "not a page token this server gave out", token
        ) from None


@dataclass(frozen=True)
class Page:
    items: list[Reading]
    next_page: str | None
    stream_cursor: int


def _require_session(db: Session, session_id: int) -> None:
    if db.get(InfusionSession, session_id) is None:
        raise NotFound(f"no session with id {session_id}")


def list_readings(
    db: Session,
    session_id: int,
    *,
    since: datetime | None,
    until: datetime | None,
    page: str | None,
    limit: int,
) -> Page:
    """Readings of a session by taken_at, oldest first, in keyset pages."""
    _require_session(db, session_id)
    # Read before the readings: a reading committed in between then arrives on the stream as
    # well as in the page (the browser de-duplicates by id) instead of falling between the two.
    cursor = last_sequence(db)
    query = select(Reading).where(Reading.session_id == session_id)
    if since is not None:
        query = query.where(Reading.taken_at >= since)
    if until is not None:
        query = query.where(Reading.taken_at < until)
    if page is not None:
        after_time, after_id = _decode_page(page)
        query = query.where(tuple_(Reading.taken_at, Reading.id) > tuple_(after_time, after_id))
    rows = list(db.scalars(query.order_by(Reading.taken_at, Reading.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_page = _encode_page(rows[-1].taken_at, rows[-1].id) if more else None
    return Page(rows, next_page, cursor)


def mark_entered_in_error(
    db: Session, session_id: int, reading_id: str, reason: str, actor: Actor
) -> Reading:
    """Flag a reading as a mistake: it stays in the record (flows.mark_entered_in_error then
    withdraws the alarms it raised).

    Allowed after the session has ended too: errors are often noticed when the record is read.
    """
    session = sessions.get_session(db, session_id, for_update=True)
    sessions.check_may_work_on(actor, session.simulated)
    reading = db.get(Reading, reading_id)
    if reading is None or reading.session_id != session_id:
        raise NotFound(f"session {session_id} has no reading {reading_id}")
    if reading.entered_in_error_at is not None:
        raise Conflict(
            f"reading {reading_id} was already marked entered in error by "
            f"{reading.entered_in_error_by} ({reading.entered_in_error_reason})"
        )
    reading.entered_in_error_at = utcnow()
    reading.entered_in_error_by = actor.label
    reading.entered_in_error_reason = reason
    db.flush()
    record_events(
        db,
        [
            (
                "reading.entered_in_error",
                session.id,
                ReadingPublic.model_validate(reading).model_dump(mode="json"),
            )
        ],
    )
    return reading


class Latest(NamedTuple):
    """A vital's newest value, when it was taken, and where it came from (sets its staleness)."""

    value: LatestValue
    taken_at: datetime
    source: str


def latest_values(db: Session, session_ids: Sequence[int]) -> dict[int, dict[str, Latest]]:
    """For each session, each vital's most recent value, when it was taken and its source.

    One indexed read of each session's latest row (kept by triggers: readings/models.py), so
    its cost is the sessions asked for, whatever history they and others have stored. Read as
    plain rows, never as mapped objects: an object kept from earlier in the transaction would
    not show what a trigger changed since."""
    latest: dict[int, dict[str, Latest]] = {sid: {} for sid in session_ids}
    if not session_ids:
        return latest
    columns = latest_readings.c
    rows = db.execute(select(latest_readings).where(columns.session_id.in_(session_ids)))
    for row in rows.mappings():
        found = latest[row["session_id"]]
        for name in VITAL_FIELDS:
            value, taken_at = row[name], row[f"{name}_at"]
            if value is not None and taken_at is not None:
                found[name] = Latest(value, as_utc(taken_at), row[f"{name}_source"])
    return latest


@dataclass(frozen=True)
class FeedTimes:
    """What the alarm clock times its no-data and BP-overdue checks from."""

    feed_received_at: datetime | None  # the newest reading of a continuous feed arrived then
    bp_taken_at: datetime | None  # the newest valid blood pressure was taken then


def feed_times(db: Session, session_id: int) -> FeedTimes:
    """A session's last continuous feed and last blood pressure: one look-up of its latest row."""
    columns = latest_readings.c
    row = db.execute(
        select(columns.feed_received_at, columns.systolic_at).where(
            columns.session_id == session_id
        )
    ).first()
    if row is None:
        return FeedTimes(None, None)
    return FeedTimes(row[0], row[1])


MAX_TREND_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class TrendPage:
    trend: Trend
    stream_cursor: int


def trend_of(db: Session, session_id: int, *, since: datetime, bucket_seconds: int) -> TrendPage:
    """A session's readings since `since` (errored ones left out) folded into time buckets."""
    if as_utc(since) < utcnow() - MAX_TREND_AGE:
        raise InvalidInput(
            ("query", "since"),
            f"a trend reaches back at most {MAX_TREND_AGE.total_seconds() / 3600:g} hours; "
            "use the readings list for older ones",
            since.isoformat(),
        )
    _require_session(db, session_id)
    # The buckets have no reading ids to drop a repeat by, so the cursor must match them exactly:
    # read in the same statement, it sees the same snapshot (PostgreSQL's READ COMMITTED gives
    # each statement its own). With no readings, the counter read before them will do: anything
    # committed since comes after it on the stream.
    before = last_sequence(db)
    rows = db.execute(
        select(
            Reading.taken_at,
            Reading.heart_rate,
            Reading.spo2,
            Reading.respiratory_rate,
            Reading.systolic,
            Reading.diastolic,
            last_sequence_column(),
        )
        .where(
            Reading.session_id == session_id,
            Reading.taken_at >= since,
            Reading.entered_in_error_at.is_(None),
        )
        # Of two BPs taken at the same moment, the tile keeps the one that arrived last.
        .order_by(Reading.taken_at, Reading.received_at)
    ).all()
    cursor = rows[0][-1] if rows else before
    samples = (Sample(as_utc(taken_at), *rest[:-1]) for taken_at, *rest in rows)
    return TrendPage(fold(samples, bucket_seconds), cursor)


def _latest(
    db: Session, session_id: int, at: datetime, *columns: Any, since: datetime | None = None
) -> Any:
    """The latest non-errored reading at or before `at` (and from `since`) that has every one of
    `columns`."""
    query = select(*columns, Reading.taken_at).where(
        Reading.session_id == session_id,
        Reading.taken_at <= at,
        Reading.entered_in_error_at.is_(None),
        *(column.is_not(None) for column in columns),
    )
    if since is not None:
        query = query.where(Reading.taken_at >= since)
    return db.execute(query.order_by(Reading.taken_at.desc()).limit(1)).first()


def observations(
    db: Session, session_id: int, at: datetime, alert_since: datetime | None
) -> sessions.Observations:
    """What a phase change's checklist is judged on: the latest valid BP and SpO2 at `at`, and
    the latest ACVPU and MOAA/S from `alert_since` (when dosing ended)."""
    bp = _latest(db, session_id, at, Reading.systolic, Reading.diastolic)
    spo2 = _latest(db, session_id, at, Reading.spo2)
    consciousness = _latest(db, session_id, at, Reading.consciousness, since=alert_since)
    sedation = _latest(db, session_id, at, Reading.sedation, since=alert_since)
    return sessions.Observations(
        bp=BloodPressureSeen(bp[0], bp[1], as_utc(bp[2])) if bp else None,
        spo2=Observed(spo2[0], as_utc(spo2[1])) if spo2 else None,
        consciousness=consciousness[0] if consciousness else None,
        sedation=sedation[0] if sedation else None,
    )
