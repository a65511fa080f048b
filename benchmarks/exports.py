"""Exports of a long session: the PDF report, the FHIR Bundle and the CSV, against a short one.

    .venv/bin/python -m benchmarks.exports                 # a 15-minute and a 4-hour session
    .venv/bin/python -m benchmarks.exports --hours 8 --repeat 3

Starts Vigil as a uvicorn subprocess on a fresh SQLite file (as benchmarks.session_page does),
seeds a 15-minute session (the in-run baseline) and a --hours one at one reading a second
(heart rate and SpO2 every second, blood pressure every 5 minutes) through the batch API, both
still open, then asks a signed-in nurse's GET of each export of each session --repeat times and
prints the median time and the size. A record a nurse prints at the end of a long session should
take seconds, and grow with the session no faster than its readings do. It asserts nothing.
"""

import argparse
import statistics
import time
from collections.abc import Sequence

import httpx2

from benchmarks.session_page import NURSE, PASSWORD, new_session, seed, vigil_on_a_fresh_database

EXPORTS = ("report.pdf", "fhir", "readings.csv")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=4.0, help="the long session (4)")
    parser.add_argument("--repeat", type=int, default=1, help="timings per export (median)")
    args = parser.parse_args(argv)
    sessions = (("15 min", 900), (f"{args.hours:g} h", int(args.hours * 3600)))
    with vigil_on_a_fresh_database("vigil-exports-") as vigil:
        ids = {}
        for name, seconds in sessions:
            ids[name] = new_session(vigil.db_url, name)
            seed(vigil.client, ids[name], seconds)
        with httpx2.Client(base_url=vigil.server.base_url, timeout=600) as nurse:
            login = nurse.post("/api/auth/login", json={"username": NURSE, "password": PASSWORD})
            login.raise_for_status()
            print(f"{'export':14} {'session':>8} {'readings':>9} {'seconds':>8} {'MiB':>7}")
            for export in EXPORTS:
                for name, seconds in sessions:
                    times, size = [], 0
                    for _ in range(args.repeat):
                        began = time.perf_counter()
                        response = nurse.get(f"/api/sessions/{ids[name]}/{export}")
                        times.append(time.perf_counter() - began)
                        response.raise_for_status()
                        size = len(response.content)
                    print(
                        f"{export:14} {name:>8} {seconds:9,} {statistics.median(times):8.2f}"
                        f" {size / 2**20:7.2f}"
                    )


if __name__ == "__main__":
    main()
