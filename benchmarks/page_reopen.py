"""Reopening the session page: what a browser that keeps its cache saves on each later opening.

Starts Vigil as a uvicorn subprocess on a fresh SQLite file and seeds one session with --minutes
(15) of readings at one a second through the batch API. It then opens that session page
--openings (5) times, one after another, signed in as a nurse, in Debian's Chromium (headless,
--disable-gpu, as the browser tests do), two ways:

  * **fresh**, the in-run baseline: each opening in a new incognito context, as a browser that
    keeps nothing would (an incognito context has no disk cache and no code cache);
  * **kept profile**: every opening in one browser profile on disk, as a clinic's tablet would.

For each opening it measures the time from navigation until the page's scripts have run
(DOMContentLoaded: plotly.js and the page's modules fetched, compiled and run), until the first
chart is drawn, and the bytes plotly.js cost on the wire (a 304 is a few hundred).

It prints a table (and with --json writes the figures). It asserts nothing about speed.
Run from the repository root:  .venv/bin/python -m benchmarks.page_reopen --help
"""

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import BrowserContext, sync_playwright

from benchmarks.session_page import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FIRST_DRAW,
    LOAD_TIMEOUT_MS,
    VIEWPORT,
    new_session,
    save_figures,
    seed,
    sign_in,
    vigil_on_a_fresh_database,
)

OPENING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const plotly = performance.getEntriesByType('resource').find((e) => e.name.includes('plotly'));
  return { ready: nav.domContentLoadedEventEnd, plotlyBytes: plotly ? plotly.transferSize : -1 };
}"""


@dataclass
class Opening:
    way: str
    opening: int
    scripts_ready_ms: float
    first_chart_ms: float
    plotly_bytes: int


def open_once(context: BrowserContext, url: str, way: str, opening: int) -> Opening:
    page = context.new_page()
    try:
        page.goto(url)
        first = float(
            page.wait_for_function(FIRST_DRAW, timeout=LOAD_TIMEOUT_MS, polling="raf").json_value()
        )
        figures = page.evaluate(OPENING)
        return Opening(
            way=way,
            opening=opening,
            scripts_ready_ms=round(figures["ready"]),
            first_chart_ms=round(first),
            plotly_bytes=int(figures["plotlyBytes"]),
        )
    finally:
        # Left blank rather than closed: Chromium can swallow the close of a page in a kept
        # profile and Playwright's page.close() then waits for ever (playwright#42068).
        page.goto("about:blank")


def report(figures: Sequence[Opening]) -> None:
    print()
    print(f"{'opening':>8}  {'way':<13}{'scripts ready':>15}{'first chart':>13}{'plotly.js':>14}")
    for f in sorted(figures, key=lambda f: (f.opening, f.way)):
        print(
            f"{f.opening:>8}  {f.way:<13}{f.scripts_ready_ms:>12} ms{f.first_chart_ms:>10} ms"
            f"{f.plotly_bytes:>10,} B"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=int, default=15, help="the session's history")
    parser.add_argument("--openings", type=int, default=5, help="openings each way")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    return parser


def run(args: argparse.Namespace) -> list[Opening]:
    figures: list[Opening] = []
    with vigil_on_a_fresh_database("vigil-reopen-bench-") as vigil, sync_playwright() as p:
        server = vigil.server
        session_id = new_session(vigil.db_url, "reopen")
        seed(vigil.client, session_id, args.minutes * 60)
        page_url = f"{server.base_url}/sessions/{session_id}"

        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for opening in range(1, args.openings + 1):
                context = browser.new_context(viewport=VIEWPORT)
                sign_in(context, server.base_url)
                figures.append(open_once(context, page_url, "fresh", opening))
                context.close()
        finally:
            browser.close()

        kept = p.chromium.launch_persistent_context(
            vigil.workdir / "profile",
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        try:
            sign_in(kept, server.base_url)
            for opening in range(1, args.openings + 1):
                figures.append(open_once(kept, page_url, "kept profile", opening))
        finally:
            kept.close()
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    figures = run(args)
    report(figures)
    save_figures(figures, args.json)


if __name__ == "__main__":
    main()
