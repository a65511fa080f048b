"""The session record: the HTML report, its PDF, and the readings CSV."""

import csv
import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from pypdf import PdfReader

from backend.core.roles import Role
from backend.core.settings import Settings
from backend.main import create_app
from backend.users.auth import SESSION_COOKIE
from tests.api.support import ACTION, RoleClient, session_body, unique, walk_a_session
from tests.conftest import ROLE_USERS
from tests.helpers import Client, new_patient

CSV_COLUMNS = [
    "simulated",
    "session_id",
    "reading_id",
    "taken_at",
    "received_at",
    "phase",
    "heart_rate",
    "systolic",
    "diastolic",
    "spo2",
    "on_oxygen",
    "respiratory_rate",
    "temperature",
    "consciousness",
    "sedation",
    "source",
    "entered_by",
    "entered_in_error",
    "entered_in_error_at",
    "entered_in_error_by",
    "entered_in_error_reason",
]


class Row:
    def __init__(self, attrs: dict[str, str | None]) -> None:
        self.attrs = attrs
        self.cells: list[str] = []
        self.struck: list[str] = []

    @property
    def text(self) -> str:
        return " | ".join(self.cells)


class Rows(HTMLParser):
    """Every table row of a page: its attributes, its cells' text, and any struck-through text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self._cell: list[str] | None = None
        self._in_del = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append(Row(dict(attrs)))
        elif tag in ("td", "th") and self.rows:
            self._cell = []
        elif tag == "del":
            self._in_del = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "del":
            self._in_del = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_del and data.strip():
            self.rows[-1].struck.append(data.strip())

    def with_class(self, cls: str) -> list[Row]:
        return [r for r in self.rows if cls in (r.attrs.get("class") or "").split()]


def report(client: Client, session_id: int) -> str:
    response = client.get(f"/api/sessions/{session_id}/report")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def csv_rows(client: Client, session_id: int) -> list[dict[str, str]]:
    response = client.get(f"/api/sessions/{session_id}/readings.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert f"vigil-session-{session_id}-" in response.headers["content-disposition"]
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames == CSV_COLUMNS
    return list(reader)


def local_time(moment: str, zone: str = "UTC") -> str:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(zone)).strftime("%H:%M:%S")


@pytest.fixture
def finished_session(as_nurse: TestClient) -> dict[str, Any]:
    """A real session taken through every phase (support.walk_a_session)."""
    return walk_a_session(as_nurse, unique("Ann O'Hara <b>"))


def test_the_report_holds_patient_dose_phases_alarms_news2_and_readings(
    as_nurse: TestClient, finished_session: dict[str, Any]
) -> None:
    session = finished_session["session"]
    html = report(as_nurse, session["id"])
    rows = Rows(html)

    patient = finished_session["patient"]
    assert patient["clinic_id"] in html
    # Escaped everywhere, the page-header CSS string included: a name is never markup.
    assert "<b>" not in html
    assert (
        patient["display_name"].replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")
        in html
    )
    assert "35 mg (0.50 mg/kg at 70 kg)" in html
    assert "40 min" in html
    assert "Ketamine IV" in html
    assert "SIMULATED" not in html

    changes = {c["to_phase"]: c for c in session["phase_changes"]}
    summary = {r.cells[0]: r.cells[1] for r in rows.rows if len(r.cells) == 4}
    assert summary["Infusion start"] == local_time(changes["infusing"]["at"])
    assert summary["Infusion end"] == local_time(changes["recovery"]["at"])
    assert summary["Discharged"] == local_time(changes["discharged"]["at"])
    nurse = ROLE_USERS[Role.NURSE]
    assert any("Baseline → Infusing" in r.text and nurse in r.text for r in rows.rows)
    assert "Times are in <strong>UTC (UTC+00:00)</strong>" in html

    (alarm_row,) = [
        r
        for r in rows.with_class("alarm")
        if r.attrs["data-alarm-id"] == str(finished_session["alarm"]["id"])
    ]
    assert "Systolic BP 186" in alarm_row.text
    assert "!!! high" in alarm_row.text
    assert nurse in alarm_row.cells[4]
    assert alarm_row.cells[5] == ACTION

    readings = {r.attrs["data-reading-id"]: r for r in rows.with_class("reading")}
    assert len(readings) == 5  # every reading of a short manual session is listed
    full = readings[finished_session["full"]["id"]]
    assert "5 medium" in full.text  # its NEWS2, in the NEWS2 column
    assert "120/78" in full.text and "38.2" in full.text and "air" in full.text
    assert "medium" not in readings[finished_session["partial"]["id"]].text
    first_round = rows.with_class("news2-round")[0]
    assert first_round.cells[1:3] == ["5", "medium"]
    assert first_round.cells[3:] == ["2", "1", "0", "0", "1", "0", "1"]  # points, chart order

    wrong = readings[finished_session["wrong"]["id"]]
    assert "in-error" in (wrong.attrs["class"] or "")
    assert wrong.struck == ["250"]
    note = rows.rows[rows.rows.index(wrong) + 1]
    assert "ENTERED IN ERROR" in note.text
    assert "Probe artefact: 25 was meant" in note.text
    assert nurse in note.text


def test_the_charts_leave_out_readings_entered_in_error(
    as_nurse: TestClient, finished_session: dict[str, Any]
) -> None:
    html = report(as_nurse, finished_session["session"]["id"])
    # Heart rate: the full set and the partial reading; the 250 entered in error is not drawn.
    assert 'data-chart="heart_rate" data-points="2"' in html
    assert 'data-chart="blood_pressure" data-points="4"' in html
    assert 'data-chart="respiratory_rate" data-points="1"' in html
    assert html.count("<svg") == 5  # the phase and alarm strip, then four charts


def test_the_csv_lists_every_reading_with_errors_flagged(
    as_nurse: TestClient, finished_session: dict[str, Any]
) -> None:
    sid = finished_session["session"]["id"]
    rows = csv_rows(as_nurse, sid)
    assert [r["reading_id"] for r in rows] == [
        finished_session[k]["id"] for k in ("full", "partial", "surge", "wrong", "seen")
    ]
    assert {r["simulated"] for r in rows} == {"false"}
    assert {r["session_id"] for r in rows} == {str(sid)}
    full, partial, surge, wrong, seen = rows
    assert (seen["phase"], seen["consciousness"], seen["sedation"]) == ("recovery", "A", "5")
    assert full["phase"] == "baseline" and surge["phase"] == "infusing"
    assert (full["heart_rate"], full["temperature"], full["consciousness"]) == ("95", "38.2", "A")
    assert (full["on_oxygen"], full["sedation"], full["source"]) == ("false", "5", "manual")
    assert partial["systolic"] == "" and partial["spo2"] == "97"
    assert full["entered_by"] == ROLE_USERS[Role.NURSE]
    for row in rows:
        taken = datetime.fromisoformat(row["taken_at"])
        assert taken.utcoffset() == timedelta(0), row["taken_at"]
    assert wrong["entered_in_error"] == "true"
    assert wrong["entered_in_error_reason"] == "Probe artefact: 25 was meant"
    assert datetime.fromisoformat(wrong["entered_in_error_at"]).tzinfo is not None
    assert {r["entered_in_error"] for r in (full, partial, surge)} == {"false"}


def test_the_pdf_is_a_pdf_to_download(
    as_nurse: TestClient, finished_session: dict[str, Any]
) -> None:
    sid = finished_session["session"]["id"]
    response = as_nurse.get(f"/api/sessions/{sid}/report.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith('.pdf"')
    assert response.content.startswith(b"%PDF")
    pages = PdfReader(io.BytesIO(response.content)).pages
    text = " ".join(" ".join(p.extract_text() for p in pages).split())  # lines wrap in cells
    assert finished_session["patient"]["clinic_id"] in text
    assert ACTION in text
    assert "SIMULATED" not in text


def long_simulated_session(trainer: Client, count: int) -> int:
    patient = new_patient(trainer, "Sim Patient")
    created = trainer.post("/api/sessions", json=session_body(patient["id"], simulated=True))
    assert created.status_code == 201, created.text
    sid: int = created.json()["id"]
    start = datetime.now(UTC) - timedelta(minutes=count)
    readings = [
        {
            "taken_at": (start + timedelta(minutes=i)).isoformat(),
            "heart_rate": 70 + i % 9,
            "systolic": 118 + i % 7,
            "diastolic": 76 + i % 5,
            "spo2": 97,
        }
        for i in range(count)
    ]
    stored = trainer.post(f"/api/sessions/{sid}/readings/batch", json={"readings": readings})
    assert stored.status_code == 201, stored.text
    return sid


def test_every_page_of_a_simulated_sessions_pdf_says_simulated(as_trainer: TestClient) -> None:
    sid = long_simulated_session(as_trainer, 150)
    response = as_trainer.get(f"/api/sessions/{sid}/report.pdf")
    assert response.status_code == 200, response.text
    assert "SIMULATED" in response.headers["content-disposition"]
    pages = PdfReader(io.BytesIO(response.content)).pages
    assert len(pages) >= 4, "a long session should need several pages"
    for number, page in enumerate(pages, start=1):
        assert "SIMULATED — NOT A PATIENT" in page.extract_text(), f"page {number}"


def test_a_simulated_report_and_csv_are_labelled(as_trainer: TestClient) -> None:
    sid = long_simulated_session(as_trainer, 3)
    html = report(as_trainer, sid)
    assert '<p class="sim-banner" role="note"><strong>SIMULATED — NOT A PATIENT</strong>' in html
    assert "<title>SIMULATED · " in html
    assert 'class="print-sim"' in html  # the label browsers repeat on each printed page
    assert {r["simulated"] for r in csv_rows(as_trainer, sid)} == {"true"}


def test_times_are_shown_in_the_clinics_zone(
    settings: Settings, as_nurse: TestClient, finished_session: dict[str, Any]
) -> None:
    app = create_app(settings.model_copy(update={"clinic_timezone": "Asia/Kolkata"}))
    cookie = {SESSION_COOKIE: as_nurse.cookies[SESSION_COOKIE]}
    session = finished_session["session"]
    with TestClient(app, cookies=cookie) as kolkata:
        html = report(kolkata, session["id"])
    assert "Times are in <strong>Asia/Kolkata (UTC+05:30)</strong>" in html
    infusing = next(c for c in session["phase_changes"] if c["to_phase"] == "infusing")
    summary = {r.cells[0]: r.cells[1] for r in Rows(html).rows if len(r.cells) == 4}
    assert summary["Infusion start"] == local_time(infusing["at"], "Asia/Kolkata")


def test_a_wrong_time_zone_setting_is_refused_at_start_up_naming_it() -> None:
    with pytest.raises(ValidationError, match="'Mars/Olympus' is not an IANA time zone"):
        Settings(clinic_timezone="Mars/Olympus")


@pytest.fixture
def without_weasyprint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # makes `import weasyprint` fail
    yield


def test_without_weasyprint_the_pdf_answers_503_and_the_html_still_works(
    as_nurse: TestClient, finished_session: dict[str, Any], without_weasyprint: None
) -> None:
    sid = finished_session["session"]["id"]
    response = as_nurse.get(f"/api/sessions/{sid}/report.pdf")
    assert response.status_code == 503
    assert "weasyprint" in response.json()["detail"]
    assert report(as_nurse, sid)


@pytest.mark.parametrize("path", ["report", "report.pdf", "readings.csv"])
def test_an_unknown_session_is_404(as_nurse: TestClient, path: str) -> None:
    response = as_nurse.get(f"/api/sessions/999999/{path}")
    assert response.status_code == 404
    assert "999999" in response.json()["detail"]


@pytest.mark.parametrize("path", ["report", "report.pdf", "readings.csv"])
def test_signed_out_is_401(client: TestClient, as_nurse: TestClient, path: str) -> None:
    sid = record_session_id(as_nurse)
    response = client.get(f"/api/sessions/{sid}/{path}")
    assert response.status_code == 401


def record_session_id(client: Client) -> int:
    created = client.post("/api/sessions", json=session_body(new_patient(client)["id"]))
    assert created.status_code == 201, created.text
    sid: int = created.json()["id"]
    return sid


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_any_signed_in_clinical_role_may_read_the_record(
    as_role: RoleClient, as_nurse: TestClient, role: Role
) -> None:
    sid = record_session_id(as_nurse)
    client = as_role(role)
    assert client.get(f"/api/sessions/{sid}/report").status_code == 200
    assert client.get(f"/api/sessions/{sid}/readings.csv").status_code == 200


def test_a_trainer_may_not_read_a_real_patients_record(
    as_trainer: TestClient, as_nurse: TestClient
) -> None:
    sid = record_session_id(as_nurse)
    for path in ("report", "readings.csv", "report.pdf"):
        assert as_trainer.get(f"/api/sessions/{sid}/{path}").status_code == 403


def test_the_report_runs_no_script_and_loads_nothing(
    as_nurse: TestClient, finished_session: dict[str, Any]
) -> None:
    response = as_nurse.get(f"/api/sessions/{finished_session['session']['id']}/report")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "<script" not in response.text
