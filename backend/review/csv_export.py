"""The alarm review as CSV, pure: one figure a row (section, item, measure, value), so a
spreadsheet's pivot table takes it as it is; every cell safe to open (no formula runs)."""

import csv
import io
from collections.abc import Iterable

from backend.audit.export import safe_cell
from backend.review.schemas import AlarmReview, Rate

COLUMNS = ["section", "item", "measure", "value"]
RATE_MEASURES = (
    "alarms",
    "chair_hours",
    "per_chair_hour",
    "escalations",
    "resolved_before_ack_share",
    "actionable_share",
)


def _number(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


def _rows(r: AlarmReview) -> Iterable[list[object]]:
    period = f"{r.start.isoformat()} to {r.end.isoformat()}"
    yield ["period", period, "sessions_shown", r.sessions_shown]
    for key in ("site_id", "chair_id", "profile_id"):
        value = getattr(r, key)
        if value is not None:
            yield ["period", period, f"filter_{key}", value]
    yield ["period", period, "generated_at_utc", r.generated_at.isoformat()]
    summary = {
        "sessions": r.sessions,
        "alarms": r.alarms,
        "chair_hours": r.chair_hours,
        "per_chair_hour": r.per_chair_hour,
        "ack_count": r.ack.count,
        "ack_median_s": r.ack.median_s,
        "ack_p90_s": r.ack.p90_s,
        "escalations": r.escalations,
        "escalated_alarms": r.escalated_alarms,
        "resolved": r.resolved,
        "resolved_before_ack": r.resolved_before_ack,
        "resolved_before_ack_share": r.resolved_before_ack_share,
        "withdrawn": r.withdrawn,
        "actionable_yes": r.actionable.yes,
        "actionable_no": r.actionable.no,
        "actionable_share": r.actionable.share,
        "limit_changes": r.limit_changes.total,
        "limit_changes_profiles": r.limit_changes.profile_changes,
        "limit_changes_sessions": r.limit_changes.session_changes,
    }
    for measure, value in summary.items():
        yield ["summary", "all", measure, _number(value)]
    for label, count in r.ack.bins:
        yield ["time_to_ack", label, "alarms", count]
    lines: list[tuple[str, str, Rate]] = [
        ("chair", f"{c.site} / {c.room} / {c.chair}", c) for c in r.by_chair
    ]
    lines += [("profile", p.profile, p) for p in r.by_profile]
    for section, item, line in lines:
        for measure in RATE_MEASURES:
            yield [section, item, measure, _number(getattr(line, measure))]
    for c in r.top_conditions:
        for measure in ("alarms", "share", "escalations", "resolved_before_ack_share"):
            yield ["condition", c.label, measure, _number(getattr(c, measure))]
    if r.other_conditions:
        yield ["condition", "other conditions", "alarms", r.other_conditions]
    for change in r.limit_changes.listed:
        where = (
            f"profile {change.profile}"
            if change.scope == "profile"
            else f"session {change.session_id} ({change.chair})"
        )
        item = f"{change.changed_at.isoformat()} {change.changed_by}: {where}"
        for edit in change.edits:
            yield ["limit_change", item, edit.path, f"{edit.old} -> {edit.new}"]


def review_csv(review: AlarmReview) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in _rows(review):
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
