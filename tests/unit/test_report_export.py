"""The pieces around the report: CSV cells, CSS strings, checklists, durations, PDF errors."""

import builtins
import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

from backend.reports.csv_export import COLUMNS, readings_csv
from backend.reports.html import checklist_view, css_string, duration
from backend.reports.pdf import PdfUnavailable, render_pdf
from tests.unit.test_report_record import FULL_SET, reading, record


def test_csv_cells_cannot_run_as_spreadsheet_formulas() -> None:
    row = reading("r1", 1, error=True, heart_rate=80)
    row = replace(row, error_reason='=HYPERLINK("x")', entered_by="@bob")
    (parsed,) = csv.DictReader(io.StringIO(readings_csv(record(readings=[row]))))
    assert parsed["entered_in_error_reason"] == '\'=HYPERLINK("x")'
    assert parsed["entered_by"] == "'@bob"


def test_csv_has_one_column_per_vital_and_marks_simulation_on_every_row() -> None:
    rows = [reading("a", 1, **FULL_SET, sedation=4), reading("b", 2, heart_rate=70)]
    text = readings_csv(record(simulated=True, readings=rows))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert tuple(parsed[0]) == COLUMNS and COLUMNS[0] == "simulated"
    assert [r["simulated"] for r in parsed] == ["true", "true"]
    assert parsed[0]["on_oxygen"] == "false" and parsed[0]["sedation"] == "4"
    assert parsed[0]["taken_at"] == "2026-03-02T09:01:00+00:00"
    assert parsed[1]["systolic"] == "" and parsed[1]["entered_in_error"] == "false"


def test_css_strings_cannot_break_out_of_the_style_element() -> None:
    quoted = css_string('Ann "Q" \\ </style><script>')
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    assert '"' not in inner and "<" not in inner and ">" not in inner
    assert "\\22 Q\\22 " in inner


def test_durations_read_as_hours_and_minutes() -> None:
    assert duration(None) == "—"
    assert duration(timedelta(minutes=40)) == "40 min"
    assert duration(timedelta(minutes=135, seconds=20)) == "2 h 15 min"


def test_a_kept_checklist_reads_as_lines() -> None:
    kept = {
        "confirmed": True,
        "by": "nurse-ann",
        "items": [
            {
                "key": "bp",
                "label": "Baseline BP",
                "met": True,
                "required": True,
                "detail": "122/78",
            },
            {"key": "iv", "label": "IV line checked", "met": False, "required": True},
            {"key": "o2", "label": "SpO2 before dosing", "met": None, "required": False},
        ],
    }
    view = checklist_view(kept)
    assert view is not None
    assert view.status == "Checklist confirmed by nurse-ann"
    assert [(i.label, i.state, i.detail) for i in view.items] == [
        ("Baseline BP", "yes", "122/78"),
        ("IV line checked", "no (required)", None),
        ("SpO2 before dosing", "nothing recorded", None),
    ]
    plain = checklist_view({"consent": True})
    assert plain is not None and plain.items[0].state == "yes"
    assert checklist_view(None) is None


def test_a_missing_pango_is_named_in_the_pdf_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pango(
        name: str,
        globals: Mapping[str, object] | None = None,
        locals: Mapping[str, object] | None = None,
        fromlist: Sequence[str] = (),
        level: int = 0,
    ) -> ModuleType:
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        module: Any = real_import(name, globals, locals, fromlist, level)
        return module  # type: ignore[no-any-return]

    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(PdfUnavailable, match=re.escape("libpango-1.0-0 libpangoft2-1.0-0")):
        render_pdf("<p>x</p>")
