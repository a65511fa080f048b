"""The alarm review's figures (backend/review/rules.py): percentiles from counted seconds,
chair-hours cut to the period, the share resolved before anyone answered, limit-change diffs."""

import statistics
from datetime import UTC, datetime, timedelta

import pytest

from backend.review import rules
from backend.review.rules import AlarmGroup, SessionSpan

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def hours(h: float) -> datetime:
    return T0 + timedelta(hours=h)


# ── median and 90th percentile ──────────────────────────────────────────────────────────────


def test_median_and_p90_of_counted_values_match_the_statistics_module() -> None:
    values = [3, 3, 7, 12, 12, 12, 30, 45, 90, 600, 601]
    counts = {v: values.count(v) for v in set(values)}
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    assert rules.percentile(counts, 0.5) == statistics.median(values) == 12
    assert rules.percentile(counts, 0.9) == pytest.approx(deciles[8])
    assert rules.percentile(counts, 0.9) == pytest.approx(600)  # rank 9 of 0..10


def test_an_even_count_interpolates_between_the_middle_two() -> None:
    assert rules.percentile({30: 1, 90: 1}, 0.5) == 60
    assert rules.percentile({30: 1, 90: 1}, 0.9) == pytest.approx(84)


def test_one_value_is_every_percentile_and_no_values_is_none() -> None:
    assert rules.percentile({45: 1}, 0.5) == rules.percentile({45: 1}, 0.9) == 45
    assert rules.percentile({}, 0.5) is None
    assert rules.percentile({10: 0}, 0.9) is None


def test_a_quantile_outside_0_to_1_is_a_mistake() -> None:
    with pytest.raises(ValueError):
        rules.percentile({1: 1}, 1.5)


def test_times_to_acknowledge_fall_in_their_bins() -> None:
    bins = dict(rules.ack_bins({0: 2, 9: 1, 10: 1, 59: 1, 60: 1, 599: 1, 600: 1, 3600: 4}))
    assert bins["under 10 s"] == 3
    assert bins["10–30 s"] == 1
    assert bins["30–60 s"] == 1
    assert bins["1–2 min"] == 1
    assert bins["5–10 min"] == 1
    assert bins["10 min or more"] == 5
    assert sum(bins.values()) == 12


# ── chair-hours ─────────────────────────────────────────────────────────────────────────────


def test_overlap_is_the_part_of_a_session_inside_the_period() -> None:
    start, end = hours(0), hours(10)
    assert rules.overlap_hours(start, end, hours(2), hours(5)) == 3  # inside
    assert rules.overlap_hours(start, end, hours(-2), hours(1)) == 1  # began before
    assert rules.overlap_hours(start, end, hours(9), hours(12)) == 1  # ended after
    assert rules.overlap_hours(start, end, hours(-1), hours(11)) == 10  # spans it
    assert rules.overlap_hours(start, end, hours(-5), hours(-1)) == 0  # before: never negative
    assert rules.overlap_hours(start, end, hours(10), hours(12)) == 0  # touching the end


def test_chair_hours_add_up_per_chair_and_profile_and_an_open_session_stops_at_now() -> None:
    spans = [
        SessionSpan(1, chair_id=7, profile_id=1, started_at=hours(-1), ended_at=hours(2)),
        SessionSpan(2, chair_id=7, profile_id=2, started_at=hours(3), ended_at=hours(4.5)),
        SessionSpan(3, chair_id=8, profile_id=1, started_at=hours(5), ended_at=None),
    ]
    by_chair, by_profile = rules.chair_hours(spans, hours(0), hours(24), now=hours(6))
    assert by_chair == {7: 3.5, 8: 1.0}
    assert by_profile == {1: 3.0, 2: 1.5}


def test_a_session_open_when_the_period_ended_counts_only_to_the_end() -> None:
    spans = [SessionSpan(1, 7, 1, started_at=hours(-3), ended_at=None)]
    by_chair, _ = rules.chair_hours(spans, hours(-2), hours(-1), now=hours(0))
    assert by_chair == {7: 1.0}


def test_a_rate_over_no_chair_hours_is_none_not_zero() -> None:
    assert rules.per_hour(3, 0.0) is None
    assert rules.per_hour(3, 1.5) == 2


# ── the review ──────────────────────────────────────────────────────────────────────────────


def group(chair: int, condition: str, alarms: int, **counts: int) -> AlarmGroup:
    return AlarmGroup(chair, 1, condition, "physiological", alarms, **counts)


def test_resolved_before_ack_share_is_of_the_closed_alarms_withdrawn_ones_aside() -> None:
    groups = [
        group(7, "spo2.below", 6, resolved=4, resolved_unacknowledged=3, acknowledged=2),
        group(8, "spo2.below", 2, resolved=1, resolved_unacknowledged=0, withdrawn=1),
    ]
    review = rules.review(groups, {7: 2.0, 8: 2.0}, {1: 4.0}, {})
    assert review.total.alarms == 8
    assert review.total.resolved_before_ack_share == pytest.approx(3 / 5)
    assert review.total.withdrawn == 1
    assert rules.review([], {}, {}, {}).total.resolved_before_ack_share is None


def test_the_review_ranks_chairs_by_rate_and_keeps_quiet_chairs() -> None:
    groups = [
        group(7, "heart_rate.above", 4, escalations=2, escalated_alarms=1),
        group(8, "heart_rate.above", 3),
        group(8, "systolic.above", 3, actionable_yes=1, actionable_no=3),
    ]
    review = rules.review(groups, {7: 4.0, 8: 2.0, 9: 5.0}, {1: 11.0}, {20: 1, 40: 1})
    assert [(ln.key, ln.per_chair_hour) for ln in review.by_chair] == [(8, 3.0), (7, 1.0), (9, 0)]
    assert review.per_chair_hour == pytest.approx(10 / 11)
    assert review.total.escalations == 2
    assert review.total.actionable_share == 0.25
    assert review.ack_median_s == 30
    top = [(ln.key[0], ln.tally.alarms) for ln in review.top_conditions]
    assert top == [("heart_rate.above", 7), ("systolic.above", 3)]


def test_top_conditions_keep_ten_and_count_the_rest() -> None:
    groups = [group(7, f"c{i:02d}", 20 - i) for i in range(12)]
    review = rules.review(groups, {7: 1.0}, {1: 1.0}, {})
    assert len(review.top_conditions) == 10
    assert review.top_conditions[0].key[0] == "c00"
    assert review.other_conditions == (20 - 10) + (20 - 11)


def test_conditions_read_as_words() -> None:
    assert rules.condition_label("heart_rate.above") == "Heart rate high"
    assert rules.condition_label("spo2.below").endswith(" low")
    assert rules.condition_label("no_data") == "No data from the monitor"
    assert rules.condition_label("something_new") == "Something new"


# ── limit changes ───────────────────────────────────────────────────────────────────────────


def test_a_limit_change_lists_each_value_altered() -> None:
    old = {"phases": {"infusion": {"spo2": {"below": {"medium": 92, "high": 88}}}}, "name": "A"}
    new = {"phases": {"infusion": {"spo2": {"below": {"medium": 90, "high": 88}}}}, "name": "A"}
    (edit,) = rules.limit_edits(old, new)
    assert (edit.path, edit.old, edit.new) == ("phases.infusion.spo2.below.medium", 92, 90)


def test_a_new_profile_is_listed_as_created_and_an_added_override_as_new() -> None:
    assert rules.limit_edits(None, {"name": "Night"}) == [rules.LimitEdit("created", None, "Night")]
    (edit,) = rules.limit_edits({}, {"baseline": {"systolic": {"delay_s": 10}}})
    assert (edit.path, edit.old, edit.new) == ("baseline.systolic.delay_s", None, 10)
