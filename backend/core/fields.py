"""Field types shared by every domain's schemas and routes, for values the database must hold.

Hostile or broken clients send ids past the integer column, year 1, offsets that overflow
when converted to UTC and strings that are not Unicode text. Each is refused here, as a 422
naming the field, before it can reach a driver and come back as a 500.
"""

import json
from datetime import UTC, datetime
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

# Every table's primary key is a PostgreSQL INTEGER (SQLite's is wider, but one bound for both
# keeps a client's id valid whichever database the clinic runs).
ROW_ID_MAX = 2**31 - 1

# Vigil records what happens at a chair now; a moment outside these years is a broken clock
# or a probe. Both ends are far inside what Python, SQLite and PostgreSQL can represent.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# The deepest nesting searched for bad text: Vigil's bodies are a few levels deep, and a
# search must not exhaust the stack on a body of a thousand nested lists.
MAX_DEPTH = 16


def _not_bool(value: object) -> object:
    # JSON true is 1 to pydantic's lax int; as an id it is a mistake, not patient 1.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "an id is a whole number, not true or false")
    return value


RowId = Annotated[int, BeforeValidator(_not_bool), Ge(1), Le(ROW_ID_MAX)]
"""A row id in a path, a query or a body: 1 to 2^31 - 1."""


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise PydanticCustomError(
            "datetime_range",
            "{value} is outside the times Vigil accepts (from {earliest} to {latest}, UTC)",
            {"value": value.isoformat(), "earliest": "1970-01-01", "latest": "2100-01-01"},
        )
    return value


Moment = Annotated[AwareDatetime, AfterValidator(_in_range)]
"""A point in time with its UTC offset, between 1970 and 2100; a naive time is refused."""


def unencodable(value: object) -> str | None:
    """The first string in `value` (searched through lists and dicts, keys included) that is
    not storable text: one holding a NUL character, which PostgreSQL cannot store in any text
    column (and C code reading SQLite's text stops at), or a lone surrogate such as "\\ud800",
    which Python's json accepts but UTF-8 cannot hold."""
    if isinstance(value, str):
        return _bad_text(value)
    if not isinstance(value, list | tuple | dict):
        return None
    try:
        # One pass in C over a whole batch; the walk below only runs to name the culprit. json
        # writes NUL as the escape \\u0000, so its absence from the text rules NUL out.
        # Anything JSON has no form for is left out (`_opaque`): a body parsed from JSON holds
        # none, and a model or dataclass inside a list (a response's items) had its own fields
        # checked when it was made. Written with str() instead, every response item was
        # formatted whole only to be searched (a fifth of a 20,000-reading page's time).
        dumped = json.dumps(value, ensure_ascii=False, default=_opaque)
        dumped.encode("utf-8")
    except UnicodeEncodeError:
        return _search(value, 0)
    except (RecursionError, ValueError, TypeError):
        return None  # nesting deeper than any Vigil body: it fails its field's type anyway
    return _search(value, 0) if "\\u0000" in dumped else None


def text_error(bad: str) -> tuple[str, str, dict[str, str]]:
    """The pydantic error (type, message template, context) for a string `unencodable` found."""
    if "\x00" in bad:
        return (
            "string_nul",
            "contains a NUL character (\\x00 at position {position}): not text Vigil can store",
            {"position": str(bad.index("\x00"))},
        )
    return (
        "string_unicode",
        "contains {found}, an unpaired surrogate: not valid Unicode text",
        {"found": ascii(next(c for c in bad if 0xD800 <= ord(c) <= 0xDFFF))},
    )


def _opaque(value: object) -> None:
    return None


def _bad_text(value: str) -> str | None:
    if "\x00" in value:
        return value
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value
    return None


def _search(value: object, depth: int) -> str | None:
    if isinstance(value, str):
        return _bad_text(value)
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, list | tuple):
        for item in value:
            if (found := _search(item, depth + 1)) is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            if (found := _search(key, depth + 1)) is not None:
                return found
            if (found := _search(item, depth + 1)) is not None:
                return found
    return None
