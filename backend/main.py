"""The app factory: `create_app(settings)` builds Vigil; lifespan opens the database and the bus."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import psycopg
from fastapi import FastAPI, Request, WebSocket
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketState

from backend import __version__
from backend.alerts.limit_profiles import ensure_profiles
from backend.alerts.router import router as alerts_router
from backend.alerts.ticker import run_ticker
from backend.api_docs import mount_api_docs
from backend.core.body_limit import BodyLimit
from backend.core.compression import CompressReads
from backend.core.database import Database, overload_of
from backend.core.errors import (
    MAX_ERRORS,
    DomainError,
    InvalidInput,
    Overloaded,
    shown_error,
)
from backend.core.headers import SecurityHeaders
from backend.core.housekeeping import BATCH_PAUSE_SECONDS as PAUSE
from backend.core.housekeeping import PRUNER, Pruned, PrunePass, run_pruner
from backend.core.lease import ALARM_CLOCK, Lease
from backend.core.settings import Settings
from backend.core.timeouts import BodyDeadline
from backend.core.url_text import AddressText
from backend.course.router import router as course_router
from backend.devices import retention as device_retention
from backend.devices.router import router as devices_router
from backend.fhir.router import router as fhir_router
from backend.frontend import mount_frontend
from backend.health.router import router as health_router
from backend.hl7.listener import mllp_address, start_listener
from backend.patients.router import router as patients_router
from backend.readings.router import router as readings_router
from backend.rems.router import router as rems_router
from backend.reports.router import router as reports_router
from backend.review.router import router as review_router
from backend.scores.router import router as scores_router
from backend.sessions.access import refs_of
from backend.sessions.router import router as sessions_router
from backend.simulation import service as simulation_service
from backend.simulation.router import router as simulation_router
from backend.simulation.runner import SimulationRunner
from backend.sites.router import router as sites_router
from backend.streaming import retention as stream_retention
from backend.streaming.bus import EventBus
from backend.streaming.events import Event
from backend.streaming.notify import Listener, Notifier, libpq_url
from backend.streaming.outbox import install_outbox, last_sequence, load_events
from backend.streaming.router import router as stream_router
from backend.users.router import auth_router, tokens_router, users_router
from backend.users.throttle import LoginThrottle
from backend.views.audit import router as audit_router
from backend.views.chairs import router as chairs_view_router
from backend.views.router import router as views_router

log = logging.getLogger(__name__)
PRUNE_BATCHES_PER_PASS = 100


def _field(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def _problem(errors: list[dict[str, object]]) -> JSONResponse:
    shown = [shown_error(e) for e in errors[:MAX_ERRORS]]
    message = "; ".join(
        f"{_field(e['loc'])}: {e['msg']}"  # type: ignore[arg-type]
        for e in shown
    )
    if len(errors) > len(shown):
        message += f"; and {len(errors) - len(shown)} more errors"
    return JSONResponse(
        status_code=422, content=jsonable_encoder({"detail": shown, "message": message})
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # pydantic prefixes the messages of our own checks with "Value error, ": noise to a nurse.
        errors = [
            {k: v for k, v in e.items() if k != "url"}
            | {"msg": str(e["msg"]).removeprefix("Value error, ")}
            for e in exc.errors()
        ]
        return _problem(errors)

    @app.exception_handler(InvalidInput)
    async def invalid_input(_: Request, exc: InvalidInput) -> JSONResponse:
        return _problem(
            [
                {
                    "type": "invalid_input",
                    "loc": list(exc.loc),
                    "msg": exc.message,
                    "input": exc.value,
                }
            ]
        )

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        if isinstance(exc, Overloaded):
            return _busy(exc)
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.message})

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(DBAPIError)
    async def database_unavailable(conn: HTTPConnection, exc: Exception) -> JSONResponse | None:
        # Busy, full or out of reach: 503 + Retry-After, so a device or the offline queue sends
        # the same reading again later; any other database error is a bug and stays a 500.
        busy = overload_of(exc)
        if busy is None:
            raise exc
        log.warning("answered 503: %s (%s)", busy.message, type(exc).__name__)
        if isinstance(conn, WebSocket):
            await _refuse_stream(conn, busy)
            return None
        return _busy(busy)


async def _refuse_stream(ws: WebSocket, exc: Overloaded) -> None:
    """A stream the database cannot serve: its handshake answered 503 + Retry-After where the
    server can send an HTTP answer, else closed with 1013 (Try Again Later)."""
    if ws.client_state == WebSocketState.CONNECTING:
        if "websocket.http.response" in ws.scope.get("extensions", {}):
            await ws.send_denial_response(_busy(exc))
            return
        await ws.accept()
    if ws.client_state == WebSocketState.CONNECTED:
        await ws.close(code=1013, reason=exc.message[:120])


def _busy(exc: Overloaded) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status_code,
        content={"detail": exc.message},
        headers={"Retry-After": str(exc.retry_after)},
    )


def _check_schema(database: Database) -> int:
    try:
        with database.unit_of_work(write=False) as db:
            return last_sequence(db)
    except (OperationalError, ProgrammingError) as exc:
        where = make_url(database.url).render_as_string(hide_password=True)
        if (down := overload_of(exc)) is not None:
            # Not a missing schema: say what is wrong, so no one migrates a healthy database.
            raise RuntimeError(
                f"the database at {where!r} is unavailable ({down.message}): {exc.orig}"
            ) from exc
        raise RuntimeError(
            f"the database at {where!r} has no Vigil schema; run 'vigil db upgrade' first"
        ) from exc


def _seed_limit_profiles(database: Database) -> None:
    try:
        with database.unit_of_work(write=True) as db:
            ensure_profiles(db)
    except IntegrityError:
        pass  # another worker seeded them at the same moment


def _cross_process(
    database: Database, settings: Settings, bus: EventBus
) -> tuple[Notifier | None, Listener | None]:
    """On PostgreSQL, the NOTIFY sender and the LISTEN connection that wake other processes'
    buses (streaming/notify.py); on SQLite, or with stream_notify off, neither: the poll alone."""
    if database.dialect != "postgresql" or not settings.stream_notify:
        return None, None
    url = libpq_url(database.url)

    def connect() -> "psycopg.Connection[Any]":
        return psycopg.Connection.connect(url, autocommit=True)

    async def connect_async() -> "psycopg.AsyncConnection[Any]":
        return await psycopg.AsyncConnection.connect(url, autocommit=True)

    retry = settings.stream_listen_retry_seconds
    notifier = Notifier(connect, interval=settings.stream_notify_interval_seconds, retry_most=retry)
    return notifier, Listener(connect_async, bus.wake, retry_most=retry)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(
            settings.database_url,
            concurrency=settings.db_concurrency,
            wait=settings.overload_wait_seconds,
        )

        def load_range(after: int, upto: int) -> list[Event]:
            with database.unit_of_work(write=False) as db:
                return load_events(db, after, upto)

        def last_seq() -> int:
            with database.unit_of_work(write=False) as db:
                return last_sequence(db)

        bus = EventBus(
            load_range,
            last_seq=last_seq,
            queue_size=settings.stream_queue_size,
            gap_wait=settings.stream_gap_wait_seconds,
            poll_interval=settings.stream_poll_seconds,
        )
        notifier, listener = _cross_process(database, settings, bus)
        publish = bus.publish_threadsafe
        if notifier is not None:

            def publish(events: list[Event]) -> None:
                bus.publish_threadsafe(events)
                notifier.committed(events[-1].seq)

        install_outbox(
            (database.read_sessions, database.write_sessions),
            publish,
            reserve=bus.reserve_threadsafe,
            release=bus.release_threadsafe,
        )
        bus.start(_check_schema(database))
        if notifier is not None and listener is not None:
            notifier.start()
            listener.start()
        _seed_limit_profiles(database)
        app.state.database = database
        app.state.bus = bus
        # What the routes make on first use belongs to one run of the app (its loop, its
        # database): a test's app is started again and again.
        app.state.credential_watch = None

        def session_kinds(ids: Collection[int]) -> dict[int, tuple[int, bool]]:
            with database.unit_of_work(write=False) as db:
                return {ref.id: (ref.patient_id, ref.simulated) for ref in refs_of(db, ids)}

        app.state.session_kinds = session_kinds
        stop_ticker = asyncio.Event()
        ticker = asyncio.create_task(
            run_ticker(
                database,
                settings.alert_tick_seconds,
                settings.escalation_webhook_url,
                stop_ticker,
                # One process of several sharing the database runs the alarm clock.
                lease=Lease(
                    database, ALARM_CLOCK, settings.lease_seconds, settings.lease_renew_seconds
                ),
            )
        )
        # What is kept for a while only, pruned by one process of several (item 18.5): stream
        # events beyond the resume window, device messages beyond their retention.
        prune_every = settings.stream_prune_seconds
        batch, most = settings.stream_prune_batch, PRUNE_BATCHES_PER_PASS
        stream_window = timedelta(minutes=settings.stream_retention_minutes)
        message_window = timedelta(hours=settings.device_message_retention_hours)

        def prune_stream(now: datetime) -> Pruned:
            return stream_retention.prune(
                database, now, stream_window, batch=batch, max_batches=most, pause=PAUSE
            )

        def prune_messages(now: datetime) -> Pruned:
            return device_retention.prune(
                database, now, message_window, batch=batch, max_batches=most, pause=PAUSE
            )

        pruner = asyncio.create_task(
            run_pruner(
                [
                    PrunePass("stream events", prune_stream),
                    PrunePass("device messages", prune_messages),
                ],
                interval=prune_every,
                stop=stop_ticker,
                # A lapsed pruner is taken over within a few passes: nothing waits on it.
                lease=Lease(database, PRUNER, 3 * prune_every, prune_every),
            )
        )
        simulations = SimulationRunner(
            database, settings.simulation_tick_seconds, settings.clinic_zone
        )
        app.state.simulations = simulations
        # A trainee's discharge is judged on the simulated patient's time (core/simulated_time.py).
        app.state.simulated_observation = simulation_service.observed_min
        if settings.simulator_mllp:
            simulations.send_over_mllp(mllp_address(settings), settings.mllp_port)
        await simulations.start()
        # HL7 v2 over MLLP from monitors and gateways (README "Connecting monitors").
        mllp = await start_listener(settings, database)
        app.state.mllp = mllp
        # What is loaded by now (modules, the app, its schemas) lives as long as the server: out
        # of the collector's sight, a full collection no longer walks it. Every request makes
        # objects with cycles (ORM state); with the whole heap to walk, collections cost a
        # batch of 1,000 readings about 30 us a reading, and 8 once frozen.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await simulations.stop()
            if mllp is not None:  # after the simulations: their monitors send to it
                await mllp.stop()
            stop_ticker.set()
            await ticker
            await pruner
            if notifier is not None and listener is not None:
                await listener.stop()
                await asyncio.to_thread(notifier.stop)
            await bus.stop()
            database.dispose()

    app = FastAPI(
        title="Vigil",
        version=__version__,
        summary="Live vital-signs monitoring and alerting for infusion clinics",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle()
    _install_error_handlers(app)

    # Innermost of the middleware, yet before routing: a body over the cap never reaches
    # authentication or the JSON parser, and its 413 still gets the security headers.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    # Outside the cap, so the cap's own reading of a chunked body is bounded in time too.
    app.add_middleware(BodyDeadline, seconds=settings.body_timeout_seconds)
    app.add_middleware(AddressText)
    app.add_middleware(SecurityHeaders)
    # History pages are large and repetitive (a 4-hour session at 1 Hz is ~6 MB of JSON, mostly
    # nulls): compressed they shrink about tenfold. Small answers (a stored reading) are not
    # worth the CPU and stay as they are.
    app.add_middleware(CompressReads, minimum_size=4096, compresslevel=5)

    for router in (
        # First: routing tries each router in turn (about 9 us each), and a reading POST, the
        # request every monitor sends every second, need not wait behind the others.
        readings_router,
        health_router,
        auth_router,
        users_router,
        tokens_router,
        patients_router,
        course_router,
        sites_router,
        chairs_view_router,
        views_router,
        sessions_router,
        devices_router,
        scores_router,
        reports_router,
        fhir_router,
        rems_router,
        alerts_router,
        simulation_router,
        audit_router,
        review_router,
        stream_router,
    ):
        app.include_router(router)
    mount_api_docs(app)
    mount_frontend(app, settings.frontend_dir)
    return app
