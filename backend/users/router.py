"""Sign-in for browsers, and account and token management for admins."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response, status

from backend.audit import service as audit
from backend.core.credentials import credentials_changed
from backend.core.dependencies import (
    DatabaseDep,
    SessionDep,
    SettingsDep,
    origin_allowed,
    take_turn,
)
from backend.core.errors import InvalidInput
from backend.core.fields import RowId
from backend.core.settings import Settings
from backend.users import service
from backend.users.auth import (
    SESSION_COOKIE,
    AdminActor,
    CurrentActor,
    PersonActor,
    resolve_actor,
)
from backend.users.schemas import (
    ClinicianPublic,
    LoginIn,
    Me,
    PasswordChange,
    PasswordReset,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from backend.users.throttle import Lockout, LoginThrottle

auth_router = APIRouter(prefix="/api/auth", tags=["auth"])
users_router = APIRouter(prefix="/api/users", tags=["users"])
tokens_router = APIRouter(prefix="/api/tokens", tags=["tokens"])


def _cookie_secure(request: Request, settings: SettingsDep) -> bool:
    if settings.cookie_secure == "auto":
        return request.url.scheme == "https"
    return settings.cookie_secure == "true"


# Sign-in and the password change manage their own transactions (a failure must be recorded
# even though the request is refused), so they take their turn at the database themselves.
Turn = Annotated[None, Depends(take_turn, scope="function")]


def _refuse_foreign_origin(request: Request, settings: Settings) -> None:
    # Signing in or out from another site's page (login CSRF, forced sign-out) is refused like
    # any other unsafe request from a foreign origin.
    if not origin_allowed(request, settings):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "request from a foreign origin refused")


def client_address(request: Request) -> str:
    """The client's address as uvicorn gives it (behind a trusted proxy, the forwarded one)."""
    return request.client.host if request.client else "unknown"


def _too_many(lockout: Lockout) -> HTTPException:
    where = "for this name" if lockout.reason == "name" else "from this address"
    minutes = -(-lockout.seconds // 60)
    wait = f"{lockout.seconds} s" if lockout.seconds < 60 else f"{minutes} min"
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many failed sign-ins {where}; try again in {wait}",
        headers={"Retry-After": str(lockout.seconds)},
    )


@auth_router.post("/login", summary="Sign in and receive the session cookie")
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    database: DatabaseDep,
    settings: SettingsDep,
    _turn: Turn,
) -> Me:
    _refuse_foreign_origin(request, settings)
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request)
    # The password is checked in a read: a write would hold SQLite's lock through the hashing.
    with database.unit_of_work(write=False) as db:
        lockout = throttle.lockout(db, body.username, address)
        user = None if lockout else service.authenticate(db, body.username, body.password)
    if lockout:
        # A refused attempt is on the trail too: who was tried, from where, and why refused.
        with database.unit_of_work(write=True) as db:
            detail = {"reason": f"throttled ({lockout.reason})"}
            audit.record(
                db,
                None,
                "auth.sign_in_failed",
                request=request,
                target=body.username,
                detail=detail,
            )
        raise _too_many(lockout)
    secret = None
    with database.unit_of_work(write=True) as db:
        if user is None:
            throttle.failed(db, body.username, address)
            audit.record(db, None, "auth.sign_in_failed", request=request, target=body.username)
        else:
            throttle.succeeded(db, body.username)
            user = service.get_user(db, user.id)
            secret = service.start_login(db, user, body.password)
            audit.record(db, service.user_actor(user), "auth.sign_in", request=request)
    if user is None or secret is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.login_idle_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request, settings),
        path="/",
    )
    return Me(
        kind="user",
        name=user.username,
        role=user.role,
        display_name=user.display_name,
        must_change_password=user.must_change_password,
    )


@auth_router.post("/logout", status_code=204, summary="Sign out this browser")
def logout(
    request: Request,
    response: Response,
    db: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> None:
    _refuse_foreign_origin(request, settings)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        actor = resolve_actor(request, request.app.state.database, settings)  # before it ends
        service.end_login(db, secret)
        if actor is not None:
            audit.record(db, actor, "auth.sign_out", request=request)
        # Background tasks run after the commit: this browser's live streams end (4401).
        background.add_task(credentials_changed, request.app)
    response.delete_cookie(SESSION_COOKIE, path="/")


@auth_router.post(
    "/password",
    status_code=204,
    summary="Change your own password (your other sign-ins end; this one stays)",
)
def change_password(
    body: PasswordChange,
    actor: PersonActor,
    request: Request,
    database: DatabaseDep,
    background: BackgroundTasks,
    _turn: Turn,
) -> None:
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request)
    # The current password is a sign-in's proof again: wrong guesses count like failed sign-ins,
    # so a browser left open is not a way to guess it.
    with database.unit_of_work(write=False) as db:
        user = service.get_user(db, actor.id)
        lockout = throttle.lockout(db, user.username, address)
        matches = lockout is None and service.password_matches(user, body.current_password)
    if lockout:
        raise _too_many(lockout)
    if not matches:
        with database.unit_of_work(write=True) as db:
            throttle.failed(db, user.username, address)
        raise InvalidInput(("body", "current_password"), "this is not your current password")
    with database.unit_of_work(write=True) as db:
        service.change_own_password(
            db,
            service.get_user(db, actor.id),
            body.new_password,
            keep_login=request.cookies.get(SESSION_COOKIE),
        )
    background.add_task(credentials_changed, request.app)


@auth_router.get("/me", summary="Who is signed in")
def me(actor: CurrentActor, db: SessionDep) -> Me:
    if actor.kind != "user":
        return Me(kind=actor.kind, name=actor.name, role=actor.role)
    user = service.get_user(db, actor.id)
    return Me(
        kind=actor.kind,
        name=actor.name,
        role=actor.role,
        display_name=user.display_name,
        must_change_password=user.must_change_password,
    )


@users_router.get("", summary="List accounts")
def list_users(_: AdminActor, db: SessionDep) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in service.list_users(db)]


@users_router.get(
    "/clinicians",
    summary="Clinicians who may decide an override (active nurses and admins), by name",
)
def list_clinicians(_: CurrentActor, db: SessionDep) -> list[ClinicianPublic]:
    return [ClinicianPublic.model_validate(u) for u in service.list_clinicians(db)]


@users_router.post("", status_code=201, summary="Create an account")
def create_user(body: UserCreate, _: AdminActor, db: SessionDep) -> UserPublic:
    user = service.create_user(
        db,
        body.username,
        body.password,
        body.role,
        body.display_name,
        must_change_password=body.must_change_password,
    )
    return UserPublic.model_validate(user)


@users_router.patch("/{user_id}", summary="Change an account's role, name, password or status")
def update_user(
    user_id: RowId,
    body: UserUpdate,
    _: AdminActor,
    db: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> UserPublic:
    user = service.update_user(
        db,
        service.get_user(db, user_id),
        role=body.role,
        display_name=body.display_name,
        is_active=body.is_active,
        password=body.password,
    )
    background.add_task(credentials_changed, request.app)
    return UserPublic.model_validate(user)


@users_router.post(
    "/{user_id}/password-reset",
    summary="Reset a password: a one-time password, shown once; the account's sign-ins end",
)
def reset_password(
    user_id: RowId,
    _: AdminActor,
    db: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> PasswordReset:
    user = service.get_user(db, user_id)
    password = service.reset_password(db, user)
    background.add_task(credentials_changed, request.app)
    return PasswordReset(user=UserPublic.model_validate(user), password=password)


@tokens_router.get("", summary="List API tokens (secrets are never shown again)")
def list_tokens(_: AdminActor, db: SessionDep) -> list[TokenPublic]:
    return [TokenPublic.model_validate(t) for t in service.list_tokens(db)]


@tokens_router.post("", status_code=201, summary="Create an API token for a machine client")
def create_token(body: TokenCreate, _: AdminActor, db: SessionDep) -> TokenCreated:
    token, secret = service.create_token(db, body.name, body.role, body.expires_at)
    return TokenCreated(**TokenPublic.model_validate(token).model_dump(), token=secret)


@tokens_router.delete("/{token_id}", summary="Revoke an API token")
def revoke_token(
    token_id: RowId, _: AdminActor, db: SessionDep, request: Request, background: BackgroundTasks
) -> TokenPublic:
    token = service.revoke_token(db, token_id)
    background.add_task(credentials_changed, request.app)
    return TokenPublic.model_validate(token)
