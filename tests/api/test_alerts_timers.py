"""Rules the clock decides: condition delays, escalation, reminders, no data, overdue readings,
and that they carry on across a restart.

Time here is the test's: this module's app never ticks on its own, and each test moves the
alarm clock to the instant it means (a delay just short of running out, then just past it)
instead of sleeping until then. So the clinic's own timings (10 s, 2 min, 10 min) are tested
as they are, in milliseconds."""

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from backend.alerts.paging import TIMEOUT_SECONDS as WEBHOOK_TIMEOUT_SECONDS
from backend.alerts.ticker import run_tick, run_ticker
from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.main import create_app
from backend.readings.models import Reading
from backend.users import service as users
from tests.api.alert_support import (
    acknowledged,
    after,
    alarm_session,
    alarms_of,
    bp,
    open_alarm,
    open_alarms_of,
    record,
    session_with_limits,
    set_limits,
    the_alarm,
    tick,
    tick_and_read,
    vital_limit,
    wait_for,
    ward_tile,
)
from tests.api.support import move, parse_time
from tests.conftest import PASSWORD, ROLE_USERS, migrated_database, shared_app

TICK = 0.1  # for other modules' apps that tick on their own, fast
IDLE = 3600.0  # an app whose own alarm clock never ticks during a test
DELAY = 10.0
HEART_RATE_DELAYED = vital_limit(above=(120, 140), below=(50, 40), delay_s=DELAY, hysteresis=3)
# The clinic's defaults (backend/alerts/limits.py), which these tests time against.
ESCALATE_AFTER = 120.0
NO_DATA_AFTER = 30.0
BP_DUE_INFUSING = 600.0


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    """This module's app: its alarm clock stays still; the tests move it (`tick`)."""
    return shared_app(settings.model_copy(update={"alert_tick_seconds": IDLE}))


def _seconds_between(earlier: str, later: str) -> float:
    return (parse_time(later) - parse_time(earlier)).total_seconds()


# ---- condition delays ---------------------------------------------------------------------


def test_a_heart_rate_over_its_limit_for_longer_than_the_delay_alarms_without_a_new_reading(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    set_limits(as_nurse, session["id"], {"baseline": {"heart_rate": HEART_RATE_DELAYED}})
    reading = record(as_nurse, session["id"], heart_rate=130)

    tick(database, session["id"], after(reading["received_at"], DELAY - 1))
    assert alarms_of(as_nurse, session["id"]) == []  # the delay is still running
    tick(database, session["id"], after(reading["received_at"], DELAY + 0.5))
    alarm = open_alarm(as_nurse, session["id"], "heart_rate.above")()
    assert alarm is not None, alarms_of(as_nurse, session["id"])
    assert alarm["priority"] == "medium"
    assert "130" in alarm["message"]
    assert DELAY <= _seconds_between(reading["received_at"], alarm["raised_at"]) <= DELAY + 0.5


def test_a_breach_shorter_than_the_delay_never_alarms(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    set_limits(as_nurse, session["id"], {"baseline": {"heart_rate": HEART_RATE_DELAYED}})
    record(as_nurse, session["id"], heart_rate=130)
    back = record(as_nurse, session["id"], heart_rate=100)
    tick(database, session["id"], after(back["received_at"], DELAY * 3))
    assert alarms_of(as_nurse, session["id"]) == []


def test_the_default_heart_rate_delay_holds_a_single_high_reading_back_for_10_s(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    reading = record(as_nurse, session["id"], heart_rate=150)
    tick(database, session["id"], after(reading["received_at"], 9))
    assert alarms_of(as_nurse, session["id"]) == []
    tick(database, session["id"], after(reading["received_at"], 10.5))
    alarm = open_alarm(as_nurse, session["id"], "heart_rate.above")()
    assert alarm is not None and alarm["priority"] == "high"


def test_a_shorter_high_priority_delay_raises_high_first(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    spo2 = vital_limit(below=(92, 89), delay_s=30, high_delay_s=5, hysteresis=1)
    set_limits(as_nurse, session["id"], {"baseline": {"spo2": spo2}})
    reading = record(as_nurse, session["id"], spo2=85)
    tick(database, session["id"], after(reading["received_at"], 6))
    alarm = open_alarm(as_nurse, session["id"], "spo2.below")()
    assert alarm is not None and alarm["priority"] == "high"


# ---- escalation and reminders -------------------------------------------------------------


def test_an_alarm_nobody_acknowledges_escalates_and_the_ward_sees_it(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)  # the clinic's default: escalation after 2 minutes
    bp(as_nurse, session["id"], 190, diastolic=112)
    seen = acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "diastolic.above")["id"])
    ignored = the_alarm(as_nurse, session["id"], "systolic.above")

    assert tick(database, session["id"], after(ignored["raised_at"], ESCALATE_AFTER - 1)) == []
    (escalated,) = tick(database, session["id"], after(ignored["raised_at"], ESCALATE_AFTER + 1))
    assert escalated.id == ignored["id"]
    assert escalated.escalated_at is not None
    now = the_alarm(as_nurse, session["id"], "systolic.above")
    assert now["escalated"] is True and now["status"] == "active"
    assert _seconds_between(now["raised_at"], now["escalated_at"]) >= ESCALATE_AFTER
    assert ward_tile(as_nurse, session["id"])["alert"]["escalated"] is True
    # The acknowledged one was answered: it does not escalate.
    answered = the_alarm(as_nurse, session["id"], "diastolic.above")
    assert (answered["escalated"], answered["status"]) == (False, "acknowledged")
    assert seen["status"] == "acknowledged"


def test_an_acknowledged_alarm_still_present_alerts_again_after_the_reminder_interval(
    as_admin: TestClient, as_nurse: TestClient, database: Database
) -> None:
    reminder = 90.0

    def own_reminder(limits: dict[str, Any]) -> None:
        limits["timing"]["reminder_s"] = reminder

    session = session_with_limits(as_admin, as_nurse, own_reminder)
    bp(as_nurse, session["id"], 165)
    seen = acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "systolic.above")["id"])
    assert seen["status"] == "acknowledged"

    tick(database, session["id"], after(seen["acknowledged_at"], reminder - 1))
    assert the_alarm(as_nurse, session["id"], "systolic.above")["status"] == "acknowledged"
    tick(database, session["id"], after(seen["acknowledged_at"], reminder + 1))
    reminded = the_alarm(as_nurse, session["id"], "systolic.above")
    assert reminded["status"] == "active"
    assert _seconds_between(seen["acknowledged_at"], reminded["alerted_at"]) >= reminder
    assert reminded["acknowledged_by"] == "test-nurse"  # the record of who answered stays


# ---- continuous sources and manual monitoring -----------------------------------------------


def test_a_silent_monitor_raises_a_technical_alarm_that_only_its_next_reading_clears(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    move(as_nurse, session["id"], "infusing")
    last = record(as_nurse, session["id"], heart_rate=80, source="device")

    at = after(last["received_at"], NO_DATA_AFTER - 1)
    assert tick_and_read(database, session["id"], at, "no_data") is None
    at = after(last["received_at"], NO_DATA_AFTER + 1)
    alarm = tick_and_read(database, session["id"], at, "no_data")
    assert alarm is not None
    assert (alarm["kind"], alarm["priority"]) == ("technical", "medium")
    assert _seconds_between(last["received_at"], alarm["raised_at"]) > NO_DATA_AFTER

    bp(as_nurse, session["id"], 120)  # a manual entry does not stand in for the monitor
    assert the_alarm(as_nurse, session["id"], "no_data")["status"] == "active"
    record(as_nurse, session["id"], heart_rate=81, source="simulator")
    assert the_alarm(as_nurse, session["id"], "no_data")["status"] == "resolved"


def test_a_manually_monitored_infusion_without_a_recent_bp_gets_an_overdue_advisory(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    dosing = move(as_nurse, session["id"], "infusing")  # its gate took a blood pressure

    at = after(dosing["phase_changed_at"], BP_DUE_INFUSING - 5)
    assert tick_and_read(database, session["id"], at, "bp_overdue") is None
    at = after(dosing["phase_changed_at"], BP_DUE_INFUSING + 1)
    alarm = tick_and_read(database, session["id"], at, "bp_overdue")
    assert alarm is not None
    assert (alarm["kind"], alarm["priority"]) == ("advisory", "low")  # a reminder, not a danger

    bp(as_nurse, session["id"], 120)
    assert the_alarm(as_nurse, session["id"], "bp_overdue")["status"] == "resolved"


def test_a_device_sending_only_blood_pressure_gets_the_bp_reminder_never_no_data(
    as_nurse: TestClient, database: Database
) -> None:
    """Issue 11: an intermittent cuff (a reading every few minutes) is not a continuous feed."""
    session = alarm_session(as_nurse)
    move(as_nurse, session["id"], "infusing")
    cuff = record(as_nurse, session["id"], systolic=124, diastolic=80, source="device")
    at = after(cuff["received_at"], BP_DUE_INFUSING + 1)
    overdue = tick_and_read(database, session["id"], at, "bp_overdue")
    assert overdue is not None and overdue["kind"] == "advisory"
    # Ten minutes without a "continuous" value, yet no no-data alarm: the cuff is not a feed.
    assert "no_data" not in {a["condition"] for a in alarms_of(as_nurse, session["id"])}

    record(as_nurse, session["id"], systolic=126, diastolic=82, source="device")
    assert the_alarm(as_nurse, session["id"], "bp_overdue")["status"] == "resolved"


def test_a_monitor_feed_that_stops_is_no_data_even_while_its_cuff_keeps_measuring(
    as_nurse: TestClient, database: Database
) -> None:
    session = alarm_session(as_nurse)
    move(as_nurse, session["id"], "infusing")
    feed = record(as_nurse, session["id"], heart_rate=80, spo2=97, source="device")
    # The monitor's last value arrived a minute ago; its cuff measured just now.
    with database.unit_of_work(write=True) as db:
        db.execute(
            update(Reading)
            .where(Reading.id == feed["id"])
            .values(received_at=parse_time(feed["received_at"]) - timedelta(minutes=1))
        )
    cuff = record(as_nurse, session["id"], systolic=124, diastolic=80, source="device")

    alarm = tick_and_read(database, session["id"], after(cuff["received_at"], 1), "no_data")
    assert alarm is not None
    assert (alarm["kind"], alarm["priority"]) == ("technical", "medium")
    record(as_nurse, session["id"], spo2=97, source="device")  # the monitor is back
    assert the_alarm(as_nurse, session["id"], "no_data")["status"] == "resolved"


# ---- across a restart, and the escalation webhook ----------------------------------------


@contextmanager
def own_database(tmp_path: Path) -> Iterator[tuple[Settings, dict[Role, str]]]:
    """A database of its own, so that no other app's alarm clock works on it."""
    with migrated_database(tmp_path) as url:
        database = Database(url)
        with database.unit_of_work(write=True) as db:
            tokens = {role: users.create_token(db, f"t-{role}", role)[1] for role in Role}
            # The accounts too: the tests' helpers configure chairs as the admin.
            for role, name in ROLE_USERS.items():
                users.create_user(db, name, PASSWORD, role)
        database.dispose()
        yield Settings(database_url=url, _env_file=None), tokens


@contextmanager
def running(settings: Settings, token: str, **changes: Any) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update=changes))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def test_a_condition_delay_started_before_a_restart_completes_after_it(tmp_path: Path) -> None:
    with own_database(tmp_path) as (settings, tokens):
        with running(settings, tokens[Role.NURSE], alert_tick_seconds=IDLE) as before:
            session = alarm_session(before)
            set_limits(before, session["id"], {"baseline": {"heart_rate": HEART_RATE_DELAYED}})
            reading = record(before, session["id"], heart_rate=130)
        # The server is down while the delay runs out; the next process's first tick finds it.
        database = Database(settings.database_url)
        try:
            run_tick(database, after(reading["received_at"], DELAY + 1))
        finally:
            database.dispose()
        with running(settings, tokens[Role.NURSE], alert_tick_seconds=IDLE) as restarted:
            alarm = open_alarm(restarted, session["id"], "heart_rate.above")()
    assert alarm is not None and alarm["priority"] == "medium"


class ManualClock:
    """The alarm clock's time in a test: the instant the test set, and how many ticks read it."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._reads = 0
        self._read = threading.Condition()

    def __call__(self) -> datetime:
        with self._read:
            self._reads += 1
            self._read.notify_all()
            return self.now

    def wait_ticks(self, count: int, within: float = 10.0) -> None:
        """Wait until `count` more ticks began, so `count - 1` whole ticks ran at `now`."""
        with self._read:
            target = self._reads + count
            assert self._read.wait_for(lambda: self._reads >= target, timeout=within), (
                f"the alarm clock did not tick {count} times in {within} s"
            )


@contextmanager
def ticking(settings: Settings, alarm_time: ManualClock, webhook_url: str | None) -> Iterator[None]:
    """The ticker as the app runs it (its webhook deliveries too), on the test's clock, ticking
    as fast as it can while the test changes the time."""
    database = Database(settings.database_url)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ticker = run_ticker(database, 0.01, webhook_url, stop, alarm_time)
    thread = threading.Thread(target=loop.run_until_complete, args=(ticker,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()
        database.dispose()


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    answer_after: float = 0.0  # a paging gateway that is slow to answer...
    release: threading.Event  # ... until the test is done with it

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.release.wait(self.answer_after)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def webhook(
    answer_after: float = 0.0,
) -> Iterator[tuple[str, list[dict[str, Any]], threading.Event]]:
    received: list[dict[str, Any]] = []
    release = threading.Event()
    handler = type(
        "Handler",
        (_Webhook,),
        {"received": received, "answer_after": answer_after, "release": release},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/page", received, release
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_an_escalated_alarm_is_sent_to_the_webhook_once(tmp_path: Path) -> None:
    with (
        own_database(tmp_path) as (settings, tokens),
        webhook() as (url, received, _),
        running(settings, tokens[Role.NURSE], alert_tick_seconds=IDLE) as nurse,
    ):
        session = alarm_session(nurse)
        bp(nurse, session["id"], 190)
        raised = the_alarm(nurse, session["id"], "systolic.above")["raised_at"]
        alarm_time = ManualClock(parse_time(raised))
        with ticking(settings, alarm_time, url):
            alarm_time.wait_ticks(3)
            assert received == []  # not escalated yet
            alarm_time.now = after(raised, ESCALATE_AFTER + 1)
            wait_for(lambda: received, what="the webhook")
            alarm_time.now = after(raised, ESCALATE_AFTER * 3)
            alarm_time.wait_ticks(5)
        (open_one,) = open_alarms_of(nurse, session["id"])
    (call,) = received
    assert call["event"] == "alert.escalated"
    assert call["alert"]["id"] == open_one["id"]
    assert call["alert"]["session_id"] == session["id"]
    assert call["alert"]["escalated"] is True
    assert call["alert"]["priority"] == "high"
    assert timedelta(0) <= parse_time(call["alert"]["escalated_at"]) - parse_time(
        open_one["raised_at"]
    )


def test_a_simulated_sessions_escalation_is_never_sent_to_the_paging_webhook(
    tmp_path: Path,
) -> None:
    with (
        own_database(tmp_path) as (settings, tokens),
        webhook() as (url, received, _),
        running(settings, tokens[Role.TRAINER], alert_tick_seconds=IDLE) as trainer,
    ):
        drill = alarm_session(trainer, simulated=True)
        bp(trainer, drill["id"], 190)
        raised = the_alarm(trainer, drill["id"], "systolic.above")["raised_at"]
        alarm_time = ManualClock(after(raised, ESCALATE_AFTER + 1))
        with ticking(settings, alarm_time, url):
            alarm_time.wait_ticks(2)
            assert the_alarm(trainer, drill["id"], "systolic.above")["escalated"]
            alarm_time.wait_ticks(5)  # time for a delivery, were one sent
    assert received == []  # escalated on the screens, but nobody was paged


def test_a_slow_paging_gateway_does_not_stop_the_alarm_clock(tmp_path: Path) -> None:
    with (
        own_database(tmp_path) as (settings, tokens),
        webhook(answer_after=30.0) as (url, got, release),
        running(settings, tokens[Role.NURSE], alert_tick_seconds=IDLE) as nurse,
    ):
        escalating = alarm_session(nurse)
        bp(nurse, escalating["id"], 190)
        raised = the_alarm(nurse, escalating["id"], "systolic.above")["raised_at"]
        alarm_time = ManualClock(after(raised, ESCALATE_AFTER + 1))
        with ticking(settings, alarm_time, url):
            wait_for(lambda: got, what="the webhook")  # now it keeps us waiting
            other = alarm_session(nurse)
            set_limits(nurse, other["id"], {"baseline": {"heart_rate": HEART_RATE_DELAYED}})
            reading = record(nurse, other["id"], heart_rate=130)
            alarm_time.now = after(reading["received_at"], DELAY + 1)
            try:
                # The delay completes on the clock while the gateway is still answering (the
                # ticker's own call to it would give up only after WEBHOOK_TIMEOUT_SECONDS).
                alarm_time.wait_ticks(2, within=WEBHOOK_TIMEOUT_SECONDS / 2)
                assert open_alarm(nurse, other["id"], "heart_rate.above")()
            finally:
                release.set()


def test_a_tick_that_read_the_clock_before_a_reading_committed_does_not_lower_its_alarm(
    as_nurse: TestClient, database: Database
) -> None:
    """The ticker reads the clock, then waits for the session's lock while a reading commits: a
    high alarm judged at that earlier instant looked unconfirmed and dropped to medium."""
    session = alarm_session(as_nurse)
    bp(as_nurse, session["id"], 120, diastolic=80)
    move(as_nurse, session["id"], "infusing")
    bp(as_nurse, session["id"], 186, diastolic=90)
    raised = acknowledged(as_nurse, the_alarm(as_nurse, session["id"], "systolic.above")["id"])
    assert raised["priority"] == "high"

    before = parse_time(raised["raised_at"]) - timedelta(seconds=2)
    tick(database, session["id"], before)
    after = the_alarm(as_nurse, session["id"], "systolic.above")
    assert (after["priority"], after["message"]) == ("high", raised["message"])
