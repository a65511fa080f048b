"""The session record as plain data, and what the report derives from it.

Pure: `service.load_record` fills these dataclasses from the database; the HTML, PDF, charts and
CSV all read the same record, so the printed report and the export can never disagree.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from backend.scores.news2 import PARAMETERS, News2, Observation, score

Value = int | float | str | bool

# The measured vitals and the observations a person makes, in the order the report shows them.
READING_FIELDS: tuple[str, ...] = (
    "heart_rate",
    "systolic",
    "diastolic",
    "spo2",
    "on_oxygen",
    "respiratory_rate",
    "temperature",
    "consciousness",
    "sedation",
)
# A NEWS2 is worked out at a reading that carries one of these: they are taken in an observation
# round, unlike the heart rate, SpO2 and respiratory rate a monitor sends every second.
ROUND_FIELDS = frozenset({"systolic", "temperature", "consciousness", "on_oxygen"})
# Readings carrying nothing but these are the monitor's continuous stream.
CONTINUOUS_FIELDS = frozenset({"heart_rate", "spo2", "respiratory_rate"})


@dataclass(frozen=True)
class PhaseStep:
    from_phase: str | None
    to_phase: str
    at: datetime
    recorded_at: datetime
    by: str
    note: str | None
    checklist: dict[str, Any] | None


@dataclass(frozen=True)
class ReadingRow:
    id: str
    taken_at: datetime
    received_at: datetime
    source: str
    entered_by: str
    values: dict[str, Value]  # only the fields this reading carries
    error_at: datetime | None = None
    error_by: str | None = None
    error_reason: str | None = None

    @property
    def in_error(self) -> bool:
        return self.error_at is not None


@dataclass(frozen=True)
class AlarmRow:
    id: int
    condition: str
    kind: str
    priority: str  # "low", "medium" or "high"
    status: str
    message: str
    value: float | None
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None  # the action taken, as written when acknowledging
    resolved_at: datetime | None
    escalated_at: datetime | None
    withdrawn_reason: str | None
    reading_id: str | None  # the reading whose value raised it
    escalations: int = 0  # each unanswered episode escalates; escalated_at is the latest


@dataclass(frozen=True)
class LimitSegment:
    """An alarm limit in force from `start` to `end` (one phase), for a chart's limit line."""

    vital: str
    start: datetime
    end: datetime
    value: float
    direction: str  # "above" or "below"
    priority: str


@dataclass(frozen=True)
class News2Point:
    at: datetime
    reading_id: str
    result: News2
    # Which reading gave each parameter's value: an export names the score's inputs.
    sources: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Place:
    """Where the session was held: the chair, its room and its site, with their ids."""

    site_id: int
    site: str
    room_id: int
    room: str
    chair_id: int


@dataclass(frozen=True)
class SessionRecord:
    id: int
    simulated: bool
    patient_name: str
    patient_clinic_id: str
    chair: str
    drug: str
    route: str
    planned_dose_mg: float | None
    weight_kg: float | None
    planned_duration_min: int | None
    created_at: datetime
    created_by: str
    ended_at: datetime | None
    phase: str
    notes: str | None
    gate_override_by: str | None
    gate_override_at: datetime | None
    spo2_scale: int
    news2_max_age: timedelta
    generated_at: datetime
    phases: Sequence[PhaseStep] = ()
    readings: Sequence[ReadingRow] = ()  # every reading, oldest first, errored ones included
    alarms: Sequence[AlarmRow] = ()  # oldest first
    limits: Sequence[LimitSegment] = ()
    # A gate override's decider's account, reason and who entered it (gate_override_by is the
    # decider's name).
    gate_override_username: str | None = None
    gate_override_reason: str | None = None
    gate_override_entered_by: str | None = None
    # The patient's record number: the record viewer links a real one to the patient's course.
    patient_id: int | None = None
    patient_date_of_birth: date | None = None
    place: Place | None = None

    @property
    def valid_readings(self) -> list[ReadingRow]:
        return [r for r in self.readings if not r.in_error]

    @property
    def dose_mg_per_kg(self) -> float | None:
        if self.planned_dose_mg is None or not self.weight_kg:
            return None
        return self.planned_dose_mg / self.weight_kg

    @property
    def end(self) -> datetime:
        """Where the record stops: the end of the session, else the later of now and the last
        reading (a simulated session's clock may run ahead of the wall clock)."""
        if self.ended_at is not None:
            return self.ended_at
        last = max((r.taken_at for r in self.readings), default=self.generated_at)
        return max(last, self.generated_at)


def export_filename(record: SessionRecord, extension: str) -> str:
    """The name a download of the record is saved under."""
    # No patient name in a file name: downloads folders and mail attachments are not the record.
    day = record.created_at.strftime("%Y%m%d")
    simulated = "-SIMULATED" if record.simulated else ""
    return f"vigil-session-{record.id}-{day}{simulated}.{extension}"


@dataclass(frozen=True)
class Timeline:
    """The phase times a clinic is asked for, and how long each part lasted."""

    baseline_start: datetime
    infusion_start: PhaseStep | None
    infusion_end: PhaseStep | None  # into recovery, or stopped while infusing
    end: PhaseStep | None  # discharged or stopped

    @property
    def baseline_duration(self) -> timedelta | None:
        if self.infusion_start is not None:
            return self.infusion_start.at - self.baseline_start
        return None

    @property
    def infusion_duration(self) -> timedelta | None:
        if self.infusion_start is not None and self.infusion_end is not None:
            return self.infusion_end.at - self.infusion_start.at
        return None

    @property
    def observation_after_infusion(self) -> timedelta | None:
        if self.infusion_end is not None and self.end is not None:
            return self.end.at - self.infusion_end.at
        return None

    @property
    def total(self) -> timedelta | None:
        return self.end.at - self.baseline_start if self.end is not None else None


def timeline(record: SessionRecord) -> Timeline:
    return timeline_of(record.phases, record.created_at)


def timeline_of(phases: Sequence[PhaseStep], created_at: datetime) -> Timeline:
    """The phase times of a session from its phase changes (oldest first): the report's and
    a patient's course read them the same way."""
    steps = list(phases)
    first = next((s for s in steps if s.from_phase is None), None)
    start = next((s for s in steps if s.to_phase == "infusing"), None)
    infusion_end = next((s for s in steps if s.from_phase == "infusing"), None)
    end = next((s for s in steps if s.to_phase in ("discharged", "stopped")), None)
    return Timeline(
        baseline_start=first.at if first is not None else created_at,
        infusion_start=start,
        infusion_end=infusion_end,
        end=end,
    )


def phase_at(record: SessionRecord, moment: datetime) -> str:
    """The phase the session was in at `moment`."""
    current = "baseline"
    for step in record.phases:
        if step.at <= moment:
            current = step.to_phase
    return current


def _observations(readings: Sequence[ReadingRow]) -> dict[str, Observation]:
    latest: dict[str, Observation] = {}
    for reading in readings:
        for name in PARAMETERS:
            value = reading.values.get(name)
            if value is not None:
                latest[name] = Observation(value, reading.taken_at)
    return latest


def news2_series(record: SessionRecord) -> list[News2Point]:
    """NEWS2 at each observation round that completes a recent set (errored readings ignored)."""
    points: list[News2Point] = []
    latest: dict[str, Observation] = {}
    sources: dict[str, str] = {}
    for reading in record.valid_readings:
        latest |= _observations([reading])
        sources |= {name: reading.id for name in PARAMETERS if name in reading.values}
        if not ROUND_FIELDS & reading.values.keys():
            continue
        result = score(
            latest, reading.taken_at, max_age=record.news2_max_age, scale=record.spo2_scale
        )
        if result.complete:
            used = {part.parameter: sources[part.parameter] for part in result.parts}
            points.append(News2Point(reading.taken_at, reading.id, result, used))
    return points


def news2_at_end(record: SessionRecord) -> News2:
    """NEWS2 as the session stood at its end (or now): with what is missing when incomplete."""
    end = record.end  # once: it walks every reading of an open session (a loop here was O(n²))
    latest = _observations([r for r in record.valid_readings if r.taken_at <= end])
    return score(latest, end, max_age=record.news2_max_age, scale=record.spo2_scale)


@dataclass(frozen=True)
class TableSelection:
    rows: list[ReadingRow]
    thinned: int  # continuous-only readings left out of the printed table
    every: timedelta


def table_rows(record: SessionRecord, every: timedelta = timedelta(minutes=5)) -> TableSelection:
    """The readings the printed table lists.

    A monitor sends heart rate and SpO2 every second: thousands of rows nobody reads on paper.
    Those are listed one per `every`; everything else is always listed — manual entries,
    blood pressures and observation rounds, readings marked in error, and any reading an alarm
    was raised on. The charts and the CSV keep every reading.
    """
    alarm_readings = {a.reading_id for a in record.alarms if a.reading_id is not None}
    rows: list[ReadingRow] = []
    # Per set of vitals: an oximeter's and a capnograph's readings are thinned separately.
    last_listed: dict[frozenset[str], datetime] = {}
    thinned = 0
    for reading in record.readings:
        continuous_only = (
            reading.source != "manual"
            and reading.values.keys() <= CONTINUOUS_FIELDS
            and not reading.in_error
            and reading.id not in alarm_readings
        )
        kind = frozenset(reading.values)
        previous = last_listed.get(kind)
        if continuous_only and previous is not None and reading.taken_at - previous < every:
            thinned += 1
            continue
        rows.append(reading)
        if continuous_only:
            last_listed[kind] = reading.taken_at
    return TableSelection(rows, thinned, every)
