"""Patient endpoints.

Trainers never read the clinic's register: the patients of their drills come to them with their
simulated sessions. They may still register a patient, which is then a drill's (simulated).
"""

from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import AfterValidator

from backend.audit import service as audit
from backend.core.actor import Actor
from backend.core.dependencies import DatabaseDep, SessionDep, SettingsDep
from backend.core.fields import RowId
from backend.core.roles import Role
from backend.patients import csv_import, service
from backend.patients.age import known_age
from backend.patients.identity import TextError, clean_text, normalize_spaces
from backend.patients.models import Patient
from backend.patients.schemas import (
    ImportReport,
    PatientChangePublic,
    PatientCreate,
    PatientPublic,
    PatientRead,
    PatientUpdate,
)
from backend.users.auth import AdminActor, NurseActor, RecorderActor, require_role

router = APIRouter(prefix="/api/patients", tags=["patients"])

ClinicalActor = Annotated[Actor, Depends(require_role(Role.NURSE, Role.STAFF))]
MAX_LIMIT = 200
MAX_PAGE = 10_000


def _search_text(value: str | None) -> str | None:
    # The same characters as a stored identifier or name may hold (no NUL: PostgreSQL would
    # fail on it as a 500), but an empty search is simply no filter.
    if value is None or not normalize_spaces(value):
        return None
    try:
        return clean_text(value, 120)
    except TextError as exc:
        raise ValueError(exc.reason) from None


def _read(patient: Patient, settings: SettingsDep) -> PatientRead:
    """The patient with their age today, on the clinic's calendar."""
    age = known_age(patient.date_of_birth, service.clinic_today(settings.clinic_zone))
    return PatientRead(**PatientPublic.model_validate(patient).model_dump(), age=age)


SearchText = Annotated[
    str | None,
    Query(max_length=480, description="part of a clinic id or name; % and _ are literal"),
    AfterValidator(_search_text),
]


@router.get(
    "",
    summary="Find patients by clinic id or name",
    response_description="A page of patients; X-Total-Count has how many match, Link the next",
)
def list_patients(
    request: Request,
    response: Response,
    _: ClinicalActor,
    db: SessionDep,
    settings: SettingsDep,
    q: SearchText = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    simulated: Annotated[
        bool, Query(description="true: the drills' simulated patients instead of real ones")
    ] = False,
) -> list[PatientRead]:
    found = service.search_patients(db, q, page=page, limit=limit, simulated=simulated)
    response.headers["X-Total-Count"] = str(found.total)
    links = []
    params = {"q": q or "", "limit": limit, "simulated": str(simulated).lower()}
    if page * limit < found.total and page < MAX_PAGE:
        links.append(f'<{request.url.path}?{urlencode(params | {"page": page + 1})}>; rel="next"')
    if page > 1:
        links.append(f'<{request.url.path}?{urlencode(params | {"page": page - 1})}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return [_read(p, settings) for p in found.patients]


@router.post("", status_code=201, summary="Register a patient")
def create_patient(
    body: PatientCreate,
    actor: RecorderActor,
    db: SessionDep,
    request: Request,
    settings: SettingsDep,
) -> PatientRead:
    patient = service.create_patient(db, body, actor, zone=settings.clinic_zone)
    if not patient.simulated:
        audit.record(db, actor, "patient.create", request=request, patient_id=patient.id)
    return _read(patient, settings)


async def csv_upload(request: Request) -> bytes:
    """The CSV file: the body itself (text/csv), or the `file` part of a multipart form."""
    content_type = request.headers.get("content-type", "")
    data = await request.body()
    if len(data) > csv_import.MAX_BYTES:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            f"the file is {len(data)} bytes; at most {csv_import.MAX_BYTES} are accepted",
        )
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        return _form_file(content_type, data)
    if media not in {"text/csv", "text/plain", "application/csv"}:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send the list as text/csv, or as the 'file' field of a multipart/form-data form",
        )
    return data


def _form_file(content_type: str, data: bytes) -> bytes:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace") + data
    )
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload
    raise HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT, "the form has no 'file' field holding the CSV list"
    )


@router.post(
    "/import",
    summary="Import a clinic's patient list (CSV)",
    response_description="What was registered, what was there already, and each refused row",
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
            "description": "A header row naming clinic_id and display_name; UTF-8 (a BOM is "
            "fine); comma- or semicolon-separated",
        }
    },
)
def import_patients(
    actor: AdminActor,
    db: SessionDep,
    request: Request,
    data: Annotated[bytes, Depends(csv_upload)],
    settings: SettingsDep,
    dry_run: Annotated[bool, Query(description="check and report, register nothing")] = False,
) -> ImportReport:
    report = service.import_patients(db, data, actor, dry_run=dry_run, zone=settings.clinic_zone)
    if not dry_run:
        counts = {
            "rows": report.rows,
            "created": len(report.created),
            "present": len(report.present),
            "rejected": len(report.rejected),
        }
        audit.record(db, actor, "patient.import", request=request, detail=counts)
    return report


@router.get("/{patient_id}", summary="One patient")
def get_patient(
    patient_id: RowId,
    actor: ClinicalActor,
    db: SessionDep,
    database: DatabaseDep,
    request: Request,
    settings: SettingsDep,
) -> PatientRead:
    patient = service.get_patient(db, patient_id)
    if not patient.simulated:
        # On the trail before it is sent: a read request's own transaction writes nothing.
        audit.record_apart(database, actor, "patient.view", request=request, patient_id=patient.id)
    return _read(patient, settings)


@router.patch(
    "/{patient_id}", summary="Correct a patient's clinic id, name or date of birth (nurse)"
)
def update_patient(
    patient_id: RowId,
    body: PatientUpdate,
    actor: NurseActor,
    db: SessionDep,
    request: Request,
    settings: SettingsDep,
) -> PatientRead:
    patient = service.update_patient(db, patient_id, body, actor, zone=settings.clinic_zone)
    changed = sorted(body.model_dump(exclude_unset=True))
    detail = {"fields": changed}
    audit.record(db, actor, "patient.edit", request=request, patient_id=patient.id, detail=detail)
    return _read(patient, settings)


@router.get("/{patient_id}/changes", summary="A patient's edits: who, when, old and new (nurse)")
def patient_changes(patient_id: RowId, _: NurseActor, db: SessionDep) -> list[PatientChangePublic]:
    return [PatientChangePublic.model_validate(c) for c in service.patient_changes(db, patient_id)]
