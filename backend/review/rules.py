"""The alarm review's figures, pure: from the period's bounded aggregates (service.py) to what a
clinic manager reads. No web framework, no database: each figure is unit-tested alone.

The measures are those clinical.md section 11 names for managing alarms from a clinic's own data
(The Joint Commission NPSG.06.01.01): alarms per chair-hour, time to acknowledge (median and
90th percentile), escalations, the share resolved before anyone answered, the top conditions,
and the limit changes; plus the share the acknowledging nurses called actionable.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.readings.vitals import VITALS

# Times to acknowledge are kept as whole seconds, the longest as this cap: past an hour the
# exact figure tells a manager nothing more, and the query's groups stay bounded.
ACK_CAP_S = 3600
# The time-to-acknowledge chart's bins, in seconds (the last is open-ended).
ACK_BINS: tuple[tuple[int, int | None, str], ...] = (
    (0, 10, "under 10 s"),
    (10, 30, "10–30 s"),
    (30, 60, "30–60 s"),
    (60, 120, "1–2 min"),
    (120, 300, "2–5 min"),
    (300, 600, "5–10 min"),
    (600, None, "10 min or more"),
)
TOP_CONDITIONS = 10
OTHER_CONDITIONS = {
    "baseline_rise": "Blood pressure rise from baseline",
    "no_data": "No data from the monitor",
    "bp_overdue": "Blood pressure overdue",
}


def condition_label(condition: str) -> str:
    """ "heart_rate.above" -> "Heart rate high"; the other conditions by name."""
    vital, _, side = condition.partition(".")
    if vital in VITALS and side in ("above", "below"):
        return f"{VITALS[vital].label} {'high' if side == 'above' else 'low'}"
    return OTHER_CONDITIONS.get(condition, condition.replace("_", " ").capitalize())


# ── chair-hours ─────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SessionSpan:
    """A session's time on its chair: from its start until it ended (or now, still open)."""

    session_id: int
    chair_id: int
    profile_id: int
    started_at: datetime
    ended_at: datetime | None


def overlap_hours(
    start: datetime, end: datetime, span_start: datetime, span_end: datetime
) -> float:
    """Hours that [span_start, span_end) shares with the period [start, end); never negative."""
    seconds = (min(end, span_end) - max(start, span_start)).total_seconds()
    return max(seconds, 0.0) / 3600


def chair_hours(
    spans: Iterable[SessionSpan], start: datetime, end: datetime, now: datetime
) -> tuple[dict[int, float], dict[int, float]]:
    """Hours sessions were open on each chair, and under each profile, within the period. A
    session still open counts until now (never past it: the future has no chair-hours)."""
    by_chair: dict[int, float] = defaultdict(float)
    by_profile: dict[int, float] = defaultdict(float)
    for span in spans:
        hours = overlap_hours(start, min(end, now), span.started_at, span.ended_at or now)
        by_chair[span.chair_id] += hours
        by_profile[span.profile_id] += hours
    return dict(by_chair), dict(by_profile)


def per_hour(count: int, hours: float) -> float | None:
    """A rate per chair-hour; None where no chair was in use (a rate over nothing is not 0)."""
    return count / hours if hours > 0 else None


# ── time to acknowledge ─────────────────────────────────────────────────────────────────────


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of values given as {value: how many}, interpolated linearly
    between the two nearest ranks (numpy's default, and statistics.quantiles' "inclusive").
    None when there are no values."""
    if not 0 <= q <= 1:
        raise ValueError("q is between 0 and 1")
    items = sorted((v, n) for v, n in counts.items() if n > 0)
    total = sum(n for _, n in items)
    if total == 0:
        return None
    position = q * (total - 1)
    low_rank = math.floor(position)
    fraction = position - low_rank
    low = _value_at(items, low_rank)
    if fraction == 0:
        return float(low)
    high = _value_at(items, low_rank + 1)
    return low + (high - low) * fraction


def _value_at(items: Sequence[tuple[int, int]], rank: int) -> int:
    seen = 0
    for value, n in items:
        seen += n
        if rank < seen:
            return value
    return items[-1][0]


def ack_bins(counts: Mapping[int, int]) -> list[tuple[str, int]]:
    """The times to acknowledge, counted into the chart's bins."""
    out = []
    for low, high, label in ACK_BINS:
        out.append(
            (label, sum(n for v, n in counts.items() if v >= low and (high is None or v < high)))
        )
    return out


# ── alarms ──────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class AlarmGroup:
    """The period's alarms of one chair, profile and condition, counted (one row of the
    service's grouped query)."""

    chair_id: int
    profile_id: int
    condition: str
    kind: str
    alarms: int
    escalated_alarms: int = 0  # alarms that escalated at least once
    escalations: int = 0  # escalations in all (each unanswered episode)
    acknowledged: int = 0
    resolved: int = 0  # closed by the condition clearing or an acknowledgement, not withdrawn
    resolved_unacknowledged: int = 0  # ... of which nobody had acknowledged
    withdrawn: int = 0  # raised by a reading later marked entered in error
    actionable_yes: int = 0
    actionable_no: int = 0


@dataclass
class Tally:
    alarms: int = 0
    escalated_alarms: int = 0
    escalations: int = 0
    acknowledged: int = 0
    resolved: int = 0
    resolved_unacknowledged: int = 0
    withdrawn: int = 0
    actionable_yes: int = 0
    actionable_no: int = 0

    def add(self, g: AlarmGroup) -> None:
        self.alarms += g.alarms
        self.escalated_alarms += g.escalated_alarms
        self.escalations += g.escalations
        self.acknowledged += g.acknowledged
        self.resolved += g.resolved
        self.resolved_unacknowledged += g.resolved_unacknowledged
        self.withdrawn += g.withdrawn
        self.actionable_yes += g.actionable_yes
        self.actionable_no += g.actionable_no

    @property
    def resolved_before_ack_share(self) -> float | None:
        """Of the alarms that closed by themselves or by an answer (withdrawn ones aside), the
        share nobody had acknowledged: they came and went unanswered."""
        return share(self.resolved_unacknowledged, self.resolved)

    @property
    def answered(self) -> int:
        return self.actionable_yes + self.actionable_no

    @property
    def actionable_share(self) -> float | None:
        """Of the acknowledgements that answered "actionable?", the share that said yes."""
        return share(self.actionable_yes, self.answered)


def share(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class Line:
    """One chair's, profile's or condition's figures."""

    key: Any
    tally: Tally
    chair_hours: float | None = None

    @property
    def per_chair_hour(self) -> float | None:
        return None if self.chair_hours is None else per_hour(self.tally.alarms, self.chair_hours)


@dataclass
class Review:
    total: Tally
    chair_hours: float
    by_chair: list[Line]
    by_profile: list[Line]
    top_conditions: list[Line]
    other_conditions: int  # alarms of the conditions past the top ones
    ack_count: int
    ack_median_s: float | None
    ack_p90_s: float | None
    ack_bins: list[tuple[str, int]] = field(default_factory=list)

    @property
    def per_chair_hour(self) -> float | None:
        return per_hour(self.total.alarms, self.chair_hours)


def review(
    groups: Iterable[AlarmGroup],
    hours_by_chair: Mapping[int, float],
    hours_by_profile: Mapping[int, float],
    ack_counts: Mapping[int, int],
) -> Review:
    """The period's figures from its grouped alarms, chair-hours and times to acknowledge.

    Every chair or profile with chair-hours or alarms has a line, so a quiet chair shows as 0
    alarms in 6 hours rather than not at all; lines come busiest first (by rate, then count)."""
    total = Tally()
    chairs: dict[int, Tally] = defaultdict(Tally)
    profiles: dict[int, Tally] = defaultdict(Tally)
    conditions: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for g in groups:
        total.add(g)
        chairs[g.chair_id].add(g)
        profiles[g.profile_id].add(g)
        conditions[(g.condition, g.kind)].add(g)
    # A line for every chair and profile in use, alarms or not.
    for chair_id in hours_by_chair:
        chairs.setdefault(chair_id, Tally())
    for profile_id in hours_by_profile:
        profiles.setdefault(profile_id, Tally())

    def lines(tallies: Mapping[int, Tally], hours: Mapping[int, float]) -> list[Line]:
        out = [Line(k, t, hours.get(k, 0.0)) for k, t in tallies.items()]
        return sorted(out, key=lambda ln: (-(ln.per_chair_hour or 0), -ln.tally.alarms, ln.key))

    ranked = sorted(conditions.items(), key=lambda kv: (-kv[1].alarms, kv[0]))
    top = [Line(key, t) for key, t in ranked[:TOP_CONDITIONS]]
    ack_count = sum(ack_counts.values())
    return Review(
        total=total,
        chair_hours=sum(hours_by_chair.values()),
        by_chair=lines(chairs, hours_by_chair),
        by_profile=lines(profiles, hours_by_profile),
        top_conditions=top,
        other_conditions=sum(t.alarms for _, t in ranked[TOP_CONDITIONS:]),
        ack_count=ack_count,
        ack_median_s=percentile(ack_counts, 0.5),
        ack_p90_s=percentile(ack_counts, 0.9),
        ack_bins=ack_bins(ack_counts),
    )


# ── limit changes ───────────────────────────────────────────────────────────────────────────


def _flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(doc, Mapping):
        out: dict[str, Any] = {}
        for key, value in doc.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: doc}


@dataclass(frozen=True)
class LimitEdit:
    path: str  # "infusion.heart_rate.above.high"
    old: Any
    new: Any


def limit_edits(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[LimitEdit]:
    """What one stored change altered, leaf by leaf ("phases.infusion.spo2.below.medium: 92 ->
    90"), in path order. A profile's creation lists its name only: every limit is new."""
    if old is None:
        name = (new or {}).get("name")
        return [LimitEdit("created", None, name)]
    before, after = _flatten(old), _flatten(new or {})
    return [
        LimitEdit(path, before.get(path), after.get(path))
        for path in sorted(set(before) | set(after))
        if before.get(path) != after.get(path)
    ]
