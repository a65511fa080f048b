"""Sign-in for browsers, and account and token management for admins."""

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response, status

from backend.audit import service as audit
from backend.core.credentials import credentials_changed
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.fields import RowId
from backend.users import service
from backend.users.auth import SESSION_COOKIE, AdminActor, CurrentActor, resolve_actor
from backend.users.schemas import (
    ClinicianPublic,
    LoginIn,
    Me,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from backend.users.throttle import LoginThrottle

auth_router = APIRouter(prefix="/api/auth", tags=["auth"])
users_router = APIRouter(prefix="/api/users", tags=["users"])
tokens_router = APIRouter(prefix="/api/tokens", tags=["tokens"])


def _cookie_secure(request: Request, settings: SettingsDep) -> bool:
    if settings.cookie_secure == "auto":
        return request.url.scheme == "https"
    return settings.cookie_secure == "true"


@auth_router.post("/login", summary="Sign in and receive the session cookie")
def login(
    body: LoginIn, request: Request, response: Response, db: SessionDep, settings: SettingsDep
) -> Me:
    throttle: LoginThrottle = request.app.state.login_throttle
    wait = throttle.retry_after(body.username)
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed sign-ins for this name; try again in {int(wait) + 1} s",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    user = service.authenticate(db, body.username, body.password)
    if user is None:
        throttle.failed(body.username)
        audit.record_refusal(db, None, "auth.sign_in_failed", request=request, target=body.username)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    throttle.succeeded(body.username)
    secret = service.start_login(db, user)
    audit.record(db, service.user_actor(user), "auth.sign_in", request=request)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.login_idle_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request, settings),
        path="/",
    )
    return Me(kind="user", name=user.username, role=user.role, display_name=user.display_name)


@auth_router.post("/logout", status_code=204, summary="Sign out this browser")
def logout(
    request: Request,
    response: Response,
    db: SessionDep,
    background: BackgroundTasks,
    settings: SettingsDep,
) -> None:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        actor = resolve_actor(request, request.app.state.database, settings)  # before it ends
        service.end_login(db, secret)
        if actor is not None:
            audit.record(db, actor, "auth.sign_out", request=request)
        # Background tasks run after the commit: this browser's live streams end (4401).
        background.add_task(credentials_changed, request.app)
    response.delete_cookie(SESSION_COOKIE, path="/")


@auth_router.get("/me", summary="Who is signed in")
def me(actor: CurrentActor, db: SessionDep) -> Me:
    display_name = None
    if actor.kind == "user":
        display_name = service.get_user(db, actor.id).display_name
    return Me(kind=actor.kind, name=actor.name, role=actor.role, display_name=display_name)


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
    user = service.create_user(db, body.username, body.password, body.role, body.display_name)
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


@tokens_router.get("", summary="List API tokens (secrets are never shown again)")
def list_tokens(_: AdminActor, db: SessionDep) -> list[TokenPublic]:
    return [TokenPublic.model_validate(t) for t in service.list_tokens(db)]


@tokens_router.post("", status_code=201, summary="Create an API token for a machine client")
def create_token(body: TokenCreate, _: AdminActor, db: SessionDep) -> TokenCreated:
    token, secret = service.create_token(db, body.name, body.role)
    return TokenCreated(**TokenPublic.model_validate(token).model_dump(), token=secret)


@tokens_router.delete("/{token_id}", summary="Revoke an API token")
def revoke_token(
    token_id: RowId, _: AdminActor, db: SessionDep, request: Request, background: BackgroundTasks
) -> TokenPublic:
    token = service.revoke_token(db, token_id)
    background.add_task(credentials_changed, request.app)
    return TokenPublic.model_validate(token)
