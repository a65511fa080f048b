"""A session's trend: its readings folded into time buckets for the ward's sparklines."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import error_at, iso, message, now, parse_time
from tests.helpers import mark_in_error, new_session, post_batch, readings_of

# A minute boundary 20 minutes ago: a 15-second bucket starts there.
T0 = (now() - timedelta(minutes=20)).replace(second=0, microsecond=0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def store(client: TestClient, session_id: int, *readings: dict[str, Any]) -> list[dict[str, Any]]:
    response = post_batch(client, session_id, list(readings))
    assert response.status_code == 201, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def trend(client: TestClient, session_id: int, **params: Any) -> dict[str, Any]:
    response = client.get(
        f"/api/sessions/{session_id}/trend", params={"since": iso(at(-60)), **params}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def session_id(as_nurse: TestClient) -> int:
    session_id: int = new_session(as_nurse)["id"]
    return session_id


def test_readings_come_back_as_buckets_per_vital_and_bp_bars(
    as_nurse: TestClient, session_id: int
) -> None:
    store(
        as_nurse,
        session_id,
        {"taken_at": iso(at(1)), "heart_rate": 80, "spo2": 97, "systolic": 120, "diastolic": 80},
        {"taken_at": iso(at(7)), "heart_rate": 90, "spo2": 95, "respiratory_rate": 14},
        {"taken_at": iso(at(9)), "systolic": 126, "diastolic": 84},
        {"taken_at": iso(at(20)), "heart_rate": 70, "diastolic": 75},
    )
    body = trend(as_nurse, session_id)

    hr = body["lines"]["heart_rate"]
    assert [(parse_time(p["t"]), p["mean"], p["low"], p["high"], p["n"]) for p in hr] == [
        (at(7), 85, 80, 90, 2),
        (at(20), 70, 70, 70, 1),
    ]
    assert [(p["mean"], p["n"]) for p in body["lines"]["spo2"]] == [(96, 2)]
    assert [(p["mean"], p["n"]) for p in body["lines"]["respiratory_rate"]] == [(14, 1)]
    assert [(parse_time(b["t"]), b["high"], b["low"]) for b in body["bp"]] == [
        (at(9), 126, 84),  # the bucket's latest measurement
        (at(20), 75, 75),  # one half alone is a point
    ]
    assert parse_time(body["newest_taken_at"]) == at(20)
    assert parse_time(body["newest_taken_at"]).utcoffset() == timedelta(0)
    assert int(body["stream_cursor"]) > 0


def test_bucket_seconds_sets_the_bucket_length(as_nurse: TestClient, session_id: int) -> None:
    store(
        as_nurse, session_id, *({"taken_at": iso(at(s)), "heart_rate": 60} for s in range(0, 60, 5))
    )
    assert [p["n"] for p in trend(as_nurse, session_id)["lines"]["heart_rate"]] == [3, 3, 3, 3]
    by_minute = trend(as_nurse, session_id, bucket_seconds=60)["lines"]["heart_rate"]
    assert [p["n"] for p in by_minute] == [12]


def test_readings_entered_in_error_are_left_out(as_nurse: TestClient, session_id: int) -> None:
    kept, wrong = store(
        as_nurse,
        session_id,
        {"taken_at": iso(at(0)), "heart_rate": 80, "systolic": 120, "diastolic": 80},
        {"taken_at": iso(at(5)), "heart_rate": 180, "systolic": 220, "diastolic": 130},
    )
    mark_in_error(as_nurse, session_id, wrong["id"], "typed into the wrong chair")
    body = trend(as_nurse, session_id)
    assert [(p["mean"], p["n"]) for p in body["lines"]["heart_rate"]] == [(80, 1)]
    assert [(b["high"], b["low"]) for b in body["bp"]] == [(120, 80)]
    assert parse_time(body["newest_taken_at"]) == parse_time(kept["taken_at"])


def test_since_is_inclusive_and_leaves_older_readings_out(
    as_nurse: TestClient, session_id: int
) -> None:
    store(
        as_nurse,
        session_id,
        {"taken_at": iso(at(0)), "heart_rate": 150},
        {"taken_at": iso(at(30)), "heart_rate": 80},
        {"taken_at": iso(at(45)), "heart_rate": 90},
    )
    body = trend(as_nurse, session_id, since=iso(at(30)))
    assert [(parse_time(p["t"]), p["mean"]) for p in body["lines"]["heart_rate"]] == [
        (at(30), 80),
        (at(45), 90),
    ]


def test_a_session_without_readings_has_an_empty_trend(
    as_nurse: TestClient, session_id: int
) -> None:
    body = trend(as_nurse, session_id)
    assert body["lines"] == {"heart_rate": [], "spo2": [], "respiratory_rate": []}
    assert (body["bp"], body["newest_taken_at"]) == ([], None)


def test_the_cursor_is_read_before_the_readings_like_the_readings_list(
    as_nurse: TestClient, session_id: int
) -> None:
    # Resuming the stream from it may repeat a reading, never skip one: it is never ahead of
    # the readings the buckets hold.
    store(as_nurse, session_id, {"taken_at": iso(at(0)), "heart_rate": 80})
    before = int(trend(as_nurse, session_id)["stream_cursor"])
    listed = as_nurse.get(f"/api/sessions/{session_id}/readings").json()["stream_cursor"]
    assert before == int(listed)
    store(as_nurse, session_id, {"taken_at": iso(at(1)), "heart_rate": 90})
    after = trend(as_nurse, session_id)
    assert int(after["stream_cursor"]) > before
    assert after["lines"]["heart_rate"][0]["n"] == 2


@pytest.mark.parametrize("bucket_seconds", [4, 301, "fifteen"])
def test_a_bucket_length_out_of_range_is_422(
    as_nurse: TestClient, session_id: int, bucket_seconds: int | str
) -> None:
    response = as_nurse.get(
        f"/api/sessions/{session_id}/trend",
        params={"since": iso(at(0)), "bucket_seconds": bucket_seconds},
    )
    error_at(response, "query", "bucket_seconds")
    assert response.json()["message"].startswith("bucket_seconds: ")


def test_since_is_required(as_nurse: TestClient, session_id: int) -> None:
    response = as_nurse.get(f"/api/sessions/{session_id}/trend")
    error_at(response, "query", "since")
    assert response.json()["message"].startswith("since: ")


def test_since_without_an_offset_is_422(as_nurse: TestClient, session_id: int) -> None:
    response = as_nurse.get(
        f"/api/sessions/{session_id}/trend", params={"since": "2024-03-01T09:00:00"}
    )
    error_at(response, "query", "since")


def test_a_trend_reaches_back_at_most_a_day(as_nurse: TestClient, session_id: int) -> None:
    too_old = now() - timedelta(hours=24, minutes=1)
    response = as_nurse.get(f"/api/sessions/{session_id}/trend", params={"since": iso(too_old)})
    assert "24 hours" in error_at(response, "query", "since")["msg"]
    assert response.json()["message"].startswith("since: ")
    fine = now() - timedelta(hours=23, minutes=59)
    response = as_nurse.get(f"/api/sessions/{session_id}/trend", params={"since": iso(fine)})
    assert response.status_code == 200, response.text


def test_the_trend_of_an_unknown_session_is_404(as_nurse: TestClient) -> None:
    response = as_nurse.get("/api/sessions/987654321/trend", params={"since": iso(at(0))})
    assert response.status_code == 404, response.text
    assert "987654321" in message(response)


def test_the_trend_needs_a_signed_in_caller(client: TestClient, session_id: int) -> None:
    response = client.get(f"/api/sessions/{session_id}/trend", params={"since": iso(at(0))})
    assert response.status_code == 401, response.text


def test_a_session_summary_says_where_each_latest_value_came_from(
    as_nurse: TestClient, session_id: int
) -> None:
    store(
        as_nurse,
        session_id,
        {"taken_at": iso(at(0)), "heart_rate": 80, "source": "device"},
        {"taken_at": iso(at(5)), "temperature": 36.8},  # a nurse's, so manual
    )
    latest = as_nurse.get(f"/api/sessions/{session_id}").json()["latest"]
    assert {name: v["source"] for name, v in latest.items()} == {
        "heart_rate": "device",
        "temperature": "manual",
    }
    ward = as_nurse.get("/api/sessions", params={"limit": 500}).json()
    (mine,) = [s for s in ward if s["id"] == session_id]
    assert mine["latest"] == latest
    assert [r["source"] for r in readings_of(as_nurse, session_id)] == ["device", "manual"]
