"""GET a session's record as a FHIR R4 Bundle (JSON), to download or hand to another system.

Who may, and the audit trail, as for the PDF and the CSV: any signed-in person (trainers only a
simulated session's), the export of a real session recorded once it is made and before it is sent.
"""

import json

from fastapi import APIRouter, Request, Response

from backend.core.dependencies import DatabaseDep, SessionDep, SettingsDep
from backend.core.fields import RowId
from backend.fhir.service import export
from backend.reports.record import export_filename
from backend.sessions.access import SeenSession, record_view
from backend.users.auth import PersonActor

router = APIRouter(prefix="/api/sessions", tags=["reports"])

FHIR_JSON = "application/fhir+json"


@router.get(
    "/{session_id}/fhir",
    response_class=Response,
    summary="The session record as a FHIR R4 Bundle (collection): Patient, Encounter, "
    "Locations, Devices, vital-signs Observations, NEWS2, alarms as DetectedIssue",
    responses={200: {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}},
)
def session_fhir(
    session_id: RowId,
    actor: PersonActor,
    ref: SeenSession,
    request: Request,
    database: DatabaseDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    record, bundle = export(db, session_id, settings)
    body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))
    record_view(database, actor, "report.fhir", request, ref)
    return Response(
        body,
        media_type=f"{FHIR_JSON}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(record, "fhir.json")}"'
        },
    )
