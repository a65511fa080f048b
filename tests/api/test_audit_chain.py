"""The audit trail is append-only and tamper-evident: the database refuses to change or delete
an event, appends never fork the chain, and `vigil audit verify` says where a tampered chain
breaks (edited, deleted or inserted events), exiting non-zero."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from backend.audit import service as audit
from backend.audit.chain import GENESIS, Link, hash_of
from backend.audit.models import AuditEvent
from backend.cli import main
from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.roles import Role
from backend.migrations import upgrade
from tests.conftest import empty_database

NURSE = Actor("user", 1, "jo", Role.NURSE)


@pytest.fixture
def trail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A database of its own (these tests tamper with it), holding five events."""
    with empty_database(tmp_path) as url:
        upgrade(url)
        monkeypatch.setenv("VIGIL_DATABASE_URL", url)
        database = Database(url)
        for n in range(1, 6):
            audit.record_apart(
                database,
                NURSE,
                "session.view",
                session_id=n,
                patient_id=10 + n,
                detail={"n": n, "note": "ü ✓"},
            )
        try:
            yield database
        finally:
            database.dispose()


def verify_cli(capsys: pytest.CaptureFixture[str], batch: int = 2) -> tuple[int, str]:
    """`vigil audit verify` in small batches (the walk crosses batch boundaries)."""
    try:
        main(["audit", "verify", "--batch", str(batch)])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return code, capsys.readouterr().out


def tamper(engine: Engine, sql: str) -> None:
    """Raw SQL past the append-only trigger, as someone with the database's owner rights could."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
            conn.execute(text(sql))


def test_an_intact_chain_verifies_with_its_count(
    trail: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify_cli(capsys)
    assert code == 0, out
    assert out.startswith("OK: 5 audit events")


@pytest.mark.parametrize(
    ("sql", "broken_at", "why"),
    [
        ("UPDATE audit_events SET actor_name = 'someone' WHERE id = 3", 3, "changed"),
        ("UPDATE audit_events SET detail = NULL WHERE id = 2", 2, "changed"),
        ("DELETE FROM audit_events WHERE id = 3", 4, "deleted"),
        ("DELETE FROM audit_events WHERE id = 5", 5, "deleted"),
        ("UPDATE audit_events SET id = 7 WHERE id = 5", 7, "inserted"),
    ],
    ids=["edited", "edited-detail", "deleted", "deleted-last", "renumbered"],
)
def test_verify_names_the_event_where_a_tampered_chain_breaks(
    trail: Database, capsys: pytest.CaptureFixture[str], sql: str, broken_at: int, why: str
) -> None:
    tamper(trail.engine, sql)
    code, out = verify_cli(capsys)
    assert code == 1
    assert out.startswith(f"BROKEN at event {broken_at}:"), out
    assert why in out


def test_a_forged_event_with_a_valid_hash_breaks_the_chain_after_it(
    trail: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    # Event 3 replaced by a forgery whose hash is right for its content and its place after
    # event 2: it holds, but event 4 was chained to the original and no longer follows.
    with trail.engine.begin() as conn:
        before = conn.execute(text("SELECT hash FROM audit_events WHERE id = 2")).scalar_one()
    forged = Link(
        id=3,
        at=datetime.now(UTC),
        actor_kind="user",
        actor_name="forger",
        actor_role="admin",
        action="session.view",
        address=None,
        patient_id=None,
        session_id=None,
        target=None,
        detail=None,
        prev_hash=before,
    )
    values = {**forged.__dict__, "hash": hash_of(forged)}
    tamper(trail.engine, "DELETE FROM audit_events WHERE id = 3")
    with trail.engine.begin() as conn:
        conn.execute(insert(AuditEvent).values(values))
    code, out = verify_cli(capsys)
    assert code == 1
    assert out.startswith("BROKEN at event 4:") and "inserted" in out, out


def test_an_event_added_beyond_the_head_is_caught(
    trail: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with trail.engine.begin() as conn:
        row = conn.execute(select(AuditEvent.__table__).where(AuditEvent.id == 5)).mappings().one()
        conn.execute(insert(AuditEvent).values({**row, "id": 6}))
    code, out = verify_cli(capsys)
    assert code == 1
    assert out.startswith("BROKEN at event 6:") and "inserted" in out


def test_the_database_refuses_to_change_or_delete_an_event(trail: Database) -> None:
    for sql in (
        "UPDATE audit_events SET actor_name = 'someone' WHERE id = 1",
        "DELETE FROM audit_events WHERE id = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"), trail.engine.begin() as conn:
            conn.execute(text(sql))
    if trail.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), trail.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_events"))
    assert audit.verify(trail).count == 5


def test_concurrent_appends_never_fork_the_chain(
    trail: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    failures: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for n in range(10):
                audit.record_apart(trail, NURSE, "readings.view", detail={"w": worker, "n": n})
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    verdict = audit.verify(trail, batch=7)
    assert (verdict.count, verdict.broken) == (65, None)
    code, out = verify_cli(capsys)
    assert (code, out.split(",")[0]) == (0, "OK: 65 audit events")


def test_an_empty_trail_verifies(tmp_path: Path) -> None:
    with empty_database(tmp_path) as url:
        upgrade(url)
        database = Database(url)
        try:
            assert audit.verify(database) == audit.Verdict(0, GENESIS, None)
        finally:
            database.dispose()


def test_an_event_recorded_in_a_rolled_back_transaction_leaves_no_trace(trail: Database) -> None:
    with pytest.raises(RuntimeError), trail.unit_of_work(write=True) as db:
        audit.record(db, NURSE, "limits.change", target="x")
        raise RuntimeError("the change it recorded failed")
    verdict = audit.verify(trail)
    assert (verdict.count, verdict.broken) == (5, None)


def test_raw_engine_is_the_same_database(trail: Database) -> None:
    engine = create_engine(trail.url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == 5
    finally:
        engine.dispose()
