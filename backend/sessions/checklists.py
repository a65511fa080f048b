"""The protocol checklist of each phase change, as pure rules over plain facts.

Auto items are judged from what the record holds (readings, times, the pre-dose gate); manual
items are what only the nurse at the chair can confirm. A required item that is not met blocks
the change; an advisory one is shown and recorded but does not.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

from backend.sessions.phases import Phase

# A baseline taken longer ago than this no longer says how the patient is before dosing.
BASELINE_MAX_AGE = timedelta(minutes=30)
# A patient leaves with a blood pressure taken this recently (recovery readings are due every 15).
RECENT_BP_MAX_AGE = timedelta(minutes=15)
# The esketamine (Spravato) REMS asks for at least 2 h of observation after dosing: a floor no
# limit profile can lower (clinical.md section 2).
ESKETAMINE_MIN_OBSERVATION_MIN = 120


class Transition(StrEnum):
    START = "start"  # baseline → infusing
    END = "end"  # infusing → recovery
    DISCHARGE = "discharge"  # recovery → discharged
    STOP = "stop"  # any → stopped (an early end)

    @property
    def action(self) -> str:
        return _ACTIONS[self]


_ACTIONS = {
    Transition.START: "start the infusion",
    Transition.END: "end the infusion",
    Transition.DISCHARGE: "discharge",
    Transition.STOP: "stop early",
}


def transition_of(current: Phase, target: Phase) -> Transition | None:
    """Which checklist a change needs; None for a change the phase machine does not allow."""
    if target is Phase.STOPPED:
        return Transition.STOP
    return {
        (Phase.BASELINE, Phase.INFUSING): Transition.START,
        (Phase.INFUSING, Phase.RECOVERY): Transition.END,
        (Phase.RECOVERY, Phase.DISCHARGED): Transition.DISCHARGE,
    }.get((current, target))


class Kind(StrEnum):
    AUTO = "auto"  # judged by the server from the record
    MANUAL = "manual"  # ticked by the nurse


@dataclass(frozen=True)
class Observed:
    value: float
    taken_at: datetime


@dataclass(frozen=True)
class BloodPressureSeen:
    systolic: float
    diastolic: float
    taken_at: datetime


@dataclass(frozen=True)
class Override:
    """A named clinician's decision to go on although the record advises against it (the
    pre-dose gate, open high-priority alarms at discharge), and why. `by` is the decider as
    people read it (their name, with the account's username on a real session)."""

    by: str
    reason: str


@dataclass(frozen=True)
class Facts:
    """What a checklist is judged on, as of the moment of the change (`at`). Readings are the
    latest at or before `at`, leaving out those entered in error."""

    current: Phase
    target: Phase
    at: datetime
    drug: str
    route: str
    infusion_ended_at: datetime | None = None
    infusion_started_at: datetime | None = None
    planned_duration_min: int | None = None
    last_bp: BloodPressureSeen | None = None
    last_spo2: Observed | None = None
    # For discharge: ACVPU letter and MOAA/S 0–5 observed since dosing ended.
    last_consciousness: str | None = None
    last_sedation: int | None = None
    gate_advice: str | None = None  # why the pre-dose gate advises against starting, if it does
    gate_limit: tuple[float, float] = (140, 90)
    # Which age band's gate it is and why, when the profile has bands ("aged 67: the band
    # from 65", "no date of birth recorded: the profile's default gate").
    gate_basis: str | None = None
    gate_override: Override | None = None
    min_observation_min: float = 60
    # A simulated session's observation since dosing ended in simulated minutes, as its
    # simulator counts them: at 10x its record's clock holds a tenth of the patient's time.
    # None (every real session): judged from the record's times.
    simulated_observation_min: float | None = None
    require_alertness: bool = True  # the profile asks for ACVPU A and MOAA/S 5 before discharge
    # The session's open high-priority alarms (unacknowledged, or acknowledged and still
    # present), each described for a person; judged as of now, whatever `at` says.
    open_high_alarms: tuple[str, ...] = ()
    alarm_override: Override | None = None


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    kind: Kind
    required: bool
    # Auto: judged (None: nothing recorded to judge, which blocks nothing). Manual: ticked.
    met: bool | None = None
    detail: str | None = None
    # When a time-bound item that is not met yet will be (the end of the minimum observation).
    due_at: datetime | None = None
    # Met, but worth a second look: a baseline above the gate, an override. Never shown as a
    # plain green tick.
    attention: bool = False


def _clock(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _gate_words(facts: Facts) -> str:
    systolic, diastolic = facts.gate_limit
    basis = f" ({facts.gate_basis})" if facts.gate_basis else ""
    return f"the {systolic:g}/{diastolic:g} gate{basis}"


def _bp_item(
    key: str, label: str, facts: Facts, max_age: timedelta, tz: tzinfo, *, required: bool
) -> Item:
    bp = facts.last_bp
    item = Item(key, label, Kind.AUTO, required, met=False, detail="none recorded")
    if bp is None:
        return item
    seen = f"{bp.systolic:g}/{bp.diastolic:g} at {_clock(bp.taken_at, tz)}"
    age = facts.at - bp.taken_at
    if age > max_age:
        return replace(item, detail=f"last {seen}, {_minutes(age)} min before; take another")
    return replace(item, met=True, detail=f"recorded {seen}")


def _baseline_bp_item(facts: Facts, tz: tzinfo) -> Item:
    """The baseline BP; recorded but above the gate, it is met yet flagged, never a plain tick."""
    label = "Baseline blood pressure (last 30 min)"
    item = _bp_item("baseline_bp", label, facts, BASELINE_MAX_AGE, tz, required=True)
    if item.met and facts.gate_advice is not None:
        return replace(item, detail=f"{item.detail}, above {_gate_words(facts)}", attention=True)
    return item


def _spo2_item(facts: Facts, tz: tzinfo) -> Item:
    item = Item(
        "baseline_spo2", "SpO2 recorded before dosing", Kind.AUTO, False, False, "none recorded"
    )
    seen = facts.last_spo2
    if seen is None:
        return item
    text = f"{seen.value:g} % at {_clock(seen.taken_at, tz)}"
    if facts.at - seen.taken_at > BASELINE_MAX_AGE:
        return replace(item, detail=f"last {text}; over 30 min before")
    return replace(item, met=True, detail=text)


def _gate_item(facts: Facts) -> Item:
    item = Item("pre_dose_gate", "Pre-dose gate passed or overridden", Kind.AUTO, True)
    if facts.last_bp is None:
        return replace(item, met=False, detail="needs a baseline blood pressure")
    if facts.gate_advice is None:
        return replace(item, met=True, detail=f"within {_gate_words(facts)}")
    override = facts.gate_override
    if override is not None:
        return replace(
            item,
            met=True,
            attention=True,
            detail=f"{facts.gate_advice}; overridden by {override.by}: {override.reason}",
        )
    return replace(
        item,
        met=False,
        detail=f"{facts.gate_advice}; to start anyway, a clinician must override with a reason",
    )


def minimum_observation(facts: Facts) -> float:
    """The minimum observation in minutes: the profile's, never under the esketamine floor."""
    if facts.drug == "esketamine":
        return max(facts.min_observation_min, ESKETAMINE_MIN_OBSERVATION_MIN)
    return facts.min_observation_min


def _observation_item(facts: Facts, required: bool, tz: tzinfo) -> Item:
    minimum = minimum_observation(facts)
    label = f"Observed at least {minimum:g} min since dosing ended"
    item = Item("min_observation", label, Kind.AUTO, required, met=False)
    if facts.infusion_ended_at is None:
        return replace(item, detail="dosing has not ended")
    simulated = facts.simulated_observation_min
    if simulated is not None:
        observed_sim = int(simulated)
        if simulated >= minimum:
            detail = f"{observed_sim} simulated min observed (minimum {minimum:g})"
            return replace(item, met=True, detail=detail)
        return replace(item, detail=f"{observed_sim} of {minimum:g} simulated min observed")
    due = facts.infusion_ended_at + timedelta(minutes=minimum)
    observed = _minutes(facts.at - facts.infusion_ended_at)
    if facts.at >= due:
        return replace(item, met=True, detail=f"{observed} min observed (minimum {minimum:g})")
    return replace(
        item,
        detail=f"{observed} of {minimum:g} min observed; possible from {_clock(due, tz)}",
        due_at=due,
    )


def _alert_item(facts: Facts) -> Item:
    """Fit to leave means seen alert since dosing ended: the latest ACVPU is A and the latest
    MOAA/S is 5, both recorded in recovery (an A before or during dosing says nothing about
    how the patient came out of it). Nothing recorded blocks, like anything else unknown.
    A profile that does not ask for it keeps the item as information, not a condition."""
    item = Item(
        "alert",
        "Alert (ACVPU A) and MOAA/S 5 since dosing ended",
        Kind.AUTO,
        facts.require_alertness,
    )
    letter, level = facts.last_consciousness, facts.last_sedation
    seen, problems = [], []
    if letter is None:
        problems.append("no ACVPU recorded since dosing ended")
    else:
        seen.append(f"ACVPU {letter}")
        if letter != "A":
            problems.append(f"last ACVPU is {letter}, not A")
    if level is None:
        problems.append("no MOAA/S recorded since dosing ended")
    else:
        seen.append(f"MOAA/S {level}")
        if level != 5:
            problems.append(f"last MOAA/S is {level}, not 5")
    if problems:
        return replace(item, met=False, detail="; ".join(problems))
    return replace(item, met=True, detail=", ".join(seen))


def _high_alarms_item(facts: Facts) -> Item:
    item = Item(
        "no_open_high_alarm",
        "No open high-priority alarm (or overridden by name)",
        Kind.AUTO,
        True,
        met=True,
        detail="none open",
    )
    alarms = facts.open_high_alarms
    if not alarms:
        return item
    listed = f"{len(alarms)} open: {'; '.join(alarms)}"
    override = facts.alarm_override
    if override is not None:
        return replace(
            item,
            attention=True,
            detail=f"{listed}; overridden by {override.by}: {override.reason}",
        )
    return replace(
        item,
        met=False,
        detail=f"{listed}; acknowledge them, or a clinician must override with a reason",
    )


def _duration_item(facts: Facts) -> Item | None:
    if facts.planned_duration_min is None or facts.infusion_started_at is None:
        return None
    given = _minutes(facts.at - facts.infusion_started_at)
    planned = facts.planned_duration_min
    return Item(
        "planned_duration",
        f"Planned dosing time reached ({planned} min)",
        Kind.AUTO,
        False,
        met=given >= planned,
        detail=f"{given} of {planned} min",
    )


def _manual(key: str, label: str, *, required: bool = True) -> Item:
    return Item(key, label, Kind.MANUAL, required, met=False)


def _dose_given_item(facts: Facts, key: str) -> Item:
    if facts.route == "iv":
        return _manual(key, "Infusion pump stopped")
    return _manual(key, "No further doses given")


def _recent_bp(facts: Facts, tz: tzinfo, *, required: bool) -> Item:
    label = "Blood pressure in the last 15 min"
    return _bp_item("bp_recent", label, facts, RECENT_BP_MAX_AGE, tz, required=required)


def _start(facts: Facts, tz: tzinfo) -> list[Item]:
    items = [
        _baseline_bp_item(facts, tz),
        _spo2_item(facts, tz),
        _gate_item(facts),
        _manual("consent", "Consent and screening confirmed"),
        _manual("identity", "Patient identity checked"),
    ]
    if facts.route == "iv":
        items.append(_manual("iv_line", "IV line (cannula) checked"))
    elif facts.route == "intranasal":
        items.append(_manual("nasal_devices", "Nasal spray devices checked"))
    return items


def _end(facts: Facts, tz: tzinfo) -> list[Item]:
    duration = _duration_item(facts)
    return [
        *([duration] if duration else []),
        _recent_bp(facts, tz, required=False),
        _dose_given_item(facts, "dose_complete"),
    ]


def _discharge(facts: Facts, tz: tzinfo) -> list[Item]:
    return [
        _observation_item(facts, True, tz),
        _recent_bp(facts, tz, required=True),
        _alert_item(facts),
        _high_alarms_item(facts),
        _manual("oriented", "Patient oriented and able to walk steadily"),
        _manual("companion", "Companion present to take the patient home"),
        _manual("instructions", "Aftercare instructions given (no driving until tomorrow)"),
    ]


def _stop(facts: Facts, tz: tzinfo) -> list[Item]:
    # Stopping is never blocked by the record (a patient may leave against advice); what is
    # missing is shown and kept. Only the pump, when one is running, must be confirmed.
    items = []
    if facts.current is Phase.INFUSING:
        items.append(_dose_given_item(facts, "dosing_stopped"))
    if facts.current is Phase.RECOVERY:
        items.append(_observation_item(facts, False, tz))
    if facts.current is not Phase.BASELINE:
        items.append(_recent_bp(facts, tz, required=False))
    items.append(_manual("clinician_informed", "Prescribing clinician informed", required=False))
    return items


_BUILDERS = {
    Transition.START: _start,
    Transition.END: _end,
    Transition.DISCHARGE: _discharge,
    Transition.STOP: _stop,
}


def evaluate(facts: Facts, tz: tzinfo) -> list[Item]:
    """The checklist for `facts.current` → `facts.target`: auto items judged, manual items
    unticked (none for a change the phase machine refuses). Clock times are written in `tz`."""
    transition = transition_of(facts.current, facts.target)
    return _BUILDERS[transition](facts, tz) if transition else []


def manual_keys(items: list[Item]) -> frozenset[str]:
    return frozenset(item.key for item in items if item.kind is Kind.MANUAL)


def with_ticks(items: list[Item], ticks: Mapping[str, bool]) -> list[Item]:
    """`items` with the manual ones ticked as the nurse ticked them."""
    return [
        replace(item, met=bool(ticks.get(item.key, False))) if item.kind is Kind.MANUAL else item
        for item in items
    ]


def blocking(items: list[Item], *, manual: bool = True) -> list[Item]:
    """The required items that are not met (an auto item with nothing to judge blocks nothing).
    With `manual` False only the auto items count: a client that confirms nothing at the chair
    (a device, a script, the simulator) is still held to what the record shows."""
    return [
        item
        for item in items
        if item.required and item.met is False and (manual or item.kind is Kind.AUTO)
    ]


def ready_at(items: list[Item]) -> datetime | None:
    """When the auto items will all be met, if only the clock stands in their way."""
    waiting = [i for i in items if i.kind is Kind.AUTO and i.required and i.met is False]
    if not waiting or any(item.due_at is None for item in waiting):
        return None
    return max(item.due_at for item in waiting if item.due_at is not None)


def refusal(transition: Transition, unmet: list[Item]) -> str:
    """Why the change is refused, naming each unmet item by its label."""
    auto = [
        f"{i.label} ({i.detail})" if i.detail else i.label for i in unmet if i.kind is Kind.AUTO
    ]
    manual = [i.label for i in unmet if i.kind is Kind.MANUAL]
    parts = []
    if auto:
        parts.append("not met: " + "; ".join(auto))
    if manual:
        parts.append("not confirmed: " + "; ".join(manual))
    return f"Cannot {transition.action} yet. " + ". ".join(p[0].upper() + p[1:] for p in parts)
