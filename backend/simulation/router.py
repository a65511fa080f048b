"""Simulation endpoints for trainers: scenarios, starting a simulated session, live events,
pace, stopping. The readings themselves reach everyone through the normal stream."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from backend.core.actor import Actor
from backend.core.database import Database
from backend.core.dependencies import DatabaseDep
from backend.core.errors import Conflict
from backend.core.fields import RowId
from backend.core.roles import Role
from backend.core.timeutil import utcnow
from backend.sessions import service as sessions
from backend.simulation import service
from backend.simulation.models import SimulationRun
from backend.simulation.runner import SimulationRunner
from backend.simulation.schemas import (
    LiveEventPublic,
    ScenarioPublic,
    ScheduledEventPublic,
    SimulationControl,
    SimulationPublic,
    SimulationStart,
)
from backend.simulation.service import StartRequest
from backend.users.auth import CurrentActor, require_role
from simulators import list_scenarios, load_packaged

router = APIRouter(tags=["simulation"])
# Trainers (and admins) run simulations; everyone signed in may look at them.
TrainerActor = Annotated[Actor, Depends(require_role(Role.TRAINER))]


def _runner(request: Request) -> SimulationRunner:
    runner: SimulationRunner = request.app.state.simulations
    return runner


def _public(database: Database, runner: SimulationRunner, session_id: int) -> SimulationPublic:
    with database.unit_of_work(write=False) as db:
        run = service.get_run(db, session_id)
        session = sessions.get_session(db, session_id)
        last = session.phase_changes[-1].note if session.phase_changes else None
        return _describe(run, session.chair, session.phase, runner, service.refusal(last))


def _describe(
    run: SimulationRun,
    chair: str,
    phase: str,
    runner: SimulationRunner,
    refused: str | None = None,
) -> SimulationPublic:
    live = runner.live(run.session_id)
    simulation = live.simulation if live else service.build(run)
    scenario = simulation.scenario
    return SimulationPublic(
        session_id=run.session_id,
        chair=chair,
        scenario=run.scenario_name,
        title=scenario.title,
        seed=run.seed,
        patient={
            k: round(float(v), 2)
            for k, v in vars(simulation.patient).items()
            if isinstance(v, int | float)
        },
        speed=live.clock.speed if live else run.speed,
        paused=live.clock.paused if live else run.paused,
        status=run.status,
        phase=phase,
        ended_because=refused,
        position_s=live.present_s() if live else run.position_s,
        end_s=scenario.end_s,
        truth=(
            {k: round(v, 1) for k, v in live.simulation.truth.as_dict().items()} if live else None
        ),
        notices=list(live.notices) if live else [],
        events=[
            LiveEventPublic(
                at_s=e["at_s"], kind=str(e["event"].get("kind")), by=e["by"], event=e["event"]
            )
            for e in run.live_events
        ],
        started_by=run.started_by,
        started_at=run.started_at,
    )


@router.get("/api/simulations/scenarios", summary="The scenarios shipped with Vigil")
def scenarios(_: CurrentActor) -> list[ScenarioPublic]:
    found = []
    for name in list_scenarios():
        scenario = load_packaged(name)
        found.append(
            ScenarioPublic(
                name=name,
                title=scenario.title,
                description=scenario.description.strip(),
                regimen=scenario.regimen.describe(),
                minutes=scenario.end_s / 60,
                events=[
                    ScheduledEventPublic(at_s=e.seconds, kind=e.event.kind) for e in scenario.events
                ],
                gate_override=(
                    f"{scripted.by}: {scripted.reason}"
                    if (scripted := scenario.timeline.gate_override)
                    else None
                ),
            )
        )
    return found


@router.get("/api/simulations", summary="Simulations, running first, then the most recent")
async def list_simulations(
    request: Request, _: CurrentActor, database: DatabaseDep
) -> list[SimulationPublic]:
    runner = _runner(request)

    def load() -> list[tuple[SimulationRun, str, str, str | None]]:
        with database.unit_of_work(write=False) as db:
            return service.recent(db)

    rows = await run_in_threadpool(load)
    described = [
        _describe(row, chair, phase, runner, refused) for row, chair, phase, refused in rows
    ]
    return sorted(described, key=lambda s: s.status != service.RUNNING)


@router.post("/api/simulations", status_code=201, summary="Start a simulated session on a chair")
async def start_simulation(
    body: SimulationStart, request: Request, actor: TrainerActor, database: DatabaseDep
) -> SimulationPublic:
    runner = _runner(request)
    name = body.scenario or "your scenario file"
    text = await run_in_threadpool(_scenario_text, body)
    start = StartRequest(
        scenario_name=name,
        scenario_text=text,
        scenario_field="scenario" if body.scenario else "scenario_toml",
        patient=body.patient.given() if body.patient else None,
        chair=body.chair,
        chair_id=body.chair_id,
        patient_name=body.patient_name,
        seed=body.seed,
        speed=body.speed,
        start_at_s=body.start_at_min * 60,
        limit_profile_id=body.limit_profile_id,
    )

    def create() -> SimulationRun:
        with database.unit_of_work(write=True) as db:
            run = service.start(db, start, actor, utcnow(), runner.owner)
            db.flush()
            db.expunge(run)
            return run

    run = await run_in_threadpool(create)
    # Added once committed, so the runner's first step finds the run.
    await runner.call(runner.add, run)
    return await run_in_threadpool(_public, database, runner, run.session_id)


def _scenario_text(body: SimulationStart) -> str:
    if body.scenario_toml is not None:
        return body.scenario_toml
    assert body.scenario is not None
    if body.scenario not in list_scenarios():
        raise RequestValidationError(
            [
                {
                    "type": "unknown_scenario",
                    "loc": ("body", "scenario"),
                    "msg": f"no such scenario; available: {', '.join(list_scenarios())}",
                    "input": body.scenario,
                }
            ]
        )
    return service.scenario_text(body.scenario)


@router.get("/api/simulations/{session_id}", summary="One simulation, with the patient's truth")
async def get_simulation(
    session_id: RowId, request: Request, _: CurrentActor, database: DatabaseDep
) -> SimulationPublic:
    return await run_in_threadpool(_public, database, _runner(request), session_id)


@router.post(
    "/api/simulations/{session_id}/events",
    summary="Trigger an event now: a surge, desaturation, sensor off, steering a vital…",
)
async def trigger_event(
    session_id: RowId,
    request: Request,
    actor: TrainerActor,
    database: DatabaseDep,
    event: Annotated[dict[str, Any], Body(examples=[{"kind": "desaturation"}])],
) -> SimulationPublic:
    runner = _runner(request)
    await run_in_threadpool(_check_running, database, session_id)
    try:
        at_s, parsed = await runner.call(runner.trigger, session_id, event)
    except LookupError:
        raise Conflict(f"the simulation of session {session_id} is not running here") from None
    except ValidationError as exc:
        # pydantic puts the event's kind (the union's tag) first in each location; the request
        # has no such field, so the error names the field as sent.
        kind = event.get("kind")
        raise RequestValidationError(
            [
                {**e, "loc": ("body", *(e["loc"][1:] if e["loc"][:1] == (kind,) else e["loc"]))}
                for e in exc.errors(include_url=False)
            ]
        ) from None
    except ValueError as exc:
        raise Conflict(str(exc)) from None

    def save() -> None:
        with database.unit_of_work(write=True) as db:
            service.add_event(db, session_id, at_s, parsed.model_dump(mode="json"), actor.label)

    await run_in_threadpool(save)
    return await run_in_threadpool(_public, database, runner, session_id)


def _check_running(database: Database, session_id: int) -> None:
    with database.unit_of_work(write=False) as db:
        service.check_running(service.get_run(db, session_id))


@router.post("/api/simulations/{session_id}/control", summary="Pause, resume or change speed")
async def control(
    session_id: RowId,
    body: SimulationControl,
    request: Request,
    _: TrainerActor,
    database: DatabaseDep,
) -> SimulationPublic:
    runner = _runner(request)

    def save() -> SimulationRun:
        with database.unit_of_work(write=True) as db:
            run = service.get_run(db, session_id)
            service.check_running(run)
            speed = body.speed if body.speed is not None else run.speed
            paused = body.paused if body.paused is not None else run.paused
            return service.set_control(db, session_id, speed=speed, paused=paused)

    run = await run_in_threadpool(save)
    await runner.call(runner.control, session_id, speed=run.speed, paused=run.paused)
    return await run_in_threadpool(_public, database, runner, session_id)


@router.post("/api/simulations/{session_id}/stop", summary="Stop: the session ends (stopped)")
async def stop(
    session_id: RowId, request: Request, actor: TrainerActor, database: DatabaseDep
) -> SimulationPublic:
    runner = _runner(request)
    await runner.call(runner.forget, session_id)

    def save() -> None:
        with database.unit_of_work(write=True) as db:
            service.stop(db, session_id, actor, runner.tz)

    await run_in_threadpool(save)
    return await run_in_threadpool(_public, database, runner, session_id)
