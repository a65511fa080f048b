"""Age in whole years on the clinic's calendar day, and what a date of birth may be."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.timeutil import clinic_day
from backend.patients.age import (
    BirthDateError,
    age_at,
    age_on,
    check_birth_date,
    known_age,
    parse_birth_date,
)


def test_a_year_older_on_the_birthday_not_the_day_before() -> None:
    born = date(1958, 3, 2)
    assert age_on(born, date(2026, 3, 1)) == 67
    assert age_on(born, date(2026, 3, 2)) == 68
    assert age_on(born, date(2026, 12, 31)) == 68
    assert age_on(born, born) == 0


def test_a_leapling_turns_older_on_1_march_in_a_common_year_and_on_29_february_in_a_leap_year() -> (
    None
):
    born = date(1960, 2, 29)
    assert age_on(born, date(2025, 2, 28)) == 64
    assert age_on(born, date(2025, 3, 1)) == 65
    assert age_on(born, date(2028, 2, 28)) == 67
    assert age_on(born, date(2028, 2, 29)) == 68
    assert age_on(born, date(1961, 2, 28)) == 0
    assert age_on(born, date(1961, 3, 1)) == 1


def test_someone_born_on_28_february_is_older_on_28_february_even_in_a_leap_year() -> None:
    assert age_on(date(1961, 2, 28), date(2028, 2, 28)) == 67
    assert age_on(date(1961, 3, 1), date(2028, 2, 29)) == 66


def test_the_birthday_falls_on_the_clinics_date_not_utcs() -> None:
    born = date(1961, 3, 2)
    # 13:30 UTC on 1 March is already 2 March in Sydney (UTC+11): the birthday there...
    moment = datetime(2026, 3, 1, 13, 30, tzinfo=UTC)
    assert clinic_day(moment, ZoneInfo("Australia/Sydney")) == date(2026, 3, 2)
    assert age_at(born, moment, ZoneInfo("Australia/Sydney")) == 65
    # ...and still 1 March in New York: a day short of it.
    assert age_at(born, moment, ZoneInfo("America/New_York")) == 64


def test_no_age_without_a_date_of_birth_or_before_it() -> None:
    assert known_age(None, date(2026, 1, 1)) is None
    assert known_age(date(2026, 1, 2), date(2026, 1, 1)) is None
    assert age_at(None, datetime(2026, 1, 1, tzinfo=UTC), UTC) is None
    with pytest.raises(ValueError, match="before the birth date"):
        age_on(date(2026, 1, 2), date(2026, 1, 1))


@given(st.dates(min_value=date(1900, 1, 1)), st.dates(min_value=date(1900, 1, 1)))
def test_age_never_falls_and_rises_only_on_birthdays(born: date, day: date) -> None:
    if day < born or day == date.max:
        return
    today, tomorrow = age_on(born, day), age_on(born, date.fromordinal(day.toordinal() + 1))
    assert tomorrow in (today, today + 1)
    assert 0 <= today <= day.year - born.year


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("02/03/1956", "not a date written YYYY-MM-DD"),
        ("1956-3-2", "not a date written YYYY-MM-DD"),
        ("1956-02-30", "not a day of the calendar"),
        ("2025-02-29", "not a day of the calendar"),
        ("1956-03-02T00:00:00Z", "not a date written YYYY-MM-DD"),
        ("", "not a date written YYYY-MM-DD"),
        ("１９５６-03-02", "not a date written YYYY-MM-DD"),  # full-width digits
        ("1" * 10_000, "not a date written YYYY-MM-DD"),
    ],
)
def test_a_date_of_birth_is_written_year_month_day(text: str, reason: str) -> None:
    with pytest.raises(BirthDateError, match=reason) as refused:
        parse_birth_date(text)
    assert len(refused.value.reason) < 120  # a huge value is not echoed whole


def test_a_date_of_birth_is_neither_in_the_future_nor_before_1900() -> None:
    today = date(2026, 12, 7)
    assert parse_birth_date(" 1956-03-02 ") == date(1956, 3, 2)
    assert check_birth_date(today, today) == today
    assert check_birth_date(date(1900, 1, 1), today) == date(1900, 1, 1)
    with pytest.raises(BirthDateError, match="in the future"):
        check_birth_date(date(2026, 12, 8), today)
    with pytest.raises(BirthDateError, match="before 1900-01-01"):
        check_birth_date(date(1899, 12, 31), today)
