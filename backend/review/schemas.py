"""The alarm review as JSON: the period's figures, per chair, profile and condition."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from backend.core.schema import Schema
from backend.review import rules
from backend.review.service import ReviewData

SessionsShown = Literal["real", "simulated"]


class Rate(Schema):
    alarms: int
    chair_hours: float = Field(description="Hours sessions were open on the chairs in the period")
    per_chair_hour: float | None = Field(description="Alarms per chair-hour; null with no hours")
    escalations: int = Field(description="Unanswered episodes that escalated")
    resolved_before_ack_share: float | None = Field(
        description="Of the alarms that closed, the share nobody had acknowledged"
    )
    actionable_share: float | None = Field(
        description="Of the acknowledgements answering 'actionable?', the share saying yes"
    )


class ChairLine(Rate):
    chair_id: int
    chair: str
    room: str
    site: str


class ProfileLine(Rate):
    profile_id: int
    profile: str


class ConditionLine(Schema):
    condition: str
    label: str
    kind: str
    alarms: int
    share: float | None = Field(description="Of all the period's alarms")
    escalations: int
    resolved_before_ack_share: float | None
    actionable_share: float | None


class AckFigures(Schema):
    count: int = Field(description="Alarms acknowledged")
    median_s: float | None = Field(description="Median seconds from announcement to first ack")
    p90_s: float | None = Field(description="90th percentile of the same")
    bins: list[tuple[str, int]] = Field(description="The distribution: (bin, alarms)")


class ActionableFigures(Schema):
    yes: int
    no: int
    answered: int
    share: float | None = Field(description="Share of 'yes' among the answered")


class LimitEditPublic(Schema):
    path: str
    old: Any
    new: Any


class LimitChangeLine(Schema):
    id: int
    changed_at: datetime
    changed_by: str
    scope: Literal["profile", "session"]
    profile_id: int | None
    profile: str | None
    session_id: int | None
    chair: str | None
    edits: list[LimitEditPublic]


class LimitChanges(Schema):
    total: int
    profile_changes: int
    session_changes: int
    sessions_with_changes: int
    listed: list[LimitChangeLine] = Field(description="The newest, at most 200")


class AlarmReview(Schema):
    start: datetime
    end: datetime
    generated_at: datetime
    sessions_shown: SessionsShown
    site_id: int | None
    chair_id: int | None
    profile_id: int | None
    sessions: int = Field(description="Sessions open on the chairs at some time in the period")
    alarms: int
    chair_hours: float
    per_chair_hour: float | None
    escalations: int
    escalated_alarms: int
    resolved: int
    resolved_before_ack: int
    resolved_before_ack_share: float | None
    withdrawn: int = Field(description="Raised by a reading later marked entered in error")
    ack: AckFigures
    actionable: ActionableFigures
    by_chair: list[ChairLine]
    by_profile: list[ProfileLine]
    top_conditions: list[ConditionLine]
    other_conditions: int = Field(description="Alarms of conditions past the top ten")
    limit_changes: LimitChanges


def _rate(line: rules.Line) -> dict[str, Any]:
    t = line.tally
    return {
        "alarms": t.alarms,
        "chair_hours": line.chair_hours or 0.0,
        "per_chair_hour": line.per_chair_hour,
        "escalations": t.escalations,
        "resolved_before_ack_share": t.resolved_before_ack_share,
        "actionable_share": t.actionable_share,
    }


def review_of(data: ReviewData) -> AlarmReview:
    f, q = data.figures, data.query
    total = f.total
    unknown = rules.condition_label

    def chair(line: rules.Line) -> ChairLine:
        name = data.chairs.get(line.key)
        return ChairLine(
            chair_id=line.key,
            chair=name.chair if name else f"chair {line.key}",
            room=name.room if name else "",
            site=name.site if name else "",
            **_rate(line),
        )

    def change(c: Any) -> LimitChangeLine:
        name = data.chairs.get(c.chair_id) if c.chair_id is not None else None
        return LimitChangeLine(
            id=c.id,
            changed_at=c.changed_at,
            changed_by=c.changed_by,
            scope="session" if c.session_id is not None else "profile",
            profile_id=c.profile_id,
            profile=data.profiles.get(c.profile_id) if c.profile_id is not None else None,
            session_id=c.session_id,
            chair=f"{name.site} / {name.room} / {name.chair}" if name else None,
            edits=[LimitEditPublic(path=e.path, old=e.old, new=e.new) for e in c.edits],
        )

    return AlarmReview(
        start=q.start,
        end=q.end,
        generated_at=data.now,
        sessions_shown="simulated" if q.simulated else "real",
        site_id=q.site_id,
        chair_id=q.chair_id,
        profile_id=q.profile_id,
        sessions=data.sessions,
        alarms=total.alarms,
        chair_hours=f.chair_hours,
        per_chair_hour=f.per_chair_hour,
        escalations=total.escalations,
        escalated_alarms=total.escalated_alarms,
        resolved=total.resolved,
        resolved_before_ack=total.resolved_unacknowledged,
        resolved_before_ack_share=total.resolved_before_ack_share,
        withdrawn=total.withdrawn,
        ack=AckFigures(
            count=f.ack_count, median_s=f.ack_median_s, p90_s=f.ack_p90_s, bins=f.ack_bins
        ),
        actionable=ActionableFigures(
            yes=total.actionable_yes,
            no=total.actionable_no,
            answered=total.answered,
            share=total.actionable_share,
        ),
        by_chair=[chair(line) for line in f.by_chair],
        by_profile=[
            ProfileLine(
                profile_id=line.key,
                profile=data.profiles.get(line.key, f"profile {line.key}"),
                **_rate(line),
            )
            for line in f.by_profile
        ],
        top_conditions=[
            ConditionLine(
                condition=line.key[0],
                label=unknown(line.key[0]),
                kind=line.key[1],
                alarms=line.tally.alarms,
                share=rules.share(line.tally.alarms, total.alarms),
                escalations=line.tally.escalations,
                resolved_before_ack_share=line.tally.resolved_before_ack_share,
                actionable_share=line.tally.actionable_share,
            )
            for line in f.top_conditions
        ],
        other_conditions=f.other_conditions,
        limit_changes=LimitChanges(
            total=data.changes_total,
            profile_changes=data.profile_changes,
            session_changes=data.session_changes,
            sessions_with_changes=data.sessions_with_changes,
            listed=[change(c) for c in data.changes],
        ),
    )
