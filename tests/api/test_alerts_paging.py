"""Escalation pages are kept until the paging gateway takes them (alerts/paging.py): written with
the escalation, sent by whichever process holds the alarm clock, asked again with a growing
wait while the gateway fails, given up on (and logged) after an hour. Driven on the test's own
clock: nothing here waits for a retry's time to come."""

import logging
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.alerts import paging
from backend.alerts.models import EscalationPage
from backend.alerts.ticker import run_tick
from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from tests.api.alert_support import after, alarm_session, bp, the_alarm, wait_for
from tests.api.test_alerts_timers import (
    ESCALATE_AFTER,
    IDLE,
    ManualClock,
    own_database,
    running,
    ticking,
    webhook,
)

URL = "http://gateway.invalid/page"


class Gateway:
    """A paging gateway in the test: records each POST, failing the first `failures`."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[dict[str, Any], str]] = []

    def __call__(self, url: str, payload: dict[str, Any], key: str) -> None:
        assert url == URL
        self.calls.append((payload, key))
        if len(self.calls) <= self.failures:
            raise urllib.error.HTTPError(url, 503, "Service Unavailable", {}, None)  # type: ignore[arg-type]


@contextmanager
def escalated(tmp_path: Path) -> Iterator[tuple[Database, int, datetime]]:
    """A real patient's alarm escalated by a tick at the returned time, with paging on; the
    process that ticked sent nothing (as if it died at once)."""
    with escalated_in(tmp_path) as (_, database, alert_id, now):
        yield database, alert_id, now


@contextmanager
def escalated_in(tmp_path: Path) -> Iterator[tuple[Settings, Database, int, datetime]]:
    with (
        own_database(tmp_path) as (settings, tokens),
        running(settings, tokens[Role.NURSE], alert_tick_seconds=IDLE) as nurse,
    ):
        session = alarm_session(nurse)
        bp(nurse, session["id"], 190)
        alarm = the_alarm(nurse, session["id"], "systolic.above")
        database = Database(settings.database_url)
        try:
            now = after(alarm["raised_at"], ESCALATE_AFTER + 1)
            assert [a.id for a in run_tick(database, now, paging_on=True)] == [alarm["id"]]
            yield settings, database, alarm["id"], now
        finally:
            database.dispose()


def pages(database: Database) -> list[EscalationPage]:
    with database.unit_of_work(write=False) as db:
        rows = list(db.scalars(select(EscalationPage).order_by(EscalationPage.id)))
        db.expunge_all()
        return rows


def test_a_page_written_with_its_escalation_is_sent_by_the_next_process_once(
    tmp_path: Path,
) -> None:
    with escalated(tmp_path) as (database, alert_id, now):
        (page,) = pages(database)
        assert (page.alert_id, page.escalation, page.attempts, page.sent_at) == (
            alert_id,
            1,
            0,
            None,
        )
        # Another process (the next holder of the alarm clock) finds it and sends it.
        gateway = Gateway()
        later = now + timedelta(seconds=7)
        assert paging.send_due(database, URL, later, post=gateway) == paging.Sent(sent=1)
        ((payload, key),) = gateway.calls
        assert payload["event"] == "alert.escalated"
        assert payload["alert"]["id"] == alert_id and payload["alert"]["escalated"] is True
        assert key == f"vigil-alert-{alert_id}-escalation-1"
        # Sent is sent: no later pass sends it again.
        assert paging.send_due(database, URL, later + timedelta(hours=2), post=gateway) == (
            paging.Sent()
        )
        assert len(gateway.calls) == 1
        (page,) = pages(database)
        assert page.sent_at == later and page.attempts == 1 and page.last_error is None


def test_a_failing_gateway_is_asked_again_after_a_growing_wait_until_it_answers(
    tmp_path: Path,
) -> None:
    with escalated(tmp_path) as (database, _, now):
        gateway = Gateway(failures=2)
        assert paging.send_due(database, URL, now, post=gateway) == paging.Sent(retrying=1)
        (page,) = pages(database)
        assert page.next_attempt_at == now + timedelta(seconds=5)
        assert page.last_error == "the gateway answered 503 Service Unavailable"
        # Not due before its time.
        assert paging.send_due(database, URL, now + timedelta(seconds=4), post=gateway) == (
            paging.Sent()
        )
        second = now + timedelta(seconds=5)
        assert paging.send_due(database, URL, second, post=gateway) == paging.Sent(retrying=1)
        assert pages(database)[0].next_attempt_at == second + timedelta(seconds=10)
        third = second + timedelta(seconds=10)
        assert paging.send_due(database, URL, third, post=gateway) == paging.Sent(sent=1)
        # Every attempt carried the same key, so the gateway can drop a repeat.
        assert len({key for _, key in gateway.calls}) == 1 and len(gateway.calls) == 3
        (page,) = pages(database)
        assert (page.attempts, page.sent_at) == (3, third)


def test_a_page_nobody_could_deliver_for_an_hour_is_given_up_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with escalated(tmp_path) as (database, alert_id, now):
        gateway = Gateway(failures=1000)
        assert paging.send_due(database, URL, now, post=gateway) == paging.Sent(retrying=1)
        late = now + paging.GIVE_UP_AFTER
        with caplog.at_level(logging.ERROR, logger="backend.alerts.paging"):
            assert paging.send_due(database, URL, late, post=gateway) == paging.Sent(given_up=1)
        assert f"vigil-alert-{alert_id}-escalation-1 given up" in caplog.text
        (page,) = pages(database)
        assert page.failed_at == late and page.sent_at is None and page.attempts == 2
        assert paging.send_due(database, URL, late + timedelta(hours=1), post=gateway) == (
            paging.Sent()
        )
        assert len(gateway.calls) == 2


def test_a_pass_stops_between_two_pages_when_its_process_stops(tmp_path: Path) -> None:
    with escalated(tmp_path) as (database, alert_id, now):
        # A second page of the same alarm (its next escalation), due at the same time.
        with database.unit_of_work(write=True) as db:
            db.add(
                EscalationPage(
                    alert_id=alert_id,
                    escalation=2,
                    payload={"event": "alert.escalated"},
                    created_at=now,
                    next_attempt_at=now,
                )
            )
        gateway = Gateway()
        stopping = iter([False, True])
        sent = paging.send_due(database, URL, now, post=gateway, stopping=lambda: next(stopping))
        assert sent == paging.Sent(sent=1) and len(gateway.calls) == 1
        # The other waits for the next holder.
        assert paging.send_due(database, URL, now, post=gateway) == paging.Sent(sent=1)
        assert [p.sent_at for p in pages(database)] == [now, now]


def test_an_outcome_recorded_after_another_holder_sent_the_page_changes_nothing(
    tmp_path: Path,
) -> None:
    with escalated(tmp_path) as (database, _, now):
        with database.unit_of_work(write=False) as db:
            (due,) = paging.due(db, now)
        assert paging.send_due(database, URL, now, post=Gateway()) == paging.Sent(sent=1)
        # A holder that sent it too (overlapping takeover) and failed to hear the answer.
        with database.unit_of_work(write=True) as db:
            assert paging.record_attempt(db, due, now, "timed out") == "sent"
        (page,) = pages(database)
        assert (page.attempts, page.last_error) == (1, None)


def test_the_wait_between_attempts_doubles_up_to_five_minutes() -> None:
    waits = [paging.retry_delay(n).total_seconds() for n in range(1, 10)]
    assert waits == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert paging.retry_delay(10_000) == paging.LONGEST_RETRY


def test_the_page_goes_over_http_with_its_key(tmp_path: Path) -> None:
    with escalated(tmp_path) as (database, alert_id, now), webhook() as (url, received, _):
        assert paging.send_due(database, url, now) == paging.Sent(sent=1)
    (body,) = received
    assert body["alert"]["id"] == alert_id


def test_the_alarm_clock_of_the_next_process_sends_what_a_killed_one_left(tmp_path: Path) -> None:
    with escalated_in(tmp_path) as (settings, database, alert_id, now), webhook() as (url, got, _):
        alarm_time = ManualClock(now + timedelta(seconds=3))
        with ticking(settings, alarm_time, url):
            wait_for(lambda: pages(database)[0].sent_at, what="the page recorded as sent")
            alarm_time.wait_ticks(5)  # time for a second sending, were there one
        assert pages(database)[0].sent_at == now + timedelta(seconds=3)
    (body,) = got
    assert body["alert"]["id"] == alert_id
