"""The contracts monitoring and client generators rely on: /api/health and /openapi.json."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def api_operations(client: TestClient) -> dict[str, dict[str, Any]]:
    """Every operation under /api in the OpenAPI document, keyed "METHOD path"."""
    document = client.get("/openapi.json").json()
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        if method in METHODS
    }


def test_health_answers_200_with_the_database_state_and_schema_revision(
    client: TestClient,
) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["dialect"] in {"sqlite", "postgresql"}
    assert body["database"]["schema_revision"]


def test_the_openapi_document_lists_the_api(api_operations: dict[str, Any]) -> None:
    assert {"GET /api/health", "POST /api/sessions/{session_id}/readings"} <= api_operations.keys()


def test_every_api_operation_has_a_summary(api_operations: dict[str, dict[str, Any]]) -> None:
    missing = [name for name, op in api_operations.items() if not op.get("summary")]
    assert missing == []


def test_every_api_success_response_has_a_schema(
    api_operations: dict[str, dict[str, Any]],
) -> None:
    untyped = [
        f"{name} → {status}"
        for name, op in api_operations.items()
        for status, response in op["responses"].items()
        if status.startswith("2")
        and status != "204"
        # JSON mostly; the session record is HTML, PDF and CSV, each described as what it is.
        and not any(c.get("schema") for c in response.get("content", {}).values())
    ]
    assert untyped == []


def test_every_api_request_body_has_a_schema(api_operations: dict[str, dict[str, Any]]) -> None:
    untyped = [
        name
        for name, op in api_operations.items()
        if "requestBody" in op
        # JSON mostly; the patient list's import is a CSV file, described as what it is.
        and not any(c.get("schema") for c in op["requestBody"]["content"].values())
    ]
    assert untyped == []


def test_the_vitals_catalogue_publishes_the_ranges_the_server_enforces(
    as_nurse: TestClient,
) -> None:
    body = as_nurse.get("/api/vitals").json()
    ranges = {v["name"]: (v["lowest"], v["highest"]) for v in body["vitals"]}
    assert ranges == {
        "heart_rate": (0, 350),
        "systolic": (0, 350),
        "diastolic": (0, 300),
        "spo2": (0, 100),
        "respiratory_rate": (0, 100),
        "temperature": (25, 45),
    }
    assert list(body["consciousness"]) == ["A", "C", "V", "P", "U"]
