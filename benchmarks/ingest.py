"""Ingest and live-stream benchmark: Vigil against a bare FastAPI + sqlite3 baseline, same run.

Both servers run as uvicorn subprocesses on free 127.0.0.1 ports, each on a fresh SQLite file in
a temporary directory (WAL, synchronous=FULL). For each server this measures

  * single-reading POST throughput and latency, sequentially over one keep-alive connection,
    then with several concurrent clients;
  * the time from just before a POST is sent to the arrival of its `reading.created` event on a
    WebSocket subscribed to the session, with readings sent one at a time at a modest rate;
  * for Vigil, the time from just before a high blood pressure reading is POSTed to the arrival
    of the `alert.changed` event raising its alarm on such a WebSocket (the baseline has no
    alerts: its figure there is its POST-to-event time from the previous point);
  * the server process's CPU time per request and its resident memory (idle and peak).

It prints a table (and with --json writes the figures). It asserts nothing about speed.
Run from the repository root:  .venv/bin/python -m benchmarks.ingest --help
"""

import argparse
import asyncio
import atexit
import contextlib
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx2
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from backend import flows
from backend.core.database import Database
from backend.core.roles import Role
from backend.migrations import upgrade
from backend.patients import service as patients
from backend.patients.schemas import PatientCreate
from backend.sessions.schemas import Drug, Route, SessionCreate
from backend.sites import service as sites
from backend.sites.schemas import ChairCreate, RoomCreate, SiteCreate
from backend.users import service as users

REPO_ROOT = Path(__file__).resolve().parents[1]
READINGS_PATH = "/api/sessions/{session_id}/readings"
START_TIMEOUT = 30.0  # seconds for a server to answer its health check
STOP_TIMEOUT = 10.0  # seconds for a server to exit after SIGTERM before it is killed
REQUEST_TIMEOUT = 30.0  # seconds for any one HTTP request
STREAM_GRACE = 5.0  # seconds to wait for stragglers after the last stream POST
ALARM_TIMEOUT = 5.0  # seconds to wait for each alarm's event
ALERTS_PATH = "/api/sessions/{session_id}/alerts"
ACKNOWLEDGE_PATH = "/api/alerts/{alert_id}/acknowledge"
# Systolic blood pressure alarms on measurement, with no delay (clinic defaults: high above 180).
# 190/90 raises a high-priority alarm; 120/80 clears the condition, but a high alarm latches,
# so it resolves only when acknowledged. Then the next 190 raises a new alarm.
ALARM_CONDITION = "systolic.above"
HIGH_PRESSURE = (190, 90)
NORMAL_PRESSURE = (120, 80)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_running: set[subprocess.Popen[bytes]] = set()


# --------------------------------------------------------------------------------------------
# Figures


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class LoadFigures:
    """One closed-loop load: `requests` POSTs by `clients` clients, each waiting for its answer."""

    clients: int
    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_request: float  # user + system, all threads of the server process
    server_user_ms_per_request: float
    server_system_ms_per_request: float
    client_cpu_ms_per_request: float  # this process: how busy the load generator was
    error_samples: list[str] = field(default_factory=list)


@dataclass
class StreamFigures:
    """Paced POSTs, each timed to its answer and to its event on a subscribed WebSocket."""

    readings: int
    rate_per_second: float
    received: int
    errors: int
    post_p50_ms: float
    post_p99_ms: float
    event_p50_ms: float
    event_p99_ms: float
    event_max_ms: float
    error_samples: list[str] = field(default_factory=list)


@dataclass
class AlarmFigures:
    """High blood pressure alarms raised one at a time, each timed from the POST of its reading
    to the `alert.changed` event that raised it; then cleared (normal reading, acknowledgement)."""

    alarms: int
    rate_per_second: float
    received: int  # raising events that arrived within ALARM_TIMEOUT
    errors: int  # failed requests, unexpected answers, resolutions that never arrived
    p50_ms: float
    p99_ms: float
    max_ms: float
    post_p50_ms: float  # round trip of the POSTs of the alarming readings
    reading_event_p50_ms: float  # the same readings' own `reading.created` events
    alerts_before: int | None  # the session's alerts before: in-range readings raise none
    error_samples: list[str] = field(default_factory=list)


@dataclass
class BurstFigures:
    """`clients` POSTs sent at the same moment, each on its own connection, `rounds` times:
    every one must be answered (stored, or refused with 503 and Retry-After), none left hanging."""

    clients: int
    rounds: int
    stored: int  # 201
    shed: int  # 503 with Retry-After: told to resend later
    failed: int  # no answer within REQUEST_TIMEOUT (a stall), a 500, a 503 without Retry-After
    p50_ms: float  # time to an answer, stored or shed
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_request: float
    error_samples: list[str] = field(default_factory=list)


@dataclass
class TargetFigures:
    name: str
    sequential: LoadFigures
    concurrent: LoadFigures
    burst: BurstFigures | None  # None: not measured (--burst 0)
    stream: StreamFigures
    alarm: AlarmFigures | None  # None: not measured (the baseline has no alerts)
    idle_rss_mib: float
    peak_rss_mib: float  # VmHWM: the most the process ever held, start-up included
    loaded_rss_mib: float  # VmRSS after the last phase
    rss_after_mib: dict[str, float]  # VmRSS when the server was idle and after each phase
    server_log_lines: int
    server_log_tail: list[str]


# --------------------------------------------------------------------------------------------
# Server processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _kill_leftovers() -> None:
    for proc in list(_running):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_TIMEOUT)
        _running.discard(proc)


atexit.register(_kill_leftovers)


class Server:
    """A uvicorn subprocess on a loopback port, its output in a log file, always stopped."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.argv = [*argv, "--port", str(self.port), "--log-level", "warning"]
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / f"{name}-server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"the {self.name} server is not running")
        return self.proc.pid

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the terminal's Ctrl-C reaches us; we stop it
            )
        _running.add(self.proc)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the {self.name} server exited with {self.proc.returncode}:\n"
                    + "\n".join(self.log_tail(20))
                )
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{self.base_url}/api/health", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"the {self.name} server did not answer /api/health in time")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=STOP_TIMEOUT)
        finally:
            _running.discard(proc)

    def memory_kib(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak so far) of the server process, in KiB."""
        figures: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                figures[key] = int(value.split()[0])
        return figures

    def cpu_seconds(self) -> tuple[float, float]:
        """User and system CPU time the server process (all its threads) has used so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # the fields after "pid (comm) "
        return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS  # utime, stime

    def log_tail(self, lines: int) -> list[str]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]

    def log_line_count(self) -> int:
        try:
            return len(self.log_path.read_text(errors="replace").splitlines())
        except OSError:
            return 0


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """Our environment without VIGIL_ settings, this checkout first on the path, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def vigil_command() -> list[str]:
    script = Path(sys.executable).with_name("vigil")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]
    return [*base, "serve", "--host", "127.0.0.1"]


def baseline_command() -> list[str]:
    return [sys.executable, "-m", "uvicorn", "benchmarks.baseline_app:app", "--host", "127.0.0.1"]


# --------------------------------------------------------------------------------------------
# Set-up


@dataclass
class Target:
    name: str
    server: Server
    session_id: int
    headers: dict[str, str]
    figures: TargetFigures | None = None


def prepare_vigil(workdir: Path) -> tuple[str, str, int]:
    """Migrate a fresh database; add a nurse token, a patient and a session. (url, token, id)"""
    url = f"sqlite:///{workdir / 'vigil.db'}"
    upgrade(url)
    database = Database(url)
    try:
        with database.unit_of_work(write=True) as db:
            token, secret = users.create_token(db, "benchmark", Role.NURSE)
            patient = patients.create_patient(
                db, PatientCreate(clinic_id="BENCH-0001", display_name="Benchmark Patient")
            )
            # A session needs a configured chair (since chairs are configured, not typed).
            site = sites.create_site(db, SiteCreate(name="Benchmark clinic"))
            room = sites.create_room(db, site.id, RoomCreate(name="Benchmark room"))
            chair = sites.create_chair(db, ChairCreate(room_id=room.id, name="Benchmark chair"))
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
            session_id = session.id
    finally:
        database.dispose()
    return url, secret, session_id


def reading_body(rng: random.Random, reading_id: uuid.UUID) -> bytes:
    """A full set of plausible vitals with the client's own id, taken now, as JSON. Every value
    is well inside the clinic's default alert limits, so these readings raise no alarm."""
    systolic = rng.randint(105, 140)
    return json.dumps(
        {
            "id": str(reading_id),
            "taken_at": datetime.now(UTC).isoformat(),
            "heart_rate": rng.randint(60, 100),
            "systolic": systolic,
            "diastolic": rng.randint(60, min(systolic - 20, 90)),
            "spo2": rng.randint(95, 100),
            "respiratory_rate": rng.randint(12, 20),
            "temperature": round(rng.uniform(36.2, 37.4), 1),
            "consciousness": "A",
        }
    ).encode()


def pressure_body(reading_id: uuid.UUID, pressure: tuple[int, int]) -> bytes:
    """A full set of vitals, all in range but for the blood pressure given, taken now."""
    systolic, diastolic = pressure
    return json.dumps(
        {
            "id": str(reading_id),
            "taken_at": datetime.now(UTC).isoformat(),
            "heart_rate": 80,
            "systolic": systolic,
            "diastolic": diastolic,
            "spo2": 98,
            "respiratory_rate": 14,
            "temperature": 36.8,
            "consciousness": "A",
        }
    ).encode()


def http_client(target: Target, connections: int) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        base_url=target.server.base_url,
        headers={**target.headers, "Content-Type": "application/json"},
        limits=httpx2.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=REQUEST_TIMEOUT,
    )


# --------------------------------------------------------------------------------------------
# Loads


class ErrorLog:
    def __init__(self) -> None:
        self.count = 0
        self.samples: list[str] = []

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.samples) < 5:
            self.samples.append(text[:300])


async def post_one(
    client: httpx2.AsyncClient, path: str, body: bytes, errors: ErrorLog
) -> float | None:
    """POST one reading; its round-trip time in ms, or None (and an error noted) if it failed."""
    start = time.perf_counter()
    try:
        response = await client.post(path, content=body)
    except httpx2.HTTPError as exc:
        errors.add(f"{type(exc).__name__}: {exc}")
        return None
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 201:
        errors.add(f"HTTP {response.status_code}: {response.text}")
        return None
    return elapsed


async def closed_loop(target: Target, requests: int, clients: int, seed: int) -> LoadFigures:
    """`clients` clients, each on its own keep-alive connection, share `requests` POSTs."""
    rng = random.Random(seed)
    path = READINGS_PATH.format(session_id=target.session_id)
    errors = ErrorLog()
    latencies: list[float] = []
    remaining = requests

    async def client_loop(client: httpx2.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            elapsed = await post_one(client, path, reading_body(rng, uuid.uuid4()), errors)
            if elapsed is not None:
                latencies.append(elapsed)

    async with http_client(target, clients) as client:
        (user, system), client_cpu = target.server.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        seconds = time.perf_counter() - started
        user_after, system_after = target.server.cpu_seconds()
        user, system = user_after - user, system_after - system
        client_cpu = time.process_time() - client_cpu
    return LoadFigures(
        clients=clients,
        requests=requests,
        errors=errors.count,
        seconds=round(seconds, 3),
        requests_per_second=round(len(latencies) / seconds, 1),
        p50_ms=round(percentile(latencies, 50), 2),
        p95_ms=round(percentile(latencies, 95), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        max_ms=round(max(latencies, default=math.nan), 2),
        server_cpu_ms_per_request=round((user + system) * 1000 / requests, 3),
        server_user_ms_per_request=round(user * 1000 / requests, 3),
        server_system_ms_per_request=round(system * 1000 / requests, 3),
        client_cpu_ms_per_request=round(client_cpu * 1000 / requests, 3),
        error_samples=errors.samples,
    )


async def burst_load(target: Target, clients: int, rounds: int, seed: int) -> BurstFigures:
    """`clients` POSTs at once, `rounds` times; each answered in time counts, a stall fails."""
    rng = random.Random(seed)
    path = READINGS_PATH.format(session_id=target.session_id)
    errors = ErrorLog()
    latencies: list[float] = []
    outcome = {"stored": 0, "shed": 0}

    async def one(client: httpx2.AsyncClient, body: bytes) -> None:
        start = time.perf_counter()
        try:
            response = await client.post(path, content=body)
        except httpx2.HTTPError as exc:
            errors.add(f"{type(exc).__name__}: {exc}")
            return
        latencies.append((time.perf_counter() - start) * 1000)
        if response.status_code == 201:
            outcome["stored"] += 1
        elif response.status_code == 503 and "Retry-After" in response.headers:
            outcome["shed"] += 1
        else:
            errors.add(f"HTTP {response.status_code}: {response.text}")

    (user, system) = target.server.cpu_seconds()
    for _ in range(rounds):
        # A new client each round: every POST opens its own connection, as 200 devices would.
        async with http_client(target, clients) as client:
            bodies = [reading_body(rng, uuid.uuid4()) for _ in range(clients)]
            await asyncio.gather(*(one(client, body) for body in bodies))
    user_after, system_after = target.server.cpu_seconds()
    requests = clients * rounds
    return BurstFigures(
        clients=clients,
        rounds=rounds,
        stored=outcome["stored"],
        shed=outcome["shed"],
        failed=errors.count,
        p50_ms=round(percentile(latencies, 50), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        max_ms=round(max(latencies, default=math.nan), 2),
        server_cpu_ms_per_request=round(
            (user_after - user + system_after - system) * 1000 / requests, 3
        ),
        error_samples=errors.samples,
    )


async def stream_latency(target: Target, readings: int, rate: float, seed: int) -> StreamFigures:
    """Post `readings` one at a time, `rate` a second at most; time each to its stream event."""
    rng = random.Random(seed)
    path = READINGS_PATH.format(session_id=target.session_id)
    url = f"{target.server.ws_url}/api/stream?session_id={target.session_id}"
    errors = ErrorLog()
    sent: dict[str, float] = {}
    arrived: dict[str, float] = {}
    post_ms: list[float] = []
    all_arrived = asyncio.Event()

    async with ws_connect(url, additional_headers=target.headers, open_timeout=10) as ws:

        async def receive() -> None:
            try:
                async for raw in ws:
                    now = time.perf_counter()
                    message: dict[str, Any] = json.loads(raw)
                    if message.get("type") != "event" or message.get("kind") != "reading.created":
                        continue
                    reading_id = str(message.get("data", {}).get("id"))
                    if reading_id in sent and reading_id not in arrived:
                        arrived[reading_id] = now
                        if len(arrived) == readings:
                            all_arrived.set()
            except ConnectionClosed as exc:
                errors.add(f"stream closed: {exc}")

        async with asyncio.timeout(10):
            while json.loads(await ws.recv()).get("type") != "ready":
                pass
        receiver = asyncio.create_task(receive())
        try:
            async with http_client(target, 1) as client:
                started = time.perf_counter()
                for index in range(readings):
                    delay = started + index / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    reading_id = uuid.uuid4()
                    body = reading_body(rng, reading_id)
                    sent[str(reading_id)] = time.perf_counter()
                    elapsed = await post_one(client, path, body, errors)
                    if elapsed is not None:
                        post_ms.append(elapsed)
                    if receiver.done():
                        break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_arrived.wait(), STREAM_GRACE)
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
    event_ms = [(arrived[rid] - sent[rid]) * 1000 for rid in arrived]
    return StreamFigures(
        readings=readings,
        rate_per_second=rate,
        received=len(arrived),
        errors=errors.count,
        post_p50_ms=round(percentile(post_ms, 50), 2),
        post_p99_ms=round(percentile(post_ms, 99), 2),
        event_p50_ms=round(percentile(event_ms, 50), 2),
        event_p99_ms=round(percentile(event_ms, 99), 2),
        event_max_ms=round(max(event_ms, default=math.nan), 2),
        error_samples=errors.samples,
    )


async def alarm_latency(target: Target, alarms: int, rate: float) -> AlarmFigures:
    """Raise `alarms` high blood pressure alarms one after another, `rate` a second at most.

    Each cycle POSTs a 190/90 reading and times it to the `alert.changed` event that raises the
    alarm, then POSTs a 120/80 reading (the alarm latches), acknowledges the alarm (it resolves)
    and waits for that resolution on the stream, so the next cycle starts with nothing in flight.
    Only the first step is timed."""
    path = READINGS_PATH.format(session_id=target.session_id)
    url = f"{target.server.ws_url}/api/stream?session_id={target.session_id}"
    errors = ErrorLog()
    sent: dict[str, float] = {}
    reading_arrived: dict[str, float] = {}
    changes: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
    raised_ids: set[int] = set()
    alarm_ms: list[float] = []
    post_ms: list[float] = []

    async with ws_connect(url, additional_headers=target.headers, open_timeout=10) as ws:

        async def receive() -> None:
            try:
                async for raw in ws:
                    now = time.perf_counter()
                    message: dict[str, Any] = json.loads(raw)
                    if message.get("type") != "event":
                        continue
                    data: dict[str, Any] = message.get("data") or {}
                    if message.get("kind") == "reading.created":
                        reading_id = str(data.get("id"))
                        if reading_id in sent:
                            reading_arrived.setdefault(reading_id, now)
                    elif (
                        message.get("kind") == "alert.changed"
                        and data.get("condition") == ALARM_CONDITION
                    ):
                        changes.put_nowait((now, data))
            except ConnectionClosed as exc:
                errors.add(f"stream closed: {exc}")

        async def next_change(change: str, alert_id: int | None) -> tuple[float, int] | None:
            """When the next event with `change` arrived, and its alert; None after the timeout.
            alert_id None: any alert not raised before (a new alarm); else only that one."""
            deadline = time.perf_counter() + ALARM_TIMEOUT
            while (remaining := deadline - time.perf_counter()) > 0:
                try:
                    at, data = await asyncio.wait_for(changes.get(), remaining)
                except TimeoutError:
                    return None
                found = data.get("id")
                if change not in data.get("changes", []) or not isinstance(found, int):
                    continue
                if (alert_id is None and found not in raised_ids) or found == alert_id:
                    return at, found
            return None

        async def open_alerts(client: httpx2.AsyncClient) -> list[dict[str, Any]] | None:
            try:
                response = await client.get(ALERTS_PATH.format(session_id=target.session_id))
            except httpx2.HTTPError as exc:
                errors.add(f"alert list: {type(exc).__name__}: {exc}")
                return None
            if response.status_code != 200:
                errors.add(f"alert list: HTTP {response.status_code}: {response.text}")
                return None
            listed: list[dict[str, Any]] = response.json()
            return listed

        async def acknowledge(client: httpx2.AsyncClient, alert_id: int) -> bool:
            """Acknowledge the latched alarm; True when it resolved and that reached the stream."""
            try:
                response = await client.post(
                    ACKNOWLEDGE_PATH.format(alert_id=alert_id), content=b'{"note": null}'
                )
            except httpx2.HTTPError as exc:
                errors.add(f"acknowledge: {type(exc).__name__}: {exc}")
                return False
            status = response.json().get("status") if response.status_code == 200 else None
            if status != "resolved":
                errors.add(f"acknowledge: HTTP {response.status_code}: {response.text}")
                return False
            if await next_change("resolved", alert_id) is None:
                errors.add(f"alert {alert_id}: its resolution never arrived on the stream")
                return False
            return True

        async with asyncio.timeout(10):
            while json.loads(await ws.recv()).get("type") != "ready":
                pass
        receiver = asyncio.create_task(receive())
        try:
            async with http_client(target, 1) as client:
                before = await open_alerts(client)
                alerts_before = len(before) if before is not None else None
                cycles = alarms
                if any(a.get("resolved_at") is None for a in before or []):
                    errors.add("the session already had an open alert: no alarms raised")
                    cycles = 0
                started = time.perf_counter()
                for index in range(cycles):
                    delay = started + index / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    reading_id = str(uuid.uuid4())
                    body = pressure_body(uuid.UUID(reading_id), HIGH_PRESSURE)
                    sent[reading_id] = posted = time.perf_counter()
                    elapsed = await post_one(client, path, body, errors)
                    if elapsed is None:
                        continue
                    post_ms.append(elapsed)
                    raised = await next_change("raised", None)
                    if raised is not None:
                        arrived, alert_id = raised
                        alarm_ms.append((arrived - posted) * 1000)
                    else:
                        errors.add(f"no raised event within {ALARM_TIMEOUT:g}s")
                        # Find the alarm anyway, so that it can be cleared for the next cycle.
                        listed = await open_alerts(client) or []
                        found = [
                            a["id"]
                            for a in listed
                            if a.get("condition") == ALARM_CONDITION
                            and a.get("resolved_at") is None
                        ]
                        if not found or receiver.done():
                            break
                        alert_id = found[0]
                    raised_ids.add(alert_id)
                    normal = pressure_body(uuid.uuid4(), NORMAL_PRESSURE)
                    cleared = await post_one(client, path, normal, errors) is not None
                    if not (cleared and await acknowledge(client, alert_id)):
                        break  # the alarm may still be open: no further alarm could be raised
                    if receiver.done():
                        break
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
    reading_ms = [(reading_arrived[r] - sent[r]) * 1000 for r in reading_arrived]
    return AlarmFigures(
        alarms=alarms,
        rate_per_second=rate,
        received=len(alarm_ms),
        errors=errors.count,
        p50_ms=round(percentile(alarm_ms, 50), 2),
        p99_ms=round(percentile(alarm_ms, 99), 2),
        max_ms=round(max(alarm_ms, default=math.nan), 2),
        post_p50_ms=round(percentile(post_ms, 50), 2),
        reading_event_p50_ms=round(percentile(reading_ms, 50), 2),
        alerts_before=alerts_before,
        error_samples=errors.samples,
    )


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def measure(targets: list[Target], args: argparse.Namespace, say: Callable[[str], None]) -> None:
    """Run every phase against each target in turn, so drift in the machine hits both alike."""
    rss: dict[str, dict[str, float]] = {t.name: {} for t in targets}

    def note_rss(phase: str) -> None:
        for t in targets:
            rss[t.name][phase] = mib(t.server.memory_kib()["VmRSS"])

    note_rss("idle")
    if args.warmup:
        for t in targets:
            say(f"{t.name}: warm-up, {args.warmup} requests")
            asyncio.run(closed_loop(t, args.warmup, 1, seed=1))
        note_rss("warm-up")
    sequential: dict[str, LoadFigures] = {}
    concurrent: dict[str, LoadFigures] = {}
    stream: dict[str, StreamFigures] = {}
    alarm: dict[str, AlarmFigures] = {}
    for t in targets:
        say(f"{t.name}: {args.requests} requests over one connection")
        sequential[t.name] = asyncio.run(closed_loop(t, args.requests, 1, seed=2))
    note_rss("sequential")
    for t in targets:
        say(f"{t.name}: {args.requests} requests from {args.concurrency} clients")
        concurrent[t.name] = asyncio.run(closed_loop(t, args.requests, args.concurrency, seed=3))
    note_rss("concurrent")
    burst: dict[str, BurstFigures] = {}
    if args.burst:
        for t in targets:
            say(f"{t.name}: {args.burst_rounds} bursts of {args.burst} POSTs sent at once")
            burst[t.name] = asyncio.run(burst_load(t, args.burst, args.burst_rounds, seed=5))
        note_rss("burst")
    for t in targets:
        rate = f"≤{args.stream_rate:g}/s"
        say(f"{t.name}: {args.stream_readings} readings at {rate}, timed to the stream")
        stream[t.name] = asyncio.run(
            stream_latency(t, args.stream_readings, args.stream_rate, seed=4)
        )
    note_rss("stream")
    if args.alarms:
        for t in targets:
            if t.name != "vigil":
                continue  # the baseline has no alerts
            say(f"{t.name}: {args.alarms} alarms at ≤{args.alarm_rate:g}/s, timed to the stream")
            alarm[t.name] = asyncio.run(alarm_latency(t, args.alarms, args.alarm_rate))
        note_rss("alarms")
    for t in targets:
        memory = t.server.memory_kib()
        t.figures = TargetFigures(
            name=t.name,
            sequential=sequential[t.name],
            concurrent=concurrent[t.name],
            burst=burst.get(t.name),
            stream=stream[t.name],
            alarm=alarm.get(t.name),
            idle_rss_mib=rss[t.name]["idle"],
            peak_rss_mib=mib(memory["VmHWM"]),
            loaded_rss_mib=list(rss[t.name].values())[-1],
            rss_after_mib=rss[t.name],
            server_log_lines=t.server.log_line_count(),
            server_log_tail=t.server.log_tail(10),
        )


# --------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class Row:
    label: str
    path: str  # attribute path into TargetFigures, e.g. "sequential.p50_ms"
    unit: str
    higher_is_better: bool = False
    # For a figure the baseline cannot have (it raises no alerts): its comparable figure.
    baseline_path: str | None = None

    def value(self, figures: TargetFigures | None, path: str | None = None) -> float:
        """The figure at `path` (this row's own by default); NaN where it was not measured."""
        found: Any = figures
        for name in (path or self.path).split("."):
            if found is None:
                break
            found = getattr(found, name)
        return math.nan if found is None else float(found)

    def baseline_value(self, figures: TargetFigures | None) -> float:
        return self.value(figures, self.baseline_path)


def rows(concurrency: int, burst: int = 200) -> list[Row]:
    loads = [("sequential", "sequential"), (f"{concurrency} clients", "concurrent")]
    table: list[Row] = []
    for name, key in loads:
        table += [
            Row(f"{name}: throughput", f"{key}.requests_per_second", "req/s", True),
            Row(f"{name}: latency p50", f"{key}.p50_ms", "ms"),
            Row(f"{name}: latency p95", f"{key}.p95_ms", "ms"),
            Row(f"{name}: latency p99", f"{key}.p99_ms", "ms"),
            Row(f"{name}: server CPU/request", f"{key}.server_cpu_ms_per_request", "ms"),
            Row("  of which system (kernel)", f"{key}.server_system_ms_per_request", "ms"),
            Row(f"{name}: load generator CPU/req", f"{key}.client_cpu_ms_per_request", "ms"),
        ]
    table += [
        Row(f"{burst} at once: stored (201)", "burst.stored", "", True),
        Row(f"{burst} at once: shed (503+Retry-After)", "burst.shed", ""),
        Row(f"{burst} at once: failed or stalled", "burst.failed", ""),
        Row(f"{burst} at once: time to answer p50", "burst.p50_ms", "ms"),
        Row(f"{burst} at once: time to answer p99", "burst.p99_ms", "ms"),
        Row(f"{burst} at once: time to answer max", "burst.max_ms", "ms"),
        Row(f"{burst} at once: server CPU/request", "burst.server_cpu_ms_per_request", "ms"),
    ]
    return [
        *table,
        Row("paced POST round trip p50", "stream.post_p50_ms", "ms"),
        Row("paced POST round trip p99", "stream.post_p99_ms", "ms"),
        Row("post → WebSocket event p50", "stream.event_p50_ms", "ms"),
        Row("post → WebSocket event p99", "stream.event_p99_ms", "ms"),
        Row("post → WebSocket event max", "stream.event_max_ms", "ms"),
        Row("events received", "stream.received", "", True),
        Row("reading → alert event p50", "alarm.p50_ms", "ms", baseline_path="stream.event_p50_ms"),
        Row("reading → alert event p99", "alarm.p99_ms", "ms", baseline_path="stream.event_p99_ms"),
        Row("reading → alert event max", "alarm.max_ms", "ms", baseline_path="stream.event_max_ms"),
        Row("alerts received", "alarm.received", "", True),
        Row("server RSS idle", "idle_rss_mib", "MiB"),
        Row("server RSS after the loads", "loaded_rss_mib", "MiB"),
        Row("server RSS peak (VmHWM)", "peak_rss_mib", "MiB"),
    ]


def fmt(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def ratio_of(vigil: float, baseline: float) -> float:
    if math.isnan(vigil) or math.isnan(baseline) or baseline == 0:
        return math.nan
    return vigil / baseline


def render_table(
    figures: dict[str, TargetFigures], concurrency: int, burst: int = 200
) -> list[str]:
    vigil, baseline = figures.get("vigil"), figures.get("baseline")
    header = f"{'metric':34} {'unit':>5} {'Vigil':>9} {'baseline':>9} {'Vigil/baseline':>15}"
    lines = [header, "-" * len(header)]
    for row in rows(concurrency, burst):
        v, b = row.value(vigil), row.baseline_value(baseline)
        ratio = ratio_of(v, b)
        better = "  (higher is better)" if row.higher_is_better else ""
        if row.baseline_path is not None:
            better = "  (baseline: post → event *)"
        ratio_text = "-" if math.isnan(ratio) else f"{ratio:.2f}"
        figures_text = f"{fmt(v):>9} {fmt(b):>9} {ratio_text:>15}"
        lines.append(f"{row.label:34} {row.unit:>5} {figures_text}{better}")
    lines.append(
        "Vigil/baseline is Vigil's figure divided by the baseline's: for req/s and events a"
        " figure below 1 means Vigil is slower; for ms and MiB a figure above 1 means Vigil"
        " is slower or heavier."
    )
    lines.append(
        "* The baseline raises no alerts. Its figure on those rows is its post → WebSocket event,"
        " the same path (POST, commit, push) that Vigil's alert takes with its reading."
    )
    return lines


def alarm_problems(name: str, alarm: AlarmFigures) -> list[str]:
    lines: list[str] = []
    if alarm.alerts_before:
        lines.append(
            f"{name} alarms: the session had {alarm.alerts_before} alerts before this phase;"
            " the in-range readings of the other phases should raise none"
        )
    if alarm.errors:
        lines.append(f"{name} alarms: {alarm.errors} problems, e.g.:")
        lines.extend(f"    {s}" for s in alarm.error_samples)
    if alarm.received < alarm.alarms:
        lines.append(
            f"{name} alarms: {alarm.alarms - alarm.received} of {alarm.alarms} raised events"
            " never arrived (or were never caused)"
        )
    return lines


def render_problems(figures: dict[str, TargetFigures]) -> list[str]:
    lines: list[str] = []
    for f in figures.values():
        for mode, errors, samples in (
            ("sequential", f.sequential.errors, f.sequential.error_samples),
            ("concurrent", f.concurrent.errors, f.concurrent.error_samples),
            ("stream", f.stream.errors, f.stream.error_samples),
        ):
            if errors:
                lines.append(f"{f.name} {mode}: {errors} failed requests, e.g.:")
                lines.extend(f"    {s}" for s in samples)
        if f.burst is not None and f.burst.failed:
            lines.append(f"{f.name} burst: {f.burst.failed} POSTs failed or got no answer, e.g.:")
            lines.extend(f"    {s}" for s in f.burst.error_samples)
        if f.stream.received < f.stream.readings:
            lines.append(
                f"{f.name} stream: {f.stream.readings - f.stream.received} of"
                f" {f.stream.readings} events never arrived within {STREAM_GRACE:g}s"
            )
        if f.alarm is not None:
            lines.extend(alarm_problems(f.name, f.alarm))
        if f.server_log_lines:
            lines.append(f"{f.name} server wrote {f.server_log_lines} log lines; the last:")
            lines.extend(f"    {s}" for s in f.server_log_tail)
    return lines


# --------------------------------------------------------------------------------------------
# Command line


def bounded(low: float, high: float, kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ingest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--requests",
        type=bounded(1, 100_000, int),
        default=2000,
        help="POSTs per throughput mode (default 2000)",
    )
    parser.add_argument(
        "--concurrency",
        type=bounded(1, 256, int),
        default=8,
        help="concurrent clients in the second throughput mode (default 8)",
    )
    parser.add_argument(
        "--burst",
        type=bounded(0, 1000, int),
        default=200,
        help="POSTs sent at the same moment, each on its own connection (default 200; 0: skip)",
    )
    parser.add_argument(
        "--burst-rounds",
        type=bounded(1, 100, int),
        default=3,
        help="how many such bursts (default 3)",
    )
    parser.add_argument(
        "--warmup",
        type=bounded(0, 10_000, int),
        default=100,
        help="unmeasured POSTs sent first to each server (default 100)",
    )
    parser.add_argument(
        "--stream-readings",
        type=bounded(1, 50_000, int),
        default=500,
        help="readings timed from POST to WebSocket event (default 500)",
    )
    parser.add_argument(
        "--stream-rate",
        type=bounded(0.1, 10_000, float),
        default=100.0,
        help="at most this many of those readings a second (default 100)",
    )
    parser.add_argument(
        "--alarms",
        type=bounded(0, 10_000, int),
        default=200,
        help="high blood pressure alarms timed from POST to alert event (default 200; 0: skip)",
    )
    parser.add_argument(
        "--alarm-rate",
        type=bounded(0.1, 1000, float),
        default=10.0,
        help="at most this many of those alarms a second (default 10)",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="measure Vigil only (no ratios then)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument(
        "--dir",
        type=Path,
        metavar="PARENT",
        help="make the temporary directory (databases, server logs) under PARENT",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory and say where it is"
    )
    return parser


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    print("terminated: stopping the servers", file=sys.stderr)
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the servers


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}", file=sys.stderr, flush=True)

    figures: dict[str, TargetFigures] = {}
    workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-", dir=args.dir))
    load_before = load_average()
    try:
        say(f"working in {workdir}")
        url, token, session_id = prepare_vigil(workdir)
        auth = {"Authorization": f"Bearer {token}"}
        vigil_env = server_env({"VIGIL_DATABASE_URL": url})
        targets = [
            Target("vigil", Server("vigil", vigil_command(), vigil_env, workdir), session_id, auth)
        ]
        if not args.no_baseline:
            env = server_env({"VIGIL_BENCH_BASELINE_DB": str(workdir / "baseline.db")})
            server = Server("baseline", baseline_command(), env, workdir)
            targets.append(Target("baseline", server, 1, auth))
        with contextlib.ExitStack() as stack:
            for t in targets:
                stack.enter_context(running(t.server))
            say("servers up: " + ", ".join(f"{t.name} pid {t.server.pid}" for t in targets))
            measure(targets, args, say)
        figures = {t.name: t.figures for t in targets if t.figures is not None}
    finally:
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    say("done")

    settings = (
        f"{args.requests} requests per throughput mode, {args.concurrency} concurrent clients,"
        f" {args.stream_readings} stream readings at ≤{args.stream_rate:g}/s,"
        f" {args.alarms} alarms at ≤{args.alarm_rate:g}/s,"
        f" SQLite WAL synchronous=FULL; {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    load_after = load_average()
    print(f"\nVigil ingest benchmark — {settings}")
    print(
        f"1-minute load average {load_before} before, {load_after} after (on {os.cpu_count()} CPUs;"
        " other work on the machine skews every figure)\n"
    )
    print("\n".join(render_table(figures, args.concurrency, args.burst)))
    problems = render_problems(figures)
    if problems:
        print("\nProblems seen:")
        print("\n".join(problems))
    return {
        "settings": {
            "requests": args.requests,
            "concurrency": args.concurrency,
            "burst": args.burst,
            "burst_rounds": args.burst_rounds,
            "warmup": args.warmup,
            "stream_readings": args.stream_readings,
            "stream_rate": args.stream_rate,
            "alarms": args.alarms,
            "alarm_rate": args.alarm_rate,
        },
        "environment": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "when": datetime.now(UTC).isoformat(),
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
        "results": {name: asdict(f) for name, f in figures.items()},
        "ratio_vigil_over_baseline": {
            row.path: round(
                ratio_of(
                    row.value(figures.get("vigil")), row.baseline_value(figures.get("baseline"))
                ),
                3,
            )
            for row in rows(args.concurrency, args.burst)
        },
    }


def without_nan(value: Any) -> Any:
    """JSON has no NaN: a figure that could not be measured is written as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nan(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    try:
        report = run(args)
    except KeyboardInterrupt:
        raise SystemExit("interrupted: servers stopped, nothing measured") from None
    if args.json:
        args.json.write_text(json.dumps(without_nan(report), indent=2, allow_nan=False) + "\n")
        print(f"\nFigures written to {args.json}")


if __name__ == "__main__":
    main()
