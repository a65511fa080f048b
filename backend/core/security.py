"""Password hashing (argon2) and opaque secrets for sign-in cookies and API tokens."""

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a wrong name costs as long as a wrong
    password. Made on first use: hashing at import would cost every process 64 MiB and a pause."""
    return _hasher.hash("vigil-timing-equaliser")


TOKEN_PREFIX = "vgl_"  # noqa: S105 - a marker that makes leaked tokens easy to find


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """Stored form of a cookie or token secret: a stolen database holds no usable credential."""
    return hashlib.sha256(secret.encode()).hexdigest()
