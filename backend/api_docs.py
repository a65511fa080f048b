"""Interactive API documentation at /docs, served from the swagger-ui-bundle package.

FastAPI's default page loads Swagger UI from a CDN, which an offline clinic network cannot reach
and Vigil's Content-Security-Policy would refuse; these assets come from the installed package.
"""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Vigil API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  withCredentials: true,
});
"""


def mount_api_docs(app: FastAPI) -> None:
    docs = APIRouter(include_in_schema=False)

    @docs.get("/docs")
    def page() -> HTMLResponse:
        return HTMLResponse(_PAGE)

    @docs.get("/docs/init.js")
    def init() -> Response:
        return Response(_INIT, media_type="text/javascript")

    app.include_router(docs)
    app.mount("/docs/assets", StaticFiles(directory=Path(swagger_ui_path)), name="api-docs")
