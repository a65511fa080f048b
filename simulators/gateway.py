"""Playing a scenario into a Vigil server over HTTP, the way a device gateway would
(`vigil simulate --url … --token … --scenario …`).

The gateway makes a simulated patient and session, then sends what the simulated monitor shows
in batches. Each reading's id comes from the session and its place in the output, and a batch
that fails is sent again as it was, so a server that restarts mid-run loses nothing and stores
nothing twice: readings wait in the gateway, stamped when they were measured, like a monitor's
buffer. Only the standard library is used, so the gateway runs wherever Python does.
"""

import json
import secrets
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from simulators.clock import SimClock, seconds_ago
from simulators.engine import Simulation
from simulators.outputs import READING_OUTPUTS, SimNotice, SimObservation, SimPhase
from simulators.regimen import KetamineInfusion
from simulators.scenario import Scenario

_IDS = uuid.UUID("0c8e6f7e-1d0a-4d7b-9f55-3a4c1e2b7d61")
MAX_BATCH = 1000


class GatewayError(RuntimeError):
    """The server refused something a retry cannot fix (a bad token, a bad request)."""


class SessionEnded(GatewayError):
    """Someone ended the session on the server: nothing more to send."""


def reading_id(session_id: int, index: int) -> uuid.UUID:
    return uuid.uuid5(_IDS, f"gateway:{session_id}:{index}")


class Client:
    """JSON over HTTP with a bearer token; network trouble raises OSError (retried by callers)."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 - the operator's own server URL
            self.base_url + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, text


@dataclass
class Pending:
    """What is waiting to be sent, in order: readings (batched) and phase changes."""

    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class Gateway:
    def __init__(
        self,
        client: Client,
        scenario: Scenario,
        *,
        seed: int,
        speed: float = 1.0,
        out: TextIO = sys.stdout,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.simulation = Simulation(scenario, seed)
        self.clock = SimClock(monotonic(), speed=speed)
        self.out = out
        self._sleep = sleep
        self._monotonic = monotonic
        self.session_id: int | None = None
        self.sent = 0  # readings produced so far (each one's index makes its id)
        self.stored = 0
        self.pending = Pending()

    # ---- setting up ----

    def create_session(self, chair: str, patient_name: str | None) -> int:
        scenario = self.simulation.scenario
        weight = round(self.simulation.patient.weight_kg, 1)
        regimen = scenario.regimen
        patient = self._must(
            "/api/patients",
            {
                "clinic_id": f"SIM-{secrets.token_hex(4).upper()}",
                "display_name": patient_name or f"Sim: {scenario.title}"[:120],
            },
        )
        if isinstance(regimen, KetamineInfusion):
            drug: dict[str, Any] = {
                "drug": "ketamine",
                "route": "iv",
                "planned_dose_mg": round(regimen.dose_mg_per_kg * weight, 1),
                "planned_duration_min": max(1, round(regimen.duration_min)),
            }
        else:
            drug = {"drug": "esketamine", "route": "intranasal", "planned_dose_mg": regimen.dose_mg}
        session = self._must(
            "/api/sessions",
            {
                "patient_id": patient["id"],
                "chair": chair,
                "weight_kg": weight,
                "simulated": True,
                "notes": f"SIMULATED by vigil simulate: '{scenario.title}', seed "
                f"{self.simulation.seed}",
                **drug,
            },
        )
        self.session_id = int(session["id"])
        return self.session_id

    def _must(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = self._retrying(path, body)
        if status >= 400:
            raise GatewayError(f"POST {path}: {status} {_reason(answer)}")
        result: dict[str, Any] = answer
        return result

    # ---- running ----

    def run(self, until_s: float | None = None) -> None:
        """Play until the scenario discharges the patient (or `until_s` simulated seconds)."""
        end = self.simulation.end_s if until_s is None else min(until_s, self.simulation.end_s)
        while True:
            target = min(self.clock.sim_s(self._monotonic()), end)
            self.produce(target, datetime.now(UTC))
            self.deliver()
            if target >= end and not self.pending.items:
                return
            self._sleep(1.0)

    def produce(self, target_s: float, now: datetime) -> None:
        for output in self.simulation.advance(max(target_s, self.simulation.now_s)):
            at = now - timedelta(seconds=seconds_ago(output.at_s, target_s, self.clock.speed))
            if isinstance(output, READING_OUTPUTS):
                reading = {
                    "id": str(reading_id(self._session(), self.sent)),
                    "taken_at": at.isoformat(),
                    # A person's round is entered by hand; a device's value is the simulator's.
                    "source": "manual" if isinstance(output, SimObservation) else "simulator",
                    **output.values,
                }
                self.sent += 1
                self.pending.items.append(("reading", reading))
            elif isinstance(output, SimPhase):
                phase: dict[str, Any] = {
                    "phase": output.phase,
                    "at": at.isoformat(),
                    "note": "scenario timeline",
                }
                if output.gate_override is not None:
                    # Only a scripted decision overrides the pre-dose gate: the server holds
                    # the start to it like a nurse's.
                    phase["override_gate"] = {
                        "by": output.gate_override.by,
                        "reason": output.gate_override.reason,
                    }
                self.pending.items.append(("phase", phase))
            elif isinstance(output, SimNotice):
                self._say(f"{output.at_s / 60:6.1f} min  {output.device}: {output.message}")

    def deliver(self) -> None:
        """Send what is pending, oldest first; keep it (to resend as is) while the server is
        unreachable."""
        sid = self._session()
        while self.pending.items:
            kind, first = self.pending.items[0]
            if kind == "phase":
                status, answer = self._once(f"/api/sessions/{sid}/phase", first)
                if status is None or status >= 500:
                    return
                if status == 409 and "has ended" in _reason(answer):
                    raise SessionEnded(_reason(answer))
                if status == 409:
                    self._say(f"phase {first['phase']} skipped: {_reason(answer)}")
                elif status >= 400:
                    raise GatewayError(f"phase {first['phase']}: {status} {_reason(answer)}")
                else:
                    self._say(f"phase → {first['phase']}")
                self.pending.items.pop(0)
                continue
            batch = []
            for item_kind, item in self.pending.items[:MAX_BATCH]:
                if item_kind != "reading":
                    break
                batch.append(item)
            status, answer = self._once(f"/api/sessions/{sid}/readings/batch", {"readings": batch})
            if status is None or status >= 500:
                return  # sent again as it is on the next round
            if status == 409:
                raise SessionEnded(_reason(answer))
            if status >= 400:
                raise GatewayError(f"readings: {status} {_reason(answer)}")
            del self.pending.items[: len(batch)]
            self.stored += len(batch)

    def _once(self, path: str, body: dict[str, Any]) -> tuple[int | None, Any]:
        try:
            return self.client.post(path, body)
        except OSError as error:
            self._say(f"server unreachable ({error}); {len(self.pending.items)} items wait")
            return None, None

    def _retrying(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        delay = 1.0
        while True:
            status, answer = self._once(path, body)
            if status is not None and status < 500:
                return status, answer
            self._sleep(delay)
            delay = min(delay * 2, 30.0)

    def _session(self) -> int:
        if self.session_id is None:
            raise GatewayError("no session yet: call create_session first")
        return self.session_id

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _reason(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("message") or answer.get("detail") or answer)
    return str(answer)
