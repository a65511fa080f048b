"""Accounts, sign-in and token logic. Services flush; the request's unit of work commits."""

import secrets
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.actor import Actor
from backend.core.database import add_unique
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.roles import Role
from backend.core.security import (
    TOKEN_PREFIX,
    digest,
    hash_password,
    needs_rehash,
    new_secret,
    verify_password,
)
from backend.core.timeutil import utcnow
from backend.users.models import ApiToken, BrowserLogin, User
from backend.users.passwords import password_problem

ADMIN_USERNAME = "admin"
# last_seen_at is refreshed at most this often, so reads stay reads.
TOUCH_INTERVAL = timedelta(minutes=5)
K = TypeVar("K", int, str)


# A one-time password: 16 characters of an alphabet without look-alikes (no 0/O, 1/l/I), in
# groups of four, to be read off a screen and typed once (about 82 bits).
ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def check_password(password: str, username: str, field: str = "password") -> None:
    """Refuse a password the policy does not allow (users/passwords.py), as a 422 naming `field`."""
    if (problem := password_problem(password, username)) is not None:
        raise InvalidInput(("body", field), f"the password {problem}")


def create_user(
    db: Session,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    *,
    must_change_password: bool = False,
) -> User:
    check_password(password, username)
    user = User(
        username=username,
        display_name=display_name or username,
        role=role.value,
        password_hash=hash_password(password),
        is_active=True,
        created_at=utcnow(),
        must_change_password=must_change_password,
    )
    add_unique(db, user, f"a user named {username!r} already exists")
    return user


def list_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.username)))


# Who may take a clinical decision the record advises against (start despite the pre-dose gate,
# discharge with high alarms open): nurses, and admins (a small clinic's medical lead often
# holds the admin account).
CLINICIAN_ROLES = (Role.NURSE.value, Role.ADMIN.value)


def list_clinicians(db: Session) -> list[User]:
    """Active accounts that may decide an override, by the name people know them by."""
    query = select(User).where(User.is_active.is_(True), User.role.in_(CLINICIAN_ROLES))
    return list(db.scalars(query.order_by(User.display_name, User.username)))


def find_clinician(db: Session, username: str) -> User | None:
    """The active nurse or admin account of that username, if there is one."""
    return db.scalar(
        select(User).where(
            User.username == username,
            User.is_active.is_(True),
            User.role.in_(CLINICIAN_ROLES),
        )
    )


def find_user(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username))


def get_user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def update_user(
    db: Session,
    user: User,
    *,
    role: Role | None = None,
    display_name: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> User:
    losing_admin = (is_active is False or (role is not None and role is not Role.ADMIN)) and (
        user.role == Role.ADMIN.value and user.is_active
    )
    if losing_admin and not _other_active_admins(db, user.id):
        what = "disabled" if is_active is False else "moved to another role"
        raise Conflict(
            f"{user.username!r} is the last active admin and cannot be {what}: "
            "make another account admin first"
        )
    if role is not None:
        user.role = role.value
    if display_name is not None:
        user.display_name = display_name
    if is_active is not None:
        user.is_active = is_active
    if password is not None:
        check_password(password, user.username)
        user.password_hash = hash_password(password)
    if is_active is False or password is not None:
        end_logins_of(db, user.id)
    db.flush()
    return user


def reset_password(db: Session, user: User) -> str:
    """Give `user` a one-time password, returned to be shown once: every sign-in of theirs ends,
    and the next one must choose a password of their own before doing anything else."""
    chosen = _grouped("".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(16)))
    user.password_hash = hash_password(chosen)
    user.must_change_password = True
    end_logins_of(db, user.id)
    db.flush()
    return chosen


def _grouped(text: str) -> str:
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def password_matches(user: User, password: str) -> bool:
    return verify_password(user.password_hash, password)


def change_own_password(db: Session, user: User, new: str, *, keep_login: str | None) -> None:
    """A person's own change, once their current password is proven (`password_matches`): their
    other sign-ins end, this one (`keep_login`, its cookie secret) stays."""
    check_password(new, user.username, "new_password")
    if verify_password(user.password_hash, new):
        raise InvalidInput(
            ("body", "new_password"), "the new password must differ from the current one"
        )
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_logins_of(db, user.id, keep=digest(keep_login) if keep_login else None)
    db.flush()


def is_last_active_admin(db: Session, user: User) -> bool:
    """Whether disabling or demoting `user` would leave nobody able to manage accounts."""
    return (
        user.role == Role.ADMIN.value and user.is_active and not _other_active_admins(db, user.id)
    )


def _other_active_admins(db: Session, user_id: int) -> list[int]:
    # Row-locked (PostgreSQL) so that two admins disabling each other at once cannot both pass
    # and leave nobody able to manage accounts; SQLite's write lock already serializes them.
    return list(
        db.scalars(
            select(User.id)
            .where(User.role == Role.ADMIN.value, User.is_active.is_(True), User.id != user_id)
            .with_for_update()
        )
    )


def count_users(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(User)) or 0


def ensure_admin(db: Session, password: str | None) -> str | None:
    """Create the first admin when there are no users; return the password if we generated it."""
    if count_users(db):
        return None
    generated = password is None
    chosen = password if password is not None else secrets.token_urlsafe(12)
    if password is not None and (problem := password_problem(password, ADMIN_USERNAME)):
        raise InvalidInput(
            ("VIGIL_ADMIN_PASSWORD",), f"VIGIL_ADMIN_PASSWORD: the password {problem}"
        )
    create_user(db, ADMIN_USERNAME, chosen, Role.ADMIN, "Administrator")
    return chosen if generated else None


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The active account these credentials sign in as, or None. Only reads: the caller records
    the outcome (`start_login`, the throttle) in a write of its own."""
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if user is not None and not ok and user.must_change_password:
        # A one-time password typed without its dashes, or in capitals, is still the one shown.
        typed = password.replace("-", "").replace(" ", "").lower()
        ok = len(typed) == 16 and verify_password(user.password_hash, _grouped(typed))
    if user is None or not ok or not user.is_active:
        return None
    return user


def start_login(db: Session, user: User, password: str | None = None) -> str:
    """A new browser sign-in for `user`; `password` (just verified) upgrades an old hash."""
    secret = new_secret()
    now = utcnow()
    if password is not None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    db.add(
        BrowserLogin(
            secret_digest=digest(secret), user_id=user.id, created_at=now, last_seen_at=now
        )
    )
    db.flush()
    return secret


def end_login(db: Session, secret: str) -> None:
    login = db.scalar(select(BrowserLogin).where(BrowserLogin.secret_digest == digest(secret)))
    if login is not None and login.ended_at is None:
        login.ended_at = utcnow()
        db.flush()


def end_logins_of(db: Session, user_id: int, *, keep: str | None = None) -> None:
    """End every open sign-in of the account but the one whose secret digest is `keep`."""
    now = utcnow()
    for login in db.scalars(
        select(BrowserLogin).where(BrowserLogin.user_id == user_id, BrowserLogin.ended_at.is_(None))
    ):
        if login.secret_digest != keep:
            login.ended_at = now


def find_login(db: Session, secret: str, idle: timedelta) -> tuple[BrowserLogin, User] | None:
    """The live sign-in behind a cookie secret, or None if unknown, ended, idle or disabled."""
    row = db.execute(
        select(BrowserLogin, User)
        .join(User, User.id == BrowserLogin.user_id)
        .where(BrowserLogin.secret_digest == digest(secret))
    ).first()
    if row is None:
        return None
    login, user = row
    if login.ended_at is not None or not user.is_active:
        return None
    if utcnow() - login.last_seen_at > idle:
        return None
    return login, user


def valid_credentials(
    db: Session, token_ids: frozenset[int], login_digests: frozenset[str], idle: timedelta
) -> tuple[set[int], set[str]]:
    """Which of these tokens and browser logins (by digest) would still be let in now.

    The same rules as `find_token` and `find_login`, for many at once: the open live streams
    are re-checked together, so the cost is a query or two per check, not one per socket.
    """
    tokens: set[int] = set()
    logins: set[str] = set()
    oldest_seen = utcnow() - idle
    now = utcnow()
    for ids in _chunks(sorted(token_ids)):
        tokens.update(
            db.scalars(
                select(ApiToken.id).where(
                    ApiToken.id.in_(ids),
                    ApiToken.revoked_at.is_(None),
                    ApiToken.expires_at.is_(None) | (ApiToken.expires_at > now),
                )
            )
        )
    for digests in _chunks(sorted(login_digests)):
        logins.update(
            db.scalars(
                select(BrowserLogin.secret_digest)
                .join(User, User.id == BrowserLogin.user_id)
                .where(
                    BrowserLogin.secret_digest.in_(digests),
                    BrowserLogin.ended_at.is_(None),
                    BrowserLogin.last_seen_at >= oldest_seen,
                    User.is_active.is_(True),
                )
            )
        )
    return tokens, logins


def _chunks(items: list[K], size: int = 500) -> list[list[K]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def login_needs_touch(login: BrowserLogin, now: datetime) -> bool:
    return now - login.last_seen_at > TOUCH_INTERVAL


def touch_login(db: Session, login_id: int) -> None:
    login = db.get(BrowserLogin, login_id)
    if login is not None:
        login.last_seen_at = utcnow()


def user_actor(user: User) -> Actor:
    return Actor("user", user.id, user.username, Role(user.role))


def create_token(
    db: Session, name: str, role: Role, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(("body", "expires_at"), "an expiry must be in the future")
    secret = new_secret(TOKEN_PREFIX)
    token = ApiToken(
        name=name,
        role=role.value,
        secret_digest=digest(secret),
        hint=secret[: len(TOKEN_PREFIX) + 4],
        created_at=now,
        expires_at=expires_at,
    )
    add_unique(db, token, f"a token named {name!r} already exists")
    return token, secret


def list_tokens(db: Session) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).order_by(ApiToken.name)))


def revoke_token(db: Session, token_id: int) -> ApiToken:
    token = db.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.flush()
    return token


def find_token(db: Session, secret: str) -> ApiToken | None:
    token = db.scalar(select(ApiToken).where(ApiToken.secret_digest == digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    return token


def token_actor(token: ApiToken) -> Actor:
    return Actor("token", token.id, token.name, Role(token.role))


def touch_token(db: Session, token_id: int) -> None:
    token = db.get(ApiToken, token_id)
    if token is not None:
        token.last_used_at = utcnow()
