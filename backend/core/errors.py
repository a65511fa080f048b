"""Domain errors that services raise without knowing about HTTP; the app maps them to responses."""

import json
import math
from collections.abc import Sequence


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Forbidden(DomainError):
    status_code = 403


class InvalidInput(DomainError):
    """A value that passed schema validation but breaks a rule needing server state."""

    status_code = 422

    def __init__(self, loc: Sequence[str | int], message: str, value: object = None) -> None:
        super().__init__(message)
        self.loc = tuple(loc)
        self.value = value


class Overloaded(DomainError):
    """The server could not get the database within its bounded wait: try again shortly.

    Answered as 503 with Retry-After, so a device or the offline queue resends the same reading
    (same id: never stored twice) instead of hearing nothing while requests pile up.
    """

    status_code = 503

    def __init__(self, message: str, retry_after: int = 2, *, full: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.full = full  # out of disk: reads still work, so the health check must be told


# A refused value is repeated in its 422 so a person sees what was sent: a few hundred
# characters of it, never the megabytes a broken client may have posted.
ECHO_CHARS = 200
# And at most this many errors: a 1000-reading batch wrong in every field would list 13,000.
MAX_ERRORS = 100
MAX_ECHO_DEPTH = 8


def echo(value: object, limit: int = ECHO_CHARS) -> object:
    """`value` as it may be repeated in an error answer: JSON-encodable and short."""
    safe = _json_safe(value)
    text = safe if isinstance(safe, str) else json.dumps(safe, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return safe
    return f"{text[:limit]}… ({len(text)} characters in all)"


def shown_error(error: dict[str, object]) -> dict[str, object]:
    """A validation error as it may be answered: its location and input made safe and short
    (an unknown field's name is part of its location, and is the client's own text)."""
    loc = error.get("loc", ())
    parts = loc if isinstance(loc, list | tuple) else (loc,)
    safe = error | {"loc": [echo(p, 100) if isinstance(p, str) else p for p in parts]}
    if "input" in error:
        safe["input"] = echo(error["input"])
    return safe


def _json_safe(value: object, depth: int = 0) -> object:
    """`value` with what strict JSON and UTF-8 cannot carry spelled out as text, and nesting
    past a few levels elided (a body of 900 nested lists must not exhaust the stack)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, dict | list | tuple) and depth >= MAX_ECHO_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {str(_json_safe(k)): _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v, depth + 1) for v in value]
    return value
