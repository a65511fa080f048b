"""The alarm review for a clinic manager (admin): JSON for the page, CSV for a spreadsheet.

Admins only, as alarm-reporting tools keep their reports to the clinical managers who tune the
limits: the review compares chairs, limit profiles and how fast staff answered, which is the
clinic's management data, not what a nurse needs at the chair (a nurse sees each alarm live and
in each session's record). It shows counts and limit changes, no patient's name or values; the
CSV export, which leaves the system, is recorded on the audit trail."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from backend.audit import service as audit
from backend.core.dependencies import DatabaseDep, SessionDep
from backend.core.errors import InvalidInput
from backend.core.fields import Moment, RowId
from backend.core.timeutil import utcnow
from backend.review import service
from backend.review.csv_export import review_csv
from backend.review.schemas import AlarmReview, SessionsShown, review_of
from backend.users.auth import AdminActor

router = APIRouter(prefix="/api", tags=["alarm review"])

MAX_SPAN = timedelta(days=366)


def review_query(
    start: Annotated[Moment, Query(description="Period start (ISO 8601 with offset)")],
    end: Annotated[Moment, Query(description="Period end, not included (ISO 8601 with offset)")],
    site: Annotated[RowId | None, Query(description="Only this site's chairs")] = None,
    chair: Annotated[RowId | None, Query(description="Only this chair")] = None,
    profile: Annotated[
        RowId | None, Query(description="Only sessions on this limit profile")
    ] = None,
    sessions: Annotated[
        SessionsShown,
        Query(description="real: the clinic's figures; simulated: training sessions, apart"),
    ] = "real",
) -> service.ReviewQuery:
    if end <= start:
        raise InvalidInput(("query", "end"), "must be later than start", end.isoformat())
    if end - start > MAX_SPAN:
        raise InvalidInput(
            ("query", "end"),
            "the period is at most 366 days: choose a shorter one",
            end.isoformat(),
        )
    return service.ReviewQuery(start, end, site, chair, profile, sessions == "simulated")


Filter = Annotated[service.ReviewQuery, Depends(review_query)]


@router.get(
    "/alarm-review",
    summary="Alarm review for a period: alarms per chair-hour, time to acknowledge, escalations, "
    "share resolved unanswered, top conditions, limit changes (admin)",
)
def alarm_review(_: AdminActor, q: Filter, db: SessionDep) -> AlarmReview:
    return review_of(service.alarm_review(db, q, utcnow()))


@router.get(
    "/alarm-review.csv",
    response_class=Response,
    summary="The same alarm review as CSV (admin); the export is audited",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def alarm_review_csv(
    actor: AdminActor, q: Filter, request: Request, database: DatabaseDep
) -> Response:
    with database.unit_of_work(write=False) as db:
        review = review_of(service.alarm_review(db, q, utcnow()))
    # On record before it is sent (after the figures, so a refused filter records nothing).
    filters = {k: str(v) for k, v in q.__dict__.items() if v is not None}
    audit.record_apart(database, actor, "alarm_review.export", request=request, detail=filters)
    stamp = review.generated_at.strftime("%Y%m%dT%H%M%SZ")
    return Response(
        review_csv(review),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="vigil-alarm-review-{stamp}.csv"'},
    )
