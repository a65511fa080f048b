"""Scenario files: every packaged one loads; a bad one says where it is wrong."""

import typing
from pathlib import Path

import pytest
from pydantic import ValidationError

from simulators.events import EVENT_KINDS, Event, Steer, parse_event
from simulators.regimen import EsketamineNasal, KetamineInfusion
from simulators.scenario import (
    SCENARIO_DIR,
    ScenarioError,
    list_scenarios,
    load_packaged,
    load_scenario,
    parse_scenario,
)

MINIMAL = """\
title = "Test"

[regimen]
drug = "ketamine"
"""

REQUIRED_SCENARIOS = {
    "routine_infusion",
    "hypertensive_surge",
    "tachycardia",
    "desaturation",
    "vasovagal",
    "sensor_off",
    "cuff_failure",
    "esketamine_nasal",
}


def _error(text: str, name: str = "test.toml") -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, name)
    return caught.value


def test_the_required_scenarios_ship() -> None:
    assert set(list_scenarios()) >= REQUIRED_SCENARIOS


@pytest.mark.parametrize("name", list_scenarios())
def test_every_packaged_scenario_loads(name: str) -> None:
    scenario = load_packaged(name)
    assert scenario.title
    assert scenario.description.strip()
    assert scenario.end_s > scenario.dosing_end_s > scenario.dosing_start_s


def test_a_minimal_scenario_gets_the_defaults() -> None:
    scenario = parse_scenario(MINIMAL, "test.toml")
    assert scenario.regimen == KetamineInfusion(dose_mg_per_kg=0.5, duration_min=40)
    assert (scenario.dosing_start_s, scenario.dosing_end_s, scenario.end_s) == (600, 3000, 6600)
    assert scenario.devices.cuff_interval_min == 5 and scenario.devices.oximeter
    assert scenario.events == ()


def test_esketamine_dosing_lasts_until_the_rest_after_the_last_device() -> None:
    scenario = load_packaged("esketamine_nasal")
    assert scenario.regimen == EsketamineNasal(dose_mg=56)  # the starting dose
    assert scenario.dosing_end_s - scenario.dosing_start_s == 10 * 60  # two devices


def test_events_are_written_flat_with_their_time() -> None:
    scenario = parse_scenario(
        MINIMAL
        + """
[[events]]
at_s = 90
kind = "steer"
vital = "spo2"
target = 88
""",
        "test.toml",
    )
    (scheduled,) = scenario.events
    assert scheduled.seconds == 90
    assert scheduled.event == Steer(vital="spo2", target=88)


def test_toml_syntax_error_names_the_line() -> None:
    error = _error('title = "Test"\n\n[regimen]\ndrug = ketamine\n', "bad.toml")
    assert error.line == 4
    assert str(error).startswith("bad.toml: line 4: invalid TOML")


def test_unknown_field_names_its_path() -> None:
    error = _error(MINIMAL + "\n[devices]\ncuff_interval = 5\n")
    assert "devices.cuff_interval: Extra inputs are not permitted" in str(error)


def test_unknown_field_in_an_event_names_the_event() -> None:
    text = MINIMAL + '\n[[events]]\nat_min = 1\nkind = "sensor_on"\n[[events]]\nat_min = 2\n'
    error = _error(text + 'kind = "tachycardia"\nheart_rate_rise = 40\ncolour = "red"\n')
    assert "events[1].colour: Extra inputs are not permitted" in str(error)


def test_wrong_type_names_the_field_and_what_was_found() -> None:
    error = _error(MINIMAL + '\n[timeline]\nbaseline_min = "ten"\n')
    assert "timeline.baseline_min: Input should be a valid number (found 'ten')" in str(error)


def test_negative_time_names_the_field() -> None:
    error = _error(MINIMAL + '\n[[events]]\nat_min = -5\nkind = "cuff_measure_now"\n')
    assert "events[0].at_min: Input should be greater than or equal to 0" in str(error)


def test_event_after_the_session_ends_is_refused() -> None:
    error = _error(MINIMAL + '\n[[events]]\nat_min = 500\nkind = "cuff_measure_now"\n')
    assert "events[0].at_min: 500 min is after the session ends (110 min)" in str(error)


def test_an_event_needs_exactly_one_time() -> None:
    both = _error(MINIMAL + '\n[[events]]\nat_min = 5\nat_s = 5\nkind = "sensor_on"\n')
    neither = _error(MINIMAL + '\n[[events]]\nkind = "sensor_on"\n')
    for error in (both, neither):
        assert "events[0]: Value error, give exactly one of at_min or at_s" in str(error)


def test_unknown_event_kind_and_drug_name_the_discriminator() -> None:
    error = _error(MINIMAL + '\n[[events]]\nat_min = 5\nkind = "earthquake"\n')
    assert "events[0].kind: Input tag 'earthquake'" in str(error)
    error = _error('title = "T"\n[regimen]\ndrug = "propofol"\n')
    assert "regimen.drug: Input tag 'propofol'" in str(error)


def test_out_of_range_settings_are_refused() -> None:
    assert "regimen.dose_mg: Input should be 28, 56 or 84" in str(
        _error('title = "T"\n[regimen]\ndrug = "esketamine"\ndose_mg = 70\n')
    )
    assert "patient.systolic: Input should be less than or equal to 220" in str(
        _error(MINIMAL + "\n[patient]\nsystolic = 400\n")
    )
    assert "devices.cuff_interval_min" in str(
        _error(MINIMAL + "\n[devices]\ncuff_interval_min = 0.5\n")
    )


def test_missing_regimen_is_reported() -> None:
    assert "regimen: Field required" in str(_error('title = "T"\n'))


def test_several_problems_are_reported_together() -> None:
    error = _error(MINIMAL + "\n[timeline]\nbaseline_min = -1\nrecovery_min = -1\n")
    assert len(error.problems) == 2


def test_load_scenario_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(MINIMAL + "\n[devices]\nbogus = 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^broken\.toml: devices\.bogus"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")


def test_unknown_packaged_name_lists_what_exists() -> None:
    with pytest.raises(ScenarioError, match=r"available: .*routine_infusion"):
        load_packaged("nope")


def test_scenario_error_is_a_value_error() -> None:
    assert issubclass(ScenarioError, ValueError)


def test_event_kinds_list_every_event_model() -> None:
    union = typing.get_args(typing.get_args(Event)[0])
    assert tuple(model.model_fields["kind"].default for model in union) == EVENT_KINDS


def test_the_format_readme_documents_every_event_kind() -> None:
    readme = (SCENARIO_DIR / "README.md").read_text(encoding="utf-8")
    assert all(f"`{kind}`" in readme for kind in EVENT_KINDS)


def test_parse_event_accepts_console_requests_and_refuses_bad_ones() -> None:
    assert parse_event({"kind": "steer", "vital": "systolic", "target": 185}) == Steer(
        vital="systolic", target=185
    )
    with pytest.raises(ValidationError):
        parse_event({"kind": "steer", "vital": "systolic", "target": 900})
    with pytest.raises(ValidationError):
        parse_event({"kind": "vasovagal", "systolic": 60, "diastolic": 58})
    with pytest.raises(ValidationError):
        parse_event({"kind": "hypertensive_surge", "onset_s": -1})


def test_a_scripted_gate_override_names_who_decides_and_why() -> None:
    scripted = parse_scenario(
        MINIMAL + '[timeline]\ngate_override = { by = "Dr A. Example", reason = "reviewed" }\n',
        "t.toml",
    )
    assert scripted.timeline.gate_override is not None
    assert (scripted.timeline.gate_override.by, scripted.timeline.gate_override.reason) == (
        "Dr A. Example",
        "reviewed",
    )
    assert parse_scenario(MINIMAL, "t.toml").timeline.gate_override is None  # none by default
    for given, field in (
        ('{ by = "Dr A. Example" }', "timeline.gate_override.reason"),
        ('{ by = "  ", reason = "reviewed" }', "timeline.gate_override.by"),
        ("true", "timeline.gate_override"),  # the old automatic override is not a decision
    ):
        error = _error(MINIMAL + f"[timeline]\ngate_override = {given}\n")
        assert error.problems[0].startswith(f"{field}: "), error.problems
