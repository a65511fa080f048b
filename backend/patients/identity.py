"""What a clinic identifier and a patient's name may hold, and when two identifiers are the same.

Pure rules shared by the API's bodies, the CSV import and the migration that brought old rows
under them: "MRN 0042 ", "mrn  0042" and "MRN 0042" are one patient's identifier, typed three
ways, so they must not register three patients.
"""

import unicodedata
from dataclasses import dataclass

CLINIC_ID_MAX = 64
DISPLAY_NAME_MAX = 120
# Unicode case folding can lengthen text ("ß" folds to "ss"), by three at the very most.
KEY_FACTOR = 3
CLINIC_KEY_MAX = CLINIC_ID_MAX * KEY_FACTOR
NAME_KEY_MAX = DISPLAY_NAME_MAX * KEY_FACTOR
# The simulator's patients are "SIM-…": a real patient may not take an identifier that reads as
# a drill's (nor collide with the next one the simulator draws).
SIMULATED_PREFIX = "SIM-"
# Text this much longer than allowed is refused before it is normalised (a megabyte of spaces
# must not be split and joined to find out that it is empty).
RAW_SLACK = 4


@dataclass(frozen=True)
class TextError(Exception):
    """Why a value is not acceptable, in words a person can act on."""

    reason: str


def normalize_spaces(value: str) -> str:
    """Trimmed, every run of whitespace (tabs, line breaks, no-break spaces) one space."""
    return " ".join(value.split())


def clean_text(value: str, max_length: int) -> str:
    """`value` as stored: spaces normalised; refused (TextError) when empty, too long or holding
    characters no one types (NUL and other control or invisible formatting characters).

    Invisible characters would let "A-1" and "A\u200b-1" pass for different identifiers while
    looking the same on every screen; NUL cannot be stored by PostgreSQL at all.
    """
    if len(value) > max_length * RAW_SLACK:
        raise TextError(f"is {len(value)} characters long; at most {max_length} are allowed")
    for char in value:
        if char.isspace():
            continue
        category = unicodedata.category(char)
        if category in {"Cc", "Cf", "Cs", "Co", "Cn"} and char != "\u200d":
            # U+200D (zero-width joiner) is part of how some names and emoji are written.
            raise TextError(f"contains {char!a}, a control or invisible character")
    cleaned = normalize_spaces(value)
    if not cleaned:
        raise TextError("is empty")
    if len(cleaned) > max_length:
        raise TextError(f"is {len(cleaned)} characters long; at most {max_length} are allowed")
    return cleaned


def text_key(value: str) -> str:
    """The form two spellings are compared in: spaces normalised, compatibility-composed
    (NFKC: a full-width "Ａ" is "A") and case-folded, the same on SQLite and PostgreSQL."""
    return unicodedata.normalize("NFKC", normalize_spaces(value)).casefold()


def clinic_key(clinic_id: str) -> str:
    """The identifier's key, unique among patients."""
    return text_key(clinic_id)[:CLINIC_KEY_MAX]


def name_key(display_name: str) -> str:
    """The name's key: what a search matches and the list is ordered by."""
    return text_key(display_name)[:NAME_KEY_MAX]


def looks_simulated(clinic_id: str) -> bool:
    return clinic_key(clinic_id).startswith(SIMULATED_PREFIX.casefold())


def check_real_clinic_id(clinic_id: str) -> None:
    """A real patient's identifier must not pass for a simulated patient's."""
    if looks_simulated(clinic_id):
        raise TextError(f"may not start with {SIMULATED_PREFIX!r}: that marks simulated patients")


def like_pattern(text: str) -> str:
    """A LIKE pattern finding `text` anywhere, its % and _ taken literally (escape character
    "/", which both SQLite and PostgreSQL accept as given, unlike a backslash)."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


LIKE_ESCAPE = "/"
