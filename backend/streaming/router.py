"""The WebSocket live stream: backfill from the database after the client's cursor, then live.

Protocol (server → client, JSON text frames):
  {"type": "event", "cursor": "42", "kind": "reading.created", "session_id": 7,
   "at": "…", "data": {…}}
  {"type": "ready", "cursor": "42", "heartbeat_seconds": 15}
                                         backfill done; everything after this arrives live
  {"type": "heartbeat", "cursor": "42"}  sent when idle, so a browser can tell a dead link
  {"type": "reset", "cursor": "42"}      the given cursor is unknown here, or older than the
                                         resume window (its events were pruned): reload, then go on
With `session_id`, a client gets that session's events plus every alarm change on the ward.
Trainers see simulated sessions only: a trainer's stream carries no event of a real session,
and a trainer asking for a real session's stream is closed with 4403. A real session's stream
opened by anyone else is a view of it, put on the audit trail.
Close codes: 4401 not signed in, or the credential the stream was opened with stopped being valid
(token revoked, signed out, account disabled, sign-in idle too long: go to sign-in, do not retry);
4403 not allowed to see that session; 4400 bad cursor; 4408 fell behind or stopped reading
(reconnect with the cursor).
Dead peers: uvicorn pings every 20 s and drops a peer that does not answer within 20 s; a message
the peer does not accept within `stream_send_timeout_seconds` closes the stream with 4408.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from backend.audit import service as audit
from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.dependencies import origin_allowed
from backend.core.fields import RowId
from backend.core.roles import Role
from backend.core.security import digest
from backend.core.settings import Settings
from backend.streaming.bus import EventBus, Subscription
from backend.streaming.credentials import Credential, CredentialWatch, Watched
from backend.streaming.events import Event
from backend.streaming.outbox import last_sequence, load_events
from backend.streaming.retention import servable_range
from backend.users import service as users
from backend.users.auth import SESSION_COOKIE, resolve_actor

log = logging.getLogger(__name__)
router = APIRouter(tags=["stream"])

BACKFILL_CHUNK = 500
# Open streams' credentials are re-checked this often (one batched query per process), so a
# revocation made by another worker or the command line ends its streams within seconds.
CREDENTIAL_CHECK_SECONDS = 3.0
SIGNED_OUT = (4401, "your sign-in ended (signed out, revoked, disabled or idle): sign in again")
STALLED = (4408, "too slow to receive; reconnect with your cursor")
TRAINERS_REFUSED = (4403, "trainers see simulated sessions only")

# Sessions by id -> (patient id, simulated), for the ids that exist. The sessions domain answers
# it (backend/main.py hands it over): sessions import the stream's outbox, so the stream cannot
# import them back.
SessionKinds = Callable[[Collection[int]], dict[int, tuple[int, bool]]]


def _last_sequence(database: Database) -> int:
    with database.unit_of_work(write=False) as db:
        return last_sequence(db)


def _servable(database: Database) -> tuple[int, int]:
    with database.unit_of_work(write=False) as db:
        return servable_range(db)


def _load(database: Database, after: int, upto: int, session_id: int | None) -> list[Event] | None:
    """Committed events in (after, upto], or None when some were pruned before they were read.

    The events first, then what is still stored: pruning deletes the oldest and nothing else, so
    if the oldest stored event read afterwards is at most after + 1, none of them was missing
    when they were read (on PostgreSQL each statement sees what committed before it)."""
    with database.unit_of_work(write=False) as db:
        events = load_events(db, after, upto, session_id, BACKFILL_CHUNK)
        earliest, _ = servable_range(db)
    return events if earliest <= after else None


def credential_watch(app: FastAPI) -> CredentialWatch:
    """This process's watch over open streams' credentials, made on first use."""
    state = app.state
    watch: CredentialWatch | None = getattr(state, "credential_watch", None)
    if watch is None:
        database: Database = state.database
        idle = timedelta(minutes=state.settings.login_idle_minutes)

        def check(tokens: frozenset[int], logins: frozenset[str]) -> tuple[set[int], set[str]]:
            with database.unit_of_work(write=False) as db:
                return users.valid_credentials(db, tokens, logins, idle)

        watch = CredentialWatch(check, CREDENTIAL_CHECK_SECONDS)
        state.credential_watch = watch
    return watch


def _credential(ws: WebSocket, actor: Actor) -> Credential:
    """The credential `resolve_actor` accepted: a token (its id), else the browser's login."""
    if actor.kind == "token":
        return Credential("token", str(actor.id))
    return Credential("login", digest(ws.cookies.get(SESSION_COOKIE, "")))


@router.websocket("/api/stream")
async def stream(ws: WebSocket, session_id: RowId | None = None, after: str | None = None) -> None:
    """Live events for one session (`session_id`) or the whole ward, resuming after `after`."""
    settings: Settings = ws.app.state.settings
    database: Database = ws.app.state.database
    bus: EventBus = ws.app.state.bus
    if not origin_allowed(ws, settings):
        await ws.close(code=1008, reason="foreign origin")
        return
    actor = await run_in_threadpool(resolve_actor, ws, database, settings)
    # Asked before the handshake is answered: with the database down or busy the handshake is a
    # 503 with Retry-After (the client backs off), not a stream that accepts and then fails. The
    # actor alone does not ask it: a credential seen in the last few seconds is answered from
    # memory (users/credential_cache.py).
    await run_in_threadpool(_last_sequence, database)
    await ws.accept()
    if actor is None:
        await ws.close(code=4401, reason="sign in first")
        return
    try:
        resume_after = int(after) if after is not None else None
    except ValueError:
        resume_after = None
    if after is not None and (resume_after is None or resume_after < 0):
        await ws.close(code=4400, reason="after must be a cursor this server sent")
        return

    kinds: SessionKinds = ws.app.state.session_kinds
    if session_id is not None:
        found = (await run_in_threadpool(kinds, [session_id])).get(session_id)
        if found is not None and not found[1]:
            if actor.role is Role.TRAINER:
                await _close(ws, *TRAINERS_REFUSED, settings)
                return
            await run_in_threadpool(_record_view, database, actor, ws, session_id, found[0])

    watch = credential_watch(ws.app)
    watched = watch.watch(_credential(ws, actor))
    sub = bus.subscribe(session_id)
    try:
        sending = Sending()
        send = _sender(ws, sending)
        if actor.role is Role.TRAINER:
            send = _simulated_only(send, kinds)
        code, reason = await _serve(
            ws, send, sending, sub, watched, resume_after, database, settings
        )
    except WebSocketDisconnect:
        return
    finally:
        bus.unsubscribe(sub)
        watch.forget(watched)
    await _close(ws, code, reason, settings)


def _record_view(
    database: Database, actor: Actor, ws: WebSocket, session_id: int, patient_id: int
) -> None:
    audit.record_apart(
        database,
        actor,
        "session.view",
        request=ws,
        patient_id=patient_id,
        session_id=session_id,
        detail={"via": "stream"},
    )


def _simulated_only(send: "Send", kinds: SessionKinds) -> "Send":
    """A trainer's sender: events of real sessions are dropped, whatever the subscription (the
    ward's stream carries every chair; a session's, every chair's alarms)."""
    simulated: dict[int, bool] = {}  # a session never changes kind: asked once per stream

    async def send_simulated(message: "Message") -> None:
        sid = message.session_id if isinstance(message, Event) else None
        if isinstance(sid, int):
            if sid not in simulated:
                found = (await run_in_threadpool(kinds, [sid])).get(sid)
                simulated[sid] = found is not None and found[1]
            if not simulated[sid]:
                return
        await send(message)

    return send_simulated


async def _close(ws: WebSocket, code: int, reason: str, settings: Settings) -> None:
    # Bounded too: a peer that stopped reading would hold a close frame back like any other.
    with contextlib.suppress(TimeoutError, WebSocketDisconnect, RuntimeError):
        async with asyncio.timeout(settings.stream_send_timeout_seconds):
            await ws.close(code=code, reason=reason)


async def _serve(
    ws: WebSocket,
    send: "Send",
    sending: "Sending",
    sub: Subscription,
    watched: Watched,
    resume_after: int | None,
    database: Database,
    settings: Settings,
) -> tuple[int, str]:
    """Send until the stream must end; return the close code and reason to end it with."""
    bus: EventBus = ws.app.state.bus
    ended = asyncio.ensure_future(watched.ended.wait())
    reader = asyncio.create_task(_read_until_closed(ws))
    stalled = asyncio.create_task(_stall_watch(sending, settings.stream_send_timeout_seconds))
    try:
        # The sends themselves are raced with the credential watch, so a stream stuck in a
        # long backfill still ends as soon as its sign-in does.
        stream = asyncio.ensure_future(
            _stream(send, sub, resume_after, database, settings, lambda: bus.position)
        )
        done, _ = await asyncio.wait(
            {stream, ended, reader, stalled}, return_when=asyncio.FIRST_COMPLETED
        )
        if stream not in done:
            stream.cancel()
            # No send of it may interleave with the close.
            await asyncio.wait({stream}, timeout=settings.stream_send_timeout_seconds)
            if ended in done:
                return SIGNED_OUT
            if stalled in done:
                return STALLED
            raise WebSocketDisconnect()
        return stream.result()
    except (TimeoutError, RuntimeError):
        return STALLED
    finally:
        ended.cancel()
        reader.cancel()
        stalled.cancel()


# An event (its text made once, shared by every subscriber) or a control message of this stream.
Message = Event | dict[str, object]
Send = Callable[[Message], Awaitable[None]]


@dataclass
class Sending:
    """When the send in progress began (the event loop's clock), or None between sends."""

    since: float | None = None


def _sender(ws: WebSocket, sending: Sending) -> Send:
    loop = asyncio.get_running_loop()

    async def send(message: Message) -> None:
        text = message.wire_text() if isinstance(message, Event) else json.dumps(message)
        # A peer that stops reading fills the TCP window and would block this send forever:
        # `_stall_watch` ends the stream when a send has waited too long. Not a timeout around
        # each send: with 500 screens, arming and cancelling one timer per message per screen
        # was a fifth of the fan-out's CPU (py-spy under benchmarks/fanout.py).
        sending.since = loop.time()
        try:
            await ws.send_text(text)
        finally:
            sending.since = None

    return send


async def _stall_watch(sending: Sending, limit_s: float) -> None:
    """Return once a send of this stream has waited `limit_s` seconds for the peer: one timer a
    stream, due when the send in progress would run out (or `limit_s` from now, between sends)."""
    loop = asyncio.get_running_loop()
    while True:
        since, now = sending.since, loop.time()
        if since is not None and now - since >= limit_s:
            return
        await asyncio.sleep(limit_s if since is None else since + limit_s - now)


async def _stream(
    send: Send,
    sub: Subscription,
    resume_after: int | None,
    database: Database,
    settings: Settings,
    bus_position: Callable[[], int],
) -> tuple[int, str]:
    # The database may be ahead of this process's bus (another worker committed since its last
    # poll); "now" is the database's latest event, and anything older coming off the bus is skipped.
    earliest, latest = await run_in_threadpool(_servable, database)
    last_sent = max(sub.position, latest)
    if resume_after is not None:
        # A cursor from the future (the database was replaced) or from before the resume window
        # (its events were pruned, retention.py): what it missed cannot be sent, so the client
        # is told to reload rather than given a stream with a silent hole in it.
        if resume_after > latest or resume_after < earliest:
            await send({"type": "reset", "cursor": str(last_sent)})
        else:
            last_sent = await _backfill(send, sub, resume_after, latest, database)
    await send(
        {
            "type": "ready",
            "cursor": str(last_sent),
            "heartbeat_seconds": settings.stream_heartbeat_seconds,
        }
    )
    loop = asyncio.get_running_loop()
    last_got = _LastGot(loop.time())
    heartbeats = asyncio.create_task(
        _heartbeat_timer(sub, last_got, settings.stream_heartbeat_seconds)
    )
    try:
        while True:
            if sub.dropped.is_set() and sub.queue.empty():
                return 4408, "fell behind; reconnect with your cursor"
            event = await sub.queue.get()
            last_got.at = loop.time()
            if event is _QUIET:
                if sub.queue.empty() and not sub.dropped.is_set():
                    # Nothing it wants is waiting (and the bus still queues for it): it has all
                    # it wants up to where the bus is, so the cursor moves on past other
                    # sessions' events. A quiet session's page keeps a cursor inside the resume
                    # window and reconnects without a needless reset.
                    last_sent = max(last_sent, bus_position())
                await send({"type": "heartbeat", "cursor": str(last_sent)})
                continue
            if event.seq > last_sent:
                await send(event)
                last_sent = event.seq
    finally:
        heartbeats.cancel()


# Put on a stream's queue by its heartbeat timer: the stream has had nothing to send for a while.
_QUIET = Event(
    seq=-1, kind="stream.quiet", session_id=None, data={}, at=datetime.min.replace(tzinfo=UTC)
)


@dataclass
class _LastGot:
    """When the stream last took something off its queue (the event loop's clock)."""

    at: float


async def _heartbeat_timer(sub: Subscription, last_got: _LastGot, every: float) -> None:
    """Put `_QUIET` on the stream's queue once it has taken nothing off it for `every` seconds.
    One timer a stream: a timeout around each wait armed and cancelled one per message (with
    the send's own, a sixth of the fan-out's CPU with 500 screens; benchmarks/fanout.py)."""
    loop = asyncio.get_running_loop()
    while True:
        wait = last_got.at + every - loop.time()
        if wait <= 0:
            if sub.queue.empty():  # else the stream is busy: it has something to send
                sub.queue.put_nowait(_QUIET)
            wait = every
        await asyncio.sleep(wait)


async def _backfill(
    send: Send, sub: Subscription, after: int, latest: int, database: Database
) -> int:
    """Send committed events in (after, upto]; later ones reach the subscription's queue."""
    upto = max(sub.position, latest)
    last_sent = after
    while last_sent < upto:
        events = await run_in_threadpool(_load, database, last_sent, upto, sub.session_id)
        if events is None:
            # Pruned while being sent (a cursor at the very edge of the window): reload.
            await send({"type": "reset", "cursor": str(upto)})
            return upto
        for event in events:
            await send(event)
            last_sent = event.seq
        if len(events) < BACKFILL_CHUNK:
            break
    return upto


async def _read_until_closed(ws: WebSocket) -> None:
    """Consume client frames (answering pings) until the client goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            text = await ws.receive_text()
            if text == '{"type":"ping"}':
                await ws.send_text('{"type":"pong"}')
