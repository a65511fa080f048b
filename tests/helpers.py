"""Small helpers that read like the steps a clinic takes."""

import uuid
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient

Client = TestClient | httpx.Client


def new_patient(client: Client, name: str = "Test Patient") -> dict[str, Any]:
    response = client.post(
        "/api/patients", json={"clinic_id": f"T-{uuid.uuid4().hex[:10]}", "display_name": name}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def new_session(client: Client, *, simulated: bool = False, **fields: Any) -> dict[str, Any]:
    patient = new_patient(client)
    body = {
        "patient_id": patient["id"],
        "chair": f"Chair {uuid.uuid4().hex[:6]}",
        "drug": "ketamine",
        "route": "iv",
        "planned_dose_mg": 35,
        "weight_kg": 70,
        "planned_duration_min": 40,
        "simulated": simulated,
        **fields,
    }
    response = client.post("/api/sessions", json=body)
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


def post_reading(client: Client, session_id: int, **vitals: Any) -> httpx.Response:
    return client.post(f"/api/sessions/{session_id}/readings", json=vitals)


def post_batch(client: Client, session_id: int, items: list[dict[str, Any]]) -> httpx.Response:
    return client.post(f"/api/sessions/{session_id}/readings/batch", json={"readings": items})


def readings_of(client: Client, session_id: int, **params: Any) -> list[dict[str, Any]]:
    """A session's stored readings (the first page), insisting that the request succeeds."""
    response = client.get(f"/api/sessions/{session_id}/readings", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def mark_in_error(client: Client, session_id: int, reading_id: str, reason: str) -> None:
    """Mark a reading entered in error, insisting that it is accepted."""
    response = client.post(
        f"/api/sessions/{session_id}/readings/{reading_id}/entered-in-error",
        json={"reason": reason},
    )
    assert response.status_code == 200, response.text
