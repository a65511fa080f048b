"""The audit trail as CSV, pure: rows to text, every cell safe to open in a spreadsheet."""

import csv
import io
import json
from collections.abc import Iterable

from backend.audit.models import AuditEvent

COLUMNS = [
    "id",
    "at_utc",
    "actor",
    "actor_kind",
    "actor_role",
    "action",
    "address",
    "patient_id",
    "session_id",
    "target",
    "detail",
    "hash",
]
# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection"): a
# username or a reason typed as =HYPERLINK(...) must arrive as text, not as a live link.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell as text, an apostrophe first when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def header() -> str:
    return _lines([COLUMNS])


def rows_csv(events: Iterable[AuditEvent]) -> str:
    return _lines(
        [
            e.id,
            e.at.isoformat(),
            e.actor_name,
            e.actor_kind,
            e.actor_role,
            e.action,
            e.address,
            e.patient_id,
            e.session_id,
            e.target,
            None if e.detail is None else json.dumps(e.detail, ensure_ascii=False, sort_keys=True),
            e.hash,
        ]
        for e in events
    )


def _lines(rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
