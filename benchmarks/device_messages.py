"""Device messages: what a monitor's messages cost on disk, and what pruning them costs.

    .venv/bin/python -m benchmarks.device_messages                    # SQLite, 3,600 messages
    .venv/bin/python -m benchmarks.device_messages --postgres postgresql+psycopg://postgres@127.0.0.1/postgres
    .venv/bin/python -m benchmarks.device_messages --help

A fresh, migrated database (SQLite file, or a new database on the PostgreSQL server, dropped
afterwards) receives --messages one-second reports of one monitor bound to no chair (heart rate,
SpO2 and respiratory rate, as a PCD-01 gateway sends them), each in its own unit of work through
`flows.receive_device_report`, as the MLLP listener stores them. It prints the bytes the
`device_messages` table and its indexes take per device-hour at 1 Hz (SQLite: pages in use;
PostgreSQL: pg_total_relation_size), then times the pruner's pass deleting all of them
(`devices.retention.prune`, batches of --batch), against deleting them in one plain DELETE on
an identical second copy, the same run. It asserts nothing.
"""

import argparse
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, delete, func, make_url, select, text

from backend import flows
from backend.core.database import Database
from backend.devices import retention
from backend.devices.models import DeviceMessage
from backend.devices.report import DeviceObservation, DeviceReport
from backend.migrations import upgrade
from benchmarks.cross_process import fresh_database

VITALS = (
    ("heart_rate", 72.0, 147842, "MDC_ECG_HEART_RATE", "264864^MDC_DIM_BEAT_PER_MIN"),
    ("spo2", 97.0, 150456, "MDC_PULS_OXIM_SAT_O2", "262688^MDC_DIM_PERCENT"),
    ("respiratory_rate", 14.0, 151562, "MDC_RESP_RATE", "264928^MDC_DIM_RESP_PER_MIN"),
)


def monitor_report(eui: str, at: datetime) -> DeviceReport:
    return DeviceReport(
        sender="ACME_GW^ICU",
        control_id=uuid.uuid4().hex,
        version="2.6",
        sent_at=at,
        device=eui,
        device_label="IntelliVue MX450",
        bed=None,
        observations=tuple(
            DeviceObservation(vital, value, at, code, name, unit, 4 + n)
            for n, (vital, value, code, name, unit) in enumerate(VITALS)
        ),
        skipped={},
    )


@contextmanager
def new_database(postgres: str | None, folder: Path) -> Iterator[str]:
    if postgres is None:
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    with fresh_database(postgres) as url:
        yield url


def fill(url: str, messages: int, start: datetime) -> None:
    database = Database(url)
    eui = uuid.uuid4().hex[:16].upper()
    for n in range(messages):
        at = start + timedelta(seconds=n)
        with database.unit_of_work(write=True) as db:
            flows.receive_device_report(
                db, monitor_report(eui, at), at, future_tolerance=timedelta(seconds=30)
            )
    database.dispose()


def message_bytes(url: str) -> int:
    if url.startswith("sqlite"):
        with sqlite3.connect(make_url(url).database or "") as conn:
            row = conn.execute(
                "SELECT sum(s.pgsize) FROM dbstat s JOIN sqlite_master m ON s.name = m.name"
                " WHERE m.tbl_name = 'device_messages'"
            ).fetchone()
        return int(row[0])
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE device_messages"))
        size = conn.execute(text("SELECT pg_total_relation_size('device_messages')")).scalar_one()
    engine.dispose()
    return int(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3600)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--postgres", help="a PostgreSQL server's URL (a database is made on it)")
    args = parser.parse_args()
    start = datetime.now(UTC) - timedelta(days=10)
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        urls = [stack.enter_context(new_database(args.postgres, Path(folder))) for _ in range(2)]
        for url in urls:
            upgrade(url)
            began = time.perf_counter()
            fill(url, args.messages, start)
            filled = time.perf_counter() - began
        per_hour = message_bytes(urls[0]) * 3600 / args.messages / 2**20
        print(f"stored {args.messages} messages in {filled:.1f} s (each copy is filled alike)")
        print(f"device_messages with its indexes: {per_hour:.2f} MiB per device-hour at 1 Hz")

        pruner, plain = Database(urls[0]), Database(urls[1])
        began = time.perf_counter()
        pruned = retention.prune(
            pruner, datetime.now(UTC), timedelta(hours=72), batch=args.batch, max_batches=10**6
        )
        by_pass = time.perf_counter() - began
        began = time.perf_counter()
        with plain.unit_of_work(write=True) as db:
            deleted = db.execute(delete(DeviceMessage)).rowcount  # type: ignore[attr-defined]
        by_delete = time.perf_counter() - began
        with pruner.unit_of_work(write=False) as db:
            left = db.scalar(select(func.count()).select_from(DeviceMessage))
        print(
            f"pruned {pruned.deleted} in {by_pass * 1000:.0f} ms by the pruner's pass"
            f" ({pruned.deleted / by_pass:,.0f} a second, batches of {args.batch}; {left} left);"
            f" one plain DELETE of {deleted}: {by_delete * 1000:.0f} ms"
        )
        pruner.dispose()
        plain.dispose()


if __name__ == "__main__":
    main()
