"""gzip for what is read, not for what is written."""

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

READS = frozenset({"GET", "HEAD"})


class CompressReads:
    """Starlette's gzip for GET and HEAD (history pages, reports, the app's files); a write
    (a reading POST, every monitor's every second) passes straight by. Its answer is small, and
    the gzip layer's wrapping of every response cost about a tenth of the event loop's time a
    reading, compressing nothing."""

    def __init__(self, app: ASGIApp, minimum_size: int = 500, compresslevel: int = 9) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=compresslevel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in READS:
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
