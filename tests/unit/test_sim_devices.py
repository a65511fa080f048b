"""Device realism (clinical.md section 3): rates, noise, failures and Vigil's value ranges."""

import random
import statistics

import pytest

from simulators.devices import (
    CUFF,
    OXIMETER,
    BloodPressureCuff,
    Capnograph,
    PulseOximeter,
    Thermometer,
)
from simulators.outputs import SimNotice, SimOutput, SimReading
from simulators.physiology import Vitals

STEADY = Vitals(
    heart_rate=72.0,
    systolic=124.0,
    diastolic=78.0,
    spo2=97.0,
    respiratory_rate=14.0,
    temperature=36.8,
)


def _vitals(**changes: float) -> Vitals:
    return Vitals(**{**STEADY.as_dict(), **changes})


def _run(
    device: PulseOximeter | BloodPressureCuff | Capnograph | Thermometer,
    seconds: range,
    vitals: Vitals = STEADY,
) -> list[SimOutput]:
    outputs: list[SimOutput] = []
    for t in seconds:
        outputs += device.tick(float(t), vitals)
    return outputs


def _readings(outputs: list[SimOutput]) -> list[SimReading]:
    return [o for o in outputs if isinstance(o, SimReading)]


def _notices(outputs: list[SimOutput]) -> list[SimNotice]:
    return [o for o in outputs if isinstance(o, SimNotice)]


def test_oximeter_reports_every_second_once_it_has_found_the_pulse() -> None:
    readings = _readings(_run(PulseOximeter(random.Random(1), False), range(0, 600)))
    first = readings[0].at_s
    assert 5 <= first <= 9
    assert [r.at_s for r in readings] == [float(t) for t in range(int(first), 600)]
    assert all(set(r.values) == {"heart_rate", "spo2"} and r.device == OXIMETER for r in readings)


def test_oximeter_values_are_close_to_the_truth_and_whole_numbers() -> None:
    readings = _readings(_run(PulseOximeter(random.Random(2), False), range(0, 1800)))
    spo2 = [r.values["spo2"] for r in readings]
    pulse = [r.values["heart_rate"] for r in readings]
    assert all(isinstance(v, int) for v in spo2 + pulse)
    # ISO 80601-2-61: ±2 % SpO2 (still), pulse ±3/min.
    assert abs(statistics.fmean(spo2) - 97) < 1
    assert all(abs(v - 97) <= 2 for v in spo2)
    assert all(abs(v - 72) <= 3 for v in pulse)
    assert len(set(spo2)) > 1  # it does wander


def test_oximeter_never_shows_more_than_100_percent() -> None:
    oximeter = PulseOximeter(random.Random(3), False)
    readings = _readings(_run(oximeter, range(600), _vitals(spo2=100)))
    assert max(r.values["spo2"] for r in readings) == 100


def test_oximeter_follows_a_falling_saturation_with_a_short_lag() -> None:
    oximeter = PulseOximeter(random.Random(4), False)
    _run(oximeter, range(0, 60))
    falling = _readings(_run(oximeter, range(60, 120), _vitals(spo2=85)))
    assert falling[0].values["spo2"] >= 94  # averaging: not instantly
    assert all(abs(r.values["spo2"] - 85) <= 2 for r in falling[-30:])


def test_sensor_off_stops_readings_until_reattached() -> None:
    oximeter = PulseOximeter(random.Random(5), False)
    _run(oximeter, range(0, 30))
    off = oximeter.sensor_off(30.0, None)
    assert [n.message for n in _notices(off)] == ["SpO2 sensor off"]
    assert _readings(_run(oximeter, range(30, 300))) == []
    on = oximeter.sensor_on(300.0)
    assert "attached" in _notices(on)[0].message
    readings = _readings(_run(oximeter, range(300, 330)))
    assert readings and 305 <= readings[0].at_s <= 309


def test_sensor_off_for_a_duration_comes_back_by_itself() -> None:
    oximeter = PulseOximeter(random.Random(6), False)
    _run(oximeter, range(0, 30))
    oximeter.sensor_off(30.0, 60)
    outputs = _run(oximeter, range(30, 120))
    readings = _readings(outputs)
    assert [n.at_s for n in _notices(outputs)] == [90.0]
    assert readings and all(r.at_s >= 95 for r in readings)


def test_motion_makes_readings_drop_out_and_go_wrong() -> None:
    oximeter = PulseOximeter(random.Random(7), False)
    _run(oximeter, range(0, 30))
    oximeter.motion(30.0, 120)
    readings = _readings(_run(oximeter, range(30, 150)))
    assert 30 < len(readings) < 110  # some seconds are blank
    assert any("spo2" not in r.values for r in readings)  # some carry only a pulse
    assert any(abs(r.values["heart_rate"] - 72) > 20 for r in readings)
    assert any(r.values.get("spo2", 100) < 92 for r in readings)
    assert all(0 <= r.values["heart_rate"] <= 350 for r in readings)
    assert all(0 <= r.values.get("spo2", 0) <= 100 for r in readings)


def test_spontaneous_artefacts_are_occasional() -> None:
    outputs = _run(PulseOximeter(random.Random(8), True), range(0, 4 * 3600))
    expected = 4 * 3600 - 9
    assert 0.97 * expected < len(_readings(outputs)) < expected


def test_cuff_measures_only_on_its_cycle_and_takes_20_to_40_seconds() -> None:
    outputs = _run(BloodPressureCuff(random.Random(9), 300), range(0, 1800))
    readings = _readings(outputs)
    assert len(readings) == 6
    for cycle, reading in enumerate(readings):
        assert 20 <= reading.at_s - cycle * 300 <= 40
        assert set(reading.values) == {"systolic", "diastolic", "heart_rate"}
        assert reading.device == CUFF


def test_cuff_error_stays_within_the_iso_81060_2_limits() -> None:
    cuff = BloodPressureCuff(random.Random(10), None)
    systolic_errors, diastolic_errors = [], []
    t = 0
    for _ in range(200):
        cuff.measure_now(float(t), STEADY)
        reading = _readings(_run(cuff, range(t, t + 60)))[0]
        systolic_errors.append(reading.values["systolic"] - STEADY.systolic)
        diastolic_errors.append(reading.values["diastolic"] - STEADY.diastolic)
        t += 60
    for errors in (systolic_errors, diastolic_errors):
        assert abs(statistics.fmean(errors)) <= 5
        assert 1 < statistics.stdev(errors) <= 8


def test_manual_measurement_between_cycles() -> None:
    cuff = BloodPressureCuff(random.Random(11), None)
    assert _run(cuff, range(0, 600)) == []
    cuff.measure_now(600.0, STEADY)
    again = cuff.measure_now(601.0, STEADY)
    assert "already in progress" in _notices(again)[0].message
    readings = _readings(_run(cuff, range(600, 700)))
    assert len(readings) == 1


@pytest.mark.parametrize(
    ("pulse", "measures"), [(39, False), (40, True), (240, True), (241, False)]
)
def test_cuff_cannot_measure_with_a_pulse_below_40_or_above_240(pulse: int, measures: bool) -> None:
    cuff = BloodPressureCuff(random.Random(12), 300)
    outputs = _run(cuff, range(0, 60), _vitals(heart_rate=pulse))
    if measures:
        assert len(_readings(outputs)) == 1
    else:
        assert _readings(outputs) == []
        assert _notices(outputs)[0].message == "cuff could not measure: pulse out of range"


def test_failed_cuff_reports_each_attempt_then_recovers() -> None:
    cuff = BloodPressureCuff(random.Random(13), 300)
    cuff.fail(200.0, 1050)
    outputs = _run(cuff, range(0, 1800))
    readings = _readings(outputs)
    failures = _notices(outputs)
    assert len(failures) == 4  # the cycles at 300, 600, 900 and 1200 s
    assert all("check cuff" in n.message for n in failures)
    assert [r.at_s // 300 for r in readings] == [0, 5]


def test_cuff_cannot_measure_during_movement() -> None:
    cuff = BloodPressureCuff(random.Random(14), 300)
    cuff.motion(10.0, 5)
    outputs = _run(cuff, range(0, 60))
    assert _notices(outputs)[0].message == "cuff could not measure: patient movement"


def test_cuff_diastolic_is_always_below_systolic() -> None:
    cuff = BloodPressureCuff(random.Random(15), 60)
    readings = _readings(_run(cuff, range(0, 6000), _vitals(systolic=62, diastolic=52)))
    assert readings
    assert all(r.values["diastolic"] < r.values["systolic"] for r in readings)


def test_capnograph_reports_every_five_seconds() -> None:
    readings = _readings(_run(Capnograph(random.Random(16)), range(0, 61)))
    assert [r.at_s for r in readings] == [float(t) for t in range(5, 61, 5)]
    assert all(abs(r.values["respiratory_rate"] - 14) <= 2 for r in readings)


def test_thermometer_gives_one_decimal_on_its_interval() -> None:
    readings = _readings(_run(Thermometer(random.Random(17), 900), range(0, 3600)))
    assert [r.at_s for r in readings] == [0.0, 900.0, 1800.0, 2700.0]
    for reading in readings:
        value = reading.values["temperature"]
        assert isinstance(value, float) and round(value, 1) == value
        assert abs(value - 36.8) < 0.3
