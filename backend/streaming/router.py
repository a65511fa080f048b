"""The WebSocket live stream: backfill from the database after the client's cursor, then live.

Protocol (server → client, JSON text frames):
  {"type": "event", "cursor": "42", "kind": "reading.created", "session_id": 7,
   "at": "…", "data": {…}}
  {"type": "ready", "cursor": "42", "heartbeat_seconds": 15}
                                         backfill done; everything after this arrives live
  {"type": "heartbeat", "cursor": "42"}  sent when idle, so a browser can tell a dead link
  {"type": "reset", "cursor": "42"}      the given cursor is unknown here: reload, then go on
With `session_id`, a client gets that session's events plus every alarm change on the ward.
Close codes: 4401 not signed in, 4400 bad cursor, 4408 fell behind (reconnect with the cursor).
"""

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from backend.core.database import Database
from backend.core.dependencies import origin_allowed, resolve_actor
from backend.core.fields import RowId
from backend.core.settings import Settings
from backend.streaming.bus import EventBus, Subscription
from backend.streaming.events import Event
from backend.streaming.outbox import last_sequence, load_events

log = logging.getLogger(__name__)
router = APIRouter(tags=["stream"])

SEND_TIMEOUT_SECONDS = 10.0
BACKFILL_CHUNK = 500


def _last_sequence(database: Database) -> int:
    with database.unit_of_work(write=False) as db:
        return last_sequence(db)


def _load(database: Database, after: int, upto: int, session_id: int | None) -> list[Event]:
    with database.unit_of_work(write=False) as db:
        return load_events(db, after, upto, session_id, BACKFILL_CHUNK)


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

    sub = bus.subscribe(session_id)
    try:
        await _serve(ws, sub, resume_after, database, settings)
    except WebSocketDisconnect:
        pass
    finally:
        bus.unsubscribe(sub)


async def _send(ws: WebSocket, message: dict[str, object]) -> None:
    await asyncio.wait_for(ws.send_text(json.dumps(message)), SEND_TIMEOUT_SECONDS)


async def _serve(
    ws: WebSocket,
    sub: Subscription,
    resume_after: int | None,
    database: Database,
    settings: Settings,
) -> None:
    # The database may be ahead of this process's bus (another worker committed since its last
    # poll); "now" is the database's latest event, and anything older coming off the bus is skipped.
    latest = await run_in_threadpool(_last_sequence, database)
    last_sent = max(sub.position, latest)
    if resume_after is not None:
        if resume_after > latest:
            await _send(ws, {"type": "reset", "cursor": str(last_sent)})
        else:
            last_sent = await _backfill(ws, sub, resume_after, latest, database)
    await _send(
        ws,
        {
            "type": "ready",
            "cursor": str(last_sent),
            "heartbeat_seconds": settings.stream_heartbeat_seconds,
        },
    )

    reader = asyncio.create_task(_read_until_closed(ws))
    try:
        while not reader.done():
            if sub.dropped.is_set() and sub.queue.empty():
                await ws.close(code=4408, reason="fell behind; reconnect with your cursor")
                return
            getter = asyncio.ensure_future(sub.queue.get())
            done, _ = await asyncio.wait(
                {getter, reader},
                timeout=settings.stream_heartbeat_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if getter not in done:
                getter.cancel()
                if not done:
                    await _send(ws, {"type": "heartbeat", "cursor": str(last_sent)})
                continue
            event = getter.result()
            if event.seq > last_sent:
                await _send(ws, event.to_wire())
                last_sent = event.seq
    except (TimeoutError, WebSocketDisconnect, RuntimeError):
        with contextlib.suppress(RuntimeError):
            await ws.close(code=4408, reason="too slow to receive; reconnect with your cursor")
    finally:
        reader.cancel()


async def _backfill(
    ws: WebSocket, sub: Subscription, after: int, latest: int, database: Database
) -> int:
    """Send committed events in (after, upto]; later ones reach the subscription's queue."""
    upto = max(sub.position, latest)
    last_sent = after
    while last_sent < upto:
        events = await run_in_threadpool(_load, database, last_sent, upto, sub.session_id)
        for event in events:
            await _send(ws, event.to_wire())
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
