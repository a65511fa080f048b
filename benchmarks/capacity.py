"""Capacity: how many bedside monitors at one reading a second Vigil keeps up with, and how late
their readings reach a ward screen.

    .venv/bin/python -m benchmarks.capacity --monitors 100,200,300 [--seconds 30]
    .venv/bin/python -m benchmarks.capacity --database postgresql --monitors 300
    .venv/bin/python -m benchmarks.capacity --database postgresql --processes 3 --monitors 600

It starts Vigil (`vigil serve`, benchmarks.ingest's Server) on a fresh database (a SQLite file in a
temporary directory, or a new PostgreSQL database on the server VIGIL_BENCH_POSTGRES_URL names,
dropped afterwards), with one session per monitor (each its own patient and chair). With
`--processes N` (PostgreSQL only) it starts N `vigil serve` processes on that one database, as
several workers or hosts behind a proxy would be, and the monitors are dealt out among them
(separate processes on ports of their own rather than `vigil serve --workers N`, so that each
monitor's process is known and screens can listen on another process than the one posting).

For each count in `--monitors`, one row:

  * every monitor is a connection of its own (HTTP/1.1 keep-alive) that POSTs one reading a
    second to its own session (`POST /api/sessions/{id}/readings`, a nurse's API token, as a
    bedside gateway does), the monitors' seconds spread evenly over the second (real monitors
    are not in phase). A monitor sends its next reading when it is due, or as soon as its
    previous one is answered if that answer came late (it never has two in flight, as one
    HTTP/1.1 connection cannot): a server that cannot keep up shows as readings stored per
    second below those offered, and as monitors falling behind;
  * `--subscribers` ward screens (default one per server process) hold `/api/stream` (the
    ward's stream: every event) open, dealt out among the processes so that with several
    processes most readings reach a screen through another process. They run in a separate
    OS process of their own, so the monitors' work never delays their clocks;
  * it measures a window of `--seconds` after `--warmup` seconds: readings offered (due in
    the window) and stored (201 answers that arrived in it) per second, answers other than 201
    in it (503s apart); for the POSTs written in the window, the round trip and post-to-screen:
    from just before the POST is written to the socket until its `reading.created` event
    arrives at a screen (every stored reading at every screen; events still missing `GRACE`
    seconds after the last answer count as not received); the server processes' CPU over the
    window per stored reading (`/proc/<pid>/stat`, all threads of Vigil's processes; not
    PostgreSQL's own backends, which share the machine); and the load generator's own
    CPU (monitors and screens), so one can see it was not the bottleneck. A row is "sustained"
    when at least 98 % of the readings offered were stored, none was refused or lost, every
    stored one reached every screen, and post-to-screen p99 is under 1 s.

The same-run baseline (SQLite only, skipped with --no-baseline): the same monitors and screens
against benchmarks/baseline_app.py, a bare FastAPI + sqlite3 app with the same durability that
stores the reading and pushes it to WebSocket subscribers (see benchmarks/README.md). Each count
runs against Vigil, then against the baseline, so a machine getting busier weighs on both alike.
Whatever the baseline cannot sustain either is the machine's (or the load generator's) limit,
not Vigil's.

The monitors' HTTP client is a minimal one written on asyncio streams (uvloop): a general client
(httpx) costs about a millisecond of CPU a request, which at 600 requests a second is most of a
core on a 2-core machine. It asserts nothing: it measures and prints.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import uvloop
from websockets.asyncio.client import connect as ws_connect

from benchmarks.cross_process import fresh_database, prepare
from benchmarks.ingest import (
    READINGS_PATH,
    Server,
    baseline_command,
    load_average,
    percentile,
    reading_body,
    running,
    server_env,
    vigil_command,
    without_nan,
)

POSTGRES_ENV = "VIGIL_BENCH_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GRACE = 5.0  # seconds to wait for events still on their way after the last POST
ANSWER_TIMEOUT = 30.0  # a POST not answered within this counts as failed (a stall)
SLO_MS = 1000.0  # the target: post-to-screen p99 under 1 s


# --------------------------------------------------------------------------------------------
# The monitors: one keep-alive connection each, a minimal HTTP/1.1 client


class Answer(Exception):
    """The connection broke or the answer could not be read."""


class Connection:
    """One monitor's HTTP/1.1 connection: a request at a time, reopened if the server closed it."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(
            (
                f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.head}"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            if "content-length" not in headers:
                raise Answer(f"HTTP {status} without Content-Length: {headers}")
            content = await self.reader.readexactly(int(headers["content-length"]))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            self.close()
            raise Answer(f"{type(e).__name__}: {e}") from e
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, content


@dataclass
class Target:
    """A server (or several) to load: where each monitor posts, where each screen listens."""

    name: str  # "vigil" or "baseline"
    servers: list[Server]
    session_ids: list[int]  # one per monitor
    headers: dict[str, str]


@dataclass
class MonitorResults:
    """What happened in the measured window: readings due in it, POSTs written in it (each
    timed, whenever its answer came), answers that arrived in it."""

    offered: int = 0  # readings due in the window
    sent: int = 0  # POSTs written in the window (a monitor behind sends readings due earlier)
    stored: int = 0  # 201 answers that arrived in the window
    shed: int = 0  # 503 (Retry-After) answers in the window: the gateway would resend later
    failed: int = 0  # other answers, broken connections, no answer in time
    error_samples: list[str] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)  # round trips of the POSTs sent in it
    behind_ms: list[float] = field(default_factory=list)  # how late after due those were sent
    # The POSTs sent in the window and stored (whenever): id -> (sent at, process index).
    sent_at: dict[str, tuple[float, int]] = field(default_factory=dict)

    def error(self, text: str) -> None:
        self.failed += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:300])


async def run_monitors(
    target: Target,
    monitors: int,
    warmup: float,
    seconds: float,
    seed: int,
    at_window: Callable[[str], None],
) -> MonitorResults:
    """Every monitor posts once a second for warmup + seconds, then stops sending and waits
    for its last answer. `at_window("open")` and `at_window("close")` are called when the
    measured window opens and closes."""
    rng = random.Random(seed)
    results = MonitorResults()
    procs = len(target.servers)
    conns = [
        Connection("127.0.0.1", target.servers[m % procs].port, target.headers)
        for m in range(monitors)
    ]
    await asyncio.gather(*(c.open() for c in conns))
    start = time.perf_counter() + 0.5
    measure_from = start + warmup
    measure_to = measure_from + seconds

    async def window() -> None:
        await asyncio.sleep(measure_from - time.perf_counter())
        at_window("open")
        await asyncio.sleep(measure_to - time.perf_counter())
        at_window("close")

    def in_window(moment: float) -> bool:
        return measure_from <= moment < measure_to

    async def monitor(index: int) -> None:
        conn = conns[index]
        process = index % procs
        path = READINGS_PATH.format(session_id=target.session_ids[index])
        phase = index / monitors  # evenly spread over the second
        for tick in itertools.count():
            due = start + tick + phase
            if due >= measure_to:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if in_window(due):
                results.offered += 1
            sent = time.perf_counter()
            if sent >= measure_to:
                continue  # so far behind that the window is over: offered, never sent
            reading_id = uuid.uuid4()
            body = reading_body(rng, reading_id)
            sent = time.perf_counter()
            timed = in_window(sent)
            if timed:
                results.sent += 1
                results.behind_ms.append(max(0.0, sent - due) * 1000)
            try:
                status, _, content = await asyncio.wait_for(conn.post(path, body), ANSWER_TIMEOUT)
            except (Answer, TimeoutError) as exc:
                conn.close()
                if in_window(time.perf_counter()):
                    results.error(f"monitor {index}: {type(exc).__name__}: {exc}")
                continue
            answered = time.perf_counter()
            if status == 201 and timed:
                results.post_ms.append((answered - sent) * 1000)
                results.sent_at[str(reading_id)] = (sent, process)
            if not in_window(answered):
                continue
            if status == 201:
                results.stored += 1
            elif status == 503:
                results.shed += 1
            else:
                results.error(f"HTTP {status}: {content[:200].decode(errors='replace')}")

    opener = asyncio.create_task(window())
    try:
        await asyncio.gather(*(monitor(m) for m in range(monitors)))
        await opener
    finally:
        for conn in conns:
            conn.close()
    return results


# --------------------------------------------------------------------------------------------
# The ward screens, in an OS process of their own


def screens_main(
    urls: list[str], headers: dict[str, str], pipe: multiprocessing.connection.Connection
) -> None:
    """Hold a ward stream open on each url; say "ready"; on "stop", send back the arrivals."""
    uvloop.run(_screens(urls, headers, pipe))


async def _screens(
    urls: list[str], headers: dict[str, str], pipe: multiprocessing.connection.Connection
) -> None:
    arrived: list[dict[str, float]] = [{} for _ in urls]
    closed: list[str] = []

    async def screen(index: int, ws: Any) -> None:
        seen = arrived[index]
        try:
            async for raw in ws:
                now = time.perf_counter()
                if b'"reading.created"' not in (raw if isinstance(raw, bytes) else raw.encode()):
                    continue
                message = json.loads(raw)
                if message.get("kind") == "reading.created":
                    seen.setdefault(str(message["data"]["id"]), now)
        except Exception as exc:  # reported, not raised: the other screens go on
            closed.append(f"screen {index}: {type(exc).__name__}: {exc}"[:300])

    async with contextlib.AsyncExitStack() as stack:
        sockets = []
        for url in urls:
            ws = await stack.enter_async_context(
                ws_connect(url, additional_headers=headers, open_timeout=30, max_size=2**22)
            )
            async with asyncio.timeout(30):
                while json.loads(await ws.recv()).get("type") != "ready":
                    pass
            sockets.append(ws)
        tasks = [asyncio.create_task(screen(i, ws)) for i, ws in enumerate(sockets)]
        pipe.send("ready")
        loop = asyncio.get_running_loop()
        cpu_before, began = time.process_time(), time.perf_counter()
        await loop.run_in_executor(None, pipe.recv)  # "stop"
        cpu, span = time.process_time() - cpu_before, time.perf_counter() - began
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    pipe.send({"arrived": arrived, "cpu_cores": cpu / span, "closed": closed})


@contextlib.contextmanager
def screens(
    target: Target, count: int
) -> Iterator[tuple[multiprocessing.connection.Connection, list[int]]]:
    """`count` ward screens, dealt out among the target's processes; yields the pipe to them
    and the process index each screen listens on."""
    on = [i % len(target.servers) for i in range(count)]
    urls = [f"{target.servers[i].ws_url}/api/stream" for i in on]
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    proc = context.Process(target=screens_main, args=(urls, target.headers, theirs), daemon=True)
    proc.start()
    try:
        if not ours.poll(60) or ours.recv() != "ready":
            raise RuntimeError("the ward screens did not connect within 60 s")
        yield ours, on
    finally:
        if proc.is_alive():
            proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()


# --------------------------------------------------------------------------------------------
# One measurement: a count of monitors against one target


@dataclass
class StepFigures:
    target: str
    monitors: int
    processes: int
    screens: int
    seconds: float
    load_before: float
    load_after: float
    offered_per_s: float
    sent_per_s: float
    stored_per_s: float
    shed: int
    failed: int
    post_p50_ms: float
    post_p99_ms: float
    behind_p99_ms: float  # how late after due a monitor sent (it was waiting for an answer)
    screen_p50_ms: float
    screen_p95_ms: float
    screen_p99_ms: float
    screen_max_ms: float
    same_process_p99_ms: float  # screens on the process the reading was posted to
    other_process_p99_ms: float  # screens on another process (NaN with one process)
    received: int
    expected: int  # stored readings x screens
    server_cpu_ms_per_reading: float
    server_cpu_cores: float  # the servers' CPU over the window, in cores
    generator_cpu_ms_per_reading: float  # monitors and screens together
    generator_cpu_cores: float
    error_samples: list[str]

    @property
    def sustained(self) -> bool:
        """Every reading offered was stored, none shed or lost, p99 under the target."""
        return (
            self.stored_per_s >= 0.98 * self.offered_per_s
            and self.failed == 0
            and self.shed == 0
            and self.received >= self.expected
            and self.screen_p99_ms < SLO_MS
        )


def measure(
    target: Target, monitors: int, screen_count: int, warmup: float, seconds: float, seed: int
) -> StepFigures:
    load_before = load_average()
    with screens(target, screen_count) as (pipe, on):
        marks: dict[str, float] = {}

        def cpu() -> float:
            return sum(sum(s.cpu_seconds()) for s in target.servers)

        def at_window(edge: str) -> None:
            marks[f"cpu {edge}"], marks[f"own {edge}"] = cpu(), time.process_time()

        results = uvloop.run(run_monitors(target, monitors, warmup, seconds, seed, at_window))
        server_cpu = marks["cpu close"] - marks["cpu open"]
        own_cpu = marks["own close"] - marks["own open"]
        time.sleep(GRACE)
        pipe.send("stop")
        report: dict[str, Any] = pipe.recv()
    arrived: list[dict[str, float]] = report["arrived"]
    all_ms: list[float] = []
    same_ms: list[float] = []
    other_ms: list[float] = []
    received = 0
    for screen_index, seen in enumerate(arrived):
        for reading_id, (sent, process) in results.sent_at.items():
            at = seen.get(reading_id)
            if at is None:
                continue
            received += 1
            ms = (at - sent) * 1000
            all_ms.append(ms)
            (same_ms if on[screen_index] == process else other_ms).append(ms)
    # The screens' process ran from before the warm-up to after the grace: its average use.
    generator_cores = own_cpu / seconds + report["cpu_cores"]
    stored = max(results.stored, 1)
    return StepFigures(
        target=target.name,
        monitors=monitors,
        processes=len(target.servers),
        screens=screen_count,
        seconds=seconds,
        load_before=load_before,
        load_after=load_average(),
        offered_per_s=round(results.offered / seconds, 1),
        sent_per_s=round(results.sent / seconds, 1),
        stored_per_s=round(results.stored / seconds, 1),
        shed=results.shed,
        failed=results.failed,
        post_p50_ms=round(percentile(results.post_ms, 50), 1),
        post_p99_ms=round(percentile(results.post_ms, 99), 1),
        behind_p99_ms=round(percentile(results.behind_ms, 99), 1),
        screen_p50_ms=round(percentile(all_ms, 50), 1),
        screen_p95_ms=round(percentile(all_ms, 95), 1),
        screen_p99_ms=round(percentile(all_ms, 99), 1),
        screen_max_ms=round(max(all_ms, default=math.nan), 1),
        same_process_p99_ms=round(percentile(same_ms, 99), 1),
        other_process_p99_ms=round(percentile(other_ms, 99), 1),
        received=received,
        expected=len(results.sent_at) * screen_count,
        server_cpu_ms_per_reading=round(server_cpu * 1000 / stored, 2),
        server_cpu_cores=round(server_cpu / seconds, 2),
        generator_cpu_ms_per_reading=round(generator_cores * seconds * 1000 / stored, 3),
        generator_cpu_cores=round(generator_cores, 2),
        error_samples=results.error_samples + report["closed"],
    )


# --------------------------------------------------------------------------------------------
# Set-up and command line


@contextlib.contextmanager
def vigil_database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'vigil.db'}"
        return
    with fresh_database(os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES)) as url:
        yield url


def counts(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of whole numbers") from None
    if not values or any(not 1 <= v <= 5000 for v in values):
        raise argparse.ArgumentTypeError("each count between 1 and 5000")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.capacity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--monitors", type=counts, default=[100, 200, 300], help="counts to run (100,200,300)"
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds (30)")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds first (5)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--processes", type=int, default=1, help="`vigil serve` processes (PostgreSQL only)"
    )
    parser.add_argument(
        "--subscribers", type=int, default=0, help="ward screens (default: one a process)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="Vigil only")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument("--dir", type=Path, metavar="PARENT", help="temporary directory's parent")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:g}"


def render(figures: list[StepFigures]) -> list[str]:
    header = (
        "| target | monitors | offered/s | stored/s | 503 / failed | POST p50 / p99 | "
        "post→screen p50 / p95 / p99 / max | same / other process p99 | received | "
        "server CPU/reading (cores) | load generator CPU/reading (cores) | load | sustained |"
    )
    lines = [header, "|" + " --- |" * (header.count("|") - 1)]
    for f in figures:
        lines.append(
            f"| {f.target} ×{f.processes} | {f.monitors} | {f.offered_per_s:g} | "
            f"{f.stored_per_s:g} | {f.shed} / {f.failed} | {f.post_p50_ms:g} / {f.post_p99_ms:g} "
            f"ms | {f.screen_p50_ms:g} / {f.screen_p95_ms:g} / {f.screen_p99_ms:g} / "
            f"{f.screen_max_ms:g} ms | {_ms(f.same_process_p99_ms)} / "
            f"{_ms(f.other_process_p99_ms)} ms "
            f"| {f.received}/{f.expected} | {f.server_cpu_ms_per_reading:g} ms "
            f"({f.server_cpu_cores:g}) | {f.generator_cpu_ms_per_reading:g} ms "
            f"({f.generator_cpu_cores:g}) | {f.load_before:.1f}→{f.load_after:.1f} | "
            f"{'yes' if f.sustained else 'NO'} |"
        )
    return lines


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.processes > 1 and args.database != "postgresql":
        sys.exit("several processes share one database only on PostgreSQL: --database postgresql")
    signal.signal(signal.SIGTERM, _on_sigterm)
    began = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {text}", file=sys.stderr, flush=True)

    screen_count = args.subscribers or args.processes
    most = max(args.monitors)
    workdir = Path(tempfile.mkdtemp(prefix="vigil-capacity-", dir=args.dir))
    figures: list[StepFigures] = []
    try:
        with vigil_database(args.database, workdir) as url:
            say(f"preparing {most} sessions on {args.database}")
            token, session_ids = prepare(url, most)
            auth = {"Authorization": f"Bearer {token}"}
            env = server_env({"VIGIL_DATABASE_URL": url, "VIGIL_MLLP_PORT": "0"})
            servers = [
                Server(f"vigil-{n}", vigil_command(), env, workdir) for n in range(args.processes)
            ]
            targets = [Target("vigil", servers, session_ids, auth)]
            if not args.no_baseline:
                base_env = server_env({"VIGIL_BENCH_BASELINE_DB": str(workdir / "baseline.db")})
                base = Server("baseline", baseline_command(), base_env, workdir)
                targets.append(Target("baseline", [base], list(range(1, most + 1)), {}))
            with contextlib.ExitStack() as stack:
                for target in targets:
                    for server in target.servers:
                        stack.enter_context(running(server))
                for n, monitors in enumerate(args.monitors):
                    for target in targets:
                        say(
                            f"{target.name}: {monitors} monitors, {args.warmup:g} + "
                            f"{args.seconds:g} s, load {load_average():.2f}"
                        )
                        step = measure(
                            target, monitors, screen_count, args.warmup, args.seconds, seed=n
                        )
                        figures.append(step)
                        print("\n".join(render([step])[2:]), file=sys.stderr, flush=True)
                for target in targets:
                    for server in target.servers:
                        tail = server.log_tail(5)
                        if tail:
                            say(f"{server.name} log ({server.log_line_count()} lines): {tail}")
    finally:
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\nCapacity: {args.database}, {args.processes} Vigil process(es), {screen_count} ward "
        f"screen(s), {args.warmup:g} s warm-up + {args.seconds:g} s measured per row; "
        f"{os.cpu_count()} CPUs; load average per row (1 min, before→after)"
    )
    print("\n".join(render(figures)))
    for f in figures:
        for sample in f.error_samples:
            print(f"problem ({f.target}, {f.monitors} monitors): {sample}")
    if args.json:
        args.json.write_text(
            json.dumps(without_nan([asdict(f) for f in figures]), indent=2, allow_nan=False)
        )


if __name__ == "__main__":
    main()
