"""An induction series in the past, written straight to the database (the API stamps sessions
and phases with the present moment): six IV ketamine sessions over three weeks, for the course
page's tests and screenshots. Each figure the course shows is set here on purpose."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from backend.alerts.models import Alert
from backend.core.database import Database
from backend.readings.models import Reading
from backend.sessions.models import InfusionSession, PhaseChange


@dataclass(frozen=True)
class Planned:
    """One session: days after the first, baseline BP (None: no BP before dosing), the peak
    while dosing, the lowest SpO2, the MOAA/S at its deepest, and when (minutes after dosing
    ended) the patient was first seen alert; `alarm` raises a high SpO2 alarm."""

    day: int
    baseline: tuple[int, int] | None
    peak: tuple[int, int]
    lowest_spo2: int
    deepest_moaas: int
    alert_after_min: int
    alarm: bool = False


SERIES = (
    Planned(0, (124, 80), (152, 97), 93, 3, 45),
    Planned(2, (128, 82), (150, 95), 88, 3, 45, alarm=True),
    Planned(5, (122, 78), (143, 90), 95, 4, 30),
    Planned(7, None, (140, 88), 96, 4, 30),
    Planned(12, (126, 80), (138, 86), 96, 4, 15),
    Planned(14, (120, 76), (131, 83), 97, 5, 15),
)


def seed_series(database: Database, patient_id: int, chair_id: int, first: datetime) -> list[int]:
    """Write SERIES for the patient from `first` (UTC, each day at the same time); returns the
    sessions' ids, oldest first."""
    with database.unit_of_work(write=True) as db:
        return [
            _seed_one(db, plan, patient_id, chair_id, first + timedelta(days=plan.day))
            for plan in SERIES
        ]


def _seed_one(db: Session, plan: Planned, patient_id: int, chair_id: int, start: datetime) -> int:
    def at(minutes: float) -> datetime:
        return start + timedelta(minutes=minutes)

    ended = 50 + plan.alert_after_min + 10
    session = InfusionSession(
        patient_id=patient_id,
        chair_id=chair_id,
        chair="Chair 1",
        drug="ketamine",
        route="iv",
        planned_dose_mg=35,
        weight_kg=70,
        planned_duration_min=40,
        simulated=False,
        phase="discharged",
        phase_changed_at=at(ended),
        created_at=start,
        created_by="seed",
        ended_at=at(ended),
    )
    db.add(session)
    db.flush()
    for from_phase, to_phase, minute in (
        (None, "baseline", 0),
        ("baseline", "infusing", 10),
        ("infusing", "recovery", 50),
        ("recovery", "discharged", ended),
    ):
        db.add(
            PhaseChange(
                session_id=session.id,
                from_phase=from_phase,
                to_phase=to_phase,
                at=at(minute),
                recorded_at=at(minute),
                by="seed",
            )
        )

    def reading(minute: float, **values: object) -> None:
        moment = at(minute)
        db.add(
            Reading(
                id=str(uuid.uuid4()),
                session_id=session.id,
                taken_at=moment,
                received_at=moment,
                source="manual",
                entered_by="seed",
                **values,
            )
        )

    if plan.baseline is not None:
        reading(5, systolic=plan.baseline[0], diastolic=plan.baseline[1])
    for minute in range(0, ended, 5):
        reading(minute + 1, spo2=97, heart_rate=76)
    reading(31, spo2=plan.lowest_spo2)
    reading(30, systolic=plan.peak[0], diastolic=plan.peak[1])
    reading(20, systolic=plan.peak[0] - 8, diastolic=plan.peak[1] - 5)
    reading(35, consciousness="V", sedation=plan.deepest_moaas)
    # Rounds every 15 min after dosing: drowsy until the planned time, then alert.
    for minute in range(0, plan.alert_after_min + 1, 15):
        alert = minute >= plan.alert_after_min
        reading(
            50 + minute,
            systolic=plan.peak[0] - 10 - minute // 5,
            diastolic=plan.peak[1] - 8,
            consciousness="A" if alert else "V",
            sedation=5 if alert else 4,
        )
    if plan.alarm:
        db.add(
            Alert(
                session_id=session.id,
                condition="spo2_low",
                kind="physiological",
                priority=3,
                status="resolved",
                present=False,
                message=f"SpO2 low: {plan.lowest_spo2} %",
                value=plan.lowest_spo2,
                raised_at=at(31),
                alerted_at=at(31),
                acknowledged_at=at(32),
                acknowledged_by="seed",
                resolved_at=at(34),
            )
        )
    return session.id


FIRST = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)  # 10:00 in Asia/Kolkata, the tests' zone
