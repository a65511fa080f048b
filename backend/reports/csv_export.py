"""The readings of a session as CSV: every reading, errored ones flagged, times in UTC."""

import csv
import io
from datetime import datetime

from backend.reports.record import READING_FIELDS, SessionRecord, Value, phase_at

COLUMNS: tuple[str, ...] = (
    "simulated",  # first, on every row: a row copied out of the file still says what it is
    "session_id",
    "reading_id",
    "taken_at",
    "received_at",
    "phase",
    *READING_FIELDS,
    "source",
    "entered_by",
    "entered_in_error",
    "entered_in_error_at",
    "entered_in_error_by",
    "entered_in_error_reason",
)
# A spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _time(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _value(value: Value | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _text(value: str | None) -> str:
    """Free text, defused so that opening the file in a spreadsheet never runs a formula."""
    if not value:
        return ""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def readings_csv(record: SessionRecord) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for reading in record.readings:
        writer.writerow(
            [
                _value(record.simulated),
                record.id,
                reading.id,
                _time(reading.taken_at),
                _time(reading.received_at),
                phase_at(record, reading.taken_at),
                *(_value(reading.values.get(name)) for name in READING_FIELDS),
                reading.source,
                _text(reading.entered_by),
                _value(reading.in_error),
                _time(reading.error_at),
                _text(reading.error_by),
                _text(reading.error_reason),
            ]
        )
    return out.getvalue()
