"""The session record: GET it as an HTML report, as a PDF, or its readings as CSV.

Each is put on the audit trail once it is made and before it is sent (a real session's only)."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from backend.core.dependencies import DatabaseDep, SessionDep, SettingsDep
from backend.core.fields import RowId
from backend.reports.csv_export import readings_csv
from backend.reports.html import render_html
from backend.reports.pdf import render_pdf
from backend.reports.record import export_filename
from backend.reports.service import current_record
from backend.sessions.access import SeenSession, record_view
from backend.users.auth import PersonActor

router = APIRouter(prefix="/api/sessions", tags=["reports"])

# The report is one self-contained document: no script may run in it, nothing may be loaded.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@router.get(
    "/{session_id}/report",
    response_class=HTMLResponse,
    summary="The session record as a printable HTML page",
)
def session_report(
    session_id: RowId,
    actor: PersonActor,
    ref: SeenSession,
    request: Request,
    database: DatabaseDep,
    db: SessionDep,
    settings: SettingsDep,
) -> HTMLResponse:
    zone = settings.clinic_zone
    html = render_html(current_record(db, session_id, settings), zone)
    record_view(database, actor, "record.view", request, ref)
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})


@router.get(
    "/{session_id}/report.pdf",
    response_class=Response,
    summary="The session record as a PDF (A4)",
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
        503: {"description": "PDF output is not available on this server"},
    },
)
def session_report_pdf(
    session_id: RowId,
    actor: PersonActor,
    ref: SeenSession,
    request: Request,
    database: DatabaseDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    zone = settings.clinic_zone
    record = current_record(db, session_id, settings)
    pdf = render_pdf(render_html(record, zone, for_pdf=True))
    record_view(database, actor, "report.pdf", request, ref)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{export_filename(record, "pdf")}"'},
    )


@router.get(
    "/{session_id}/readings.csv",
    response_class=Response,
    summary="Every reading of the session as CSV (times in UTC; errored readings flagged)",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def session_readings_csv(
    session_id: RowId,
    actor: PersonActor,
    ref: SeenSession,
    request: Request,
    database: DatabaseDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    record = current_record(db, session_id, settings)
    body = readings_csv(record)
    record_view(database, actor, "report.csv", request, ref)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export_filename(record, "csv")}"'},
    )
