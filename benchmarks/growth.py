"""Growth: stored history must not slow live work (issue 18 item 5).

    .venv/bin/python -m benchmarks.growth                       # SQLite, 1,000,000 readings
    .venv/bin/python -m benchmarks.growth --readings 100000     # a quick run
    .venv/bin/python -m benchmarks.growth --postgres postgresql+psycopg://postgres@127.0.0.1/postgres
    .venv/bin/python -m benchmarks.growth --help                # the knobs

For each database (a fresh SQLite file; with --postgres also a new database made on that server,
dropped afterwards) it migrates two fresh Vigil databases and puts the same ward on each:
--chairs (12) sessions, infusing, each with one full set of vitals taken just now by its
monitor. The second also gets --readings of history (below). Then it times, on both, taking
their runs in turn so that a machine busier for a while weighs on both alike (the median of
--repeat runs each):

  * the ward list: `GET /api/sessions` as the ward page asks it (in process, a nurse's token);
  * the latest values of the ward's sessions (`readings.service.latest_values`);
  * the no-data check: the look-up the alarm clock's no-data and BP-overdue checks make for
    each ward session (`readings.service.feed_times`).

Beside each it times the query that did the same job before the latest-values row (a window
function over the sessions' readings; a max(received_at) over one session's), on the same
database, so the gain is seen in the same run.

The history: one reading a second per chair (heart rate and SpO2 from a monitor, a blood
pressure every 5 minutes), back to back over as many hours as --readings needs, in sessions of
--session-hours (4) each; the newest of them on each chair is the ward's own session, the older
ones have ended. It is stored as Vigil stores it: the readings (the latest-values triggers
firing for each) and a `reading.created` stream event each with the payload ingest writes, in
chronological chunks, with the stream pruned to --window-minutes (60) after each chunk as the
server's pruner does (on PostgreSQL followed by a VACUUM of the events and the latest rows, as
autovacuum would).
Then it reports the bytes the readings, the latest rows and the stream events take, per
session-hour of 1 Hz data (SQLite: pages in use, the file's free pages not counted; PostgreSQL:
pg_total_relation_size), and what the events would take without pruning. It prints the query
plans of the look-ups (EXPLAIN). It asserts nothing.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import (
    Table,
    create_engine,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backend import flows
from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.main import create_app
from backend.migrations import upgrade
from backend.patients import service as patients
from backend.patients.schemas import PatientCreate
from backend.readings.models import Reading, latest_readings
from backend.readings.schemas import ReadingPublic
from backend.readings.service import feed_times, latest_values
from backend.readings.vitals import VITAL_FIELDS
from backend.sessions.models import InfusionSession
from backend.sessions.schemas import Drug, Route, SessionCreate
from backend.sites.models import Chair, Room, Site
from backend.streaming.events import stored_form
from backend.streaming.models import StreamCounter, StreamEvent
from backend.streaming.outbox import COUNTER_ID
from backend.streaming.retention import prune
from backend.users import service as users

MIB = 1024 * 1024
BP_EVERY_S = 300
CHUNK_S = 600  # seconds of history per chunk (per chair)
TARGET_RATIO = 1.5
TARGET_MIB = 1.5
FULL_SET = {
    "heart_rate": 78,
    "spo2": 97,
    "systolic": 124,
    "diastolic": 78,
    "respiratory_rate": 14,
    "temperature": 36.8,
    "consciousness": "A",
    "sedation": 5,
    "on_oxygen": False,
}
STREAM_TABLES = ("readings", "latest_readings", "stream_events")


@dataclass
class Timings:
    ward_ms: float
    latest_ms: float
    latest_walk_ms: float
    nodata_ms: float
    nodata_walk_ms: float


@dataclass
class Figures:
    backend: str
    readings: int = 0
    load_s: float = 0.0
    none: Timings | None = None
    grown: Timings | None = None
    bytes_by_table: dict[str, int] = field(default_factory=dict)
    events_kept: int = 0
    events_written: int = 0
    plans: dict[str, str] = field(default_factory=dict)


# ---- the ward --------------------------------------------------------------------------------


@dataclass
class Ward:
    session_ids: list[int]
    chair_ids: list[int]
    started: datetime  # the ward's sessions began then (the history's last session on each chair)


def make_ward(database: Database, chairs: int, started: datetime) -> tuple[Ward, str]:
    """Chairs, a patient, and a session infusing on each chair. (ward, a nurse's token)"""
    now = datetime.now(UTC)
    with database.unit_of_work(write=True) as db:
        site = Site(name="Growth", name_key="growth", active=True, created_at=now)
        db.add(site)
        db.flush()
        room = Room(site_id=site.id, name="Bay", name_key="bay", active=True, created_at=now)
        db.add(room)
        db.flush()
        chair_rows = [
            Chair(
                room_id=room.id,
                name=f"Chair {n + 1}",
                name_key=f"chair {n + 1}",
                position=n,
                active=True,
                created_at=now,
            )
            for n in range(chairs)
        ]
        db.add_all(chair_rows)
        db.flush()
        token, secret = users.create_token(db, "growth-bench", Role.NURSE)
        actor = users.token_actor(token)
        ids = []
        for n, chair in enumerate(chair_rows):
            patient = patients.create_patient(
                db,
                PatientCreate(
                    clinic_id=f"GROWTH-{uuid.uuid4().hex[:8]}", display_name=f"Growth {n + 1}"
                ),
            )
            body = SessionCreate(
                patient_id=patient.id, chair_id=chair.id, drug=Drug.KETAMINE, route=Route.IV
            )
            ids.append(flows.start_session(db, body, actor).id)
        # Set up as the benchmark needs it, not through the phase rules (not what is measured):
        # infusing since `started`, so the alarm clock watches the monitors' feeds.
        db.execute(
            update(InfusionSession)
            .where(InfusionSession.id.in_(ids))
            .values(phase="infusing", phase_changed_at=started, created_at=started)
        )
        return Ward(ids, [c.id for c in chair_rows], started), secret


def post_full_sets(client: TestClient, token: str, ward: Ward) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for session_id in ward.session_ids:
        body = {**FULL_SET, "id": str(uuid.uuid4()), "source": "device"}
        response = client.post(f"/api/sessions/{session_id}/readings", json=body, headers=headers)
        if response.status_code != 201:
            sys.exit(f"could not store the ward's reading: {response.status_code} {response.text}")


# ---- what is timed ----------------------------------------------------------------------------


def walk_latest(db: Session, session_ids: Sequence[int]) -> int:
    """The ward's latest values as they were found before the latest-values row: for each vital,
    a ranking of the sessions' readings (readings.service.latest_values until issue 18)."""
    found = 0
    for name in VITAL_FIELDS:
        column = getattr(Reading, name)
        ranked = (
            select(
                Reading.session_id,
                column.label("value"),
                func.row_number()
                .over(
                    partition_by=Reading.session_id,
                    order_by=(Reading.taken_at.desc(), Reading.id.desc()),
                )
                .label("rank"),
            )
            .where(
                Reading.session_id.in_(session_ids),
                column.is_not(None),
                Reading.entered_in_error_at.is_(None),
            )
            .subquery()
        )
        found += len(db.execute(select(ranked.c.value).where(ranked.c.rank == 1)).all())
    return found


def walk_feed_query(session_id: int) -> Any:
    """The no-data check's look-up before the latest-values row (alerts/clock.py until issue 18)."""
    return select(func.max(Reading.received_at)).where(
        Reading.session_id == session_id,
        Reading.source.in_(("device", "simulator")),
        or_(Reading.heart_rate.is_not(None), Reading.spo2.is_not(None)),
    )


Sampler = Callable[[], object]
METRICS = ("ward_ms", "latest_ms", "latest_walk_ms", "nodata_ms", "nodata_walk_ms")


def samplers(database: Database, client: TestClient, token: str, ward: Ward) -> list[Sampler]:
    """What is timed, in the order of METRICS."""
    headers = {"Authorization": f"Bearer {token}"}
    ids = ward.session_ids

    def ward_list() -> None:
        response = client.get("/api/sessions", params={"status": "active"}, headers=headers)
        assert response.status_code == 200 and len(response.json()) == len(ids), response.text

    def in_db(fn: Callable[[Session], object]) -> Sampler:
        def run() -> None:
            with database.unit_of_work(write=False) as db:
                fn(db)

        return run

    def nodata(db: Session) -> None:
        for session_id in ids:
            feed_times(db, session_id)

    def nodata_walk(db: Session) -> None:
        for session_id in ids:
            db.scalar(walk_feed_query(session_id))

    return [
        ward_list,
        in_db(lambda db: latest_values(db, ids)),
        in_db(lambda db: walk_latest(db, ids)),
        in_db(nodata),
        in_db(nodata_walk),
    ]


def interleaved(none: list[Sampler], grown: list[Sampler], repeat: int) -> tuple[Timings, Timings]:
    """Each figure's median at none and at the history, their runs taken in turn (none, grown,
    none, ...): a machine busier or quieter for a while weighs on both alike."""
    at_none, at_grown = [], []
    for fn_none, fn_grown in zip(none, grown, strict=True):
        samples: tuple[list[float], list[float]] = ([], [])
        for run in range(repeat + 2):
            for fn, kept in ((fn_none, samples[0]), (fn_grown, samples[1])):
                started = time.perf_counter()
                fn()
                if run >= 2:  # two warm-ups each
                    kept.append((time.perf_counter() - started) * 1000)
        at_none.append(statistics.median(samples[0]))
        at_grown.append(statistics.median(samples[1]))
    return Timings(*at_none), Timings(*at_grown)


# ---- the history ------------------------------------------------------------------------------


def reading_row(session_id: int, at: datetime, second: int) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(VITAL_FIELDS)
    row |= {
        "id": str(uuid.uuid4()),
        "session_id": session_id,
        "taken_at": at,
        "received_at": at + timedelta(milliseconds=300),
        "source": "device",
        "entered_by": "token:growth-bench",
        "heart_rate": 72 + (second // 7) % 9,
        "spo2": 96 + (second // 31) % 3,
        "entered_in_error_at": None,
        "entered_in_error_by": None,
        "entered_in_error_reason": None,
    }
    if second % BP_EVERY_S == 0:
        row |= {"systolic": 118 + (second // BP_EVERY_S) % 10, "diastolic": 76}
    return row


def payload(row: dict[str, Any]) -> dict[str, Any]:
    """The stream event's data, exactly as ingest stores it (outbox.record_events)."""
    data = ReadingPublic.model_validate(row).model_dump(mode="json")
    return stored_form("reading.created", data)


def load_history(
    database: Database, ward: Ward, total: int, session_hours: float, window: timedelta
) -> tuple[int, int]:
    """`total` readings (and their events), chronologically, pruning as the server would.
    The history ends a minute before the ward's full sets; returns (events written, seqs)."""
    chairs = len(ward.session_ids)
    per_chair = total // chairs
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    start = end - timedelta(seconds=per_chair)
    session_s = int(session_hours * 3600)
    postgres = database.dialect == "postgresql"
    with database.unit_of_work(write=True) as db:
        seq = db.scalar(select(StreamCounter.last_seq).where(StreamCounter.id == COUNTER_ID)) or 0
        # Events made while setting up the ward belong to its start: pruning goes in seq order.
        db.execute(update(StreamEvent).values(created_at=start - timedelta(hours=1)))
        template = (
            db.execute(
                select(InfusionSession.__table__).where(InfusionSession.id == ward.session_ids[0])
            )
            .mappings()
            .one()
        )
        # The ward's own sessions hold the newest `session_s` seconds of each chair's history.
        ward_from = max(start, end - timedelta(seconds=session_s))
        db.execute(
            update(InfusionSession)
            .where(InfusionSession.id.in_(ward.session_ids))
            .values(phase_changed_at=ward_from, created_at=ward_from)
        )
        # Ended sessions for the older history: (chair index, session start) -> id.
        ended: dict[tuple[int, int], int] = {}
        table = InfusionSession.__table__
        assert isinstance(table, Table)
        offset = int((ward_from - start).total_seconds())
        for c, chair_id in enumerate(ward.chair_ids):
            for first in range(0, offset, session_s):
                began = start + timedelta(seconds=first)
                values = {k: v for k, v in template.items() if k != "id"}
                values |= {
                    "chair_id": chair_id,
                    "phase": "discharged",
                    "phase_changed_at": began + timedelta(seconds=session_s),
                    "created_at": began,
                    "ended_at": began + timedelta(seconds=session_s),
                }
                made = db.execute(insert(table).values(**values).returning(table.c.id))
                ended[(c, first)] = int(made.scalar_one())

    def session_of(chair: int, second: int) -> int:
        if second >= offset:
            return ward.session_ids[chair]
        return ended[(chair, (second // session_s) * session_s)]

    written = 0
    for chunk in range(0, per_chair, CHUNK_S):
        rows, events = [], []
        for second in range(chunk, min(chunk + CHUNK_S, per_chair)):
            at = start + timedelta(seconds=second)
            for c in range(chairs):
                row = reading_row(session_of(c, second), at, second)
                rows.append(row)
                seq += 1
                events.append(
                    {
                        "seq": seq,
                        "kind": "reading.created",
                        "session_id": row["session_id"],
                        "payload": payload(row),
                        "created_at": row["received_at"],
                    }
                )
        with database.unit_of_work(write=True) as db:
            db.execute(insert(Reading), rows)
            db.execute(insert(StreamEvent), events)
            db.execute(
                update(StreamCounter).where(StreamCounter.id == COUNTER_ID).values(last_seq=seq)
            )
        written += len(events)
        chunk_end = start + timedelta(seconds=min(chunk + CHUNK_S, per_chair))
        prune(database, chunk_end, window, batch=1000, max_batches=1_000_000)
        if postgres:
            vacuum(database, "stream_events", "latest_readings")
        done = min(chunk + CHUNK_S, per_chair) * chairs
        print(f"\r  stored {done:,} of {per_chair * chairs:,} readings", end="", flush=True)
    print()
    prune(database, datetime.now(UTC), window, batch=1000, max_batches=1_000_000)
    if postgres:
        vacuum(database, *STREAM_TABLES)
    return written, seq


def vacuum(database: Database, *tables: str) -> None:
    engine = create_engine(database.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for name in tables:
                conn.execute(text(f"VACUUM ANALYZE {name}"))
    finally:
        engine.dispose()


# ---- bytes and plans --------------------------------------------------------------------------


def table_bytes(database: Database) -> dict[str, int]:
    """Bytes each table takes with its indexes."""
    sizes: dict[str, int] = {}
    with database.unit_of_work(write=False) as db:
        conn = db.connection()
        if database.dialect == "postgresql":
            for name in STREAM_TABLES:
                sizes[name] = int(
                    conn.execute(text(f"SELECT pg_total_relation_size('{name}')")).scalar_one()
                )
            return sizes
        rows = conn.exec_driver_sql(
            "SELECT m.tbl_name, sum(s.pgsize) FROM dbstat s JOIN sqlite_master m"
            " ON m.name = s.name GROUP BY m.tbl_name"
        ).all()
        found = {str(name): int(size) for name, size in rows}
        for name in STREAM_TABLES:
            sizes[name] = found.get(name, 0)
    return sizes


def plans(database: Database, ward: Ward) -> dict[str, str]:
    ids = ward.session_ids
    queries = {
        "ward latest values (latest_readings)": select(latest_readings).where(
            latest_readings.c.session_id.in_(ids)
        ),
        "no-data check (latest_readings)": select(
            latest_readings.c.feed_received_at, latest_readings.c.systolic_at
        ).where(latest_readings.c.session_id == ids[0]),
        "no-data check before (readings)": walk_feed_query(ids[0]),
        "ward sessions": select(InfusionSession.id)
        .where(InfusionSession.phase.in_(("baseline", "infusing", "recovery")))
        .order_by(InfusionSession.chair),
    }
    found = {}
    with database.unit_of_work(write=False) as db:
        conn = db.connection()
        for name, query in queries.items():
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            if database.dialect == "postgresql":
                rows = conn.exec_driver_sql(f"EXPLAIN {sql}").all()
                found[name] = "\n".join(str(row[0]) for row in rows)
            else:
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
                found[name] = "\n".join(str(row[-1]) for row in rows)
    return found


# ---- running ----------------------------------------------------------------------------------


@contextmanager
def fresh_database(backend: str, postgres: str | None, keep: bool) -> Iterator[str]:
    if backend == "sqlite":
        workdir = Path(tempfile.mkdtemp(prefix="vigil-growth-"))
        try:
            yield f"sqlite:///{workdir / 'vigil.db'}"
        finally:
            if keep:
                print(f"  kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        return
    assert postgres is not None
    name = f"vigil_growth_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        if keep:
            print(f"  kept database {name}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def app_settings(url: str) -> Settings:
    # The app's own timers stay out of the way: what is timed is the requests and look-ups.
    return Settings(
        database_url=url,
        alert_tick_seconds=3600,
        simulation_tick_seconds=3600,
        stream_prune_seconds=3600,
        mllp_port=0,
        _env_file=None,
    )


def run(backend: str, args: argparse.Namespace) -> Figures:
    """Two databases alike but for the history: the ward alone (at none), and the ward with
    --readings of history; timed side by side."""
    figures = Figures(backend)
    window = timedelta(minutes=args.window_minutes)
    with ExitStack() as stack:
        urls = [
            stack.enter_context(fresh_database(backend, args.postgres, args.keep)) for _ in "ab"
        ]
        print(f"{backend}: migrating two fresh databases")
        for url in urls:
            upgrade(url)
        databases = [Database(url) for url in urls]
        for database in databases:
            stack.callback(database.dispose)
        started = datetime.now(UTC) - timedelta(hours=args.session_hours)
        wards = [make_ward(database, args.chairs, started) for database in databases]
        clients = [stack.enter_context(TestClient(create_app(app_settings(u)))) for u in urls]
        (none_db, grown_db), ((none_ward, none_token), (ward, token)) = databases, wards
        post_full_sets(clients[0], none_token, none_ward)
        print(f"{backend}: storing {args.readings:,} readings of history in the second")
        began = time.perf_counter()
        figures.events_written, _ = load_history(
            grown_db, ward, args.readings, args.session_hours, window
        )
        figures.load_s = time.perf_counter() - began
        post_full_sets(clients[1], token, ward)  # the ward's newest, after the history
        if backend == "postgresql":
            for database in databases:
                vacuum(database, "readings", "latest_readings", "infusion_sessions")
        with grown_db.unit_of_work(write=False) as db:
            figures.readings = int(db.scalar(select(func.count()).select_from(Reading)) or 0)
            figures.events_kept = int(db.scalar(select(func.count()).select_from(StreamEvent)) or 0)
        print(f"{backend}: timing at none and at {figures.readings:,}, in turn")
        figures.none, figures.grown = interleaved(
            samplers(none_db, clients[0], none_token, none_ward),
            samplers(grown_db, clients[1], token, ward),
            args.repeat,
        )
        figures.bytes_by_table = table_bytes(grown_db)
        figures.plans = plans(grown_db, ward)
    return figures


def report(all_figures: list[Figures], args: argparse.Namespace, command: str) -> None:
    print()
    print(f"command: {command}")
    print(
        f"ward: {args.chairs} sessions infusing; history in sessions of {args.session_hours:g} h;"
        f" stream resume window {args.window_minutes:g} min"
    )
    for f in all_figures:
        assert f.none is not None and f.grown is not None
        print()
        print(
            f"== {f.backend}: {f.readings:,} readings stored (history loaded in {f.load_s:.0f} s)"
        )
        print(
            f"{'median ms':<34}{'at none':>10}{'at ' + format(f.readings, ','):>14}"
            f"{'ratio':>8}  target"
        )
        rows = [
            ("ward list (GET /api/sessions)", f.none.ward_ms, f.grown.ward_ms, True),
            ("latest values (ward's sessions)", f.none.latest_ms, f.grown.latest_ms, True),
            ("no-data check (ward's sessions)", f.none.nodata_ms, f.grown.nodata_ms, True),
            (
                "  before: latest values by walk",
                f.none.latest_walk_ms,
                f.grown.latest_walk_ms,
                False,
            ),
            ("  before: no-data by walk", f.none.nodata_walk_ms, f.grown.nodata_walk_ms, False),
        ]
        for name, at_none, grown, judged in rows:
            ratio = grown / at_none if at_none else float("inf")
            verdict = ("met" if ratio <= TARGET_RATIO else "NOT met") if judged else ""
            print(f"{name:<34}{at_none:>10.2f}{grown:>14.2f}{ratio:>8.2f}  {verdict}")
        session_hours = f.readings / 3600
        total = sum(f.bytes_by_table.values())
        per_hour = total / MIB / session_hours
        events = f.bytes_by_table.get("stream_events", 0)
        per_event = events / f.events_kept if f.events_kept else 0.0
        unpruned = (total - events + per_event * f.events_written) / MIB / session_hours
        print()
        print(f"bytes on disk, {session_hours:,.0f} session-hours of 1 Hz data, pruning on:")
        for name in STREAM_TABLES:
            size = f.bytes_by_table.get(name, 0)
            print(
                f"  {name:<18}{size / MIB:>10.1f} MiB"
                f"  {size / MIB / session_hours:>6.3f} MiB/session-hour"
            )
        verdict = "met" if per_hour <= TARGET_MIB else "NOT met"
        print(
            f"  {'all three':<18}{total / MIB:>10.1f} MiB  {per_hour:>6.3f} MiB/session-hour"
            f"  (target {TARGET_MIB}: {verdict})"
        )
        print(
            f"  events kept: {f.events_kept:,} of {f.events_written:,} written"
            f" ({per_event:.0f} B each); without pruning: {unpruned:.2f} MiB/session-hour"
        )
        print()
        for name, plan in f.plans.items():
            print(f"EXPLAIN {name}:")
            for line in plan.splitlines():
                print(f"    {line}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.growth",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--readings", type=int, default=1_000_000, help="history to store (default 1,000,000)"
    )
    parser.add_argument("--chairs", type=int, default=12, help="sessions on the ward (default 12)")
    parser.add_argument(
        "--session-hours",
        type=float,
        default=4.0,
        help="length of each session of the history (default 4)",
    )
    parser.add_argument(
        "--window-minutes",
        type=float,
        default=60.0,
        help="the stream's resume window (default 60, VIGIL_STREAM_RETENTION_MINUTES)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=20,
        help="timed runs of each figure (default 20; the median is shown)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also run on a new database made on this PostgreSQL server",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args(argv)
    backends = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.postgres else [])
    command = "python -m benchmarks.growth " + " ".join(sys.argv[1:] if argv is None else argv)
    report([run(backend, args) for backend in backends], args, command)


if __name__ == "__main__":
    main()
