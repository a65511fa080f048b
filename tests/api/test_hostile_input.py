"""Hostile and broken input gets a 4xx that names the field, never a 500, on SQLite and
PostgreSQL: NaN and Infinity, ids past the integer column, times outside any sensible range,
lone surrogates, JSON true or "84" as a vital, readings from long before the session, bodies
too large to read, and 422 answers that would repeat megabytes back."""

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi import WebSocketDisconnect
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from backend.core.database import Database
from backend.core.settings import Settings
from backend.readings.models import Reading
from backend.readings.schemas import MAX_BATCH
from tests.api.support import error_at, errors, iso, now
from tests.helpers import new_patient, new_session, post_batch, post_reading, readings_of

JSON = {"Content-Type": "application/json"}


def post_raw(client: TestClient, url: str, text: str) -> httpx2.Response:
    """POST a body exactly as written: Python's json reads NaN, Infinity and "\\ud800", which
    a JSON encoder would refuse to write."""
    return client.post(url, content=text.encode(), headers=JSON)


def put_raw(client: TestClient, url: str, text: str) -> httpx2.Response:
    return client.put(url, content=text.encode(), headers=JSON)


@pytest.fixture
def session_id(as_nurse: TestClient) -> int:
    session_id: int = new_session(as_nurse)["id"]
    return session_id


# --- NaN, Infinity and -Infinity ---

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999"]


@pytest.mark.parametrize("number", NON_FINITE)
@pytest.mark.parametrize("vital", ["heart_rate", "systolic", "spo2", "temperature"])
def test_a_non_finite_vital_is_refused_naming_the_field(
    as_nurse: TestClient, session_id: int, vital: str, number: str
) -> None:
    response = post_raw(
        as_nurse, f"/api/sessions/{session_id}/readings", f'{{"{vital}": {number}}}'
    )
    assert "finite" in error_at(response, "body", vital)["msg"]
    assert vital in response.json()["message"]
    assert readings_of(as_nurse, session_id) == []


@pytest.mark.parametrize("field", ["planned_dose_mg", "weight_kg"])
def test_a_non_finite_dose_or_weight_is_refused(as_nurse: TestClient, field: str) -> None:
    patient = new_patient(as_nurse)
    body = f'{{"patient_id": {patient["id"]}, "chair": "C-nan", "drug": "ketamine", "route": "iv", '
    response = post_raw(as_nurse, "/api/sessions", body + f'"{field}": NaN}}')
    assert "finite" in error_at(response, "body", field)["msg"]


def test_a_non_finite_limit_is_refused(as_nurse: TestClient, session_id: int) -> None:
    body = '{"overrides": {"baseline": {"systolic": {"above": {"medium": Infinity}}}}}'
    response = put_raw(as_nurse, f"/api/sessions/{session_id}/limits", body)
    assert response.status_code == 422, response.text
    assert "finite" in response.json()["message"]


def test_a_non_finite_simulation_speed_is_refused(as_trainer: TestClient) -> None:
    body = '{"scenario": "routine_infusion", "chair": "Sim NaN", "speed": NaN}'
    response = post_raw(as_trainer, "/api/simulations", body)
    assert "finite" in error_at(response, "body", "speed")["msg"]


# --- ids beyond the integer column ---

BAD_IDS = [2**31, 2**63, 10**20, 0, -1]
ID_PATHS = [
    ("GET", "/api/sessions/{id}", None),
    ("POST", "/api/sessions/{id}/readings", {"heart_rate": 80}),
    ("POST", "/api/sessions/{id}/readings/batch", {"readings": [{"heart_rate": 80}]}),
    ("GET", "/api/sessions/{id}/readings", None),
    ("GET", "/api/sessions/{id}/report", None),
    ("GET", "/api/sessions/{id}/limits", None),
    ("POST", "/api/sessions/{id}/phase", {"phase": "infusing"}),
    ("GET", "/api/patients/{id}", None),
    ("POST", "/api/alerts/{id}/acknowledge", {}),
]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize(("method", "path", "body"), ID_PATHS)
def test_an_id_outside_the_integer_column_in_a_path_is_refused_naming_it(
    as_nurse: TestClient, method: str, path: str, body: dict[str, Any] | None, bad: int
) -> None:
    response = as_nurse.request(method, path.format(id=bad), json=body)
    name = "alert_id" if "alerts" in path else "patient_id" if "patients" in path else "session_id"
    error_at(response, "path", name)
    assert name in response.json()["message"]


@pytest.mark.parametrize("bad", [2**31, 2**63, 10**20])
@pytest.mark.parametrize(
    ("method", "path", "name"),
    [("PATCH", "/api/users/{id}", "user_id"), ("DELETE", "/api/tokens/{id}", "token_id")],
)
def test_an_id_outside_the_integer_column_in_an_admin_path_is_refused(
    as_admin: TestClient, method: str, path: str, name: str, bad: int
) -> None:
    body = {"display_name": "x"} if method == "PATCH" else None
    error_at(as_admin.request(method, path.format(id=bad), json=body), "path", name)


@pytest.mark.parametrize("bad", [2**31, 10**20, -1])
def test_a_stream_for_an_id_outside_the_integer_column_is_refused(
    as_nurse: TestClient, bad: int
) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        as_nurse.websocket_connect(f"/api/stream?session_id={bad}&after=0") as stream,
    ):
        stream.receive_json()
    assert refused.value.code == 1008  # policy violation: the query failed validation


@pytest.mark.parametrize("bad", [*BAD_IDS, True])
@pytest.mark.parametrize("field", ["patient_id", "limit_profile_id", "chair_id"])
def test_an_id_outside_the_integer_column_in_a_body_is_refused_naming_it(
    as_nurse: TestClient, field: str, bad: int
) -> None:
    patient = new_patient(as_nurse)
    body = {"patient_id": patient["id"], "chair": "C-id", "drug": "ketamine", "route": "iv"}
    response = as_nurse.post("/api/sessions", json=body | {field: bad})
    error_at(response, "body", field)


# --- times out of range ---

BAD_MOMENTS = [
    "0001-01-01T00:00:00+01:00",  # before year 1 once converted to UTC
    "9999-12-31T23:00:00-05:00",  # past year 9999 once converted to UTC
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-11-21T10:00:00+25:00",  # no such offset
    "2026-11-21T10:00:00",  # no offset at all
]


@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_a_reading_taken_at_an_impossible_time_is_refused(
    as_nurse: TestClient, session_id: int, moment: str
) -> None:
    response = post_reading(as_nurse, session_id, heart_rate=80, taken_at=moment)
    error_at(response, "body", "taken_at")
    response = post_batch(as_nurse, session_id, [{"heart_rate": 80, "taken_at": moment}])
    error_at(response, "body", "readings", 0, "taken_at")
    assert readings_of(as_nurse, session_id) == []


@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_a_phase_change_at_an_impossible_time_is_refused(
    as_nurse: TestClient, session_id: int, moment: str
) -> None:
    """A guard: the phase rules happened to refuse these already; now the field type does."""
    response = as_nurse.post(
        f"/api/sessions/{session_id}/phase", json={"phase": "infusing", "at": moment}
    )
    error_at(response, "body", "at")


@pytest.mark.parametrize("moment", BAD_MOMENTS)
@pytest.mark.parametrize(
    ("path", "name", "extra"),
    [
        ("/api/sessions/{id}/readings", "since", {}),
        ("/api/sessions/{id}/readings", "until", {}),
        ("/api/sessions/{id}/trend", "since", {}),
        ("/api/sessions/{id}/checklist", "at", {"to": "infusing"}),
    ],
)
def test_a_query_at_an_impossible_time_is_refused(
    as_nurse: TestClient,
    session_id: int,
    path: str,
    name: str,
    extra: dict[str, str],
    moment: str,
) -> None:
    response = as_nurse.get(path.format(id=session_id), params={name: moment, **extra})
    error_at(response, "query", name)


def test_a_profile_edit_based_on_a_time_without_offset_is_refused(as_admin: TestClient) -> None:
    (profile, *_) = as_admin.get("/api/limits/profiles").json()
    body = {"name": profile["name"], "limits": profile["limits"], "based_on": "2026-11-21T10:00"}
    response = as_admin.put(f"/api/limits/profiles/{profile['id']}", json=body)
    error_at(response, "body", "based_on")


def test_a_page_token_holding_an_impossible_time_is_refused(
    as_nurse: TestClient, session_id: int
) -> None:
    token = base64.urlsafe_b64encode(b"0001-01-01T00:00:00+01:00|x").decode()
    response = as_nurse.get(f"/api/sessions/{session_id}/readings", params={"page": token})
    error_at(response, "query", "page")


# --- readings from long before the session ---


def test_a_reading_taken_more_than_a_day_before_the_session_started_is_refused(
    as_nurse: TestClient, session_id: int
) -> None:
    long_ago = iso(now() - timedelta(hours=25))
    response = post_reading(as_nurse, session_id, heart_rate=80, taken_at=long_ago)
    assert "24 hours before the session" in error_at(response, "body", "taken_at")["msg"]
    fine = {"heart_rate": 80, "taken_at": iso(now() - timedelta(minutes=5))}
    response = post_batch(as_nurse, session_id, [fine, {"heart_rate": 80, "taken_at": long_ago}])
    assert "24 hours before" in error_at(response, "body", "readings", 1, "taken_at")["msg"]
    assert readings_of(as_nurse, session_id) == []


def test_a_reading_written_up_late_within_a_day_of_the_start_is_accepted(
    as_nurse: TestClient, session_id: int
) -> None:
    earlier = iso(now() - timedelta(hours=23))
    response = post_reading(as_nurse, session_id, heart_rate=80, taken_at=earlier)
    assert response.status_code == 201, response.text


def test_the_report_stays_small_even_with_a_reading_from_decades_ago(
    as_nurse: TestClient, session_id: int, database: Database
) -> None:
    """A reading stored before the bound existed (or written around the API) must not blow
    the printed record up: its time axis keeps a handful of ticks whatever its span."""
    reading = post_reading(as_nurse, session_id, heart_rate=80).json()
    with database.unit_of_work(write=True) as db:
        db.execute(
            update(Reading)
            .where(Reading.id == reading["id"])
            .values(taken_at=datetime(1976, 1, 1, tzinfo=UTC))
        )
    response = as_nurse.get(f"/api/sessions/{session_id}/report")
    assert response.status_code == 200
    assert len(response.content) < 1_000_000


# --- lone surrogates ---

LONE = '"a\\ud800b"'


def test_a_lone_surrogate_in_a_patients_name_is_refused_naming_the_field(
    as_nurse: TestClient,
) -> None:
    response = post_raw(
        as_nurse, "/api/patients", f'{{"clinic_id": "S-1", "display_name": {LONE}}}'
    )
    assert "surrogate" in error_at(response, "body", "display_name")["msg"]


def test_a_lone_surrogate_in_session_notes_is_refused(as_nurse: TestClient) -> None:
    patient = new_patient(as_nurse)
    body = (
        f'{{"patient_id": {patient["id"]}, "chair": "C-s", "drug": "ketamine", "route": "iv", '
        f'"notes": {LONE}}}'
    )
    error_at(post_raw(as_nurse, "/api/sessions", body), "body", "notes")


def test_a_lone_surrogate_in_an_entered_in_error_reason_is_refused(
    as_nurse: TestClient, session_id: int
) -> None:
    reading = post_reading(as_nurse, session_id, heart_rate=80).json()
    url = f"/api/sessions/{session_id}/readings/{reading['id']}/entered-in-error"
    error_at(post_raw(as_nurse, url, f'{{"reason": {LONE}}}'), "body", "reason")


def test_a_lone_surrogate_in_a_sign_in_is_refused(client: TestClient) -> None:
    body = f'{{"username": {LONE}, "password": "whatever-it-is"}}'
    error_at(post_raw(client, "/api/auth/login", body), "body", "username")


# --- NUL: PostgreSQL cannot store it; refused everywhere alike (every field: test_nul_walk) ---

NUL = '"a\\u0000b"'


def test_a_nul_in_a_sign_in_is_refused_naming_the_field_without_signing_in(
    client: TestClient,
) -> None:
    body = f'{{"username": {NUL}, "password": "whatever-it-is"}}'
    error = error_at(post_raw(client, "/api/auth/login", body), "body", "username")
    assert "NUL" in error["msg"]


def test_a_nul_in_a_patients_name_is_refused_naming_the_field(as_nurse: TestClient) -> None:
    body = f'{{"clinic_id": "N-1", "display_name": {NUL}}}'
    error_at(post_raw(as_nurse, "/api/patients", body), "body", "display_name")


def test_a_nul_in_a_patient_search_is_refused_naming_the_parameter(as_nurse: TestClient) -> None:
    response = as_nurse.get("/api/patients", params={"q": "a\x00b"})
    assert "NUL" in error_at(response, "query", "q")["msg"]
    assert response.json()["message"].startswith("q: ")


def test_a_lone_surrogate_as_an_unknown_field_name_is_refused_readably(
    as_nurse: TestClient, session_id: int
) -> None:
    body = '{"heart_rate": 80, "\\udfff": 1}'
    response = post_raw(as_nurse, f"/api/sessions/{session_id}/readings", body)
    (error,) = errors(response)  # the field's name is what is wrong: no field to name
    assert error["input"] == "\\udfff"  # shown escaped, as it was sent


# --- strict vital types ---

NOT_NUMBERS = [
    ("heart_rate", "true"),
    ("systolic", "false"),
    ("spo2", '"97"'),
    ("heart_rate", '"84"'),
    ("temperature", '"37.2"'),
    ("sedation", "true"),
    ("on_oxygen", "1"),
    ("on_oxygen", '"yes"'),
]


@pytest.mark.parametrize(("vital", "value"), NOT_NUMBERS)
def test_a_vital_of_the_wrong_json_type_is_refused_not_guessed(
    as_nurse: TestClient, session_id: int, vital: str, value: str
) -> None:
    url = f"/api/sessions/{session_id}/readings"
    response = post_raw(as_nurse, url, f'{{"respiratory_rate": 14, "{vital}": {value}}}')
    error_at(response, "body", vital)
    batch = f'{{"readings": [{{"respiratory_rate": 14, "{vital}": {value}}}]}}'
    error_at(post_raw(as_nurse, url + "/batch", batch), "body", "readings", 0, vital)
    assert readings_of(as_nurse, session_id) == []


def test_a_whole_number_written_as_a_float_is_still_a_heart_rate(
    as_nurse: TestClient, session_id: int
) -> None:
    response = post_raw(as_nurse, f"/api/sessions/{session_id}/readings", '{"heart_rate": 84.0}')
    assert response.status_code == 201, response.text
    assert response.json()["heart_rate"] == 84


# --- request body size ---


def test_a_body_over_the_limit_is_refused_before_sign_in_is_checked(client: TestClient) -> None:
    too_big = b'{"heart_rate": 80, "pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post("/api/sessions/1/readings", content=too_big, headers=JSON)
    assert response.status_code == 413  # not 401: nothing was parsed or authenticated
    assert "bytes" in response.json()["detail"]


def test_a_chunked_body_over_the_limit_is_refused(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 64 * 1024

    response = client.post("/api/sessions/1/readings", content=chunks(), headers=JSON)
    assert response.status_code == 413


def test_a_chunked_body_within_the_limit_is_read_as_usual(
    as_nurse: TestClient, session_id: int
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"heart_rate": '
        yield b"81}"

    url = f"/api/sessions/{session_id}/readings"
    response = as_nurse.post(url, content=chunks(), headers=JSON)
    assert response.status_code == 201, response.text


def test_the_largest_legitimate_batch_fits_the_default_limit_with_room_to_spare() -> None:
    reading = {
        "id": "6f1c1e0e-8a4e-4d43-9a8e-2b7f8f0d3c11",
        "taken_at": "2026-11-21T10:15:00.123456+01:00",
        "heart_rate": 350,
        "systolic": 350,
        "diastolic": 300,
        "spo2": 100,
        "respiratory_rate": 100,
        "temperature": 37.25,
        "consciousness": "A",
        "sedation": 5,
        "on_oxygen": False,
        "source": "simulator",
    }
    body = json.dumps({"readings": [reading] * MAX_BATCH}, indent=2)
    assert 2 * len(body.encode()) < Settings(_env_file=None).max_body_bytes


def test_the_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_MAX_BODY_BYTES", "5000000")
    assert Settings(_env_file=None).max_body_bytes == 5_000_000


# --- 422 answers stay small ---


def test_a_huge_refused_value_is_not_echoed_in_full(as_nurse: TestClient, session_id: int) -> None:
    body = {"heart_rate": "8" * 500_000}
    response = as_nurse.post(f"/api/sessions/{session_id}/readings", json=body)
    error_at(response, "body", "heart_rate")
    assert len(response.content) < 2_000


def test_a_batch_wrong_everywhere_lists_a_bounded_number_of_errors(
    as_nurse: TestClient, session_id: int
) -> None:
    wrong = {name: -5 for name in ("heart_rate", "systolic", "spo2", "respiratory_rate")}
    response = post_batch(as_nurse, session_id, [wrong] * MAX_BATCH)
    assert response.status_code == 422
    assert len(response.content) < 100_000
    assert "more errors" in response.json()["message"]


@pytest.mark.parametrize("depth", [500, 900])
def test_a_deeply_nested_value_is_refused_without_exhausting_the_stack(
    as_nurse: TestClient, session_id: int, depth: int
) -> None:
    body = '{"heart_rate": ' + "[" * depth + "]" * depth + "}"
    response = post_raw(as_nurse, f"/api/sessions/{session_id}/readings", body)
    error_at(response, "body", "heart_rate")
    assert len(response.content) < 2_000


def test_an_over_long_batch_is_refused_without_echoing_it(
    as_nurse: TestClient, session_id: int
) -> None:
    response = post_batch(as_nurse, session_id, [{"heart_rate": 80}] * (MAX_BATCH + 1))
    error_at(response, "body", "readings")
    assert len(response.content) < 2_000


# --- anything at all as a vital: a 201 or a 422, never a 500 ---

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["\ud800", "84", "A"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
fields = st.sampled_from(
    [
        "heart_rate",
        "systolic",
        "diastolic",
        "spo2",
        "respiratory_rate",
        "temperature",
        "consciousness",
        "sedation",
        "on_oxygen",
        "taken_at",
        "id",
        "source",
    ]
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=st.dictionaries(fields, json_values, max_size=4))
def test_any_json_as_a_reading_is_stored_or_refused_never_a_server_error(
    as_nurse: TestClient, session_id: int, body: dict[str, Any]
) -> None:
    text = json.dumps(body, allow_nan=True)  # NaN, Infinity, "\ud800": as a broken client sends
    response = post_raw(as_nurse, f"/api/sessions/{session_id}/readings", text)
    assert response.status_code in (200, 201, 409, 422), response.text
    if response.status_code == 422:
        json.dumps(response.json(), allow_nan=False)  # valid, strict JSON
        assert response.json()["message"]
