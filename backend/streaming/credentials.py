"""Ends live streams whose credential stopped being valid: revoked, signed out, disabled, idle.

A WebSocket is authenticated once, at its handshake, then may stay open for hours. Every open
stream registers the credential it was opened with here; one task per process re-checks all of
them together (one batched query, whatever the number of sockets) every `interval` seconds, and
at once when this process changed an account (`check_soon`). The periodic check is what catches
a change made by another worker or by the command line.

Pure asyncio: the check itself is a callable given by the caller (it reads the database).
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credential:
    kind: Literal["token", "login"]
    key: str  # the token's id, or the digest of the browser login's cookie secret


# (token ids, login digests) -> the subset of each that is still valid
Check = Callable[[frozenset[int], frozenset[str]], tuple[set[int], set[str]]]


@dataclass(eq=False)
class Watched:
    credential: Credential
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class CredentialWatch:
    def __init__(self, check: Check, interval: float) -> None:
        self._check = check
        self._interval = interval
        self._watched: set[Watched] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def watch(self, credential: Credential) -> Watched:
        watched = Watched(credential)
        self._watched.add(watched)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return watched

    def forget(self, watched: Watched) -> None:
        self._watched.discard(watched)
        if not self._watched and self._task is not None:
            # Nothing left to watch: no queries while no stream is open.
            self._task.cancel()
            self._task = None

    def check_soon(self) -> None:
        """An account changed in this process (and is committed): re-check now, not at the tick."""
        self._wake.set()

    @property
    def watched_count(self) -> int:
        return len(self._watched)

    async def _run(self) -> None:
        while self._watched:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            self._wake.clear()
            await self.check_once()

    async def check_once(self) -> None:
        watched = list(self._watched)
        tokens = frozenset(int(w.credential.key) for w in watched if w.credential.kind == "token")
        logins = frozenset(w.credential.key for w in watched if w.credential.kind == "login")
        if not tokens and not logins:
            return
        try:
            valid_tokens, valid_logins = await asyncio.to_thread(self._check, tokens, logins)
        except Exception:
            # A database hiccup must not sign everyone out: keep the streams, try next tick.
            log.exception("could not re-check the credentials of open streams")
            return
        for item in watched:
            key = item.credential.key
            still = (
                int(key) in valid_tokens if item.credential.kind == "token" else key in valid_logins
            )
            if not still:
                item.ended.set()
