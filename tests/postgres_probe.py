"""Print the PostgreSQL URL the suite should run against, or nothing when none is reachable.

Exits non-zero when VIGIL_REQUIRE_POSTGRES=1 (as in CI) and no server answers.
"""

import os
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def reachable(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def main() -> int:
    url = os.environ.get("VIGIL_TEST_POSTGRES_URL") or DEFAULT_URL
    if reachable(url):
        print(url)
        return 0
    if os.environ.get("VIGIL_REQUIRE_POSTGRES") == "1":
        print(f"PostgreSQL is required but not reachable at {url}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
