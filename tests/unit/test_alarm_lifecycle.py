"""Every transition of the alarm lifecycle, without a server."""

from datetime import UTC, datetime, timedelta

import pytest

from backend.alerts.lifecycle import (
    Alarm,
    AlarmError,
    AlarmKind,
    AlarmStatus,
    Change,
    acknowledge,
    bp_reminder_not_before,
    step,
    tick,
)
from backend.alerts.limits import Priority, Timing

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
TIMING = Timing(reminder_s=180, escalate_after_s=120)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def apply(
    alarm: Alarm | None, present: Priority | None, seconds: float
) -> tuple[Alarm, list[Change]]:
    updated, changes = step(
        alarm,
        present,
        condition="heart_rate.above",
        kind=AlarmKind.PHYSIOLOGICAL,
        at=at(seconds),
        message="HR high",
        timing=TIMING,
    )
    assert updated is not None
    return updated, changes


def raised(priority: Priority) -> Alarm:
    return apply(None, priority, 0)[0]


def test_no_condition_and_no_alarm_stays_quiet() -> None:
    assert step(
        None,
        None,
        condition="c",
        kind=AlarmKind.PHYSIOLOGICAL,
        at=T0,
        message="",
        timing=TIMING,
    ) == (None, [])


def test_a_condition_raises_an_active_alarm() -> None:
    alarm, changes = apply(None, Priority.MEDIUM, 0)
    assert changes == [Change.RAISED]
    assert (alarm.status, alarm.priority, alarm.present) == (
        AlarmStatus.ACTIVE,
        Priority.MEDIUM,
        True,
    )


def test_a_standing_condition_changes_nothing() -> None:
    alarm = raised(Priority.MEDIUM)
    assert apply(alarm, Priority.MEDIUM, 5) == (alarm, [])


def test_a_medium_alarm_resolves_itself_when_the_condition_clears() -> None:
    alarm, changes = apply(raised(Priority.MEDIUM), None, 30)
    assert changes == [Change.RESOLVED]
    assert (alarm.status, alarm.resolved_at) == (AlarmStatus.RESOLVED, at(30))


def test_a_high_alarm_latches_when_the_condition_clears_until_acknowledged() -> None:
    alarm, changes = apply(raised(Priority.HIGH), None, 30)
    assert changes == [Change.LATCHED]
    assert (alarm.status, alarm.present) == (AlarmStatus.ACTIVE, False)
    acknowledged, changes = acknowledge(alarm, "nina", "checked the probe", at(40))
    assert changes == [Change.ACKNOWLEDGED, Change.RESOLVED]
    assert acknowledged.status is AlarmStatus.RESOLVED
    assert (acknowledged.acknowledged_by, acknowledged.note) == ("nina", "checked the probe")


def test_a_latched_alarm_whose_condition_returns_is_present_again() -> None:
    latched, _ = apply(raised(Priority.HIGH), None, 30)
    again, changes = apply(latched, Priority.HIGH, 40)
    # A change, so that it is stored: unstored, acknowledging the alarm closed it (issue 11).
    assert changes == [Change.PRESENT_AGAIN]
    assert (again.status, again.present) == (AlarmStatus.ACTIVE, True)


def test_acknowledging_a_latched_alarm_whose_condition_returned_keeps_it_until_it_clears() -> None:
    latched, _ = apply(raised(Priority.HIGH), None, 30)
    again, _ = apply(latched, Priority.HIGH, 40)
    seen, changes = acknowledge(again, "nina", "called the doctor", at(50))
    assert changes == [Change.ACKNOWLEDGED]
    assert (seen.status, seen.present) == (AlarmStatus.ACKNOWLEDGED, True)
    assert tick(seen, at(50 + TIMING.reminder_s), TIMING)[1] == [Change.REMINDED]
    resolved, changes = apply(seen, None, 60)
    assert changes == [Change.RESOLVED]
    assert resolved.status is AlarmStatus.RESOLVED


def test_an_alarm_raised_from_a_backfilled_breach_has_its_onset_but_is_announced_now() -> None:
    alarm, _ = step(
        None,
        Priority.HIGH,
        condition="spo2.below",
        kind=AlarmKind.PHYSIOLOGICAL,
        at=at(600),
        message="SpO2 85 % below 89",
        timing=TIMING,
        onset=at(15),
    )
    assert alarm is not None
    assert (alarm.raised_at, alarm.alerted_at) == (at(15), at(600))
    assert tick(alarm, at(601), TIMING)[1] == []  # nobody has had time to answer it yet


def test_acknowledging_a_present_alarm_records_who_and_when() -> None:
    alarm, changes = acknowledge(raised(Priority.MEDIUM), "nina", None, at(20))
    assert changes == [Change.ACKNOWLEDGED]
    assert (alarm.status, alarm.acknowledged_at, alarm.acknowledged_by) == (
        AlarmStatus.ACKNOWLEDGED,
        at(20),
        "nina",
    )


def test_an_acknowledged_alarm_resolves_when_its_condition_clears_even_if_high() -> None:
    alarm, _ = acknowledge(raised(Priority.HIGH), "nina", None, at(20))
    resolved, changes = apply(alarm, None, 30)
    assert changes == [Change.RESOLVED]
    assert resolved.status is AlarmStatus.RESOLVED


def test_a_resolved_alarm_cannot_be_acknowledged() -> None:
    resolved, _ = apply(raised(Priority.MEDIUM), None, 30)
    with pytest.raises(AlarmError):
        acknowledge(resolved, "nina", None, at(40))


def test_a_condition_after_resolution_raises_a_new_alarm() -> None:
    resolved, _ = apply(raised(Priority.MEDIUM), None, 30)
    again, changes = apply(resolved, Priority.MEDIUM, 60)
    assert changes == [Change.RAISED]
    assert again.raised_at == at(60)


def test_an_acknowledged_alarm_still_present_reminds_after_the_interval() -> None:
    alarm, _ = acknowledge(raised(Priority.MEDIUM), "nina", None, at(20))
    assert tick(alarm, at(20 + 179), TIMING) == (alarm, [])
    reminded, changes = tick(alarm, at(20 + 180), TIMING)
    assert changes == [Change.REMINDED]
    assert (reminded.status, reminded.alerted_at) == (AlarmStatus.ACTIVE, at(200))


def test_an_unacknowledged_alarm_escalates_once_after_the_interval() -> None:
    alarm = raised(Priority.MEDIUM)
    assert tick(alarm, at(119), TIMING) == (alarm, [])
    escalated, changes = tick(alarm, at(120), TIMING)
    assert changes == [Change.ESCALATED]
    assert escalated.escalated_at == at(120)
    assert tick(escalated, at(500), TIMING) == (escalated, [])


def test_an_acknowledged_alarm_does_not_escalate() -> None:
    alarm, _ = acknowledge(raised(Priority.MEDIUM), "nina", None, at(20))
    assert tick(alarm, at(150), TIMING) == (alarm, [])


def test_a_worse_priority_breaks_through_an_acknowledgement() -> None:
    alarm, _ = acknowledge(raised(Priority.MEDIUM), "nina", None, at(20))
    worse, changes = apply(alarm, Priority.HIGH, 30)
    assert changes == [Change.PRIORITY_RAISED]
    assert (worse.status, worse.priority, worse.alerted_at) == (
        AlarmStatus.ACTIVE,
        Priority.HIGH,
        at(30),
    )


def test_an_active_high_alarm_keeps_its_priority_when_the_value_improves() -> None:
    alarm, changes = apply(raised(Priority.HIGH), Priority.MEDIUM, 30)
    assert changes == []
    assert alarm.priority is Priority.HIGH


def test_an_acknowledged_high_alarm_follows_the_value_down() -> None:
    alarm, _ = acknowledge(raised(Priority.HIGH), "nina", None, at(20))
    lowered, changes = apply(alarm, Priority.MEDIUM, 30)
    assert changes == [Change.PRIORITY_LOWERED]
    assert lowered.priority is Priority.MEDIUM


# ---- issue 14 (7b): escalation belongs to each unanswered episode ------------------------------


def test_a_reminder_left_unanswered_escalates_again() -> None:
    escalated, _ = tick(raised(Priority.MEDIUM), at(120), TIMING)
    assert (escalated.escalations, escalated.escalated) == (1, True)
    seen, _ = acknowledge(escalated, "nina", None, at(130))
    reminded, changes = tick(seen, at(310), TIMING)
    assert changes == [Change.REMINDED]
    assert reminded.escalated is False  # this episode has not gone unanswered yet
    assert tick(reminded, at(429), TIMING) == (reminded, [])

    again, changes = tick(reminded, at(430), TIMING)
    assert changes == [Change.ESCALATED]
    assert (again.escalated_at, again.escalations, again.escalated) == (at(430), 2, True)
    assert tick(again, at(900), TIMING) == (again, [])  # once per episode


def test_a_worse_priority_left_unanswered_escalates_again() -> None:
    escalated, _ = tick(raised(Priority.MEDIUM), at(120), TIMING)
    worse, changes = apply(escalated, Priority.HIGH, 150)
    assert changes == [Change.PRIORITY_RAISED]
    assert worse.escalated is False
    assert tick(worse, at(269), TIMING) == (worse, [])
    again, changes = tick(worse, at(270), TIMING)
    assert changes == [Change.ESCALATED]
    assert (again.escalations, again.priority) == (2, Priority.HIGH)


def test_a_latch_or_a_lower_priority_is_not_a_new_episode() -> None:
    escalated, _ = tick(raised(Priority.HIGH), at(120), TIMING)
    latched, changes = apply(escalated, None, 130)
    assert changes == [Change.LATCHED]
    assert tick(latched, at(400), TIMING) == (latched, [])


# ---- issue 14 (7g): a blood-pressure alarm reminds when a new BP is due ------------------------


def test_an_acknowledged_bp_alarm_reminds_once_a_new_bp_is_due() -> None:
    seen, _ = acknowledge(raised(Priority.MEDIUM), "nina", None, at(20))
    last_bp = at(0)
    not_before = bp_reminder_not_before(seen, last_bp, bp_due_every_s=600)
    assert not_before == at(600)
    assert tick(seen, at(200), TIMING, not_before) == (seen, [])  # 3 min: no new BP yet
    assert tick(seen, at(599), TIMING, not_before) == (seen, [])
    reminded, changes = tick(seen, at(600), TIMING, not_before)
    assert (changes, reminded.alerted_at) == ([Change.REMINDED], at(600))
    # Without the BP rule it would have reminded at the reminder interval.
    assert tick(seen, at(200), TIMING)[1] == [Change.REMINDED]


def test_a_new_bp_still_beyond_the_limit_reminds_after_the_reminder_interval() -> None:
    seen, _ = acknowledge(raised(Priority.MEDIUM), "nina", None, at(20))
    remeasured = at(60)  # taken after the acknowledgement, and the alarm still stands
    not_before = bp_reminder_not_before(seen, remeasured, bp_due_every_s=600)
    assert not_before is None
    assert tick(seen, at(199), TIMING, not_before) == (seen, [])
    assert tick(seen, at(200), TIMING, not_before)[1] == [Change.REMINDED]


def test_without_a_bp_interval_the_reminder_interval_alone_counts() -> None:
    seen, _ = acknowledge(raised(Priority.MEDIUM), "nina", None, at(20))
    assert bp_reminder_not_before(seen, at(0), bp_due_every_s=None) is None
    assert bp_reminder_not_before(seen, None, bp_due_every_s=600) is None
