"""Stored history never slows live work (issue 18 item 5).

Stream events are pruned beyond the resume window, in bounded batches, and a browser resuming
from a cursor older than the window is told to reload (`reset`), never given a stream with a
silent hole. Each session's latest values live in one row kept by triggers on `readings`
(migration 0020): it must say exactly what walking the readings would, whatever order readings
arrive in, whatever is struck out, and however often a reading is retried. Time is injected:
the events' clock is the test's, and pruning is told what "now" is.
"""

import asyncio
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from backend.core.database import Database
from backend.core.housekeeping import PRUNER, Pruned, PrunePass, run_pruner
from backend.core.lease import Lease, holding
from backend.core.roles import Role
from backend.main import create_app
from backend.readings.models import Reading, latest_readings
from backend.readings.schemas import ReadingPublic
from backend.readings.service import Latest, feed_times, latest_values
from backend.readings.vitals import VITAL_FIELDS
from backend.streaming import outbox
from backend.streaming.events import READING_FIELDS
from backend.streaming.models import StreamEvent
from backend.streaming.outbox import last_sequence, record_events
from backend.streaming.retention import prune, prune_batch, servable_range
from backend.streaming.router import _load
from backend.users import service as users
from tests.api.support import iso, parse_time
from tests.conftest import migrated_database, suite_settings
from tests.helpers import mark_in_error, new_session, post_batch, post_reading

WINDOW = timedelta(minutes=60)
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


class Clock:
    """The events' clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Database]:
    """A database of its own: pruning removes every old event, not just this test's."""
    with migrated_database(tmp_path) as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock(T0)
    monkeypatch.setattr(outbox, "utcnow", moved)
    return moved


def events_at(database: Database, clock: Clock, *minutes: float) -> list[int]:
    """One ward-wide event stamped at each of `minutes` after T0; their seqs."""
    seqs = []
    for minute in minutes:
        clock.at = T0 + timedelta(minutes=minute)
        with database.unit_of_work(write=True) as db:
            record_events(db, [("limits.changed", None, {"minute": minute})])
        with database.unit_of_work(write=False) as db:  # numbered as it committed
            seqs.append(last_sequence(db))
    return seqs


def stored_seqs(database: Database) -> list[int]:
    with database.unit_of_work(write=False) as db:
        return list(db.scalars(select(StreamEvent.seq).order_by(StreamEvent.seq)))


# ---- pruning -----------------------------------------------------------------------------------


def test_pruning_keeps_the_resume_window_and_removes_what_is_older(
    fresh: Database, clock: Clock
) -> None:
    seqs = events_at(fresh, clock, 0, 10, 59, 61, 90, 119)
    now = T0 + timedelta(minutes=120)  # the window reaches back to minute 60

    pruned = prune(fresh, now, WINDOW, batch=100, max_batches=10)

    assert (pruned.deleted, pruned.done) == (3, True)
    assert stored_seqs(fresh) == seqs[3:]
    # Nothing more is old enough: a second pass deletes nothing.
    assert prune(fresh, now, WINDOW, batch=100, max_batches=10).deleted == 0
    assert stored_seqs(fresh) == seqs[3:]


def test_a_pass_is_bounded_by_its_batches_and_the_next_pass_goes_on(
    fresh: Database, clock: Clock
) -> None:
    seqs = events_at(fresh, clock, *range(10))
    now = T0 + timedelta(hours=3)

    first = prune(fresh, now, WINDOW, batch=3, max_batches=2)
    assert (first.deleted, first.done) == (6, False)
    assert stored_seqs(fresh) == seqs[6:]
    second = prune(fresh, now, WINDOW, batch=3, max_batches=2)
    assert (second.deleted, second.done) == (4, True)
    assert stored_seqs(fresh) == []
    # The counter is the stream's, not the table's: cursors go on from where they were.
    assert events_at(fresh, clock, 200) == [seqs[-1] + 1]


def test_an_event_stamped_inside_the_window_stops_the_run_behind_it(
    fresh: Database, clock: Clock
) -> None:
    """A host whose clock runs ahead stamps an event "later" than the next one: pruning stops
    at it, so no event younger than the window is ever deleted, at the cost of keeping a few
    old ones a little longer."""
    seqs = events_at(fresh, clock, 0, 100, 5, 6)
    with fresh.unit_of_work(write=True) as db:
        assert prune_batch(db, T0 + timedelta(minutes=60), 100) == 1
    assert stored_seqs(fresh) == seqs[1:]


# ---- resuming from before the window -----------------------------------------------------------


@pytest.fixture
def stream_app(fresh: Database) -> Iterator[tuple[TestClient, str]]:
    settings = suite_settings(fresh.url)
    with fresh.unit_of_work(write=True) as db:
        _, secret = users.create_token(db, f"growth-{uuid.uuid4().hex[:8]}", Role.STAFF)
    with TestClient(create_app(settings)) as client:
        yield client, secret


def first_messages(client: TestClient, token: str, after: int, count: int) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    with client.websocket_connect(f"/api/stream?after={after}", headers=headers) as ws:
        return [ws.receive_json() for _ in range(count)]


def test_a_cursor_older_than_the_window_gets_a_reset_and_one_inside_it_the_events(
    fresh: Database, clock: Clock, stream_app: tuple[TestClient, str]
) -> None:
    client, token = stream_app
    seqs = events_at(fresh, clock, 0, 10, 70, 80)
    prune(fresh, T0 + timedelta(minutes=75), WINDOW, batch=100, max_batches=10)
    assert stored_seqs(fresh) == seqs[2:]

    # Missed the events at minutes 0..10, deleted: told to reload, then live from the latest.
    reset, ready = first_messages(client, token, after=seqs[0] - 1, count=2)
    assert reset == {"type": "reset", "cursor": str(seqs[-1])}
    assert (ready["type"], ready["cursor"]) == ("ready", str(seqs[-1]))
    reset, _ = first_messages(client, token, after=seqs[0], count=2)
    assert reset["type"] == "reset"

    # Saw minute 10's event: everything after it is still stored, and is sent.
    first, second, ready = first_messages(client, token, after=seqs[1], count=3)
    assert [first["cursor"], second["cursor"]] == [str(seqs[2]), str(seqs[3])]
    assert [first["data"], second["data"]] == [{"minute": 70}, {"minute": 80}]
    assert ready["type"] == "ready"


def test_a_stream_resumed_at_the_latest_cursor_after_everything_was_pruned_is_not_reset(
    fresh: Database, clock: Clock, stream_app: tuple[TestClient, str]
) -> None:
    """A ward screen left open overnight holds the latest cursor; the events behind it are all
    pruned, but it missed none of them."""
    client, token = stream_app
    seqs = events_at(fresh, clock, 0, 1)
    prune(fresh, T0 + timedelta(hours=5), WINDOW, batch=100, max_batches=10)
    assert stored_seqs(fresh) == []
    with fresh.unit_of_work(write=False) as db:
        assert servable_range(db) == (seqs[-1], seqs[-1])

    (ready,) = first_messages(client, token, after=seqs[-1], count=1)
    assert ready == {"type": "ready", "cursor": str(seqs[-1]), "heartbeat_seconds": 1.0}
    reset, _ = first_messages(client, token, after=seqs[0], count=2)
    assert reset["type"] == "reset"


def test_events_pruned_while_a_backfill_reads_them_make_it_a_reset(
    fresh: Database, clock: Clock
) -> None:
    """The check at connect and the backfill's reads are apart in time: a backfill that finds
    the pruner went past it says so (None) rather than sending what is left."""
    seqs = events_at(fresh, clock, 0, 10, 70)
    assert _load(fresh, seqs[0], seqs[-1], None) is not None
    prune(fresh, T0 + timedelta(minutes=75), WINDOW, batch=100, max_batches=10)
    assert _load(fresh, seqs[0], seqs[-1], None) is None
    loaded = _load(fresh, seqs[1], seqs[-1], None)
    assert loaded is not None
    assert [event.seq for event in loaded] == [seqs[2]]


# ---- the latest-values row ---------------------------------------------------------------------


def walked(database: Database, session_id: int) -> dict[str, Latest]:
    """The latest values as walking the readings finds them (what the row must equal)."""
    found: dict[str, Latest] = {}
    with database.unit_of_work(write=False) as db:
        for name in VITAL_FIELDS:
            column = getattr(Reading, name)
            row = db.execute(
                select(column, Reading.taken_at, Reading.source)
                .where(
                    Reading.session_id == session_id,
                    column.is_not(None),
                    Reading.entered_in_error_at.is_(None),
                )
                .order_by(Reading.taken_at.desc(), Reading.id.desc())
                .limit(1)
            ).first()
            if row is not None:
                found[name] = Latest(row[0], row[1], row[2])
    return found


def walked_feed(database: Database, session_id: int) -> datetime | None:
    with database.unit_of_work(write=False) as db:
        return db.scalar(
            select(func.max(Reading.received_at)).where(
                Reading.session_id == session_id,
                Reading.source.in_(("device", "simulator")),
                Reading.heart_rate.is_not(None) | Reading.spo2.is_not(None),
            )
        )


def latest_of(database: Database, session_id: int) -> dict[str, Latest]:
    with database.unit_of_work(write=False) as db:
        return latest_values(db, [session_id])[session_id]


def stored(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_reading_struck_out_is_no_longer_latest(as_nurse: TestClient, database: Database) -> None:
    session_id = new_session(as_nurse)["id"]
    start = datetime.now(UTC) - timedelta(minutes=10)
    first = stored(
        post_reading(as_nurse, session_id, heart_rate=70, taken_at=iso(start), source="manual")
    )
    second = stored(
        post_reading(
            as_nurse,
            session_id,
            heart_rate=140,
            spo2=88,
            taken_at=iso(start + timedelta(minutes=1)),
        )
    )
    assert latest_of(database, session_id)["heart_rate"].value == 140

    mark_in_error(as_nurse, session_id, second["id"], "wrong patient")
    latest = latest_of(database, session_id)
    assert latest["heart_rate"] == Latest(70, parse_time(first["taken_at"]), "manual")
    assert "spo2" not in latest  # its only SpO2 was the one struck out
    assert latest == walked(database, session_id)

    mark_in_error(as_nurse, session_id, first["id"], "typed in the wrong chart")
    assert latest_of(database, session_id) == {}
    # The ward tile shows no value rather than a struck-out one.
    tile = as_nurse.get(f"/api/sessions/{session_id}").json()
    assert tile["latest"] == {}


def test_a_backfilled_older_reading_does_not_replace_a_newer_one(
    as_nurse: TestClient, database: Database
) -> None:
    session_id = new_session(as_nurse)["id"]
    now = datetime.now(UTC)
    stored(post_reading(as_nurse, session_id, heart_rate=80, taken_at=iso(now)))
    older = now - timedelta(minutes=20)
    backfilled = stored(
        post_reading(as_nurse, session_id, heart_rate=60, temperature=37.1, taken_at=iso(older))
    )
    latest = latest_of(database, session_id)
    assert latest["heart_rate"].value == 80  # still the newer one
    # ... while a vital only it has is its own.
    assert latest["temperature"] == Latest(37.1, parse_time(backfilled["taken_at"]), "manual")
    assert latest == walked(database, session_id)


def test_a_retried_reading_is_not_counted_again(as_nurse: TestClient, database: Database) -> None:
    session_id = new_session(as_nurse)["id"]
    now = datetime.now(UTC)
    retried = {
        "id": str(uuid.uuid4()),
        "heart_rate": 90,
        "taken_at": iso(now - timedelta(minutes=2)),
    }
    stored(post_reading(as_nurse, session_id, **retried))
    stored(post_reading(as_nurse, session_id, heart_rate=75, taken_at=iso(now)))
    # The gateway did not hear the first answer and sends it again, alone and in a batch.
    assert post_reading(as_nurse, session_id, **retried).status_code == 200
    stored(post_batch(as_nurse, session_id, [retried, retried]))
    latest = latest_of(database, session_id)
    assert latest["heart_rate"].value == 75
    assert latest == walked(database, session_id)


def test_a_simulated_session_has_its_latest_row_and_feed(
    as_trainer: TestClient, database: Database
) -> None:
    session = new_session(as_trainer, simulated=True)
    readings = [
        {"heart_rate": 70 + n, "spo2": 96, "source": "simulator", "taken_at": iso(t)}
        for n, t in enumerate(datetime.now(UTC) - timedelta(seconds=30 - s) for s in range(30))
    ]
    stored(post_batch(as_trainer, session["id"], readings))
    latest = latest_of(database, session["id"])
    assert (latest["heart_rate"].value, latest["heart_rate"].source) == (99, "simulator")
    assert latest == walked(database, session["id"])
    with database.unit_of_work(write=False) as db:
        times = feed_times(db, session["id"])
    assert times.feed_received_at == walked_feed(database, session["id"])
    assert times.bp_taken_at is None


def test_the_latest_row_agrees_with_the_readings_whatever_happens_to_them(
    as_nurse: TestClient, database: Database
) -> None:
    """Readings of random vitals, out of order, with ties on taken_at, from manual entry and a
    device, retried, batched and struck out: after every step the row says what walking the
    readings says."""
    rng = random.Random(18_5)
    session_id = new_session(as_nurse)["id"]
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    values: dict[str, Callable[[], Any]] = {
        "heart_rate": lambda: rng.randint(50, 130),
        "systolic": lambda: rng.randint(95, 150),
        "spo2": lambda: rng.randint(90, 100),
        "respiratory_rate": lambda: rng.randint(10, 24),
        "temperature": lambda: round(rng.uniform(36.0, 38.5), 1),
        "consciousness": lambda: rng.choice("ACVPU"),
        "sedation": lambda: rng.randint(0, 5),
        "on_oxygen": lambda: rng.random() < 0.5,
    }
    sent: list[dict[str, Any]] = []
    for step in range(40):
        names = rng.sample(sorted(values), rng.randint(1, 3))
        item: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            # Few distinct instants: ties on taken_at are decided by id, as the readings' order.
            "taken_at": iso(base + timedelta(seconds=rng.randint(0, 12) * 10)),
            "source": rng.choice(("manual", "device")),
            **{name: values[name]() for name in names},
        }
        if "systolic" in item:
            item["diastolic"] = item["systolic"] - 40
        action = rng.random()
        if action < 0.15 and sent:
            stored(post_reading(as_nurse, session_id, **rng.choice(sent)))  # a retry
        elif action < 0.3:
            batch = [item, {**item, "id": str(uuid.uuid4()), "taken_at": iso(base)}]
            stored(post_batch(as_nurse, session_id, batch))
            sent.extend(batch)
        else:
            stored(post_reading(as_nurse, session_id, **item))
            sent.append(item)
        if step % 4 == 3:
            victim = rng.choice(sent)
            response = as_nurse.post(
                f"/api/sessions/{session_id}/readings/{victim['id']}/entered-in-error",
                json={"reason": "test strike-out"},
            )
            assert response.status_code in (200, 409), response.text
        assert latest_of(database, session_id) == walked(database, session_id), f"step {step}"
        with database.unit_of_work(write=False) as db:
            times = feed_times(db, session_id)
        assert times.feed_received_at == walked_feed(database, session_id)
        bp = walked(database, session_id).get("systolic")
        assert times.bp_taken_at == (bp.taken_at if bp else None)


def test_a_reading_changed_in_the_database_recomputes_the_row(
    as_nurse: TestClient, database: Database
) -> None:
    """Vigil never changes a stored reading's values, but a correction made by hand in the
    database must not leave the row saying something the readings do not."""
    session_id = new_session(as_nurse)["id"]
    now = datetime.now(UTC)
    newest = stored(post_reading(as_nurse, session_id, heart_rate=88, taken_at=iso(now)))
    stored(
        post_reading(as_nurse, session_id, heart_rate=66, taken_at=iso(now - timedelta(minutes=1)))
    )
    with database.unit_of_work(write=True) as db:
        db.execute(
            update(Reading)
            .where(Reading.id == newest["id"])
            .values(taken_at=now - timedelta(minutes=5))
        )
    assert latest_of(database, session_id)["heart_rate"].value == 66
    assert latest_of(database, session_id) == walked(database, session_id)


def test_the_ward_reads_one_indexed_row_per_session(database: Database) -> None:
    """The ward's latest values are a primary-key look-up of their own table, never a walk of
    the readings (benchmarks/growth.py prints the plans at a million readings)."""
    query = select(latest_readings).where(latest_readings.c.session_id.in_([1, 2, 3]))
    with database.unit_of_work(write=False) as db:
        connection = db.connection()
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
        if connection.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )
            assert "SEARCH latest_readings USING INTEGER PRIMARY KEY" in plan, plan
        else:
            # A table this small is read whole when that is cheaper: ask whether it need not be.
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
            assert "pk_latest_readings" in plan, plan


# ---- slimmer events ----------------------------------------------------------------------------


def test_the_stream_knows_a_reading_field_for_field_as_the_api_shows_it() -> None:
    assert tuple(ReadingPublic.model_fields) == READING_FIELDS


def test_a_reading_event_is_stored_without_its_nulls_and_sent_with_them(
    as_nurse: TestClient, database: Database
) -> None:
    session_id = new_session(as_nurse)["id"]
    reading = stored(post_reading(as_nurse, session_id, heart_rate=81, spo2=96))
    with database.unit_of_work(write=False) as db:
        row = db.scalars(
            select(StreamEvent).where(
                StreamEvent.session_id == session_id, StreamEvent.kind == "reading.created"
            )
        ).one()
        assert None not in row.payload.values()
        assert row.payload["heart_rate"] == 81 and "systolic" not in row.payload
        (event,) = outbox.load_events(db, row.seq - 1, row.seq)
    assert event.data == reading  # every field, nulls included, as the API answered
    assert list(event.data) == list(READING_FIELDS)


def test_a_quiet_sessions_heartbeat_carries_the_cursor_past_other_sessions_events(
    fresh: Database, clock: Clock, tmp_path: Path
) -> None:
    """A page watching one session hears nothing while the others are busy; its heartbeat's
    cursor still moves on, so after a blip it resumes inside the window instead of reloading."""
    settings = suite_settings(fresh.url).model_copy(update={"stream_heartbeat_seconds": 0.05})
    with fresh.unit_of_work(write=True) as db:
        _, token = users.create_token(db, f"growth-{uuid.uuid4().hex[:8]}", Role.STAFF)
    headers = {"Authorization": f"Bearer {token}"}
    with (
        TestClient(create_app(settings)) as client,
        client.websocket_connect("/api/stream?session_id=999999", headers=headers) as ws,
    ):
        ready = ws.receive_json()
        assert ready["type"] == "ready"
        with fresh.unit_of_work(write=True) as db:
            record_events(db, [("reading.created", 424242, {"id": "elsewhere"})] * 3)
        with fresh.unit_of_work(write=False) as db:
            latest = last_sequence(db)
        cursor = int(ready["cursor"])
        for _ in range(400):  # the bus finds them by its poll (1 s); each heartbeat says how far
            message = ws.receive_json()
            assert message["type"] == "heartbeat", message  # none of them is this session's
            cursor = int(message["cursor"])
            if cursor == latest:
                break
        assert cursor == latest


class CountingLease(Lease):
    """A lease that counts how often the pruner asked for it."""

    asked = 0

    def keep(self, now: datetime) -> bool:
        self.asked += 1
        return super().keep(now)


def test_only_the_process_holding_the_pruners_lease_prunes(fresh: Database, clock: Clock) -> None:
    seqs = events_at(fresh, clock, 0, 1, 2)
    now = T0 + timedelta(hours=3)
    other = Lease(fresh, PRUNER, 7200, 1, holder="another-process")
    assert other.keep(now)
    mine = CountingLease(fresh, PRUNER, 3600, 1, holder="this-process")

    ticks = iter(now + timedelta(seconds=n) for n in range(1_000_000))  # a second a pass

    async def pruning_until(done: Callable[[], bool]) -> None:
        stop = asyncio.Event()

        def clock() -> datetime:
            # The pruner reads its clock once a pass: the test looks there, not on a timer.
            if done():
                stop.set()  # this pass is the last; the pruner then lets the lease go
            return next(ticks)

        def prune_events(now: datetime) -> Pruned:
            return prune(fresh, now, WINDOW, batch=2, max_batches=5)

        pruner = run_pruner(
            [PrunePass("stream events", prune_events)],
            interval=0.005,
            stop=stop,
            lease=mine,
            clock=clock,
        )
        async with asyncio.timeout(10):
            await pruner

    # Another process holds it: this one asks, and deletes nothing.
    asyncio.run(pruning_until(lambda: mine.asked >= 5))
    assert stored_seqs(fresh) == seqs
    # Handed over (a clean stop releases it): this one takes it and prunes, batch by batch.
    other.release(now)
    asyncio.run(pruning_until(lambda: not stored_seqs(fresh)))
    with fresh.unit_of_work(write=False) as db:
        held = holding(db, PRUNER)
    assert held is None or held.holder == "this-process"
