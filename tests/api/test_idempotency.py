"""A client's own reading id makes resending safe (design.md, "Contracts other tools rely on")."""

import uuid
from datetime import timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import message, minutes_ago, move, now
from tests.helpers import new_session, post_reading, readings_of


@pytest.fixture
def session_id(as_nurse: TestClient) -> int:
    session_id: int = new_session(as_nurse)["id"]
    return session_id


def reading(**fields: Any) -> dict[str, Any]:
    """A reading with its own id and time, as a device gateway would send it."""
    return {
        "id": str(uuid.uuid4()),
        "taken_at": minutes_ago(1),
        "heart_rate": 80,
        "spo2": 97,
        **fields,
    }


def test_resending_the_same_reading_returns_the_stored_one_and_stores_nothing_new(
    as_nurse: TestClient, session_id: int
) -> None:
    sent = reading()
    first = post_reading(as_nurse, session_id, **sent)
    again = post_reading(as_nurse, session_id, **sent)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again.json()["id"] == sent["id"]
    assert [r["id"] for r in readings_of(as_nurse, session_id)] == [sent["id"]]


def test_a_retry_that_omits_taken_at_is_still_the_same_reading(
    as_nurse: TestClient, session_id: int
) -> None:
    sent = reading()
    first = post_reading(as_nurse, session_id, **sent).json()
    retry = {k: v for k, v in sent.items() if k != "taken_at"}
    again = post_reading(as_nurse, session_id, **retry)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first["id"]
    assert len(readings_of(as_nurse, session_id)) == 1


def test_a_retry_in_another_offset_for_the_same_instant_is_the_same_reading(
    as_nurse: TestClient, session_id: int
) -> None:
    instant = now().replace(microsecond=0) - timedelta(hours=1)
    sent = reading(taken_at=instant.isoformat())
    post_reading(as_nurse, session_id, **sent)
    elsewhere = instant.astimezone(timezone(timedelta(hours=2))).isoformat()
    again = post_reading(as_nurse, session_id, **(sent | {"taken_at": elsewhere}))
    assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"heart_rate": 81}, "heart_rate"),
        ({"spo2": None}, "spo2"),
        ({"temperature": 37.0}, "temperature"),
        ({"taken_at": minutes_ago(5)}, "taken_at"),
        ({"source": "device"}, "source"),
    ],
    ids=["value", "vital-missing", "vital-added", "time", "source"],
)
def test_the_same_id_with_different_content_is_409_naming_the_difference(
    as_nurse: TestClient, session_id: int, change: dict[str, Any], named: str
) -> None:
    sent = reading()
    assert post_reading(as_nurse, session_id, **sent).status_code == 201
    response = post_reading(as_nurse, session_id, **(sent | change))
    assert response.status_code == 409, response.text
    assert named in message(response)
    (stored,) = readings_of(as_nurse, session_id)
    assert stored["heart_rate"] == sent["heart_rate"]


def test_the_same_id_sent_to_another_session_is_409(as_nurse: TestClient, session_id: int) -> None:
    sent = reading()
    assert post_reading(as_nurse, session_id, **sent).status_code == 201
    other = new_session(as_nurse)["id"]
    response = post_reading(as_nurse, other, **sent)
    assert response.status_code == 409, response.text
    assert f"session {session_id}" in message(response)
    assert readings_of(as_nurse, other) == []


def test_a_retry_inside_a_batch_is_accepted_without_storing_a_copy(
    as_nurse: TestClient, session_id: int
) -> None:
    stored = reading()
    post_reading(as_nurse, session_id, **stored)
    fresh = reading(taken_at=minutes_ago(0.5))
    response = as_nurse.post(
        f"/api/sessions/{session_id}/readings/batch", json={"readings": [stored, fresh]}
    )
    assert response.status_code == 201, response.text
    assert [r["id"] for r in response.json()] == [stored["id"], fresh["id"]]
    assert [r["id"] for r in readings_of(as_nurse, session_id)] == [stored["id"], fresh["id"]]


def test_a_retry_after_the_session_ended_still_returns_the_stored_reading(
    as_nurse: TestClient, session_id: int
) -> None:
    # A gateway that lost the first answer may resend after discharge; the reading is stored,
    # so the answer must say so rather than look like a refusal.
    sent = reading()
    first = post_reading(as_nurse, session_id, **sent).json()
    move(as_nurse, session_id, "stopped")
    again = post_reading(as_nurse, session_id, **sent)
    assert again.status_code == 200, again.text
    assert again.json() == first
