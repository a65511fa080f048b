"""Vendors' published PCD-01 messages (tests/data/hl7/SOURCES.md says where each comes from),
read as the listener reads them: decode the bytes, then parse."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.devices.report import DeviceReport, Skip
from backend.hl7.pcd01 import Rejected, ack, decode, parse

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "hl7"
LONDON = ZoneInfo("Europe/London")


def read(name: str, zone: ZoneInfo = LONDON) -> DeviceReport:
    return parse(decode((SAMPLES / name).read_bytes()), zone=zone)


def vitals(report: DeviceReport) -> dict[str, float]:
    return {o.vital: o.value for o in report.observations}


def test_ge_b40_manual_message_gives_its_four_vitals_and_counts_the_rest() -> None:
    report = read("ge_b40_manual.hl7")
    assert vitals(report) == {
        "heart_rate": 80,
        "spo2": 100,
        "respiratory_rate": 18,  # the airway VMD's rate; the ECG-resp 30 at the same time is not
        "temperature": 37.1,  # the first MDC_TEMP site; the second (36.5) is superseded
    }
    assert report.skipped == {
        Skip.DEVICE_ROW: 7,  # MDS, VMD and channel rows (OBX-2 empty, OBX-11 X)
        Skip.UNKNOWN_CODE: 5,  # invasive BP sys/dia/mean, invasive pulse, PVC rate
        Skip.SUPERSEDED: 2,
    }
    # OBX-18 names the monitor (EUI in EI-1, the model in EI-2); MSH-3 is the gateway.
    assert report.device == "080019FFFE0B4020"
    assert report.device_label == "B40_GE"
    assert report.bed == "SURGERY^^V2"
    assert report.sender == "VSP^080019FFFE134535^EUI-64|GE Healthcare"
    assert report.control_id == "004097134535"
    assert report.version == "2.6"


def test_ge_b40_times_without_offset_are_the_clinic_zone() -> None:
    in_london = read("ge_b40_manual.hl7")  # 22 January: London is on UTC
    in_new_york = read("ge_b40_manual.hl7", ZoneInfo("America/New_York"))
    assert in_london.sent_at == datetime(2013, 1, 22, 13, 41, tzinfo=UTC)
    assert in_new_york.sent_at == datetime(2013, 1, 22, 18, 41, tzinfo=UTC)
    # no OBX-14 in this message: every vital takes OBR-7
    assert {o.taken_at for o in in_new_york.observations} == {in_new_york.sent_at}


def test_ge_b40_capture_prefers_the_ecg_heart_rate_over_the_spo2_pulse() -> None:
    report = read("ge_b40_capture.hl7")
    assert vitals(report) == {"heart_rate": 68, "spo2": 97}
    heart = next(o for o in report.observations if o.vital == "heart_rate")
    assert (heart.mdc_code, heart.mdc_name, heart.unit) == (
        147842,
        "MDC_ECG_HEART_RATE",
        "MDC_DIM_BEAT_PER_MIN",
    )
    assert heart.segment == 7  # the 7th segment of the message (MSH is 1)
    assert report.skipped == {Skip.DEVICE_ROW: 4, Skip.UNKNOWN_CODE: 2, Skip.SUPERSEDED: 1}
    assert report.bed == "X^^443EC"


def test_ge_b40_capture_keeps_its_utf8_patient_name_readable() -> None:
    text = decode((SAMPLES / "ge_b40_capture.hl7").read_bytes())
    assert "КОКОНОВА^ТАМАРА" in text


def test_linkwatch_cuff_gateway_without_pid_gives_bp_and_the_cuff_pulse() -> None:
    report = read("linkwatch_bp.hl7")
    assert vitals(report) == {"systolic": 125, "diastolic": 80, "heart_rate": 66}
    pulse = next(o for o in report.observations if o.vital == "heart_rate")
    assert pulse.mdc_code == 149546  # no ECG in the message: the cuff's pulse stands in
    assert {o.taken_at for o in report.observations} == {datetime(2017, 5, 3, 10, tzinfo=UTC)}
    assert report.device == "5C313EFFFE020E12"  # only on the device row, namespace "EUI64"
    assert report.device_label == "LinkWatchAndroid"
    assert report.sender == "LinkWatchAndroid"  # MSH-4 empty
    assert report.bed is None
    assert report.skipped == {Skip.DEVICE_ROW: 1}


def test_philips_efficia_hl7_2_4_export_is_refused_with_ar() -> None:
    text = decode((SAMPLES / "philips_efficia_v24.hl7").read_bytes())
    with pytest.raises(Rejected) as caught:
        parse(text, zone=LONDON)
    assert caught.value.code == "AR"
    assert caught.value.control_id == "MONITORABC000000002D"
    [problem] = caught.value.problems
    assert (problem.segment, problem.field, problem.code) == ("MSH", 12, 203)
    reply = ack(text, caught.value.code, caught.value.problems, control_id=caught.value.control_id)
    assert "\rMSA|AR|MONITORABC000000002D\r" in reply
    assert "\rERR||MSH^1^12|203^Unsupported version id^HL70357|E|" in reply


def test_xh80x_demo_message_in_hl7_2_4_is_ar_and_its_no_value_markers_are_counted() -> None:
    text = decode((SAMPLES / "xh80x_demo_v24.hl7").read_bytes())
    with pytest.raises(Rejected) as caught:
        parse(text, zone=LONDON)
    assert (caught.value.code, caught.value.problems[0].code) == ("AR", 203)
    as_26 = parse(text.replace("|P|2.4|", "|P|2.6|"), zone=LONDON)
    assert as_26.observations == ()
    # OBX-11 is empty on every row (HL7 requires it): not a result Vigil can vouch for
    assert as_26.skipped == {Skip.INVALID: 4}
    with_status = parse(
        text.replace("|P|2.4|", "|P|2.6|").replace("||||||||2021", "|||||F|||2021"), zone=LONDON
    )
    assert with_status.skipped == {Skip.NOT_NUMERIC: 4}  # -999 and -99.9: "no value"
    assert with_status.device == "00A037009B000000"  # from MSH-3: no OBX-18
    assert with_status.device_label == "XH80X"


def test_northern_monitor_capture_is_ae_for_its_384_5_degree_channel() -> None:
    text = decode((SAMPLES / "northern_monitor_capture.hl7").read_bytes())
    with pytest.raises(Rejected) as caught:
        parse(text, zone=LONDON)
    error = caught.value
    assert error.code == "AE"
    assert error.control_id == "1362"
    [problem] = error.problems
    assert (problem.segment, problem.sequence, problem.field, problem.code) == ("OBX", 4, 5, 102)
    assert "384.5 °C is not a possible temperature" in problem.text
    reply = ack(text, error.code, error.problems, control_id=error.control_id)
    assert "\rERR||OBX^4^5|102^Data type error^HL70357|E|" in reply


def test_northern_monitor_capture_without_the_bad_channel() -> None:
    text = decode((SAMPLES / "northern_monitor_capture.hl7").read_bytes())
    report = parse(text.replace("|384.5|", "|38.4|"), zone=LONDON)
    # SpO2 and pulse -100: no value; 150031 is not the cuff's code (its name says it is);
    # the mean is not kept; two temperatures at one time: the first channel.
    assert vitals(report) == {"temperature": 38.5, "diastolic": 100}
    assert report.skipped == {
        Skip.NOT_NUMERIC: 2,
        Skip.UNKNOWN_CODE: 1,
        Skip.UNUSED: 1,
        Skip.SUPERSEDED: 1,
    }
    diastolic = next(o for o in report.observations if o.vital == "diastolic")
    assert diastolic.taken_at == datetime(2025, 6, 12, 8, 33, 19, tzinfo=UTC)  # OBX-14, BST
    assert report.device is None  # neither OBX-18 nor MSH-3 names an EUI-64
    assert report.sender == "northern|patient monitor"
