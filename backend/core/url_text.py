"""NUL in an address (the path or a query parameter) is refused before routing, as a 422 naming
the parameter: a body's text is checked by the Schema base, an address's here, once for every
route, page and stream, so no route hands a NUL to PostgreSQL (which cannot store or compare it)."""

from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.core.errors import echo
from backend.core.fields import text_error, unencodable


class AddressText:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = _problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            # Closing before accepting is answered 403 by the server: the handshake is refused.
            await send({"type": "websocket.close", "code": 1008, "reason": "NUL in the address"})
        else:
            loc, bad = problem
            kind, template, context = text_error(bad)
            msg = template.format(**context)
            error = {"type": kind, "loc": list(loc), "msg": msg, "input": echo(bad)}
            response = JSONResponse(
                status_code=422,
                content={"detail": [error], "message": f"{'.'.join(loc[1:]) or loc[0]}: {msg}"},
            )
            await response(scope, receive, send)


def _problem(scope: Scope) -> tuple[tuple[str, ...], str] | None:
    """Where the address holds text that is not storable, and that text."""
    path: str = scope.get("path", "")
    if (bad := unencodable(path)) is not None:
        return ("path",), bad
    query = scope.get("query_string", b"")
    if b"%00" in query:
        # Decoded as the framework does (UTF-8, bad bytes replaced): of bad text only NUL survives.
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            for text in (name, value):
                if (bad := unencodable(text)) is not None:
                    return ("query", name), bad
    return None
