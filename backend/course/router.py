"""GET a patient's course: the figures of each of their sessions, for a prescriber.

The same people as the patient register (nurses, staff, admins; trainers refused before
anything is read), real patients and real sessions only, and each view on the audit trail as a
view of the patient, before the figures are sent.
"""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from backend.audit import service as audit
from backend.core.actor import Actor
from backend.core.dependencies import DatabaseDep, SessionDep, SettingsDep
from backend.core.fields import RowId
from backend.core.roles import Role
from backend.course.schemas import CoursePublic, CourseSession
from backend.course.service import load_course
from backend.patients.schemas import PatientPublic
from backend.users.auth import require_role

router = APIRouter(prefix="/api/patients", tags=["patients"])

# The register's readers (patients/router.py): admins pass every role check.
ClinicalActor = Annotated[Actor, Depends(require_role(Role.NURSE, Role.STAFF))]


@router.get(
    "/{patient_id}/course",
    summary="A patient's course: each real session's figures, oldest first",
    responses={404: {"description": "No such patient, or a simulated (drill) one"}},
)
def patient_course(
    patient_id: RowId,
    actor: ClinicalActor,
    db: SessionDep,
    database: DatabaseDep,
    settings: SettingsDep,
    request: Request,
) -> CoursePublic:
    course = load_course(db, patient_id)
    audit.record_apart(
        database,
        actor,
        "patient.view",
        request=request,
        patient_id=course.patient.id,
        detail={"via": "course", "sessions": len(course.rows)},
    )
    return CoursePublic(
        patient=PatientPublic.model_validate(course.patient),
        sessions=[CourseSession(**asdict(row)) for row in course.rows],
        total=course.total,
        clinic_timezone=settings.clinic_timezone,
    )
