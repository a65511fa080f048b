"""Serving the browser app: its pages, its static files, and plotly.js from the plotly package."""

from pathlib import Path

import plotly
from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


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
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=frontend_dir), name="static")
