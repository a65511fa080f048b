"""Readings per second through MLLP (HL7 v2 PCD-01, as a bedside monitor sends them) against the
JSON API (POST /api/sessions/{id}/readings, as a gateway or the offline queue sends them), both
into the same Vigil server in the same run.

Vigil runs as `vigil serve` in a subprocess on a fresh database (SQLite in a temporary directory;
also PostgreSQL when VIGIL_BENCH_POSTGRES_URL names a server, on a new database dropped after),
with its MLLP listener on a free loopback port. Every reading carries the same six vitals (heart
rate, blood pressure, SpO2, respiratory rate, temperature) either way, all inside the clinic's
default alert limits. The loads alternate (JSON, then MLLP, for each load) so a machine getting
busier or quieter affects both alike:

  * sequential: one client, one connection, each reading waiting for its answer
    (an MLLP sender waits for the ACK: that is the protocol);
  * N clients: N connections at once, each closed-loop.

An MLLP message is acknowledged only after its transaction committed, as a 201 is. At the end
the readings stored are counted: every one acknowledged must be there, once.
It prints a table (and with --json writes the figures). It asserts nothing about speed.
Run from the repository root:  .venv/bin/python -m benchmarks.mllp_throughput --help
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import create_engine, func, make_url, select, text

from backend import flows
from backend.core.database import Database
from backend.core.roles import Role
from backend.hl7.client import MllpClient, SendError
from backend.hl7.pcd01 import build_oru
from backend.migrations import upgrade
from backend.patients import service as patients
from backend.patients.schemas import PatientCreate
from backend.readings.models import Reading
from backend.sessions.schemas import Drug, Route, SessionCreate
from backend.sites import service as sites
from backend.sites.schemas import ChairCreate, RoomCreate, SiteCreate
from backend.users import service as users
from benchmarks.ingest import (
    READINGS_PATH,
    REQUEST_TIMEOUT,
    ErrorLog,
    Server,
    bounded,
    free_port,
    load_average,
    percentile,
    running,
    server_env,
    vigil_command,
    without_nan,
)

SITE, ROOM, CHAIR = "Bench clinic", "Bench room", "Bench chair"  # PV1-3 names them
DEVICE = "0012A1FFFE000B01"  # the benchmark's monitor (EUI-64)
SENDER = "BENCH_MON"
POSTGRES_ENV = "VIGIL_BENCH_POSTGRES_URL"


@dataclass
class LoadFigures:
    """`readings` readings sent by `clients` closed-loop clients, each on its own connection."""

    path: str  # "json" or "mllp"
    clients: int
    readings: int
    errors: int
    seconds: float
    readings_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_reading: float
    client_cpu_ms_per_reading: float
    error_samples: list[str] = field(default_factory=list)


@dataclass
class DatabaseFigures:
    database: str  # "sqlite" or "postgresql"
    loads: dict[str, LoadFigures]  # "json sequential", "mllp 8 clients", ...
    stored_json: int  # readings the JSON loads stored (warm-up included)
    stored_mllp: int
    acknowledged_json: int
    acknowledged_mllp: int
    server_log_tail: list[str]


# --------------------------------------------------------------------------------------------
# Set-up


@contextlib.contextmanager
def database_url(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file in `workdir`, or a new PostgreSQL database on
    the server VIGIL_BENCH_POSTGRES_URL names (dropped afterwards)."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'vigil.db'}"
        upgrade(url)
        yield url
        return
    admin_url = os.environ[POSTGRES_ENV]
    name = f"vigil_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str) -> tuple[str, int]:
    """A nurse token, a patient and a session on the chair the monitor's PV1-3 names."""
    database = Database(url)
    try:
        with database.unit_of_work(write=True) as db:
            token, secret = users.create_token(db, "benchmark", Role.NURSE)
            patient = patients.create_patient(
                db, PatientCreate(clinic_id="BENCH-0001", display_name="Benchmark Patient")
            )
            site = sites.create_site(db, SiteCreate(name=SITE))
            room = sites.create_room(db, site.id, RoomCreate(name=ROOM))
            chair = sites.create_chair(db, ChairCreate(room_id=room.id, name=CHAIR))
            session = flows.start_session(
                db,
                SessionCreate(
                    patient_id=patient.id, chair_id=chair.id, drug=Drug.KETAMINE, route=Route.IV
                ),
                users.token_actor(token),
            )
            return secret, session.id
    finally:
        database.dispose()


def count_stored(url: str, session_id: int) -> tuple[int, int]:
    """Readings of the session stored from the JSON API and from the monitor."""
    database = Database(url)
    monitor = Reading.entered_by == f"device:{DEVICE}"
    try:
        with database.unit_of_work(write=False) as db:
            query = (
                select(monitor, func.count())
                .where(Reading.session_id == session_id)
                .group_by(monitor)
            )
            counts = {bool(by_monitor): int(n) for by_monitor, n in db.execute(query)}
    finally:
        database.dispose()
    return counts.get(False, 0), counts.get(True, 0)


def vitals(rng: random.Random) -> dict[str, float]:
    systolic = rng.randint(105, 140)
    return {
        "heart_rate": rng.randint(60, 100),
        "systolic": systolic,
        "diastolic": rng.randint(60, min(systolic - 20, 90)),
        "spo2": rng.randint(95, 100),
        "respiratory_rate": rng.randint(12, 20),
        "temperature": round(rng.uniform(36.2, 37.4), 1),
    }


# --------------------------------------------------------------------------------------------
# Loads


Sender = Callable[[random.Random], Awaitable[float | None]]


async def closed_loop(
    path: str,
    server: Server,
    readings: int,
    clients: int,
    make_sender: Callable[[ErrorLog], contextlib.AbstractAsyncContextManager[Sender]],
    seed: int,
) -> LoadFigures:
    rng = random.Random(seed)
    errors = ErrorLog()
    latencies: list[float] = []
    remaining = readings

    async def client_loop(send: Sender) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            elapsed = await send(rng)
            if elapsed is not None:
                latencies.append(elapsed)

    async with contextlib.AsyncExitStack() as stack:
        senders = [await stack.enter_async_context(make_sender(errors)) for _ in range(clients)]
        (user, system), client_cpu = server.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(s) for s in senders))
        seconds = time.perf_counter() - started
        user_after, system_after = server.cpu_seconds()
        client_cpu = time.process_time() - client_cpu
    cpu = (user_after - user) + (system_after - system)
    return LoadFigures(
        path=path,
        clients=clients,
        readings=readings,
        errors=errors.count,
        seconds=round(seconds, 3),
        readings_per_second=round(len(latencies) / seconds, 1),
        p50_ms=round(percentile(latencies, 50), 2),
        p95_ms=round(percentile(latencies, 95), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        max_ms=round(max(latencies, default=math.nan), 2),
        server_cpu_ms_per_reading=round(cpu * 1000 / readings, 3),
        client_cpu_ms_per_reading=round(client_cpu * 1000 / readings, 3),
        error_samples=errors.samples,
    )


def json_sender(
    server: Server, token: str, session_id: int
) -> Callable[[ErrorLog], contextlib.AbstractAsyncContextManager[Sender]]:
    url = READINGS_PATH.format(session_id=session_id)

    @contextlib.asynccontextmanager
    async def make(errors: ErrorLog) -> Any:
        async with httpx2.AsyncClient(
            base_url=server.base_url,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            limits=httpx2.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=REQUEST_TIMEOUT,
        ) as client:

            async def send(rng: random.Random) -> float | None:
                body: dict[str, object] = {
                    "id": str(uuid.uuid4()),
                    "taken_at": datetime.now(UTC).isoformat(),
                    **vitals(rng),
                }
                start = time.perf_counter()
                try:
                    response = await client.post(url, content=json.dumps(body).encode())
                except httpx2.HTTPError as exc:
                    errors.add(f"{type(exc).__name__}: {exc}")
                    return None
                if response.status_code != 201:
                    errors.add(f"HTTP {response.status_code}: {response.text}")
                    return None
                return (time.perf_counter() - start) * 1000

            yield send

    return make


def mllp_sender(port: int) -> Callable[[ErrorLog], contextlib.AbstractAsyncContextManager[Sender]]:
    @contextlib.asynccontextmanager
    async def make(errors: ErrorLog) -> Any:
        client = MllpClient("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        try:

            async def send(rng: random.Random) -> float | None:
                message = build_oru(
                    device=DEVICE,
                    values=vitals(rng),
                    taken_at=datetime.now(UTC),
                    control_id=uuid.uuid4().hex[:20],
                    sender=SENDER,
                    bed=(SITE, ROOM, CHAIR),
                )
                start = time.perf_counter()
                try:
                    ack = await client.send(message.encode())
                except SendError as exc:
                    errors.add(str(exc))
                    return None
                if not ack.accepted:
                    errors.add(f"{ack.code}: {'; '.join(ack.errors)}")
                    return None
                return (time.perf_counter() - start) * 1000

            yield send
        finally:
            await client.close()

    return make


async def measure(
    server: Server, token: str, session_id: int, port: int, args: argparse.Namespace
) -> dict[str, LoadFigures]:
    senders = {"json": json_sender(server, token, session_id), "mllp": mllp_sender(port)}
    loads: dict[str, LoadFigures] = {}
    for path, make in senders.items():  # warm-up, unmeasured
        await closed_loop(path, server, args.warmup, 1, make, seed=0)
    for clients, name in ((1, "sequential"), (args.concurrency, f"{args.concurrency} clients")):
        for path, make in senders.items():
            figures = await closed_loop(path, server, args.readings, clients, make, seed=clients)
            loads[f"{path} {name}"] = figures
    return loads


def run_database(
    kind: str, args: argparse.Namespace, say: Callable[[str], None]
) -> DatabaseFigures:
    workdir = Path(tempfile.mkdtemp(prefix="vigil-mllp-bench-", dir=args.dir))
    try:
        with database_url(kind, workdir) as url:
            token, session_id = prepare(url)
            port = free_port()
            env = server_env(
                {
                    "VIGIL_DATABASE_URL": url,
                    "VIGIL_MLLP_HOST": "127.0.0.1",
                    "VIGIL_MLLP_PORT": str(port),
                }
            )
            server = Server("vigil", vigil_command(), env, workdir)
            with running(server):
                say(f"{kind}: vigil pid {server.pid}, HTTP {server.port}, MLLP {port}")
                loads = asyncio.run(measure(server, token, session_id, port, args))
                tail = server.log_tail(20)
            stored_json, stored_mllp = count_stored(url, session_id)
    finally:
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sent = args.warmup + 2 * args.readings
    return DatabaseFigures(
        database=kind,
        loads=loads,
        stored_json=stored_json,
        stored_mllp=stored_mllp,
        acknowledged_json=sent - sum(f.errors for k, f in loads.items() if k.startswith("json")),
        acknowledged_mllp=sent - sum(f.errors for k, f in loads.items() if k.startswith("mllp")),
        server_log_tail=tail,
    )


# --------------------------------------------------------------------------------------------
# Report


def fmt(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def render(figures: DatabaseFigures, concurrency: int) -> list[str]:
    header = (
        f"{figures.database + ': metric':40} {'unit':>8} {'JSON':>9} {'MLLP':>9} {'MLLP/JSON':>10}"
    )
    lines = [header, "-" * len(header)]
    rows = (
        ("throughput", "readings_per_second", "reads/s"),
        ("latency p50", "p50_ms", "ms"),
        ("latency p95", "p95_ms", "ms"),
        ("latency p99", "p99_ms", "ms"),
        ("latency max", "max_ms", "ms"),
        ("server CPU/reading", "server_cpu_ms_per_reading", "ms"),
        ("load generator CPU/reading", "client_cpu_ms_per_reading", "ms"),
        ("errors", "errors", ""),
    )
    for name in ("sequential", f"{concurrency} clients"):
        json_load, mllp_load = figures.loads[f"json {name}"], figures.loads[f"mllp {name}"]
        for label, attribute, unit in rows:
            j, m = float(getattr(json_load, attribute)), float(getattr(mllp_load, attribute))
            ratio = "-" if j == 0 or math.isnan(j) or math.isnan(m) else f"{m / j:.2f}"
            lines.append(f"{name + ': ' + label:40} {unit:>8} {fmt(j):>9} {fmt(m):>9} {ratio:>10}")
    json_counts = f"{figures.stored_json}/{figures.acknowledged_json}"
    mllp_counts = f"{figures.stored_mllp}/{figures.acknowledged_mllp}"
    lines.append(f"{'readings stored / acknowledged':40} {'':>8} {json_counts:>9} {mllp_counts:>9}")
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.mllp_throughput",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--readings",
        type=bounded(1, 100_000, int),
        default=1000,
        help="readings per load and path (default 1000)",
    )
    parser.add_argument(
        "--concurrency",
        type=bounded(1, 256, int),
        default=8,
        help="connections in the second load (default 8)",
    )
    parser.add_argument(
        "--warmup",
        type=bounded(0, 10_000, int),
        default=50,
        help="unmeasured readings sent first on each path (default 50)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument("--dir", type=Path, metavar="PARENT", help="temporary directory's parent")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, _: sys.exit(128 + signum))
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {line}", file=sys.stderr, flush=True)

    kinds = ["sqlite"] + (["postgresql"] if os.environ.get(POSTGRES_ENV) else [])
    load_before = load_average()
    results = [run_database(kind, args, say) for kind in kinds]
    load_after = load_average()
    print(
        f"\nVigil MLLP throughput benchmark — {args.readings} readings per load and path,"
        f" {args.concurrency} clients in the second load, six vitals per reading;"
        f" {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"1-minute load average {load_before} before, {load_after} after\n")
    for figures in results:
        print("\n".join(render(figures, args.concurrency)) + "\n")
        problems = [
            f"{name}: {sample}"
            for name, load in figures.loads.items()
            for sample in load.error_samples
        ]
        if figures.stored_mllp != figures.acknowledged_mllp:
            problems.append(
                f"MLLP: {figures.acknowledged_mllp} acknowledged but {figures.stored_mllp} stored"
            )
        if problems:
            print("Problems seen:\n" + "\n".join(problems) + "\n")
    print(
        "MLLP/JSON is the MLLP figure divided by the JSON API's: for readings/s below 1 means"
        " MLLP is slower; for ms above 1 means MLLP is slower or costlier."
    )
    if args.json:
        report = {
            "environment": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "when": datetime.now(UTC).isoformat(),
                "load_average_before": load_before,
                "load_average_after": load_after,
            },
            "results": [asdict(f) for f in results],
        }
        args.json.write_text(json.dumps(without_nan(report), indent=2, allow_nan=False) + "\n")
        print(f"\nFigures written to {args.json}")


if __name__ == "__main__":
    main()
