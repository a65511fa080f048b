"""Reading endpoints: post one, post a batch, list a session's readings or their trend, the
vitals catalogue."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from backend import flows
from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.dependencies import SessionDep
from backend.core.fields import Moment, RowId
from backend.core.settings import Settings
from backend.core.timeutil import utcnow
from backend.readings import service
from backend.readings.schemas import (
    MAX_BATCH,
    EnteredInErrorIn,
    ReadingBatchIn,
    ReadingIn,
    ReadingPage,
    ReadingPublic,
    ReadingTrend,
    TrendBar,
    TrendLines,
    VitalsCatalogue,
    VitalSpecPublic,
)
from backend.readings.service import Ingested
from backend.readings.vitals import CONSCIOUSNESS_LEVELS, SEDATION_LEVELS, VITALS
from backend.sessions.access import ReadingRecorder, SeenSession, ViewedReadings, record_change
from backend.users.auth import CurrentActor, PersonActor, RecorderActor

router = APIRouter(tags=["readings"])


@router.post(
    "/api/sessions/{session_id}/readings",
    status_code=status.HTTP_201_CREATED,
    summary="Record one reading",
    response_model=ReadingPublic,
    responses={
        200: {
            "model": ReadingPublic,
            "description": "A retry: this id was stored before, nothing new stored",
        }
    },
)
async def post_reading(
    session_id: RowId,
    body: ReadingIn,
    let: ReadingRecorder,
) -> JSONResponse:
    (result,) = await run_in_threadpool(
        _record, let.database, session_id, [body], let.actor, let.settings
    )
    # The form its stream event was made of: not validated and serialized again.
    return JSONResponse(
        result.public_form(),
        status_code=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )


def _record(
    database: Database,
    session_id: int,
    items: Sequence[ReadingIn],
    actor: Actor,
    settings: Settings,
    batch: bool = False,
) -> list[Ingested]:
    """The whole unit of work of a reading POST, in one worker thread (one hop from the event
    loop, not one per dependency). Who may see the session is checked under its row lock, by
    the ingest itself (trainers: simulated sessions only), before anything of it is read."""
    with database.unit_of_work(write=True) as db:
        return flows.record_readings(
            db,
            session_id,
            items,
            actor,
            future_tolerance=timedelta(seconds=settings.future_tolerance_seconds),
            batch=batch,
        )


@router.post(
    "/api/sessions/{session_id}/readings/batch",
    status_code=status.HTTP_201_CREATED,
    summary="Record several readings at once, all or nothing",
    response_model=list[ReadingPublic],
)
async def post_batch(
    session_id: RowId,
    body: ReadingBatchIn,
    let: ReadingRecorder,
) -> JSONResponse:
    results = await run_in_threadpool(
        _record, let.database, session_id, body.readings, let.actor, let.settings, True
    )
    # The forms the readings' stream events were made of: not validated and serialized again.
    return JSONResponse([r.public_form() for r in results], status_code=status.HTTP_201_CREATED)


@router.get(
    "/api/sessions/{session_id}/readings",
    summary="A session's readings by time taken, oldest first, paginated",
)
def list_readings(
    session_id: RowId,
    _: ViewedReadings,
    db: SessionDep,
    since: Annotated[Moment | None, Query(description="taken_at ≥ this")] = None,
    until: Annotated[Moment | None, Query(description="taken_at < this")] = None,
    page: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=20000)] = 1000,
) -> ReadingPage:
    result = service.list_readings(db, session_id, since=since, until=until, page=page, limit=limit)
    return ReadingPage(
        items=[ReadingPublic.model_validate(r) for r in result.items],
        next_page=result.next_page,
        stream_cursor=str(result.stream_cursor),
    )


@router.get(
    "/api/sessions/{session_id}/trend",
    summary="A session's readings folded into time buckets (a ward tile's sparklines)",
)
def reading_trend(
    session_id: RowId,
    _: ViewedReadings,
    db: SessionDep,
    since: Annotated[Moment, Query(description="taken_at ≥ this; at most 24 h ago")],
    bucket_seconds: Annotated[int, Query(ge=5, le=300)] = 15,
) -> ReadingTrend:
    result = service.trend_of(db, session_id, since=since, bucket_seconds=bucket_seconds)
    trend = result.trend
    return ReadingTrend(
        lines=TrendLines.model_validate(trend.lines),
        bp=[TrendBar.model_validate(b) for b in trend.bp],
        newest_taken_at=trend.newest_taken_at,
        stream_cursor=str(result.stream_cursor),
    )


@router.post(
    "/api/sessions/{session_id}/readings/{reading_id}/entered-in-error",
    summary="Mark a reading entered in error: kept in the record, gone from charts and alarms",
)
def mark_entered_in_error(
    session_id: RowId,
    reading_id: str,
    body: EnteredInErrorIn,
    actor: RecorderActor,
    _: PersonActor,
    ref: SeenSession,
    request: Request,
    db: SessionDep,
) -> ReadingPublic:
    reading = flows.mark_entered_in_error(db, session_id, reading_id, body.reason, actor)
    record_change(
        db,
        actor,
        "reading.entered_in_error",
        request,
        ref,
        target=reading_id,
        detail={"reason": body.reason[:500]},
    )
    return ReadingPublic.model_validate(reading)


@router.get("/api/vitals", summary="The vitals, units and plausibility ranges the server enforces")
def vitals_catalogue(_: CurrentActor) -> VitalsCatalogue:
    return VitalsCatalogue(
        vitals=[VitalSpecPublic.model_validate(spec) for spec in VITALS.values()],
        consciousness=CONSCIOUSNESS_LEVELS,
        sedation=SEDATION_LEVELS,
        max_batch=MAX_BATCH,
        server_time=utcnow(),
    )
