"""Alert endpoints: open alarms, a session's alarms, acknowledging; limits and profiles."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from backend.alerts import acknowledgement, limit_profiles, queries
from backend.alerts.schemas import (
    AcknowledgeIn,
    AlertPublic,
    GateAdvice,
    LimitChangePublic,
    OverridesIn,
    ProfileIn,
    ProfilePublic,
    SessionLimits,
)
from backend.audit import service as audit
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.fields import RowId
from backend.core.roles import Role
from backend.core.timeutil import utcnow
from backend.sessions import service as sessions
from backend.sessions.access import SeenSession, SessionRef, record_change
from backend.users.auth import AdminActor, CurrentActor, NurseActor, RecorderActor

router = APIRouter(tags=["alerts"])


@router.get("/api/alerts", summary="Open alarms of every session, highest priority first")
def open_alerts(actor: CurrentActor, db: SessionDep) -> list[AlertPublic]:
    rows = queries.list_open(db)
    if actor.role is Role.TRAINER:  # trainers see simulated sessions only (sessions/access.py)
        rows = [row for row in rows if row.session.simulated]
    return [AlertPublic.of(row) for row in rows]


@router.get("/api/sessions/{session_id}/alerts", summary="A session's alarms: open, then history")
def session_alerts(
    session_id: RowId,
    _: SeenSession,
    db: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlertPublic]:
    return [AlertPublic.of(row) for row in queries.list_for_session(db, session_id, limit)]


@router.post(
    "/api/alerts/{alert_id}/acknowledge",
    summary="Acknowledge an alarm, optionally noting the action taken",
)
def acknowledge(
    alert_id: RowId, body: AcknowledgeIn, actor: RecorderActor, request: Request, db: SessionDep
) -> AlertPublic:
    row = acknowledgement.acknowledge(db, alert_id, actor, body.note, utcnow(), body.actionable)
    record_change(
        db,
        actor,
        "alarm.acknowledge",
        request,
        SessionRef.of(row.session),
        target=f"alert {row.id}",
        detail={
            "condition": row.condition,
            "priority": row.priority,
            "note": body.note,
            "actionable": body.actionable,
        },
    )
    return AlertPublic.of(row)


@router.get("/api/limits/profiles", summary="Limit profiles; the clinic default first")
def list_profiles(_: CurrentActor, db: SessionDep) -> list[ProfilePublic]:
    return [ProfilePublic.model_validate(p) for p in limit_profiles.list_profiles(db)]


@router.post("/api/limits/profiles", status_code=201, summary="Add a named limit profile")
def create_profile(
    body: ProfileIn, actor: AdminActor, request: Request, db: SessionDep
) -> ProfilePublic:
    profile = limit_profiles.create_profile(db, body.name, body.limits, actor)
    audit.record(
        db,
        actor,
        "limits.profile_create",
        request=request,
        target=profile.name,
        detail={"profile_id": profile.id},
    )
    return ProfilePublic.model_validate(profile)


@router.put("/api/limits/profiles/{profile_id}", summary="Change a profile's limits")
def update_profile(
    profile_id: RowId, body: ProfileIn, actor: AdminActor, request: Request, db: SessionDep
) -> ProfilePublic:
    profile = limit_profiles.get_profile(db, profile_id)
    updated = limit_profiles.update_profile(
        db, profile, body.name, body.limits, actor, body.based_on
    )
    # The values themselves, before and after, are in the profile's change log.
    audit.record(
        db,
        actor,
        "limits.change",
        request=request,
        target=updated.name,
        detail={"profile_id": updated.id},
    )
    return ProfilePublic.model_validate(updated)


@router.get("/api/sessions/{session_id}/limits", summary="The limits in force for a session")
def session_limits(session_id: RowId, _: SeenSession, db: SessionDep) -> SessionLimits:
    session = sessions.get_session(db, session_id)
    profile, overrides, effective = limit_profiles.session_limits(db, session)
    return SessionLimits(
        profile_id=profile.id if profile else None,
        profile_name=profile.name if profile else limit_profiles.DEFAULT_PROFILE,
        spo2_scale=session.spo2_scale,
        scale_limits=limit_profiles.scale_patches(session),
        scale_note=limit_profiles.SCALE2_NOTE if session.spo2_scale == 2 else None,
        overrides=overrides,
        effective=effective,
    )


@router.put(
    "/api/sessions/{session_id}/limits",
    summary="Set this session's own limits, per phase and vital, over its profile",
)
def set_session_limits(
    session_id: RowId,
    body: OverridesIn,
    actor: NurseActor,
    ref: SeenSession,
    request: Request,
    db: SessionDep,
) -> SessionLimits:
    session = sessions.get_session(db, session_id, for_update=True)
    sessions.check_may_work_on(actor, session.simulated)
    limit_profiles.set_overrides(db, session, body.overrides, actor)
    record_change(
        db,
        actor,
        "limits.session_change",
        request,
        SessionRef.of(session),
    )
    return session_limits(session_id, ref, db)


@router.get("/api/sessions/{session_id}/gate", summary="The pre-dose gate's advice for a session")
def gate(session_id: RowId, _: SeenSession, db: SessionDep, settings: SettingsDep) -> GateAdvice:
    session = sessions.get_session(db, session_id)
    check = limit_profiles.gate_for(db, session, settings.clinic_zone)
    return GateAdvice(
        advised_against=check.advice is not None,
        message=check.advice,
        baseline_systolic=check.baseline.systolic if check.baseline else None,
        baseline_diastolic=check.baseline.diastolic if check.baseline else None,
        gate=check.gate,
    )


@router.get(
    "/api/sessions/{session_id}/limits/changes",
    summary="Who changed this session's limits, when, from what to what",
)
def session_limit_changes(
    session_id: RowId, _: SeenSession, db: SessionDep
) -> list[LimitChangePublic]:
    sessions.get_session(db, session_id)
    return [
        LimitChangePublic.model_validate(c)
        for c in limit_profiles.limit_changes(db, session_id=session_id)
    ]


@router.get(
    "/api/limits/profiles/{profile_id}/changes",
    summary="Who changed this profile's limits, when, from what to what",
)
def profile_limit_changes(
    profile_id: RowId, _: CurrentActor, db: SessionDep
) -> list[LimitChangePublic]:
    limit_profiles.get_profile(db, profile_id)
    return [
        LimitChangePublic.model_validate(c)
        for c in limit_profiles.limit_changes(db, profile_id=profile_id)
    ]
