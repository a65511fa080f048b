"""Slow down password guessing: too many failed sign-ins for a name lock it out for a while.

In memory, per process: enough to make guessing impractical for a clinic's single server;
a restart forgets, which errs on the side of letting staff back in.
"""

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = 5,
        window_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_failures
        self._window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        cutoff = self._clock() - self._window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def retry_after(self, username: str) -> float:
        """Seconds until `username` may try again; 0 when it may try now."""
        key = username.casefold()
        with self._lock:
            failures = self._recent(key)
            if len(failures) < self._max:
                return 0.0
            return max(0.0, failures[0] + self._window - self._clock())

    def failed(self, username: str) -> None:
        with self._lock:
            self._recent(username.casefold()).append(self._clock())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username.casefold(), None)
