"""Property-based checks of conditions and lifecycle together: no crossing is missed, no alarm
is raised twice for one excursion, and high alarms latch."""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from backend.alerts.conditions import ConditionState, observe
from backend.alerts.lifecycle import Alarm, AlarmKind, Change, acknowledge, step
from backend.alerts.limits import Bound, Direction, Priority, Timing, VitalLimit

LIMIT = VitalLimit(Bound(120, 140), Bound(), delay_s=10, hysteresis=3)
TIMING = Timing(reminder_s=1e9, escalate_after_s=1e9)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sample:
    at: datetime
    value: float
    acknowledge: bool


def _to_samples(raw: list[tuple[float, int, bool]]) -> list[Sample]:
    out, now = [], T0
    for gap, value, ack in raw:
        now += timedelta(seconds=gap)
        out.append(Sample(now, float(value), ack))
    return out


samples = st.lists(
    st.tuples(
        st.floats(min_value=0.2, max_value=6.0),  # seconds since the previous sample
        # Heart rates that mostly hover around the first limit, where flapping would show,
        # with excursions past the second.
        st.one_of(st.integers(115, 125), st.integers(100, 160)),
        st.booleans(),  # does a nurse acknowledge after this sample?
    ),
    min_size=1,
    max_size=120,
).map(_to_samples)


@dataclass
class Run:
    alarms: list[Alarm | None]  # the alarm after each sample
    raises: list[int]  # indices of samples at which an alarm was raised
    resolved_unacknowledged: list[Alarm]


def run(timeline: list[Sample]) -> Run:
    state, alarm = ConditionState(), None
    result = Run([], [], [])
    for index, sample in enumerate(timeline):
        state = observe(state, LIMIT, Direction.ABOVE, sample.value, sample.at)
        alarm, changes = step(
            alarm,
            state.present,
            condition="heart_rate.above",
            kind=AlarmKind.PHYSIOLOGICAL,
            at=sample.at,
            message="",
            timing=TIMING,
        )
        if Change.RAISED in changes:
            result.raises.append(index)
        if Change.RESOLVED in changes and alarm is not None and alarm.acknowledged_at is None:
            result.resolved_unacknowledged.append(alarm)
        if sample.acknowledge and alarm is not None and alarm.open:
            alarm, _ = acknowledge(alarm, "nurse", None, sample.at)
        result.alarms.append(alarm)
    return result


@settings(max_examples=300, deadline=None)
@given(samples)
def test_a_breach_that_lasts_the_delay_always_has_an_open_alarm(timeline: list[Sample]) -> None:
    result = run(timeline)
    for index, sample in enumerate(timeline):
        start = index
        while start > 0 and timeline[start - 1].value > 120:
            start -= 1
        lasted = (sample.at - timeline[start].at).total_seconds()
        if sample.value > 120 and timeline[start].value > 120 and lasted >= LIMIT.delay_s:
            alarm = result.alarms[index]
            assert alarm is not None and alarm.present, (index, sample)
            # Acknowledging a present alarm does not close it: it stays open while it stands.
            assert alarm.open


HOVERING = _to_samples([(1.0, 125, False)] * 12 + [(1.0, 119, False)] + [(1.0, 125, False)] * 12)


@settings(max_examples=300, deadline=None)
@given(samples)
@example(HOVERING)
def test_a_new_alarm_needs_the_value_clearly_back_in_range_in_between(
    timeline: list[Sample],
) -> None:
    raises = run(timeline).raises
    for earlier, later in itertools.pairwise(raises):
        between = [s.value for s in timeline[earlier + 1 : later]]
        assert any(value <= 120 - LIMIT.hysteresis for value in between), (earlier, later)


@settings(max_examples=300, deadline=None)
@given(samples)
def test_only_what_went_past_the_high_limit_becomes_high_priority(timeline: list[Sample]) -> None:
    result = run(timeline)
    highest_so_far = 0.0
    for sample, alarm in zip(timeline, result.alarms, strict=True):
        highest_so_far = max(highest_so_far, sample.value)
        if alarm is not None and alarm.priority is Priority.HIGH:
            assert highest_so_far > 140


@settings(max_examples=300, deadline=None)
@given(samples)
def test_a_high_alarm_never_goes_away_unacknowledged(timeline: list[Sample]) -> None:
    for alarm in run(timeline).resolved_unacknowledged:
        assert alarm.priority is not Priority.HIGH
