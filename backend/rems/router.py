"""The REMS form of an esketamine session: read, save answers, complete, PDF; and the due list.

People only (an API token has no business with a patient's form), and never trainers: a
simulated session has no REMS form. Nurses, staff and admins read and answer it (staff enter
session data at the chair); completing it attests clinical judgements ("vital signs acceptable
before leaving"), so it is a nurse's or an admin's act, as phase changes are.
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from backend.core.actor import Actor
from backend.core.dependencies import DatabaseDep, SessionDep, SettingsDep
from backend.core.fields import RowId
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.core.timeutil import clinic_day, utcnow
from backend.rems import rules, service
from backend.rems.document import render_form_html
from backend.rems.schemas import (
    DueFormPublic,
    DueFormsPublic,
    FieldPublic,
    RemsComplete,
    RemsFormPublic,
    RemsSave,
)
from backend.reports.pdf import render_pdf
from backend.sessions.access import (
    SeenSession,
    SessionRef,
    record_change,
    record_view,
    session_access,
)
from backend.users.auth import PersonActor

router = APIRouter(tags=["rems"])

FORM_ROLES = frozenset({Role.ADMIN, Role.NURSE, Role.STAFF})
COMPLETE_ROLES = frozenset({Role.ADMIN, Role.NURSE})


def _role_check(allowed: frozenset[Role]) -> Callable[[Actor], Awaitable[Actor]]:
    """People in the `allowed` roles only (a token is refused by PersonActor first)."""

    async def check(actor: PersonActor) -> Actor:
        if actor.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {names}")
        return actor

    return check


FormActor = Annotated[Actor, Depends(_role_check(FORM_ROLES))]
CompleteActor = Annotated[Actor, Depends(_role_check(COMPLETE_ROLES))]
ViewedForm = Annotated[SessionRef, Depends(session_access("rems.view"))]


def _max_age(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.news2_max_age_minutes)


def _public(view: service.FormView, zone: str) -> RemsFormPublic:
    if view.completed_at is not None:
        state = "complete"
    elif view.version > 0:
        state = "in_progress"
    else:
        state = "not_started"
    return RemsFormPublic(
        session_id=view.session_id,
        patient_id=view.patient_id,
        phase=view.phase,
        session_ended=view.session_ended,
        dosing_started_at=view.dosing_started_at,
        due_date=view.due_date,
        overdue=view.overdue,
        status=state,
        completable=view.completable,
        missing=[q.key for q in view.missing],
        version=view.version,
        updated_at=view.updated_at,
        updated_by=view.updated_by,
        completed_at=view.completed_at,
        completed_by=view.completed_by,
        clinic_timezone=zone,
        fields=[
            FieldPublic(
                key=s.question.key,
                label=s.question.label,
                section=s.question.section,
                kind=s.question.kind,
                choices=dict(s.question.choices),
                required=s.question.required,
                value=s.value,
                shown=rules.shown(s.question, s.value),
                source=s.source,
                record_value=s.record_value,
                record_detail=s.record_detail,
                entered=s.entered,
                editable=s.editable and view.completed_at is None,
            )
            for s in view.states
        ],
    )


@router.get(
    "/api/sessions/{session_id}/rems",
    summary="The session's Spravato REMS form: the record's answers and those entered",
    responses={409: {"description": "Not an esketamine session, or a simulated one"}},
)
def get_form(
    session_id: RowId,
    _actor: FormActor,
    _ref: ViewedForm,
    db: SessionDep,
    settings: SettingsDep,
) -> RemsFormPublic:
    zone = settings.clinic_zone
    view = service.read_form(
        db, session_id, zone=zone, now=utcnow(), news2_max_age=_max_age(settings)
    )
    return _public(view, settings.clinic_timezone)


@router.patch(
    "/api/sessions/{session_id}/rems",
    summary="Answer questions of the REMS form (null clears an answer; keys left out are kept)",
    responses={
        409: {
            "description": "Completed, saved by someone else since it was read, or not esketamine"
        },
        422: {"description": "An invalid answer, or one the session record gives (named)"},
    },
)
def save_form(
    session_id: RowId,
    body: RemsSave,
    actor: FormActor,
    ref: SeenSession,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
) -> RemsFormPublic:
    view, changed = service.save_entries(
        db,
        session_id,
        body.entries.changes(),
        body.version,
        actor.label,
        zone=settings.clinic_zone,
        now=utcnow(),
        news2_max_age=_max_age(settings),
    )
    # Which answers changed, never their values: the form itself keeps those.
    record_change(db, actor, "rems.save", request, ref, detail={"fields": sorted(changed)})
    return _public(view, settings.clinic_timezone)


@router.post(
    "/api/sessions/{session_id}/rems/complete",
    summary="Mark the REMS form complete (submitted): every required answer must be given",
    responses={409: {"description": "Answers missing (named), the session goes on, or completed"}},
)
def complete_form(
    session_id: RowId,
    body: RemsComplete,
    actor: CompleteActor,
    ref: SeenSession,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
) -> RemsFormPublic:
    view = service.complete_form(
        db,
        session_id,
        body.version,
        actor.label,
        zone=settings.clinic_zone,
        now=utcnow(),
        news2_max_age=_max_age(settings),
    )
    record_change(db, actor, "rems.complete", request, ref)
    return _public(view, settings.clinic_timezone)


@router.get(
    "/api/sessions/{session_id}/rems.pdf",
    response_class=Response,
    summary="The REMS form as a printable PDF (A4)",
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
        503: {"description": "PDF output is not available on this server"},
    },
)
def form_pdf(
    session_id: RowId,
    actor: FormActor,
    ref: SeenSession,
    request: Request,
    database: DatabaseDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    zone = settings.clinic_zone
    view = service.read_form(
        db, session_id, zone=zone, now=utcnow(), news2_max_age=_max_age(settings)
    )
    pdf = render_pdf(render_form_html(view, zone))
    # A patient's data leaving Vigil: on the trail once made, before it is sent.
    record_view(database, actor, "rems.pdf", request, ref)
    started = view.dosing_started_at
    day = clinic_day(started, zone).strftime("%Y%m%d") if started else "undosed"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="vigil-rems-{session_id}-{day}.pdf"'
        },
    )


@router.get("/api/rems/due", summary="Esketamine sessions whose REMS form is not complete")
def due_list(_actor: FormActor, db: SessionDep, settings: SettingsDep) -> DueFormsPublic:
    zone = settings.clinic_zone
    now = utcnow()
    items, truncated = service.due_forms(db, zone=zone, now=now)
    return DueFormsPublic(
        items=[
            DueFormPublic(
                session_id=i.session_id,
                patient_id=i.patient_id,
                patient_name=i.patient_name,
                clinic_id=i.clinic_id,
                chair=i.chair,
                dosing_started_at=i.dosing_started_at,
                due_date=i.due_date,
                overdue=i.overdue,
                session_ended=i.session_ended,
                status="in_progress" if i.started else "not_started",
                updated_at=i.updated_at,
            )
            for i in items
        ],
        truncated=truncated,
        today=clinic_day(now, zone),
        clinic_timezone=settings.clinic_timezone,
    )
