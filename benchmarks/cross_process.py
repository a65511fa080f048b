"""Events across processes: three `vigil serve` on one PostgreSQL, LISTEN/NOTIFY against the poll.

For each mode (`notify`: VIGIL_STREAM_NOTIFY=true, the default; `poll`: false, the poll of the
sequence counter alone, as before issue 18), on a fresh database:

  * three `vigil serve` processes (benchmarks/ingest.py's Server) share the database;
  * a ward-wide WebSocket subscriber on the posting process ("same") and one on another
    process ("other");
  * readings are POSTed to the first process at a steady rate (open loop: each POST is sent on
    its schedule whether or not the earlier ones have been answered, over a few connections)
    across several sessions;
  * each reading is timed from just before its POST to the arrival of its `reading.created`
    event on each subscriber. The ward stream carries every event, so each subscriber's cursors
    are also checked for gaps, duplicates and disorder.

`--commits` adds the measurement behind the NOTIFY design (backend/streaming/notify.py): N
threads commit "take a seq from a counter row + insert an event" transactions, with no NOTIFY,
with `pg_notify` inside each transaction, and with the coalesced NOTIFY sent after commit by
the Notifier's own thread; two other connections LISTEN throughout.

It prints the figures and asserts nothing about speed. Run from the repository root:
  .venv/bin/python -m benchmarks.cross_process --help
The server: VIGIL_BENCH_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
each mode gets a database of its own, dropped afterwards.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from websockets.asyncio.client import connect as ws_connect

from backend import flows
from backend.core.database import Database
from backend.core.roles import Role
from backend.migrations import upgrade
from backend.patients import service as patients
from backend.patients.schemas import PatientCreate
from backend.sessions.schemas import Drug, Route, SessionCreate
from backend.sites import service as sites
from backend.sites.schemas import ChairCreate, RoomCreate, SiteCreate
from backend.streaming.notify import Notifier, libpq_url
from backend.users import service as users
from benchmarks.ingest import (
    READINGS_PATH,
    ErrorLog,
    Server,
    Target,
    http_client,
    percentile,
    post_one,
    reading_body,
    running,
    server_env,
    vigil_command,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GRACE = 5.0  # seconds to wait for stragglers after the last POST


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    name = f"vigil_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str, sessions: int) -> tuple[str, list[int]]:
    """Migrate; a nurse token and `sessions` sessions, each on a patient of its own."""
    upgrade(url)
    database = Database(url)
    try:
        with database.unit_of_work(write=True) as db:
            token, secret = users.create_token(db, "cross-process benchmark", Role.NURSE)
            site = sites.create_site(db, SiteCreate(name="Benchmark clinic"))
            room = sites.create_room(db, site.id, RoomCreate(name="Benchmark room"))
            ids = []
            for n in range(sessions):
                chair = sites.create_chair(db, ChairCreate(room_id=room.id, name=f"Bench {n}"))
                patient = patients.create_patient(
                    db, PatientCreate(clinic_id=f"BENCH-{n:04d}", display_name=f"Bench {n}")
                )
                session = flows.start_session(
                    db,
                    SessionCreate(
                        patient_id=patient.id,
                        chair_id=chair.id,
                        drug=Drug.KETAMINE,
                        route=Route.IV,
                    ),
                    users.token_actor(token),
                )
                ids.append(session.id)
    finally:
        database.dispose()
    return secret, ids


@dataclass
class Subscriber:
    name: str
    arrived: dict[str, float] = field(default_factory=dict)
    cursors: list[int] = field(default_factory=list)


@dataclass
class ModeFigures:
    mode: str
    posted: int
    post_errors: int
    seconds: float
    latency: dict[str, dict[str, float]]  # subscriber -> p50/p99/max ms, received
    integrity: dict[str, dict[str, int]]  # subscriber -> gaps, duplicates, out of order
    error_samples: list[str]
    post_ms: dict[str, float]  # the POSTs' own round trips: p50, p99


async def subscribe(server: Server, headers: dict[str, str], sub: Subscriber) -> None:
    async with ws_connect(
        f"{server.ws_url}/api/stream", additional_headers=headers, open_timeout=10
    ) as ws:
        async for raw in ws:
            now = time.perf_counter()
            message: dict[str, Any] = json.loads(raw)
            if message.get("type") != "event":
                continue
            sub.cursors.append(int(message["cursor"]))
            if message.get("kind") == "reading.created":
                sub.arrived.setdefault(str(message["data"]["id"]), now)


async def ready(server: Server, headers: dict[str, str]) -> None:
    """Wait until a stream on `server` answers: its process is serving streams."""
    async with ws_connect(
        f"{server.ws_url}/api/stream", additional_headers=headers, open_timeout=10
    ) as ws:
        while json.loads(await ws.recv()).get("type") != "ready":
            pass


async def load(
    target: Target,
    session_ids: list[int],
    subs: list[tuple[Server, Subscriber]],
    rate: float,
    seconds: float,
    connections: int,
) -> tuple[dict[str, float], dict[str, float], list[float], ErrorLog, float]:
    rng = random.Random(7)
    errors = ErrorLog()
    sent: dict[str, float] = {}
    post_ms: list[float] = []
    answered: dict[str, float] = {}
    for server, _ in subs:
        await ready(server, target.headers)
    tasks = [asyncio.create_task(subscribe(server, target.headers, sub)) for server, sub in subs]
    await asyncio.sleep(0.5)  # the subscribers' own handshakes
    total = int(rate * seconds)
    slots = asyncio.Semaphore(connections)

    async def post(client: Any, index: int) -> None:
        async with slots:
            reading_id = uuid.uuid4()
            path = READINGS_PATH.format(session_id=session_ids[index % len(session_ids)])
            body = reading_body(rng, reading_id)
            sent[str(reading_id)] = time.perf_counter()
            elapsed = await post_one(client, path, body, errors)
            if elapsed is None:
                sent.pop(str(reading_id), None)
            else:
                post_ms.append(elapsed)
                answered[str(reading_id)] = time.perf_counter()

    async with http_client(target, connections) as client:
        started = time.perf_counter()
        posts = []
        for index in range(total):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            posts.append(asyncio.create_task(post(client, index)))
        await asyncio.gather(*posts)
        elapsed = time.perf_counter() - started
    deadline = time.perf_counter() + GRACE
    while time.perf_counter() < deadline:
        if all(len(sub.arrived) >= len(sent) for _, sub in subs):
            break
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return sent, answered, post_ms, errors, elapsed


def run_mode(admin_url: str, mode: str, args: argparse.Namespace, workdir: Path) -> ModeFigures:
    with fresh_database(admin_url) as url:
        token, session_ids = prepare(url, args.sessions)
        env = server_env(
            {
                "VIGIL_DATABASE_URL": url,
                "VIGIL_STREAM_NOTIFY": "true" if mode == "notify" else "false",
                "VIGIL_MLLP_PORT": "0",
                "VIGIL_DB_CONCURRENCY": str(args.db_concurrency),
            }
        )
        servers = [Server(f"{mode}-{n}", vigil_command(), env, workdir) for n in range(3)]
        headers = {"Authorization": f"Bearer {token}"}
        with contextlib.ExitStack() as stack:
            for server in servers:
                stack.enter_context(running(server))
            target = Target(mode, servers[0], session_ids[0], headers)
            subs = [(servers[0], Subscriber("same")), (servers[1], Subscriber("other"))]
            sent, answered, post_ms, errors, elapsed = asyncio.run(
                load(target, session_ids, subs, args.rate, args.seconds, args.connections)
            )
    latency: dict[str, dict[str, float]] = {}
    integrity: dict[str, dict[str, int]] = {}
    for _, sub in subs:
        ms = [(sub.arrived[rid] - t) * 1000 for rid, t in sent.items() if rid in sub.arrived]
        late = [(sub.arrived[r] - t) * 1000 for r, t in answered.items() if r in sub.arrived]
        latency[sub.name] = {
            "received": len(ms),
            "p50_ms": round(percentile(ms, 50), 1),
            "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(max(ms, default=float("nan")), 1),
            # From the POST's answer: the stream's own delay, without the ingest's queueing
            # (negative when the event beat the HTTP answer).
            "after_answer_p50_ms": round(percentile(late, 50), 1),
            "after_answer_p99_ms": round(percentile(late, 99), 1),
        }
        seen = sub.cursors
        span = set(range(seen[0], seen[-1] + 1)) if seen else set()
        integrity[sub.name] = {
            "events": len(seen),
            "gaps": len(span - set(seen)),
            "duplicates": len(seen) - len(set(seen)),
            "out_of_order": sum(1 for a, b in itertools.pairwise(seen) if b <= a),
        }
    posts = {"p50": round(percentile(post_ms, 50), 1), "p99": round(percentile(post_ms, 99), 1)}
    return ModeFigures(
        mode, len(sent), errors.count, elapsed, latency, integrity, errors.samples, posts
    )


# ---- the commit-cost measurement behind the NOTIFY design


def _commit_worker(
    dsn: str,
    mode: str,
    transactions: int,
    notifier: Notifier | None,
    times: list[float],
    lock: threading.Lock,
) -> None:
    """Commit `transactions` times as the outbox does: take a seq, insert its event."""
    mine = []
    with psycopg.connect(dsn) as conn:
        for _ in range(transactions):
            t0 = time.perf_counter()
            row = conn.execute(
                "UPDATE counter SET last = last + 1 WHERE id = 1 RETURNING last"
            ).fetchone()
            assert row is not None
            seq = row[0]
            conn.execute("INSERT INTO events VALUES (%s, %s)", (seq, '{"heart_rate": 80}'))
            if mode == "in-transaction":
                conn.execute("SELECT pg_notify('bench', %s)", (str(seq),))
            conn.commit()
            if notifier is not None:
                notifier.committed(seq)
            mine.append((time.perf_counter() - t0) * 1000)
    with lock:
        times.extend(mine)


def commit_cost(
    admin_url: str, threads: int, transactions: int, rounds: int
) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with fresh_database(admin_url) as url:
        dsn = libpq_url(url)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE counter (id int PRIMARY KEY, last bigint NOT NULL)")
            conn.execute("INSERT INTO counter VALUES (1, 0)")
            conn.execute("CREATE TABLE events (seq bigint PRIMARY KEY, payload text NOT NULL)")
        stop = threading.Event()

        def drain() -> None:
            with psycopg.connect(dsn, autocommit=True) as listening:
                listening.execute("LISTEN bench")
                while not stop.is_set():
                    for _ in listening.notifies(timeout=0.2):
                        pass

        listeners = [threading.Thread(target=drain, daemon=True) for _ in range(2)]
        for listener in listeners:
            listener.start()
        time.sleep(0.3)
        times: dict[str, list[float]] = {}
        spent: dict[str, float] = {}
        sent: dict[str, int] = {}
        # Rounds interleave the modes, so the machine's other work weighs on each alike.
        for _ in range(rounds):
            for mode in ("none", "in-transaction", "after-commit"):
                notifier = None
                if mode == "after-commit":
                    notifier = Notifier(
                        lambda: psycopg.connect(dsn, autocommit=True),
                        interval=0.005,
                        retry_most=1,
                        channel="bench",
                    )
                    notifier.start()
                lock = threading.Lock()
                workers = [
                    threading.Thread(
                        target=_commit_worker,
                        args=(dsn, mode, transactions, notifier, times.setdefault(mode, []), lock),
                    )
                    for _ in range(threads)
                ]
                started = time.perf_counter()
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
                spent[mode] = spent.get(mode, 0.0) + time.perf_counter() - started
                count = threads * transactions * (mode == "in-transaction")
                if notifier is not None:
                    notifier.stop()
                    count = notifier.sent_count
                sent[mode] = sent.get(mode, 0) + count
        for mode, ms in times.items():
            results[mode] = {
                "commits_per_s": round(len(ms) / spent[mode]),
                "p50_ms": round(percentile(ms, 50), 2),
                "p99_ms": round(percentile(ms, 99), 2),
                "notifications": sent[mode],
            }
        stop.set()
        for listener in listeners:
            listener.join()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=300.0, help="readings POSTed per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to post, per mode")
    parser.add_argument("--sessions", type=int, default=10, help="sessions the readings go to")
    parser.add_argument("--connections", type=int, default=16, help="HTTP connections to post on")
    parser.add_argument("--db-concurrency", type=int, default=8, help="VIGIL_DB_CONCURRENCY")
    parser.add_argument("--modes", default="poll,notify", help="comma-separated: poll, notify")
    parser.add_argument("--rounds", type=int, default=1, help="times each mode is run")
    parser.add_argument("--commits", action="store_true", help="also measure commit cost")
    parser.add_argument("--commit-threads", type=int, default=8)
    parser.add_argument("--commit-transactions", type=int, default=200, help="per thread, round")
    parser.add_argument("--commit-rounds", type=int, default=3)
    args = parser.parse_args(argv)
    admin_url = os.environ.get("VIGIL_BENCH_POSTGRES_URL", DEFAULT_URL)
    figures: list[ModeFigures] = []
    with tempfile.TemporaryDirectory(prefix="vigil-cross-") as tmp:
        # Rounds interleave the modes, so the machine's other work weighs on each alike.
        for mode in [m for _ in range(args.rounds) for m in args.modes.split(",")]:
            print(
                f"{mode}: 3 processes, {args.rate:g} readings/s for {args.seconds:g} s",
                file=sys.stderr,
            )
            figures.append(run_mode(admin_url, mode, args, Path(tmp)))
    load_avg = os.getloadavg()[0]
    print(
        f"\nCross-process stream: 3 `vigil serve` on one PostgreSQL, {args.rate:g} readings/s "
        f"asked for {args.seconds:g} s over {args.connections} connections, {args.sessions} "
        f"sessions; ward subscribers on the posting process (same) and another (other); "
        f"{os.cpu_count()} CPUs, load {load_avg:.1f} after"
    )
    print(
        f"{'mode':<7} {'posted/s':>8} {'err':>4} {'POST p50/p99':>13} {'subscriber':<10} "
        f"{'received':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'after answer p50/p99':>21} "
        f"{'gaps':>5} {'dups':>5} {'disorder':>8}"
    )
    for f in figures:
        mode = f.mode
        for name, lat in f.latency.items():
            integ = f.integrity[name]
            print(
                f"{mode:<7} {f.posted / f.seconds:>8.0f} {f.post_errors:>4} "
                f"{f.post_ms['p50']:>6}/{f.post_ms['p99']:<6} {name:<10} "
                f"{lat['received']:>5.0f}/{f.posted:<3} {lat['p50_ms']:>7} {lat['p99_ms']:>8} "
                f"{lat['max_ms']:>8} "
                f"{lat['after_answer_p50_ms']:>10}/{lat['after_answer_p99_ms']:<10} "
                f"{integ['gaps']:>5} {integ['duplicates']:>5} "
                f"{integ['out_of_order']:>8}"
            )
        for sample in f.error_samples:
            print(f"  {mode} error: {sample}")
    if args.commits:
        results = commit_cost(
            admin_url, args.commit_threads, args.commit_transactions, args.commit_rounds
        )
        print(
            f"\nCommit cost: {args.commit_rounds} rounds of {args.commit_threads} threads x "
            f"{args.commit_transactions} transactions (counter row + event insert), "
            "2 connections LISTENing"
        )
        print(f"{'NOTIFY':<15} {'commits/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'notifications':>13}")
        for mode, r in results.items():
            print(
                f"{mode:<15} {r['commits_per_s']:>9.0f} {r['p50_ms']:>7} {r['p99_ms']:>7} "
                f"{r['notifications']:>13.0f}"
            )


if __name__ == "__main__":
    main()
