"""Fan-out: how long a reading takes to reach every one of many ward screens.

    .venv/bin/python -m benchmarks.fanout [--subscribers 500] [--readings 100] [--rate 5]

It starts `vigil serve` on a fresh SQLite database (benchmarks.ingest's set-up and server), opens
WebSockets on the ward's stream (`/api/stream`, no session: every event), and posts readings one
at a time at `--rate` a second. For each reading and each socket it records the time from just
before the POST until that socket received the reading's `reading.created` event. It does this
with 1 socket (the same-run baseline) and then with `--subscribers` sockets, on the same server,
and prints p50/p99/max of those times, the events missing, and the server's CPU per reading.

The sockets are read by this one Python process, on the same machine: with 500 sockets it reads
500 frames per reading, and its own queueing shows in the figures (its CPU per reading is
printed, to judge by). It asserts nothing.
"""

import argparse
import asyncio
import contextlib
import json
import math
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from benchmarks.ingest import (
    READINGS_PATH,
    STREAM_GRACE,
    ErrorLog,
    Server,
    Target,
    http_client,
    load_average,
    percentile,
    post_one,
    prepare_vigil,
    reading_body,
    running,
    server_env,
    vigil_command,
    without_nan,
)


@dataclass
class FanoutFigures:
    subscribers: int
    readings: int
    expected: int  # readings × subscribers
    received: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_reading: float
    client_cpu_ms_per_reading: float
    errors: int
    error_samples: list[str]


async def _ready(ws: ClientConnection) -> None:
    async with asyncio.timeout(30):
        while json.loads(await ws.recv()).get("type") != "ready":
            pass


async def fan_out(target: Target, subscribers: int, readings: int, rate: float) -> FanoutFigures:
    rng = random.Random(subscribers)
    url = f"{target.server.ws_url}/api/stream"
    path = READINGS_PATH.format(session_id=target.session_id)
    errors = ErrorLog()
    sent: dict[str, float] = {}
    delays: list[float] = []
    expected = readings * subscribers
    everything = asyncio.Event()

    async def receive(ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                now = time.perf_counter()
                message: dict[str, Any] = json.loads(raw)
                if message.get("kind") != "reading.created":
                    continue
                started = sent.get(str(message.get("data", {}).get("id")))
                if started is not None:
                    delays.append((now - started) * 1000)
                    if len(delays) >= expected:
                        everything.set()
        except ConnectionClosed as exc:
            errors.add(f"stream closed: {exc}")

    async with contextlib.AsyncExitStack() as stack:
        sockets: list[ClientConnection] = []
        for _ in range(subscribers):
            ws = await stack.enter_async_context(
                ws_connect(url, additional_headers=target.headers, open_timeout=30)
            )
            await _ready(ws)
            sockets.append(ws)
        receivers = [asyncio.create_task(receive(ws)) for ws in sockets]
        try:
            cpu_before = sum(target.server.cpu_seconds())
            own_before = time.process_time()
            async with http_client(target, 1) as client:
                started = time.perf_counter()
                for index in range(readings):
                    delay = started + index / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    reading_id = uuid.uuid4()
                    sent[str(reading_id)] = time.perf_counter()
                    await post_one(client, path, reading_body(rng, reading_id), errors)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(everything.wait(), STREAM_GRACE)
            server_cpu = sum(target.server.cpu_seconds()) - cpu_before
            own_cpu = time.process_time() - own_before
        finally:
            for task in receivers:
                task.cancel()
            await asyncio.gather(*receivers, return_exceptions=True)
    return FanoutFigures(
        subscribers=subscribers,
        readings=readings,
        expected=expected,
        received=len(delays),
        p50_ms=round(percentile(delays, 50), 2),
        p99_ms=round(percentile(delays, 99), 2),
        max_ms=round(max(delays, default=math.nan), 2),
        server_cpu_ms_per_reading=round(server_cpu * 1000 / readings, 2),
        client_cpu_ms_per_reading=round(own_cpu * 1000 / readings, 2),
        errors=errors.count,
        error_samples=errors.samples,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fanout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--subscribers", type=int, default=500, help="ward sockets (default 500)")
    parser.add_argument("--readings", type=int, default=100, help="readings posted (default 100)")
    parser.add_argument("--rate", type=float, default=5.0, help="readings a second (default 5)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument("--dir", type=Path, metavar="PARENT", help="temporary directory's parent")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}", file=sys.stderr, flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="vigil-fanout-", dir=args.dir))
    load_before = load_average()
    results: list[FanoutFigures] = []
    try:
        url, token, session_id = prepare_vigil(workdir)
        auth = {"Authorization": f"Bearer {token}"}
        server = Server("vigil", vigil_command(), server_env({"VIGIL_DATABASE_URL": url}), workdir)
        target = Target("vigil", server, session_id, auth)
        with running(server):
            for count in (1, args.subscribers):
                say(f"{count} ward subscriber(s), {args.readings} readings at {args.rate}/s")
                results.append(asyncio.run(fan_out(target, count, args.readings, args.rate)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    one, many = results
    print(f"load average {load_before:.2f} -> {load_average():.2f}")
    print(f"| | 1 subscriber | {many.subscribers} subscribers | ratio |")
    print("| --- | --- | --- | --- |")
    for label, key in (("p50", "p50_ms"), ("p99", "p99_ms"), ("max", "max_ms")):
        a, b = getattr(one, key), getattr(many, key)
        print(f"| post → event {label} | {a} ms | {b} ms | {b / a if a else math.nan:.2f} |")
    got_a, got_b = f"{one.received}/{one.expected}", f"{many.received}/{many.expected}"
    print(f"| events received | {got_a} | {got_b} | |")
    cpu_a, cpu_b = one.server_cpu_ms_per_reading, many.server_cpu_ms_per_reading
    print(f"| server CPU/reading | {cpu_a} ms | {cpu_b} ms | |")
    own_a, own_b = one.client_cpu_ms_per_reading, many.client_cpu_ms_per_reading
    print(f"| load generator CPU/reading | {own_a} ms | {own_b} ms | |")
    for figures in results:
        for sample in figures.error_samples:
            print(f"problem ({figures.subscribers} subscribers): {sample}")
    if args.json:
        args.json.write_text(json.dumps(without_nan([asdict(r) for r in results]), indent=2))


if __name__ == "__main__":
    main()
