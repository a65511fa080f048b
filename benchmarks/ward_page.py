"""Ward page benchmark: the wall display with many busy chairs, opened in headless Chromium.

For each case it starts Vigil as a uvicorn subprocess on a fresh SQLite file, starts --chairs
sessions (12 by default) and seeds each with --minutes (30) of history at one reading a second
(heart rate and SpO2 every second, blood pressure every 5 minutes) through the batch API. The
in-run baseline is the same with --baseline-chairs (1). It then opens /ward?display=wall at
1920×1080 in Debian's Chromium (headless, --disable-gpu, as the browser tests do), signed in as a
nurse, and measures

  * the time from navigation until every chair's tile is on the page, and until every tile's
    30-minute trend is loaded (`data-trend="loaded"`, set by ward.js once its buckets are in);
  * the API requests the page made while loading, and their bytes (resource timing:
    `encodedBodySize` as sent, gzip included, and `decodedBodySize`);
  * the main thread's long tasks while loading (PerformanceObserver 'longtask');
  * while live readings keep arriving at 1 Hz for every chair for --live seconds: the long tasks,
    the worst lateness of a 100 ms timer (how long a tap could wait), and whether every live
    reading reached the page's WebSocket and every tile shows its chair's newest heart rate.

It prints a table (and with --json writes the figures). It asserts nothing about speed.
Run from the repository root:  .venv/bin/python -m benchmarks.ward_page --help
"""

import argparse
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, ViewportSize, WebSocket, sync_playwright

from benchmarks.session_page import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOAD_TIMEOUT_MS,
    WATCH,
    collect_errors,
    feeding,
    new_session,
    print_table,
    save_figures,
    seed,
    sign_in,
    vigil_on_a_fresh_database,
)

VIEWPORT: ViewportSize = {"width": 1920, "height": 1080}
TREND_S = 30 * 60  # the ward tile's trend window (TREND_MINUTES in frontend/js/ward-trend.js)
MB = 1_000_000

# Keep every resource entry: the default buffer of 250 would fill during the live phase.
KEEP_RESOURCES = "performance.setResourceTimingBufferSize(100000);"

TILES_SHOWN = """(count) =>
  document.querySelectorAll('.tile[data-session-id]').length >= count ? performance.now() : false"""

TRENDS_LOADED = """(count) =>
  document.querySelectorAll('.tile[data-session-id][data-trend="loaded"]').length >= count
    ? performance.now() : false"""

API_ENTRIES = """() => performance.getEntriesByType('resource')
  .map((e) => [new URL(e.name).pathname, e.startTime, e.encodedBodySize, e.decodedBodySize])
  .filter(([path]) => path.startsWith('/api/'))"""

TILE_STATE = """() => [...document.querySelectorAll('.tile[data-session-id]')].map((tile) => {
  const hr = tile.querySelector(".vital[data-vital='heart_rate']");
  const takenAt = hr ? hr.dataset.takenAt || null : null;
  return [Number(tile.dataset.sessionId), tile.dataset.trend, takenAt];
})"""


@dataclass
class WardFigures:
    name: str
    chairs: int
    readings: int  # seeded, all chairs
    readings_in_window: int  # of those, inside the tiles' 30-minute window at navigation (±1 s)
    seed_seconds: float
    tiles_ms: float
    trends_ms: float
    api_requests: int
    api_wire_mb: float
    api_decoded_mb: float
    load_longtasks: int
    load_longtask_total_ms: float
    load_longest_ms: float
    live_seconds: float
    live_readings: int
    live_events_received: int
    live_tiles_current: int
    live_ok: bool
    live_api_requests: int
    live_longtasks: int
    live_longtask_total_ms: float
    live_longest_ms: float
    live_timer_late_max_ms: float
    load_requests_by_path: dict[str, list[float]] = field(default_factory=dict)
    page_errors: list[str] = field(default_factory=list)


def watch_readings(page: Page) -> set[str]:
    """The ids of `reading.created` events that reach the page's WebSockets."""
    seen: set[str] = set()

    def frame(payload: str | bytes) -> None:
        text = payload.decode() if isinstance(payload, bytes) else payload
        if '"reading.created"' not in text:
            return
        message = json.loads(text)
        if message.get("kind") == "reading.created":
            seen.add(str(message["data"]["id"]))

    def opened(ws: WebSocket) -> None:
        ws.on("framereceived", frame)

    page.on("websocket", opened)
    return seen


def path_pattern(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


def by_path(entries: list[list[Any]]) -> dict[str, list[float]]:
    """{path pattern: [requests, MB on the wire, MB decoded]}, heaviest first."""
    groups: dict[str, list[float]] = {}
    for path, _, wire, decoded in entries:
        group = groups.setdefault(path_pattern(path), [0, 0.0, 0.0])
        group[0] += 1
        group[1] += wire / MB
        group[2] += decoded / MB
    ordered = sorted(groups.items(), key=lambda item: -item[1][2])
    return {k: [int(v[0]), round(v[1], 3), round(v[2], 3)] for k, v in ordered}


def measure_ward(
    browser: Browser, name: str, chairs: int, seconds: int, live: float
) -> WardFigures:
    with vigil_on_a_fresh_database("vigil-ward-bench-") as vigil:
        server, url, client = vigil.server, vigil.db_url, vigil.client
        print(f"{name}: seeding {chairs} × {seconds} readings…", flush=True)
        started = time.perf_counter()
        session_ids: list[int] = []
        ends: list[datetime] = []  # each chair's history ends ~2 s before its seeding starts
        for chair in range(1, chairs + 1):
            session_ids.append(new_session(url, f"Chair {chair}"))
            ends.append(datetime.now(UTC) - timedelta(seconds=2))
            seed(client, session_ids[-1], seconds)
        seed_seconds = time.perf_counter() - started

        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(KEEP_RESOURCES + WATCH)
        sign_in(context, server.base_url)
        page = context.new_page()
        errors = collect_errors(page)
        received = watch_readings(page)
        print(f"{name}: opening the ward…", flush=True)
        navigated = datetime.now(UTC)
        page.goto(f"{server.base_url}/ward?display=wall", wait_until="commit")
        shown = float(
            page.wait_for_function(
                TILES_SHOWN, arg=chairs, timeout=LOAD_TIMEOUT_MS, polling="raf"
            ).json_value()
        )
        loaded = float(
            page.wait_for_function(
                TRENDS_LOADED, arg=chairs, timeout=LOAD_TIMEOUT_MS, polling="raf"
            ).json_value()
        )
        page.wait_for_selector("#live-status[data-state='live']", timeout=LOAD_TIMEOUT_MS)
        page.wait_for_timeout(1000)
        load_tasks: list[list[float]] = page.evaluate("() => window.__bench.longtasks.slice()")
        load_entries: list[list[Any]] = page.evaluate(API_ENTRIES)
        live_from = float(page.evaluate("() => performance.now()"))

        print(f"{name}: {live:g} s of live readings for every chair…", flush=True)
        with feeding(client, session_ids, live) as feed:
            while feed.thread.is_alive():  # Playwright hands over WebSocket frames meanwhile
                page.wait_for_timeout(250)
        page.wait_for_timeout(1500)  # the last readings' events and the tiles' redraw
        bench: dict[str, list[list[float]]] = page.evaluate("() => window.__bench")
        entries: list[list[Any]] = page.evaluate(API_ENTRIES)
        tiles: list[list[Any]] = page.evaluate(TILE_STATE)
        context.close()

    window_from = navigated - timedelta(seconds=TREND_S)
    in_window = sum(max(0, min(seconds, int((end - window_from).total_seconds()))) for end in ends)
    current = 0
    for session_id, trend, taken_at in tiles:
        newest = feed.last.get(session_id)
        if trend == "loaded" and taken_at and newest is not None:
            shown_at = datetime.fromisoformat(taken_at.replace("Z", "+00:00"))
            current += abs((shown_at - newest).total_seconds()) < 0.001
    arrived = sum(1 for reading_id in feed.sent if reading_id in received)
    tasks = [d for start, d in bench["longtasks"] if start >= live_from]
    late = [d for at, d in bench["lateness"] if at >= live_from]
    load_durations = [d for _, d in load_tasks]
    if feed.errors:
        print(f"  failed live POSTs: {len(feed.errors)}, e.g. {feed.errors[0]}")
    if errors:
        print(f"  uncaught errors in the page: {errors[:3]}")
    return WardFigures(
        name=name,
        chairs=chairs,
        readings=chairs * seconds,
        readings_in_window=in_window,
        seed_seconds=round(seed_seconds, 1),
        tiles_ms=round(shown),
        trends_ms=round(loaded),
        api_requests=len(load_entries),
        api_wire_mb=round(sum(e[2] for e in load_entries) / MB, 2),
        api_decoded_mb=round(sum(e[3] for e in load_entries) / MB, 2),
        load_longtasks=len(load_durations),
        load_longtask_total_ms=round(sum(load_durations)),
        load_longest_ms=round(max(load_durations, default=0.0)),
        live_seconds=live,
        live_readings=len(feed.sent),
        live_events_received=arrived,
        live_tiles_current=current,
        live_ok=not feed.errors and arrived == len(feed.sent) and current == chairs,
        live_api_requests=sum(1 for e in entries if e[1] >= live_from),
        live_longtasks=len(tasks),
        live_longtask_total_ms=round(sum(tasks)),
        live_longest_ms=round(max(tasks, default=0.0)),
        live_timer_late_max_ms=round(max(late, default=0.0)),
        load_requests_by_path=by_path(load_entries),
        page_errors=errors[:10],
    )


ROWS = [
    ("chairs", "chairs", ""),
    ("readings seeded", "readings", ""),
    ("  of which in the 30-min trend window", "readings_in_window", ""),
    ("seeding through the batch API", "seed_seconds", "s"),
    ("navigation → every tile shown", "tiles_ms", "ms"),
    ("navigation → every trend loaded", "trends_ms", "ms"),
    ("API requests while loading", "api_requests", ""),
    ("API bytes while loading, as sent", "api_wire_mb", "MB"),
    ("API bytes while loading, decoded", "api_decoded_mb", "MB"),
    ("long tasks while loading", "load_longtasks", ""),
    ("long tasks' total while loading", "load_longtask_total_ms", "ms"),
    ("longest task while loading", "load_longest_ms", "ms"),
    ("live readings at 1 Hz (all chairs)", "live_readings", ""),
    ("  of which reached the page", "live_events_received", ""),
    ("tiles showing their newest reading", "live_tiles_current", ""),
    ("live points received OK", "live_ok", ""),
    ("API requests while live", "live_api_requests", ""),
    ("long tasks while live", "live_longtasks", ""),
    ("long tasks' total while live", "live_longtask_total_ms", "ms"),
    ("longest task while live", "live_longest_ms", "ms"),
    ("worst lateness of a 100 ms timer", "live_timer_late_max_ms", "ms"),
]


def report(figures: list[WardFigures]) -> None:
    print_table(figures, ROWS)
    for f in figures:
        print(f"\n{f.name}: API requests while loading (requests, MB as sent, MB decoded)")
        for path, (count, wire, decoded) in f.load_requests_by_path.items():
            print(f"  {path:<40} {int(count):>4} {wire:>9.3f} {decoded:>9.3f}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chairs", type=int, default=12, help="busy chairs (default 12)")
    parser.add_argument(
        "--baseline-chairs", type=int, default=1, help="chairs in the in-run baseline (default 1)"
    )
    parser.add_argument(
        "--minutes", type=float, default=30.0, help="history per chair at 1 Hz (default 30)"
    )
    parser.add_argument("--live", type=float, default=20.0, help="seconds of 1 Hz live readings")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    return parser


def run(args: argparse.Namespace) -> list[WardFigures]:
    seconds = int(args.minutes * 60)
    cases = [
        (f"{args.baseline_chairs} (baseline)", args.baseline_chairs),
        (f"{args.chairs} chairs", args.chairs),
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            return [
                measure_ward(browser, name, chairs, seconds, args.live) for name, chairs in cases
            ]
        finally:
            browser.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    figures = run(args)
    report(figures)
    save_figures(figures, args.json)


if __name__ == "__main__":
    main()
