"""SpO2 scale 2 (issue 14, item 6): a patient with a prescribed 88–92 % target has SpO2 limits
that follow the target, not scale 1's 92/89, which such a patient would breach all session."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.alert_support import (
    alarm_session,
    conditions_open,
    limits_of,
    record,
    set_limits,
    the_alarm,
    vital_limit,
)


def _spo2_for(client: TestClient, session_id: int, value: int, start: int, end: int) -> None:
    """SpO2 `value` measured every 5 s from `start` to `end` seconds ago (30 s: longer than any
    SpO2 delay); later calls must come later, or their values are history, not current."""
    now = datetime.now(UTC)
    for back in range(start, end - 1, -5):
        taken_at = (now - timedelta(seconds=back)).isoformat()
        record(client, session_id, spo2=value, taken_at=taken_at)


def _spo2_below(limits: dict[str, Any], phase: str) -> dict[str, Any]:
    below: dict[str, Any] = limits["effective"]["phases"][phase]["vitals"]["spo2"]["below"]
    return below


def test_on_scale_2_the_spo2_limits_in_force_follow_the_prescribed_target(
    as_nurse: TestClient,
) -> None:
    session = alarm_session(as_nurse, spo2_scale=2)
    limits = limits_of(as_nurse, session["id"])
    for phase in ("baseline", "infusing", "recovery"):
        assert _spo2_below(limits, phase) == {"medium": 88, "high": 85}
        assert limits["scale_limits"][phase] == {"spo2": {"below": {"medium": 88, "high": 85}}}
    assert limits["spo2_scale"] == 2
    assert "scale 2" in limits["scale_note"] and "88" in limits["scale_note"]
    assert limits["overrides"] == {}  # not the nurse's override: the scale's
    assert limits["profile_name"] == "Clinic default"
    # The rest of the profile is untouched.
    infusing = limits["effective"]["phases"]["infusing"]["vitals"]
    assert infusing["spo2"]["delay_s"] == 15 and infusing["spo2"]["high_delay_s"] == 10
    assert infusing["systolic"]["above"] == {"medium": 160, "high": 180}

    plain = limits_of(as_nurse, alarm_session(as_nurse)["id"])
    assert _spo2_below(plain, "infusing") == {"medium": 92, "high": 89}
    assert (plain["spo2_scale"], plain["scale_limits"], plain["scale_note"]) == (1, {}, None)


def test_a_scale_2_patient_at_target_does_not_alarm_but_below_it_does(
    as_nurse: TestClient,
) -> None:
    on_scale_1 = alarm_session(as_nurse)
    _spo2_for(as_nurse, on_scale_1["id"], 90, 120, 90)
    assert the_alarm(as_nurse, on_scale_1["id"], "spo2.below")["priority"] == "medium"

    session = alarm_session(as_nurse, spo2_scale=2)
    _spo2_for(as_nurse, session["id"], 90, 120, 90)
    assert "spo2.below" not in conditions_open(as_nurse, session["id"])

    _spo2_for(as_nurse, session["id"], 87, 85, 55)
    alarm = the_alarm(as_nurse, session["id"], "spo2.below")
    assert (alarm["priority"], alarm["limit"]) == ("medium", 88)
    assert "below 88" in alarm["message"]
    _spo2_for(as_nurse, session["id"], 84, 50, 20)
    alarm = the_alarm(as_nurse, session["id"], "spo2.below")
    assert (alarm["priority"], alarm["limit"]) == ("high", 85)


def test_a_nurses_own_spo2_limit_still_wins_over_the_scale(as_nurse: TestClient) -> None:
    session = alarm_session(as_nurse, spo2_scale=2)
    override = {"below": {"medium": 90}}
    answer = set_limits(as_nurse, session["id"], {"infusing": {"spo2": override}})
    assert _spo2_below(answer, "infusing") == {"medium": 90, "high": 85}
    assert _spo2_below(answer, "recovery") == {"medium": 88, "high": 85}
    assert answer["overrides"]["infusing"]["spo2"] == override

    whole = vital_limit(below=(93, 90), delay_s=15, high_delay_s=10, hysteresis=1)
    answer = set_limits(as_nurse, session["id"], {"baseline": {"spo2": whole}})
    assert _spo2_below(answer, "baseline") == {"medium": 93, "high": 90}
