"""Serving the browser app: its pages, its static files, and plotly.js from the plotly package."""

import gzip
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import plotly
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@dataclass(frozen=True)
class NavLink:
    href: str
    label: str
    # The roles that see the link; None for all. header.js shows each signed-in role its links
    # (the server refuses the others anyway: a link a role cannot use is only noise).
    roles: str | None = None


# The header's links, the same on every page: written once here, not copied into each page.
NAV = (
    NavLink("/ward", "Ward"),
    NavLink("/patients", "Patients", "admin nurse staff"),
    NavLink("/rems", "REMS forms", "admin nurse staff"),
    NavLink("/limits", "Limits"),
    NavLink("/trainer", "Trainer"),
    NavLink("/sites", "Chairs", "admin"),
    NavLink("/accounts", "Accounts", "admin"),
    NavLink("/audit", "Audit", "admin"),
    NavLink("/alarm-review", "Alarm review", "admin"),
)
NAV_PLACEHOLDER = '<nav aria-label="Main"></nav>'


def nav_html(current: str | None) -> str:
    """The header's navigation, marking the link of the page shown (`current`, its href)."""
    links = []
    for link in NAV:
        attributes = f'href="{link.href}"'
        if link.href == current:
            attributes += ' aria-current="page"'
        if link.roles is not None:
            attributes += f' data-roles="{link.roles}" hidden'
        links.append(f"<a {attributes}>{link.label}</a>")
    return f'<nav aria-label="Main">{"".join(links)}</nav>'


# A line `<!-- part: NAME -->` in a page stands for frontend/parts/NAME.html: the header, the
# patients' alarm strip and the foot bars every signed-in page shares, written once.
PART_DEPTH = 3
PART = re.compile(r"^[ \t]*<!-- part: ([a-z-]+) -->\n", re.MULTILINE)


def render_page(path: Path, current: str | None) -> bytes:
    """A page's HTML with its shared parts and the navigation (marking `current`) in place."""
    parts = path.parent / "parts"

    def part(match: re.Match[str]) -> str:
        return (parts / f"{match.group(1)}.html").read_text()

    html = path.read_text()
    # A part may be made of parts (the header: its start, then the ward's own buttons or none,
    # then its end); a few rounds put every one in place.
    for _ in range(PART_DEPTH):
        html = PART.sub(part, html)
    return html.replace(NAV_PLACEHOLDER, nav_html(current), 1).encode()


@dataclass(frozen=True)
class Bundle:
    """A large script kept in memory with its gzip form, compressed once rather than per page.
    Each form has its own strong ETag, as RFC 9110 (8.8.3) asks of different content codings."""

    body: bytes
    gzipped: bytes
    etag: str
    gzip_etag: str


_compressing = threading.Lock()


def plotly_bundle() -> Bundle:
    # Requests arriving while the first compresses (about 0.15 s) wait for it, not compress too.
    with _compressing:
        return _plotly_bundle()


@cache
def _plotly_bundle() -> Bundle:
    body = PLOTLY_JS.read_bytes()
    # mtime=0: byte-identical gzip from every worker and after every restart, so a cache (or a
    # resumed download) never meets two versions of the same tag.
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    digest = hashlib.sha256(body).hexdigest()[:32]
    return Bundle(body, gzipped, etag=f'"{digest}"', gzip_etag=f'"{digest}-gzip"')


def etag_matches(if_none_match: str, *etags: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match list against our ETags."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or any(etag in tags for etag in etags)


def serve_bundle(bundle: Bundle, media_type: str, request: Request) -> Response:
    # Like every app file it goes out "no-cache" (core/headers.py), which means "ask first", not
    # "do not keep": the browser revalidates with the ETag and gets a 304 of a few bytes instead
    # of 1.5 MB, and keeps the compiled script, so a second session page starts far sooner.
    gzipped = "gzip" in request.headers.get("accept-encoding", "")
    etag = bundle.gzip_etag if gzipped else bundle.etag
    # The identity answer gets its Vary from the GZip middleware, which adds one to what it
    # passes through uncompressed; it leaves answers that carry their own encoding alone.
    vary = {"Vary": "Accept-Encoding"}
    if etag_matches(request.headers.get("if-none-match", ""), bundle.etag, bundle.gzip_etag):
        return Response(status_code=304, headers={"ETag": etag} | vary)
    if gzipped:
        headers = {"ETag": etag, "Content-Encoding": "gzip"} | vary
        return Response(bundle.gzipped, media_type=media_type, headers=headers)
    return Response(bundle.body, media_type=media_type, headers={"ETag": etag})


def mount_frontend(app: FastAPI, frontend_dir: Path) -> None:
    pages = APIRouter(include_in_schema=False)

    def page(request: Request, name: str, current: str | None = None) -> Response:
        # Read per request (a page is a few kB): an edited page shows on the next reload.
        body = render_page(frontend_dir / name, current)
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {"Cache-Control": "no-cache", "ETag": etag}
        if etag_matches(request.headers.get("if-none-match", ""), etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)

    @pages.get("/")
    def root() -> RedirectResponse:
        return RedirectResponse("/ward")

    def add_page(path: str, name: str, current: str | None) -> None:
        def show(request: Request) -> Response:
            return page(request, name, current)

        pages.add_api_route(path, show, methods=["GET"], name=name.removesuffix(".html"))

    # Each page at its address; the header marks the link of the pages that have one.
    for name, current in (
        ("login", None),
        ("ward", "/ward"),
        ("limits", "/limits"),
        ("accounts", "/accounts"),
        ("password", None),
        ("sites", "/sites"),
        ("trainer", "/trainer"),
        ("audit", "/audit"),
        ("alarm-review", "/alarm-review"),
        ("patients", "/patients"),
        ("rems", "/rems"),
        ("devices", "/devices"),
    ):
        add_page(f"/{name}", f"{name}.html", current)

    @pages.get("/patients/{patient_id}/course")
    def course(request: Request, patient_id: int) -> Response:
        return page(request, "course.html", "/patients")

    @pages.get("/sessions/{session_id}")
    def session(request: Request, session_id: int) -> Response:
        return page(request, "session.html")

    @pages.get("/sessions/{session_id}/record")
    def record(request: Request, session_id: int) -> Response:
        # The record's viewer; the record itself stays the script-free /api/.../report.
        return page(request, "record.html")

    @pages.get("/sessions/{session_id}/rems")
    def rems_form(request: Request, session_id: int) -> Response:
        return page(request, "rems-form.html", "/rems")

    # HEAD too, as the other static files answer it (uvicorn sends no body for a HEAD).
    @pages.api_route("/static/vendor/plotly.min.js", methods=["GET", "HEAD"])
    def plotly_js(request: Request) -> Response:
        return serve_bundle(plotly_bundle(), "text/javascript", request)

    @cache
    def service_worker_script() -> str:
        # The app shell the worker keeps for a reload without a connection: every page and
        # every script, style and icon under /static, plotly included. Its version follows their
        # content, so an upgrade installs a new worker, which keeps the new files.
        files = sorted(
            f"/static/{path.relative_to(frontend_dir).as_posix()}"
            for path in frontend_dir.rglob("*")
            if path.suffix in {".js", ".css", ".svg"} and path.name != "sw.js"
        )
        shell = ["/login", "/ward", "/limits", "/trainer", "/patients", "/accounts", "/password"]
        shell += ["/sites", "/audit", "/sessions/0", *files]
        shell += ["/alarm-review", "/rems"]
        shell.append("/static/vendor/plotly.min.js")
        digest = hashlib.sha256(plotly_bundle().etag.encode())
        for name in files:
            digest.update((frontend_dir / name.removeprefix("/static/")).read_bytes())
        source = (frontend_dir / "sw.js").read_text()
        return source.replace('"__VERSION__"', f'"{digest.hexdigest()[:16]}"').replace(
            "__SHELL__", json.dumps(shell)
        )

    # At the root, so the worker's scope is the whole app; its script is always revalidated.
    @pages.get("/sw.js")
    def service_worker() -> Response:
        return Response(
            service_worker_script(),
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
        )

    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=frontend_dir), name="static")
