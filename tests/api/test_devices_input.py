"""The devices endpoints against bad and hostile input, and who may use them: a malformed EUI-64
or chair id is a 422 naming the field, an unknown device a 404, never a 500 (SQLite and
PostgreSQL); nurses and admins bind, staff read, trainers see no device (real patients' values)."""

import json
import uuid
from datetime import timedelta

import httpx2
import pytest
from fastapi.testclient import TestClient

from backend import flows
from backend.core.database import Database
from backend.devices.report import DeviceObservation, DeviceReport
from tests.api.support import error_at, now
from tests.helpers import chair_named

JSON = {"Content-Type": "application/json"}


def known_device(database: Database) -> str:
    """A device that has sent one message (kept: it is bound to no chair)."""
    eui = uuid.uuid4().hex[:16].upper()
    at = now()
    observation = DeviceObservation("spo2", 97, at, 150456, "MDC_PULS_OXIM_SAT_O2", "%", 4)
    report = DeviceReport("GW^X", uuid.uuid4().hex, "2.6", at, eui, None, None, (observation,))
    with database.unit_of_work(write=True) as db:
        flows.receive_device_report(db, report, at, future_tolerance=timedelta(seconds=5))
    return eui


def put_raw(client: TestClient, eui: str, text: str) -> httpx2.Response:
    """PUT a body exactly as written: Python's json reads NaN and "\\ud800", which a JSON
    encoder would refuse to write."""
    return client.put(f"/api/devices/{eui}", content=text.encode(), headers=JSON)


@pytest.fixture(scope="module")
def eui(database: Database) -> str:
    return known_device(database)


def test_an_unknown_device_is_a_404(as_nurse: TestClient) -> None:
    response = as_nurse.put("/api/devices/00000000DEADBEEF", json={"chair_id": None})
    assert response.status_code == 404
    assert "00000000DEADBEEF" in response.json()["detail"]


@pytest.mark.parametrize(
    "bad",
    [
        "xyz",
        "0012A1FFFE3B4C5",
        "0012A1FFFE3B4C5D0",
        "0012A1FFFE3B4C5G",
        "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦",  # digits, but not hexadecimal ones
        "0012A1FF-FE3B4C5D",
        "0012A1FFFE3B4C5D%20",
    ],
)
def test_a_malformed_eui64_is_refused_naming_it(as_nurse: TestClient, bad: str) -> None:
    response = as_nurse.put(f"/api/devices/{bad}", json={"chair_id": None})
    assert response.status_code == 422, response.text
    assert "16 hexadecimal digits" in error_at(response, "path", "eui64")["msg"]


@pytest.mark.parametrize("bad", ["%00" * 16, "0012A1FFFE3B4C%00", "%ED%A0%80" * 4])
def test_nul_bytes_or_broken_utf8_in_the_eui64_are_refused_naming_the_path(
    as_nurse: TestClient, bad: str
) -> None:
    response = as_nurse.put(f"/api/devices/{bad}", json={"chair_id": None})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "path"


def test_an_eui64_in_lower_case_is_the_same_device(as_nurse: TestClient, eui: str) -> None:
    response = as_nurse.put(f"/api/devices/{eui.lower()}", json={"chair_id": None})
    assert response.status_code == 200, response.text
    assert response.json()["device"]["eui64"] == eui


@pytest.mark.parametrize(
    "body",
    [
        '{"chair_id": NaN}',
        '{"chair_id": Infinity}',
        '{"chair_id": 1e999}',
        '{"chair_id": 99999999999999999999999}',
        '{"chair_id": 2147483648}',
        '{"chair_id": 0}',
        '{"chair_id": -1}',
        '{"chair_id": true}',
        '{"chair_id": "1\\u0000"}',
        '{"chair_id": "\\ud800"}',
        '{"chair_id": [1]}',
        "{}",
    ],
)
def test_a_malformed_chair_id_is_refused_naming_it(
    as_nurse: TestClient, eui: str, body: str
) -> None:
    error_at(put_raw(as_nurse, eui, body), "body", "chair_id")


def test_an_unknown_chair_is_refused_naming_the_field(as_nurse: TestClient, eui: str) -> None:
    response = as_nurse.put(f"/api/devices/{eui}", json={"chair_id": 2**31 - 1})
    assert error_at(response, "body", "chair_id")["msg"] == "no chair with this id"


def test_a_retired_chair_is_refused_naming_the_field(
    as_nurse: TestClient, as_admin: TestClient, eui: str
) -> None:
    chair_id = chair_named(as_nurse, f"0-retired-{uuid.uuid4().hex[:8]}")
    assert as_admin.patch(f"/api/chairs/{chair_id}", json={"active": False}).status_code == 200
    response = as_nurse.put(f"/api/devices/{eui}", json={"chair_id": chair_id})
    assert "retired" in error_at(response, "body", "chair_id")["msg"]


def test_other_fields_and_bad_text_in_them_are_refused(as_nurse: TestClient, eui: str) -> None:
    response = put_raw(as_nurse, eui, '{"chair_id": null, "note\\u0000": "\\ud800"}')
    assert response.status_code == 422, response.text


def test_a_body_that_is_not_json_is_refused(as_nurse: TestClient, eui: str) -> None:
    assert put_raw(as_nurse, eui, '{"chair_id": ').status_code == 422
    assert put_raw(as_nurse, eui, "\x00").status_code == 422


def test_a_huge_body_is_refused_unread(as_nurse: TestClient, eui: str) -> None:
    huge = json.dumps({"chair_id": None, "pad": "x" * 6_000_000})
    response = put_raw(as_nurse, eui, huge)
    assert response.status_code == 413


def test_staff_read_the_devices_but_do_not_bind_them(as_staff: TestClient, eui: str) -> None:
    assert as_staff.get("/api/devices").status_code == 200
    assert as_staff.put(f"/api/devices/{eui}", json={"chair_id": None}).status_code == 403


def test_trainers_see_no_device(as_trainer: TestClient, eui: str) -> None:
    assert as_trainer.get("/api/devices").status_code == 403
    assert as_trainer.put(f"/api/devices/{eui}", json={"chair_id": None}).status_code == 403


def test_the_devices_need_a_sign_in(client: TestClient, eui: str) -> None:
    assert client.get("/api/devices").status_code == 401
    assert client.put(f"/api/devices/{eui}", json={"chair_id": None}).status_code == 401


def test_admins_bind_and_unbind(as_admin: TestClient, eui: str) -> None:
    chair_id = chair_named(as_admin, f"0-admin-{uuid.uuid4().hex[:8]}")
    bound = as_admin.put(f"/api/devices/{eui}", json={"chair_id": chair_id})
    assert bound.status_code == 200, bound.text
    assert bound.json()["device"]["place"]["chair_id"] == chair_id
    assert bound.json()["device"]["bound_by"]
    unbound = as_admin.put(f"/api/devices/{eui}", json={"chair_id": None})
    assert unbound.json()["device"]["place"] is None
