"""The session record as one self-contained HTML document: the browser's report and the PDF's
source. No scripts, no external files: it prints the same from a browser or from WeasyPrint."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from backend import __version__
from backend.patients.age import age_at
from backend.readings.vitals import CONSCIOUSNESS_LEVELS, SEDATION_LEVELS
from backend.reports.record import (
    AlarmRow,
    LimitSegment,
    SessionRecord,
    news2_at_end,
    news2_series,
    phase_at,
    table_rows,
    timeline,
)
from backend.reports.svg_charts import (
    Band,
    ChartSpec,
    Limit,
    Mark,
    Series,
    TimeAxis,
    render_chart,
    render_timeline,
)
from backend.scores.news2 import PARAMETERS

TEMPLATES = Path(__file__).parent / "templates"
SIMULATED_LABEL = "SIMULATED — NOT A PATIENT"
PHASE_NAMES = {
    "baseline": "Baseline",
    "infusing": "Infusing",
    "recovery": "Recovery",
    "discharged": "Discharged",
    "stopped": "Stopped",
}
DRUGS = {"ketamine": "Ketamine", "esketamine": "Esketamine"}
ROUTES = {"iv": "IV", "im": "IM", "intranasal": "intranasal", "sc": "SC"}
PRIORITY_SIGNS = {"high": "!!! high", "medium": "!! medium", "low": "! low"}
BAND_NAMES = {"low": "low", "low-medium": "low–medium", "medium": "medium", "high": "high"}


def document_environment(templates: Path) -> Environment:
    """Jinja for a printable document (the record, the REMS form): everything escaped, and a
    missing value an error rather than a blank on a clinical record."""
    return Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )


@cache
def _environment() -> Environment:
    env = document_environment(TEMPLATES)
    env.filters["css_string"] = css_string
    env.filters["duration"] = duration
    return env


def css_string(text: str) -> Markup:
    """`text` as a quoted CSS string, safe inside a <style> element (for the page headers)."""
    escaped = "".join(
        f"\\{ord(ch):x} " if ch in '"\\<>&\n\r' or ord(ch) < 32 else ch for ch in text
    )
    return Markup(f'"{escaped}"')  # noqa: S704 - every special character is escaped above


def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


@dataclass(frozen=True)
class ChecklistLine:
    label: str
    state: str
    detail: str | None = None


@dataclass(frozen=True)
class ChecklistView:
    status: str
    items: list[ChecklistLine]
    overrides: list[str] = field(default_factory=list)


def decider(name: object, username: object) -> str:
    """A deciding clinician as the record names them: their name, and their account."""
    if username and username != name:
        return f"{name} ({username})"
    return str(name)


_OVERRIDES = (
    ("gate_override", "Pre-dose gate overridden"),
    ("alarm_override", "Discharged with high-priority alarms open"),
)


def _overrides(checklist: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, what in _OVERRIDES:
        kept = checklist.get(key)
        if not isinstance(kept, Mapping):
            continue
        line = f"{what}: decided by {decider(kept.get('by'), kept.get('username'))}"
        if kept.get("reason"):
            line += f", because: {kept['reason']}"
        if kept.get("recorded_by"):
            line += f" (entered by {kept['recorded_by']})"
        lines.append(line)
    return lines


def _state(value: object, required: object = None, attention: object = False) -> str:
    if value is True and attention is True:
        state = "yes, flagged"
    elif value is True:
        state = "yes"
    elif value is False:
        state = "no"
    else:
        state = "nothing recorded" if value is None else str(value)
    return f"{state} (required)" if required is True and value is not True else state


def checklist_view(checklist: Mapping[str, Any] | None) -> ChecklistView | None:
    """A phase change's checklist as kept ({confirmed, by, items: [...]}), or a plain
    {item: ticked} mapping, as lines a person reads."""
    if not checklist:
        return None
    items = checklist.get("items")
    if isinstance(items, list):
        confirmed = checklist.get("confirmed")
        by = checklist.get("by")
        status = (
            f"Checklist confirmed by {by}"
            if confirmed
            else "Checklist not confirmed by a person (recorded as judged)"
        )
        lines = [
            ChecklistLine(
                str(item.get("label") or item.get("key") or "?"),
                _state(item.get("met"), item.get("required"), item.get("attention")),
                item.get("detail") or None,
            )
            for item in items
            if isinstance(item, Mapping)
        ]
        return ChecklistView(status, lines, _overrides(checklist))
    return ChecklistView(
        "Checklist", [ChecklistLine(str(key), _state(value)) for key, value in checklist.items()]
    )


@dataclass(frozen=True)
class Clock:
    """Times as the clinic reads them: in its own zone, which the report states."""

    tz: ZoneInfo

    def time(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%H:%M:%S") if moment else "—"

    def full(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"

    def zone(self, moment: datetime) -> str:
        offset = moment.astimezone(self.tz).strftime("%z")
        return f"{self.tz.key} (UTC{offset[:3]}:{offset[3:]})"


def _number(value: float) -> str:
    return f"{value:g}"


def _limit_label(segment: LimitSegment) -> str:
    return _number(segment.value)


def _limits(record: SessionRecord, *vitals: str) -> list[Limit]:
    return [
        Limit(s.start, s.end, s.value, _limit_label(s)) for s in record.limits if s.vital in vitals
    ]


def _points(record: SessionRecord, vital: str) -> list[tuple[datetime, float]]:
    return [
        (r.taken_at, float(r.values[vital]))
        for r in record.valid_readings
        if isinstance(r.values.get(vital), int | float) and not isinstance(r.values[vital], bool)
    ]


def chart_specs(record: SessionRecord) -> list[ChartSpec]:
    """Heart rate, blood pressure and SpO2 always; respiratory rate when any was recorded."""
    specs = [
        ChartSpec(
            "heart_rate",
            "Heart rate",
            "/min",
            [Series("heart_rate", "Heart rate", _points(record, "heart_rate"))],
            _limits(record, "heart_rate"),
            floor=0,
        ),
        ChartSpec(
            "blood_pressure",
            "Blood pressure",
            "mmHg",
            [
                # The charting convention: ∨ systolic, ∧ diastolic, as on the session page.
                Series("systolic", "Systolic", _points(record, "systolic"), marker="down"),
                Series(
                    "diastolic",
                    "Diastolic",
                    _points(record, "diastolic"),
                    dashed=True,
                    marker="up",
                ),
            ],
            _limits(record, "systolic", "diastolic"),
            floor=0,
        ),
        ChartSpec(
            "spo2",
            "SpO₂",
            "%",
            [Series("spo2", "SpO₂", _points(record, "spo2"))],
            _limits(record, "spo2"),
            floor=0,
            ceiling=100,
        ),
    ]
    breathing = _points(record, "respiratory_rate")
    if breathing:
        specs.append(
            ChartSpec(
                "respiratory_rate",
                "Respiratory rate",
                "/min",
                [Series("respiratory_rate", "Respiratory rate", breathing)],
                _limits(record, "respiratory_rate"),
                floor=0,
            )
        )
    return specs


def _axis(record: SessionRecord, tz: ZoneInfo) -> TimeAxis:
    times = [s.at for s in record.phases] + [r.taken_at for r in record.readings]
    start = min(times, default=record.created_at)
    return TimeAxis(start, max(record.end, *times) if times else record.end, tz)


def _bands(record: SessionRecord, axis: TimeAxis) -> list[Band]:
    bands: list[Band] = []
    steps = list(record.phases)
    shades = {"baseline": 0, "infusing": 2, "recovery": 1}
    for index, step in enumerate(steps):
        if step.to_phase not in shades:
            continue
        until = steps[index + 1].at if index + 1 < len(steps) else axis.end
        bands.append(Band(step.at, until, PHASE_NAMES[step.to_phase], shades[step.to_phase]))
    return bands


@dataclass(frozen=True)
class AlarmView:
    number: int
    alarm: AlarmRow
    phase: str


def _alarm_views(record: SessionRecord) -> list[AlarmView]:
    return [
        AlarmView(i, alarm, PHASE_NAMES.get(phase_at(record, alarm.raised_at), ""))
        for i, alarm in enumerate(record.alarms, start=1)
    ]


def charts(record: SessionRecord, tz: ZoneInfo, alarms: Sequence[AlarmView]) -> dict[str, object]:
    axis = _axis(record, tz)
    marks = [Mark(v.alarm.raised_at, str(v.number)) for v in alarms if not v.alarm.withdrawn_reason]
    phase_marks = [Mark(s.at, PHASE_NAMES[s.to_phase]) for s in record.phases if s.from_phase]
    specs = chart_specs(record)
    return {
        "timeline_svg": Markup(render_timeline(axis, _bands(record, axis), marks)),  # noqa: S704
        "charts": [
            (spec, Markup(render_chart(spec, axis, phase_marks, marks)))  # noqa: S704
            for spec in specs
        ],
    }


def birth_and_age(record: SessionRecord, tz: ZoneInfo) -> tuple[str, str]:
    """The date of birth and the age on the session's day (its start, on the clinic's
    calendar), as the record prints them."""
    born = record.patient_date_of_birth
    if born is None:
        return "not recorded", "not known"
    age = age_at(born, record.created_at, tz)
    return born.isoformat(), "not known" if age is None else f"{age} on the day of the session"


def render_html(record: SessionRecord, tz: ZoneInfo, *, for_pdf: bool = False) -> str:
    """The report page; `for_pdf` swaps the browser's print header for PDF page-margin boxes."""
    clock = Clock(tz)
    alarms = _alarm_views(record)
    news2 = {point.reading_id: point for point in news2_series(record)}
    context = {
        "r": record,
        "for_pdf": for_pdf,
        "clock": clock,
        "zone": clock.zone(record.generated_at),
        "simulated_label": SIMULATED_LABEL,
        "timeline": timeline(record),
        "phase_names": PHASE_NAMES,
        "checklist": checklist_view,
        "decider": decider,
        "drug": DRUGS.get(record.drug, record.drug),
        "route": ROUTES.get(record.route, record.route),
        "alarms": alarms,
        "priority_signs": PRIORITY_SIGNS,
        "table": table_rows(record),
        "news2_by_reading": news2,
        "news2_series": list(news2.values()),
        "news2_end": news2_at_end(record),
        "news2_labels": PARAMETERS,
        "band_names": BAND_NAMES,
        "consciousness": CONSCIOUSNESS_LEVELS,
        "sedation": SEDATION_LEVELS,
        "version": __version__,
        "birth_and_age": birth_and_age(record, tz),
        **charts(record, tz, alarms),
    }
    return _environment().get_template("report.html").render(context)
