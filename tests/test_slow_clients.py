"""Slow and stalled clients are closed: one that sends half its headers and stops, one that
connects and sends nothing, one that declares a body and trickles it. Real sockets against a
real uvicorn server, configured as `vigil serve` configures it, with timeouts of a fraction of
a second so nothing here sleeps long."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress

import pytest
import uvicorn

from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.core.timeouts import server_options
from backend.main import create_app
from tests.conftest import PASSWORD, ROLE_USERS, free_port

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 0.8
# How long a test waits for the server to act: far above the timeouts, far below a hang. A
# passing test never waits this long (it goes on as soon as the server acts), so it is generous:
# at 5 s a stream's handshake once missed it in CI, two suites and Chromium sharing 2 cores.
PATIENCE = 20.0


class Server:
    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            **server_options(
                settings.header_timeout_seconds,
                settings.keep_alive_seconds,
                settings.max_connections,
            ),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.settimeout(PATIENCE)
        return sock


@pytest.fixture(scope="module")
def server(settings: Settings, database: Database) -> Iterator[Server]:
    quick = settings.model_copy(
        update={"header_timeout_seconds": HEADER_TIMEOUT, "body_timeout_seconds": BODY_TIMEOUT}
    )
    with Server(quick) as running:
        yield running


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails if it never does)."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"the server kept the connection open past {PATIENCE} s: {received!r}")
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def test_a_client_that_stalls_halfway_through_its_headers_is_answered_408_and_closed(
    server: Server,
) -> None:
    with server.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: vigil\r\nAccept: appl")
        answer = read_until_closed(sock)
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert HEADER_TIMEOUT * 0.8 <= took < HEADER_TIMEOUT + 2, took


def test_a_client_that_connects_and_sends_nothing_is_closed(server: Server) -> None:
    with server.connect() as sock:
        started = time.monotonic()
        read_until_closed(sock)
        assert time.monotonic() - started < HEADER_TIMEOUT + 2


def test_headers_trickled_a_byte_at_a_time_are_cut_off_at_the_deadline(server: Server) -> None:
    """The deadline is for the whole header, not each read: trickling does not extend it."""
    with server.connect() as sock:
        started = time.monotonic()
        closed = False
        for byte in b"GET /api/health HTTP/1.1\r\nHost: vigil\r\nX-Slow: " + b"a" * 200:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.02)
            if time.monotonic() - started > HEADER_TIMEOUT + 2:
                break
        if not closed:
            assert read_until_closed(sock).startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < HEADER_TIMEOUT + 2


def test_endless_headers_are_refused_431_long_before_the_deadline(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: vigil\r\n")
        with suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(200):  # up to 1.6 MB of headers, fast
                sock.sendall(b"X-Filler: " + b"a" * 8000 + b"\r\n")
        answer = read_until_closed(sock)
    # 431 for the size, not 408 at the deadline: httptools alone took all 1.6 MB and waited.
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]


def test_the_next_request_on_a_kept_alive_connection_has_the_same_deadline(
    server: Server,
) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: vigil\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHo")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 408")


def test_a_body_trickled_past_its_deadline_is_answered_408_and_closed(server: Server) -> None:
    with server.connect() as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n"
        )
        answer = b""
        # A byte every 50 ms: each read is quick, the whole body never comes in time.
        for _ in range(int((BODY_TIMEOUT + 2) / 0.05)):
            try:
                sock.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.05)
            sock.setblocking(False)
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
                sock.settimeout(PATIENCE)
            if answer:
                break
        answer += read_until_closed(sock)
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"did not arrive within" in answer
    assert BODY_TIMEOUT * 0.8 <= took < BODY_TIMEOUT + 2, took


def test_a_body_that_stops_arriving_is_answered_408(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"username": "x'
        )
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer


def test_a_request_sent_in_quick_pieces_is_served_as_usual(server: Server) -> None:
    body = b'{"username": "nobody-here", "password": "not-the-password"}'
    request = (
        b"POST /api/auth/login HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )
    with server.connect() as sock:
        for start in range(0, len(request), 20):
            sock.sendall(request[start : start + 20])
            time.sleep(0.01)
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 401"), answer


def _sign_in_cookie(server: Server) -> bytes:
    body = json.dumps({"username": ROLE_USERS[Role.NURSE], "password": PASSWORD}).encode()
    with server.connect() as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    cookie = next(
        line.split(b":", 1)[1].split(b";", 1)[0].strip()
        for line in answer.split(b"\r\n")
        if line.lower().startswith(b"set-cookie:")
    )
    return cookie


def test_an_open_stream_outlives_the_header_deadline(server: Server) -> None:
    """A WebSocket stays open for hours: the header deadline ends with its handshake."""
    cookie = _sign_in_cookie(server)
    with server.connect() as sock:
        sock.sendall(
            b"GET /api/stream HTTP/1.1\r\nHost: vigil\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nCookie: " + cookie + b"\r\n\r\n"
        )
        handshake = sock.recv(65536)
        assert handshake.startswith(b"HTTP/1.1 101"), handshake
        time.sleep(HEADER_TIMEOUT * 3)
        # Still open and still sending (heartbeats): not closed at the header deadline.
        sock.settimeout(2.0)
        later = sock.recv(65536)
    assert later, "the stream was closed"
    assert later[0] & 0x0F != 0x8, f"a close frame came: {later!r}"
