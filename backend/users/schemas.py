"""Request and response bodies for sign-in, users and tokens."""

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from backend.core.roles import Role
from backend.core.schema import Schema

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=2, max_length=64, pattern=r"^[A-Za-z0-9._-]+$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class LoginIn(Schema):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class UserPublic(Schema):
    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime


class ClinicianPublic(Schema):
    """An account that may decide an override: what a picker shows and what it sends."""

    username: str = Field(description="Send this as an override's `by`")
    display_name: str
    role: Role = Field(description="nurse or admin")


class UserCreate(Schema):
    username: Username
    password: Password
    role: Role
    display_name: DisplayName | None = None


class UserUpdate(Schema):
    role: Role | None = None
    display_name: DisplayName | None = None
    is_active: bool | None = None
    password: Password | None = None


class TokenCreate(Schema):
    name: Username
    role: Role


class TokenPublic(Schema):
    id: int
    name: str
    role: Role
    hint: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret; shown once, store it now.")


class Me(Schema):
    kind: str
    name: str
    role: Role
    display_name: str | None = None
