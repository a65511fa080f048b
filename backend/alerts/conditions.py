"""Whether a vital is in an alarm condition: breach, condition delay and hysteresis.

One `ConditionState` per session, vital and direction. Feed it every value (`observe`) and let
time pass (`elapse`); `present` says whether, and at which priority, the condition stands.
Every time here is when a value was measured (its `taken_at`), never when it arrived: a batch
sent late still shows how long a breach lasted, and a value measured before the newest one
already seen is history, not the current value.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.alerts.limits import Bound, Direction, Priority, VitalLimit


@dataclass(frozen=True)
class ConditionState:
    last_value: float | None = None
    medium_since: datetime | None = None  # the value has been beyond a limit since then
    high_since: datetime | None = None  # ... and beyond the high-priority limit since then
    present: Priority | None = None  # the confirmed condition, once its delay has passed
    last_at: datetime | None = None  # when the last value was measured


def _loosest_priority(bound: Bound) -> Priority:
    return Priority.MEDIUM if bound.medium is not None else Priority.HIGH


def _cleared(bound: Bound, direction: Direction, value: float, hysteresis: float) -> bool:
    """Back inside the first limit by at least the hysteresis margin."""
    limit = bound.loosest(direction)
    if limit is None:
        return True
    if direction is Direction.ABOVE:
        return value <= limit - hysteresis
    return value >= limit + hysteresis


def _confirmed(
    limit: VitalLimit, medium_since: datetime | None, high_since: datetime | None, at: datetime
) -> Priority | None:
    high_delay = limit.delay_s if limit.high_delay_s is None else limit.high_delay_s
    if high_since is not None and (at - high_since).total_seconds() >= high_delay:
        return Priority.HIGH
    if medium_since is not None and (at - medium_since).total_seconds() >= limit.delay_s:
        return Priority.MEDIUM
    return None


def _evaluate(
    state: ConditionState,
    limit: VitalLimit,
    direction: Direction,
    value: float,
    at: datetime,
    last_at: datetime | None,
) -> ConditionState:
    bound = limit.bound(direction)
    breached = bound.priority_of(value, direction)
    medium_since = (state.medium_since or at) if breached is not None else None
    high_since = (state.high_since or at) if breached is Priority.HIGH else None
    present = _confirmed(limit, medium_since, high_since, at)
    if state.present is not None and not _cleared(bound, direction, value, limit.hysteresis):
        # Not yet back inside by the margin: the condition stands, at least at the priority
        # of the first limit, until the value is clearly back in range.
        held = _loosest_priority(bound)
        present = held if present is None else max(present, held)
    return ConditionState(value, medium_since, high_since, present, last_at)


def is_history(state: ConditionState, at: datetime) -> bool:
    """A value measured before the newest one already seen: it belongs in the record, but it is
    not the current value, so it can neither raise nor clear the condition."""
    return state.last_at is not None and at < state.last_at


def observe(
    state: ConditionState, limit: VitalLimit, direction: Direction, value: float, at: datetime
) -> ConditionState:
    """A new value of this vital, measured at `at` (a late, older value changes nothing)."""
    if is_history(state, at):
        return state
    return _evaluate(state, limit, direction, value, at, at)


def elapse(
    state: ConditionState, limit: VitalLimit, direction: Direction, at: datetime
) -> ConditionState:
    """Time has passed with no new value: a delay running on the last value may complete.
    `at` is on the readings' clock (`measured_clock`); it never goes back before the last value."""
    if state.last_value is None:
        return state
    if state.last_at is not None:
        at = max(at, state.last_at)
    return _evaluate(state, limit, direction, state.last_value, at, state.last_at)


def measured_clock(
    now: datetime, last_taken_at: datetime | None, last_received_at: datetime | None
) -> datetime:
    """`now` on the clock the readings are stamped with: the last value's `taken_at` plus the
    time since it arrived. A monitor whose clock lags, or a gateway sending in batches, must not
    have its delays cut short (nor a late batch confirmed at once) by mixing the two clocks."""
    if last_taken_at is None or last_received_at is None:
        return now
    return last_taken_at + max(now - last_received_at, timedelta(0))
