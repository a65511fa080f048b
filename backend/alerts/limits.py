"""Alert limits as data: per vital and per phase, with the defaults of clinical.md section 4.

A bound is the last acceptable value: a heart rate alarms *above* 120, an SpO2 *below* 92.
Integer vitals make "≤ 88" the same as "below 89", which is how the table's "≤" rows are kept.
Every number here is a starting configuration a clinic changes, never medical advice.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import Annotated

from annotated_types import Ge, Gt, Le, MaxLen

# Constraints the API enforces when a clinic edits limits (field by field, so an error names
# the field); annotated-types keeps this module free of any web framework.
Positive = Annotated[float, Gt(0)]
NonNegative = Annotated[float, Ge(0)]
# Upper bounds on times: a huge delay or interval (1e308 s) would silently switch a rule off.
# Monitors wait at most tens of seconds before alarming; five minutes is already generous.
DelaySeconds = Annotated[float, Ge(0), Le(300)]
Hysteresis = Annotated[float, Ge(0), Le(100)]
# Reminders, escalation and "no data": at most an hour; a BP due at most every 4 hours.
IntervalSeconds = Annotated[float, Gt(0), Le(3600)]
BpIntervalSeconds = Annotated[float, Gt(0), Le(4 * 3600)]


class Priority(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class Direction(StrEnum):
    ABOVE = "above"
    BELOW = "below"


class AlertPhase(StrEnum):
    """The phases in which a session is monitored (ended sessions raise nothing)."""

    BASELINE = "baseline"
    INFUSING = "infusing"
    RECOVERY = "recovery"


@dataclass(frozen=True)
class Bound:
    medium: NonNegative | None = None
    high: NonNegative | None = None

    def priority_of(self, value: float, direction: Direction) -> Priority | None:
        """The highest priority this value breaches, if any."""
        for priority, limit in ((Priority.HIGH, self.high), (Priority.MEDIUM, self.medium)):
            if limit is not None and _beyond(value, limit, direction):
                return priority
        return None

    def loosest(self, direction: Direction) -> float | None:
        """The limit first crossed on the way out of range (the medium one when set)."""
        return self.medium if self.medium is not None else self.high


def _beyond(value: float, limit: float, direction: Direction) -> bool:
    return value > limit if direction is Direction.ABOVE else value < limit


@dataclass(frozen=True)
class VitalLimit:
    above: Bound = Bound()
    below: Bound = Bound()
    # How long a breach must persist before it alarms; 0 means on measurement (blood pressure).
    delay_s: DelaySeconds = 0.0
    # A shorter delay for the high-priority limit, where one is wanted (SpO2: 15 s, but 10 s
    # once at or below 88 %); None uses delay_s.
    high_delay_s: DelaySeconds | None = None
    # How far back inside the limit a value must come before the condition clears, so a value
    # hovering on a limit does not flap between alarm and no alarm.
    hysteresis: Hysteresis = 0.0

    def __post_init__(self) -> None:
        for name, bound, looser_first in (
            ("above", self.above, True),
            ("below", self.below, False),
        ):
            if bound.medium is not None and bound.high is not None:
                ordered = bound.medium <= bound.high if looser_first else bound.medium >= bound.high
                if not ordered:
                    raise ValueError(
                        f"{name}: the medium limit must be reached before the high one "
                        f"(medium {bound.medium:g}, high {bound.high:g})"
                    )
        # Every value would breach one side or the other: an alarm that never stops.
        top, bottom = self.above.loosest(Direction.ABOVE), self.below.loosest(Direction.BELOW)
        if top is not None and bottom is not None and top <= bottom:
            raise ValueError(
                f"the above limit ({top:g}) must be higher than the below limit ({bottom:g}), "
                "or every value alarms"
            )

    def bound(self, direction: Direction) -> Bound:
        return self.above if direction is Direction.ABOVE else self.below


@dataclass(frozen=True)
class BaselineRise:
    """Rise from the pre-dose baseline, in mmHg or (percent=True) in percent of the baseline."""

    systolic: Positive | None = 40
    diastolic: Positive | None = 25
    percent: bool = False
    priority: Priority = Priority.MEDIUM


ALERTABLE_VITALS = ("heart_rate", "systolic", "diastolic", "spo2", "respiratory_rate")


@dataclass(frozen=True)
class PhaseLimits:
    vitals: Mapping[str, VitalLimit]
    baseline_rise: BaselineRise | None = None
    no_data_after_s: IntervalSeconds | None = None  # a continuous feed silent this long
    bp_due_every_s: BpIntervalSeconds | None = None  # manual monitoring: BP overdue after this

    def __post_init__(self) -> None:
        unknown = set(self.vitals) - set(ALERTABLE_VITALS)
        if unknown:
            raise ValueError(
                f"no alert limits for {', '.join(sorted(unknown))}; "
                f"limits exist for {', '.join(ALERTABLE_VITALS)}"
            )


# An age band starts at a whole number of years; none is older than 130.
AgeYears = Annotated[int, Ge(0), Le(130)]
MAX_GATE_BANDS = 8


@dataclass(frozen=True)
class GateBand:
    """The pre-dose gate for patients aged `from_age` or over (up to the next band's age)."""

    from_age: AgeYears
    systolic: Positive
    diastolic: Positive


@dataclass(frozen=True)
class AppliedGate:
    """The gate one patient is held to, and why: `from_age` names the band (None: the
    profile's default), `basis` says so in words when the profile has bands at all."""

    systolic: float
    diastolic: float
    from_age: int | None = None
    age: int | None = None
    basis: str | None = None

    @property
    def words(self) -> str:
        limit = f"the {self.systolic:g}/{self.diastolic:g} gate"
        return f"{limit} ({self.basis})" if self.basis else limit


@dataclass(frozen=True)
class PreDoseGate:
    """Advisory before dosing: baseline above this suggests weighing a delay. Age bands (by
    their lower age, youngest first) set other limits for older (or younger) patients, e.g.
    SBP > 150 from 65 (clinical.md section 2); a patient with no date of birth, or younger than
    the first band, is held to the default."""

    systolic: Positive = 140
    diastolic: Positive = 90
    age_bands: Annotated[tuple[GateBand, ...], MaxLen(MAX_GATE_BANDS)] = ()

    def __post_init__(self) -> None:
        ages = [band.from_age for band in self.age_bands]
        if ages != sorted(set(ages)):
            raise ValueError(
                "age bands go youngest first, each starting at a different age "
                f"(got {', '.join(str(a) for a in ages)})"
            )

    def for_age(self, age: int | None) -> AppliedGate:
        """The gate for a patient of `age` in whole years (None: no date of birth)."""
        if not self.age_bands:
            return AppliedGate(self.systolic, self.diastolic, age=age)
        if age is None:
            basis = "no date of birth recorded: the profile's default gate"
            return AppliedGate(self.systolic, self.diastolic, basis=basis)
        band = next((b for b in reversed(self.age_bands) if age >= b.from_age), None)
        if band is None:
            first = self.age_bands[0].from_age
            basis = f"aged {age}: the default gate, under {first}"
            return AppliedGate(self.systolic, self.diastolic, age=age, basis=basis)
        basis = f"aged {age}: the band from {band.from_age}"
        return AppliedGate(band.systolic, band.diastolic, band.from_age, age, basis)


@dataclass(frozen=True)
class Timing:
    # Zero or less would re-alert on every tick (acknowledging would be useless).
    reminder_s: IntervalSeconds = 180.0  # an acknowledged alarm still present alerts again
    escalate_after_s: IntervalSeconds = 120.0  # an alarm nobody acknowledged escalates
    latch_from: Priority = Priority.HIGH  # alarms at or above this latch


# Minutes a patient is kept after dosing ends; above 12 h is surely a typing slip.
ObservationMinutes = Annotated[float, Gt(0), Le(720)]
# The esketamine REMS asks for at least 2 h: a profile may lengthen it, never shorten it.
EsketamineObservationMinutes = Annotated[float, Ge(120), Le(720)]


@dataclass(frozen=True)
class Discharge:
    """Minimum observation after dosing ends before discharge. Esketamine's label asks for at
    least 2 h; for ketamine 1 h is only Vigil's starting value (blood pressure is back to
    baseline about 1.5 h after an IV infusion, clinical.md section 2): the clinic sets both."""

    min_observation_min: ObservationMinutes = 60  # ketamine (any drug but esketamine)
    esketamine_min_observation_min: EsketamineObservationMinutes = 120
    # Seen alert since dosing ended (ACVPU A and MOAA/S 5) before leaving. On by default: a
    # clinic that judges fitness to leave otherwise (a protocol of its own) turns it off.
    require_alertness: bool = True

    def minimum_for(self, drug: str) -> float:
        if drug == "esketamine":
            return self.esketamine_min_observation_min
        return self.min_observation_min


@dataclass(frozen=True)
class LimitSet:
    phases: Mapping[AlertPhase, PhaseLimits]
    gate: PreDoseGate = field(default_factory=PreDoseGate)
    timing: Timing = field(default_factory=Timing)
    discharge: Discharge = field(default_factory=Discharge)

    def for_phase(self, phase: AlertPhase) -> PhaseLimits:
        return self.phases[phase]


_VITALS: dict[str, VitalLimit] = dict(
    {
        "heart_rate": VitalLimit(Bound(120, 140), Bound(50, 40), delay_s=10, hysteresis=3),
        "systolic": VitalLimit(Bound(160, 180), Bound(90, 80), delay_s=0, hysteresis=5),
        "diastolic": VitalLimit(Bound(100, 110), Bound(), delay_s=0, hysteresis=5),
        "spo2": VitalLimit(Bound(), Bound(92, 89), delay_s=15, high_delay_s=10, hysteresis=1),
        "respiratory_rate": VitalLimit(Bound(), Bound(10, 9), delay_s=30, hysteresis=1),
    }
)


# Esketamine's trials withheld dosing above 140/90, or a systolic above 150 from age 65
# (clinical.md sections 2 and 4): the suggested gate, a clinic's to change.
DEFAULT_GATE = PreDoseGate(140, 90, (GateBand(65, 150, 90),))


def clinic_defaults() -> LimitSet:
    """The suggested starting configuration (clinical.md section 4)."""
    return LimitSet(
        gate=DEFAULT_GATE,
        phases=dict(
            {
                AlertPhase.BASELINE: PhaseLimits(_VITALS),
                AlertPhase.INFUSING: PhaseLimits(
                    _VITALS, BaselineRise(), no_data_after_s=30, bp_due_every_s=600
                ),
                AlertPhase.RECOVERY: PhaseLimits(
                    _VITALS, BaselineRise(), no_data_after_s=30, bp_due_every_s=900
                ),
            }
        ),
    )


def with_vital(limits: PhaseLimits, vital: str, limit: VitalLimit) -> PhaseLimits:
    """`limits` with one vital's limit replaced (how overrides are layered)."""
    return replace(limits, vitals={**limits.vitals, vital: limit})
