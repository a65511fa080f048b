"""Patient endpoints."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.core.dependencies import SessionDep
from backend.core.fields import RowId
from backend.patients import service
from backend.patients.schemas import PatientCreate, PatientPublic
from backend.users.auth import CurrentActor, RecorderActor

router = APIRouter(prefix="/api/patients", tags=["patients"])


@router.get("", summary="Find patients by clinic id or name")
def list_patients(
    _: CurrentActor,
    db: SessionDep,
    q: Annotated[str | None, Query(max_length=120, description="part of an id or name")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PatientPublic]:
    return [PatientPublic.model_validate(p) for p in service.search_patients(db, q, limit)]


@router.post("", status_code=201, summary="Register a patient")
def create_patient(body: PatientCreate, _: RecorderActor, db: SessionDep) -> PatientPublic:
    return PatientPublic.model_validate(service.create_patient(db, body))


@router.get("/{patient_id}", summary="One patient")
def get_patient(patient_id: RowId, _: CurrentActor, db: SessionDep) -> PatientPublic:
    return PatientPublic.model_validate(service.get_patient(db, patient_id))
