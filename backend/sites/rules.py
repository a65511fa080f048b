"""Pure rules about chair, room and site names: when two spellings are the same place, and which
configured chair a typed name means. No database here; the service hands in what it found."""

from collections.abc import Sequence
from dataclasses import dataclass


def tidy(name: str) -> str:
    """A name as it is kept and shown: no space at either end, runs of spaces made one."""
    return " ".join(name.split())


def name_key(name: str) -> str:
    """What makes two names the same: "chair 7 " and "Chair  7" are one chair."""
    return tidy(name).casefold()


@dataclass(frozen=True)
class Candidate:
    """A configured chair a typed name might mean, with where it is and whether it is in use."""

    chair_id: int
    name: str
    place: str  # "Site / Room", for a message
    active: bool  # the chair, its room and its site all in service


def match(name: str, chairs: Sequence[Candidate]) -> Candidate | str:
    """The one chair in service that `name` means, or why there is none (a message for a 422):
    none by that name, only a retired one, or one in each of several rooms."""
    key = name_key(name)
    same = [c for c in chairs if name_key(c.name) == key]
    active = [c for c in same if c.active]
    if len(active) == 1:
        return active[0]
    if len(active) > 1:
        places = "; ".join(f"{c.name} in {c.place} (chair_id {c.chair_id})" for c in active)
        return f"{tidy(name)!r} names a chair in more than one room ({places}): give chair_id"
    if same:
        return f"{same[0].name} ({same[0].place}) is retired: start the session on a chair in use"
    return (
        f"no chair named {tidy(name)!r} is configured; an admin adds chairs on the Chairs page "
        "(GET /api/chairs lists them)"
    )


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Order names as people read them: "Chair 2" before "Chair 10"."""
    parts: list[tuple[int, int | str]] = []
    digits = ""
    text = ""
    for char in name_key(name):
        if char.isdigit():
            if text:
                parts.append((1, text))
                text = ""
            digits += char
        else:
            if digits:
                parts.append((0, int(digits)))
                digits = ""
            text += char
    if digits:
        parts.append((0, int(digits)))
    if text:
        parts.append((1, text))
    return tuple(parts)
