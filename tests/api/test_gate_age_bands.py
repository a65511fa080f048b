"""The pre-dose gate by age band: a limit profile sets other limits from an age (as the
esketamine trials did, SBP > 150 from 65), the band chosen by the patient's age on the session's
day; a patient without a date of birth is held to the profile's default, and is told so. The
age is on the session's view and its printed record."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.patients.age import age_on
from tests.api.alert_support import alarm_session, bp, default_limits, new_profile
from tests.api.support import error_at, message, unique
from tests.api.test_audit_access import events
from tests.api.test_hostile_input import put_raw

TODAY = datetime.now(UTC).date()  # the API tests' clinic is on UTC


def born(years: int, days_later: int = 0) -> date:
    """The date of birth of someone who turns `years` old `days_later` days from today. Where
    that falls on a 29 February of a common year, the nearest day that keeps the meaning: the
    next day for a birthday still to come, the day before for one reached."""
    day = TODAY + timedelta(days=days_later)
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return date(day.year - years, 3, 1) if days_later > 0 else date(day.year - years, 2, 28)


FROM_65 = {"from_age": 65, "systolic": 150, "diastolic": 90}
FROM_80 = {"from_age": 80, "systolic": 160, "diastolic": 95}
BANDS: dict[str, Any] = {"systolic": 140, "diastolic": 90, "age_bands": [FROM_65, FROM_80]}


@pytest.fixture
def banded(as_admin: TestClient) -> dict[str, Any]:
    limits = default_limits(as_admin)
    limits["gate"] = BANDS
    return new_profile(as_admin, limits)


def session_for(nurse: TestClient, profile: dict[str, Any], birth: date | None) -> dict[str, Any]:
    session = alarm_session(nurse, limit_profile_id=profile["id"])
    if birth is not None:
        edited = nurse.patch(
            f"/api/patients/{session['patient']['id']}", json={"date_of_birth": birth.isoformat()}
        )
        assert edited.status_code == 200, edited.text
    return session


def gate_of(client: TestClient, session_id: int) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{session_id}/gate")
    assert response.status_code == 200, response.text
    gate: dict[str, Any] = response.json()
    return gate


def start(client: TestClient, session_id: int) -> Any:
    return client.post(f"/api/sessions/{session_id}/phase", json={"phase": "infusing"})


def test_a_patient_of_70_is_held_to_the_band_from_65_and_starts_at_145(
    as_nurse: TestClient, banded: dict[str, Any]
) -> None:
    session = session_for(as_nurse, banded, born(70))
    bp(as_nurse, session["id"], 145, diastolic=85)
    gate = gate_of(as_nurse, session["id"])
    assert gate["advised_against"] is False
    assert gate["gate"] == {
        "systolic": 150,
        "diastolic": 90,
        "from_age": 65,
        "age": 70,
        "basis": "aged 70: the band from 65",
    }
    checklist = as_nurse.get(f"/api/sessions/{session['id']}/checklist?to=infusing").json()
    (item,) = [i for i in checklist["items"] if i["key"] == "pre_dose_gate"]
    assert (item["met"], item["detail"]) == (
        True,
        "within the 150/90 gate (aged 70: the band from 65)",
    )
    started = start(as_nurse, session["id"])
    assert started.status_code == 200, started.text


def test_the_day_before_the_65th_birthday_the_default_gate_holds_and_on_it_the_band(
    as_nurse: TestClient, banded: dict[str, Any]
) -> None:
    younger = session_for(as_nurse, banded, born(65, days_later=1))
    bp(as_nurse, younger["id"], 145, diastolic=85)
    gate = gate_of(as_nurse, younger["id"])
    assert (gate["gate"]["systolic"], gate["gate"]["from_age"], gate["gate"]["age"]) == (
        140,
        None,
        64,
    )
    assert gate["message"] == (
        "Baseline blood pressure above the pre-dose gate: systolic 145 > 140 "
        "(aged 64: the default gate, under 65)"
    )
    held = start(as_nurse, younger["id"])
    assert held.status_code == 409
    assert "systolic 145 > 140" in message(held)

    birthday = session_for(as_nurse, banded, born(65))
    bp(as_nurse, birthday["id"], 145, diastolic=85)
    assert gate_of(as_nurse, birthday["id"])["gate"]["age"] == 65
    assert start(as_nurse, birthday["id"]).status_code == 200


def test_the_oldest_band_applies_from_its_age_and_diastolic_counts_too(
    as_nurse: TestClient, banded: dict[str, Any]
) -> None:
    session = session_for(as_nurse, banded, born(85))
    bp(as_nurse, session["id"], 158, diastolic=97)
    gate = gate_of(as_nurse, session["id"])
    assert (gate["gate"]["systolic"], gate["gate"]["diastolic"]) == (160, 95)
    assert gate["message"].startswith(
        "Baseline blood pressure above the pre-dose gate: diastolic 97 > 95"
    )


def test_without_a_date_of_birth_the_profiles_default_applies_and_says_so(
    as_nurse: TestClient, banded: dict[str, Any]
) -> None:
    session = session_for(as_nurse, banded, None)
    bp(as_nurse, session["id"], 145, diastolic=85)
    gate = gate_of(as_nurse, session["id"])
    assert gate["gate"]["basis"] == "no date of birth recorded: the profile's default gate"
    assert gate["advised_against"] is True
    checklist = as_nurse.get(f"/api/sessions/{session['id']}/checklist?to=infusing").json()
    (baseline,) = [i for i in checklist["items"] if i["key"] == "baseline_bp"]
    assert baseline["attention"] is True
    assert baseline["detail"].endswith(
        "above the 140/90 gate (no date of birth recorded: the profile's default gate)"
    )


def test_a_profile_without_bands_holds_everyone_to_one_gate_and_names_no_age(
    as_admin: TestClient, as_nurse: TestClient
) -> None:
    limits = default_limits(as_admin)
    limits["gate"] = {"systolic": 140, "diastolic": 90, "age_bands": []}
    session = session_for(as_nurse, new_profile(as_admin, limits), born(70))
    bp(as_nurse, session["id"], 145, diastolic=85)
    gate = gate_of(as_nurse, session["id"])
    assert (gate["advised_against"], gate["gate"]["basis"], gate["gate"]["age"]) == (True, None, 70)


def test_the_session_view_and_its_record_give_the_age_on_the_session_day(
    as_nurse: TestClient, banded: dict[str, Any]
) -> None:
    birth = born(70)
    session = session_for(as_nurse, banded, birth)
    view = as_nurse.get(f"/api/sessions/{session['id']}").json()
    assert view["patient_age"] == age_on(birth, TODAY) == 70
    assert view["patient"]["date_of_birth"] == birth.isoformat()
    report = as_nurse.get(f"/api/sessions/{session['id']}/report").text
    assert f'<td class="birth-date">{birth.isoformat()}</td>' in report
    assert '<td class="age">70 on the day of the session</td>' in report

    unknown = session_for(as_nurse, banded, None)
    assert as_nurse.get(f"/api/sessions/{unknown['id']}").json()["patient_age"] is None
    assert (
        '<td class="age">not known</td>'
        in as_nurse.get(f"/api/sessions/{unknown['id']}/report").text
    )


def test_an_admin_changes_the_bands_and_the_change_is_logged_and_audited(
    as_admin: TestClient, banded: dict[str, Any]
) -> None:
    limits = default_limits(as_admin)
    limits["gate"] = {**BANDS, "age_bands": [{"from_age": 70, "systolic": 155, "diastolic": 90}]}
    url = f"/api/limits/profiles/{banded['id']}"
    changed = as_admin.put(url, json={"name": banded["name"], "limits": limits})
    assert changed.status_code == 200, changed.text
    latest = as_admin.get(f"{url}/changes").json()[0]
    assert latest["old"]["gate"]["age_bands"] == BANDS["age_bands"]
    assert latest["new"]["gate"]["age_bands"] == [
        {"from_age": 70, "systolic": 155, "diastolic": 90}
    ]
    (event,) = [
        e for e in events(as_admin, action="limits.change") if e["target"] == banded["name"]
    ]
    assert event["actor_name"] == "test-admin"


def test_bands_out_of_order_or_repeated_are_422_naming_the_gate(
    as_admin: TestClient, banded: dict[str, Any]
) -> None:
    limits = default_limits(as_admin)
    for bands in (
        [FROM_80, FROM_65],
        [FROM_65, FROM_65],
    ):
        limits["gate"] = {**BANDS, "age_bands": bands}
        refused = as_admin.put(
            f"/api/limits/profiles/{banded['id']}", json={"name": banded["name"], "limits": limits}
        )
        assert "youngest first" in error_at(refused, "body", "limits", "gate")["msg"]


@pytest.mark.parametrize(
    ("band", "field"),
    [
        ('{"from_age": 131, "systolic": 150, "diastolic": 90}', "from_age"),
        ('{"from_age": -1, "systolic": 150, "diastolic": 90}', "from_age"),
        ('{"from_age": 65.5, "systolic": 150, "diastolic": 90}', "from_age"),
        ('{"from_age": 1e308, "systolic": 150, "diastolic": 90}', "from_age"),
        # Text no number can be (NUL, a lone surrogate) is refused before the body is read
        # as limits: the error names the limits document (core/schema.py).
        ('{"from_age": "\\u0000", "systolic": 150, "diastolic": 90}', None),
        ('{"from_age": 65, "systolic": NaN, "diastolic": 90}', "systolic"),
        ('{"from_age": 65, "systolic": Infinity, "diastolic": 90}', "systolic"),
        ('{"from_age": 65, "systolic": 0, "diastolic": 90}', "systolic"),
        ('{"from_age": 65, "systolic": 150, "diastolic": "\\ud800"}', None),
    ],
)
def test_hostile_band_values_are_422_naming_the_field(
    as_admin: TestClient, banded: dict[str, Any], band: str, field: str | None
) -> None:
    limits = default_limits(as_admin)
    limits["gate"] = {**BANDS, "age_bands": ["BAND"]}
    body = json.dumps({"name": banded["name"], "limits": limits}).replace('"BAND"', band)
    refused = put_raw(as_admin, f"/api/limits/profiles/{banded['id']}", body)
    where = ("gate", "age_bands", 0, field) if field else ()
    error_at(refused, "body", "limits", *where)


def test_at_most_eight_bands(as_admin: TestClient) -> None:
    limits = default_limits(as_admin)
    bands = [{"from_age": 10 * n, "systolic": 140, "diastolic": 90} for n in range(9)]
    limits["gate"] = {**BANDS, "age_bands": bands}
    refused = as_admin.post(
        "/api/limits/profiles", json={"name": unique("Bands"), "limits": limits}
    )
    error_at(refused, "body", "limits", "gate", "age_bands")
