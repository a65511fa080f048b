"""Request dependencies: the one database session per request, and settings. Who is asking
(the signed-in account or token) is backend/users/auth.py.

The session dependency has function scope, so its commit runs after the endpoint returns but
before the response is sent: a client is never told "stored" about something not yet committed.
"""

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.requests import HTTPConnection
from sqlalchemy.orm import Session

from backend.core.database import Database
from backend.core.settings import Settings

log = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Trivial dependencies are async so FastAPI does not hop to a worker thread for each of them.
async def get_settings(conn: HTTPConnection) -> Settings:
    settings: Settings = conn.app.state.settings
    return settings


async def get_database(conn: HTTPConnection) -> Database:
    database: Database = conn.app.state.database
    return database


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]


async def take_turn(database: DatabaseDep) -> AsyncIterator[None]:
    """Wait (bounded, in the event loop) for a turn at the database; see `Admission`."""
    async with database.admission.turn():
        yield


def get_db(
    request: Request,
    database: DatabaseDep,
    _turn: Annotated[None, Depends(take_turn, scope="function")],
) -> Iterator[Session]:
    with database.unit_of_work(write=request.method not in SAFE_METHODS) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def origin_allowed(conn: HTTPConnection, settings: Settings) -> bool:
    """A browser may only act from Vigil's own pages (or an origin IT explicitly allowed)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True  # not a browser: machine clients do not send Origin
    host = conn.headers.get("host", "")
    own = {f"http://{host}", f"https://{host}"}
    return origin in own or origin in settings.allowed_origins
