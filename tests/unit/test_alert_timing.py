"""Condition delays are timed by when values were measured (taken_at), not when they arrived;
a value measured before the newest one is history, not the current value. Without a server."""

from datetime import UTC, datetime, timedelta

from backend.alerts.conditions import ConditionState, elapse, measured_clock, observe
from backend.alerts.limits import Bound, Direction, Priority, VitalLimit

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
HR = VitalLimit(Bound(120, 140), Bound(50, 40), delay_s=10, hysteresis=3)
BP = VitalLimit(Bound(160, 180), Bound(90, 80), delay_s=0, hysteresis=5)
SPO2 = VitalLimit(Bound(), Bound(92, 89), delay_s=15, high_delay_s=10, hysteresis=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_desaturation_fed_at_once_alarms_where_its_measured_delay_was_met() -> None:
    state = ConditionState()
    confirmed_at = None
    for second in range(60):  # a minute of 90 %, one value a second, all arriving together
        state = observe(state, SPO2, Direction.BELOW, 90, at(second))
        if state.present is not None and confirmed_at is None:
            confirmed_at = second
    assert (state.present, confirmed_at) == (Priority.MEDIUM, 15)
    assert state.last_at == at(59)


def test_a_late_older_value_neither_clears_nor_raises() -> None:
    high = observe(ConditionState(), BP, Direction.ABOVE, 191, at(60))
    assert high.present is Priority.HIGH
    assert observe(high, BP, Direction.ABOVE, 120, at(0)) == high  # measured a minute earlier

    normal = observe(ConditionState(), BP, Direction.ABOVE, 120, at(60))
    assert observe(normal, BP, Direction.ABOVE, 195, at(0)) == normal


def test_a_value_measured_at_the_same_moment_still_counts() -> None:
    first = observe(ConditionState(), BP, Direction.ABOVE, 120, at(60))
    assert observe(first, BP, Direction.ABOVE, 170, at(60)).present is Priority.MEDIUM


def test_the_clock_runs_on_the_readings_time_so_a_lagging_device_keeps_its_delay() -> None:
    # Stamped 60 s behind the server: on the server's clock the 10 s delay looked met at once.
    state = observe(ConditionState(), HR, Direction.ABOVE, 130, at(0))
    received = at(60)
    soon = measured_clock(at(61), state.last_at, received)
    assert soon == at(1)
    assert elapse(state, HR, Direction.ABOVE, soon).present is None
    later = measured_clock(at(70), state.last_at, received)
    assert elapse(state, HR, Direction.ABOVE, later).present is Priority.MEDIUM


def test_the_clock_never_goes_back_before_the_last_value() -> None:
    state = ConditionState()
    for second in range(12):
        state = observe(state, HR, Direction.ABOVE, 150, at(second))
    assert state.present is Priority.HIGH
    assert elapse(state, HR, Direction.ABOVE, at(0)).present is Priority.HIGH
    assert measured_clock(at(5), state.last_at, at(11)) == at(11)  # a clock read before it came
    assert measured_clock(at(5), None, None) == at(5)
