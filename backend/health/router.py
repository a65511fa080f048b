"""GET /api/health: answers whenever the service is up, with the database's state: 200 when the
database answers, 503 with Retry-After when it does not (down, full, out of connections), so a
load balancer or monitor takes the instance out and puts it back without reading the body."""

from typing import Literal

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from backend.core.database import (
    DOWN_RETRY_SECONDS,
    FULL_RETRY_SECONDS,
    Database,
    overload_of,
)
from backend.core.dependencies import DatabaseDep
from backend.core.schema import Schema

router = APIRouter(tags=["health"])


class DatabaseHealth(Schema):
    ok: bool
    dialect: str
    schema_revision: str | None
    error: str | None = None
    detail: str | None = None


class Health(Schema):
    status: Literal["ok", "degraded"]
    database: DatabaseHealth


def _check(database: Database) -> DatabaseHealth:
    try:
        with database.engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if database.disk_full():
            return DatabaseHealth(
                ok=False,
                dialect=database.dialect,
                schema_revision=revision,
                error="DiskFull",
                detail="the database's disk is full: nothing can be stored until IT frees space",
            )
        return DatabaseHealth(ok=True, dialect=database.dialect, schema_revision=revision)
    except SQLAlchemyError as exc:
        reason = overload_of(exc)
        return DatabaseHealth(
            ok=False,
            dialect=database.dialect,
            schema_revision=None,
            error=type(exc).__name__,
            detail=reason.message if reason else "the database answered with an error",
        )


@router.get(
    "/api/health",
    summary="Service and database state (no sign-in needed)",
    responses={503: {"model": Health, "description": "The database cannot serve requests"}},
)
async def health(database: DatabaseDep, response: Response) -> Health:
    db = await run_in_threadpool(_check, database)
    if not db.ok:
        response.status_code = 503
        wait = FULL_RETRY_SECONDS if db.error == "DiskFull" else DOWN_RETRY_SECONDS
        response.headers["Retry-After"] = str(wait)
    return Health(status="ok" if db.ok else "degraded", database=db)
