"""Devices: a report's readings go to the session on the device's chair (or the chair its PV1-3
bed names) through the path a nurse's take; a message from a device bound to no chair is kept,
listed, and attached when a nurse binds the device; a resend is stored once, however it races.

Reports are built as the HL7 reader makes them (`DeviceReport`), so these tests need no HL7."""

import threading
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from backend import flows
from backend.core.database import Database
from backend.core.errors import InvalidInput
from backend.devices import service as device_service
from backend.devices.models import Device, DeviceMessage
from backend.devices.report import DeviceObservation, DeviceReport, Receipt, Skip
from backend.devices.rules import reading_id
from backend.readings.models import Reading
from backend.sessions.models import InfusionSession
from tests.api.alert_support import alarms_of, conditions_open, the_alarm
from tests.api.support import now, parse_time
from tests.helpers import TEST_ROOM, TEST_SITE, chair_named, new_session, readings_of

TOLERANCE = timedelta(seconds=30)
CODES: dict[str, tuple[int, str, str]] = {
    "heart_rate": (147842, "MDC_ECG_HEART_RATE", "264864^MDC_DIM_BEAT_PER_MIN"),
    "spo2": (150456, "MDC_PULS_OXIM_SAT_O2", "262688^MDC_DIM_PERCENT"),
    "systolic": (150301, "MDC_PRESS_CUFF_SYS", "266016^MDC_DIM_MMHG"),
    "diastolic": (150302, "MDC_PRESS_CUFF_DIA", "266016^MDC_DIM_MMHG"),
    "respiratory_rate": (151562, "MDC_RESP_RATE", "264928^MDC_DIM_RESP_PER_MIN"),
    "temperature": (150344, "MDC_TEMP", "268192^MDC_DIM_DEGC"),
}


def new_eui() -> str:
    return uuid.uuid4().hex[:16].upper()


def report(
    device: str | None,
    values: Mapping[str, float],
    *,
    taken_at: datetime | None = None,
    control_id: str | None = None,
    sender: str = "ACME_GW^ICU",
    bed: str | None = None,
    skipped: Mapping[Skip, int] | None = None,
) -> DeviceReport:
    """One message of a device, as the HL7 reader gives it."""
    at = taken_at or now()
    observations = tuple(
        DeviceObservation(vital, value, at, *CODES[vital][:2], CODES[vital][2], 4 + index)
        for index, (vital, value) in enumerate(values.items())
    )
    return DeviceReport(
        sender=sender,
        control_id=control_id or uuid.uuid4().hex,
        version="2.6",
        sent_at=at,
        device=device,
        device_label="IntelliVue MX450" if device else None,
        bed=bed,
        observations=observations,
        skipped=dict(skipped or {}),
    )


def receive(database: Database, message: DeviceReport, at: datetime | None = None) -> Receipt:
    """What the MLLP listener does with a parsed message: one unit of work, then the ACK."""
    with database.unit_of_work(write=True) as db:
        return flows.receive_device_report(db, message, at or now(), future_tolerance=TOLERANCE)


def bind(client: TestClient, eui: str, chair_id: int | None) -> dict[str, Any]:
    response = client.put(f"/api/devices/{eui}", json={"chair_id": chair_id})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(client: TestClient, eui: str) -> dict[str, Any]:
    response = client.get("/api/devices")
    assert response.status_code == 200, response.text
    found = [d for d in response.json()["devices"] if d["eui64"] == eui]
    assert found, f"{eui} is not listed"
    device: dict[str, Any] = found[0]
    return device


def started_ago(database: Database, session_id: int, minutes: float) -> None:
    """Tests cannot wait: make the session look started `minutes` ago."""
    with database.unit_of_work(write=True) as db:
        session = db.get(InfusionSession, session_id)
        assert session is not None
        session.created_at = now() - timedelta(minutes=minutes)
        session.phase_changed_at = session.created_at


def introduce(database: Database, eui: str) -> None:
    """The device's first message, from before any session this test starts: the device is
    known (so it can be bound) and that message stays kept."""
    receive(database, report(eui, {"spo2": 97}, taken_at=now() - timedelta(minutes=10)))


def session_on_new_chair(client: TestClient, **fields: Any) -> tuple[dict[str, Any], int]:
    name = f"0-dev-{uuid.uuid4().hex[:8]}"
    session = new_session(client, chair=name, **fields)
    return session, session["chair_id"]


# ---- routing ----------------------------------------------------------------------------------


def test_a_bound_devices_report_goes_to_its_chairs_session_as_a_device_reading(
    as_nurse: TestClient, database: Database
) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    eui = new_eui()
    introduce(database, eui)
    bind(as_nurse, eui, chair_id)

    message = report(eui, {"heart_rate": 72.4, "spo2": 97.6, "temperature": 36.85})
    receipt = receive(database, message)

    assert receipt == Receipt(duplicate=False, session_id=session["id"], stored=1)
    stored = readings_of(as_nurse, session["id"])
    assert len(stored) == 1
    reading = stored[0]
    # Integer vitals at Vigil's resolution; the temperature as measured.
    assert (reading["heart_rate"], reading["spo2"], reading["temperature"]) == (72, 98, 36.85)
    assert (reading["source"], reading["entered_by"]) == ("device", f"device:{eui}")
    taken_at = message.observations[0].taken_at
    assert reading["id"] == str(reading_id(message.sender, message.control_id, taken_at))
    assert parse_time(reading["taken_at"]) == taken_at


def test_a_device_reading_beyond_a_limit_alarms_like_a_nurses(
    as_nurse: TestClient, database: Database
) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    eui = new_eui()
    introduce(database, eui)
    bind(as_nurse, eui, chair_id)
    start = now() - timedelta(seconds=30)
    for second in range(0, 30, 5):
        receive(database, report(eui, {"spo2": 80}, taken_at=start + timedelta(seconds=second)))
    assert the_alarm(as_nurse, session["id"], "spo2.below")["priority"] == "high"


def test_one_message_with_vitals_measured_at_two_moments_makes_two_readings(
    as_nurse: TestClient, database: Database
) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    eui = new_eui()
    introduce(database, eui)
    bind(as_nurse, eui, chair_id)
    first, second = now() - timedelta(seconds=20), now() - timedelta(seconds=10)
    message = report(eui, {"spo2": 96}, taken_at=first)
    cuff = report(eui, {"systolic": 128, "diastolic": 82}, taken_at=second)
    both = replace(message, observations=message.observations + cuff.observations)
    assert receive(database, both).stored == 2
    taken = sorted(parse_time(r["taken_at"]) for r in readings_of(as_nurse, session["id"]))
    assert taken == [first, second]


def test_a_bed_naming_a_configured_chair_routes_a_device_bound_to_none(
    as_nurse: TestClient, database: Database
) -> None:
    name = f"Bay {uuid.uuid4().hex[:6]}"
    session = new_session(as_nurse, chair=name)
    eui = new_eui()
    # PV1-3 is point of care ^ room ^ bed: the room and chair as configured, in any case.
    bed = f"{TEST_SITE.upper()}^{TEST_ROOM.lower()}^{name.lower()}"
    receipt = receive(database, report(eui, {"heart_rate": 64}, bed=bed))
    assert (receipt.session_id, receipt.stored) == (session["id"], 1)
    device = listed(as_nurse, eui)
    assert device["kept"] == 0
    # The page says where its bed sent it, though no one bound it.
    assert device["place"] is None
    assert device["routed"]["chair"] == name
    assert (device["routed"]["session_id"], device["routed"]["simulated"]) == (session["id"], False)
    # Bound elsewhere, the bed no longer places it.
    _, other_chair = session_on_new_chair(as_nurse)
    bound = bind(as_nurse, eui, other_chair)["device"]
    assert (bound["place"]["chair_id"], bound["routed"]) == (other_chair, None)


def test_a_bed_naming_a_chair_of_another_room_keeps_the_message(
    as_nurse: TestClient, database: Database
) -> None:
    name = f"Bay {uuid.uuid4().hex[:6]}"
    new_session(as_nurse, chair=name)
    eui = new_eui()
    # "Test room" is configured: the chair must be in it, and no chair there has this name.
    receipt = receive(database, report(eui, {"heart_rate": 64}, bed=f"^{TEST_ROOM}^Bay 0"))
    assert (receipt.session_id, receipt.stored) == (None, 0)
    assert listed(as_nurse, eui)["kept"] == 1


def test_a_bound_device_is_not_rerouted_by_the_bed_its_gateway_names(
    as_nurse: TestClient, database: Database
) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    other_name = f"Bay {uuid.uuid4().hex[:6]}"
    new_session(as_nurse, chair=other_name)
    eui = new_eui()
    introduce(database, eui)
    bind(as_nurse, eui, chair_id)
    receipt = receive(database, report(eui, {"spo2": 96}, bed=f"^{TEST_ROOM}^{other_name}"))
    assert receipt.session_id == session["id"]


def test_a_device_on_a_chair_holding_a_drill_feeds_the_drill_which_stays_simulated(
    as_trainer: TestClient, as_nurse: TestClient, database: Database
) -> None:
    drill, chair_id = session_on_new_chair(as_trainer, simulated=True)
    # A simulator's monitor routed by its bed is a drill's too.
    routed = new_eui()
    bed = f"{TEST_SITE}^{TEST_ROOM}^{drill['chair']}"
    assert receive(database, report(routed, {"spo2": 96}, bed=bed)).session_id == drill["id"]
    assert listed(as_nurse, routed)["routed"]["simulated"] is True
    eui = new_eui()
    introduce(database, eui)
    bind(as_nurse, eui, chair_id)
    assert receive(database, report(eui, {"spo2": 95})).session_id == drill["id"]
    session = as_trainer.get(f"/api/sessions/{drill['id']}").json()
    assert session["simulated"] is True
    assert listed(as_nurse, eui)["place"]["simulated"] is True


def test_a_message_is_kept_when_the_bound_chair_has_no_open_session(
    as_nurse: TestClient, database: Database
) -> None:
    chair_id = chair_named(as_nurse, f"0-empty-{uuid.uuid4().hex[:8]}")
    eui = new_eui()
    introduce(database, eui)
    bind(as_nurse, eui, chair_id)
    assert receive(database, report(eui, {"spo2": 96})).session_id is None
    assert listed(as_nurse, eui)["kept"] == 2


# ---- resends ----------------------------------------------------------------------------------


def test_a_resent_message_is_acknowledged_again_and_stored_once(
    as_nurse: TestClient, database: Database
) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    eui = new_eui()
    introduce(database, eui)
    bind(as_nurse, eui, chair_id)
    message = report(eui, {"spo2": 96})
    assert receive(database, message).duplicate is False
    again = receive(database, message)
    assert again == Receipt(duplicate=True, session_id=session["id"], stored=0)
    assert len(readings_of(as_nurse, session["id"])) == 1
    assert listed(as_nurse, eui)["messages"] == 2  # the first unknown one, then this one


def test_a_resend_racing_its_original_past_the_look_up_is_a_duplicate_not_an_error(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process stored the message between this one's look-up and its insert: the
    unique key decides, inside a savepoint, and the answer is "duplicate"."""
    message = report(new_eui(), {"spo2": 97})
    receive(database, message)
    monkeypatch.setattr(device_service, "find_message", lambda *_: None)
    assert receive(database, message) == Receipt(duplicate=True, session_id=None, stored=0)
    with database.unit_of_work(write=False) as db:
        count = db.scalar(
            select(func.count()).where(DeviceMessage.control_id == message.control_id)
        )
        device = db.get(Device, message.device)
        assert device is not None
        assert (count, device.messages, device.kept) == (1, 1, 1)


def test_the_same_message_sent_by_many_connections_at_once_is_stored_once(
    database: Database,
) -> None:
    message = report(new_eui(), {"spo2": 97})
    barrier = threading.Barrier(6)
    receipts: list[Receipt] = []
    failures: list[BaseException] = []

    def send() -> None:
        barrier.wait()
        try:
            receipts.append(receive(database, message))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(r.duplicate for r in receipts) == [False] + [True] * 5


# ---- kept messages and binding -----------------------------------------------------------------


def test_an_unbound_devices_messages_are_kept_and_listed_with_last_values_and_skips(
    as_nurse: TestClient, database: Database
) -> None:
    eui = new_eui()
    earlier = now() - timedelta(seconds=40)
    receive(database, report(eui, {"spo2": 95, "heart_rate": 88}, taken_at=earlier))
    receive(
        database,
        report(eui, {"spo2": 94}, skipped={Skip.TEST: 3, Skip.UNKNOWN_CODE: 2, Skip.INVALID: 0}),
    )
    # A late message (measured before the last) does not replace a newer value.
    late = report(eui, {"spo2": 99}, taken_at=earlier - timedelta(seconds=5))
    receive(database, late)

    device = listed(as_nurse, eui)
    assert device["place"] is None
    assert (device["messages"], device["kept"]) == (3, 3)
    assert device["skipped"] == {"test": 3, "unknown_code": 2}
    assert device["last_values"]["spo2"]["value"] == 94
    assert device["last_values"]["heart_rate"]["value"] == 88
    assert parse_time(device["last_values"]["heart_rate"]["taken_at"]) == earlier
    assert device["label"] == "IntelliVue MX450"


def test_a_report_naming_no_device_or_bed_is_kept_under_its_sender(
    as_nurse: TestClient, database: Database
) -> None:
    sender = f"NO_EUI_GW^{uuid.uuid4().hex[:6]}"
    receipt = receive(database, report(None, {"spo2": 97}, sender=sender))
    assert (receipt.duplicate, receipt.session_id) == (False, None)
    senders = as_nurse.get("/api/devices").json()["senders_without_device"]
    assert [s["kept"] for s in senders if s["sender"] == sender] == [1]


def test_binding_attaches_the_messages_kept_during_the_chairs_session(
    as_nurse: TestClient, as_admin: TestClient, database: Database
) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    started_ago(database, session["id"], 30)
    eui = new_eui()
    before = report(eui, {"spo2": 98}, taken_at=now() - timedelta(minutes=45))
    during = [
        report(eui, {"spo2": 97, "heart_rate": 70}, taken_at=now() - timedelta(minutes=m))
        for m in (20, 10, 1)
    ]
    for message in (before, *during):
        assert receive(database, message).session_id is None

    result = bind(as_nurse, eui, chair_id)

    assert (result["attached_messages"], result["stored_readings"]) == (3, 3)
    assert result["still_kept"] == 1  # from before the patient sat down: not theirs
    assert result["device"]["place"]["chair_id"] == chair_id
    assert result["device"]["place"]["session_id"] == session["id"]
    taken = sorted(parse_time(r["taken_at"]) for r in readings_of(as_nurse, session["id"]))
    assert taken == [m.observations[0].taken_at for m in during]
    trail = as_admin.get("/api/audit", params={"action": "device.bind", "limit": 500}).json()
    mine = [e for e in trail["items"] if e["target"] == eui]
    assert len(mine) == 1
    assert mine[0]["session_id"] == session["id"]
    assert mine[0]["detail"]["attached_messages"] == 3
    # Binding again attaches nothing twice.
    assert bind(as_nurse, eui, chair_id)["attached_messages"] == 0
    assert len(readings_of(as_nurse, session["id"])) == 3


def test_a_backfill_does_not_sound_an_alarm_for_a_desaturation_long_gone(
    as_nurse: TestClient, database: Database
) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    started_ago(database, session["id"], 40)
    eui = new_eui()
    # Twenty minutes ago a minute at 80 %, then fine since, all kept while the device was
    # bound to no chair.
    start = now() - timedelta(minutes=20)
    for second in range(0, 60, 10):
        receive(database, report(eui, {"spo2": 80}, taken_at=start + timedelta(seconds=second)))
    receive(database, report(eui, {"spo2": 97}, taken_at=now() - timedelta(minutes=10)))

    assert bind(as_nurse, eui, chair_id)["stored_readings"] == 7
    # In the record and on the chart, but no alarm now for what ended twenty minutes ago.
    assert len(readings_of(as_nurse, session["id"])) == 7
    assert [a for a in alarms_of(as_nurse, session["id"]) if a["condition"] == "spo2.below"] == []


def test_a_backfill_alarms_on_what_is_happening_now(
    as_nurse: TestClient, database: Database
) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    started_ago(database, session["id"], 40)
    eui = new_eui()
    receive(database, report(eui, {"spo2": 97}, taken_at=now() - timedelta(minutes=15)))
    start = now() - timedelta(seconds=60)
    for second in range(0, 60, 10):
        receive(database, report(eui, {"spo2": 80}, taken_at=start + timedelta(seconds=second)))

    bind(as_nurse, eui, chair_id)
    assert "spo2.below" in conditions_open(as_nurse, session["id"])


def test_an_unbound_devices_next_message_is_kept(as_nurse: TestClient, database: Database) -> None:
    session, chair_id = session_on_new_chair(as_nurse)
    eui = new_eui()
    introduce(database, eui)
    bind(as_nurse, eui, chair_id)
    unbound = bind(as_nurse, eui, None)
    assert unbound["device"]["place"] is None
    assert receive(database, report(eui, {"spo2": 96})).session_id is None
    assert readings_of(as_nurse, session["id"]) == []


# ---- refusals ---------------------------------------------------------------------------------


def refused(database: Database, message: DeviceReport) -> tuple[tuple[Any, ...], str]:
    with pytest.raises(InvalidInput) as caught:
        receive(database, message)
    return caught.value.loc, caught.value.message


def test_swapped_blood_pressure_is_refused_naming_its_obx_and_nothing_is_kept(
    database: Database,
) -> None:
    message = report(new_eui(), {"systolic": 70, "diastolic": 120})
    loc, text = refused(database, message)
    assert loc == ("OBX", 5, 5)
    assert "diastolic" in text
    with database.unit_of_work(write=False) as db:
        assert db.get(Device, message.device) is None


def test_a_reading_from_the_future_is_refused_naming_its_time(database: Database) -> None:
    loc, text = refused(
        database, report(new_eui(), {"spo2": 97}, taken_at=now() + timedelta(hours=1))
    )
    assert loc == ("OBX", 4, 14)
    assert "device clock" in text


@pytest.mark.parametrize("field", ["sender", "control_id"])
def test_an_empty_or_overlong_message_key_is_refused(database: Database, field: str) -> None:
    for bad in ("", " ", "x" * 300):
        base = report(new_eui(), {"spo2": 97})
        message = replace(base, sender=bad) if field == "sender" else replace(base, control_id=bad)
        loc, _ = refused(database, message)
        assert loc == ("MSH", 1, 3 if field == "sender" else 10)


def test_a_devices_readings_count_only_once_in_the_readings_table(
    as_nurse: TestClient, database: Database
) -> None:
    """A kept message attached by a bind and then resent by its gateway stays one reading."""
    session, chair_id = session_on_new_chair(as_nurse)
    started_ago(database, session["id"], 5)
    eui = new_eui()
    message = report(eui, {"spo2": 97}, taken_at=now() - timedelta(seconds=5))
    receive(database, message)
    bind(as_nurse, eui, chair_id)
    assert receive(database, message).duplicate is True
    with database.unit_of_work(write=False) as db:
        count = db.scalar(
            select(func.count()).select_from(Reading).where(Reading.session_id == session["id"])
        )
    assert count == 1


def _with_observation(message: DeviceReport, **changes: Any) -> DeviceReport:
    return replace(message, observations=(replace(message.observations[0], **changes),))


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"value": float("nan")}, ("OBX", 4, 5)),
        ({"value": float("inf")}, ("OBX", 4, 5)),
        ({"value": 1e308}, ("OBX", 4, 5)),
        ({"value": -1.0}, ("OBX", 4, 5)),
        ({"mdc_name": "MDC\x00PULS"}, ("OBX", 4, 3)),
        ({"unit": "\ud800"}, ("OBX", 4, 6)),
        ({"vital": "consciousness"}, ("OBX", 4, 3)),
        ({"taken_at": datetime(2026, 12, 7, 9, 0)}, ("OBX", 4, 14)),  # no offset
        ({"taken_at": datetime(1, 1, 1, tzinfo=UTC)}, ("OBX", 4, 14)),
    ],
)
def test_a_hostile_observation_is_refused_naming_its_field_never_a_500(
    database: Database, changes: dict[str, Any], where: tuple[Any, ...]
) -> None:
    message = _with_observation(report(new_eui(), {"spo2": 97}), **changes)
    loc, _ = refused(database, message)
    assert loc == where


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("sender", "GW\x00X", ("MSH", 1, 3)),
        ("control_id", "id\ud800", ("MSH", 1, 10)),
        ("device_label", "Monitor\x00", ("OBX", 4, 18)),
        ("bed", "^Room\udfff^Chair", ("PV1", 0, 3)),
        ("device", "NOT-AN-EUI", ("OBX", 4, 18)),
        ("sent_at", datetime(2026, 12, 7, 9, 0), ("MSH", 1, 7)),
    ],
)
def test_hostile_message_fields_are_refused_naming_them(
    database: Database, field: str, value: Any, where: tuple[Any, ...]
) -> None:
    message = replace(report(new_eui(), {"spo2": 97}), **{field: value})
    loc, _ = refused(database, message)
    assert loc == where


def test_overlong_descriptive_text_is_kept_cut_to_its_column(
    as_nurse: TestClient, database: Database
) -> None:
    eui = new_eui()
    message = replace(
        report(eui, {"spo2": 97}), device_label="M" * 5000, bed="X" * 5000, version="2.6" * 9
    )
    assert receive(database, message).duplicate is False
    assert listed(as_nurse, eui)["label"] == "M" * 120


def test_the_fhir_export_carries_the_code_each_value_was_sent_as(
    as_nurse: TestClient, database: Database
) -> None:
    # An oximeter's pulse is MDC_PULS_OXIM_PULS_RATE in the record, not the ECG's heart rate.
    session, chair_id = session_on_new_chair(as_nurse)
    eui = new_eui()
    introduce(database, eui)
    bind(as_nurse, eui, chair_id)
    at = now()
    pulse = DeviceObservation("heart_rate", 71, at, 149530, "MDC_PULS_OXIM_PULS_RATE", "/min", 4)
    oximetry = report(eui, {"spo2": 97}, taken_at=at)
    message = replace(oximetry, observations=(*oximetry.observations, pulse))
    assert receive(database, message).stored == 1

    bundle = as_nurse.get(f"/api/sessions/{session['id']}/fhir").json()
    sent: dict[str, list[str]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Observation" and resource.get("device"):
            mdc = [c["code"] for c in resource["code"]["coding"] if "11073" in c["system"]]
            loinc = [
                c["code"] for c in resource["code"]["coding"] if c["system"].endswith("loinc.org")
            ]
            sent[loinc[0]] = mdc
    assert sent["8867-4"] == ["149530"]  # heart rate, as the oximeter sent it
    assert sent["2708-6"] == ["150456"]
    # The Device is named as its messages name it, and the Bundle reads as FHIR R4.
    [device] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Device"]
    assert device["deviceName"] == [{"name": "IntelliVue MX450", "type": "model-name"}]
    Bundle.model_validate(bundle)
