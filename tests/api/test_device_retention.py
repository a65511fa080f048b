"""Device messages are kept for `device_message_retention_hours`, then pruned by the pruner's
pass (devices/retention.py): their readings stay in the record, a device's count of messages
waiting for a chair follows, a resend after its message went is still stored once, and a pass
is bounded.

Pruning runs against the API tests' database with a cutoff just past this test's messages, so
it also removes older messages earlier tests left, which they no longer need. Times are passed
in (the clock is the caller's), except in the one test of the running app's wiring."""

import logging
import threading
import uuid
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from backend.core import housekeeping
from backend.core.database import Database
from backend.core.settings import Settings
from backend.devices import retention
from backend.devices import service as device_service
from backend.devices.report import DeviceReport
from tests.api.support import now
from tests.api.test_devices import bind, listed, new_eui, receive, report, session_on_new_chair
from tests.conftest import shared_app
from tests.helpers import readings_of

RETENTION = timedelta(hours=72)


def prune_up_to(database: Database, cutoff: datetime, *, batch: int = 1000) -> int:
    """Prune as the pruner would at `cutoff + RETENTION`, to the end; how many went."""
    pruned = retention.prune(database, cutoff + RETENTION, RETENTION, batch=batch, max_batches=50)
    assert pruned.done
    return pruned.deleted


def stored(database: Database, message: DeviceReport) -> bool:
    with database.unit_of_work(write=False) as db:
        return device_service.find_message(db, message.sender, message.control_id) is not None


def test_messages_past_their_retention_go_and_their_readings_stay(
    as_nurse: TestClient, database: Database
) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    eui = new_eui()
    start = now()
    first = report(eui, {"spo2": 97}, taken_at=start - timedelta(seconds=20))
    receive(database, first)  # the device is known from here on: bind it
    bind(as_nurse, eui, chair_id)
    old = [report(eui, {"spo2": 96 - n}, taken_at=start - timedelta(seconds=n)) for n in range(2)]
    for message in old:
        assert receive(database, message, start).stored == 1
    later = report(eui, {"spo2": 92}, taken_at=start)
    assert receive(database, later, start + timedelta(hours=2)).stored == 1

    assert prune_up_to(database, start + timedelta(hours=1)) >= 3
    assert [stored(database, m) for m in (first, *old, later)] == [False, False, False, True]
    assert sorted(r["spo2"] for r in readings_of(as_nurse, session["id"])) == [92, 95, 96]
    device = listed(as_nurse, eui)
    assert (device["messages"], device["kept"]) == (4, 0)  # counted once, kept none


def test_a_devices_kept_count_loses_the_waiting_messages_that_went(
    as_nurse: TestClient, database: Database
) -> None:
    eui = new_eui()
    start = now()
    for at in (start, start, start + timedelta(hours=2)):
        receive(database, report(eui, {"spo2": 95}, taken_at=start), at)
    sender = f"NO_EUI_GW^{uuid.uuid4().hex[:6]}"
    for at in (start, start + timedelta(hours=2)):
        receive(database, report(None, {"spo2": 97}, sender=sender, taken_at=start), at)
    assert listed(as_nurse, eui)["kept"] == 3

    prune_up_to(database, start + timedelta(hours=1))
    device = listed(as_nurse, eui)
    assert (device["messages"], device["kept"]) == (3, 1)
    senders = as_nurse.get("/api/devices").json()["senders_without_device"]
    assert [s["kept"] for s in senders if s["sender"] == sender] == [1]


def test_a_resend_after_its_message_went_is_still_stored_once(
    as_nurse: TestClient, database: Database
) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    eui = new_eui()
    start = now()
    receive(database, report(eui, {"spo2": 98}, taken_at=start - timedelta(seconds=30)))
    bind(as_nurse, eui, chair_id)
    message = report(eui, {"spo2": 94, "heart_rate": 77}, taken_at=start)
    assert receive(database, message, start).stored == 1
    prune_up_to(database, start + timedelta(seconds=1))
    assert not stored(database, message)

    again = receive(database, message)  # its readings' ids come from the message: no new rows
    assert again.stored == 0
    assert [(r["spo2"], r["heart_rate"]) for r in readings_of(as_nurse, session["id"])] == [
        (94, 77)
    ]


def test_a_pass_is_bounded_and_the_next_goes_on_where_it_stopped(database: Database) -> None:
    start = now()
    messages = [report(None, {"spo2": 97}, taken_at=start) for _ in range(5)]
    for message in messages:
        receive(database, message, start)
    prune_up_to(database, start)  # what earlier tests left, first

    cutoff = start + timedelta(seconds=1) + RETENTION
    first = retention.prune(database, cutoff, RETENTION, batch=2, max_batches=2)
    assert (first.deleted, first.done) == (4, False)
    assert [stored(database, m) for m in messages].count(True) == 1
    rest = retention.prune(database, cutoff, RETENTION, batch=2, max_batches=2)
    assert (rest.deleted, rest.done) == (1, True)


class PassDone(logging.Handler):
    """Told, by the pruner's log, when a pass of `what` has deleted something: the test waits on
    that rather than polling the database."""

    def __init__(self, what: str) -> None:
        super().__init__(logging.INFO)
        self.what = what
        self.done = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().endswith(self.what):
            self.done.set()


def test_the_running_app_prunes_device_messages_past_their_retention(
    settings: Settings, database: Database
) -> None:
    long_ago = now() - timedelta(hours=100)
    old = report(new_eui(), {"spo2": 96}, taken_at=long_ago)
    receive(database, old, long_ago)
    recent = report(new_eui(), {"spo2": 96})
    receive(database, recent)
    quick = settings.model_copy(update={"stream_prune_seconds": 0.05})
    pruned = PassDone("device messages")
    logger = logging.getLogger(housekeeping.__name__)
    level = logger.level
    logger.addHandler(pruned)
    logger.setLevel(logging.INFO)
    try:
        with TestClient(shared_app(quick)):
            assert pruned.done.wait(10), "the running app pruned no device messages"
    finally:
        logger.removeHandler(pruned)
        logger.setLevel(level)
    assert not stored(database, old)
    assert stored(database, recent)
