"""SimClock: simulated time from a wall clock the caller passes in."""

import math

import pytest

from simulators.clock import SimClock, speed_error


def test_runs_at_its_speed_from_the_start() -> None:
    clock = SimClock(wall_s=1000.0, speed=10)
    assert clock.sim_s(1000.0) == 0
    assert clock.sim_s(1003.5) == 35


def test_pause_freezes_and_resume_continues_where_it_stopped() -> None:
    clock = SimClock(wall_s=0.0, speed=2)
    clock.pause(10.0)
    assert clock.paused
    assert clock.sim_s(10.0) == clock.sim_s(500.0) == 20
    clock.resume(500.0)
    assert not clock.paused
    assert clock.sim_s(505.0) == 30


def test_changing_speed_keeps_the_time_already_simulated() -> None:
    clock = SimClock(wall_s=0.0)
    clock.set_speed(60, wall_s=30.0)
    assert clock.sim_s(30.0) == 30
    assert clock.sim_s(31.0) == 90
    assert clock.speed == 60


def test_speed_can_change_while_paused() -> None:
    clock = SimClock(wall_s=0.0, paused=True)
    clock.set_speed(5, wall_s=100.0)
    assert clock.sim_s(200.0) == 0
    clock.resume(200.0)
    assert clock.sim_s(202.0) == 10


def test_can_start_part_way_through_a_session() -> None:
    assert SimClock(wall_s=50.0, sim_s=600.0).sim_s(60.0) == 610


@pytest.mark.parametrize("speed", [0, 0.5, 60.5, 1000, -1, math.nan, math.inf])
def test_speed_must_be_between_1_and_60(speed: float) -> None:
    assert speed_error(speed) is not None
    with pytest.raises(ValueError, match="speed"):
        SimClock(wall_s=0.0, speed=speed)
    clock = SimClock(wall_s=0.0)
    with pytest.raises(ValueError, match="speed"):
        clock.set_speed(speed, wall_s=1.0)
    assert clock.speed == 1


@pytest.mark.parametrize("speed", [1, 1.5, 30, 60])
def test_speeds_from_1_to_60_are_accepted(speed: float) -> None:
    assert speed_error(speed) is None
    assert SimClock(wall_s=0.0, speed=speed).sim_s(2.0) == 2 * speed


def test_wall_time_going_back_is_refused() -> None:
    clock = SimClock(wall_s=100.0)
    clock.pause(150.0)
    with pytest.raises(ValueError, match="monotonic"):
        clock.sim_s(149.0)


def test_wall_time_for_a_simulated_moment() -> None:
    clock = SimClock(wall_s=0.0, speed=4)
    assert clock.wall_s_for(400.0, wall_s=10.0) == pytest.approx(100.0)
    assert clock.wall_s_for(20.0, wall_s=10.0) == 10.0  # already passed: now
    clock.pause(10.0)
    assert clock.wall_s_for(400.0, wall_s=20.0) is None


def test_seconds_ago_compresses_by_speed_and_keeps_history_at_real_speed() -> None:
    from simulators.clock import seconds_ago

    assert seconds_ago(50, 60, speed=10) == 1.0  # 10 simulated seconds at 10x
    assert seconds_ago(60, 60, speed=10) == 0.0
    assert seconds_ago(70, 60, speed=1) == 0.0  # never in the future
    # Started at 600 s: what came before is history at real speed, behind what came after.
    assert seconds_ago(500, 660, speed=60, history_until_s=600) == 101.0
    assert seconds_ago(630, 660, speed=60, history_until_s=600) == 0.5
