"""Request and response bodies for sign-in, users and tokens."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from backend.core.fields import Moment
from backend.core.roles import Role
from backend.core.schema import Schema
from backend.users.passwords import MAX_LENGTH

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=2, max_length=64, pattern=r"^[A-Za-z0-9._-]+$"
    ),
]
# Only the upper bound here: the policy (length, the common list, the username) is checked by
# the service with a message a person can act on (users/passwords.py).
Password = Annotated[str, StringConstraints(max_length=MAX_LENGTH)]


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: stored or looked up, it would be a 500, not a 422.
    if "\x00" in value:
        raise ValueError("contains a NUL character, which is not text")
    return value


DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    AfterValidator(_no_nul),
]


class LoginIn(Schema):
    username: str = Field(max_length=64)
    password: str = Field(max_length=MAX_LENGTH)

    @field_validator("username")
    @classmethod
    def _text(cls, value: str) -> str:
        # Looked up, and counted by the throttle, on PostgreSQL too.
        return _no_nul(value)


class UserPublic(Schema):
    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    must_change_password: bool = Field(
        description="A reset's one-time password is in use: the person must choose their own"
    )
    last_login_at: datetime | None = Field(description="The last browser sign-in, if any")


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
    must_change_password: bool = Field(
        default=False, description="Ask for a password of their own at the first sign-in"
    )


class UserUpdate(Schema):
    role: Role | None = None
    display_name: DisplayName | None = None
    is_active: bool | None = None
    password: Password | None = None


class PasswordReset(Schema):
    """The answer to a reset: the one-time password, shown this once."""

    user: UserPublic
    password: str = Field(description="The one-time password; shown once, never stored readable")


class PasswordChange(Schema):
    current_password: str = Field(max_length=MAX_LENGTH)
    new_password: Password


class TokenCreate(Schema):
    name: Username
    role: Role
    expires_at: Moment | None = Field(
        default=None, description="When the token stops working; none: until revoked"
    )


class TokenPublic(Schema):
    id: int
    name: str
    role: Role
    hint: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret; shown once, store it now.")


class Me(Schema):
    kind: str
    name: str
    role: Role
    display_name: str | None = None
    must_change_password: bool = Field(
        default=False, description="Signed in with a one-time password: choose a new one first"
    )
