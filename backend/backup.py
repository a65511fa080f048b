"""`vigil db backup` and `vigil db restore` for a SQLite database, safe while Vigil runs.

A plain file copy of a busy WAL database is not a backup: the newest readings sit in the -wal
file, and a copy taken mid-write can be torn (one test lost 39 of 152 readings that way). The
backup here is SQLite's online backup API in one step: a single read transaction, so the copy
is the database exactly as of one moment, WAL included, while writers carry on. It is written
beside the target, checked (`PRAGMA integrity_check`, a Vigil schema at a known migration),
synced to disk and only then renamed into place, so a backup file is never half-written.

PostgreSQL has its own tools for this (pg_dump / pg_restore), which the commands point to.
"""

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from backend.core.settings import REPO_ROOT

SQLITE_HEADER = b"SQLite format 3\x00"
# Tables every Vigil database has had since its first migration.
CORE_TABLES = {"alembic_version", "users", "patients", "infusion_sessions", "readings"}
LOCK_WAIT_SECONDS = 10.0

PG_DUMP = "pg_dump --format=custom --file=vigil.dump 'postgresql://USER@HOST:5432/DBNAME'"
PG_RESTORE = (
    "pg_restore --clean --if-exists --no-owner --dbname='postgresql://USER@HOST:5432/DBNAME' "
    "vigil.dump"
)


class BackupError(Exception):
    """A backup or restore refused, with the reason an operator can act on."""


@dataclass(frozen=True)
class Snapshot:
    path: Path
    revision: str
    readings: int
    sessions: int
    size_bytes: int


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite database URL; BackupError for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            f"the database is {url.get_backend_name()}, not SQLite: use PostgreSQL's own tools.\n"
            f"  backup:  {PG_DUMP}\n  restore: {PG_RESTORE}\n"
            "(see README, 'Backup and restore')"
        )
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError(f"{database_url!r} is not a database file")
    return Path(url.database)


def known_revisions() -> set[str]:
    """The migration ids this version of Vigil ships (a restored database must be at one)."""
    versions = REPO_ROOT / "alembic" / "versions"
    return {p.name.split("_", 1)[0] for p in versions.glob("[0-9]*_*.py")}


def backup(source: Path, target: Path, *, force: bool = False) -> Snapshot:
    """Copy the live database at `source` to `target` as of one moment; refuse to overwrite
    `target` unless `force`."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; choose another name, or pass --force")
    if target.resolve() == source.resolve():
        raise BackupError("the backup cannot be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        live = sqlite3.connect(source, timeout=LOCK_WAIT_SECONDS)
        try:
            copy = sqlite3.connect(partial)
            try:
                # pages=-1: the whole database in one step, inside one read transaction. In WAL
                # mode that never blocks a writer, and nothing committed after it began leaks in.
                live.backup(copy, pages=-1)
                # One self-contained file: no -wal needed beside it to be complete.
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        finally:
            live.close()
        snapshot = check(partial)
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
    finally:
        partial.unlink(missing_ok=True)
    return Snapshot(
        target, snapshot.revision, snapshot.readings, snapshot.sessions, target.stat().st_size
    )


def check(path: Path) -> Snapshot:
    """`path` as a Vigil database: a sound SQLite file with Vigil's tables at a known migration."""
    with path.open("rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{path} is not a SQLite database")
    conn = sqlite3.connect(_read_only(path), uri=True)
    try:
        verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if verdict != ["ok"]:
            raise BackupError(f"{path} is damaged: {'; '.join(verdict[:5])}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if missing := CORE_TABLES - tables:
            raise BackupError(f"{path} is not a Vigil database (no {', '.join(sorted(missing))})")
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if revision is None or revision[0] not in known_revisions():
            raise BackupError(
                f"{path} is at migration {revision[0] if revision else 'none'}, which this "
                "version of Vigil does not know; restore it with the version that made it"
            )
        readings = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
        sessions = conn.execute("SELECT count(*) FROM infusion_sessions").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} cannot be read as a database: {exc}") from None
    finally:
        conn.close()
    return Snapshot(path, revision[0], readings, sessions, path.stat().st_size)


def ensure_not_in_use(database: Path) -> None:
    """Refuse when any connection (a running Vigil, another command) has `database` open.

    In WAL mode every open connection holds a shared lock on the database; an exclusive lock is
    only granted when there is none, so failing to get one at once means something has it open.
    """
    if not database.exists():
        return
    conn = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("ROLLBACK")
        # Back to normal, and fold the -wal into the file so nothing stale is left beside it.
        conn.execute("PRAGMA locking_mode=NORMAL")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError(
                f"{database} is in use (is Vigil running on it?); stop the server first"
            ) from None
        raise BackupError(f"{database} cannot be opened: {exc}") from None
    finally:
        conn.close()


def restore(backup_file: Path, database: Path) -> tuple[Snapshot, Path | None]:
    """Put `backup_file` in place of `database`, keeping the old file aside; returns what was
    restored and where the old database now is."""
    if not backup_file.is_file():
        raise BackupError(f"there is no backup at {backup_file}")
    snapshot = check(backup_file)
    ensure_not_in_use(database)
    database.parent.mkdir(parents=True, exist_ok=True)
    incoming = database.with_name(f".{database.name}.restoring-{os.getpid()}")
    try:
        # Through SQLite, not a byte copy: the backup file may itself be in WAL mode.
        source = sqlite3.connect(_read_only(backup_file), uri=True)
        copy = sqlite3.connect(incoming)
        try:
            source.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
            source.close()
        _fsync(incoming)
        kept: Path | None = None
        if database.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = database.with_name(f"{database.name}.before-restore-{stamp}")
            os.replace(database, kept)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{database}{suffix}")
                if side.exists():  # a stale -wal beside the new file would be read into it
                    os.replace(side, Path(f"{kept}{suffix}"))
        os.replace(incoming, database)
        _fsync(database.parent)
    finally:
        incoming.unlink(missing_ok=True)
    return Snapshot(
        database, snapshot.revision, snapshot.readings, snapshot.sessions, database.stat().st_size
    ), kept


def _read_only(path: Path) -> str:
    return f"{path.resolve().as_uri()}?mode=ro"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
