"""The password policy: long enough, not on the list of the most common passwords, not the
username. Pure functions; the list ships beside this file (common_passwords.txt)."""

import re
from functools import cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 256
# A password of few distinct characters ("abababababab", "111111222222") is a pattern, not a secret.
MIN_DISTINCT = 5
COMMON_LIST = Path(__file__).with_name("common_passwords.txt")
_SEPARATORS = re.compile(r"[^0-9a-z]")
_NOT_LETTERS = re.compile(r"[^a-z]")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, read once per process on first use."""
    lines = COMMON_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _is_common(password: str) -> bool:
    lowered = password.lower()
    common = common_passwords()
    # "Password-2024!" and "p.a.s.s.w.o.r.d.1.2.3" are the same guess to a cracker's rules.
    return lowered in common or _SEPARATORS.sub("", lowered) in common


def _is_username(password: str, username: str) -> bool:
    # "Sam.Lee2026!" for the account sam.lee is the username with decoration.
    name = username.casefold()
    if password.casefold() == name:
        return True
    letters = _NOT_LETTERS.sub("", name)
    return bool(letters) and _NOT_LETTERS.sub("", password.casefold()) == letters


def password_problem(password: str, username: str) -> str | None:
    """Why `password` may not be used by `username`, in words for the person choosing it;
    None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long (this one has {len(password)})"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters long"
    if _is_username(password, username):
        return "must not be the username (with or without digits and symbols)"
    if len(set(password.casefold())) < MIN_DISTINCT:
        return f"is too simple: use at least {MIN_DISTINCT} different characters"
    if _is_common(password):
        return "is one of the most commonly used passwords; choose a less guessable one"
    return None
