"""Telling whoever holds live connections that a credential may have stopped being valid.

Accounts (users) change credentials; the live stream (streaming) holds connections opened with
them. Neither imports the other: the stream registers its watcher on the app's state, and an
account change calls `credentials_changed` after its commit."""

from typing import Protocol

from fastapi import FastAPI


class CredentialWatcher(Protocol):
    def check_soon(self) -> None: ...


async def credentials_changed(app: FastAPI) -> None:
    """Run after a commit that revoked a token, ended a login or changed an account: streams
    opened with it end now rather than at the next periodic check."""
    watch: CredentialWatcher | None = getattr(app.state, "credential_watch", None)
    if watch is not None:
        watch.check_soon()
