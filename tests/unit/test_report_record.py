"""What the session record derives: phase times, NEWS2 over time, the printed table's rows."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.reports.record import (
    AlarmRow,
    PhaseStep,
    ReadingRow,
    SessionRecord,
    news2_at_end,
    news2_series,
    phase_at,
    table_rows,
    timeline,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FULL_SET: dict[str, Any] = {
    "respiratory_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic": 124,
    "heart_rate": 72,
    "consciousness": "A",
    "temperature": 36.8,
}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def step(frm: str | None, to: str, minutes: float) -> PhaseStep:
    return PhaseStep(frm, to, at(minutes), at(minutes), "nurse", None, None)


def reading(
    rid: str, minutes: float, source: str = "manual", error: bool = False, **values: Any
) -> ReadingRow:
    return ReadingRow(
        id=rid,
        taken_at=at(minutes),
        received_at=at(minutes),
        source=source,
        entered_by="nurse",
        values=values,
        error_at=at(minutes + 1) if error else None,
        error_by="nurse" if error else None,
        error_reason="typo" if error else None,
    )


def record(**fields: Any) -> SessionRecord:
    base = SessionRecord(
        id=1,
        simulated=False,
        patient_name="A",
        patient_clinic_id="M1",
        chair="C1",
        drug="ketamine",
        route="iv",
        planned_dose_mg=35,
        weight_kg=70,
        planned_duration_min=40,
        created_at=T0,
        created_by="nurse",
        ended_at=at(130),
        phase="discharged",
        notes=None,
        gate_override_by=None,
        gate_override_at=None,
        spo2_scale=1,
        news2_max_age=timedelta(minutes=30),
        generated_at=at(200),
        phases=[
            step(None, "baseline", 0),
            step("baseline", "infusing", 15),
            step("infusing", "recovery", 55),
            step("recovery", "discharged", 130),
        ],
    )
    return replace(base, **fields)


def test_phase_times_and_durations() -> None:
    line = timeline(record())
    assert line.baseline_duration == timedelta(minutes=15)
    assert line.infusion_duration == timedelta(minutes=40)
    assert line.observation_after_infusion == timedelta(minutes=75)
    assert line.total == timedelta(minutes=130)


def test_a_session_stopped_during_the_infusion_has_no_recovery_observation() -> None:
    stopped = record(
        phases=[
            step(None, "baseline", 0),
            step("baseline", "infusing", 10),
            step("infusing", "stopped", 20),
        ]
    )
    line = timeline(stopped)
    assert line.infusion_duration == timedelta(minutes=10)
    assert line.end is not None and line.end.to_phase == "stopped"
    assert line.observation_after_infusion == timedelta(0)


def test_an_ongoing_session_has_no_end_yet() -> None:
    ongoing = record(ended_at=None, phases=[step(None, "baseline", 0)])
    line = timeline(ongoing)
    assert line.infusion_start is None and line.total is None


def test_phase_at_a_moment() -> None:
    r = record()
    assert [phase_at(r, at(m)) for m in (5, 15, 60, 140)] == [
        "baseline",
        "infusing",
        "recovery",
        "discharged",
    ]


def test_news2_is_scored_at_each_round_that_completes_a_recent_set() -> None:
    r = record(
        readings=[
            reading("hr-only", 1, heart_rate=80),  # no round: nothing scored
            reading("round-1", 2, **FULL_SET),
            reading("monitor", 3, source="device", heart_rate=120, spo2=97),
            reading("bp", 10, systolic=100, diastolic=70),
            reading("late-bp", 45, systolic=130, diastolic=80),  # the rest is 43 min old
        ]
    )
    points = news2_series(r)
    assert [p.reading_id for p in points] == ["round-1", "bp"]
    assert points[0].result.total == 0
    # At the BP round: pulse 120 from the monitor (2) and systolic 100 (2).
    assert points[1].result.total == 4


def test_a_reading_entered_in_error_does_not_count_for_news2() -> None:
    r = record(
        readings=[
            reading("round-1", 2, **FULL_SET),
            reading("wrong", 4, error=True, **(FULL_SET | {"systolic": 85})),
        ]
    )
    assert [p.reading_id for p in news2_series(r)] == ["round-1"]
    assert news2_at_end(replace(r, ended_at=at(10))).total == 0


def test_the_end_score_says_what_is_missing() -> None:
    r = record(readings=[reading("bp", 120, systolic=120, diastolic=80, heart_rate=70)])
    result = news2_at_end(r)
    assert result.total is None
    assert {m.parameter for m in result.missing} >= {"respiratory_rate", "temperature"}


def test_the_printed_table_thins_only_the_monitors_continuous_stream() -> None:
    monitor = [
        reading(f"m{i}", i / 60, source="device", heart_rate=70, spo2=98) for i in range(900)
    ]
    capnograph = [
        reading(f"c{i}", i / 60, source="device", respiratory_rate=14) for i in range(900)
    ]
    kept = [
        reading("manual-hr", 3.5, heart_rate=71),
        reading("bp", 4.2, source="device", systolic=120, diastolic=80),
        reading("wrong", 6.1, source="device", error=True, heart_rate=250),
        reading("alarmed", 7.3, source="device", heart_rate=150),
    ]
    alarm = AlarmRow(
        1, "heart_rate.above", "physiological", "high", "resolved", "HR 150", 150, at(7.3),
        None, None, None, at(8), None, None, "alarmed",
    )  # fmt: skip
    everything = sorted(monitor + capnograph + kept, key=lambda x: x.taken_at)
    selection = table_rows(record(readings=everything, alarms=[alarm]))
    ids = [row.id for row in selection.rows]
    for rid in ("manual-hr", "bp", "wrong", "alarmed"):
        assert rid in ids
    # 15 minutes of each stream, one row per 5 minutes: 3 each.
    assert [i for i in ids if i[0] == "m" and i[1:].isdigit()] == ["m0", "m300", "m600"]
    assert [i for i in ids if i[0] == "c" and i[1:].isdigit()] == ["c0", "c300", "c600"]
    assert selection.thinned == 1800 - 6
