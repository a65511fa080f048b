"""The baseline the ingest benchmark compares Vigil with: the least an ingest service must do.

One FastAPI endpoint validates a reading body much like Vigil's and inserts the same row into a
SQLite file with the standard library's `sqlite3` (WAL, synchronous=FULL, busy timeout, one
`BEGIN IMMEDIATE … COMMIT` per request, a connection per worker thread), then hands the stored
reading to every WebSocket subscriber of that session. No ORM, no auth, no outbox, no alerts:
whatever Vigil costs beyond this is the price of its features and its plumbing.

The database file is named by the `VIGIL_BENCH_BASELINE_DB` environment variable. Serve with
    python -m uvicorn benchmarks.baseline_app:app --host 127.0.0.1 --port N
"""

import asyncio
import contextlib
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Self

from fastapi import FastAPI, Response, WebSocket, WebSocketDisconnect, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

DATABASE_ENV = "VIGIL_BENCH_BASELINE_DB"

# The same table Vigil's migrations create for readings (and the same composite index).
SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    session_id INTEGER NOT NULL,
    taken_at DATETIME NOT NULL,
    received_at DATETIME NOT NULL,
    source VARCHAR(16) NOT NULL,
    entered_by VARCHAR(80) NOT NULL,
    heart_rate INTEGER,
    systolic INTEGER,
    diastolic INTEGER,
    spo2 INTEGER,
    respiratory_rate INTEGER,
    temperature FLOAT,
    consciousness VARCHAR(1)
);
CREATE INDEX IF NOT EXISTS ix_readings_session_taken ON readings (session_id, taken_at, id);
"""

INSERT = (
    "INSERT INTO readings (id, session_id, taken_at, received_at, source, entered_by, heart_rate,"
    " systolic, diastolic, spo2, respiratory_rate, temperature, consciousness)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class ReadingIn(BaseModel):
    """Vigil's plausibility ranges, its 'at least one vital' and 'diastolic below systolic'."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = None
    taken_at: AwareDatetime | None = None
    source: Literal["manual", "simulator", "device"] | None = None
    heart_rate: int | None = Field(default=None, ge=0, le=350)
    systolic: int | None = Field(default=None, ge=0, le=350)
    diastolic: int | None = Field(default=None, ge=0, le=300)
    spo2: int | None = Field(default=None, ge=0, le=100)
    respiratory_rate: int | None = Field(default=None, ge=0, le=100)
    temperature: float | None = Field(default=None, ge=25, le=45)
    consciousness: Literal["A", "C", "V", "P", "U"] | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        vitals = (self.heart_rate, self.systolic, self.diastolic, self.spo2)
        rest = (self.respiratory_rate, self.temperature, self.consciousness)
        if all(v is None for v in (*vitals, *rest)):
            raise ValueError("a reading needs at least one vital")
        if (
            self.systolic is not None
            and self.diastolic is not None
            and self.diastolic >= self.systolic
        ):
            raise ValueError("diastolic must be below systolic")
        return self


class ReadingOut(BaseModel):
    id: str
    session_id: int
    taken_at: datetime
    received_at: datetime
    source: str
    entered_by: str
    heart_rate: int | None
    systolic: int | None
    diastolic: int | None
    spo2: int | None
    respiratory_rate: int | None
    temperature: float | None
    consciousness: str | None


@dataclass(eq=False)
class Subscriber:
    session_id: int | None
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(1000))


class Store:
    """One SQLite connection per worker thread, all closed at shutdown."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with contextlib.closing(self._open()) as conn:
            conn.executescript(SCHEMA)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def insert(self, row: tuple[object, ...]) -> None:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(INSERT, row)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


class Hub:
    """Fans stored readings out to WebSocket subscribers; publish() may be called from threads."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.subscribers: set[Subscriber] = set()

    def publish(self, session_id: int, message: str) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._deliver, session_id, message)

    def _deliver(self, session_id: int, message: str) -> None:
        for sub in list(self.subscribers):
            if sub.session_id in (None, session_id):
                try:
                    sub.queue.put_nowait(message)
                except asyncio.QueueFull:
                    self.subscribers.discard(sub)


def create_app() -> FastAPI:
    hub = Hub()
    stores: list[Store] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stores.append(Store(os.environ.get(DATABASE_ENV, "baseline.db")))
        hub.loop = asyncio.get_running_loop()
        try:
            yield
        finally:
            hub.loop = None
            stores.pop().close()

    app = FastAPI(title="Vigil benchmark baseline", lifespan=lifespan)

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/sessions/{session_id}/readings", status_code=status.HTTP_201_CREATED)
    def post_reading(session_id: int, body: ReadingIn, response: Response) -> ReadingOut:
        now = datetime.now(UTC)
        taken_at = body.taken_at.astimezone(UTC) if body.taken_at else now
        out = ReadingOut(
            id=str(body.id or uuid.uuid4()),
            session_id=session_id,
            taken_at=taken_at,
            received_at=now,
            source=body.source or "device",
            entered_by="token:baseline",
            heart_rate=body.heart_rate,
            systolic=body.systolic,
            diastolic=body.diastolic,
            spo2=body.spo2,
            respiratory_rate=body.respiratory_rate,
            temperature=body.temperature,
            consciousness=body.consciousness,
        )
        row = (
            out.id,
            session_id,
            taken_at.replace(tzinfo=None).isoformat(" "),
            now.replace(tzinfo=None).isoformat(" "),
            out.source,
            out.entered_by,
            out.heart_rate,
            out.systolic,
            out.diastolic,
            out.spo2,
            out.respiratory_rate,
            out.temperature,
            out.consciousness,
        )
        try:
            stores[0].insert(row)
        except sqlite3.IntegrityError:
            response.status_code = status.HTTP_200_OK  # a retry: stored before
            return out
        event = {
            "type": "event",
            "kind": "reading.created",
            "session_id": session_id,
            "data": out.model_dump(mode="json"),
        }
        hub.publish(session_id, json.dumps(event))
        return out

    @app.websocket("/api/stream")
    async def stream(ws: WebSocket, session_id: int | None = None) -> None:
        await ws.accept()
        sub = Subscriber(session_id)
        hub.subscribers.add(sub)
        reader = asyncio.create_task(_read_until_closed(ws))
        try:
            await ws.send_text('{"type": "ready"}')
            while not reader.done():
                getter = asyncio.ensure_future(sub.queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    await ws.send_text(getter.result())
                else:
                    getter.cancel()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            hub.subscribers.discard(sub)
            reader.cancel()

    return app


async def _read_until_closed(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()


app = create_app()
