"""The few seconds a credential's owner is remembered (backend/users/credential_cache.py): an
injected clock, no sleeping. That revocation, sign-out, disabling and password changes clear it
at once is in tests/api (test_auth.py, test_accounts*.py: each uses the credential just before)."""

from backend.users.credential_cache import TTL_SECONDS, CredentialCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_is_answered_until_its_time_is_up() -> None:
    clock = Clock()
    cache = CredentialCache(clock)
    key = cache.key("bearer", "vgl_secret")
    cache.put(key, "nurse", cache.generation)
    clock.now += TTL_SECONDS - 0.01
    assert cache.get(key) == "nurse"
    clock.now += 0.01
    assert cache.get(key) is None


def test_an_entry_never_outlives_what_it_was_given() -> None:
    clock = Clock()
    cache = CredentialCache(clock)
    key = cache.key("bearer", "expiring")
    cache.put(key, "nurse", cache.generation, at_most=1.0)  # the token expires in a second
    clock.now += 1.0
    assert cache.get(key) is None
    cache.put(key, "nurse", cache.generation, at_most=0.0)  # expired already: not stored
    assert cache.get(key) is None


def test_a_look_up_begun_before_a_clear_is_not_stored() -> None:
    cache = CredentialCache(Clock())
    key = cache.key("cookie", "secret")
    began = cache.generation  # a request reads the row, still valid...
    cache.clear()  # ...then a revocation commits before it stores what it read
    cache.put(key, "nurse", began)
    assert cache.get(key) is None
    cache.put(key, "nurse", cache.generation)
    assert cache.get(key) == "nurse"


def test_keys_differ_by_scheme_and_hold_no_secret() -> None:
    bearer, cookie = CredentialCache.key("bearer", "abc"), CredentialCache.key("cookie", "abc")
    assert bearer != cookie
    assert "abc" not in bearer
