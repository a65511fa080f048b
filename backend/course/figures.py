"""A patient's course: the figures of each session, as pure rules over what its record holds.

Each figure is read the way the rest of Vigil reads it, so the course can never disagree with a
session's page or report:
- the pre-dose baseline is the rise alarm's (alerts.limit_profiles.baseline_pressure: the last
  valid blood pressure at or before dosing started), and a rise is measured as the rise alarm
  measures it (alerts.baseline.rise_condition): the later value minus the baseline, in mmHg;
- the phase times are the report's (reports.record.timeline_of);
- discharge readiness is the discharge checklist's own judgement (sessions.checklists), asked
  at each moment the record changed after dosing ended, with the minimum observation time set
  aside: what the Spravato REMS form calls the minutes until the patient "would have been ready
  to leave" without the observation rule.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from backend.alerts.baseline import BloodPressure
from backend.reports.record import PhaseStep, timeline_of
from backend.sessions.checklists import (
    BloodPressureSeen,
    Facts,
    blocking,
    evaluate,
)
from backend.sessions.phases import Phase

# ACVPU from alert to unresponsive: the deepest letter a session reached is the last of these.
ACVPU_ORDER = "ACVPU"
# The discharge checklist's item that waits on the clock alone, set aside for readiness.
MIN_OBSERVATION_KEY = "min_observation"


@dataclass(frozen=True)
class Observation:
    """A valid reading after dosing that can change readiness: a blood pressure, an ACVPU or a
    MOAA/S (the monitor's second-by-second heart rate and SpO2 cannot)."""

    taken_at: datetime
    systolic: float | None = None
    diastolic: float | None = None
    consciousness: str | None = None
    sedation: int | None = None


@dataclass(frozen=True)
class HighAlarm:
    """A high-priority alarm (not withdrawn): open from `raised_at` until `resolved_at`."""

    raised_at: datetime
    resolved_at: datetime | None
    message: str

    def open_at(self, moment: datetime) -> bool:
        return self.raised_at <= moment and (self.resolved_at is None or moment < self.resolved_at)


@dataclass(frozen=True)
class SessionFacts:
    """What the database answers about one session (service.py says how each is bounded)."""

    id: int
    created_at: datetime
    drug: str
    route: str
    planned_dose_mg: float | None
    weight_kg: float | None
    phase: str
    phases: Sequence[PhaseStep]  # oldest first
    baseline: BloodPressure | None
    peak_systolic: float | None  # the highest valid value after dosing started
    peak_diastolic: float | None
    lowest_spo2: float | None  # the lowest valid value over the whole session
    deepest_sedation: int | None  # the lowest valid MOAA/S
    consciousness: frozenset[str]  # every valid ACVPU letter recorded
    alarms: int  # physiological and technical alarms raised, withdrawn ones left out
    high_alarms: int
    # For readiness: the readings from just before dosing ended, oldest first, and the high
    # alarms open at some time after it (each list capped, see service.py).
    observations: Sequence[Observation] = ()
    high_alarm_spans: Sequence[HighAlarm] = ()
    require_alertness: bool = True
    min_observation_min: float = 60
    # True when the observations were cut at their cap before readiness could be judged.
    observations_capped: bool = False


@dataclass(frozen=True)
class CourseRow:
    session_id: int
    started_at: datetime
    drug: str
    route: str
    phase: str
    dose_mg: float | None
    dose_mg_per_kg: float | None
    baseline_systolic: float | None
    baseline_diastolic: float | None
    peak_systolic_rise: float | None
    peak_diastolic_rise: float | None
    lowest_spo2: float | None
    alarms: int
    high_alarms: int
    deepest_sedation: int | None
    deepest_consciousness: str | None
    dosing_ended_at: datetime | None
    ready_at: datetime | None
    minutes_to_ready: float | None
    # Why there is no readiness figure, for a person (None when there is one).
    ready_note: str | None


def peak_rise(baseline: float | None, peak: float | None) -> float | None:
    """The highest value after dosing minus the baseline (as the rise alarm measures it); None
    when either is missing. Negative when the value never came back up to the baseline."""
    if baseline is None or peak is None:
        return None
    return peak - baseline


def deepest_consciousness(letters: Iterable[str]) -> str | None:
    """The ACVPU letter furthest from Alert among `letters` (unknown letters ignored)."""
    ranked = [ACVPU_ORDER.index(letter) for letter in letters if letter in ACVPU_ORDER]
    return ACVPU_ORDER[max(ranked)] if ranked else None


def _ready(
    facts: SessionFacts,
    at: datetime,
    dosing_ended_at: datetime,
    bp: BloodPressureSeen | None,
    consciousness: str | None,
    sedation: int | None,
) -> bool:
    open_high = tuple(a.message for a in facts.high_alarm_spans if a.open_at(at))
    checklist_facts = Facts(
        current=Phase.RECOVERY,
        target=Phase.DISCHARGED,
        at=at,
        drug=facts.drug,
        route=facts.route,
        infusion_ended_at=dosing_ended_at,
        last_bp=bp,
        last_consciousness=consciousness,
        last_sedation=sedation,
        min_observation_min=facts.min_observation_min,
        require_alertness=facts.require_alertness,
        open_high_alarms=open_high,
    )
    # The record alone (manual=False): what only the nurse at the chair confirms is not on it.
    unmet = blocking(evaluate(checklist_facts, UTC), manual=False)
    return all(item.key == MIN_OBSERVATION_KEY for item in unmet)


def readiness(facts: SessionFacts) -> tuple[datetime | None, datetime | None, str | None]:
    """(when dosing ended, when the record first showed the patient ready to leave, why there
    is no such moment). Ready is the discharge checklist's auto items met (a blood pressure in
    the last 15 min, ACVPU A and MOAA/S 5 since dosing ended where the profile asks for them,
    no open high-priority alarm), the minimum observation time aside. It is asked at each
    moment the answer can change: a reading, an alarm's end."""
    line = timeline_of(facts.phases, facts.created_at)
    step = line.infusion_end
    if step is None or step.to_phase != Phase.RECOVERY.value:
        if line.infusion_start is None:
            return None, None, "not dosed"
        return None, None, "stopped during dosing" if step is not None else "still dosing"
    ended = step.at
    until = line.end.at if line.end is not None else None
    moments = sorted(
        {o.taken_at for o in facts.observations if o.taken_at >= ended}
        | {a.resolved_at for a in facts.high_alarm_spans if a.resolved_at and a.resolved_at > ended}
        | {ended}
    )
    observations = sorted(facts.observations, key=lambda o: o.taken_at)
    bp: BloodPressureSeen | None = None
    consciousness: str | None = None
    sedation: int | None = None
    index = 0
    for moment in moments:
        if until is not None and moment > until:
            break
        # Fold in every observation up to this moment: the latest BP whenever it was taken
        # (the checklist judges its age), ACVPU and MOAA/S only from after dosing ended.
        while index < len(observations) and observations[index].taken_at <= moment:
            seen = observations[index]
            index += 1
            if seen.systolic is not None and seen.diastolic is not None:
                bp = BloodPressureSeen(seen.systolic, seen.diastolic, seen.taken_at)
            if seen.taken_at >= ended:
                consciousness = seen.consciousness or consciousness
                sedation = seen.sedation if seen.sedation is not None else sedation
        if _ready(facts, moment, ended, bp, consciousness, sedation):
            return ended, moment, None
    if facts.observations_capped:
        return ended, None, "too many readings to judge"
    if until is None:
        return ended, None, "not yet"
    return ended, None, "not seen on the record"


def course_row(facts: SessionFacts) -> CourseRow:
    """One session's line in the course."""
    baseline = facts.baseline
    ended, ready, note = readiness(facts)
    minutes = None
    if ready is not None and ended is not None:
        minutes = (ready - ended).total_seconds() / 60
    per_kg = None
    if facts.planned_dose_mg is not None and facts.weight_kg:
        per_kg = facts.planned_dose_mg / facts.weight_kg
    return CourseRow(
        session_id=facts.id,
        started_at=facts.created_at,
        drug=facts.drug,
        route=facts.route,
        phase=facts.phase,
        dose_mg=facts.planned_dose_mg,
        dose_mg_per_kg=per_kg,
        baseline_systolic=baseline.systolic if baseline else None,
        baseline_diastolic=baseline.diastolic if baseline else None,
        peak_systolic_rise=peak_rise(baseline.systolic if baseline else None, facts.peak_systolic),
        peak_diastolic_rise=peak_rise(
            baseline.diastolic if baseline else None, facts.peak_diastolic
        ),
        lowest_spo2=facts.lowest_spo2,
        alarms=facts.alarms,
        high_alarms=facts.high_alarms,
        deepest_sedation=facts.deepest_sedation,
        deepest_consciousness=deepest_consciousness(facts.consciousness),
        dosing_ended_at=ended,
        ready_at=ready,
        minutes_to_ready=minutes,
        ready_note=note,
    )
