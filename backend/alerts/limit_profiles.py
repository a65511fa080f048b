"""The alarm configuration: limit profiles, a session's overrides, their change log, the limits in
force for a session, and the pre-dose gate that reads the baseline blood pressure."""

from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from backend.alerts.baseline import BloodPressure, gate_advice
from backend.alerts.limits import AlertPhase, AppliedGate, LimitSet, VitalLimit, clinic_defaults
from backend.alerts.models import LimitChange, LimitProfile
from backend.alerts.schemas import Overrides
from backend.core.actor import Actor
from backend.core.database import add_unique
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.fast_sql import Prepared, as_loaded, columns_of
from backend.core.timeutil import utcnow
from backend.patients.age import age_at
from backend.patients.models import Patient
from backend.readings.models import Reading
from backend.sessions.models import InfusionSession, PhaseChange
from backend.sessions.phases import Phase
from backend.streaming.outbox import record_event

LIMITS = TypeAdapter(LimitSet)
OVERRIDES = TypeAdapter(Overrides)
VITAL_LIMIT = TypeAdapter(VitalLimit)
MONITORED = frozenset(p.value for p in AlertPhase)
DEFAULT_PROFILE = "Clinic default"
# Named protocol profiles seeded next to the default; clinics edit or add their own.
SEEDED_PROFILES = ("IV ketamine 0.5 mg/kg over 40 min", "Esketamine nasal")


def ensure_profiles(db: Session, by: str = "system") -> None:
    """Seed the clinic default and the protocol profiles when there are none."""
    if db.scalar(select(func.count()).select_from(LimitProfile)):
        return
    defaults = LIMITS.dump_python(clinic_defaults(), mode="json")
    for index, name in enumerate((DEFAULT_PROFILE, *SEEDED_PROFILES)):
        db.add(
            LimitProfile(
                name=name,
                is_default=index == 0,
                limits=defaults,
                updated_at=utcnow(),
                updated_by=by,
            )
        )
    db.flush()


def list_profiles(db: Session) -> list[LimitProfile]:
    return list(
        db.scalars(select(LimitProfile).order_by(LimitProfile.is_default.desc(), LimitProfile.name))
    )


def profile_exists(db: Session, profile_id: int) -> bool:
    return db.get(LimitProfile, profile_id) is not None


def get_profile(db: Session, profile_id: int) -> LimitProfile:
    profile = db.get(LimitProfile, profile_id)
    if profile is None:
        raise NotFound(f"no limit profile with id {profile_id}")
    return profile


def _log_change(
    db: Session,
    actor: Actor,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    profile_id: int | None = None,
    session_id: int | None = None,
) -> None:
    """Record who changed which limits when, from what to what."""
    db.add(
        LimitChange(
            profile_id=profile_id,
            session_id=session_id,
            changed_at=utcnow(),
            changed_by=actor.label,
            old=old,
            new=new,
        )
    )


def create_profile(db: Session, name: str, limits: LimitSet, actor: Actor) -> LimitProfile:
    document = LIMITS.dump_python(limits, mode="json")
    profile = LimitProfile(
        name=name, is_default=False, limits=document, updated_at=utcnow(), updated_by=actor.label
    )
    add_unique(db, profile, f"a limit profile named {name!r} already exists")
    _log_change(db, actor, None, {"name": name, **document}, profile_id=profile.id)
    return profile


def update_profile(
    db: Session,
    profile: LimitProfile,
    name: str,
    limits: LimitSet,
    actor: Actor,
    based_on: datetime | None = None,
) -> LimitProfile:
    """Change a profile. With `based_on` (the `updated_at` the editor started from), a profile
    someone else saved meanwhile is refused rather than silently overwritten."""
    if based_on is not None and based_on != profile.updated_at:
        raise Conflict(
            f"{profile.name!r} was changed by {profile.updated_by} at "
            f"{profile.updated_at.isoformat()} after you opened it: "
            "reload it and make your change again"
        )
    document = LIMITS.dump_python(limits, mode="json")
    if name == profile.name and document == profile.limits:
        return profile  # nothing to change, nothing to record
    if name != profile.name:
        clash = db.scalar(select(LimitProfile.id).where(LimitProfile.name == name))
        if clash is not None:
            raise Conflict(f"a limit profile named {name!r} already exists")
    # The profile's name travels with its limits in the log, so a rename is on record too.
    _log_change(
        db,
        actor,
        {"name": profile.name, **profile.limits},
        {"name": name, **document},
        profile_id=profile.id,
    )
    profile.name = name
    profile.limits = document
    profile.updated_at = utcnow()
    profile.updated_by = actor.label
    record_event(db, "limits.changed", None, {"profile_id": profile.id})
    db.flush()
    return profile


def _profile_of(db: Session, session: InfusionSession) -> LimitProfile | None:
    if session.limit_profile_id is not None:
        return db.get(LimitProfile, session.limit_profile_id)
    return db.scalar(select(LimitProfile).where(LimitProfile.is_default.is_(True)))


Patches = dict[str, dict[str, dict[str, Any]]]


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _layer(base: LimitSet, patches: Patches) -> LimitSet:
    """`base` with a session's patches applied, field by field."""
    if not patches:
        return base  # the common case, twice a reading: nothing to copy (a LimitSet is frozen)
    phases = dict(base.phases)
    for phase_name, vitals in patches.items():
        phase = AlertPhase(phase_name)
        current = phases[phase]
        merged = {
            vital: VITAL_LIMIT.validate_python(
                _merge(
                    VITAL_LIMIT.dump_python(current.vitals.get(vital, VitalLimit()), mode="json"),
                    patch,
                )
            )
            for vital, patch in vitals.items()
        }
        phases[phase] = replace(current, vitals={**current.vitals, **merged})
    return replace(base, phases=phases)


def _readable(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {message}" if where else message


def _base_limits(db: Session, session: InfusionSession) -> tuple[LimitProfile | None, LimitSet]:
    profile = _profile_of(db, session)
    return profile, _parsed(profile) if profile else clinic_defaults()


# A profile's limits as parsed, by (profile id, updated_at): every change stamps updated_at, so a
# changed profile is a new key and is seen by the next reading, in any process. Parsing and
# validating the JSON document was a third of the alarm check's cost per reading.
ProfileVersion = tuple[int, datetime]
_PARSED: dict[ProfileVersion, LimitSet] = {}
_PARSED_MOST = 64  # profiles are few; a bound all the same, so edits cannot grow it for ever


def _parsed(profile: LimitProfile) -> LimitSet:
    key = (profile.id, profile.updated_at)
    limits = _PARSED.get(key)
    if limits is None:
        limits = LIMITS.validate_python(profile.limits)
        if len(_PARSED) >= _PARSED_MOST:
            _PARSED.clear()
        _PARSED[key] = limits
    return limits


def _lock_with_version_statement() -> Prepared:
    chosen = or_(
        LimitProfile.id == InfusionSession.limit_profile_id,
        and_(InfusionSession.limit_profile_id.is_(None), LimitProfile.is_default.is_(True)),
    )
    profile_id = select(LimitProfile.id).where(chosen).limit(1).scalar_subquery()
    updated_at = select(LimitProfile.updated_at).where(chosen).limit(1).scalar_subquery()
    return Prepared(
        select(*columns_of(InfusionSession), profile_id, updated_at)
        .where(InfusionSession.id == bindparam("session_id"))
        .with_for_update(of=InfusionSession)
    )


# Compiled once (core/fast_sql.py): every reading runs it first.
_LOCK_WITH_VERSION = _lock_with_version_statement()


def lock_with_limits_version(
    db: Session, session_id: int
) -> tuple[InfusionSession | None, ProfileVersion | None]:
    """The session, row-locked, and the version of the limit profile it is on, in one statement:
    the alarm check then needs no query for its limits while that version is parsed already."""
    db.flush()  # what this unit of work has pending first, as a query's autoflush would
    rows = _LOCK_WITH_VERSION.rows(db, {"session_id": session_id})
    if not rows:
        return None, None
    *values, pid, at = rows[0]
    session = as_loaded(db, InfusionSession, values)
    return session, (pid, at) if pid is not None and at is not None else None


def limits_in_force(
    db: Session, session: InfusionSession, version: ProfileVersion | None
) -> LimitSet:
    """What `session_limits` returns last, from the parsed profile when `version` is parsed."""
    base = _PARSED.get(version) if version is not None else None
    if base is None:
        base = _base_limits(db, session)[1]
    return _layer(_layer(base, scale_patches(session)), session.limit_overrides or {})


# NEWS2 SpO2 scale 2 is for a patient with a prescribed 88–92 % target (clinical.md section 6):
# there 88–92 scores 0, 86–87 scores 1, 84–85 scores 2 and ≤ 83 scores 3. The low limits follow
# the target instead of scale 1's 92/89, which such a patient, at target, would breach all
# session: medium below 88 (out of the prescribed band, the first value scale 2 scores), high
# below 85 (84 and under, scoring 2–3), keeping the default's three-point step from medium to
# high. No upper limit: above 92 % scores only on oxygen, and a limit cannot follow a flag
# recorded reading by reading; the NEWS2 score shows it.
SCALE2_SPO2_BELOW = {"medium": 88.0, "high": 85.0}
SCALE2_NOTE = (
    "SpO2 scale 2 (a prescribed 88–92 % target): SpO2 alarms below 88 % (medium) and "
    "below 85 % (high) instead of the profile's low limits"
)


def scale_patches(session: InfusionSession) -> Patches:
    """What the session's SpO2 scale changes over its profile, in every phase (none on scale 1).
    Layered between the profile and the session's own overrides: a nurse's override still wins."""
    if session.spo2_scale != 2:
        return {}
    return {phase.value: {"spo2": {"below": dict(SCALE2_SPO2_BELOW)}} for phase in AlertPhase}


def session_limits(
    db: Session, session: InfusionSession
) -> tuple[LimitProfile | None, Patches, LimitSet]:
    """The session's profile, its own overrides, and the limits in force: the profile, then
    what its SpO2 scale changes, then its overrides."""
    profile, base = _scaled_base(db, session)
    patches: Patches = session.limit_overrides or {}
    return profile, patches, _layer(base, patches)


def _scaled_base(db: Session, session: InfusionSession) -> tuple[LimitProfile | None, LimitSet]:
    profile, base = _base_limits(db, session)
    return profile, _layer(base, scale_patches(session))


def set_overrides(
    db: Session, session: InfusionSession, overrides: Overrides, actor: Actor
) -> None:
    if session.phase not in MONITORED:
        raise Conflict(f"session {session.id} has ended; its limits can no longer change")
    document: Patches = OVERRIDES.dump_python(overrides, mode="json", exclude_unset=True)
    _, base = _scaled_base(db, session)
    for phase, vitals in document.items():
        for vital, patch in vitals.items():
            try:
                _layer(base, {phase: {vital: patch}})
            except ValidationError as exc:
                problem = "; ".join(_readable(e) for e in exc.errors())
                raise InvalidInput(("body", "overrides", phase, vital), problem, patch) from None
    _log_change(db, actor, session.limit_overrides, document, session_id=session.id)
    session.limit_overrides = document
    # Open pages redraw their limit bands and tables when limits change.
    record_event(db, "limits.changed", session.id, {"session_id": session.id})
    db.flush()


def limit_changes(
    db: Session, *, session_id: int | None = None, profile_id: int | None = None
) -> list[LimitChange]:
    query = select(LimitChange).order_by(LimitChange.changed_at.desc(), LimitChange.id.desc())
    if session_id is not None:
        query = query.where(LimitChange.session_id == session_id)
    if profile_id is not None:
        query = query.where(LimitChange.profile_id == profile_id)
    return list(db.scalars(query.limit(200)))


def baseline_pressure(
    db: Session, session: InfusionSession, at: datetime | None = None
) -> BloodPressure | None:
    """The last blood pressure measured before dosing started; if it has not, the last so far,
    or the last by `at`: dosing entered afterwards at an earlier time (a nurse who forgot to
    press Start) is judged on the pressure then, not on one taken after it."""
    started = db.scalar(
        select(PhaseChange.at).where(
            PhaseChange.session_id == session.id, PhaseChange.to_phase == Phase.INFUSING.value
        )
    )
    query = select(Reading.systolic, Reading.diastolic).where(
        Reading.session_id == session.id,
        Reading.systolic.is_not(None),
        Reading.entered_in_error_at.is_(None),
    )
    if started is None:
        started = at
    if started is not None:
        query = query.where(Reading.taken_at <= started)
    row = db.execute(query.order_by(Reading.taken_at.desc()).limit(1)).first()
    if row is None:
        return None
    return BloodPressure(row[0], row[1])


@dataclass(frozen=True)
class GateCheck:
    """The pre-dose gate as it stands for a session: its advice (None: within the gate, or no
    baseline yet), the baseline it read, the session's limits and the gate for its patient."""

    advice: str | None
    baseline: BloodPressure | None
    limits: LimitSet
    gate: AppliedGate


def patient_age(db: Session, session: InfusionSession, zone: tzinfo) -> int | None:
    """The session's patient's age on the session's day (its start, on the clinic's calendar):
    one gate for the whole session, even one that runs past midnight on a birthday."""
    born = db.scalar(select(Patient.date_of_birth).where(Patient.id == session.patient_id))
    return age_at(born, session.created_at, zone)


def gate_for(
    db: Session, session: InfusionSession, zone: tzinfo, at: datetime | None = None
) -> GateCheck:
    """The pre-dose gate's advice on the session's baseline (as of `at`, if dosing has not
    started), by its profile's age band for the patient's age on the session's day (`zone`: the
    clinic's)."""
    _, _, limits = session_limits(db, session)
    gate = limits.gate.for_age(patient_age(db, session, zone))
    baseline = baseline_pressure(db, session, at)
    advice = gate_advice(gate, baseline) if baseline is not None else None
    return GateCheck(advice, baseline, limits, gate)
