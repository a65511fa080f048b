"""Read timeouts for slow or stalled clients, which uvicorn does not bound by itself.

uvicorn closes a connection idle *between* requests (`timeout_keep_alive`), but a client that
connects and sends nothing, or sends half its headers and stalls, or declares a body and
trickles it a byte at a time, holds its connection (and, mid-body, a request's turn at the
database) for as long as it likes: a few dozen such clients starve a clinic's screens.

- Headers: `header_deadline_protocol` wraps uvicorn's HTTP protocol so a request's headers must
  be complete within `header_timeout` of its first byte (or of the connection opening); past it
  the client is told 408 and the connection is closed.
- Body: `BodyDeadline` (ASGI middleware) bounds the whole body's arrival from the moment the
  request began; past it the request is answered 408 and the connection closed.
"""

import asyncio
import contextlib
import logging
import time
from typing import Any

import anyio
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

_TOO_SLOW = b"the request's headers came too slowly\n"
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TOO_SLOW), _TOO_SLOW)
)


_TOO_LARGE = b"the request's headers are too large\n"
HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TOO_LARGE), _TOO_LARGE)
)
# httptools (unlike h11) sets no bound on a request's header bytes: within the deadline a client
# could send gigabytes of them. Vigil's largest real headers (a cookie, a token) are a few kB.
MAX_HEADER_BYTES = 64 * 1024


class _BodyTooSlow(Exception):
    pass


class BodyDeadline:
    """A request body must arrive whole within `seconds` of the request's start, else 408."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.seconds
        body_done = False
        timed_out = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal body_done, timed_out
            if body_done:  # afterwards only a disconnect can come, and waiting for it is fine
                return await receive()
            remaining = deadline - time.monotonic()
            with anyio.move_on_after(max(remaining, 0)) as waited:
                message = await receive()
            if waited.cancelled_caught:
                timed_out = True
                raise _BodyTooSlow
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if timed_out:
                return  # the framework's own answer to a failed read (a 400): the 408 is ours
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_BodyTooSlow):  # the framework may have let it through
            await self.app(scope, bounded_receive, watched_send)
        if timed_out:
            log.warning("answered 408: a request body took over %g s to arrive", self.seconds)
            if started:
                return  # a response already under way cannot become a 408
            response = JSONResponse(
                status_code=408,
                content={
                    "detail": f"the request body did not arrive within {self.seconds:g} s "
                    "(VIGIL_BODY_TIMEOUT_SECONDS); send it again"
                },
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)


class _HeaderDeadline:
    """Mixed into uvicorn's HTTP protocol: headers complete within `header_timeout` seconds."""

    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0
    # Provided by uvicorn's protocol classes.
    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        awaiting = self.cycle is None or self.cycle.response_complete
        if awaiting and self._header_timer is None:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        before = self.cycle
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not before:  # its headers are complete: a new request began
            self._disarm()
        elif awaiting and self._header_timer is not None:
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self._disarm()
                self.transport.write(HEADERS_TOO_LARGE)
                self.transport.close()

    def handle_websocket_upgrade(self, *args: Any) -> None:
        self._disarm()
        super().handle_websocket_upgrade(*args)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        self._disarm()
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()


def header_deadline_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools when installed, else h11) with a header deadline."""
    base: type[asyncio.Protocol]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is a dependency
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol
    # Named by its timeout and kept on this module: `vigil serve --workers` hands the class to
    # each worker process by name (pickled), and the worker makes it again from that name.
    name = f"HeaderDeadline{base.__name__}_{round(header_timeout * 1000)}"
    made = globals().get(name)
    if made is None:
        made = type(name, (_HeaderDeadline, base), {"header_timeout": header_timeout})
        globals()[name] = made
    return made


def __getattr__(name: str) -> Any:
    """A protocol class a worker process was handed by name (see header_deadline_protocol)."""
    prefix, _, millis = name.rpartition("_")
    if prefix.startswith("HeaderDeadline") and millis.isdigit():
        made = header_deadline_protocol(int(millis) / 1000)
        if made.__name__ == name:
            return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def server_options(
    header_timeout: float, keep_alive: float, max_connections: int | None
) -> dict[str, Any]:
    """uvicorn's settings for slow and idle clients: the header deadline, the idle timeout
    between requests, and the most connections and requests served at once (503 beyond)."""
    return {
        "http": header_deadline_protocol(header_timeout),
        "timeout_keep_alive": keep_alive,
        "limit_concurrency": max_connections,
    }
