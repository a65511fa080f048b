"""Batch ingest: readings a second through `POST /api/sessions/{id}/readings/batch`.

    .venv/bin/python -m benchmarks.batch_ingest [--batches 20] [--size 1000] [--json PATH]

It starts `vigil serve` on a fresh SQLite database (benchmarks.ingest's set-up, server and
reading bodies: a full set of vitals inside the default limits, each with its own id), sends
`--batches` batches of `--size` readings one after another over one keep-alive connection after
one unmeasured batch, and prints readings per second of wall time, the batch round trip
p50/max, and the server's CPU per reading. Every reading is checked for alarms as a single one
is. It asserts nothing.
"""

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx2

from benchmarks.ingest import (
    REQUEST_TIMEOUT,
    Server,
    load_average,
    percentile,
    prepare_vigil,
    reading_body,
    running,
    server_env,
    vigil_command,
)


def batch(rng: random.Random, size: int) -> bytes:
    readings = [json.loads(reading_body(rng, uuid.uuid4())) for _ in range(size)]
    return json.dumps({"readings": readings}).encode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch_ingest", description=__doc__)
    parser.add_argument("--batches", type=int, default=20, help="measured batches (default 20)")
    parser.add_argument("--size", type=int, default=1000, help="readings a batch (default 1000)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    rng = random.Random(7)
    workdir = Path(tempfile.mkdtemp(prefix="vigil-batch-"))
    load_before = load_average()
    try:
        url, token, session_id = prepare_vigil(workdir)
        server = Server("vigil", vigil_command(), server_env({"VIGIL_DATABASE_URL": url}), workdir)
        path = f"{server.base_url}/api/sessions/{session_id}/readings/batch"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        bodies = [batch(rng, args.size) for _ in range(args.batches + 1)]
        with running(server), httpx2.Client(headers=headers, timeout=REQUEST_TIMEOUT) as client:
            first = client.post(path, content=bodies[0])
            if first.status_code != 201:
                sys.exit(f"the warm-up batch was answered {first.status_code}: {first.text[:300]}")
            cpu_before = sum(server.cpu_seconds())
            round_trips: list[float] = []
            failed = 0
            started = time.perf_counter()
            for body in bodies[1:]:
                sent = time.perf_counter()
                response = client.post(path, content=body)
                round_trips.append((time.perf_counter() - sent) * 1000)
                failed += response.status_code != 201
            wall = time.perf_counter() - started
            cpu = sum(server.cpu_seconds()) - cpu_before
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    stored = args.batches * args.size
    figures = {
        "readings_per_second": round(stored / wall, 1),
        "batch_p50_ms": round(percentile(round_trips, 50), 1),
        "batch_max_ms": round(max(round_trips), 1),
        "server_cpu_ms_per_reading": round(cpu * 1000 / stored, 3),
        "failed_batches": failed,
        "load_average": [load_before, load_average()],
    }
    print(f"load average {load_before:.2f} -> {load_average():.2f}")
    print(f"{args.batches} batches of {args.size}: {figures['readings_per_second']} readings/s, ")
    print(f"batch round trip p50 {figures['batch_p50_ms']} ms, max {figures['batch_max_ms']} ms")
    print(f"server CPU/reading {figures['server_cpu_ms_per_reading']} ms; failed batches {failed}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
