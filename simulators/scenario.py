"""Scenario files: a TOML description of one simulated session (format: scenarios/README.md).

Files are parsed with the standard library's tomllib and validated with pydantic models that
forbid unknown fields, so a typo is an error rather than a silently ignored setting. Every
problem is raised as a ScenarioError naming the file and the line (TOML syntax) or the field
path (`events[2].at_min`) with pydantic's explanation.
"""

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from simulators.events import EVENT_KINDS, Event
from simulators.patient import LIMITS
from simulators.regimen import Regimen

SCENARIO_DIR = Path(__file__).parent / "scenarios"
_TIMING_FIELDS = ("at_min", "at_s")
_DRUGS = ("ketamine", "esketamine")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _limit(name: str) -> Any:
    low, high = LIMITS[name]
    return Field(None, ge=low, le=high)


class PatientOverrides(_Strict):
    """Fixed patient characteristics; anything left out is drawn at random from the seed."""

    age: int | None = _limit("age")
    weight_kg: float | None = _limit("weight_kg")
    heart_rate: float | None = _limit("heart_rate")
    systolic: float | None = _limit("systolic")
    diastolic: float | None = _limit("diastolic")
    spo2: float | None = _limit("spo2")
    respiratory_rate: float | None = _limit("respiratory_rate")
    temperature: float | None = _limit("temperature")
    pressor_sensitivity: float | None = _limit("pressor_sensitivity")
    heart_rate_sensitivity: float | None = _limit("heart_rate_sensitivity")
    respiratory_sensitivity: float | None = _limit("respiratory_sensitivity")
    variability: float | None = _limit("variability")
    sedation_sensitivity: float | None = _limit("sedation_sensitivity")

    def given(self) -> dict[str, float]:
        return self.model_dump(exclude_none=True)


class GateOverride(_Strict):
    """A scripted decision to start dosing although the baseline is above the pre-dose gate:
    who decides and why, as a clinician would give them. Without it the start is held to the
    gate like a nurse's."""

    by: Annotated[str, Field(min_length=1, max_length=80, pattern=r"\S")]
    reason: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]


class Timeline(_Strict):
    baseline_min: float = Field(10, ge=0, le=240, description="pre-dose baseline before dosing")
    recovery_min: float = Field(60, ge=0, le=600, description="observation after dosing ends")
    gate_override: GateOverride | None = Field(
        None, description="start dosing even if the baseline is above the pre-dose gate"
    )


class Devices(_Strict):
    cuff_interval_min: float = Field(5, ge=0, le=60, description="0: only when asked")
    oximeter: bool = True
    capnography: bool = False
    thermometer_interval_min: float = Field(0, ge=0, le=240, description="0: no thermometer")
    observation_round_min: float = Field(
        0, ge=0, le=240, description="ACVPU, MOAA/S and air/oxygen every so often; 0: none"
    )
    spontaneous_artefacts: bool = True

    @field_validator("cuff_interval_min")
    @classmethod
    def _cuff_cycle(cls, value: float) -> float:
        if 0 < value < 1:
            raise ValueError("a cuff cycle shorter than 1 minute is not possible (0 = manual)")
        return value


class ScheduledEvent(_Strict):
    """An event at a time after the session starts; written flat in the file (see README)."""

    at_min: float | None = Field(None, ge=0)
    at_s: float | None = Field(None, ge=0)
    event: Event

    @model_validator(mode="before")
    @classmethod
    def _nest_event_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        timing = {k: v for k, v in data.items() if k in _TIMING_FIELDS}
        rest = {k: v for k, v in data.items() if k not in _TIMING_FIELDS}
        return {**timing, "event": rest}

    @model_validator(mode="after")
    def _one_time(self) -> Self:
        if (self.at_min is None) == (self.at_s is None):
            raise ValueError("give exactly one of at_min or at_s")
        return self

    @property
    def seconds(self) -> float:
        return self.at_s if self.at_s is not None else 60 * (self.at_min or 0.0)


class Scenario(_Strict):
    title: Annotated[str, Field(min_length=1, max_length=120)]
    description: str = ""
    patient: PatientOverrides = PatientOverrides()
    regimen: Regimen
    timeline: Timeline = Timeline()
    devices: Devices = Devices()
    # TOML gives a list; only the container is coerced, its items stay strict.
    events: Annotated[tuple[ScheduledEvent, ...], Field(strict=False)] = ()

    # Session times in seconds; phases change on whole seconds, the simulation's grid.
    @property
    def dosing_start_s(self) -> float:
        return float(round(self.timeline.baseline_min * 60))

    @property
    def dosing_end_s(self) -> float:
        return float(round((self.timeline.baseline_min + self.regimen.dosing_min) * 60))

    @property
    def end_s(self) -> float:
        return float(
            round(
                (self.timeline.baseline_min + self.regimen.dosing_min + self.timeline.recovery_min)
                * 60
            )
        )


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and where."""

    def __init__(self, source: str, problems: list[str], line: int | None = None) -> None:
        self.source = source
        self.problems = problems
        self.line = line
        super().__init__(f"{source}: " + "; ".join(problems))


def _field_path(error: Any) -> str:
    """`events[2].at_min` from pydantic's location, without the union tags it inserts."""
    loc = error["loc"]
    parts: list[str] = []
    for i, item in enumerate(loc):
        previous = loc[i - 1] if i else None
        if item == "event" and isinstance(previous, int):
            continue  # the nesting done by ScheduledEvent, invisible in the file
        if (previous == "event" and item in EVENT_KINDS) or (
            previous == "regimen" and item in _DRUGS
        ):
            continue
        parts.append(f"[{item}]" if isinstance(item, int) else f".{item}")
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        parts.append(".drug" if loc[-1] == "regimen" else ".kind")
    return "".join(parts).lstrip(".") or "(top level)"


def _given(error: Any) -> str:
    value = error.get("input")
    if error["type"] == "missing" or isinstance(value, dict | list):
        return ""
    return f" (found {value!r})"


def parse_scenario(text: str, name: str) -> Scenario:
    """A scenario from TOML text; `name` (usually the file name) appears in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        line = int(found.group(1)) if found else text.count("\n") + 1  # "at end of document"
        raise ScenarioError(name, [f"line {line}: invalid TOML: {exc}"], line) from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_field_path(e)}: {e['msg']}{_given(e)}" for e in exc.errors()]
        raise ScenarioError(name, problems) from None
    late = [
        f"events[{i}].{'at_s' if e.at_s is not None else 'at_min'}: "
        f"{e.seconds / 60:g} min is after the session ends ({scenario.end_s / 60:g} min)"
        for i, e in enumerate(scenario.events)
        if e.seconds > scenario.end_s
    ]
    if late:
        raise ScenarioError(name, late)
    return scenario


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path.name, [f"cannot read: {exc}"]) from None
    return parse_scenario(text, path.name)


def list_scenarios() -> list[str]:
    """Names of the scenarios that ship with Vigil, for `load_packaged`."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load_packaged(name: str) -> Scenario:
    """A scenario shipped with Vigil, by name (`routine_infusion`)."""
    if name not in list_scenarios():
        raise ScenarioError(name, [f"no such scenario; available: {', '.join(list_scenarios())}"])
    return load_scenario(SCENARIO_DIR / f"{name}.toml")
