"""The watch over open streams' credentials: batched, periodic, woken early, safe on errors."""

import asyncio

from backend.streaming.credentials import Credential, CredentialWatch


class FakeCheck:
    def __init__(self) -> None:
        self.valid_tokens: set[int] = {1, 2}
        self.valid_logins: set[str] = {"a"}
        self.calls: list[tuple[frozenset[int], frozenset[str]]] = []
        self.fail = False

    def __call__(self, tokens: frozenset[int], logins: frozenset[str]) -> tuple[set[int], set[str]]:
        self.calls.append((tokens, logins))
        if self.fail:
            raise RuntimeError("database down")
        return set(tokens & self.valid_tokens), set(logins & self.valid_logins)


def test_one_check_covers_every_open_stream_and_ends_only_the_invalid() -> None:
    async def scenario() -> None:
        check = FakeCheck()
        watch = CredentialWatch(check, interval=0.05)
        one = watch.watch(Credential("token", "1"))
        also_one = watch.watch(Credential("token", "1"))
        two = watch.watch(Credential("token", "2"))
        login = watch.watch(Credential("login", "a"))
        await asyncio.sleep(0.08)
        assert check.calls[0] == (frozenset({1, 2}), frozenset({"a"}))
        assert not any(w.ended.is_set() for w in (one, also_one, two, login))
        check.valid_tokens.discard(1)
        check.valid_logins.clear()
        await asyncio.sleep(0.08)
        assert one.ended.is_set() and also_one.ended.is_set() and login.ended.is_set()
        assert not two.ended.is_set()
        for w in (one, also_one, two, login):
            watch.forget(w)
        calls = len(check.calls)
        await asyncio.sleep(0.12)
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
