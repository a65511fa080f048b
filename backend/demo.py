"""Demo ward for a first `make run`: three simulated sessions with an hour of history.

Demo patients are not real, so their sessions are marked simulated like any training session.
Readings go through the normal ingest path, exactly as a device's would.
"""

import math
import random
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.actor import Actor
from backend.core.timeutil import utcnow
from backend.patients.models import Patient
from backend.readings import service as readings
from backend.readings.schemas import ReadingIn, Source
from backend.sessions import service as sessions
from backend.sessions.models import InfusionSession
from backend.sessions.phases import Phase
from backend.sessions.schemas import Drug, PhaseChangeIn, Route, SessionCreate
from backend.users.roles import Role

DEMO_ACTOR = Actor("user", 0, "demo", Role.ADMIN)
NO_SLACK = timedelta(0)
# (chair, clinic id, name, minutes since start, minutes of infusion done or None if not started)
DEMO_CHAIRS = (
    ("Chair 1", "DEMO-001", "Demo patient A", 55, 40),
    ("Chair 2", "DEMO-002", "Demo patient B", 25, None),
    ("Chair 3", "DEMO-003", "Demo patient C", 8, None),
)


def seed_demo(db: Session, seed: int = 7) -> int:
    """Create the demo ward unless the ward already has sessions; return how many were made."""
    if db.scalar(select(func.count()).select_from(InfusionSession)):
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo values, not secrets
    now = utcnow()
    for chair, clinic_id, name, started_min_ago, infused in DEMO_CHAIRS:
        patient = db.scalar(select(Patient).where(Patient.clinic_id == clinic_id))
        if patient is None:
            patient = Patient(clinic_id=clinic_id, display_name=name, created_at=now)
            db.add(patient)
            db.flush()
        start = now - timedelta(minutes=started_min_ago)
        session = sessions.create_session(
            db,
            SessionCreate(
                patient_id=patient.id,
                chair=chair,
                drug=Drug.KETAMINE,
                route=Route.IV,
                planned_dose_mg=35.0,
                weight_kg=70.0,
                planned_duration_min=40,
                simulated=True,
                notes="DEMO data created by 'vigil setup --demo'",
            ),
            DEMO_ACTOR,
        )
        session.created_at = session.phase_changed_at = start
        session.phase_changes[0].at = start
        dose_start = start + timedelta(minutes=10)
        if started_min_ago > 10:
            body = PhaseChangeIn(phase=Phase.INFUSING, at=dose_start)
            sessions.change_phase(db, session.id, body, DEMO_ACTOR, future_tolerance=NO_SLACK)
        if infused is not None and started_min_ago > 10 + infused:
            at = dose_start + timedelta(minutes=infused)
            body = PhaseChangeIn(phase=Phase.RECOVERY, at=at)
            sessions.change_phase(db, session.id, body, DEMO_ACTOR, future_tolerance=NO_SLACK)
        items = [
            _reading(rng, start + timedelta(seconds=s), (s / 60 - 10) if s >= 600 else None)
            for s in range(0, started_min_ago * 60, 30)
        ]
        readings.ingest(db, session.id, items, DEMO_ACTOR, future_tolerance=NO_SLACK, batch=True)
    return len(DEMO_CHAIRS)


def _reading(rng: random.Random, at: datetime, minutes_dosing: float | None) -> ReadingIn:
    # A rise that peaks around 40 minutes into dosing, as published for 0.5 mg/kg over 40 min.
    effect = 0.0 if minutes_dosing is None else math.sin(min(minutes_dosing, 80) / 80 * math.pi)
    with_bp = rng.random() < 0.2
    return ReadingIn(
        id=uuid.UUID(int=rng.getrandbits(128)),
        taken_at=at,
        source=Source.SIMULATOR,
        heart_rate=round(72 + 6 * effect + rng.gauss(0, 2)),
        spo2=min(100, round(98 + rng.gauss(0, 0.7))),
        systolic=round(122 + 16 * effect + rng.gauss(0, 4)) if with_bp else None,
        diastolic=round(78 + 11 * effect + rng.gauss(0, 3)) if with_bp else None,
        respiratory_rate=round(15 + rng.gauss(0, 1)) if with_bp else None,
    )
