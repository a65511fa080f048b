"""Reading a clinic's patient list from CSV: pure, no database.

What spreadsheets export: UTF-8 with or without a byte-order mark, comma- or semicolon-separated
(a European Excel writes semicolons), quoted fields, CRLF or LF. Each data row is checked on its
own and comes back either as a patient to register or as the reason it cannot be, with its line
in the file, so a clinic can fix exactly those lines.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from backend.patients.age import BirthDateError, check_birth_date, parse_birth_date
from backend.patients.identity import (
    CLINIC_ID_MAX,
    DISPLAY_NAME_MAX,
    TextError,
    check_real_clinic_id,
    clean_text,
)

MAX_BYTES = 1024 * 1024
MAX_ROWS = 10_000
REQUIRED = ("clinic_id", "display_name")
# Read when the file has it; a row with it empty is registered without one.
OPTIONAL = ("date_of_birth",)
# What a person may have written in the header for each column.
ALIASES = {
    "clinic_id": "clinic_id",
    "clinicid": "clinic_id",
    "mrn": "clinic_id",
    "identifier": "clinic_id",
    "display_name": "display_name",
    "displayname": "display_name",
    "name": "display_name",
    "date_of_birth": "date_of_birth",
    "dateofbirth": "date_of_birth",
    "dob": "date_of_birth",
    "birth_date": "date_of_birth",
    "birthdate": "date_of_birth",
    "born": "date_of_birth",
}


class FileError(Exception):
    """The file as a whole cannot be read: no row of it is imported."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class Row:
    line: int
    clinic_id: str
    display_name: str
    date_of_birth: date | None = None


@dataclass(frozen=True)
class Rejection:
    line: int
    field: str | None
    reason: str
    value: str | None = None


@dataclass(frozen=True)
class Parsed:
    delimiter: str
    rows: list[Row | Rejection]
    ignored_columns: list[str]


def decode(data: bytes) -> str:
    """The file's text; a file in another encoding is refused, naming the line it breaks on."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError(
            "the file is not UTF-8 text: save it from the spreadsheet as 'CSV UTF-8'", line
        ) from None


def column_name(header: str) -> str:
    """'Clinic ID', 'clinic-id' and ' CLINIC_ID ' all name clinic_id."""
    plain = re.sub(r"[\s\-]+", "_", header.strip().lower())
    return ALIASES.get(plain, ALIASES.get(plain.replace("_", ""), plain))


def parse(data: bytes, today: date) -> Parsed:
    """The rows of a patient list, each a Row or a Rejection; FileError when there are none to
    read (no header, a missing column, too many rows, not text). `today` is the clinic's date:
    a date of birth after it is refused."""
    if len(data) > MAX_BYTES:
        raise FileError(f"the file is {len(data)} bytes; at most {MAX_BYTES} are accepted")
    text = decode(data)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise FileError("the file holds a NUL character: it is not a text CSV file", line)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise FileError("the file is empty: the first line must name the columns", 1)
        names = [column_name(cell) for cell in header]
        for required in REQUIRED:
            if required not in names:
                raise FileError(
                    f"the header has no {required} column (it has: {', '.join(header)})", 1
                )
        for name in set(names):
            if name and names.count(name) > 1:
                raise FileError(f"the header names {name} twice", 1)
        known = (*REQUIRED, *OPTIONAL)
        ignored = [cell for cell, name in zip(header, names, strict=True) if name not in known]
        rows: list[Row | Rejection] = []
        line = reader.line_num + 1
        for record in reader:
            if not any(cell.strip() for cell in record):
                line = reader.line_num + 1
                continue  # a blank line, or a spreadsheet's empty row of separators
            if len(rows) >= MAX_ROWS:
                raise FileError(f"the file has more than {MAX_ROWS} rows: import it in parts")
            rows.append(_row(line, record, names, today))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise FileError(f"the file is not valid CSV: {exc}", reader.line_num) from None
    return Parsed(delimiter, rows, ignored)


def _birth_date(raw: str, today: date) -> date | None:
    """The row's date of birth (None when the cell is empty); BirthDateError when unreadable."""
    if not raw.strip():
        return None
    return check_birth_date(parse_birth_date(raw), today)


def _row(line: int, record: list[str], names: list[str], today: date) -> Row | Rejection:
    if len(record) > len(names) and any(cell.strip() for cell in record[len(names) :]):
        return Rejection(
            line, None, f"has {len(record)} fields, the header {len(names)}: a stray separator?"
        )
    cells = dict(zip(names, record, strict=False))
    values: dict[str, str] = {}
    for field, max_length in (("clinic_id", CLINIC_ID_MAX), ("display_name", DISPLAY_NAME_MAX)):
        raw = cells.get(field, "")
        try:
            values[field] = clean_text(raw, max_length)
        except TextError as exc:
            return Rejection(line, field, exc.reason, raw[:max_length])
    try:
        check_real_clinic_id(values["clinic_id"])
    except TextError as exc:
        return Rejection(line, "clinic_id", exc.reason, values["clinic_id"])
    raw_birth = cells.get("date_of_birth", "")
    try:
        born = _birth_date(raw_birth, today)
    except BirthDateError as exc:
        return Rejection(line, "date_of_birth", exc.reason, raw_birth[:40])
    return Row(line, values["clinic_id"], values["display_name"], born)
