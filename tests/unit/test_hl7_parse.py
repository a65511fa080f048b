"""Reading PCD-01: which rows are vitals, their units and times, the device, and what is refused
(HL7 2.6 chapters 2 and 7, IHE PCD TF Vol 2 PCD-01). Hostile input included."""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from backend.devices.report import DeviceReport, Skip
from backend.hl7.pcd01 import Problem, Rejected, decode, parse

ZONE = ZoneInfo("Europe/Paris")  # +0100 in winter, so a missing offset shows
EUI = "0012345678ABCDEF"


def msh(
    *,
    kind: str = "ORU^R01^ORU_R01",
    control: str = "MSG1",
    processing: str = "P",
    version: str = "2.6",
    sent: str = "20261207101500+0000",
    charset: str = "UNICODE UTF-8",
) -> str:
    return (
        f"MSH|^~\\&|GW^{EUI}^EUI-64|WARD|VIGIL|CLINIC|{sent}||{kind}|{control}|{processing}"
        f"|{version}|||NE|AL||{charset}|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
    )


def obx(
    code: str = "150456^MDC_PULS_OXIM_SAT_O2^MDC",
    value: str = "97",
    unit: str = "262688^MDC_DIM_PERCENT^MDC",
    *,
    kind: str = "NM",
    status: str = "R",
    flags: str = "",
    when: str = "",
    device: str = f"{EUI}^EUI-64",
    sub_id: str = "1.1.1.1",
) -> str:
    return f"OBX|1|{kind}|{code}|{sub_id}|{value}|{unit}||{flags}|||{status}|||{when}||||{device}"


def message(*rows: str, header: str | None = None, obr_time: str = "20261207101400") -> str:
    head = [
        header or msh(),
        "PID|||12345^^^H^MR",
        "PV1||I|INFUSION^2^Chair 3",
        f"OBR|1|||182777000^monitoring of patient^SCT|||{obr_time}",
    ]
    return "\r".join([*head, *rows]) + "\r"


def read(*rows: str, **kwargs: str) -> DeviceReport:
    return parse(message(*rows, **kwargs), zone=ZONE)


def refused(text: str) -> Rejected:
    with pytest.raises(Rejected) as caught:
        parse(text, zone=ZONE)
    return caught.value


def values(report: DeviceReport) -> dict[str, float]:
    return {o.vital: o.value for o in report.observations}


# --- codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "unit", "value", "vital", "expected"),
    [
        (
            "147842^MDC_ECG_HEART_RATE^MDC",
            "264864^MDC_DIM_BEAT_PER_MIN^MDC",
            "72",
            "heart_rate",
            72,
        ),
        ("149530^MDC_PULS_OXIM_PULS_RATE^MDC", "/min^/min^UCUM", "71", "heart_rate", 71),
        ("149546^MDC_PULS_RATE_NON_INV^MDC", "{beat}/min^{beat}/min^UCUM", "70", "heart_rate", 70),
        ("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "266016^MDC_DIM_MMHG^MDC", "131", "systolic", 131),
        ("150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "mm[Hg]^mm[Hg]^UCUM", "82", "diastolic", 82),
        ("150301^MDC_PRESS_CUFF_SYS^MDC", "266016^MDC_DIM_MMHG^MDC", "128", "systolic", 128),
        ("150302^MDC_PRESS_CUFF_DIA^MDC", "266016^MDC_DIM_MMHG^MDC", "79", "diastolic", 79),
        ("150456^MDC_PULS_OXIM_SAT_O2^MDC", "%^%^UCUM", "96", "spo2", 96),
        (
            "151562^MDC_RESP_RATE^MDC",
            "264928^MDC_DIM_RESP_PER_MIN^MDC",
            "14",
            "respiratory_rate",
            14,
        ),
        ("151578^MDC_TTHOR_RESP_RATE^MDC", "{breath}/min^^UCUM", "16", "respiratory_rate", 16),
        ("150344^MDC_TEMP^MDC", "268192^MDC_DIM_DEGC^MDC", "36.9", "temperature", 36.9),
        ("150364^MDC_TEMP_BODY^MDC", "Cel^Cel^UCUM", "37.25", "temperature", 37.25),
    ],
)
def test_each_vital_is_taken_by_its_mdc_code(
    code: str, unit: str, value: str, vital: str, expected: float
) -> None:
    report = read(obx(code, value, unit))
    assert values(report) == {vital: expected}
    assert report.observations[0].mdc_code == int(code.split("^")[0])
    assert report.observations[0].mdc_name == code.split("^")[1]


def test_a_code_given_by_name_only_or_as_the_alternate_triplet_is_read() -> None:
    by_name = read(obx("^MDC_PULS_OXIM_SAT_O2^MDC", "95"))
    alternate = read(obx("SPO2^SpO2^L^150456^MDC_PULS_OXIM_SAT_O2^MDC", "94"))
    assert values(by_name) == {"spo2": 95}
    assert values(alternate) == {"spo2": 94}


def test_the_mean_pressures_are_counted_as_unused() -> None:
    report = read(
        obx("150023^MDC_PRESS_BLD_NONINV_MEAN^MDC", "95", "266016^MDC_DIM_MMHG^MDC"),
        obx("150303^MDC_PRESS_CUFF_MEAN^MDC", "94", "266016^MDC_DIM_MMHG^MDC"),
    )
    assert report.observations == ()
    assert report.skipped == {Skip.UNUSED: 2}


def test_unknown_codes_and_other_coding_systems_are_counted() -> None:
    report = read(
        obx("148066^MDC_ECG_V_P_C_RATE^MDC", "2", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
        obx("0002-4bb8^SpO2^MDIL", "98", "0004-0220^%^MDIL"),
        obx("8867-4^Heart rate^LN", "70", "/min^/min^UCUM"),
    )
    assert report.skipped == {Skip.UNKNOWN_CODE: 3}


def test_a_pulse_stands_in_for_heart_rate_only_without_an_ecg_rate_at_that_time() -> None:
    report = read(
        obx("149530^MDC_PULS_OXIM_PULS_RATE^MDC", "66", "/min^^UCUM", when="20261207101000"),
        obx("147842^MDC_ECG_HEART_RATE^MDC", "64", "/min^^UCUM", when="20261207101000"),
        obx("149546^MDC_PULS_RATE_NON_INV^MDC", "69", "/min^^UCUM", when="20261207101100"),
    )
    rates = sorted((o.taken_at, o.value, o.mdc_code) for o in report.observations)
    assert rates == [
        (datetime(2026, 12, 7, 9, 10, tzinfo=UTC), 64, 147842),  # ECG wins over the pulse
        (datetime(2026, 12, 7, 9, 11, tzinfo=UTC), 69, 149546),  # alone at its time: kept
    ]
    assert report.skipped == {Skip.SUPERSEDED: 1}


# --- units ---------------------------------------------------------------------------------


def test_kpa_is_converted_to_mmhg_and_rounded() -> None:
    report = read(
        obx("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "16.0", "265987^MDC_DIM_KILO_PASCAL^MDC"),
        obx("150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "10.7", "kPa^kPa^UCUM"),
    )
    assert values(report) == {"systolic": 120, "diastolic": 80}  # 120.01 and 80.26 mmHg


def test_fahrenheit_is_converted_to_celsius() -> None:
    report = read(
        obx("150364^MDC_TEMP_BODY^MDC", "98.6", "266560^MDC_DIM_FAHR^MDC", when="202612071010"),
        obx("150364^MDC_TEMP_BODY^MDC", "100.4", "[degF]^^UCUM", when="202612071011"),
    )
    assert sorted(o.value for o in report.observations) == [37.0, 38.0]
    assert {o.unit for o in report.observations} == {"MDC_DIM_FAHR", "[degF]"}


def test_integer_vitals_are_rounded_half_up() -> None:
    assert values(read(obx(value="96.5"))) == {"spo2": 97}
    assert values(read(obx(value="96.49"))) == {"spo2": 96}


@pytest.mark.parametrize(
    "unit",
    [
        "",  # none sent
        "266016^MDC_DIM_MMHG^MDC",  # a pressure for a saturation
        "0004-0220^%^MDIL",  # another system's code
        "percent^percent^L",
    ],
)
def test_a_unit_that_cannot_be_converted_is_counted(unit: str) -> None:
    report = read(obx(unit=unit))
    assert report.observations == ()
    assert report.skipped == {Skip.UNKNOWN_UNIT: 1}


# --- statuses ------------------------------------------------------------------------------


def test_containment_rows_are_device_rows() -> None:
    report = read(
        "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
        "OBX|2||69642^MDC_DEV_ANALY_SAT_O2_VMD^MDC|1.1.0.0|||||||X",
        obx(kind="NM", value="", status="X"),  # PCD-01: X, no value
        obx(),
    )
    assert values(report) == {"spo2": 97}
    assert report.skipped == {Skip.DEVICE_ROW: 3}


@pytest.mark.parametrize(
    ("status", "skip"),
    [
        ("W", Skip.INVALID),  # post original as wrong
        ("D", Skip.INVALID),  # delete
        ("I", Skip.INVALID),  # pending
        ("N", Skip.INVALID),  # not asked
        ("", Skip.INVALID),  # required, missing: cannot tell it is a result
        ("X", Skip.INVALID),  # "cannot be obtained", yet a value came
    ],
)
def test_statuses_without_a_usable_result_are_counted(status: str, skip: Skip) -> None:
    report = read(obx(status=status))
    assert report.observations == ()
    assert report.skipped == {skip: 1}


@pytest.mark.parametrize("status", ["R", "F", "C", "P", "S"])
def test_statuses_carrying_a_measured_value_are_taken(status: str) -> None:
    assert values(read(obx(status=status))) == {"spo2": 97}


@pytest.mark.parametrize(
    ("flags", "skip"),
    [
        ("DEMO", Skip.TEST),
        ("H~TEST", Skip.TEST),
        ("INV", Skip.INVALID),
        ("QUES", Skip.INVALID),
        ("CAL", Skip.INVALID),
        ("NAV", Skip.NOT_NUMERIC),
        ("NAN", Skip.NOT_NUMERIC),
    ],
)
def test_measurement_status_in_obx_8_is_honoured(flags: str, skip: Skip) -> None:
    report = read(obx(flags=flags))
    assert report.observations == ()
    assert report.skipped == {skip: 1}


def test_alarm_flags_in_obx_8_keep_the_value() -> None:
    assert values(read(obx(value="85", flags="LL"))) == {"spo2": 85}


@pytest.mark.parametrize("processing", ["T", "D", "T^T"])
def test_training_and_debugging_messages_store_nothing(processing: str) -> None:
    report = read(
        obx(),
        obx("147842^MDC_ECG_HEART_RATE^MDC", "70", "/min^^UCUM"),
        header=msh(processing=processing),
    )
    assert report.observations == ()
    assert report.skipped == {Skip.TEST: 2}


@pytest.mark.parametrize(
    "value", ["", "abc", "9 7", "97~98", "1e2", "NaN", "inf", "-inf", "0x61", "٩٧"]
)
def test_values_that_are_not_hl7_numbers_are_counted(value: str) -> None:
    report = read(obx(value=value))
    assert report.observations == ()
    assert report.skipped == {Skip.NOT_NUMERIC: 1}


def test_a_value_type_other_than_nm_is_not_numeric() -> None:
    report = read(obx(kind="ST", value="97"))
    assert report.skipped == {Skip.NOT_NUMERIC: 1}


# --- time ----------------------------------------------------------------------------------


def test_time_comes_from_obx_14_then_obr_7_then_msh_7() -> None:
    with_obx = read(obx(when="20261207100500.25+0200"))
    with_obr = read(obx())
    with_msh = parse(
        "\r".join([msh(), "OBR|1|||182777000^monitoring of patient^SCT", obx()]), zone=ZONE
    )
    assert with_obx.observations[0].taken_at == datetime(2026, 12, 7, 8, 5, 0, 250000, tzinfo=UTC)
    assert with_obr.observations[0].taken_at == datetime(2026, 12, 7, 9, 14, tzinfo=UTC)  # Paris
    assert with_msh.observations[0].taken_at == datetime(2026, 12, 7, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("202612071005", datetime(2026, 12, 7, 9, 5, tzinfo=UTC)),
        ("20261207100507", datetime(2026, 12, 7, 9, 5, 7, tzinfo=UTC)),
        ("20261207100507.1234", datetime(2026, 12, 7, 9, 5, 7, 123400, tzinfo=UTC)),
        ("202612071005-0530", datetime(2026, 12, 7, 15, 35, tzinfo=UTC)),
        ("20260707100500", datetime(2026, 7, 7, 8, 5, tzinfo=UTC)),  # summer: +0200
    ],
)
def test_dtm_precisions_and_offsets(raw: str, expected: datetime) -> None:
    assert read(obx(when=raw)).observations[0].taken_at == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2026120710",
        "20261307100500",
        "20261207250000",
        "2026-12-07T10:05",
        "202612071005+2500",
        "20261207100500+0160",
    ],
)
def test_an_unreadable_obx_time_is_ae_on_obx_14(raw: str) -> None:
    error = refused(message(obx(when=raw)))
    assert error.code == "AE"
    [problem] = error.problems
    assert (problem.segment, problem.sequence, problem.field, problem.code) == ("OBX", 1, 14, 102)
    assert error.control_id == "MSG1"


def test_a_missing_or_bad_msh_7_is_ae() -> None:
    assert refused(message(obx(), header=msh(sent=""))).problems[0] == Problem(
        "MSH", 1, 7, 101, "MSH-7: a date and time is required"
    )
    assert refused(message(obx(), header=msh(sent="yesterday"))).problems[0].field == 7


# --- device and bed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "expected", "label"),
    [
        ("0012345678abcdef^EUI-64", EUI, None),
        ("080019FFFE0B4020^B40_GE", "080019FFFE0B4020", "B40_GE"),
        ("^^00-12-34-56-78-AB-CD-EF^EUI-64", EUI, None),
        ("not-an-eui^X~0012345678ABCDEF^EUI-64", EUI, None),
    ],
)
def test_the_device_comes_from_obx_18(device: str, expected: str, label: str | None) -> None:
    report = read(obx(device=device), header=msh().replace(f"GW^{EUI}^EUI-64", "GW"))
    assert report.device == expected
    assert report.device_label == (label or "GW")


def test_without_obx_18_the_device_comes_from_msh_3() -> None:
    report = read(obx(device=""))
    assert report.device == EUI
    assert report.device_label == "GW"
    nothing = read(obx(device=""), header=msh().replace(f"GW^{EUI}^EUI-64", "GW"))
    assert nothing.device is None


def test_bed_is_pv1_3_as_sent_unescaped() -> None:
    report = parse(
        message(obx()).replace("INFUSION^2^Chair 3", "INF\\T\\A^^Chair \\S\\3"), zone=ZONE
    )
    assert report.bed == "INF&A^^Chair ^3"


def test_sender_is_msh_3_and_msh_4() -> None:
    assert read(obx()).sender == f"GW^{EUI}^EUI-64|WARD"


# --- rejections ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code"),
    [("ADT^A01", 200), ("ORU^R30^ORU_R30", 200), ("ORU^R02", 201), ("ACK", 200), ("", 200)],
)
def test_other_message_types_are_ar(kind: str, code: int) -> None:
    error = refused(message(obx(), header=msh(kind=kind)))
    assert error.code == "AR"
    assert [(p.segment, p.field, p.code) for p in error.problems] == [("MSH", 9, code)]


@pytest.mark.parametrize("kind", ["ORU^R01", "ORU^R01^ORU_R01", "oru^r01"])
def test_oru_r01_with_or_without_its_structure_is_taken(kind: str) -> None:
    assert values(read(obx(), header=msh(kind=kind))) == {"spo2": 97}


@pytest.mark.parametrize("version", ["2.5", "2.5.1", "2.6"])
def test_supported_versions(version: str) -> None:
    assert read(obx(), header=msh(version=version)).version == version


@pytest.mark.parametrize("version", ["2.3", "2.4", "2.7", "2.8", "", "2.6.1"])
def test_other_versions_are_ar_203(version: str) -> None:
    error = refused(message(obx(), header=msh(version=version)))
    assert (error.code, error.problems[0].code, error.problems[0].field) == ("AR", 203, 12)


def test_a_version_with_its_internationalization_code_is_still_that_version() -> None:
    assert read(obx(), header=msh(version="2.6^DEU")).version == "2.6"


def test_an_unknown_processing_id_is_ar_202() -> None:
    error = refused(message(obx(), header=msh(processing="Q")))
    assert (error.code, error.problems[0].code, error.problems[0].field) == ("AR", 202, 11)


def test_a_missing_control_id_is_ae_101_on_msh_10() -> None:
    error = refused(message(obx(), header=msh(control="")))
    assert error.code == "AE"
    assert error.control_id is None
    assert Problem("MSH", 1, 10, 101, "MSH-10: message control id is required") in error.problems


def test_an_impossible_value_is_ae_on_that_obx_field_5() -> None:
    error = refused(message(obx(), obx(value="101"), obx(value="100.5", when="202612071009")))
    assert error.code == "AE"
    assert [(p.segment, p.sequence, p.field, p.code) for p in error.problems] == [
        ("OBX", 2, 5, 102),
        ("OBX", 3, 5, 102),
    ]
    assert "101 % is not a possible spo2" in error.problems[0].text


@pytest.mark.parametrize("value", ["-1", "-100", "-999", "-99.9", "-0.5"])
def test_negative_no_value_markers_are_counted_not_refused(value: str) -> None:
    report = read(obx(value=value), obx("147842^MDC_ECG_HEART_RATE^MDC", "70", "/min^^UCUM"))
    assert values(report) == {"heart_rate": 70}  # one probe off does not cost the rest
    assert report.skipped == {Skip.NOT_NUMERIC: 1}


def test_zero_is_a_value_not_a_marker() -> None:
    assert values(read(obx(value="-0"))) == {"spo2": 0}


def test_an_impossible_converted_value_is_ae() -> None:
    error = refused(message(obx("150364^MDC_TEMP_BODY^MDC", "212", "[degF]^^UCUM")))
    assert "100 °C is not a possible temperature" in error.problems[0].text


def test_diastolic_not_below_systolic_is_ae_on_the_diastolic() -> None:
    error = refused(
        message(
            obx("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "80", "mm[Hg]^^UCUM"),
            obx("150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "120", "mm[Hg]^^UCUM"),
        )
    )
    [problem] = error.problems
    assert (problem.segment, problem.sequence, problem.field) == ("OBX", 2, 5)
    assert "were the two swapped" in problem.text


def test_a_message_without_obx_is_ae_but_one_with_only_skipped_rows_is_taken() -> None:
    error = refused(message())
    assert (error.code, error.problems[0].code) == ("AE", 100)
    report = read("OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X")
    assert report.observations == ()
    assert report.skipped == {Skip.DEVICE_ROW: 1}


def test_obx_before_any_obr_is_a_segment_sequence_error() -> None:
    error = refused("\r".join([msh(), obx()]))
    assert [(p.segment, p.code) for p in error.problems][:1] == [("OBX", 100)]


# --- hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "1" + "0" * 400, "9" * 5000 + ".5", "-" + "9" * 400]
)
def test_huge_numbers_are_refused_not_stored(value: str) -> None:
    text = message(obx(value=value))
    try:
        report = parse(text, zone=ZONE)
    except Rejected as error:
        assert error.code == "AE"
        assert error.problems[0].field == 5
        assert len(error.problems[0].text) < 200  # the ACK does not echo 5,000 digits
    else:
        assert report.observations == ()


def test_nul_bytes_are_refused_by_decode_and_by_parse() -> None:
    text = message(obx(value="9\x007"))
    with pytest.raises(Rejected) as from_bytes:
        decode(text.encode())
    with pytest.raises(Rejected) as from_text:
        parse(text, zone=ZONE)
    for error in (from_bytes.value, from_text.value):
        assert error.code == "AE"
        assert error.control_id == "MSG1"
        assert (error.problems[0].segment, error.problems[0].field) == ("OBX", 5)


def test_lone_surrogates_are_refused() -> None:
    encoded = message(obx()).encode().replace(b"WARD", b"W\xed\xa0\x80D")  # UTF-8 of U+D800
    with pytest.raises(Rejected) as from_bytes:
        decode(encoded)
    assert from_bytes.value.problems[0].field == 4
    with pytest.raises(Rejected):
        parse(message(obx()).replace("WARD", "W\ud800D"), zone=ZONE)


def test_invalid_utf8_is_refused_with_its_place() -> None:
    encoded = message(obx()).encode().replace(b"Chair 3", b"Chair \xff")
    with pytest.raises(Rejected) as caught:
        decode(encoded)
    assert (caught.value.problems[0].segment, caught.value.problems[0].field) == ("PV1", 3)


def test_latin_1_is_honoured_when_msh_18_says_so() -> None:
    text = message(obx(), header=msh(charset="8859/1")).replace("Chair 3", "Fauteuil n°3 é")
    report = parse(decode(text.encode("latin-1")), zone=ZONE)
    assert report.bed == "INFUSION^2^Fauteuil n°3 é"


def test_a_non_ascii_byte_in_an_ascii_message_is_refused() -> None:
    encoded = (
        message(obx(), header=msh(charset="ASCII")).encode("latin-1").replace(b"WARD", b"W\xe9")
    )
    with pytest.raises(Rejected) as caught:
        decode(encoded)
    assert caught.value.code == "AE"


def test_an_unknown_character_set_is_ae_103_on_msh_18() -> None:
    with pytest.raises(Rejected) as caught:
        decode(message(obx(), header=msh(charset="ISO IR87")).encode())
    assert (caught.value.problems[0].field, caught.value.problems[0].code) == (18, 103)


def test_escape_sequences_are_read_not_split_on() -> None:
    report = read(obx(device="\\X30\\012345678ABCDEF^EUI-64"))
    assert report.device == EUI
    text = message(obx()).replace("INFUSION^2^Chair 3", "A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\\\H\\x\\N\\")
    assert parse(text, zone=ZONE).bed == "A|B^C&D~E\\x"
    unterminated = message(obx()).replace("INFUSION^2^Chair 3", "Chair \\F")
    assert parse(unterminated, zone=ZONE).bed == "Chair \\F"


def test_other_separators_declared_in_msh_are_honoured() -> None:
    text = message(obx()).replace("|", "#").replace("^", "@").replace("~", "%").replace("&", "*")
    assert text.startswith("MSH#@%\\*#")
    assert values(parse(text, zone=ZONE)) == {"spo2": 97}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage\x0b\x1c",
        "MSH",
        "MSH|^~\\&",
        "MSH||||||",  # no encoding characters
        "MSH|^^\\&|A",  # repeated separator
        "MSH|^~\\&|A|B|C|D|20261207||ORU^R01|1|P|2.6\rnot a segment",
        "PID|1\rMSH|^~\\&|A",
        "\x0bMSH|^~\\&|A|B\x1c\r",
    ],
)
def test_garbage_is_ae_with_a_problem_never_an_exception(text: str) -> None:
    error = refused(text)
    assert error.code == "AE"
    assert error.problems


def test_two_messages_in_one_text_are_refused() -> None:
    error = refused(message(obx()) + message(obx()))
    assert error.problems[0].code == 100


def test_missing_pid_pv1_and_obr_time_are_allowed() -> None:
    text = "\r".join([msh(), "OBR|1", obx()])
    report = parse(text, zone=ZONE)
    assert values(report) == {"spo2": 97}
    assert report.bed is None


def grows_linearly(work: Callable[[int], object], small: int, factor: int = 8) -> None:
    """`work` on `factor` times the input takes at most about `factor` times as long, not the
    `factor`² a quadratic reader would: measured against itself (the best of two runs of each),
    so a busy machine slows both sides alike instead of failing an absolute time limit."""

    def best(size: int) -> float:
        times = []
        for _ in range(2):
            started = time.perf_counter()
            work(size)
            times.append(time.perf_counter() - started)
        return min(times)

    little, big = best(small), best(small * factor)
    # Under 50 ms for the large input is bounded whatever the ratio (fixed costs dominate).
    assert big < 0.05 or big < 3 * factor * little, (little, big)


def obx_rows(count: int) -> str:
    return message(
        *(
            obx(
                value=str(90 + i % 10),
                unit="%^^UCUM",
                device="",
                when=f"2026120710{i // 600 % 60:02d}{i // 10 % 60:02d}",
            )
            for i in range(count)
        )
    )


def test_ten_thousand_obx_rows_are_read_in_linear_time() -> None:
    text = obx_rows(10_000)
    assert len(text) < 1024 * 1024  # what the listener lets through
    report = parse(text, zone=ZONE)
    assert len(report.observations) == 1000  # one per distinct time; the repeats superseded
    assert report.skipped == {Skip.SUPERSEDED: 9000}
    grows_linearly(lambda n: parse(obx_rows(n), zone=ZONE), 1250)


def read_or_refuse(text: str) -> None:
    try:
        parse(text, zone=ZONE)
    except Rejected as error:
        assert error.problems


@pytest.mark.parametrize("filler", ["^", "~", "&", "\\", "|", "\r", "OBX|"])
def test_a_mebibyte_of_delimiters_is_bounded_work(filler: str) -> None:
    def delimiters(size: int) -> str:
        return message(obx()) + "NTE|1|" + filler * (size // len(filler))

    read_or_refuse(delimiters(1024 * 1024))
    grows_linearly(lambda n: read_or_refuse(delimiters(n)), 128 * 1024)


def test_a_huge_field_is_bounded_work() -> None:
    def field(size: int) -> str:
        return message(obx(code="150456" + "^" * size + "MDC"))

    report = parse(field(1_000_000), zone=ZONE)
    assert report.skipped == {Skip.UNKNOWN_CODE: 1}
    grows_linearly(lambda n: parse(field(n), zone=ZONE), 125_000)


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("8859/1~UNICODE UTF-8", "latin-1"), ("UNICODE", "utf-8"), ("", "utf-8")],
)
def test_msh_18_first_repetition_names_the_character_set(charset: str, encoding: str) -> None:
    text = message(obx(), header=msh(charset=charset)).replace("Chair 3", "Sessel ä")
    assert parse(decode(text.encode(encoding)), zone=ZONE).bed == "INFUSION^2^Sessel ä"


def test_line_feeds_between_segments_are_taken() -> None:
    assert values(parse(message(obx()).replace("\r", "\r\n"), zone=ZONE)) == {"spo2": 97}
    assert values(parse(message(obx()).replace("\r", "\n"), zone=ZONE)) == {"spo2": 97}


@pytest.mark.parametrize("value", ["9\\F\\7", "\\E\\97", "97\\.br\\", "\\X3937\\", "9\\S\\7"])
def test_escape_sequences_in_a_value_make_it_not_a_number(value: str) -> None:
    report = read(obx(value=value))
    assert report.observations == ()
    assert report.skipped == {Skip.NOT_NUMERIC: 1}


def test_each_obx_takes_the_time_of_its_own_obr() -> None:
    text = "\r".join(
        [
            msh(),
            "OBR|1|||182777000^monitoring of patient^SCT|||20261207100000+0000",
            obx(value="95"),
            "OBR|2|||182777000^monitoring of patient^SCT|||20261207100100+0000",
            obx(value="96"),
        ]
    )
    report = parse(text, zone=ZONE)
    assert [(o.taken_at.minute, o.value) for o in report.observations] == [(0, 95), (1, 96)]


def test_a_byte_order_mark_and_blank_lines_before_msh_are_tolerated() -> None:
    data = b"\xef\xbb\xbf\r\n" + message(obx()).encode()
    assert values(parse(decode(data), zone=ZONE)) == {"spo2": 97}
