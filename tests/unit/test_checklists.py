"""The protocol checklists: which items each phase change has, and how each is judged."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from backend.alerts.limits import Discharge, LimitSet, clinic_defaults
from backend.sessions.checklists import (
    BloodPressureSeen,
    Facts,
    Item,
    Kind,
    Observed,
    Override,
    Transition,
    blocking,
    evaluate,
    manual_keys,
    ready_at,
    refusal,
    transition_of,
    with_ticks,
)
from backend.sessions.phases import Phase

AT = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def minutes_ago(minutes: float) -> datetime:
    return AT - timedelta(minutes=minutes)


def facts(current: Phase, target: Phase, **fields: object) -> Facts:
    base = Facts(current=current, target=target, at=AT, drug="ketamine", route="iv")
    return replace(base, **fields)  # type: ignore[arg-type]


def by_key(items: list[Item]) -> dict[str, Item]:
    return {item.key: item for item in items}


START = (Phase.BASELINE, Phase.INFUSING)
DISCHARGE = (Phase.RECOVERY, Phase.DISCHARGED)


@pytest.mark.parametrize(
    ("current", "target", "transition"),
    [
        (Phase.BASELINE, Phase.INFUSING, Transition.START),
        (Phase.INFUSING, Phase.RECOVERY, Transition.END),
        (Phase.RECOVERY, Phase.DISCHARGED, Transition.DISCHARGE),
        (Phase.BASELINE, Phase.STOPPED, Transition.STOP),
        (Phase.INFUSING, Phase.STOPPED, Transition.STOP),
        (Phase.RECOVERY, Phase.STOPPED, Transition.STOP),
        (Phase.BASELINE, Phase.RECOVERY, None),
    ],
)
def test_each_allowed_change_has_its_checklist(
    current: Phase, target: Phase, transition: Transition | None
) -> None:
    assert transition_of(current, target) is transition
    assert bool(evaluate(facts(current, target), UTC)) is (transition is not None)


def test_start_needs_a_baseline_pressure_from_the_last_30_minutes() -> None:
    none = by_key(evaluate(facts(*START), UTC))
    assert (none["baseline_bp"].met, none["baseline_bp"].detail) == (False, "none recorded")
    assert none["baseline_bp"].required and none["baseline_bp"].kind is Kind.AUTO
    assert none["pre_dose_gate"].met is False  # nothing to check the gate against

    fresh = BloodPressureSeen(128, 82, minutes_ago(20))
    ok = by_key(evaluate(facts(*START, last_bp=fresh), ZoneInfo("Asia/Kolkata")))
    assert ok["baseline_bp"].met is True
    assert ok["baseline_bp"].detail == "recorded 128/82 at 15:10"  # 09:40 UTC, reader's zone
    assert ok["baseline_bp"].attention is False
    assert ok["pre_dose_gate"].met is True
    assert ok["pre_dose_gate"].detail == "within the 140/90 gate"

    stale = by_key(evaluate(facts(*START, last_bp=replace(fresh, taken_at=minutes_ago(45))), UTC))
    assert stale["baseline_bp"].met is False
    assert stale["baseline_bp"].detail == "last 128/82 at 09:15, 45 min before; take another"


def test_spo2_before_dosing_is_advised_not_required() -> None:
    item = by_key(evaluate(facts(*START), UTC))["baseline_spo2"]
    assert (item.required, item.met) == (False, False)
    seen = Observed(97, minutes_ago(5))
    assert by_key(evaluate(facts(*START, last_spo2=seen), UTC))["baseline_spo2"].met is True


def test_the_gate_is_met_within_it_or_when_a_named_clinician_overrides_it() -> None:
    bp = BloodPressureSeen(150, 88, minutes_ago(5))
    advice = "Baseline blood pressure above the pre-dose gate: systolic 150 > 140"
    held = by_key(evaluate(facts(*START, last_bp=bp, gate_advice=advice), UTC))["pre_dose_gate"]
    assert held.met is False and held.detail == (
        f"{advice}; to start anyway, a clinician must override with a reason"
    )
    decided = Override("Jo Bloggs", "usual BP at home; reviewed by Dr Shah")
    overridden = facts(*START, last_bp=bp, gate_advice=advice, gate_override=decided)
    item = by_key(evaluate(overridden, UTC))["pre_dose_gate"]
    assert (item.met, item.attention) == (True, True)
    assert item.detail == f"{advice}; overridden by Jo Bloggs: {decided.reason}"


def test_a_baseline_above_the_gate_is_never_a_plain_tick() -> None:
    # Recorded, so the baseline item is met, but it is flagged and says why, overridden or not.
    bp = BloodPressureSeen(196, 121, minutes_ago(5))
    advice = "Baseline blood pressure above the pre-dose gate: systolic 196 > 140"
    for decided in (None, Override("Jo Bloggs", "reviewed")):
        judged = facts(*START, last_bp=bp, gate_advice=advice, gate_override=decided)
        item = by_key(evaluate(judged, UTC))["baseline_bp"]
        assert (item.met, item.attention) == (True, True)
        assert item.detail == "recorded 196/121 at 09:55, above the 140/90 gate"
    within = by_key(evaluate(facts(*START, last_bp=replace(bp, systolic=130, diastolic=80)), UTC))
    assert within["baseline_bp"].attention is False


@pytest.mark.parametrize("transition", [START, DISCHARGE])
def test_no_checklist_detail_speaks_the_apis_language(transition: tuple[Phase, Phase]) -> None:
    # What a nurse reads, blocked or overridden: no field names such as override_gate=true.
    bp = BloodPressureSeen(150, 95, minutes_ago(5))
    alarms = ("Systolic 186 above 180 (not acknowledged)",)
    advice = "Baseline blood pressure above the pre-dose gate: systolic 150 > 140"
    decided = Override("Jo Bloggs", "reviewed")
    for override in (None, decided):
        judged = facts(
            *transition,
            last_bp=bp,
            gate_advice=advice,
            open_high_alarms=alarms,
            gate_override=override,
            alarm_override=override,
        )
        for item in evaluate(judged, UTC):
            assert "override_" not in f"{item.label} {item.detail}", item
            assert "=" not in f"{item.label} {item.detail}", item


def test_start_asks_for_the_line_only_when_there_is_one() -> None:
    assert manual_keys(evaluate(facts(*START), UTC)) == {"consent", "identity", "iv_line"}
    nasal = facts(*START, drug="esketamine", route="intranasal")
    assert manual_keys(evaluate(nasal, UTC)) == {"consent", "identity", "nasal_devices"}


def test_discharge_waits_for_the_minimum_observation_and_says_from_when() -> None:
    ended = minutes_ago(42)
    early = by_key(evaluate(facts(*DISCHARGE, infusion_ended_at=ended), UTC))["min_observation"]
    assert early.met is False and early.required
    assert early.detail == "42 of 60 min observed; possible from 10:18"
    assert early.due_at == ended + timedelta(minutes=60)

    esketamine = facts(*DISCHARGE, infusion_ended_at=ended, drug="esketamine")
    esk = by_key(evaluate(replace(esketamine, min_observation_min=120), UTC))["min_observation"]
    assert esk.detail == "42 of 120 min observed; possible from 11:18"

    done = facts(*DISCHARGE, infusion_ended_at=minutes_ago(60))
    assert by_key(evaluate(done, UTC))["min_observation"].met is True  # exactly the minimum


def test_discharge_needs_a_pressure_from_the_last_15_minutes() -> None:
    old = BloodPressureSeen(124, 80, minutes_ago(16))
    item = by_key(evaluate(facts(*DISCHARGE, last_bp=old), UTC))["bp_recent"]
    assert (item.required, item.met) == (True, False)
    recent = replace(old, taken_at=minutes_ago(14))
    assert by_key(evaluate(facts(*DISCHARGE, last_bp=recent), UTC))["bp_recent"].met is True


@pytest.mark.parametrize(
    ("consciousness", "sedation", "met", "detail"),
    [
        (
            None,
            None,
            False,
            "no ACVPU recorded since dosing ended; no MOAA/S recorded since dosing ended",
        ),
        ("A", None, False, "no MOAA/S recorded since dosing ended"),
        (None, 5, False, "no ACVPU recorded since dosing ended"),
        ("A", 5, True, "ACVPU A, MOAA/S 5"),
        ("V", 5, False, "last ACVPU is V, not A"),
        ("A", 4, False, "last MOAA/S is 4, not 5"),
        (None, 3, False, "no ACVPU recorded since dosing ended; last MOAA/S is 3, not 5"),
    ],
)
def test_discharge_needs_an_alert_patient_seen_since_dosing_ended(
    consciousness: str | None, sedation: int | None, met: bool, detail: str
) -> None:
    # Nothing recorded since dosing ended blocks: nobody has seen the patient alert yet.
    judged = facts(*DISCHARGE, last_consciousness=consciousness, last_sedation=sedation)
    item = by_key(evaluate(judged, UTC))["alert"]
    assert (item.required, item.met, item.detail) == (True, met, detail)
    assert item.label == "Alert (ACVPU A) and MOAA/S 5 since dosing ended"
    assert (item in blocking([item], manual=False)) is (not met)


def test_manual_items_count_only_once_ticked() -> None:
    items = evaluate(facts(*DISCHARGE, infusion_ended_at=minutes_ago(90)), UTC)
    unticked = {i.key for i in blocking(items)}
    assert {"oriented", "companion", "instructions"} <= unticked
    ticked = with_ticks(items, {"oriented": True, "companion": True, "instructions": False})
    assert "instructions" in {i.key for i in blocking(ticked)}
    assert "companion" not in {i.key for i in blocking(ticked)}


def test_stopping_early_is_never_held_up_by_the_record() -> None:
    from_recovery = evaluate(facts(Phase.RECOVERY, Phase.STOPPED, infusion_ended_at=AT), UTC)
    assert blocking(from_recovery) == []  # observation short, no BP: shown, not required
    assert by_key(from_recovery)["min_observation"].met is False
    from_infusing = evaluate(facts(Phase.INFUSING, Phase.STOPPED), UTC)
    assert [i.key for i in blocking(from_infusing)] == ["dosing_stopped"]  # the pump


def test_end_of_infusion_shows_the_planned_time_as_advice() -> None:
    running = facts(
        Phase.INFUSING, Phase.RECOVERY, infusion_started_at=minutes_ago(38), planned_duration_min=40
    )
    item = by_key(evaluate(running, UTC))["planned_duration"]
    assert (item.required, item.met, item.detail) == (False, False, "38 of 40 min")
    assert "planned_duration" not in by_key(evaluate(facts(Phase.INFUSING, Phase.RECOVERY), UTC))


def test_ready_at_is_known_only_when_time_alone_stands_in_the_way() -> None:
    recent = BloodPressureSeen(120, 80, minutes_ago(1))
    waiting = facts(
        *DISCHARGE,
        infusion_ended_at=minutes_ago(30),
        last_bp=recent,
        last_consciousness="A",
        last_sedation=5,
    )
    assert ready_at(evaluate(waiting, UTC)) == AT + timedelta(minutes=30)
    assert ready_at(evaluate(replace(waiting, last_bp=None), UTC)) is None
    # Nobody has seen the patient alert yet: time alone will not do it.
    assert ready_at(evaluate(replace(waiting, last_sedation=None), UTC)) is None


def test_a_refusal_names_what_is_missing_by_label() -> None:
    items = with_ticks(evaluate(facts(*DISCHARGE, infusion_ended_at=minutes_ago(42)), UTC), {})
    message = refusal(Transition.DISCHARGE, blocking(items))
    assert message.startswith("Cannot discharge yet. Not met: Observed at least 60 min")
    assert "(42 of 60 min observed; possible from 10:18)" in message
    assert "Not confirmed: Patient oriented and able to walk steadily;" in message


def test_a_limits_document_saved_before_discharge_minimums_reads_with_the_defaults() -> None:
    document = TypeAdapter(LimitSet).dump_python(clinic_defaults(), mode="json")
    del document["discharge"]
    limits = TypeAdapter(LimitSet).validate_python(document)
    assert limits.discharge == Discharge(min_observation_min=60, esketamine_min_observation_min=120)
    assert (
        limits.discharge.minimum_for("ketamine"),
        limits.discharge.minimum_for("esketamine"),
    ) == (
        60,
        120,
    )


def test_esketamine_is_never_discharged_under_two_hours_whatever_the_profile_says() -> None:
    # REMS: observe at least 2 h. A profile asking for 60 min does not shorten it.
    short = facts(*DISCHARGE, drug="esketamine", min_observation_min=60)
    at_90 = by_key(evaluate(replace(short, infusion_ended_at=minutes_ago(90)), UTC))
    item = at_90["min_observation"]
    assert item.label == "Observed at least 120 min since dosing ended"
    assert (item.met, item.detail) == (False, "90 of 120 min observed; possible from 10:30")
    at_120 = by_key(evaluate(replace(short, infusion_ended_at=minutes_ago(120)), UTC))
    assert at_120["min_observation"].met is True
    longer = replace(short, min_observation_min=150, infusion_ended_at=minutes_ago(120))
    assert by_key(evaluate(longer, UTC))["min_observation"].met is False  # may be lengthened
    ketamine = facts(*DISCHARGE, min_observation_min=60, infusion_ended_at=minutes_ago(90))
    assert by_key(evaluate(ketamine, UTC))["min_observation"].met is True


def test_a_profile_cannot_set_esketamine_observation_under_two_hours() -> None:
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Discharge).validate_python({"esketamine_min_observation_min": 60})
    (error,) = refused.value.errors()
    assert error["loc"] == ("esketamine_min_observation_min",)
    assert "120" in error["msg"]
    assert TypeAdapter(Discharge).validate_python({"esketamine_min_observation_min": 150})


def test_open_high_alarms_block_discharge_unless_overridden_by_name() -> None:
    calm = by_key(evaluate(facts(*DISCHARGE), UTC))["no_open_high_alarm"]
    assert (calm.kind, calm.required, calm.met, calm.detail) == (Kind.AUTO, True, True, "none open")

    alarms = ("Systolic 186 above 180 (not acknowledged)",)
    held = by_key(evaluate(facts(*DISCHARGE, open_high_alarms=alarms), UTC))["no_open_high_alarm"]
    assert held.met is False and held in blocking([held])
    assert held.detail is not None and held.detail.startswith("1 open: Systolic 186 above 180")
    assert held.detail.endswith("acknowledge them, or a clinician must override with a reason")

    named = Override("Jo Bloggs RN", "reviewed by Dr Shah; BP trending down")
    overridden = facts(*DISCHARGE, open_high_alarms=alarms, alarm_override=named)
    item = by_key(evaluate(overridden, UTC))["no_open_high_alarm"]
    assert (item.met, item.attention) == (True, True)
    assert calm.attention is False
    assert item.detail is not None
    assert item.detail.endswith("overridden by Jo Bloggs RN: reviewed by Dr Shah; BP trending down")


def test_a_client_that_confirms_nothing_is_still_held_to_what_the_record_shows() -> None:
    # No BP before dosing: the auto items block; the unticked manual ones do not.
    items = evaluate(facts(*START), UTC)
    unmet = {i.key for i in blocking(items, manual=False)}
    assert unmet == {"baseline_bp", "pre_dose_gate"}
    fresh = BloodPressureSeen(126, 80, minutes_ago(5))
    assert blocking(evaluate(facts(*START, last_bp=fresh), UTC), manual=False) == []
    assert {i.key for i in blocking(evaluate(facts(*START, last_bp=fresh), UTC))} == {
        "consent",
        "identity",
        "iv_line",
    }
