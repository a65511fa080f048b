"""Posting several readings at once: all stored, or none."""

import uuid
from datetime import timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import error_at, message, minutes_ago, move, now
from tests.helpers import new_session, post_batch, readings_of


@pytest.fixture
def session_id(as_nurse: TestClient) -> int:
    session_id: int = new_session(as_nurse)["id"]
    return session_id


def series(count: int) -> list[dict[str, Any]]:
    """`count` heart rates a second apart, oldest first, ending a minute ago."""
    return [
        {"heart_rate": 60 + i % 40, "taken_at": minutes_ago(1 + (count - i) / 60)}
        for i in range(count)
    ]


def test_a_batch_is_stored_in_full_and_answered_in_order(
    as_nurse: TestClient, session_id: int
) -> None:
    items = series(5)
    response = post_batch(as_nurse, session_id, items)
    assert response.status_code == 201, response.text
    assert [r["heart_rate"] for r in response.json()] == [i["heart_rate"] for i in items]
    assert len(readings_of(as_nurse, session_id)) == 5


def test_one_impossible_item_refuses_the_whole_batch_pointing_at_that_item(
    as_nurse: TestClient, session_id: int
) -> None:
    items = series(4)
    items[2]["heart_rate"] = 1200
    response = post_batch(as_nurse, session_id, items)
    assert "0–350" in error_at(response, "body", "readings", 2, "heart_rate")["msg"]
    assert readings_of(as_nurse, session_id) == []


def test_one_item_from_the_future_refuses_the_whole_batch_pointing_at_that_item(
    as_nurse: TestClient, session_id: int
) -> None:
    items = series(3)
    items[1]["taken_at"] = (now() + timedelta(days=1)).isoformat()
    response = post_batch(as_nurse, session_id, items)
    assert "future" in error_at(response, "body", "readings", 1, "taken_at")["msg"]
    assert readings_of(as_nurse, session_id) == []


def test_one_conflicting_retry_refuses_the_whole_batch(
    as_nurse: TestClient, session_id: int
) -> None:
    stored = {"id": str(uuid.uuid4()), "heart_rate": 70, "taken_at": minutes_ago(3)}
    assert post_batch(as_nurse, session_id, [stored]).status_code == 201
    response = post_batch(as_nurse, session_id, [*series(2), stored | {"heart_rate": 71}])
    assert response.status_code == 409, response.text
    assert "item 2" in message(response)
    assert [r["id"] for r in readings_of(as_nurse, session_id)] == [stored["id"]]


def test_a_batch_larger_than_the_advertised_maximum_is_refused(
    as_nurse: TestClient, session_id: int
) -> None:
    max_batch: int = as_nurse.get("/api/vitals").json()["max_batch"]
    response = post_batch(as_nurse, session_id, [{"spo2": 97}] * (max_batch + 1))
    error_at(response, "body", "readings")
    assert readings_of(as_nurse, session_id) == []


def test_a_batch_of_exactly_the_maximum_is_accepted(as_nurse: TestClient, session_id: int) -> None:
    max_batch: int = as_nurse.get("/api/vitals").json()["max_batch"]
    response = post_batch(as_nurse, session_id, series(max_batch))
    assert response.status_code == 201, response.text
    assert len(readings_of(as_nurse, session_id, limit=max_batch + 1)) == max_batch


def test_an_empty_batch_is_refused(as_nurse: TestClient, session_id: int) -> None:
    error_at(post_batch(as_nurse, session_id, []), "body", "readings")


def test_the_same_reading_twice_in_one_batch_is_stored_once(
    as_nurse: TestClient, session_id: int
) -> None:
    item = {"id": str(uuid.uuid4()), "spo2": 95, "taken_at": minutes_ago(2)}
    response = post_batch(as_nurse, session_id, [item, item])
    assert response.status_code == 201, response.text
    assert [r["id"] for r in readings_of(as_nurse, session_id)] == [item["id"]]


def test_one_id_with_two_contents_in_one_batch_is_refused_and_nothing_stored(
    as_nurse: TestClient, session_id: int
) -> None:
    item = {"id": str(uuid.uuid4()), "spo2": 95, "taken_at": minutes_ago(2)}
    response = post_batch(as_nurse, session_id, [item, item | {"spo2": 94}])
    assert response.status_code == 409, response.text
    assert "item 1" in message(response)
    assert "spo2" in message(response)
    assert readings_of(as_nurse, session_id) == []


def test_a_batch_for_an_ended_session_is_refused(as_nurse: TestClient, session_id: int) -> None:
    move(as_nurse, session_id, "stopped")
    response = post_batch(as_nurse, session_id, series(2))
    assert response.status_code == 409, response.text
    assert "ended" in message(response)


def test_the_answer_is_the_stored_reading_as_every_later_read_gives_it(
    as_nurse: TestClient, session_id: int
) -> None:
    """A new reading's answer (and its stream event) is made from the row as inserted, not read
    back and validated: it must be exactly what reading it back gives, field for field."""
    items: list[dict[str, Any]] = [
        # A whole-number temperature, a time with another offset, every vital, and a few alone.
        {
            "heart_rate": 71,
            "systolic": 131,
            "diastolic": 82,
            "spo2": 97,
            "respiratory_rate": 14,
            "temperature": 37,
            "consciousness": "V",
            "sedation": 1,
            "on_oxygen": True,
            "taken_at": (now() - timedelta(minutes=3))
            .astimezone(timezone(timedelta(hours=-5)))
            .isoformat(),
            "source": "device",
        },
        {"temperature": 36.55, "taken_at": minutes_ago(2)},
        {"spo2": 91, "on_oxygen": False},
    ]
    answered = post_batch(as_nurse, session_id, items).json()
    single = as_nurse.post(f"/api/sessions/{session_id}/readings", json={"heart_rate": 64})
    assert single.status_code == 201, single.text
    stored = {r["id"]: r for r in readings_of(as_nurse, session_id)}
    for reading in [*answered, single.json()]:
        assert reading == stored[reading["id"]]
        assert list(reading) == list(stored[reading["id"]])


def test_a_batchs_answer_goes_uncompressed_while_reading_it_back_is_gzipped(
    as_nurse: TestClient, session_id: int
) -> None:
    """Writes skip the gzip layer (core/compression.py): a monitor's answer is small, and the
    layer's wrapping of every answer cost CPU on the request every monitor sends every second."""
    gzip = {"Accept-Encoding": "gzip"}
    written = as_nurse.post(
        f"/api/sessions/{session_id}/readings/batch",
        json={"readings": series(40)},
        headers=gzip,
    )
    assert written.status_code == 201, written.text
    assert len(written.content) > 4096  # over the size the reads are compressed from
    assert "content-encoding" not in written.headers
    read = as_nurse.get(f"/api/sessions/{session_id}/readings", headers=gzip)
    assert read.headers.get("content-encoding") == "gzip"
