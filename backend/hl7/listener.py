"""The MLLP listener: bedside monitors and device gateways send HL7 v2 ORU^R01 (IHE PCD-01)
here, each message answered with its ACK once its readings are stored.

One asyncio server in the app's lifespan, bounded everywhere a hostile or broken link could
hold memory or time: a message is never buffered past its cap, a connection beyond the cap is
closed at once, a message must arrive within a deadline of its start and a connection must
complete a message within an idle deadline. Every refusal is logged.

Several Vigil workers on one host share the port's configuration but only one can bind it: the
others try again every few seconds, and one takes over when the holder stops.
"""

import asyncio
import contextlib
import errno
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from backend.hl7.framing import Framer, TooLarge, frame

if TYPE_CHECKING:
    from backend.core.database import Database
    from backend.core.settings import Settings

log = logging.getLogger(__name__)
READ_CHUNK = 64 * 1024
BACKLOG = 1024
LINGER_S = 2.0  # at most this long spent dropping the rest of a refused message


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 1024 * 1024
    max_connections: int = 50
    message_timeout_s: float = 30.0  # from a message's start block to its end block
    idle_timeout_s: float = 600.0  # a connection completing no message for this long is closed


class Handler(Protocol):
    """What the listener does with a message: Vigil's is `inbox.DeviceInbox`."""

    async def handle(self, message: bytes, peer: str) -> bytes:
        """The ACK (unframed) for one message (unframed); never raises."""
        ...

    def refuse(self, head: bytes, reason: str) -> bytes:
        """The AR for a message refused unread (too large), from its first bytes."""
        ...


class MllpListener:
    """Serves MLLP on (host, port) once it can bind; `stop` closes every connection."""

    def __init__(
        self,
        handler: Handler,
        host: str,
        port: int,
        limits: Limits,
        *,
        bind_retry_s: float = 5.0,
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._limits = limits
        self._bind_retry_s = bind_retry_s
        self._server: asyncio.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._open = 0
        self.bound = asyncio.Event()
        self._stopping = asyncio.Event()
        self.port: int | None = None  # the port bound, once bound (port 0: the system's choice)

    @property
    def connections(self) -> int:
        return self._open

    async def start(self) -> None:
        """Bind now if the port is free, else keep trying in the background."""
        if await self._bind():
            return
        log.warning(
            "MLLP port %s:%s is in use (another Vigil worker holds it, or another program); "
            "this worker takes it over if it becomes free, trying every %g s",
            self._host,
            self._port,
            self._bind_retry_s,
        )
        self._task = asyncio.create_task(self._keep_trying())

    async def _keep_trying(self) -> None:
        while not await self._bind():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._bind_retry_s)
            if self._stopping.is_set():
                return
        log.warning("MLLP listener taken over: now listening on %s:%s", self._host, self.port)

    async def _bind(self) -> bool:
        try:
            # No SO_REUSEPORT: a second process must fail to bind while the first listens.
            self._server = await asyncio.start_server(
                self._serve,
                self._host,
                self._port,
                reuse_port=False,
                limit=READ_CHUNK,
                # A burst of connections is accepted (and any beyond the cap closed) at once,
                # not left in the kernel's queue for the sender to time out on.
                backlog=BACKLOG,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            # Not a port another worker holds (an address not this machine's, a port below 1024
            # without the right): a setting to fix, said at start-up.
            raise RuntimeError(
                f"the MLLP listener cannot listen on {self._host}:{self._port}: "
                f"{exc.strerror or exc}; check VIGIL_MLLP_HOST and VIGIL_MLLP_PORT "
                "(VIGIL_MLLP_PORT=0 turns the listener off)"
            ) from exc
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("MLLP listener on %s:%s", self._host, self.port)
        self.bound.set()
        return True

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        self.bound.clear()

    # ---- one connection ----

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        if self._open >= self._limits.max_connections:
            log.warning(
                "MLLP connection from %s refused: %s connections already open "
                "(VIGIL_MLLP_MAX_CONNECTIONS)",
                peer,
                self._open,
            )
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._open += 1
        self._connections.add(task)
        framer = Framer(self._limits.max_message_bytes)
        try:
            await self._converse(reader, writer, peer, framer)
        except asyncio.CancelledError:
            pass  # the server is stopping
        except (ConnectionError, OSError) as exc:
            log.info("MLLP connection from %s lost: %s", peer, exc)
        except Exception:
            # A fault of Vigil's with this link: the others go on being served.
            log.exception("MLLP connection from %s closed on an unexpected error", peer)
        finally:
            self._open -= 1
            self._connections.discard(task)
            writer.transport.abort()
            self._note_noise(framer, peer, closing=True)

    async def _converse(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
        framer: Framer,
    ) -> None:
        limits = self._limits
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        started_at = 0.0
        while True:
            if framer.in_block:
                deadline, why = started_at + limits.message_timeout_s, "stalled mid-message"
            else:
                deadline, why = idle_since + limits.idle_timeout_s, "sent no message"
            try:
                async with asyncio.timeout_at(deadline):
                    data = await reader.read(READ_CHUNK)
            except TimeoutError:
                seconds = limits.message_timeout_s if framer.in_block else limits.idle_timeout_s
                log.warning("MLLP connection from %s closed: %s for %g s", peer, why, seconds)
                return
            if not data:
                if framer.in_block:
                    log.warning(
                        "MLLP connection from %s closed by the sender mid-message "
                        "(no end block): the partial message was dropped",
                        peer,
                    )
                return
            was_in_block = framer.in_block
            try:
                messages = framer.feed(data)
            except TooLarge as exc:
                log.warning(
                    "MLLP message from %s refused: larger than %s bytes; answered AR and closed",
                    peer,
                    exc.limit,
                )
                if await self._send(writer, self._handler.refuse(exc.head, str(exc)), peer):
                    await self._linger(reader, writer)
                return
            self._note_noise(framer, peer)
            if framer.noise > limits.max_message_bytes:
                log.warning(
                    "MLLP connection from %s closed: over %s bytes of data outside any "
                    "message (not an MLLP sender?)",
                    peer,
                    limits.max_message_bytes,
                )
                return
            for message in messages:
                ack = await self._handler.handle(message, peer)
                if not await self._send(writer, ack, peer):
                    return
            if messages:
                idle_since = loop.time()
            if framer.in_block and (messages or not was_in_block):
                started_at = loop.time()

    async def _send(self, writer: asyncio.StreamWriter, ack: bytes, peer: str) -> bool:
        writer.write(frame(ack))
        try:
            async with asyncio.timeout(self._limits.message_timeout_s):
                await writer.drain()
        except TimeoutError:
            log.warning("MLLP connection from %s closed: it did not take its ACK", peer)
            return False
        return True

    async def _linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Close gently after a refusal: say we are done sending, and drop what is still coming
        for a moment, so the sender reads its AR instead of a reset (a socket closed with
        unread data resets the connection, and the reset destroys the answer in flight)."""
        with contextlib.suppress(OSError):
            writer.write_eof()
        with contextlib.suppress(TimeoutError, OSError):
            async with asyncio.timeout(min(self._limits.message_timeout_s, LINGER_S)):
                while await reader.read(READ_CHUNK):
                    pass  # dropped, never kept

    @staticmethod
    def _note_noise(framer: Framer, peer: str, *, closing: bool = False) -> None:
        """Say once that a link sends noise, and at its close how much was dropped: a line per
        read would let a sender trickling noise flood the log."""
        if framer.discarded and not framer.noted:
            framer.noted = True
            log.warning("MLLP from %s: dropping bytes outside any message (noise)", peer)
        if framer.restarted == 1 and not framer.noted_restart:
            framer.noted_restart = True
            log.warning("MLLP from %s: a message abandoned by a new start block", peer)
        if closing and (framer.discarded or framer.restarted):
            log.warning(
                "MLLP from %s: %s bytes outside any message dropped, %s message(s) abandoned",
                peer,
                framer.discarded,
                framer.restarted,
            )


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


async def start_listener(settings: "Settings", database: "Database") -> MllpListener | None:
    """The app's listener from its settings (None when VIGIL_MLLP_PORT is 0)."""
    if settings.mllp_port == 0:
        return None
    from backend.hl7.inbox import DeviceInbox

    inbox = DeviceInbox(
        database,
        settings.clinic_zone,
        timedelta(seconds=settings.future_tolerance_seconds),
    )
    listener = MllpListener(
        inbox,
        settings.mllp_host,
        settings.mllp_port,
        Limits(
            max_message_bytes=settings.mllp_max_message_bytes,
            max_connections=settings.mllp_max_connections,
            message_timeout_s=settings.mllp_message_timeout_seconds,
            idle_timeout_s=settings.mllp_idle_timeout_seconds,
        ),
        bind_retry_s=settings.mllp_bind_retry_seconds,
    )
    await listener.start()
    return listener


def mllp_address(settings: "Settings") -> str:
    """Where a client on this host reaches the listener (its own address, or loopback when
    it listens on every interface)."""
    import ipaddress

    host = settings.mllp_host
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host  # a name
    if unspecified:
        return "::1" if ":" in host else "127.0.0.1"
    return host
