"""Accounts, browser sign-in sessions and API tokens."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Set by an admin's reset (the one-time password): until the person chooses their own, the
    # API answers them 403 except to say who they are, sign out or change the password.
    must_change_password: Mapped[bool] = mapped_column(server_default=false(), default=False)
    last_login_at: Mapped[datetime | None]


class BrowserLogin(Base):
    """A signed-in browser: the cookie holds a random secret, the table only its digest."""

    __tablename__ = "browser_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token for a machine client (device gateway, simulator, integration)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    secret_digest: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # None: until revoked


class SignInFailure(Base):
    """A failed sign-in, kept for the throttle's window (users/throttle.py): in the database, so
    a restart does not hand a guesser a fresh allowance, and every worker counts the same."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)  # as typed, case-folded
    address: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[datetime] = mapped_column(index=True)
