"""`vigil db backup` copies a live SQLite database as of one moment while readings keep
arriving, and `vigil db restore` puts a backup back; on PostgreSQL both point to pg_dump.

A plain file copy of a busy database lost 39 of 152 readings; here every reading acknowledged
before the backup began is in the copy, the copy passes SQLite's integrity check and Vigil
serves it."""

import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.backup import BackupError, check, known_revisions
from backend.cli import main
from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.main import create_app
from backend.migrations import upgrade
from backend.users import service as users
from tests.conftest import PASSWORD, ROLE_USERS
from tests.helpers import new_session

NURSE = "backup-nurse"


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "live" / "vigil.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    database = Database(url)
    with database.unit_of_work(write=True) as db:
        users.create_user(db, NURSE, PASSWORD, Role.NURSE)
        # The tests' admin: the test helpers configure the chairs sessions start on.
        users.create_user(db, ROLE_USERS[Role.ADMIN], PASSWORD, Role.ADMIN)
    database.dispose()
    return path


@pytest.fixture
def vigil_env(db_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """`vigil` commands in this test use `db_file` (and no .env of the machine)."""
    monkeypatch.setenv("VIGIL_DATABASE_URL", f"sqlite:///{db_file}")
    monkeypatch.chdir(tmp_path)
    return db_file


@pytest.fixture
def nurse(db_file: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{db_file}", clinic_timezone="UTC", _env_file=None)
    with TestClient(create_app(settings)) as client:
        signed_in = client.post("/api/auth/login", json={"username": NURSE, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        yield client


def served_readings(db_file: Path, session_id: int) -> set[str]:
    """The reading ids Vigil itself serves from the database at `db_file`."""
    settings = Settings(database_url=f"sqlite:///{db_file}", clinic_timezone="UTC", _env_file=None)
    with TestClient(create_app(settings)) as client:
        assert client.post(
            "/api/auth/login", json={"username": NURSE, "password": PASSWORD}
        ).is_success
        found: set[str] = set()
        page: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 1000}
            if page:
                params["page"] = page
            answer = client.get(f"/api/sessions/{session_id}/readings", params=params)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            found |= {r["id"] for r in body["items"]}
            page = body.get("next_page")
            if not page:
                return found


class Writer(threading.Thread):
    """Posts readings one after another, recording each acknowledged one and when."""

    def __init__(self, client: TestClient, session_id: int) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.session_id = session_id
        self.acknowledged: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.stored = threading.Condition()  # notified at each acknowledgement

    def wait_until(self, done: Callable[[], bool], what: str) -> None:
        """Wait, woken by each acknowledgement rather than polling, at most 20 s."""
        with self.stored:
            assert self.stored.wait_for(done, timeout=20), f"no {what} within 20 s"

    def run(self) -> None:
        rate = 60
        while not self.stop.is_set():
            rate = 60 + (rate - 59) % 40
            answer = self.client.post(
                f"/api/sessions/{self.session_id}/readings", json={"heart_rate": rate}
            )
            assert answer.status_code == 201, answer.text
            with self.stored:
                self.acknowledged.append((time.monotonic(), answer.json()["id"]))
                self.stored.notify_all()

    def acknowledged_before(self, moment: float) -> set[str]:
        return {rid for at, rid in self.acknowledged if at < moment}


def test_a_backup_taken_while_readings_arrive_has_every_one_acknowledged_before_it(
    vigil_env: Path, nurse: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session_id = new_session(nurse)["id"]
    # Enough data that copying it takes a while, so writes arrive while the backup runs.
    with sqlite3.connect(vigil_env) as conn:
        conn.execute("CREATE TABLE ballast (data BLOB)")
        conn.executemany("INSERT INTO ballast VALUES (zeroblob(1048576))", [()] * 48)
    conn.close()
    writer = Writer(nurse, session_id)
    writer.start()
    try:
        writer.wait_until(lambda: len(writer.acknowledged) >= 40, "40 readings")
        began = time.monotonic()
        main(["db", "backup", str(tmp_path / "backups" / "vigil-backup.db")])
        ended = time.monotonic()
        # Writes went on after the backup too.
        writer.wait_until(lambda: any(at > ended for at, _ in writer.acknowledged), "later reading")
    finally:
        writer.stop.set()
        writer.join(timeout=10)
    copy = tmp_path / "backups" / "vigil-backup.db"
    assert "integrity checked" in capsys.readouterr().out
    snapshot = check(copy)
    assert snapshot.revision in known_revisions()
    in_copy = served_readings(copy, session_id)
    before = writer.acknowledged_before(began)
    assert before, "no reading was acknowledged before the backup"
    assert before <= in_copy, f"{len(before - in_copy)} acknowledged readings are missing"
    # The copy is one moment: it holds a prefix of what was acknowledged, nothing torn.
    everything = [rid for _, rid in writer.acknowledged]
    assert set(everything[: len(in_copy)]) == in_copy
    assert len(in_copy) < len(everything)
    # The writer was not held up by the backup: readings were acknowledged while it ran.
    during = [at for at, _ in writer.acknowledged if began < at < ended]
    assert during, f"no reading was stored during the {ended - began:.2f} s backup"
    # A single self-contained file: no -wal needed beside it.
    assert not Path(f"{copy}-wal").exists()
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_backup_does_not_overwrite_a_file_unless_forced(vigil_env: Path, tmp_path: Path) -> None:
    target = tmp_path / "existing.db"
    target.write_bytes(b"precious")
    with pytest.raises(SystemExit, match=r"already exists.*--force"):
        main(["db", "backup", str(target)])
    assert target.read_bytes() == b"precious"
    main(["db", "backup", str(target), "--force"])
    assert check(target).revision in known_revisions()


def test_restore_brings_the_backup_back_and_keeps_the_old_database_aside(
    vigil_env: Path, db_file: Path, tmp_path: Path
) -> None:
    settings = Settings(database_url=f"sqlite:///{db_file}", clinic_timezone="UTC", _env_file=None)
    backup_file = tmp_path / "before.db"
    with TestClient(create_app(settings)) as client:
        client.post("/api/auth/login", json={"username": NURSE, "password": PASSWORD})
        session_id = new_session(client)["id"]
        first = client.post(f"/api/sessions/{session_id}/readings", json={"heart_rate": 70})
        main(["db", "backup", str(backup_file)])
        later = client.post(f"/api/sessions/{session_id}/readings", json={"heart_rate": 99})
        assert later.status_code == 201
        # While Vigil has the database open, restoring over it is refused.
        with pytest.raises(SystemExit, match="in use"):
            main(["db", "restore", str(backup_file)])
    main(["db", "restore", str(backup_file)])
    assert served_readings(db_file, session_id) == {first.json()["id"]}
    kept = list(db_file.parent.glob("vigil.db.before-restore-*"))
    assert [p for p in kept if not p.name.endswith(("-wal", "-shm"))], kept
    old = next(p for p in kept if not p.name.endswith(("-wal", "-shm")))
    assert later.json()["id"] in served_readings(old, session_id)


def test_restore_refuses_what_is_not_a_vigil_backup(vigil_env: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    conn.close()
    unknown = tmp_path / "future.db"
    main(["db", "backup", str(unknown)])
    with sqlite3.connect(unknown) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    before = vigil_env.read_bytes()
    for bad, reason in [
        (text, "not a SQLite database"),
        (other, "not a Vigil database"),
        (unknown, "migration 9999"),
        (tmp_path / "missing.db", "no backup at"),
    ]:
        with pytest.raises(SystemExit, match=reason):
            main(["db", "restore", str(bad)])
    assert vigil_env.read_bytes() == before


def test_a_damaged_backup_is_refused(vigil_env: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.db"
    main(["db", "backup", str(good)])
    damaged = tmp_path / "damaged.db"
    shutil.copy(good, damaged)
    data = bytearray(damaged.read_bytes())
    page = 4096
    data[page * 2 : page * 3] = b"\xff" * page  # a page of a table, scribbled over
    damaged.write_bytes(bytes(data))
    with pytest.raises((SystemExit, BackupError), match=r"damaged|cannot be read"):
        main(["db", "restore", str(damaged)])


def test_on_postgresql_the_commands_point_to_pg_dump_and_pg_restore(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VIGIL_DATABASE_URL", "postgresql+psycopg://vigil@db.example/vigil")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="pg_dump --format=custom"):
        main(["db", "backup", str(tmp_path / "x.db")])
    with pytest.raises(SystemExit, match="pg_restore"):
        main(["db", "restore", str(tmp_path / "x.db")])
    assert not (tmp_path / "x.db").exists()
