"""One process of several runs the alarm clock, by a lease in the database (issue 18 item 2).

The clock is the test's: every instant is passed in, nothing sleeps. Two `Lease` objects with
different holders stand for two processes sharing the database; a holder that stops calling
`keep` has died (kill -9: it never releases)."""

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from backend.alerts.models import Alert
from backend.alerts.ticker import tick_as_holder
from backend.core.database import Database
from backend.core.lease import ALARM_CLOCK, Lease, holding, try_hold
from backend.core.roles import Role
from backend.simulation import runner
from backend.simulation import service as simulation
from backend.simulation.models import SimulationRun
from backend.streaming.models import StreamEvent
from tests.api.alert_support import acknowledged, alarm_session, bp, the_alarm
from tests.api.support import parse_time
from tests.api.test_alerts_timers import IDLE, own_database, running
from tests.helpers import chair_named

T0 = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
TTL = 6.0
RENEW = 2.0


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _pair(database: Database, name: str | None = None) -> tuple[Lease, Lease]:
    name = name or f"test-{uuid.uuid4().hex[:8]}"
    return (
        Lease(database, name, TTL, RENEW, holder="process-a"),
        Lease(database, name, TTL, RENEW, holder="process-b"),
    )


def test_a_lease_is_taken_renewed_and_taken_over_only_once_it_lapsed(database: Database) -> None:
    a, b = _pair(database)
    seen: list[tuple[float, bool, bool]] = []

    def both(seconds: float, a_alive: bool = True) -> None:
        now = _at(seconds)
        held_a = a.keep(now) if a_alive else a.held(now)
        held_b = b.keep(now)
        assert not (held_a and held_b), f"both hold the lease at +{seconds} s"
        seen.append((seconds, held_a, held_b))

    both(0)  # a asks first and takes it
    for second in range(1, 20):  # a renews every 2 s; b tries as often and never wins
        both(second)
    assert {(h_a, h_b) for _, h_a, h_b in seen} == {(True, False)}
    with database.unit_of_work(write=False) as db:
        first = holding(db, a.name)
    assert first is not None and (first.holder, first.term) == ("process-a", 1)
    # a renewed last at +18 s (its lease runs to +24 s), then died: b waits the lease out.
    for second in range(20, 24):
        both(second, a_alive=False)
        assert seen[-1][2] is False
    both(24.5, a_alive=False)
    assert seen[-1][2] is True  # b's first try after +24 s
    with database.unit_of_work(write=False) as db:
        now_held = holding(db, a.name)
    assert now_held is not None and (now_held.holder, now_held.term) == ("process-b", 2)
    assert now_held.taken_at == _at(24.5)
    # a comes back (a process frozen, not dead): its next try finds the lease b's.
    assert a.keep(_at(25)) is False
    assert b.keep(_at(25)) is True


class Unreachable:
    """A database that cannot be reached: every transaction fails to begin."""

    def unit_of_work(self, *, write: bool) -> Any:
        raise OperationalError("BEGIN", {}, ConnectionRefusedError("connection refused"))


def test_a_holder_counts_on_the_lease_only_until_the_expiry_it_wrote(database: Database) -> None:
    a, b = _pair(database)
    assert a.keep(_at(0))
    # The database is out of reach for a: it cannot renew, and stops acting when its term ends.
    a._database = Unreachable()  # type: ignore[assignment]
    assert a.keep(_at(3)) is True
    assert a.keep(_at(5.9)) is True
    assert a.keep(_at(6)) is False
    assert b.keep(_at(6.001)) is True


def test_a_clean_stop_hands_the_lease_over_at_once(database: Database) -> None:
    a, b = _pair(database)
    assert a.keep(_at(0)) and not b.keep(_at(0))
    a.release(_at(1))
    assert b.keep(_at(2)) is True  # its next try, not after the lease would have lapsed


def test_of_many_processes_taking_a_lapsed_lease_at_once_exactly_one_wins(
    database: Database,
) -> None:
    """Compare-and-set in one UPDATE: contenders on engines of their own (SQLite's file lock,
    PostgreSQL's row lock decide), started together by a barrier."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    contenders = 6
    engines = [Database(database.url) for _ in range(contenders)]
    start = threading.Barrier(contenders)
    won: list[str] = []

    def contend(index: int) -> None:
        start.wait()
        with engines[index].unit_of_work(write=True) as db:
            if try_hold(db, name, f"p{index}", _at(0), timedelta(seconds=TTL)):
                won.append(f"p{index}")

    try:
        for _round in range(3):  # three rounds: the lease lapses between them
            won.clear()
            threads = [threading.Thread(target=contend, args=(i,)) for i in range(contenders)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert len(won) == 1, won
            with database.unit_of_work(write=True) as db:
                held = holding(db, name)
                assert held is not None and held.holder == won[0]
                # Lapse it for the next round (as if its holder died long ago).
                try_hold(db, name, won[0], _at(-TTL - 1), timedelta(seconds=TTL))
    finally:
        for engine in engines:
            engine.dispose()


# ---- the alarm clock across a handover ------------------------------------------------------


def _changes_streamed(database: Database, session_id: int, alert_id: int, change: str) -> int:
    with database.unit_of_work(write=False) as db:
        events = db.scalars(
            select(StreamEvent).where(
                StreamEvent.kind == "alert.changed", StreamEvent.session_id == session_id
            )
        ).all()
        return sum(
            1 for e in events if e.payload["id"] == alert_id and change in e.payload["changes"]
        )


def _escalations(database: Database, alert_id: int) -> int:
    with database.unit_of_work(write=False) as db:
        row = db.get(Alert, alert_id)
        assert row is not None
        return row.escalations


def test_an_escalation_due_while_nobody_held_the_clock_fires_once_on_takeover(
    tmp_path: Path,
) -> None:
    with own_database(tmp_path) as (settings, tokens):
        with running(settings, tokens[Role.NURSE], alert_tick_seconds=IDLE) as nurse:
            session = alarm_session(nurse)
            bp(nurse, session["id"], 190, diastolic=80)  # high: escalates after 120 s unanswered
            alarm = the_alarm(nurse, session["id"], "systolic.above")
        raised = parse_time(alarm["alerted_at"])
        database = Database(settings.database_url)
        try:
            a = Lease(database, ALARM_CLOCK, TTL, RENEW, holder="process-a")
            b = Lease(database, ALARM_CLOCK, TTL, RENEW, holder="process-b")

            def at(seconds: float) -> datetime:
                return raised + timedelta(seconds=seconds)

            for second in range(100, 112, 2):  # a holds and ticks; b stands by
                assert tick_as_holder(database, a, at(second)) == []
                assert tick_as_holder(database, b, at(second)) is None
            # a died after its tick at +110 s (its lease runs to +116 s); escalation is due at
            # +120 s with nobody holding the clock; b's tries before the lease lapsed fail.
            assert tick_as_holder(database, b, at(114)) is None
            escalated = tick_as_holder(database, b, at(126))  # b takes over, catches up
            assert escalated is not None and [e.id for e in escalated] == [alarm["id"]]
            # a comes back (frozen, not dead): not the holder, it does not tick.
            assert tick_as_holder(database, a, at(127)) is None
            assert tick_as_holder(database, b, at(128)) == []
            assert _escalations(database, alarm["id"]) == 1
            assert _changes_streamed(database, session["id"], alarm["id"], "escalated") == 1
        finally:
            database.dispose()


def test_what_the_old_holder_fired_the_new_one_does_not_fire_again(tmp_path: Path) -> None:
    """An escalation and a reminder made by a holder that then died are on the alarm already:
    the next holder, ticking at once on taking over, repeats neither."""
    with own_database(tmp_path) as (settings, tokens):
        with running(settings, tokens[Role.NURSE], alert_tick_seconds=IDLE) as nurse:
            session = alarm_session(nurse)
            bp(nurse, session["id"], 190, diastolic=80)
            alarm = the_alarm(nurse, session["id"], "systolic.above")
            seen = acknowledged(nurse, alarm["id"], "called the doctor")
        acked = parse_time(seen["acknowledged_at"])
        database = Database(settings.database_url)
        try:
            a = Lease(database, ALARM_CLOCK, TTL, RENEW, holder="process-a")
            b = Lease(database, ALARM_CLOCK, TTL, RENEW, holder="process-b")

            def at(seconds: float) -> datetime:
                return acked + timedelta(seconds=seconds)

            assert tick_as_holder(database, a, at(170)) == []
            assert tick_as_holder(database, b, at(170)) is None
            # a reminds (the alarm acknowledged 3 minutes ago re-alerts) and then dies.
            assert tick_as_holder(database, a, at(181)) == []
            assert _changes_streamed(database, session["id"], alarm["id"], "reminded") == 1
            assert tick_as_holder(database, b, at(186)) is None  # a's lease runs to +187 s
            assert tick_as_holder(database, b, at(188)) == []  # b took over: no second reminder
            assert _changes_streamed(database, session["id"], alarm["id"], "reminded") == 1
            # The reminder went unanswered: b escalates it 120 s later, once; then b dies and a
            # (back again) takes over and ticks at once: nothing is escalated a second time.
            escalated = tick_as_holder(database, b, at(302))
            assert escalated is not None and [e.id for e in escalated] == [alarm["id"]]
            assert tick_as_holder(database, a, at(303)) is None
            assert tick_as_holder(database, a, at(309)) == []
            assert _escalations(database, alarm["id"]) == 1
            assert _changes_streamed(database, session["id"], alarm["id"], "escalated") == 1
        finally:
            database.dispose()


def test_two_processes_ticking_at_the_same_instant_escalate_once(tmp_path: Path) -> None:
    """The guard beneath the lease: should two processes tick at once (hosts' clocks skewed
    past the lease's margin), each session is ticked under its row lock, on the alarm's state
    as stored, so an escalation is made once."""
    with own_database(tmp_path) as (settings, tokens):
        with running(settings, tokens[Role.NURSE], alert_tick_seconds=IDLE) as nurse:
            session = alarm_session(nurse)
            bp(nurse, session["id"], 190, diastolic=80)
            alarm = the_alarm(nurse, session["id"], "systolic.above")
        due = parse_time(alarm["alerted_at"]) + timedelta(seconds=121)
        engines = [Database(settings.database_url) for _ in range(2)]
        leases = [
            Lease(engine, f"not-shared-{i}", TTL, RENEW, holder=f"p{i}")
            for i, engine in enumerate(engines)
        ]
        start = threading.Barrier(2)
        fired: list[int] = []

        def tick(index: int) -> None:
            start.wait()
            escalated = tick_as_holder(engines[index], leases[index], due)
            assert escalated is not None  # each holds a lease of its own: both tick
            fired.extend(e.id for e in escalated)

        try:
            threads = [threading.Thread(target=tick, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert fired == [alarm["id"]]
            assert _escalations(engines[0], alarm["id"]) == 1
        finally:
            for engine in engines:
                engine.dispose()


def test_a_simulation_run_whose_process_died_is_taken_over_within_ten_seconds(
    tmp_path: Path,
) -> None:
    """The simulator's runs are singletons too, each under a lease of its own on its row."""
    with own_database(tmp_path) as (settings, tokens):
        with running(settings, tokens[Role.TRAINER], simulation_tick_seconds=IDLE) as trainer:
            chair_named(trainer, "Sim L")
            body = {"scenario": "routine_infusion", "chair": "Sim L", "seed": 4}
            response = trainer.post("/api/simulations", json=body)
            assert response.status_code == 201, response.text
            sid = response.json()["session_id"]
        database = Database(settings.database_url)
        try:
            with database.unit_of_work(write=True) as db:
                # Its process was killed: it still holds the run, renewed last at T0.
                run = db.get(SimulationRun, sid)
                assert run is not None
                run.owner, run.lease_until = "killed", T0 + simulation.LEASE
            last_renewal_at = T0
            with database.unit_of_work(write=True) as db:
                early = simulation.claim(db, "survivor", last_renewal_at + simulation.LEASE, [])
            assert early == []
            # The survivor claims every CLAIM_EVERY_S: its first claim after the lease lapsed.
            at = last_renewal_at + simulation.LEASE + timedelta(seconds=runner.CLAIM_EVERY_S)
            with database.unit_of_work(write=True) as db:
                taken = simulation.claim(db, "survivor", at, [])
                assert [r.session_id for r in taken] == [sid]
            assert (at - last_renewal_at).total_seconds() <= 10
        finally:
            database.dispose()
