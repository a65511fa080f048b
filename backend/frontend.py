"""Serving the browser app: its pages, its static files, and plotly.js from the plotly package."""

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import plotly
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@dataclass(frozen=True)
class Bundle:
    """A large script kept in memory with its gzip form, compressed once rather than per page."""

    body: bytes
    gzipped: bytes
    etag: str


@cache
def plotly_bundle() -> Bundle:
    body = PLOTLY_JS.read_bytes()
    # mtime=0: the same bytes on every start, so the ETag below holds across restarts.
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return Bundle(body, gzipped, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match list against our strong ETag."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def serve_bundle(bundle: Bundle, media_type: str, request: Request) -> Response:
    # Like every app file it goes out "no-cache" (core/headers.py), which means "ask first", not
    # "do not keep": the browser revalidates with the ETag and gets a 304 of a few bytes instead
    # of 1.4 MB, and keeps the compiled script, so a second session page starts far sooner.
    headers = {"ETag": bundle.etag, "Vary": "Accept-Encoding"}
    if matches(request.headers.get("if-none-match", ""), bundle.etag):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(bundle.gzipped, media_type=media_type, headers=headers)
    return Response(bundle.body, media_type=media_type, headers=headers)


def mount_frontend(app: FastAPI, frontend_dir: Path) -> None:
    pages = APIRouter(include_in_schema=False)

    def page(name: str) -> FileResponse:
        return FileResponse(frontend_dir / name, headers={"Cache-Control": "no-cache"})

    @pages.get("/")
    def root() -> RedirectResponse:
        return RedirectResponse("/ward")

    @pages.get("/login")
    def login() -> FileResponse:
        return page("login.html")

    @pages.get("/ward")
    def ward() -> FileResponse:
        return page("ward.html")

    @pages.get("/limits")
    def limits() -> FileResponse:
        return page("limits.html")

    @pages.get("/trainer")
    def trainer() -> FileResponse:
        return page("trainer.html")

    @pages.get("/sessions/{session_id}")
    def session(session_id: int) -> FileResponse:
        return page("session.html")

    @pages.get("/static/vendor/plotly.min.js")
    def plotly_js(request: Request) -> Response:
        return serve_bundle(plotly_bundle(), "text/javascript", request)

    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=frontend_dir), name="static")
