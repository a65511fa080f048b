"""GET /api/health: answers whenever the service is up, with the database's state."""

from typing import Literal

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from backend.core.database import Database
from backend.core.dependencies import DatabaseDep
from backend.core.schema import Schema

router = APIRouter(tags=["health"])


class DatabaseHealth(Schema):
    ok: bool
    dialect: str
    schema_revision: str | None
    error: str | None = None


class Health(Schema):
    status: Literal["ok", "degraded"]
    database: DatabaseHealth


def _check(database: Database) -> DatabaseHealth:
    try:
        with database.engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return DatabaseHealth(ok=True, dialect=database.dialect, schema_revision=revision)
    except SQLAlchemyError as exc:
        return DatabaseHealth(
            ok=False, dialect=database.dialect, schema_revision=None, error=type(exc).__name__
        )


@router.get("/api/health", summary="Service and database state (no sign-in needed)")
async def health(database: DatabaseDep) -> Health:
    db = await run_in_threadpool(_check, database)
    return Health(status="ok" if db.ok else "degraded", database=db)
