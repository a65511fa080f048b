"""The audit trail for admins: filtered and paged, newest first, or exported as CSV.

Here, above the domains, rather than in audit/: it needs the users' role checks, and users put
sign-ins on the trail, so audit/ itself imports nothing but core."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from backend.audit import export
from backend.audit import service as audit
from backend.audit.schemas import AuditEventPublic, AuditPage
from backend.core.dependencies import DatabaseDep, SessionDep
from backend.core.errors import InvalidInput
from backend.core.fields import Moment, RowId
from backend.core.timeutil import utcnow
from backend.users.auth import AdminActor

router = APIRouter(prefix="/api", tags=["audit"])

# Printable text only: a control character (NUL among them) in a filter is a probe, not a name.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
EVENT_ID_MAX = 2**63 - 1


def audit_filter(
    user: Annotated[
        str | None,
        Query(
            max_length=80,
            pattern=PRINTABLE,
            description="a username or token name: what they did, and what was done to "
            "their account or tried in their name",
        ),
    ] = None,
    patient_id: Annotated[RowId | None, Query()] = None,
    session_id: Annotated[RowId | None, Query()] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=48,
            pattern=r"^[a-z0-9_.]+$",
            description="an action (auth.sign_in) or a family of them (auth)",
        ),
    ] = None,
    since: Annotated[Moment | None, Query(description="at or after this (ISO 8601)")] = None,
    until: Annotated[Moment | None, Query(description="before this (ISO 8601, offset)")] = None,
) -> audit.AuditFilter:
    if since is not None and until is not None and until <= since:
        raise InvalidInput(("query", "until"), "must be later than since", until.isoformat())
    return audit.AuditFilter(user, patient_id, session_id, action, since, until)


Filter = Annotated[audit.AuditFilter, Depends(audit_filter)]


@router.get("/audit", summary="Audit events, newest first, filtered and paged (admin)")
def list_audit(
    _: AdminActor,
    where: Filter,
    db: SessionDep,
    before: Annotated[
        int | None, Query(ge=1, le=EVENT_ID_MAX, description="events older than this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    rows, next_before = audit.list_events(db, where, before=before, limit=limit)
    return AuditPage(
        items=[AuditEventPublic.model_validate(r) for r in rows], next_before=next_before
    )


@router.get(
    "/audit.csv",
    response_class=StreamingResponse,
    summary="The filtered audit events as CSV, newest first (admin); the export is audited",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_audit(
    actor: AdminActor, where: Filter, request: Request, database: DatabaseDep
) -> StreamingResponse:
    filters = {k: str(v) for k, v in where.__dict__.items() if v is not None}
    audit.record_apart(database, actor, "audit.export", request=request, detail=filters)

    def lines() -> Iterator[str]:
        yield export.header()
        for batch in audit.iter_events(database, where):
            yield export.rows_csv(batch)

    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="vigil-audit-{stamp}.csv"'},
    )
