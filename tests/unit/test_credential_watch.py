"""The watch over open streams' credentials: batched, periodic, woken early, safe on errors."""

import asyncio

from backend.streaming.credentials import Credential, CredentialWatch


class FakeCheck:
    def __init__(self) -> None:
        self.valid_tokens: set[int] = {1, 2}
        self.valid_logins: set[str] = {"a"}
        self.calls: list[tuple[frozenset[int], frozenset[str]]] = []
        self.fail = False
        # Set on the watch's loop after each check (which runs in a worker thread).
        self.called = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def __call__(self, tokens: frozenset[int], logins: frozenset[str]) -> tuple[set[int], set[str]]:
        self.calls.append((tokens, logins))
        self._loop.call_soon_threadsafe(self.called.set)
        if self.fail:
            raise RuntimeError("database down")
        return set(tokens & self.valid_tokens), set(logins & self.valid_logins)


async def checks_done(check: FakeCheck, count: int) -> None:
    """Until `count` checks were asked for and the one before the last has been acted on (the
    watch runs one check at a time)."""
    while True:
        check.called.clear()
        if len(check.calls) >= count:
            return
        await check.called.wait()


INTERVAL = 0.01


def test_one_check_covers_every_open_stream_and_ends_only_the_invalid() -> None:
    async def scenario() -> None:
        check = FakeCheck()
        watch = CredentialWatch(check, interval=INTERVAL)
        one = watch.watch(Credential("token", "1"))
        also_one = watch.watch(Credential("token", "1"))
        two = watch.watch(Credential("token", "2"))
        login = watch.watch(Credential("login", "a"))
        await asyncio.wait_for(checks_done(check, 2), 5)
        assert check.calls[0] == (frozenset({1, 2}), frozenset({"a"}))
        assert not any(w.ended.is_set() for w in (one, also_one, two, login))
        check.valid_tokens.discard(1)
        check.valid_logins.clear()
        ended = (one.ended.wait(), also_one.ended.wait(), login.ended.wait())
        await asyncio.wait_for(asyncio.gather(*ended), 5)
        assert not two.ended.is_set()
        for w in (one, also_one, two, login):
            watch.forget(w)
        calls = len(check.calls)
        watch.check_soon()
        await asyncio.sleep(5 * INTERVAL)  # five periods, and a wake-up, with nothing to watch
        assert len(check.calls) == calls, "no queries while no stream is open"

    asyncio.run(scenario())


def test_check_soon_does_not_wait_for_the_interval() -> None:
    async def scenario() -> None:
        check = FakeCheck()
        watch = CredentialWatch(check, interval=60)
        watched = watch.watch(Credential("token", "1"))
        check.valid_tokens.clear()
        watch.check_soon()
        await asyncio.wait_for(watched.ended.wait(), 1)
        watch.forget(watched)

    asyncio.run(scenario())


def test_a_failed_check_keeps_the_streams_open() -> None:
    async def scenario() -> None:
        check = FakeCheck()
        check.fail = True
        watch = CredentialWatch(check, interval=60)
        watched = watch.watch(Credential("token", "1"))
        await watch.check_once()
        assert not watched.ended.is_set()
        watch.forget(watched)

    asyncio.run(scenario())
