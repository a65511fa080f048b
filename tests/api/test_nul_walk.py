"""Every text a client can send (each JSON body field of every route in the OpenAPI document,
each query parameter, each text path parameter) is refused with a 4xx when it holds a NUL
character or a lone surrogate, on SQLite and PostgreSQL alike: never stored, never a 500.

PostgreSQL cannot store NUL in text at all, so before this guard nine fields (sign-in among
them, open to anyone) answered 500 there. The walk reads the routes from the app itself, so a
route added later is walked too.
"""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.support import unique
from tests.helpers import chair_named, new_session

NUL = "before\x00after"
SURROGATE = "before\ud800after"
BAD_TEXTS = {"nul": NUL, "surrogate": SURROGATE}

Path = tuple[str | int, ...]
# A reading id, a scenario name: any text path parameter gets its own NUL.
TEXT_PATH_SAMPLE = "x"


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    if "anyOf" in schema or "oneOf" in schema:
        options: list[dict[str, Any]] = schema.get("anyOf") or schema.get("oneOf") or []
        chosen = next((o for o in options if o.get("type") != "null"), options[0])
        return _resolve(spec, chosen)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolve(spec, schema["allOf"][0])
    return schema


def _sample(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value of `schema`: every property filled, so only the bad text is wrong."""
    schema = _resolve(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 6:
            return {}
        return {
            name: _sample(spec, prop, depth + 1)
            for name, prop in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [_sample(spec, schema.get("items", {}), depth + 1)] * max(
            1, schema.get("minItems", 1)
        )
    if kind == "string":
        if schema.get("format") == "date-time":
            return datetime.now(UTC).isoformat()
        return "x" * max(1, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return max(1, int(low) + 1)
    if kind == "boolean":
        return False
    return "x"


def _leaves(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Iterator[Path]:
    """The path of every value a body can hold, into nested objects and the first array item;
    an open object (a free-form event) gets a made-up key."""
    schema = _resolve(spec, schema)
    if depth > 6:
        return
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        for name, prop in properties.items():
            inner = list(_leaves(spec, prop, depth + 1))
            yield from ((name, *rest) for rest in inner) if inner else [(name,)]
        if not properties and schema.get("additionalProperties") not in (None, False):
            yield ("kind",)
    elif kind == "array":
        inner = list(_leaves(spec, schema.get("items", {}), depth + 1))
        yield from ((0, *rest) for rest in inner) if inner else [(0,)]


def _with(value: Any, path: Path, leaf: Any) -> Any:
    if not path:
        return leaf
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(value) if isinstance(value, list) and value else [None]
        items[0] = _with(items[0], rest, leaf)
        return items
    copy = dict(value) if isinstance(value, dict) else {}
    copy[head] = _with(copy.get(head), rest, leaf)
    return copy


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    spec = app.openapi()
    return [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if path.startswith("/api/")
    ]


def _body_cases(app: FastAPI) -> list[tuple[str, str, Path]]:
    spec = app.openapi()
    cases = []
    for method, path, op in _operations(app):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            for leaf in _leaves(spec, content["application/json"]["schema"]):
                cases.append((method, path, leaf))
    return cases


@pytest.fixture
def ids(
    as_admin: TestClient, as_nurse: TestClient, as_trainer: TestClient
) -> Iterator[dict[str, Any]]:
    """Real ids for path parameters, so a route reaches its body rather than a 404."""
    session = new_session(as_nurse)
    patient = session.get("patient_id") or session.get("patient", {}).get("id", 1)
    # A throwaway account: before the guard, the walk's PATCH disabled whoever it named.
    account = as_admin.post(
        "/api/users",
        json={"username": unique("walk"), "password": "walk-" + uuid.uuid4().hex, "role": "staff"},
    )
    assert account.status_code == 201, account.text
    simulation = as_trainer.post(
        "/api/simulations",
        json={"scenario": "routine_infusion", "chair_id": chair_named(as_admin), "speed": 1},
    )
    assert simulation.status_code == 201, simulation.text
    simulation_id = simulation.json()["session_id"]
    yield {
        "session_id": session["id"],
        "simulation_id": simulation_id,
        "patient_id": patient,
        "user_id": account.json()["id"],
    }
    as_trainer.post(f"/api/simulations/{simulation_id}/stop")


def _url(
    path: str, ids: dict[str, Any], app: FastAPI, method: str, suffix: dict[str, str] | None = None
) -> str:
    spec = app.openapi()
    op = spec["paths"][path][method.lower()]
    for param in op.get("parameters", []):
        if param["in"] == "path":
            name = param["name"]
            kind = _resolve(spec, param["schema"]).get("type")
            if path.startswith("/api/simulations/") and name == "session_id":
                name = "simulation_id"
            value = ids.get(name, 1) if kind == "integer" else TEXT_PATH_SAMPLE
            extra = (suffix or {}).get(param["name"], "")
            path = path.replace("{" + param["name"] + "}", f"{value}{extra}")
    return path


def _assert_refused_naming(
    response: Any, where: list[str | int], label: str, named: int = 2
) -> None:
    """A 422 with an error at `where` or at one of its enclosing fields (at least `named` deep:
    the body's own field, not just "body")."""
    assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"
    assert response.status_code == 422, f"{label}: {response.status_code} {response.text[:300]}"
    locs = [e["loc"] for e in response.json()["detail"]]
    assert any(loc[: len(where)] == where[: len(loc)] and len(loc) >= named for loc in locs), (
        f"{label}: no error names {where}; got {locs}"
    )


def test_the_walk_covers_the_routes_that_take_text(app: FastAPI) -> None:
    cases = {(m, p) for m, p, _ in _body_cases(app)}
    assert ("POST", "/api/auth/login") in cases
    assert ("POST", "/api/sessions/{session_id}/readings/batch") in cases
    assert len(_body_cases(app)) > 50


@pytest.mark.parametrize("bad", BAD_TEXTS)
def test_bad_text_in_any_body_field_of_any_route_is_refused_naming_the_field(
    app: FastAPI, as_admin: TestClient, client: TestClient, ids: dict[str, Any], bad: str
) -> None:
    spec = app.openapi()
    failures = []
    for method, path, leaf in _body_cases(app):
        op = spec["paths"][path][method.lower()]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        body = _with(_sample(spec, schema), leaf, BAD_TEXTS[bad])
        # Sign-in is open to anyone: walked without a sign-in, as an attacker would.
        caller = client if path == "/api/auth/login" else as_admin
        response = caller.request(
            method,
            _url(path, ids, app, method),
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        # A free-form body (a simulator event) is read by its own parser, which names the body.
        named = 2 if _resolve(spec, schema).get("properties") else 1
        try:
            label = f"{method} {path} {list(leaf)}"
            _assert_refused_naming(response, ["body", *leaf], label, named)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


def test_nul_in_any_query_parameter_is_refused_naming_it(
    app: FastAPI, as_admin: TestClient, ids: dict[str, Any]
) -> None:
    failures = []
    for method, path, op in _operations(app):
        for param in op.get("parameters", []):
            if param["in"] != "query":
                continue
            url = _url(path, ids, app, method) + f"?{param['name']}={quote(NUL)}"
            response = as_admin.request(method, url)
            label = f"{method} {path} ?{param['name']}"
            try:
                _assert_refused_naming(response, ["query", param["name"]], label)
            except AssertionError as exc:
                failures.append(str(exc))
    assert not failures, "\n".join(failures)


def test_nul_in_any_path_segment_is_refused(
    app: FastAPI, as_admin: TestClient, ids: dict[str, Any]
) -> None:
    failures = []
    for method, path, op in _operations(app):
        if not any(p["in"] == "path" for p in op.get("parameters", [])):
            continue
        # Every parameter of the path in turn holds the NUL, text or id alike.
        for param in (p for p in op["parameters"] if p["in"] == "path"):
            bad_url = _url(path, ids, app, method, {param["name"]: "%00"})
            response = as_admin.request(method, bad_url)
            label = f"{method} {bad_url}"
            if not 400 <= response.status_code < 500:
                failures.append(f"{label}: {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


def test_nul_in_a_page_address_is_refused_not_a_server_error(client: TestClient) -> None:
    assert client.get("/ward%00.html").status_code == 422
    assert client.get("/static/%00").status_code == 422
