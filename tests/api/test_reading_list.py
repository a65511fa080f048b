"""Reading a session's readings back: order, time windows, pages and the stream cursor."""

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import error_at, iso, message, now, parse_time
from tests.helpers import new_session, post_batch

# Two hours ago on the hour: readings may not be taken long before their session was started.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def store(client: TestClient, session_id: int, minutes: Sequence[float]) -> None:
    """One heart-rate reading at each of T0 + `minutes`, posted in the order given."""
    items = [{"heart_rate": 60 + i, "taken_at": iso(at(m))} for i, m in enumerate(minutes)]
    response = post_batch(client, session_id, items)
    assert response.status_code == 201, response.text


def page(client: TestClient, session_id: int, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{session_id}/readings", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def taken(items: list[dict[str, Any]]) -> list[datetime]:
    return [parse_time(item["taken_at"]) for item in items]


@pytest.fixture
def session_id(as_nurse: TestClient) -> int:
    session_id: int = new_session(as_nurse)["id"]
    return session_id


def test_readings_come_back_ordered_by_taken_at_not_by_arrival(
    as_nurse: TestClient, session_id: int
) -> None:
    store(as_nurse, session_id, [30, 10, 20, 0])
    assert taken(page(as_nurse, session_id)["items"]) == [at(0), at(10), at(20), at(30)]


def test_since_is_inclusive_and_until_exclusive(as_nurse: TestClient, session_id: int) -> None:
    store(as_nurse, session_id, [0, 10, 20, 30])
    window = page(as_nurse, session_id, since=iso(at(10)), until=iso(at(30)))
    assert taken(window["items"]) == [at(10), at(20)]


def test_since_and_until_honour_the_offset_they_are_given_in(
    as_nurse: TestClient, session_id: int
) -> None:
    store(as_nurse, session_id, [0, 10, 20])
    local = iso(at(10).astimezone(timezone(timedelta(hours=2))))  # = T0 + 10 min
    assert taken(page(as_nurse, session_id, since=local)["items"]) == [at(10), at(20)]
    assert taken(page(as_nurse, session_id, until=local)["items"]) == [at(0)]


def test_a_since_without_an_offset_is_refused(as_nurse: TestClient, session_id: int) -> None:
    response = as_nurse.get(
        f"/api/sessions/{session_id}/readings", params={"since": "2024-03-01T09:00:00"}
    )
    error_at(response, "query", "since")


def test_paging_until_next_page_is_null_returns_every_reading_exactly_once(
    as_nurse: TestClient, session_id: int
) -> None:
    # Ties in taken_at straddle page boundaries: the key must include the id.
    minutes = [0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4]
    store(as_nurse, session_id, minutes)
    seen: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(len(minutes) + 1):
        params: dict[str, Any] = {"limit": 3} | ({"page": token} if token else {})
        body = page(as_nurse, session_id, **params)
        assert len(body["items"]) <= 3
        seen.extend(body["items"])
        token = body["next_page"]
        if token is None:
            break
    assert len({r["id"] for r in seen}) == len(seen) == len(minutes)
    assert taken(seen) == sorted(at(m) for m in minutes)


def test_a_page_that_exactly_fills_the_limit_has_no_next_page(
    as_nurse: TestClient, session_id: int
) -> None:
    store(as_nurse, session_id, [0, 1, 2])
    assert page(as_nurse, session_id, limit=3)["next_page"] is None


def test_pages_respect_the_time_window(as_nurse: TestClient, session_id: int) -> None:
    store(as_nurse, session_id, [0, 1, 2, 3, 4, 5])
    first = page(as_nurse, session_id, since=iso(at(1)), until=iso(at(5)), limit=2)
    rest = page(
        as_nurse, session_id, since=iso(at(1)), until=iso(at(5)), limit=2, page=first["next_page"]
    )
    assert taken(first["items"] + rest["items"]) == [at(1), at(2), at(3), at(4)]
    assert rest["next_page"] is None


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        base64.urlsafe_b64encode(b"no separator").decode(),
        base64.urlsafe_b64encode(b"yesterday|abc").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe|x").decode(),
    ],
    ids=["garbage", "no-separator", "bad-time", "not-utf8"],
)
def test_a_page_token_the_server_never_gave_out_is_422(
    as_nurse: TestClient, session_id: int, token: str
) -> None:
    response = as_nurse.get(f"/api/sessions/{session_id}/readings", params={"page": token})
    assert "page token" in error_at(response, "query", "page")["msg"]


def test_every_page_carries_a_stream_cursor(as_nurse: TestClient, session_id: int) -> None:
    empty = page(as_nurse, session_id)
    store(as_nurse, session_id, [0])
    later = page(as_nurse, session_id)
    assert int(later["stream_cursor"]) > int(empty["stream_cursor"]) >= 0


def test_listing_the_readings_of_an_unknown_session_is_404(as_nurse: TestClient) -> None:
    response = as_nurse.get("/api/sessions/987654321/readings")
    assert response.status_code == 404, response.text
    assert "987654321" in message(response)


def test_a_session_without_readings_lists_none(as_nurse: TestClient, session_id: int) -> None:
    body = page(as_nurse, session_id, since=iso(now() - timedelta(days=1)))
    assert (body["items"], body["next_page"]) == ([], None)


def test_a_long_history_is_sent_compressed_and_a_small_answer_is_not(nurse: TestClient) -> None:
    session = new_session(nurse)
    start = now() - timedelta(minutes=30)
    batch = [
        {"taken_at": iso(start + timedelta(seconds=i)), "heart_rate": 70 + i % 5, "spo2": 97}
        for i in range(600)
    ]
    stored = nurse.post(f"/api/sessions/{session['id']}/readings/batch", json={"readings": batch})
    assert stored.status_code == 201, stored.text

    page = nurse.get(f"/api/sessions/{session['id']}/readings", params={"limit": 1000})
    assert page.headers.get("content-encoding") == "gzip"
    assert len(page.json()["items"]) == 600
    assert int(page.headers["content-length"]) * 5 < len(page.content)  # content is decoded

    one = nurse.post(f"/api/sessions/{session['id']}/readings", json={"heart_rate": 80})
    assert one.status_code == 201 and "content-encoding" not in one.headers
