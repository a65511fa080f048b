"""Password guessing is slowed down per name, and a success clears the slate."""

from backend.users.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_name_is_locked_after_too_many_failures_until_the_window_passes() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_seconds=60, clock=clock)
    for _ in range(2):
        throttle.failed("Ana")
    assert throttle.retry_after("ana") == 0
    throttle.failed("ana")
    assert throttle.retry_after("ANA") == 60
    clock.now += 59
    assert throttle.retry_after("ana") == 1
    clock.now += 1.5
    assert throttle.retry_after("ana") == 0


def test_a_success_forgets_earlier_failures_and_other_names_are_unaffected() -> None:
    throttle = LoginThrottle(max_failures=2, window_seconds=60, clock=Clock())
    throttle.failed("ana")
    throttle.succeeded("ana")
    throttle.failed("ana")
    assert throttle.retry_after("ana") == 0
    throttle.failed("ana")
    assert throttle.retry_after("ana") > 0
    assert throttle.retry_after("bo") == 0
