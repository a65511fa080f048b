"""The vitals Vigil knows, their units and plausibility ranges (clinical.md section 3).

Pure data and functions: the schemas validate against it, the API publishes it to the entry form,
so the browser and the server can never disagree about what is possible.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class VitalSpec:
    name: str
    label: str
    unit: str
    lowest: float  # anything below is impossible and rejected
    highest: float  # anything above is impossible and rejected
    confirm_low: float | None  # below this, a person must confirm before it is sent
    confirm_high: float | None
    integer: bool


VITALS: dict[str, VitalSpec] = {
    spec.name: spec
    for spec in (
        VitalSpec("heart_rate", "Heart rate", "/min", 0, 350, 30, 220, True),
        VitalSpec("systolic", "Systolic BP", "mmHg", 0, 350, 60, 260, True),
        VitalSpec("diastolic", "Diastolic BP", "mmHg", 0, 300, 30, 160, True),
        VitalSpec("spo2", "SpO2", "%", 0, 100, 70, None, True),
        VitalSpec("respiratory_rate", "Respiratory rate", "/min", 0, 100, 6, 40, True),
        VitalSpec("temperature", "Temperature", "°C", 25, 45, 34, 41, False),
    )
}

CONSCIOUSNESS_LEVELS: dict[str, str] = {
    "A": "Alert",
    "C": "New confusion",
    "V": "Responds to voice",
    "P": "Responds to pain",
    "U": "Unresponsive",
}

# MOAA/S (clinical.md section 9): the sedation scale of the ketamine and esketamine trials.
SEDATION_LEVELS: dict[int, str] = {
    5: "Responds readily to name",
    4: "Lethargic response to name",
    3: "Responds only to loud or repeated name",
    2: "Responds only after mild prodding",
    1: "Does not respond to mild prodding",
    0: "No response to pain",
}

# Everything a reading can carry: the measured vitals, then the observations a person makes.
VITAL_FIELDS: tuple[str, ...] = (*VITALS, "consciousness", "sedation", "on_oxygen")


def _fmt(value: float) -> str:
    return f"{value:g}"


def type_error(value: object) -> str | None:
    """Why `value` as sent is not a number at all, or None. JSON true and the string "84" are
    refused rather than read as 1 and 84: a device that sends them is misconfigured, and
    guessing what it meant could put a wrong value on a chart."""
    if isinstance(value, bool):
        return f"must be a number, not {str(value).lower()}"
    if isinstance(value, str):
        return "must be a number, not text in quotes"
    return None


def range_error(name: str, value: float) -> str | None:
    """Why `value` is impossible for vital `name`, or None if it is possible."""
    spec = VITALS[name]
    if spec.lowest <= value <= spec.highest:
        return None
    return (
        f"{_fmt(value)} {spec.unit} is not a possible {spec.label.lower()}: "
        f"allowed range is {_fmt(spec.lowest)}–{_fmt(spec.highest)} {spec.unit}"
    )


def blood_pressure_error(systolic: float | None, diastolic: float | None) -> str | None:
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        return (
            f"diastolic ({_fmt(diastolic)} mmHg) must be below systolic ({_fmt(systolic)} mmHg); "
            "were the two swapped?"
        )
    return None


def confirmation_reason(name: str, value: float) -> str | None:
    """Why a possible but unusual value should be confirmed by the person entering it."""
    spec = VITALS[name]
    if spec.confirm_low is not None and value < spec.confirm_low:
        return f"{spec.label} {_fmt(value)} {spec.unit} is unusually low"
    if spec.confirm_high is not None and value > spec.confirm_high:
        return f"{spec.label} {_fmt(value)} {spec.unit} is unusually high"
    return None
