"""A small synchronous client for the live stream, for tests that need a real WebSocket."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from websockets.sync.client import ClientConnection, connect


class StreamClient:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.cursor: str | None = None

    def next_message(self, timeout: float = 5.0) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.connection.recv(timeout=timeout))
        if "cursor" in message:
            self.cursor = message["cursor"]
        return message

    def until_ready(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Events sent as backfill, up to the `ready` marker."""
        events = []
        while (message := self.next_message(timeout))["type"] != "ready":
            if message["type"] == "event":
                events.append(message)
        return events

    def events(
        self, count: int, timeout: float = 5.0, kind: str | None = "reading.created"
    ) -> list[dict[str, Any]]:
        """The next `count` events of `kind` (any kind when None), skipping heartbeats."""
        events: list[dict[str, Any]] = []
        while len(events) < count:
            message = self.next_message(timeout)
            if message["type"] == "event" and kind in (None, message["kind"]):
                events.append(message)
        return events


@contextmanager
def open_stream(
    ws_url: str,
    token: str,
    *,
    session_id: int | None = None,
    after: str | None = None,
    origin: str | None = None,
) -> Iterator[StreamClient]:
    query = []
    if session_id is not None:
        query.append(f"session_id={session_id}")
    if after is not None:
        query.append(f"after={after}")
    url = f"{ws_url}/api/stream" + ("?" + "&".join(query) if query else "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if origin:
        headers["Origin"] = origin
    with connect(url, additional_headers=headers, open_timeout=5, close_timeout=1) as connection:
        yield StreamClient(connection)
