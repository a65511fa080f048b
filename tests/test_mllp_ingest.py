"""Monitors' HL7 v2 messages over MLLP into a running Vigil: stored through the same flow as a
nurse's reading, acknowledged only once committed, refused with the ACK the sender needs (AE: do
not resend; AR: resend later), a resend stored once; `vigil hl7 send` prints the ACK; the
simulator's monitors take this path when asked to."""

import asyncio
import socket
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from backend import flows
from backend.cli import main as vigil
from backend.core.database import Database
from backend.core.errors import Overloaded
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.devices.models import DeviceMessage
from backend.hl7.client import Ack, MllpClient
from backend.hl7.pcd01 import build_oru
from backend.main import create_app
from backend.readings.models import Reading
from backend.simulation import service as simulation_service
from tests.api.alert_support import wait_for
from tests.conftest import free_port, sign_in, suite_settings
from tests.helpers import TEST_ROOM, TEST_SITE, chair_named, new_session, readings_of


@pytest.fixture(scope="module")
def mllp_settings(database_url: str) -> Settings:
    return suite_settings(database_url).model_copy(update={"mllp_port": free_port()})


@pytest.fixture(scope="module")
def app(mllp_settings: Settings, database: Database) -> Iterator[FastAPI]:
    """Vigil with its listener (the lifespan runs for the module's tests)."""
    application = create_app(mllp_settings)
    with TestClient(application):
        yield application


@pytest.fixture(scope="module")
def nurse(app: FastAPI) -> TestClient:
    return sign_in(TestClient(app), Role.NURSE)


@pytest.fixture(scope="module")
def port(app: FastAPI) -> int:
    listener = app.state.mllp
    assert listener is not None and listener.port is not None
    port: int = listener.port
    return port


HOUR = timedelta(hours=1)


def send(port: int, *messages: str | bytes) -> list[Ack]:
    """Send each message in turn on one connection; their ACKs."""

    async def go() -> list[Ack]:
        client = MllpClient("127.0.0.1", port, timeout=5)
        try:
            return [await client.send(m.encode() if isinstance(m, str) else m) for m in messages]
        finally:
            await client.close()

    return asyncio.run(go())


def at_bed(text: str, chair: str) -> str:
    """The message with PV1-3 naming the tests' site, room and `chair`, as a gateway does."""
    return text.replace("\rPV1||I\r", f"\rPV1||I|{TEST_SITE}^{TEST_ROOM}^{chair}\r", 1)


def new_eui() -> str:
    return uuid.uuid4().hex[:16].upper()


def oru(chair: str | None, values: dict[str, float], **fields: Any) -> tuple[str, str]:
    """A monitor's PCD-01 message (at `chair`'s bed, if given) and its control id."""
    control_id = fields.pop("control_id", uuid.uuid4().hex[:20])
    text = build_oru(
        device=fields.pop("device", new_eui()),
        values=values,
        taken_at=fields.pop("taken_at", datetime.now(UTC) - timedelta(seconds=5)),
        control_id=control_id,
        sender=fields.pop("sender", "TEST_GW"),
        **fields,
    )
    return (at_bed(text, chair) if chair else text), control_id


def chair_session(nurse: TestClient) -> tuple[int, str]:
    name = f"MLLP {uuid.uuid4().hex[:6]}"
    session = new_session(nurse, chair=name)
    return session["id"], name


def kept_messages(database: Database, control_id_prefix: str) -> list[DeviceMessage]:
    """The device messages stored whose control id starts so."""
    with database.unit_of_work(write=False) as db:
        query = select(DeviceMessage).where(DeviceMessage.control_id.startswith(control_id_prefix))
        return list(db.scalars(query))


def stored_readings(database: Database, session_id: int) -> list[Reading]:
    with database.unit_of_work(write=False) as db:
        return list(db.scalars(select(Reading).where(Reading.session_id == session_id)))


# ---- stored, then acknowledged --------------------------------------------------------------


def test_a_monitors_message_is_stored_on_its_bed_and_acknowledged_after_the_commit(
    nurse: TestClient, port: int, database: Database
) -> None:
    session_id, chair = chair_session(nurse)
    device = new_eui()
    message, control_id = oru(
        chair, {"heart_rate": 72, "spo2": 97, "systolic": 121, "diastolic": 79}, device=device
    )
    [ack] = send(port, message)
    assert (ack.code, ack.control_id, ack.errors) == ("AA", control_id, ())
    # Durable when the ACK left: another connection to the database sees it at once.
    [stored] = stored_readings(database, session_id)
    assert (stored.heart_rate, stored.spo2, stored.systolic, stored.diastolic) == (72, 97, 121, 79)
    [shown] = readings_of(nurse, session_id)
    assert shown["source"] == "device" and shown["entered_by"] == f"device:{device}"

    # The sender did not hear the ACK and sends again (twice, on a new connection): the same
    # answer, and still one reading.
    again = send(port, message, message)
    assert [(a.code, a.control_id) for a in again] == [("AA", control_id)] * 2
    assert len(stored_readings(database, session_id)) == 1


def test_several_monitors_at_once_each_get_their_own_ack(
    nurse: TestClient, port: int, database: Database
) -> None:
    session_id, chair = chair_session(nurse)
    start = datetime.now(UTC) - timedelta(seconds=60)

    async def monitor(index: int) -> list[Ack]:
        client = MllpClient("127.0.0.1", port, timeout=10)
        acks = []
        try:
            for n in range(5):
                message, _ = oru(
                    chair,
                    {"heart_rate": 60 + n, "spo2": 96},
                    taken_at=start + timedelta(seconds=index * 5 + n),
                    control_id=f"M{index}-{n}",
                    sender=f"MON{index}",
                )
                acks.append(await client.send(message.encode()))
        finally:
            await client.close()
        return acks

    async def all_monitors() -> list[list[Ack]]:
        return await asyncio.gather(*(monitor(i) for i in range(4)))

    answers = asyncio.run(all_monitors())
    assert [[a.control_id for a in acks] for acks in answers] == [
        [f"M{i}-{n}" for n in range(5)] for i in range(4)
    ]
    assert {a.code for acks in answers for a in acks} == {"AA"}
    assert len(stored_readings(database, session_id)) == 20


def test_a_message_from_a_device_on_no_known_bed_is_kept_and_acknowledged(
    port: int, database: Database
) -> None:
    message, control_id = oru(None, {"heart_rate": 80}, sender="LONELY_GW")
    [ack] = send(port, message)
    assert (ack.code, ack.control_id) == ("AA", control_id)
    [kept] = kept_messages(database, control_id)
    assert kept.session_id is None and kept.sender.startswith("LONELY_GW")


# ---- refused ------------------------------------------------------------------------------


def test_refusals_say_whether_to_resend_and_what_is_at_fault(
    nurse: TestClient, port: int, database: Database
) -> None:
    session_id, chair = chair_session(nurse)
    good, _ = oru(chair, {"heart_rate": 70})
    not_oru = good.replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01", 1)
    impossible, impossible_id = oru(chair, {"heart_rate": 70, "spo2": 150})
    latin1 = at_bed(good, chair).replace("TEST_GW", "TEST_GW_\u00e9").encode("latin-1")
    answers = send(port, not_oru, impossible, b"no HL7 here", latin1, b"MSH|^~\\&\x00|")
    unsupported, content, garbage, bad_bytes, nul = answers
    assert unsupported.code == "AR" and "200" in unsupported.errors[0]
    assert content.code == "AE" and content.control_id == impossible_id
    assert any(line.startswith("at OBX #") and ", field 5;" in line for line in content.errors), (
        content.errors
    )
    assert garbage.code == "AE" and bad_bytes.code == "AE" and nul.code == "AE"
    # A monitor whose clock runs an hour fast: refused at the row and field at fault (its first
    # value: the 3rd OBX, after the monitor's and its virtual device's own rows).
    ahead, _ = oru(chair, {"heart_rate": 70, "spo2": 97}, taken_at=datetime.now(UTC) + HOUR)
    [fast] = send(port, ahead)
    assert fast.code == "AE"
    assert [line.split(";")[0] for line in fast.errors] == ["at OBX #3, field 14"], fast.errors
    assert "in the future" in fast.errors[0] and "check the device clock" in fast.errors[0]
    # Nothing of those stored; the connection served all five, and serves a good one after.
    assert stored_readings(database, session_id) == []
    [ok] = send(port, good)
    assert ok.code == "AA" and len(stored_readings(database, session_id)) == 1


def test_a_busy_database_is_ar_and_an_unexpected_error_ae_and_the_link_stays_up(
    nurse: TestClient, port: int, database: Database, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id, chair = chair_session(nurse)
    real = flows.receive_device_report
    failures: list[BaseException] = [
        OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")),
        Overloaded("every database connection stayed in use; try again shortly"),
        RuntimeError("a bug"),
    ]

    def failing(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop(0)
        return real(*args, **kwargs)

    monkeypatch.setattr(flows, "receive_device_report", failing)
    message, control_id = oru(chair, {"heart_rate": 66})
    locked, overloaded, bug, retried = send(port, message, message, message, message)
    assert (locked.code, overloaded.code) == ("AR", "AR")
    assert locked.control_id == control_id and "try again" in locked.errors[0]
    assert bug.code == "AE" and "207" in bug.errors[0]
    assert retried.code == "AA" and len(stored_readings(database, session_id)) == 1


def test_no_turn_at_the_database_is_ar(
    nurse: TestClient, port: int, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, chair = chair_session(nurse)

    @asynccontextmanager
    async def no_turn() -> AsyncIterator[None]:
        raise Overloaded("Vigil is busy: no turn at the database within 10 s; try again shortly")
        yield

    monkeypatch.setattr(app.state.database.admission, "turn", no_turn)
    message, control_id = oru(chair, {"heart_rate": 66})
    [ack] = send(port, message)
    assert (ack.code, ack.control_id) == ("AR", control_id) and "busy" in ack.errors[0]


def test_a_message_over_a_mebibyte_is_answered_ar(port: int) -> None:
    message, control_id = oru(None, {"heart_rate": 70})
    huge = message + "NTE|1||" + "x" * (1024 * 1024) + "\r"
    [ack] = send(port, huge)
    assert (ack.code, ack.control_id) == ("AR", control_id)
    assert "larger than 1048576 bytes" in ack.errors[0]


# ---- vigil hl7 send -----------------------------------------------------------------------


def test_vigil_hl7_send_prints_each_ack_and_fails_on_a_refusal(
    nurse: TestClient,
    port: int,
    database: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    session_id, chair = chair_session(nurse)
    first, first_id = oru(chair, {"heart_rate": 71})
    second, second_id = oru(chair, {"spo2": 150})
    # As a person saves messages: one segment a line, a blank line between messages.
    path = tmp_path / "messages.hl7"
    path.write_text(first.replace("\r", "\n") + "\n" + second.replace("\r", "\r\n"))
    with pytest.raises(SystemExit) as refused:
        vigil(["hl7", "send", str(path), "--port", str(port)])
    assert refused.value.code == 1
    out = capsys.readouterr().out
    assert f"message 1 of 2 (MSH-10 {first_id})" in out
    assert f"AA (accepted: stored) for {first_id}" in out
    assert "AE (error: the message was refused for its content" in out and second_id in out
    assert "at OBX #" in out and ", field 5; 102" in out and "150" in out
    assert len(stored_readings(database, session_id)) == 1

    path.write_text(first)  # a resend alone: accepted, exit status 0
    vigil(["hl7", "send", str(path), "--port", str(port)])
    assert "AA (accepted: stored)" in capsys.readouterr().out


def test_vigil_hl7_send_gives_up_on_a_silent_listener(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    path = tmp_path / "one.hl7"
    path.write_text(oru(None, {"heart_rate": 70})[0])
    try:
        with pytest.raises(SystemExit) as failed:
            vigil(
                [
                    "hl7",
                    "send",
                    str(path),
                    "--port",
                    str(silent.getsockname()[1]),
                    "--timeout",
                    "0.3",
                ]
            )
    finally:
        for conn in accepted:
            conn.close()
        silent.close()
    assert failed.value.code == 1
    assert "no ACK" in capsys.readouterr().out


def test_vigil_hl7_send_refuses_a_file_without_a_message(tmp_path: Path) -> None:
    path = tmp_path / "empty.hl7"
    path.write_text("PID|1\n")
    with pytest.raises(SystemExit, match="no HL7 message"):
        vigil(["hl7", "send", str(path), "--port", "1"])


# ---- the simulator over MLLP ----------------------------------------------------------------


def test_the_simulators_monitors_send_over_mllp_and_by_hand_rounds_stay_direct(
    mllp_settings: Settings, database: Database
) -> None:
    settings = mllp_settings.model_copy(update={"mllp_port": free_port(), "simulator_mllp": True})
    with TestClient(create_app(settings)) as client:
        trainer = sign_in(client, Role.TRAINER)
        body = {
            "scenario": "routine_infusion",
            "chair_id": chair_named(trainer),
            "patient": {"systolic": 118, "diastolic": 74},
            "start_at_min": 1,
            "seed": 5,
        }
        response = trainer.post("/api/simulations", json=body)
        assert response.status_code == 201, response.text
        sid = response.json()["session_id"]
        try:

            def history_stored() -> list[dict[str, Any]] | None:
                every = readings_of(trainer, sid)
                manual = [r for r in every if r["source"] != "device"]
                return every if manual and len(every) > 30 else None

            every = wait_for(history_stored, timeout=20, what="the history, through the listener")
            items = [r for r in every if r["source"] == "device"]
        finally:
            trainer.post(f"/api/simulations/{sid}/stop")
    device = simulation_service.device_eui64(sid)
    assert {r["entered_by"] for r in items} == {f"device:{device}"}
    # The observation round at the start is a person's, entered by hand, not the monitor's.
    assert {r["source"] for r in every} <= {"device", "manual"}
    assert [r["source"] for r in every if r["sedation"] is not None] == ["manual"]
    messages = kept_messages(database, f"SIM{sid}-")
    assert messages and {m.session_id for m in messages} == {sid}
    # The history went as a backlog, many readings a message, not a commit a reading.
    assert len(messages) < len(items)
    # The same readings get the same control id after a restart.
    assert simulation_service.control_id(sid, 7, 7) == f"SIM{sid}-7"
    assert simulation_service.control_id(sid, 7, 30) == f"SIM{sid}-7-30"


def test_the_simulator_over_mllp_needs_the_listener() -> None:
    with pytest.raises(ValueError, match="VIGIL_MLLP_PORT=0"):
        Settings(simulator_mllp=True, mllp_port=0, _env_file=None)


def test_hostile_values_are_answered_and_never_stored(
    nurse: TestClient, port: int, database: Database
) -> None:
    session_id, chair = chair_session(nurse)
    messages: list[str | bytes] = []
    for value in ("NaN", "Infinity", "-inf", "1e400", "9" * 400, "97\x00", "0x61"):
        text, _ = oru(chair, {"spo2": 97})
        messages.append(text.replace("|97|", f"|{value}|", 1))
    surrogate, _ = oru(chair, {"spo2": 97})
    messages.append(surrogate.replace("TEST_GW", "TEST_GW_\udc80").encode("utf-8", "surrogatepass"))
    answers = send(port, *messages)
    assert len(answers) == len(messages)  # each answered, on one connection
    assert {a.code for a in answers} <= {"AA", "AE"}
    assert answers[-1].code == "AE"  # a lone surrogate is not UTF-8
    assert [r.spo2 for r in stored_readings(database, session_id)] == []


SAMPLES = Path(__file__).parent / "data" / "hl7"


@pytest.mark.parametrize(
    ("sample", "code"),
    [
        ("ge_b40_manual.hl7", "AA"),
        ("ge_b40_capture.hl7", "AA"),
        ("linkwatch_bp.hl7", "AA"),
        ("philips_efficia_v24.hl7", "AR"),  # HL7 2.4 with Philips' own codes: not PCD-01
        ("xh80x_demo_v24.hl7", "AR"),  # HL7 2.4
        ("northern_monitor_capture.hl7", "AE"),  # a 384.5 degree temperature channel
    ],
)
def test_vendors_sample_messages_through_vigil_hl7_send(
    sample: str, code: str, port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real monitors' and gateways' messages (tests/data/hl7/SOURCES.md), as IT would test a
    link: each answered as the issue asks, kept (no bed of theirs is configured) when taken."""
    argv = ["hl7", "send", str(SAMPLES / sample), "--port", str(port)]
    if code == "AA":
        vigil(argv)
    else:
        with pytest.raises(SystemExit) as failed:
            vigil(argv)
        assert failed.value.code == 1
    out = capsys.readouterr().out
    assert f"  {code} (" in out, out
