"""UTC helpers: everything stored and sent is timezone-aware UTC."""

from datetime import UTC, date, datetime, tzinfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return `value` in UTC; a naive value is taken to be UTC already (as SQLite returns it)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def clinic_day(moment: datetime, zone: tzinfo) -> date:
    """The calendar day at `moment` (aware, UTC as stored) in `zone`, the clinic's: a 00:30
    start is that day there, not UTC's."""
    return moment.astimezone(zone).date()
