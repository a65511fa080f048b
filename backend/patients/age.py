"""A patient's date of birth and age: pure rules, shared by the API, the CSV import, the session
views, the record and the pre-dose gate's age bands.

Age is in whole years on a calendar day of the clinic (its local date, never UTC's: at 23:30 in
Sydney it is already tomorrow in the clinic while still today in UTC). Someone born on
29 February turns a year older on 1 March in a common year (the day after 28 February, as the
law of England and Wales and most others count it), and on 29 February in a leap year.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from backend.core.timeutil import clinic_day

# A date of birth before this is a typing slip (1900 for 2000, a spreadsheet's day zero), not
# a patient: no one treated today was born before it.
EARLIEST_BIRTH = date(1900, 1, 1)
# ASCII digits only: \d would take any script's (a full-width １９５６ too).
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class BirthDateError(Exception):
    """Why a date of birth is not acceptable, in words a person can act on."""

    reason: str


def parse_birth_date(text: str) -> date:
    """A date written YYYY-MM-DD (ISO 8601), the only form that cannot be misread: 02/03/1956 is
    2 March in Britain and 3 February in the United States."""
    cleaned = text.strip()
    if not ISO_DATE.fullmatch(cleaned):
        shown = cleaned if len(cleaned) <= 40 else cleaned[:40] + "…"
        raise BirthDateError(f"{shown!r} is not a date written YYYY-MM-DD (such as 1956-03-02)")
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        raise BirthDateError(f"{cleaned} is not a day of the calendar") from None


def check_birth_date(birth: date, today: date) -> date:
    """`birth`, refused (BirthDateError) when after `today` (the clinic's date) or before 1900."""
    if birth > today:
        raise BirthDateError(f"{birth.isoformat()} is in the future (today is {today.isoformat()})")
    if birth < EARLIEST_BIRTH:
        raise BirthDateError(
            f"{birth.isoformat()} is before {EARLIEST_BIRTH.isoformat()}: check the year"
        )
    return birth


def age_on(birth: date, day: date) -> int:
    """Whole years from `birth` to `day`: one more on each birthday, not the day before."""
    if day < birth:
        raise ValueError(f"{day.isoformat()} is before the birth date {birth.isoformat()}")
    years = day.year - birth.year
    # Before this year's birthday, a year less. Comparing (month, day) pairs puts a 29 February
    # birthday after 28 February in every year, so in a common year it falls on 1 March.
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


def known_age(birth: date | None, day: date) -> int | None:
    """The age on `day`; None without a date of birth, or with one after `day` (an old
    session's record, its patient's date of birth since corrected to a later one)."""
    if birth is None or day < birth:
        return None
    return age_on(birth, day)


def age_at(birth: date | None, moment: datetime, zone: tzinfo) -> int | None:
    """The age on the clinic's calendar day at `moment` (a session's start, say)."""
    return known_age(birth, clinic_day(moment, zone))
