"""Who is asking: the account or API token behind a request or WebSocket handshake, and the
role checks routers depend on."""

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.requests import HTTPConnection
from sqlalchemy.orm import Session

from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.dependencies import SAFE_METHODS, DatabaseDep, SettingsDep, origin_allowed
from backend.core.errors import Overloaded
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.core.timeutil import utcnow
from backend.users import service as users
from backend.users.credential_cache import CACHE, TTL_SECONDS

log = logging.getLogger(__name__)
SESSION_COOKIE = "vigil_session"


# What a person signed in with a reset's one-time password may still do: see who they are,
# sign out, and choose their own password. Everything else answers 403 until they have.
MUST_CHANGE_ALLOWED = frozenset(
    {("GET", "/api/auth/me"), ("POST", "/api/auth/logout"), ("POST", "/api/auth/password")}
)
MUST_CHANGE_REFUSAL = "choose a new password: you signed in with a one-time password"


@dataclass(frozen=True)
class Caller:
    actor: Actor
    must_change_password: bool = False


def resolve_actor(conn: HTTPConnection, database: Database, settings: Settings) -> Actor | None:
    """The user or token behind a request or WebSocket handshake, or None; a person who must
    first choose a new password counts as None here (the live stream is not theirs yet)."""
    caller = resolve_caller(conn, database, settings)
    if caller is None or caller.must_change_password:
        return None
    return caller.actor


def resolve_caller(conn: HTTPConnection, database: Database, settings: Settings) -> Caller | None:
    """The user or token behind a request, and whether they must change their password first.

    Runs in transactions of its own, finished before the request's unit of work begins: a
    write request holds SQLite's write lock from its first statement, so a nested write here
    would wait for itself.
    """
    key = _cache_key(conn)
    if key is None:
        return None
    cached = CACHE.get(key)
    if isinstance(cached, Caller):
        return cached
    generation = CACHE.generation
    with database.unit_of_work(write=False) as db:
        caller, valid_for = _lookup_caller(conn, db, database, settings)
    if caller is not None:
        CACHE.put(key, caller, generation, at_most=valid_for)
    return caller


def cached_caller(conn: HTTPConnection) -> Caller | None:
    """The caller remembered for this request's credential, without touching the database."""
    key = _cache_key(conn)
    cached = CACHE.get(key) if key is not None else None
    return cached if isinstance(cached, Caller) else None


def _cache_key(conn: HTTPConnection) -> str | None:
    scheme, _, credential = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential:
        return CACHE.key("bearer", credential.strip())
    secret = conn.cookies.get(SESSION_COOKIE)
    return CACHE.key("cookie", secret) if secret else None


def _lookup_caller(
    conn: HTTPConnection, db: Session, database: Database, settings: Settings
) -> tuple[Caller | None, float]:
    """The caller, and for how many seconds that answer holds at most (a token's expiry, a
    sign-in's idle limit)."""
    authorization = conn.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    now = utcnow()
    if scheme.lower() == "bearer" and credential:
        token = users.find_token(db, credential.strip())
        if token is None:
            return None, 0.0
        if token.last_used_at is None or now - token.last_used_at > users.TOUCH_INTERVAL:
            _touch(database, users.touch_token, token.id)
        expires = token.expires_at
        valid_for = (expires - now).total_seconds() if expires is not None else TTL_SECONDS
        return Caller(users.token_actor(token)), valid_for
    secret = conn.cookies.get(SESSION_COOKIE)
    if not secret:
        return None, 0.0
    idle = timedelta(minutes=settings.login_idle_minutes)
    found = users.find_login(db, secret, idle)
    if found is None:
        return None, 0.0
    login, user = found
    if users.login_needs_touch(login, now):
        _touch(database, users.touch_login, login.id)
        valid_for = idle.total_seconds()
    else:
        valid_for = (login.last_seen_at + idle - now).total_seconds()
    return Caller(users.user_actor(user), user.must_change_password), valid_for


def _touch(database: Database, touch: Callable[[Session, int], None], row_id: int) -> None:
    """Note that a credential was used, unless writes are queued: a request waiting here would
    hold a worker thread that the queued writes need to finish (and the note is only a hint)."""
    try:
        with database.unit_of_work(write=True, best_effort=True) as writer:
            touch(writer, row_id)
    except Overloaded:
        log.debug("skipped noting the use of a credential: the database is busy")


async def get_actor(request: Request, database: DatabaseDep, settings: SettingsDep) -> Actor:
    # A credential seen in the last few seconds is answered on the event loop: no thread hop.
    caller = cached_caller(request) or await run_in_threadpool(
        resolve_caller, request, database, settings
    )
    if caller is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign in, or send a valid API token as 'Authorization: Bearer …'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    actor = caller.actor
    if (
        actor.kind == "user"
        and request.method not in SAFE_METHODS
        and not origin_allowed(request, settings)
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "request from a foreign origin refused")
    if caller.must_change_password and (request.method, _route_path(request)) not in (
        MUST_CHANGE_ALLOWED
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, MUST_CHANGE_REFUSAL)
    return actor


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else request.url.path


CurrentActor = Annotated[Actor, Depends(get_actor)]


async def require_person(actor: CurrentActor) -> Actor:
    """Only a signed-in person, never an API token: for reading a patient's whole record and
    for judgements about the record (a device gateway has no business with either)."""
    if actor.kind != "user":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs a person signed in, not a token")
    return actor


PersonActor = Annotated[Actor, Depends(require_person)]


def check_role(actor: Actor, roles: Collection[Role]) -> Actor:
    """`actor`, if it has one of `roles` (admins always pass); else 403."""
    allowed = frozenset(roles) | {Role.ADMIN}
    if actor.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {names}")
    return actor


def require_role(*roles: Role) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency that lets only the given roles through (admins always pass)."""

    async def check(actor: CurrentActor) -> Actor:
        return check_role(actor, roles)

    return check


AdminActor = Annotated[Actor, Depends(require_role(Role.ADMIN))]
NurseActor = Annotated[Actor, Depends(require_role(Role.NURSE))]
# Who records readings.
RECORDERS = (Role.NURSE, Role.STAFF, Role.TRAINER)
RecorderActor = Annotated[Actor, Depends(require_role(*RECORDERS))]
# Phases are a clinical decision: nurses (and trainers, on simulated sessions) move them.
PhaseActor = Annotated[Actor, Depends(require_role(Role.NURSE, Role.TRAINER))]
