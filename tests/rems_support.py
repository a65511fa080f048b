"""An esketamine treatment with a whole record, for the REMS form's tests (API and browser)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.database import Database
from backend.readings.models import Reading
from backend.sessions.models import InfusionSession, PhaseChange
from tests.helpers import Client, new_session, post_reading

START_TICKS = {"consent": True, "identity": True, "nasal_devices": True}
DISCHARGE_TICKS = {"oriented": True, "companion": True, "instructions": True}


def database_of(client: Client) -> Database:
    """The database behind an in-process test client."""
    assert isinstance(client, TestClient), "this needs the app's database"
    database: Database = client.app.state.database  # type: ignore[attr-defined]
    return database


def _shift_start(database: Database, session_id: int, to: datetime) -> None:
    """Tests cannot wait two hours: move the session's start (and its baseline) back to `to`."""
    with database.unit_of_work(write=True) as db:
        session = db.get(InfusionSession, session_id)
        assert session is not None
        session.created_at = session.phase_changed_at = to
        for change in db.scalars(select(PhaseChange).where(PhaseChange.session_id == session_id)):
            change.at = to


def _phase(client: Client, sid: int, to: str, at: datetime, **body: Any) -> None:
    response = client.post(
        f"/api/sessions/{sid}/phase", json={"phase": to, "at": at.isoformat(), **body}
    )
    assert response.status_code == 200, response.text


def age(database: Database, session_id: int, by: timedelta) -> None:
    """The whole session moved `by` into the past: its times, phases and readings."""
    with database.unit_of_work(write=True) as db:
        session = db.get(InfusionSession, session_id)
        assert session is not None and session.ended_at is not None
        session.created_at -= by
        session.phase_changed_at -= by
        session.ended_at -= by
        for change in db.scalars(select(PhaseChange).where(PhaseChange.session_id == session_id)):
            change.at -= by
        for reading in db.scalars(select(Reading).where(Reading.session_id == session_id)):
            reading.taken_at -= by


@dataclass
class Treated:
    id: int
    patient: dict[str, Any]
    start: datetime  # dosing started


def treated(
    client: Client,
    database: Database | None = None,
    *,
    dose: float = 56,
    spo2_low: int | None = None,
    discharge: bool = True,
    hours_ago: float = 3,
) -> Treated:
    """An esketamine session dosed `hours_ago` and, by default, discharged 130 min later:
    BP 128/82 10 min before dosing, 150/95 at 38 min, 130/84 at 125 min; sedated (MOAA/S 3) at
    45 min, clear from 75 min."""
    session = new_session(
        client,
        drug="esketamine",
        route="intranasal",
        planned_dose_mg=dose,
        weight_kg=None,
        planned_duration_min=None,
    )
    sid = session["id"]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)
    _shift_start(database or database_of(client), sid, start - timedelta(minutes=30))

    def at(minutes: float, **values: Any) -> None:
        moment = start + timedelta(minutes=minutes)
        if moment > datetime.now(UTC):
            return  # not yet taken: the session is still going
        taken = moment.isoformat()
        response = post_reading(client, sid, taken_at=taken, **values)
        assert response.status_code == 201, response.text

    at(-10, systolic=128, diastolic=82, heart_rate=72, spo2=98)
    _phase(client, sid, "infusing", start, checklist=START_TICKS)
    _phase(
        client, sid, "recovery", start + timedelta(minutes=10), checklist={"dose_complete": True}
    )
    at(20, systolic=140, diastolic=88, spo2=97)
    at(38, systolic=150, diastolic=95, spo2=96, respiratory_rate=14)
    at(45, consciousness="V", sedation=3, spo2=spo2_low or 96)
    if spo2_low is not None:  # still low 30 s later: past the alarm's condition delay
        at(45.5, spo2=spo2_low)
    at(60, consciousness="A", sedation=4)
    at(75, consciousness="A", sedation=5)
    at(90, consciousness="A", sedation=5, spo2=97)
    at(125, systolic=130, diastolic=84, consciousness="A", sedation=5)
    if discharge:
        extra: dict[str, Any] = {}
        if spo2_low is not None:  # its high alarm is still open: a named clinician decides
            extra["override_alarms"] = {"by": "test-nurse", "reason": "recovered, seen by me"}
        _phase(
            client,
            sid,
            "discharged",
            start + timedelta(minutes=130),
            checklist=DISCHARGE_TICKS,
            **extra,
        )
    return Treated(sid, session["patient"], start)
