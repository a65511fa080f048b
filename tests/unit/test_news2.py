"""NEWS2 scoring against the RCP chart (clinical.md section 6), parameter by parameter."""

from datetime import UTC, datetime, timedelta

import pytest

from backend.scores import news2
from backend.scores.news2 import Band, Observation, score

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
MAX_AGE = timedelta(minutes=30)


@pytest.mark.parametrize(
    ("rate", "points"),
    [(8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (0, 3)],
)
def test_respiration(rate: int, points: int) -> None:
    assert news2.respiration_points(rate) == points


@pytest.mark.parametrize(
    ("spo2", "points"), [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)]
)
def test_spo2_scale_1(spo2: int, points: int) -> None:
    assert news2.spo2_scale1_points(spo2) == points


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "points"),
    [
        (83, False, 3),
        (84, False, 2),
        (86, False, 1),
        (88, False, 0),
        (92, True, 0),
        (95, False, 0),  # on air, 93 and above score nothing on scale 2
        (93, True, 1),
        (95, True, 2),
        (97, True, 3),
    ],
)
def test_spo2_scale_2(spo2: int, on_oxygen: bool, points: int) -> None:
    assert news2.spo2_scale2_points(spo2, on_oxygen) == points


@pytest.mark.parametrize(
    ("systolic", "points"),
    [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)],
)
def test_systolic(systolic: int, points: int) -> None:
    assert news2.systolic_points(systolic) == points


@pytest.mark.parametrize(
    ("pulse", "points"),
    [(40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3)],
)
def test_pulse(pulse: int, points: int) -> None:
    assert news2.pulse_points(pulse) == points


@pytest.mark.parametrize(
    ("celsius", "points"),
    [(35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1), (39.1, 2)],
)
def test_temperature(celsius: float, points: int) -> None:
    assert news2.temperature_points(celsius) == points


@pytest.mark.parametrize(("level", "points"), [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)])
def test_consciousness(level: str, points: int) -> None:
    assert news2.consciousness_points(level) == points


def test_oxygen_scores_two() -> None:
    assert news2.oxygen_points(True) == 2
    assert news2.oxygen_points(False) == 0


def _set(**values: float | str | bool) -> dict[str, Observation]:
    normal: dict[str, float | str | bool] = {
        "respiratory_rate": 16,
        "spo2": 97,
        "on_oxygen": False,
        "systolic": 120,
        "heart_rate": 72,
        "consciousness": "A",
        "temperature": 36.8,
    }
    normal.update(values)
    return {name: Observation(value, NOW - timedelta(minutes=5)) for name, value in normal.items()}


def test_a_normal_complete_set_scores_zero_low() -> None:
    result = score(_set(), NOW, max_age=MAX_AGE)
    assert (result.total, result.band, result.missing) == (0, Band.LOW, ())
    assert {p.parameter: p.points for p in result.parts} == dict.fromkeys(news2.PARAMETERS, 0)


def test_a_single_three_with_a_low_total_is_low_medium() -> None:
    result = score(_set(consciousness="V"), NOW, max_age=MAX_AGE)
    assert (result.total, result.band) == (3, Band.LOW_MEDIUM)


@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ({"heart_rate": 115, "respiratory_rate": 22, "spo2": 95}, 5, Band.MEDIUM),  # 2+2+1
        ({"heart_rate": 135, "respiratory_rate": 26, "on_oxygen": True}, 8, Band.HIGH),  # 3+3+2
        ({"systolic": 105, "temperature": 38.5}, 2, Band.LOW),
    ],
)
def test_totals_and_bands(values: dict[str, float | bool], total: int, band: Band) -> None:
    result = score(_set(**values), NOW, max_age=MAX_AGE)
    assert (result.total, result.band) == (total, band)


def test_missing_and_stale_parameters_leave_no_total_and_say_why() -> None:
    observations = _set()
    del observations["temperature"]
    observations["respiratory_rate"] = Observation(16, NOW - timedelta(minutes=45))
    result = score(observations, NOW, max_age=MAX_AGE)
    assert result.total is None and result.band is None
    assert {(m.parameter, m.reason) for m in result.missing} == {
        ("temperature", "not recorded"),
        ("respiratory_rate", "older than 30 min"),
    }
    # What could be scored is still shown, part by part.
    assert {p.parameter for p in result.parts} == set(news2.PARAMETERS) - {
        "temperature",
        "respiratory_rate",
    }


def test_scale_2_needs_air_or_oxygen_to_score_spo2() -> None:
    observations = _set(spo2=95)
    del observations["on_oxygen"]
    result = score(observations, NOW, max_age=MAX_AGE, scale=2)
    assert "spo2" not in {p.parameter for p in result.parts}
    complete = score(_set(spo2=95, on_oxygen=True), NOW, max_age=MAX_AGE, scale=2)
    assert complete.total == 4  # SpO2 95 on oxygen: 2, oxygen: 2


def test_an_unknown_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        score(_set(), NOW, max_age=MAX_AGE, scale=3)
