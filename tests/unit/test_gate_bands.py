"""The pre-dose gate's age bands as pure rules: which band a patient's age falls in, what the
advice and the checklist say, and what a profile may hold."""

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter

from backend.alerts.baseline import BloodPressure, gate_advice
from backend.alerts.limits import (
    DEFAULT_GATE,
    AppliedGate,
    GateBand,
    LimitSet,
    PreDoseGate,
    clinic_defaults,
)
from backend.sessions.checklists import BloodPressureSeen, Facts, evaluate
from backend.sessions.phases import Phase

GATE = PreDoseGate(140, 90, (GateBand(18, 135, 85), GateBand(65, 150, 90), GateBand(80, 160, 95)))
LIMITS = TypeAdapter(LimitSet)


@pytest.mark.parametrize(
    ("age", "limit", "from_age"),
    [
        (None, (140, 90), None),
        (0, (140, 90), None),
        (17, (140, 90), None),
        (18, (135, 85), 18),
        (64, (135, 85), 18),
        (65, (150, 90), 65),
        (79, (150, 90), 65),
        (80, (160, 95), 80),
        (120, (160, 95), 80),
    ],
)
def test_a_band_holds_from_its_age_up_to_the_next_one(
    age: int | None, limit: tuple[int, int], from_age: int | None
) -> None:
    applied = GATE.for_age(age)
    assert (applied.systolic, applied.diastolic, applied.from_age) == (*limit, from_age)


def test_each_gate_says_why_it_applies() -> None:
    assert GATE.for_age(None).basis == "no date of birth recorded: the profile's default gate"
    assert GATE.for_age(12).basis == "aged 12: the default gate, under 18"
    assert GATE.for_age(70).basis == "aged 70: the band from 65"
    assert GATE.for_age(70).words == "the 150/90 gate (aged 70: the band from 65)"
    # Without bands, age changes nothing and nothing is said about it.
    plain = PreDoseGate(140, 90).for_age(70)
    assert (plain.systolic, plain.basis, plain.words) == (140, None, "the 140/90 gate")


def test_the_advice_is_judged_against_the_patients_band() -> None:
    baseline = BloodPressure(145, 85)
    assert gate_advice(GATE.for_age(70), baseline) is None
    assert gate_advice(GATE.for_age(40), baseline) == (
        "Baseline blood pressure above the pre-dose gate: systolic 145 > 135 "
        "(aged 40: the band from 18)"
    )
    # A profile's whole gate, its patient's age unknown, is the default.
    assert gate_advice(GATE, baseline) == (
        "Baseline blood pressure above the pre-dose gate: systolic 145 > 140 "
        "(no date of birth recorded: the profile's default gate)"
    )


def test_the_checklist_names_the_band_it_judged_by() -> None:
    at = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    applied = GATE.for_age(70)
    facts = Facts(
        current=Phase.BASELINE,
        target=Phase.INFUSING,
        at=at,
        drug="esketamine",
        route="intranasal",
        last_bp=BloodPressureSeen(145, 85, at),
        gate_limit=(applied.systolic, applied.diastolic),
        gate_basis=applied.basis,
    )
    items = {item.key: item for item in evaluate(facts, UTC)}
    assert items["pre_dose_gate"].met is True
    assert items["pre_dose_gate"].detail == "within the 150/90 gate (aged 70: the band from 65)"


def test_the_suggested_gate_is_140_90_with_150_systolic_from_65() -> None:
    assert clinic_defaults().gate == DEFAULT_GATE
    under = AppliedGate(140, 90, None, 64, "aged 64: the default gate, under 65")
    assert DEFAULT_GATE.for_age(64) == under
    assert (DEFAULT_GATE.for_age(65).systolic, DEFAULT_GATE.for_age(65).diastolic) == (150, 90)


def test_a_profile_stored_before_bands_existed_reads_as_one_gate_for_all() -> None:
    document = LIMITS.dump_python(clinic_defaults(), mode="json")
    document["gate"] = {"systolic": 140, "diastolic": 90}
    assert LIMITS.validate_python(document).gate == PreDoseGate(140, 90, ())


@pytest.mark.parametrize(
    "bands",
    [
        [GateBand(65, 150, 90), GateBand(18, 135, 85)],
        [GateBand(65, 150, 90), GateBand(65, 155, 90)],
    ],
)
def test_bands_go_youngest_first_each_from_its_own_age(bands: list[GateBand]) -> None:
    with pytest.raises(ValueError, match="youngest first"):
        PreDoseGate(140, 90, tuple(bands))
