"""The alarm lifecycle (IEC 60601-1-8 conventions, clinical.md section 5), as pure transitions.

active ──acknowledge──► acknowledged ──condition clears──► resolved
  │  ▲                      │
  │  └──reminder interval───┘ (condition still present: it re-alerts)
  └──condition clears──► resolved, unless it latches: a high-priority alarm stays active,
                         marked no longer present, until someone acknowledges it; should
                         the condition come back first, the alarm is marked present again,
                         so acknowledging it no longer resolves it.
Escalation belongs to each unanswered episode: an alarm left active (unacknowledged) for
`escalate_after_s` after it last demanded attention (raised, reminded, made worse) escalates,
once per episode; a reminder or a worse priority left unanswered escalates again.
A higher priority breaks through an acknowledgement; a latched priority never drops.
Each transition returns the new alarm and what changed, for the record and the stream.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from backend.alerts.limits import Priority, Timing


class AlarmStatus(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlarmKind(StrEnum):
    PHYSIOLOGICAL = "physiological"  # a vital out of range
    TECHNICAL = "technical"  # no data, sensor off
    ADVISORY = "advisory"  # reminders and gates: a person should look, nothing is wrong yet


class Change(StrEnum):
    RAISED = "raised"
    PRIORITY_RAISED = "priority_raised"
    PRIORITY_LOWERED = "priority_lowered"
    LATCHED = "latched"  # the condition cleared but the alarm stays until acknowledged
    PRESENT_AGAIN = "present_again"  # a latched alarm's condition came back
    ACKNOWLEDGED = "acknowledged"
    REMINDED = "reminded"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"  # the reading that raised it was entered in error
    # The reading that cleared it was entered in error and the valid ones say it still stands:
    # the resolution never really happened, so the same alarm is open (and alerting) again.
    REOPENED = "reopened"


@dataclass(frozen=True)
class Alarm:
    condition: str
    kind: AlarmKind
    priority: Priority
    status: AlarmStatus
    present: bool
    raised_at: datetime
    alerted_at: datetime  # when it last demanded attention: raised, reminded or made worse
    message: str = ""
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    note: str | None = None
    resolved_at: datetime | None = None
    escalated_at: datetime | None = None  # the latest escalation
    escalations: int = 0  # how many episodes went unanswered long enough to escalate

    @property
    def open(self) -> bool:
        return self.status is not AlarmStatus.RESOLVED

    @property
    def escalated(self) -> bool:
        """The current episode (since it last demanded attention) has escalated."""
        return self.escalated_at is not None and self.escalated_at >= self.alerted_at


class AlarmError(ValueError):
    """An action that does not apply to the alarm in its current state."""


Transition = tuple[Alarm, list[Change]]
Step = tuple[Alarm | None, list[Change]]


def step(
    alarm: Alarm | None,
    present: Priority | None,
    *,
    condition: str,
    kind: AlarmKind,
    at: datetime,
    message: str,
    timing: Timing,
    onset: datetime | None = None,
) -> Step:
    """Apply the current state of a condition to its alarm (None: no open alarm yet).

    `at` is now, when the alarm is announced; `onset`, when given, is when the measured values
    met the condition (a backfilled breach is raised with its true onset, but announced now, so
    nobody's time to respond is cut short)."""
    if alarm is None or not alarm.open:
        if present is None:
            return alarm, []
        raised_at = at if onset is None else min(onset, at)
        raised = Alarm(condition, kind, present, AlarmStatus.ACTIVE, True, raised_at, at, message)
        return raised, [Change.RAISED]
    if present is None:
        return _condition_gone(alarm, at, timing)
    return _condition_stands(alarm, present, at, message, timing)


def _condition_gone(alarm: Alarm, at: datetime, timing: Timing) -> Transition:
    if not alarm.present:
        return alarm, []
    latches = alarm.status is AlarmStatus.ACTIVE and alarm.priority >= timing.latch_from
    if latches:
        return replace(alarm, present=False), [Change.LATCHED]
    return replace(alarm, present=False, status=AlarmStatus.RESOLVED, resolved_at=at), [
        Change.RESOLVED
    ]


def _condition_stands(
    alarm: Alarm, present: Priority, at: datetime, message: str, timing: Timing
) -> Transition:
    changes: list[Change] = []
    if present > alarm.priority:
        # Worse than what was acknowledged: it must be seen again.
        alarm = replace(
            alarm, priority=present, status=AlarmStatus.ACTIVE, alerted_at=at, message=message
        )
        changes.append(Change.PRIORITY_RAISED)
    elif present < alarm.priority:
        latched_high = alarm.status is AlarmStatus.ACTIVE and alarm.priority >= timing.latch_from
        if not latched_high:
            alarm = replace(alarm, priority=present, message=message)
            changes.append(Change.PRIORITY_LOWERED)
    if not alarm.present:
        # The condition is back while the alarm still latches: it stands again, so an
        # acknowledgement keeps it open (and reminds) until the condition really clears.
        alarm = replace(alarm, present=True, message=message)
        changes.append(Change.PRESENT_AGAIN)
    return alarm, changes


def acknowledge(alarm: Alarm, by: str, note: str | None, at: datetime) -> Transition:
    """Someone has seen it and says what they did. A latched alarm is thereby resolved."""
    if not alarm.open:
        raise AlarmError("this alarm is already resolved")
    if alarm.status is AlarmStatus.ACKNOWLEDGED:
        return alarm, []  # someone already responded: the first acknowledgement stands
    acknowledged = replace(
        alarm,
        status=AlarmStatus.ACKNOWLEDGED,
        acknowledged_at=at,
        acknowledged_by=by,
        note=note if note is not None else alarm.note,
    )
    if not alarm.present:
        return replace(acknowledged, status=AlarmStatus.RESOLVED, resolved_at=at), [
            Change.ACKNOWLEDGED,
            Change.RESOLVED,
        ]
    return acknowledged, [Change.ACKNOWLEDGED]


def tick(
    alarm: Alarm, at: datetime, timing: Timing, remind_not_before: datetime | None = None
) -> Transition:
    """Let time pass: reminders for acknowledged alarms, escalation for ignored ones.

    `remind_not_before` holds a reminder back until then: an alarm on an intermittent
    measurement (a blood pressure) can only be answered anew once a new value is due."""
    if (
        alarm.status is AlarmStatus.ACKNOWLEDGED
        and alarm.present
        and alarm.acknowledged_at is not None
        and (at - alarm.acknowledged_at).total_seconds() >= timing.reminder_s
        and (remind_not_before is None or at >= remind_not_before)
    ):
        return replace(alarm, status=AlarmStatus.ACTIVE, alerted_at=at), [Change.REMINDED]
    if (
        alarm.status is AlarmStatus.ACTIVE
        and not alarm.escalated
        and (at - alarm.alerted_at).total_seconds() >= timing.escalate_after_s
    ):
        return replace(alarm, escalated_at=at, escalations=alarm.escalations + 1), [
            Change.ESCALATED
        ]
    return alarm, []


def bp_reminder_not_before(
    alarm: Alarm, last_bp: datetime | None, bp_due_every_s: float | None
) -> datetime | None:
    """When an acknowledged blood-pressure alarm may remind: a cuff or a nurse measures every
    few minutes, so re-alerting every `reminder_s` before a new value could be taken only asks
    a question nobody can answer yet. It reminds once a new BP is due (the phase's interval
    since the last one), or as soon as the reminder interval allows when a BP measured after
    the acknowledgement still breaches (a central station re-alerts on a new violating NIBP).
    None: no extra wait (no interval in this phase, or no BP to count from)."""
    if bp_due_every_s is None or last_bp is None or alarm.acknowledged_at is None:
        return None
    if last_bp > alarm.acknowledged_at:
        return None  # measured after the acknowledgement and the alarm still stands: the answer
    return last_bp + timedelta(seconds=bp_due_every_s)
