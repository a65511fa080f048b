"""Session page benchmark: a 4-hour session at one reading a second, opened in headless Chromium.

Starts Vigil as a uvicorn subprocess on a fresh SQLite file, seeds a long session (heart rate and
SpO2 every second, blood pressure every 5 minutes, 14,400 readings by default) and a 15-minute
one as the in-run baseline, through the batch API. For each it opens the session page in Debian's
Chromium (headless, --disable-gpu, as the browser tests do) and measures

  * the time from navigation to the first chart drawn, and until every seeded heart rate point
    is held by the chart;
  * while live readings keep arriving at 1 Hz for --live seconds: the main thread's long tasks
    (PerformanceObserver 'longtask': count, total and longest) and the worst lateness of a
    100 ms timer (how long a tap could wait), and whether every live point reached the chart.

It prints a table (and with --json writes the figures). It asserts nothing about speed.
Run from the repository root:  .venv/bin/python -m benchmarks.session_page --help
"""

import argparse
import json
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from playwright.sync_api import BrowserContext, Page, ViewportSize, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import flows
from backend.core.database import Database
from backend.core.roles import Role
from backend.migrations import upgrade
from backend.patients import service as patients
from backend.patients.schemas import PatientCreate
from backend.sessions.schemas import Drug, Route, SessionCreate
from backend.sites import service as sites
from backend.sites.models import Room
from backend.sites.schemas import ChairCreate, RoomCreate, SiteCreate
from backend.users import service as users
from benchmarks.ingest import Server, running, server_env, vigil_command

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
NURSE = "bench-nurse"
PASSWORD = secrets.token_urlsafe(16)  # a throwaway database: any password will do
BATCH = 1000  # the batch API's limit
BENCH_ROOM = "Benchmark room"
BP_EVERY_S = 300
LOAD_TIMEOUT_MS = 120_000

# Installed before the page's own scripts: long tasks and timer lateness from the start.
WATCH = """
window.__bench = { longtasks: [], lateness: [] };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__bench.longtasks.push([e.startTime, e.duration]);
}).observe({ type: 'longtask', buffered: true });
(() => {
  let expected = performance.now() + 100;
  setInterval(() => {
    const now = performance.now();
    window.__bench.lateness.push([now, Math.max(0, now - expected)]);
    expected = now + 100;
  }, 100);
})();
"""

FIRST_DRAW = """() => {
  const gd = document.getElementById('vitals-chart');
  return gd && gd.data && gd.querySelector('.main-svg') ? performance.now() : false;
}"""

ALL_DRAWN = """(count) => {
  const gd = document.getElementById('vitals-chart');
  const t = gd && gd.data && gd.data.find((t) => t.uid === 'heart_rate');
  if (!t) return false;
  let n = 0;
  for (const y of t.y) if (y !== null) n += 1;
  return n >= count ? performance.now() : false;
}"""

HISTORY_FETCH = """() => performance.getEntriesByType('resource')
  .filter((e) => /\\/readings\\?/.test(e.name))
  .reduce((sum, e) => sum + e.duration, 0)"""

HR_POINTS = """() => {
  const t = document.getElementById('vitals-chart').data.find((t) => t.uid === 'heart_rate');
  return t.y.filter((y) => y !== null).length;
}"""


@dataclass
class PageFigures:
    name: str
    readings: int
    seed_seconds: float
    history_fetch_ms: float
    first_draw_ms: float
    all_drawn_ms: float
    load_longtasks: int
    load_longest_ms: float
    live_seconds: float
    live_readings: int
    live_points_held: bool
    live_longtasks: int
    live_longtask_total_ms: float
    live_longest_ms: float
    live_timer_late_max_ms: float


def prepare(workdir: Path) -> tuple[str, str]:
    """Migrate a fresh database with a nurse (password sign-in) and a token. (url, token)"""
    url = f"sqlite:///{workdir / 'vigil.db'}"
    upgrade(url)
    database = Database(url)
    try:
        with database.unit_of_work(write=True) as db:
            users.create_user(db, NURSE, PASSWORD, Role.NURSE)
            _, secret = users.create_token(db, "benchmark", Role.NURSE)
    finally:
        database.dispose()
    return url, secret


@dataclass(frozen=True)
class Vigil:
    """Vigil running for a benchmark: its server, database URL, working directory, and an API
    client holding a nurse's token."""

    server: Server
    db_url: str
    workdir: Path
    client: httpx2.Client


@contextmanager
def vigil_on_a_fresh_database(prefix: str) -> Iterator[Vigil]:
    """Vigil as a uvicorn subprocess on a new SQLite file in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = Path(tmp)
        url, token = prepare(workdir)
        server = Server("vigil", vigil_command(), server_env({"VIGIL_DATABASE_URL": url}), workdir)
        auth = {"Authorization": f"Bearer {token}"}
        with (
            running(server),
            httpx2.Client(base_url=server.base_url, headers=auth, timeout=60) as client,
        ):
            yield Vigil(server, url, workdir, client)


def sign_in(context: BrowserContext, base_url: str) -> None:
    """Sign a browser context in as the benchmark's nurse (a session cookie, as a nurse has)."""
    login = context.request.post(
        f"{base_url}/api/auth/login", data={"username": NURSE, "password": PASSWORD}
    )
    if not login.ok:
        raise RuntimeError(f"sign-in failed: {login.status} {login.text()}")


def configured_chair(db: Session, name: str) -> int:
    """A chair called `name` in the benchmark's one room (sessions start on configured chairs)."""
    room = db.scalar(select(Room).where(Room.name == BENCH_ROOM))
    if room is None:
        site = sites.create_site(db, SiteCreate(name="Benchmark clinic"))
        room = sites.create_room(db, site.id, RoomCreate(name=BENCH_ROOM))
    return sites.create_chair(db, ChairCreate(room_id=room.id, name=name)).id


def new_session(url: str, name: str) -> int:
    """A session on a new patient, on a new chair called `name`."""
    database = Database(url)
    try:
        with database.unit_of_work(write=True) as db:
            token, _ = users.create_token(db, f"bench-{name}", Role.NURSE)
            patient = patients.create_patient(
                db, PatientCreate(clinic_id=f"BENCH-{uuid.uuid4().hex[:8]}", display_name=name)
            )
            session = flows.start_session(
                db,
                SessionCreate(
                    patient_id=patient.id,
                    chair_id=configured_chair(db, name),
                    drug=Drug.KETAMINE,
                    route=Route.IV,
                ),
                users.token_actor(token),
            )
            return session.id
    finally:
        database.dispose()


def reading(moment: datetime, second: int) -> dict[str, Any]:
    """Plausible values well inside the default limits, so the seed raises no alarm."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "taken_at": moment.isoformat(),
        "source": "device",
        "heart_rate": 72 + (second // 7) % 9,
        "spo2": 96 + (second // 31) % 3,
    }
    if second % BP_EVERY_S == 0:
        body |= {"systolic": 118 + (second // BP_EVERY_S) % 10, "diastolic": 76}
    return body


def seed(client: httpx2.Client, session_id: int, seconds: int) -> float:
    """`seconds` readings, one a second, ending just now, through the batch API. Seconds taken."""
    started = time.perf_counter()
    end = datetime.now(UTC) - timedelta(seconds=2)
    bodies = [reading(end - timedelta(seconds=seconds - i), i) for i in range(seconds)]
    for i in range(0, len(bodies), BATCH):
        response = client.post(
            f"/api/sessions/{session_id}/readings/batch", json={"readings": bodies[i : i + BATCH]}
        )
        response.raise_for_status()
    return time.perf_counter() - started


class Feed:
    """Live readings for every chair, one a second each, posted from a thread."""

    def __init__(self, client: httpx2.Client, session_ids: list[int], seconds: float) -> None:
        self.client = client
        self.session_ids = session_ids
        self.seconds = seconds
        self.sent: dict[str, int] = {}  # reading id -> session id
        self.last: dict[int, datetime] = {}  # session id -> newest taken_at sent
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.feed, daemon=True)

    def feed(self) -> None:
        start = time.monotonic()
        i = 0
        while not self.stop.is_set() and time.monotonic() - start < self.seconds:
            for session_id in self.session_ids:
                moment = datetime.now(UTC)
                body = reading(moment, 1 + i)
                try:
                    response = self.client.post(f"/api/sessions/{session_id}/readings", json=body)
                    response.raise_for_status()
                except httpx2.HTTPError as error:
                    self.errors.append(str(error))
                    continue
                self.sent[body["id"]] = session_id
                self.last[session_id] = moment
            i += 1
            self.stop.wait(max(0.0, start + i - time.monotonic()))


@contextmanager
def feeding(client: httpx2.Client, session_ids: list[int], seconds: float) -> Iterator[Feed]:
    feed = Feed(client, session_ids, seconds)
    feed.thread.start()
    try:
        yield feed
    finally:
        feed.stop.set()
        feed.thread.join(timeout=10)


def measure_page(
    page: Page,
    server: Server,
    db_url: str,
    client: httpx2.Client,
    name: str,
    seconds: int,
    live: float,
) -> PageFigures:
    session_id = new_session(db_url, name)
    seed_seconds = seed(client, session_id, seconds)
    page.goto(f"{server.base_url}/sessions/{session_id}")
    first = float(
        page.wait_for_function(FIRST_DRAW, timeout=LOAD_TIMEOUT_MS, polling="raf").json_value()
    )
    drawn = float(
        page.wait_for_function(
            ALL_DRAWN, arg=seconds, timeout=LOAD_TIMEOUT_MS, polling="raf"
        ).json_value()
    )
    page.wait_for_selector("#live-status[data-state='live']", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_timeout(1000)
    load_tasks: list[list[float]] = page.evaluate("() => window.__bench.longtasks.slice()")
    fetched = float(page.evaluate(HISTORY_FETCH))
    live_from = float(page.evaluate("() => performance.now()"))
    with feeding(client, [session_id], live) as feed:
        feed.thread.join()
    if feed.errors:
        raise RuntimeError(f"a live reading was refused: {feed.errors[0]}")
    page.wait_for_timeout(1500)  # the last reading's event and flush
    held = int(page.evaluate(HR_POINTS))
    bench: dict[str, list[list[float]]] = page.evaluate("() => window.__bench")
    tasks = [d for start, d in bench["longtasks"] if start >= live_from]
    late = [d for at, d in bench["lateness"] if at >= live_from]
    return PageFigures(
        name=name,
        readings=seconds,
        seed_seconds=round(seed_seconds, 1),
        history_fetch_ms=round(fetched),
        first_draw_ms=round(first),
        all_drawn_ms=round(drawn),
        load_longtasks=len(load_tasks),
        load_longest_ms=round(max((d for _, d in load_tasks), default=0.0)),
        live_seconds=live,
        live_readings=len(feed.sent),
        live_points_held=held >= seconds + len(feed.sent),
        live_longtasks=len(tasks),
        live_longtask_total_ms=round(sum(tasks)),
        live_longest_ms=round(max(tasks, default=0.0)),
        live_timer_late_max_ms=round(max(late, default=0.0)),
    )


ROWS = [
    ("readings seeded", "readings", ""),
    ("seeding through the batch API", "seed_seconds", "s"),
    ("history requests (server + transfer)", "history_fetch_ms", "ms"),
    ("navigation → first chart drawn", "first_draw_ms", "ms"),
    ("navigation → all points held", "all_drawn_ms", "ms"),
    ("long tasks while loading", "load_longtasks", ""),
    ("longest task while loading", "load_longest_ms", "ms"),
    ("live readings at 1 Hz", "live_readings", ""),
    ("every live point on the chart", "live_points_held", ""),
    ("long tasks while live", "live_longtasks", ""),
    ("long tasks' total while live", "live_longtask_total_ms", "ms"),
    ("longest task while live", "live_longest_ms", "ms"),
    ("worst lateness of a 100 ms timer", "live_timer_late_max_ms", "ms"),
]


def print_table(figures: Sequence[Any], rows: Sequence[tuple[str, str, str]]) -> None:
    """One column per case (its `name`), one line per (label, attribute, unit) of `rows`."""
    width = max(len(label) for label, _, _ in rows) + 2
    print()
    print("".ljust(width) + "".join(f.name.rjust(16) for f in figures))
    for label, key, unit in rows:
        cells = "".join(f"{getattr(f, key)!s:>12} {unit:<3}" for f in figures)
        print(label.ljust(width) + cells)


def report(figures: list[PageFigures]) -> None:
    print_table(figures, ROWS)


def collect_errors(page: Page) -> list[str]:
    """The page's uncaught errors, as they happen."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=4.0, help="the long session (default 4)")
    parser.add_argument("--live", type=float, default=30.0, help="seconds of 1 Hz live readings")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    return parser


def run(args: argparse.Namespace) -> list[PageFigures]:
    with vigil_on_a_fresh_database("vigil-page-bench-") as vigil, sync_playwright() as p:
        server, url, client = vigil.server, vigil.db_url, vigil.client
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        figures = []
        try:
            for name, seconds in (
                ("15 min", 15 * 60),
                (f"{args.hours:g} h", int(args.hours * 3600)),
            ):
                context = browser.new_context(viewport=VIEWPORT)
                context.add_init_script(WATCH)
                sign_in(context, server.base_url)
                page = context.new_page()
                errors = collect_errors(page)
                print(f"{name}: seeding {seconds} readings, then opening the page…", flush=True)
                figures.append(measure_page(page, server, url, client, name, seconds, args.live))
                if errors:
                    print(f"  uncaught errors in the page: {errors[:3]}")
                context.close()
        finally:
            browser.close()
    return figures


def save_figures(figures: Sequence[Any], path: Path | None) -> None:
    """With --json: the figures (dataclasses) written to `path` as JSON."""
    if path:
        path.write_text(json.dumps([asdict(f) for f in figures], indent=2) + "\n")
        print(f"\nFigures written to {path}")


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    figures = run(args)
    report(figures)
    save_figures(figures, args.json)


if __name__ == "__main__":
    main()
