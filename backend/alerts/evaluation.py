"""On ingest: every stored reading is checked against the session's limits in the transaction
that stores it; a reading entered in error withdraws the alarms it raised."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.alerts.baseline import BloodPressure, rise_condition
from backend.alerts.conditions import (
    ConditionState,
    elapse,
    is_history,
    measured_clock,
    observe,
)
from backend.alerts.lifecycle import AlarmKind, AlarmStatus, Change
from backend.alerts.limit_profiles import MONITORED, ProfileVersion, baseline_pressure
from backend.alerts.limits import Bound, Direction, Priority, VitalLimit
from backend.alerts.models import Alert
from backend.alerts.schemas import AlertPublic
from backend.alerts.store import (
    Context,
    apply,
    condition_state,
    crossed_limit,
    finish,
    is_monitor_feed,
    load_context,
    lock_session,
    save,
    store_state,
    to_alarm,
    vital_message,
)
from backend.readings.models import Reading
from backend.sessions.models import InfusionSession
from backend.sessions.phases import Phase


def evaluate_readings(
    db: Session,
    session: InfusionSession,
    readings: Sequence[Reading],
    now: datetime,
    *,
    locked: bool = False,
    version: ProfileVersion | None = None,
) -> None:
    """Check newly stored readings of one session against its limits, in the same transaction.

    `locked`: the caller row-locked the session in this transaction (so `session` is current);
    `version`: of the session's limit profile, read with that lock."""
    if session.phase not in MONITORED or not readings:
        return
    if not locked:
        session = lock_session(db, session.id)
    ctx = load_context(db, session, now, version)
    # In the order they were measured: a backfilled batch replays its breach as it happened.
    for reading in sorted(readings, key=lambda r: r.taken_at):
        _evaluate_one(ctx, reading)
    finish(ctx)


def withdraw_reading(
    db: Session, session: InfusionSession, reading: Reading, reason: str, now: datetime
) -> None:
    """A reading was entered in error: withdraw the alarms it raised, unless real values stand.

    An alarm raised by that reading is withdrawn only when no other valid reading breached the
    same condition while it was open: a latched SpO2 alarm from minutes of real 84 % stays, even
    if the reading that happened to raise it is struck. A withdrawn open alarm is resolved at once
    (no latching: the condition never existed) and its condition starts afresh, so the next real
    reading decides. Past ones are marked too, so the record shows why they happened.
    """
    session = lock_session(db, session.id)
    ctx = load_context(db, session, now)
    rows = list(db.scalars(select(Alert).where(Alert.reading_id == reading.id)))
    for row in rows:
        until = row.resolved_at or now
        standing = _breach_since(ctx, row.condition, reading, until)
        if standing is not None:
            row.reading_id = standing.id
            continue
        row.withdrawn_reason = reason
        if row.resolved_at is None:
            alarm = replace(
                to_alarm(row), status=AlarmStatus.RESOLVED, present=False, resolved_at=now
            )
            save(ctx, row, alarm, None, [Change.WITHDRAWN])
            if row.condition in ctx.conditions:
                store_state(ctx, row.condition, ConditionState())
        else:
            row.version += 1
            ctx.events.append(
                (
                    "alert.changed",
                    session.id,
                    {
                        **AlertPublic.of(row).model_dump(mode="json"),
                        "changes": [Change.WITHDRAWN.value],
                    },
                )
            )
    db.flush()
    if session.phase in MONITORED:
        # What the struck value decided (a breach it began or broke, an alarm it cleared, a delay
        # it was part of) is decided again on the valid readings that remain.
        _rejudge(ctx, reading)
        db.flush()
    finish(ctx)


# How far back a re-judgement replays a vital's readings, and at most how many on each side of
# the struck one: every delay is at most 300 s and a BP is due at least every 4 h, but what
# decides a condition now is its last values, and these bounds keep the queries on the
# (session, taken_at) index short whatever the stored history.
REPLAY_LOOKBACK = timedelta(hours=1)
REPLAY_LIMIT = 300


def _rejudge(ctx: Context, struck: Reading) -> None:
    """Re-derive the conditions of each vital the struck reading carried by replaying the
    valid readings of that vital around it, and apply them to the alarms. An alarm the struck
    value had cleared stands again: the same alarm is reopened (its resolution stood on a value
    that never existed), alerting anew."""
    limits = ctx.phase_limits
    for vital, limit in limits.vitals.items():
        if getattr(struck, vital) is None:
            continue
        replay = _replay(ctx, vital, struck)
        if replay is None:
            continue
        for direction in Direction:
            bound = limit.bound(direction)
            if bound.medium is None and bound.high is None:
                continue
            _rejudge_condition(ctx, struck, vital, limit, direction, replay)
    if struck.systolic is not None or struck.diastolic is not None:
        # The struck value may have been the current blood pressure, or the baseline itself.
        _judge_rise(ctx, _latest_bp(ctx), struck)


def _replay(ctx: Context, vital: str, struck: Reading) -> list[Reading] | None:
    """The valid readings of `vital` around the struck one, oldest first; None when the struck
    value lies so far back that the values since have long decided the condition."""
    newest = _newest_seen(ctx, vital)
    if newest is not None and newest - struck.taken_at > REPLAY_LOOKBACK:
        return None
    column = getattr(Reading, vital)
    valid = select(Reading).where(
        Reading.session_id == ctx.session.id,
        column.is_not(None),
        Reading.entered_in_error_at.is_(None),
        Reading.id != struck.id,
    )
    after = list(
        ctx.db.scalars(
            valid.where(
                Reading.taken_at >= struck.taken_at,
                Reading.taken_at <= struck.taken_at + REPLAY_LOOKBACK,
            )
            .order_by(Reading.taken_at, Reading.id)
            .limit(REPLAY_LIMIT + 1)
        )
    )
    if len(after) > REPLAY_LIMIT:
        return None
    before = list(
        ctx.db.scalars(
            valid.where(
                Reading.taken_at < struck.taken_at,
                Reading.taken_at >= struck.taken_at - REPLAY_LOOKBACK,
            )
            .order_by(Reading.taken_at.desc(), Reading.id.desc())
            .limit(REPLAY_LIMIT)
        )
    )
    return before[::-1] + after


def _rejudge_condition(
    ctx: Context,
    struck: Reading,
    vital: str,
    limit: VitalLimit,
    direction: Direction,
    replay: Sequence[Reading],
) -> None:
    condition = f"{vital}.{direction.value}"
    state = ConditionState()
    since: Reading | None = None
    for candidate in replay:
        state = observe(
            state,
            limit,
            direction,
            float(getattr(candidate, vital)),
            min(candidate.taken_at, ctx.now),
        )
        if state.medium_since is None:
            since = None
        elif since is None:
            since = candidate
    last = replay[-1] if replay else None
    if last is not None:
        # Time has passed since the last value: a delay running on it may have completed.
        at = measured_clock(ctx.now, state.last_at, last.received_at)
        state = replace(elapse(state, limit, direction, at), last_at=state.last_at)
    if state == condition_state(ctx.conditions.get(condition)):
        return
    record = store_state(ctx, condition, state, last)
    record.since_reading_id = since.id if since is not None else None
    if state.last_value is None:
        return  # nothing valid is left to judge: the next real value decides
    bound = limit.bound(direction)
    _drop_unfounded_high(ctx, struck, condition, vital, bound, direction, state)
    _restore(
        ctx,
        struck,
        condition,
        state.present,
        vital_message(vital, direction, state.last_value, bound, state.present),
        state.last_value,
        reading_id=since.id if since is not None else None,
        onset=state.high_since if state.present is Priority.HIGH else state.medium_since,
        limit=crossed_limit(bound, direction, state.present),
    )


def _drop_unfounded_high(
    ctx: Context,
    struck: Reading,
    condition: str,
    vital: str,
    bound: Bound,
    direction: Direction,
    state: ConditionState,
) -> None:
    """An open high alarm that the struck value made high (an earlier real value raised it at
    medium) drops back to medium when no valid value since it was raised went beyond the high
    limit: otherwise it would stay high, and latch, on a value that never existed."""
    row = ctx.alerts.get(condition)
    if (
        row is None
        or row.priority != Priority.HIGH
        or state.present is Priority.HIGH
        or state.last_value is None
        or bound.high is None
        or bound.medium is None
    ):
        return
    column = getattr(Reading, vital)
    beyond = column > bound.high if direction is Direction.ABOVE else column < bound.high
    real_high = ctx.db.scalars(
        select(Reading.id)
        .where(
            Reading.session_id == ctx.session.id,
            Reading.entered_in_error_at.is_(None),
            Reading.id != struck.id,
            Reading.taken_at >= row.raised_at,
            Reading.taken_at <= ctx.now,
            beyond,
        )
        .limit(1)
    ).first()
    if real_high is not None:
        return  # a real value was that bad: the high alarm stands (and latches) on it
    # Shown with the value that stands now, against the limit it crossed.
    value = state.last_value
    lowered = replace(
        to_alarm(row),
        priority=Priority.MEDIUM,
        message=vital_message(vital, direction, value, bound, Priority.MEDIUM),
    )
    save(ctx, row, lowered, value, [Change.PRIORITY_LOWERED], limit=bound.medium)


def _restore(
    ctx: Context,
    struck: Reading,
    condition: str,
    present: Priority | None,
    message: str,
    value: float | None,
    *,
    reading_id: str | None,
    onset: datetime | None,
    limit: float | None = None,
    kind: AlarmKind = AlarmKind.PHYSIOLOGICAL,
) -> None:
    """Apply a re-judged condition. When it stands and its last alarm was resolved after the
    struck value arrived, that resolution stood on a value that never existed: the same alarm
    is reopened, alerting anew (it was answered as gone, so it must be seen again)."""
    if present is not None and condition not in ctx.alerts:
        last = ctx.db.scalars(
            select(Alert)
            .where(Alert.session_id == ctx.session.id, Alert.condition == condition)
            .order_by(Alert.id.desc())
            .limit(1)
        ).first()
        if (
            last is not None
            and last.resolved_at is not None
            and last.withdrawn_reason is None
            and last.resolved_at >= struck.received_at
        ):
            alarm = replace(
                to_alarm(last),
                priority=present,
                status=AlarmStatus.ACTIVE,
                present=True,
                resolved_at=None,
                alerted_at=ctx.now,
                message=message,
            )
            # "raised" too: every screen announces and sounds it as it does a new alarm.
            changes = [Change.REOPENED, Change.RAISED]
            save(ctx, last, alarm, value, changes, reading_id or last.reading_id, limit)
            return
    apply(
        ctx,
        condition,
        kind,
        present,
        message,
        value,
        reading_id=reading_id,
        onset=onset,
        limit=limit,
    )


def _latest_bp(ctx: Context) -> Reading | None:
    """The newest valid blood pressure (one indexed lookup from the newest reading back)."""
    return ctx.db.scalars(
        select(Reading)
        .where(
            Reading.session_id == ctx.session.id,
            Reading.systolic.is_not(None),
            Reading.entered_in_error_at.is_(None),
        )
        .order_by(Reading.taken_at.desc(), Reading.id.desc())
        .limit(1)
    ).first()


NO_BASELINE = "no_baseline"
NO_BASELINE_MESSAGE = (
    "No valid pre-dose blood pressure: the rise-from-baseline alarm cannot be judged"
)


def _judge_rise(ctx: Context, current: Reading | None, struck: Reading | None = None) -> None:
    """The rise-from-baseline rule on the current blood pressure, against the last valid
    pre-dose one; when none stands (it was struck), an advisory says the rule cannot be judged,
    rather than the rule silently stopping. Judged once dosing has started."""
    rule = ctx.phase_limits.baseline_rise
    if rule is None or ctx.session.phase == Phase.BASELINE.value:
        return
    baseline = baseline_pressure(ctx.db, ctx.session)
    if baseline is None:
        # A rise judged against a baseline that never existed does not stand either.
        apply(ctx, "baseline_rise", AlarmKind.PHYSIOLOGICAL, None, "")
        apply(ctx, NO_BASELINE, AlarmKind.ADVISORY, Priority.LOW, NO_BASELINE_MESSAGE)
        return
    apply(ctx, NO_BASELINE, AlarmKind.ADVISORY, None, "")
    present, message = (
        rise_condition(rule, baseline, BloodPressure(current.systolic, current.diastolic))
        if current is not None
        else (None, "")
    )
    args = (present, message or "Blood pressure rise", current.systolic if current else None)
    taken_at = min(current.taken_at, ctx.now) if current is not None else None
    reading_id = current.id if current is not None else None
    if struck is not None:
        _restore(ctx, struck, "baseline_rise", *args, reading_id=reading_id, onset=taken_at)
    else:
        apply(
            ctx,
            "baseline_rise",
            AlarmKind.PHYSIOLOGICAL,
            *args,
            reading_id=reading_id,
            onset=taken_at,
        )


def _breach_since(ctx: Context, condition: str, struck: Reading, until: datetime) -> Reading | None:
    """Another valid reading that breached `condition` between `struck` and `until`, if any."""
    later = select(Reading).where(
        Reading.session_id == ctx.session.id,
        Reading.id != struck.id,
        Reading.entered_in_error_at.is_(None),
        Reading.taken_at >= struck.taken_at,
        Reading.taken_at <= until,
    )
    limits = ctx.phase_limits
    if condition == "baseline_rise":
        rule = limits.baseline_rise
        baseline = baseline_pressure(ctx.db, ctx.session)
        if rule is None or baseline is None:
            return None
        for candidate in ctx.db.scalars(later.where(Reading.systolic.is_not(None))):
            rise = BloodPressure(candidate.systolic, candidate.diastolic)
            if rise_condition(rule, baseline, rise)[0] is not None:
                return candidate
        return None
    vital, _, side = condition.partition(".")
    if vital not in limits.vitals or side not in {d.value for d in Direction}:
        return None
    direction = Direction(side)
    limit = limits.vitals[vital].bound(direction).loosest(direction)
    if limit is None:
        return None
    column = getattr(Reading, vital)
    beyond = column > limit if direction is Direction.ABOVE else column < limit
    return ctx.db.scalars(later.where(beyond).order_by(Reading.taken_at).limit(1)).first()


def _newest_seen(ctx: Context, vital: str) -> datetime | None:
    """When the newest value of `vital` evaluated so far was measured."""
    seen = [
        record.last_taken_at
        for condition, record in ctx.conditions.items()
        if condition.partition(".")[0] == vital and record.last_taken_at is not None
    ]
    return max(seen, default=None)


def _evaluate_one(ctx: Context, reading: Reading) -> None:
    limits = ctx.phase_limits
    # A time ahead of the server's (a device clock running fast, within the tolerance ingest
    # allows) counts as now: left as it is, it would make every real value for the next minutes
    # look older than it, and so silence them.
    taken_at = min(reading.taken_at, ctx.now)
    # A value measured before the newest one already seen (a late reading) is stored and shown in
    # the history, but it is not the current value: it neither raises nor clears an alarm.
    late_bp = any(
        getattr(reading, vital) is not None
        and (newest := _newest_seen(ctx, vital)) is not None
        and taken_at < newest
        for vital in ("systolic", "diastolic")
    )
    for vital, limit in limits.vitals.items():
        value = getattr(reading, vital)
        if value is None:
            continue
        for direction in Direction:
            bound = limit.bound(direction)
            if bound.medium is None and bound.high is None:
                continue
            condition = f"{vital}.{direction.value}"
            before = condition_state(ctx.conditions.get(condition))
            if is_history(before, taken_at):
                continue
            # Timed by when the value was measured, not when it arrived (see conditions.py).
            state = observe(before, limit, direction, float(value), taken_at)
            record = store_state(ctx, condition, state, reading)
            if state.present is None and condition not in ctx.alerts:
                continue  # in range, no alarm open: nothing to raise or clear (most readings)
            message = vital_message(vital, direction, float(value), bound, state.present)
            apply(
                ctx,
                condition,
                AlarmKind.PHYSIOLOGICAL,
                state.present,
                message,
                float(value),
                reading_id=record.since_reading_id or reading.id,
                onset=taken_at,
                limit=crossed_limit(bound, direction, state.present),
            )
    has_bp = reading.systolic is not None or reading.diastolic is not None
    if has_bp and not late_bp:
        _judge_rise(ctx, reading)
    elif has_bp and NO_BASELINE in ctx.alerts:
        # A pre-dose blood pressure entered afterwards (backdated before dosing started) gives
        # the rule its baseline again: judged on the current blood pressure.
        _judge_rise(ctx, _latest_bp(ctx))
    if is_monitor_feed(reading):
        apply(ctx, "no_data", AlarmKind.TECHNICAL, None, "")
    due = limits.bp_due_every_s
    if (
        reading.systolic is not None
        and not late_bp
        and (due is None or (ctx.now - taken_at).total_seconds() <= due)
    ):
        # Only a blood pressure recent enough to count ends the reminder; an older one arriving
        # now would end it only for the clock to raise it again.
        apply(ctx, "bp_overdue", AlarmKind.ADVISORY, None, "")
