"""Several `vigil serve` processes on one database (issue 18 item 2): one runs the alarm clock,
by a lease; killed with SIGKILL (it never releases), another takes over within 10 s; the MLLP
port is held by one process and taken over too. Real processes, small lease settings (the
defaults are 6 s, renewed every 2 s: README "Several processes and hosts")."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

import httpx2 as httpx
import pytest

from backend.cli import build_parser
from backend.core.database import Database
from backend.core.lease import ALARM_CLOCK, Holding, holding
from tests.conftest import free_port, migrated_database

T = TypeVar("T")
LEASE_SECONDS = 1.5
RENEW_SECONDS = 0.5
TAKEOVER_LIMIT = 10.0  # the bound
STARTUP_LIMIT = 90.0


def test_serve_takes_a_count_of_workers() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve"]).workers == 1
    assert parser.parse_args(["serve", "--workers", "3"]).workers == 3
    for wrong in ("0", "-2", "65", "two", "1.5"):
        with pytest.raises(SystemExit) as refused:
            parser.parse_args(["serve", "--workers", wrong])
        assert refused.value.code == 2


def _environment(database_url: str, mllp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_LEASE_SECONDS": str(LEASE_SECONDS),
        "VIGIL_LEASE_RENEW_SECONDS": str(RENEW_SECONDS),
        "VIGIL_ALERT_TICK_SECONDS": "0.5",
        "VIGIL_SIMULATION_TICK_SECONDS": "60",
        "VIGIL_MLLP_HOST": "127.0.0.1",
        "VIGIL_MLLP_PORT": str(mllp_port),
        "VIGIL_MLLP_BIND_RETRY_SECONDS": "0.5",
        "VIGIL_ADMIN_PASSWORD": "",
    }


@contextmanager
def _serve(env: dict[str, str], port: int, *more: str) -> Iterator[subprocess.Popen[str]]:
    """`vigil serve` in a process of its own, stopped afterwards; wait for `_healthy(port)`."""
    command = [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), *more]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield server
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if server.stdout is not None:
            server.stdout.close()


def _wait_healthy(*ports: int) -> None:
    # Started together, each in its own process; a loaded machine takes a while to import them.
    for port in ports:
        _wait(partial(_healthy, port), STARTUP_LIMIT, f"the server on port {port} to answer")


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(check: Callable[[], T | None], within: float, what: str) -> T:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within} s for {what}")
        time.sleep(0.05)


def _holder(database: Database) -> Holding | None:
    with database.unit_of_work(write=False) as db:
        return holding(db, ALARM_CLOCK)


def _pid_of(held: Holding) -> int:
    return int(held.holder.split(":")[1])


def _listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _live_holder(database: Database, pids: set[int]) -> Holding | None:
    held = _holder(database)
    if held is None or _pid_of(held) not in pids:
        return None
    return held


def test_a_killed_alarm_clock_holder_is_replaced_within_ten_seconds(tmp_path: Path) -> None:
    """Two `vigil serve` processes (as on two hosts) on one database, one MLLP port."""
    mllp_port = free_port()
    with migrated_database(tmp_path) as url, ExitStack() as stack:
        env = _environment(url, mllp_port)
        ports = [free_port(), free_port()]
        servers = [stack.enter_context(_serve(env, port)) for port in ports]
        _wait_healthy(*ports)
        database = Database(url)
        stack.callback(database.dispose)
        pids = {s.pid for s in servers}
        first = _wait(lambda: _live_holder(database, pids), 10, "one server to hold the lease")
        _wait(lambda: _listens(mllp_port), 10, "one server to listen for MLLP")
        # Held, renewed, and by the same process: the other never takes it while it lives.
        time.sleep(LEASE_SECONDS * 2)  # two lease terms, to see it renewed, not taken
        still = _holder(database)
        assert still is not None and (still.holder, still.term) == (first.holder, first.term)
        assert still.expires_at > first.expires_at

        killed_at = time.monotonic()
        os.kill(_pid_of(first), signal.SIGKILL)
        survivor = (pids - {_pid_of(first)}).pop()
        taken = _wait(
            lambda: _live_holder(database, {survivor}), TAKEOVER_LIMIT, "the other to take over"
        )
        takeover = time.monotonic() - killed_at
        _wait(lambda: _listens(mllp_port), TAKEOVER_LIMIT, "the MLLP port to be taken over")
        port_takeover = time.monotonic() - killed_at
        print(f"alarm clock taken over in {takeover:.2f} s, MLLP port in {port_takeover:.2f} s")
        assert taken.term == first.term + 1
        # The lease lapses LEASE_SECONDS after its last renewal, taken on the next try after.
        assert takeover < LEASE_SECONDS + 2 * RENEW_SECONDS + 1.0
        assert port_takeover < TAKEOVER_LIMIT


def test_serve_with_workers_runs_them_on_one_port_with_one_alarm_clock(tmp_path: Path) -> None:
    mllp_port = free_port()
    port = free_port()
    with migrated_database(tmp_path) as url, ExitStack() as stack:
        server = stack.enter_context(_serve(_environment(url, mllp_port), port, "--workers", "2"))
        database = Database(url)
        stack.callback(database.dispose)
        lines: list[str] = []
        reader = threading.Thread(target=_read_into, args=(server, lines), daemon=True)
        reader.start()
        rule = "-" * 72
        # The banner, once every worker has started (both of them, not one per worker).
        _wait(lambda: lines.count(rule) == 2, STARTUP_LIMIT, "the banner")
        assert len(_children(server.pid, 2)) >= 2
        # Asked afresh each time: uvicorn's children are its workers (and whatever helper
        # multiprocessing starts), the holder must be one of them.
        first = _wait(
            lambda: _live_holder(database, _children(server.pid, 1)),
            STARTUP_LIMIT,
            "a worker to hold the lease",
        )
        _wait(lambda: _listens(mllp_port), 10, "a worker to listen for MLLP")
        # Both workers answer on the one port: requests land on either.
        for _ in range(10):
            assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200
        killed = _pid_of(first)
        os.kill(killed, signal.SIGKILL)  # uvicorn starts a new worker in its place
        taken = _wait(
            lambda: _live_holder(database, _children(server.pid, 1) - {killed}),
            TAKEOVER_LIMIT,
            "another worker to take over",
        )
        assert taken.holder != first.holder
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        reader.join(timeout=10)
        # Said once, not again when the killed worker's replacement started.
        assert lines.count(rule) == 2, "\n".join(lines)


def _read_into(server: subprocess.Popen[str], lines: list[str]) -> None:
    assert server.stdout is not None
    for line in server.stdout:
        lines.append(line.rstrip("\n"))


def _children(pid: int, at_least: int) -> set[int]:
    """The live child processes of `pid` (uvicorn's workers), once there are `at_least`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found if len(found) >= at_least else set()
