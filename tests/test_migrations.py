"""Migrations are the schema: they build it, they match the models, and they run both ways."""

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import TypeAdapter
from sqlalchemy import MetaData, Table, create_engine, inspect, select

from backend.alerts.limits import Discharge
from backend.migrations import downgrade, upgrade
from backend.models import Base
from tests.conftest import empty_database


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(tmp_path: Path) -> None:
    with empty_database(tmp_path) as url:
        upgrade(url)
        downgrade(url, "base")
        engine = create_engine(url)
        try:
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        finally:
            engine.dispose()
        upgrade(url)
        engine = create_engine(url)
        try:
            assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        finally:
            engine.dispose()


def test_stored_esketamine_observation_below_the_floor_is_raised_and_still_loads(
    tmp_path: Path,
) -> None:
    with empty_database(tmp_path) as url:
        upgrade(url, "0006")
        engine = create_engine(url)
        profiles = Table("limit_profiles", MetaData(), autoload_with=engine)
        limits = {"discharge": {"min_observation_min": 45, "esketamine_min_observation_min": 60}}
        try:
            with engine.begin() as conn:
                conn.execute(
                    profiles.insert().values(
                        name="brief",
                        is_default=False,
                        limits=limits,
                        updated_at=datetime.now(UTC),
                        updated_by="test",
                    )
                )
            upgrade(url)
            with engine.connect() as conn:
                stored = conn.execute(select(profiles.c.limits)).scalar_one()
        finally:
            engine.dispose()
        assert stored["discharge"] == {
            "min_observation_min": 45,
            "esketamine_min_observation_min": 120,
        }
        # The stored value loads under today's rule (below 120 it is refused).
        assert (
            TypeAdapter(Discharge).validate_python(stored["discharge"]).minimum_for("esketamine")
            == 120
        )
