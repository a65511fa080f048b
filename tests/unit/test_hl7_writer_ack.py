"""The PCD-01 writer (simulator, benchmark, tests) and the ACK (HL7 2.6 section 2.9), both
checked with python-hl7 as an independent parser."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import hl7
import pytest

from backend.devices.report import Skip
from backend.hl7.pcd01 import Problem, Rejected, ack, build_oru, build_oru_series, decode, parse

ZONE = ZoneInfo("Australia/Sydney")  # far from UTC: a lost offset would show
EUI = "0012345678ABCDEF"
TAKEN = datetime(2026, 12, 7, 10, 15, 30, tzinfo=timezone(timedelta(hours=1)))
ALL = {
    "heart_rate": 72,
    "systolic": 131,
    "diastolic": 84,
    "spo2": 96,
    "respiratory_rate": 14,
    "temperature": 36.85,
}


def field(message: str, segment: str, number: int, occurrence: int = 0) -> str:
    return str(hl7.parse(message).segments(segment)[occurrence](number))


# --- writer --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.5", "2.5.1", "2.6"])
def test_parse_gives_back_what_build_oru_wrote(version: str) -> None:
    text = build_oru(
        device=EUI.lower(),
        values=ALL,
        taken_at=TAKEN,
        control_id="SIM-42",
        bed=("Demo clinic", "Main room", "Chair 3"),
        version=version,
    )
    report = parse(decode(text.encode()), zone=ZONE)
    assert {o.vital: o.value for o in report.observations} == ALL
    assert {o.taken_at for o in report.observations} == {
        datetime(2026, 12, 7, 9, 15, 30, tzinfo=UTC)
    }
    assert report.device == EUI
    assert report.bed == "Demo clinic^Main room^Chair 3"
    assert report.control_id == "SIM-42"
    assert report.version == version
    assert report.sender == f"VIGIL_SIM^{EUI}^EUI-64"
    assert report.sent_at == datetime(2026, 12, 7, 9, 15, 30, tzinfo=UTC)
    assert report.skipped == {Skip.DEVICE_ROW: 6}  # the monitor and its five virtual devices


def test_build_oru_has_the_pcd_01_shape() -> None:
    text = build_oru(
        device=EUI, values=ALL, taken_at=TAKEN, control_id="c1", bed=("", "", "Chair 3")
    )
    message = hl7.parse(text)
    assert [str(s[0]) for s in message][:4] == ["MSH", "PID", "PV1", "OBR"]
    assert field(text, "MSH", 9) == "ORU^R01^ORU_R01"
    assert field(text, "MSH", 12) == "2.6"
    assert field(text, "MSH", 18) == "UNICODE UTF-8"
    assert field(text, "MSH", 21) == "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
    assert field(text, "PV1", 3) == "^^Chair 3"
    assert field(text, "OBR", 7) == "20261207101530+0100"
    rows = message.segments("OBX")
    paths = [str(r(4)) for r in rows]
    assert paths[0] == "1.0.0.0"  # the monitor (MDS)
    assert all(p.startswith("1.") and len(p.split(".")) == 4 for p in paths)
    containment = [r for r in rows if not str(r(2))]
    assert all(str(r(11)) == "X" and not str(r(5)) for r in containment)
    metrics = [r for r in rows if str(r(2)) == "NM"]
    assert len(metrics) == 6
    assert {str(r(3)).split("^")[0] for r in metrics} == {
        "147842",
        "150021",
        "150022",
        "150456",
        "151562",
        "150364",
    }
    assert all(str(r(11)) == "R" for r in metrics)
    assert all(str(r(14)) == "20261207101530+0100" for r in metrics)
    assert all(str(r(18)) == f"{EUI}^EUI-64" for r in metrics)
    assert [int(str(r(1))) for r in rows] == list(range(1, len(rows) + 1))


def test_build_oru_writes_only_the_values_given() -> None:
    text = build_oru(device=EUI, values={"spo2": 95}, taken_at=TAKEN, control_id="c2")
    report = parse(text, zone=ZONE)
    assert {o.vital: o.value for o in report.observations} == {"spo2": 95}
    assert report.bed is None
    assert len(hl7.parse(text).segments("OBX")) == 3  # monitor, SpO2 device, the value


def test_build_oru_escapes_what_it_is_given() -> None:
    text = build_oru(
        device=EUI,
        values={"spo2": 95},
        taken_at=TAKEN,
        control_id="a|b^c",
        bed=("Site", "Room 1|2&3~4\\5", "A^B"),
    )
    report = parse(text, zone=ZONE)
    assert report.control_id == "a|b^c"
    assert report.bed == "Site^Room 1|2&3~4\\5^A^B"  # as sent, each part unescaped


def test_build_oru_rounds_integer_vitals_and_keeps_temperature_decimals() -> None:
    text = build_oru(
        device=EUI,
        values={"heart_rate": 71.5, "temperature": 37.04},
        taken_at=TAKEN,
        control_id="c3",
    )
    report = parse(text, zone=ZONE)
    assert {o.vital: o.value for o in report.observations} == {
        "heart_rate": 72,
        "temperature": 37.04,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": "12345"}, "EUI-64"),
        ({"values": {"consciousness": 1.0}}, "not vitals"),
        ({"values": {"spo2": float("nan")}}, "not a number"),
        ({"taken_at": datetime(2026, 12, 7, 10, 15)}, "offset"),
        ({"version": "2.3"}, "version"),
        ({"control_id": ""}, "control_id"),
    ],
)
def test_build_oru_refuses_what_it_cannot_write(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "device": EUI,
        "values": {"spo2": 95.0},
        "taken_at": TAKEN,
        "control_id": "c4",
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        build_oru(**arguments)  # type: ignore[arg-type]


# --- ACK -----------------------------------------------------------------------------------

RECEIVED = (
    "MSH|^~\\&|GW^0012345678ABCDEF^EUI-64|WARD|VIGIL|CLINIC|20261207101500+0000||"
    "ORU^R01^ORU_R01|MSG-7|T|2.5|||NE|AL\rOBR|1\r"
)


def test_ack_swaps_sender_and_receiver_and_echoes_the_control_id() -> None:
    reply = ack(RECEIVED, "AA")
    message = hl7.parse(reply)
    assert str(message.segment("MSH")(3)) == "VIGIL"
    assert str(message.segment("MSH")(4)) == "CLINIC"
    assert str(message.segment("MSH")(5)) == "GW^0012345678ABCDEF^EUI-64"
    assert str(message.segment("MSH")(6)) == "WARD"
    assert str(message.segment("MSH")(9)) == "ACK^R01^ACK"
    assert str(message.segment("MSH")(11)) == "T"  # processing id as received
    assert str(message.segment("MSH")(12)) == "2.5"  # version as received
    assert str(message.segment("MSA")(1)) == "AA"
    assert str(message.segment("MSA")(2)) == "MSG-7"
    assert not message.segments("ERR") if "ERR" in reply else True
    assert reply.endswith("\r")


def test_ack_has_a_fresh_control_id_and_its_own_time() -> None:
    first, second = ack(RECEIVED, "AA"), ack(RECEIVED, "AA")
    ids = {field(first, "MSH", 10), field(second, "MSH", 10)}
    assert len(ids) == 2 and "MSG-7" not in ids
    assert all(0 < len(i) <= 20 for i in ids)
    sent = datetime.strptime(field(first, "MSH", 7), "%Y%m%d%H%M%S%z")
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1)


def test_ack_errors_name_segment_sequence_and_field() -> None:
    problems = [
        Problem("OBX", 3, 5, 102, "OBX-5: 400 /min is not a possible heart rate"),
        Problem("MSH", 1, 10, 101, "MSH-10: message control id is required"),
    ]
    reply = ack(RECEIVED, "AE", problems)
    errors = hl7.parse(reply).segments("ERR")
    assert [str(e(2)) for e in errors] == ["OBX^3^5", "MSH^1^10"]
    assert [str(e(3)) for e in errors] == [
        "102^Data type error^HL70357",
        "101^Required field missing^HL70357",
    ]
    assert [str(e(4)) for e in errors] == ["E", "E"]
    assert str(errors[0](8)) == "OBX-5: 400 /min is not a possible heart rate"
    assert field(reply, "MSA", 1) == "AE"


def test_the_ack_of_a_rejection_carries_what_parse_found() -> None:
    text = RECEIVED.replace("ORU^R01^ORU_R01", "ADT^A01")
    with pytest.raises(Rejected) as caught:
        parse(text, zone=ZONE)
    error = caught.value
    reply = ack(text, error.code, error.problems, control_id=error.control_id)
    assert "\rMSA|AR|MSG-7\r" in reply
    assert field(reply, "ERR", 2) == "MSH^1^9"
    assert field(reply, "ERR", 3) == "200^Unsupported message type^HL70357"


def test_ack_re_escapes_with_its_own_separators() -> None:
    theirs = RECEIVED.replace("|", "#").replace("^", "@").replace("MSG-7", "M|\\F\\G^7")
    reply = ack(theirs, "AA")
    assert reply.startswith("MSH|^~\\&|")
    assert field(reply, "MSH", 5) == "GW^0012345678ABCDEF^EUI-64"  # components kept as such
    assert "\rMSA|AA|M\\F\\#G\\S\\7\r" in reply  # their "M|#G^7" in our separators


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "garbage",
        "MSH",
        "MSH|",
        "MSH|^~\\&",
        "\x00\x0b\x1c",
        "MSH|^~\\&|\ud800|\x00|x\r",
        "MSH|^~\\&|" + "A" * 2_000_000,
        "MSH" + "|" * 100,
        "MSH\x00\x00\x00\x00\x00",
    ],
)
def test_ack_never_raises_and_always_answers(text: str | None) -> None:
    reply = ack(text, "AR", [Problem("MSH", 1, 0, 100, "not HL7")])
    message = hl7.parse(reply)
    assert str(message.segment("MSA")(1)) == "AR"
    reply.encode("utf-8")  # sendable: no lone surrogate
    assert "\x00" not in reply
    assert len(reply) < 4096


def test_ack_survives_hostile_problem_texts_and_codes() -> None:
    problems = [
        Problem("OB|", -1, 10**30, 999, "a|b^c~d\\e&f\rg\x00h\ud800" + "x" * 10_000),
        Problem("OBX", 1, 5, 102, "\\F\\"),
    ]
    reply = ack(RECEIVED, "ZZ", problems, control_id="c\r|1")
    message = hl7.parse(reply)
    assert str(message.segment("MSA")(1)) == "AE"  # an unknown code is not passed on
    assert str(message.segment("MSA")(2)) == "c\\F\\1"  # control characters dropped, escaped
    errors = message.segments("ERR")
    assert len(errors) == 2
    assert str(errors[0](2)) == "OB\\F\\^0^999"  # escaped, clamped
    assert str(errors[0](3)) == "207^Application internal error^HL70357"  # 999 is no 0357 code
    assert "\rg" not in reply and "\x00" not in reply
    reply.encode("utf-8")


def test_ack_lists_at_most_twenty_problems() -> None:
    problems = [Problem("OBX", n, 5, 102, "bad") for n in range(1, 100)]
    assert len(hl7.parse(ack(RECEIVED, "AE", problems)).segments("ERR")) == 20


def test_several_rounds_in_one_message_come_back_each_at_its_own_time() -> None:
    # A simulator at 60x plays a second every 17 ms: its rounds keep their milliseconds.
    first = datetime(2026, 12, 7, 9, 15, 30, 120000, tzinfo=UTC)
    rounds = [
        (first + timedelta(milliseconds=17 * n), {"heart_rate": 70.0 + n, "spo2": 97.0})
        for n in range(3)
    ]
    text = build_oru_series(device=EUI, rounds=rounds, control_id="c9")
    report = parse(text, zone=ZONE)
    got = sorted((o.taken_at, o.vital, o.value) for o in report.observations)
    assert got == sorted(
        (at.replace(microsecond=at.microsecond // 1000 * 1000), vital, value)
        for at, values in rounds
        for vital, value in values.items()
    )
    assert field(text, "OBR", 7) == "20261207091530.120+0000"
