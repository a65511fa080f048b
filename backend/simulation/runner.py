"""The background task that plays every running simulation of this server.

Each tick it moves every simulation's clock on (real time or up to 60x, paused or not), takes the
readings produced since the last tick and stores them in one transaction per simulation. The
simulation objects live on the event loop only (they are not thread-safe); the database work runs
in a worker thread on plain data.

Time on the wire is wall time: a reading simulated `d` seconds before the simulation's present
is stamped `d / speed` seconds before now, so an accelerated session draws a compressed but
ordered chart and no reading is ever in the future. Readings played to reach a start point
part-way into a scenario are stamped at real speed, as history.

After a restart the runs are rebuilt from scenario, seed and the trainers' events, replayed to
the stored position and continued; the downtime is a pause in the patient's life, not a gap.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar

from backend.core.database import Database
from backend.core.timeutil import utcnow
from backend.simulation import service
from backend.simulation.models import SimulationRun
from backend.simulation.service import LOST, RUNNING, Step, TimedPhase, TimedReading
from simulators import SimClock, SimNotice, SimPhase, Simulation, parse_event
from simulators.clock import seconds_ago
from simulators.events import EVENT_ADAPTER, Event
from simulators.outputs import READING_OUTPUTS, SimObservation

if TYPE_CHECKING:
    from backend.hl7.client import MllpClient

log = logging.getLogger(__name__)
T = TypeVar("T")
NOTICES_KEPT = 20
CLAIM_EVERY_S = 2.0  # a third of service.LEASE: one slow claim does not lose a run
IDLE_WRITE_S = 1.0  # a step with nothing in it is stored at most this often
MLLP_TIMEOUT_S = 10.0  # the longest wait for a simulated monitor's ACK
MLLP_ROUNDS = 120  # a simulated monitor's readings in one PCD-01 message at most


@dataclass
class LiveRun:
    session_id: int
    simulation: Simulation
    clock: SimClock
    readings_sent: int
    history_until_s: float = 0.0  # readings up to here are stamped at real speed (a start point)
    notices: deque[str] = field(default_factory=lambda: deque(maxlen=NOTICES_KEPT))
    busy: bool = False
    written_at: float = 0.0  # monotonic time of the last step stored

    def present_s(self) -> float:
        """Where the patient is now: the clock's present (the simulation catches up to it at
        the next step; a run just started has its history still to play)."""
        return max(self.clock.sim_s(time.monotonic()), self.simulation.now_s)

    def step(self, wall_s: float, now: datetime) -> Step:
        """Advance to the clock's present; what came out, stamped in wall time."""
        target = max(self.clock.sim_s(wall_s), self.simulation.now_s)
        outputs = self.simulation.advance(target)
        items: list[TimedReading | TimedPhase] = []
        for output in outputs:
            ago = seconds_ago(output.at_s, target, self.clock.speed, self.history_until_s)
            at = now - timedelta(seconds=ago)
            if isinstance(output, READING_OUTPUTS):
                by_hand = isinstance(output, SimObservation)
                items.append(TimedReading(self.readings_sent, at, dict(output.values), by_hand))
                self.readings_sent += 1
            elif isinstance(output, SimPhase):
                observed = (
                    output.at_s - self.simulation.scenario.dosing_end_s
                    if output.phase == "discharged"
                    else None
                )
                items.append(TimedPhase(at, output.phase, output.gate_override, observed))
            elif isinstance(output, SimNotice):
                self.notices.append(
                    f"{output.at_s / 60:.1f} min · {output.device}: {output.message}"
                )
        return Step(items, target, self.readings_sent)


def rebuild(run: SimulationRun, wall_s: float) -> LiveRun:
    """A run as it stood at its stored position, its trainers' events replayed in order."""
    simulation = service.build(run)
    pending = sorted(run.live_events, key=lambda e: float(e["at_s"]))
    sent = 0
    for entry in pending:
        at_s = float(entry["at_s"])
        if at_s <= run.position_s:
            sent += _count(simulation.advance(at_s))
        event = EVENT_ADAPTER.validate_python(entry["event"])
        if simulation.finished:
            break
        simulation.trigger(event, at_s=max(at_s, simulation.now_s))
    # Position 0 with nothing sent means never advanced: the first second's output (an
    # observation round at the start, say) is still to be sent, not replayed.
    if run.position_s > 0 or run.readings_sent > 0:
        sent += _count(simulation.advance(run.position_s))
    if sent != run.readings_sent:
        log.warning(
            "simulation of session %s replayed %s readings where %s were stored; continuing "
            "(ids already stored are recognised, never duplicated)",
            run.session_id,
            sent,
            run.readings_sent,
        )
    # A run whose history was never played (started by a process that stopped first, or by
    # `vigil setup --demo`) starts where it was meant to, history first.
    history = run.start_at_s if run.position_s < run.start_at_s else 0.0
    clock = SimClock(wall_s, speed=run.speed, sim_s=max(run.position_s, history), paused=run.paused)
    return LiveRun(run.session_id, simulation, clock, sent, history_until_s=history)


def _count(outputs: list[Any]) -> int:
    return sum(isinstance(o, READING_OUTPUTS) for o in outputs)


class SimulationRunner:
    def __init__(self, database: Database, tick_seconds: float, tz: tzinfo = UTC) -> None:
        self._database = database
        self._tick = tick_seconds
        self.tz = tz  # the clinic's: clock times in what the protocol refuses are written in it
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self._claimed_at = 0.0
        self._runs: dict[int, LiveRun] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._mllp: MllpClient | None = None  # set by send_over_mllp

    # ---- lifecycle ----

    async def start(self) -> None:
        self._event_loop = asyncio.get_running_loop()
        await self._claim()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task  # a step being written finishes first
        if self._mllp is not None:
            await self._mllp.close()
        try:
            await asyncio.to_thread(self._release)
        except Exception:
            log.exception("could not release the simulations; they resume after their lease")

    def _release(self) -> None:
        with self._database.unit_of_work(write=True) as db:
            service.release(db, self.owner)

    async def _claim(self) -> None:
        """Keep this process's runs and take over any that no running process holds."""
        self._claimed_at = time.monotonic()
        try:
            rows = await asyncio.to_thread(self._take, list(self._runs))
        except Exception:
            log.exception("could not claim simulations; trying again shortly")
            return
        wall = time.monotonic()
        for row in rows:
            try:
                self._runs[row.session_id] = rebuild(row, wall)
            except Exception:
                log.exception("could not resume the simulation of session %s", row.session_id)

    def _take(self, playing: list[int]) -> list[SimulationRun]:
        with self._database.unit_of_work(write=True) as db:
            rows = service.claim(db, self.owner, utcnow(), playing)
            db.flush()
            db.expunge_all()
            return rows

    async def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._tick)
            if time.monotonic() - self._claimed_at >= CLAIM_EVERY_S:
                await self._claim()
            for live in list(self._runs.values()):
                if self._stop.is_set():
                    break
                await self._step(live)

    async def _step(self, live: LiveRun) -> None:
        if live.busy or live.clock.paused:
            return
        live.busy = True
        try:
            wall = time.monotonic()
            step = live.step(wall, utcnow())
            if not step.items and wall - live.written_at < IDLE_WRITE_S:
                # Nothing measured since the last step (real time, between two readings): no
                # write yet. Replaying from the older position after a restart produces nothing
                # in between; an idle write now and then still notices a session ended by hand.
                return
            live.written_at = wall
            if self._mllp is not None:
                step = await self._send_over_mllp(live.session_id, step)
            status = await asyncio.to_thread(self._record, live.session_id, step)
        except Exception:
            log.exception("simulation of session %s: step failed; retrying", live.session_id)
            # Rebuild from what is stored, so nothing produced but unstored is skipped.
            await self._reload(live.session_id)
            return
        finally:
            live.busy = False
        if status != RUNNING:
            if status == LOST:
                log.warning(
                    "simulation of session %s is played by another process now", live.session_id
                )
            self._runs.pop(live.session_id, None)

    # ---- the monitors over MLLP (VIGIL_SIMULATOR_MLLP) ----

    def send_over_mllp(self, host: str, port: int) -> None:
        """From now on the simulated monitors' readings go as HL7 PCD-01 messages to the MLLP
        listener at host:port (the path a real monitor's take); by-hand observations and
        phase changes stay on the direct path."""
        from backend.hl7.client import MllpClient

        self._mllp = MllpClient(host, port, timeout=MLLP_TIMEOUT_S)

    async def _send_over_mllp(self, session_id: int, step: Step) -> Step:
        """Send the step's monitor readings as PCD-01 messages, each acknowledged (committed)
        before the next; the step without them, for the rest to be stored as usual. Readings
        go first, so a blood pressure taken before a phase change is stored before it (the
        pre-dose gate needs it).

        One message carries the step's readings, up to MLLP_ROUNDS of them, each at its own
        time, as a monitor sends a backlog: one message a reading took a commit each, and the
        history of a run started 20 minutes in (1,200 readings), or a run at 60x, then took
        longer to send than to play. Raises when the listener does not take them: the step is
        retried from what is stored. A message the listener stored before its step failed is
        sent again under the same control id only if the retried step ends where it did (then
        acknowledged and stored once); a retried step that runs further is a new message, and
        that simulated session may chart those seconds twice. Only a failure of the step's own
        write, just after the listener committed, leaves that window."""
        from backend.hl7 import pcd01
        from backend.hl7.client import SendError

        assert self._mllp is not None
        monitor: list[TimedReading] = []
        rest: list[TimedReading | TimedPhase] = []
        for item in step.items:
            by_monitor = isinstance(item, TimedReading) and not item.observed_by_hand
            (monitor if by_monitor else rest).append(item)  # type: ignore[arg-type]
        if not monitor:
            return step
        bed = await asyncio.to_thread(self._bed, session_id)
        if bed is None:  # ended, or no longer this process's: record() says which
            return Step(rest, step.position_s, step.readings_sent)
        device = service.device_eui64(session_id)
        for start in range(0, len(monitor), MLLP_ROUNDS):
            chunk = monitor[start : start + MLLP_ROUNDS]
            rounds = [
                (
                    item.taken_at,
                    {
                        k: float(v)
                        for k, v in item.values.items()
                        if isinstance(v, int | float) and not isinstance(v, bool)
                    },
                )
                for item in chunk
            ]
            rounds = [(at, values) for at, values in rounds if values]
            if not rounds:
                continue
            text = pcd01.build_oru_series(
                device=device,
                rounds=rounds,
                control_id=service.control_id(session_id, chunk[0].index, chunk[-1].index),
                sender=service.MLLP_SENDER,
                bed=bed,
            )
            ack = await self._mllp.send(text.encode("utf-8"))
            if ack.code in ("AR", "CR"):
                raise SendError(f"the MLLP listener answered AR: {'; '.join(ack.errors)}")
            if not ack.accepted:
                # As a monitor would show a dash: dropped, their indexes used up.
                log.warning(
                    "simulated readings %s-%s of session %s refused by the listener: %s",
                    chunk[0].index,
                    chunk[-1].index,
                    session_id,
                    "; ".join(ack.errors),
                )
        return Step(rest, step.position_s, step.readings_sent)

    def _bed(self, session_id: int) -> tuple[str, str, str] | None:
        with self._database.unit_of_work(write=False) as db:
            return service.mllp_bed(db, session_id, self.owner)

    def _record(self, session_id: int, step: Step) -> str:
        with self._database.unit_of_work(write=True) as db:
            return service.record(db, session_id, step, self.owner, self.tz)

    async def _reload(self, session_id: int) -> None:
        def load() -> SimulationRun:
            with self._database.unit_of_work(write=False) as db:
                run = service.get_run(db, session_id)
                db.expunge(run)
                return run

        run = await asyncio.to_thread(load)
        if run.status == RUNNING:
            self._runs[session_id] = rebuild(run, time.monotonic())
        else:
            self._runs.pop(session_id, None)

    # ---- what the API asks for ----

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` on the runner's own loop, where the simulations live (a request may be
        served on another loop, as in tests; uvicorn serves everything on this one)."""
        if self._event_loop is None or asyncio.get_running_loop() is self._event_loop:
            return fn(*args, **kwargs)

        async def on_loop() -> T:
            return fn(*args, **kwargs)

        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(on_loop(), self._event_loop)
        )

    def add(self, run: SimulationRun) -> None:
        """A run this process just started (and owns)."""
        self._runs[run.session_id] = rebuild(run, time.monotonic())

    def live(self, session_id: int) -> LiveRun | None:
        return self._runs.get(session_id)

    def trigger(self, session_id: int, data: dict[str, Any]) -> tuple[float, Event]:
        """Apply a trainer's event now; returns when (simulated seconds) and the event."""
        live = self._runs.get(session_id)
        if live is None:
            raise LookupError(session_id)
        event = parse_event(data)
        at_s = live.present_s()  # not inside a start point's history still to be played
        live.simulation.trigger(event, at_s=at_s)
        return at_s, event

    def control(self, session_id: int, *, speed: float, paused: bool) -> None:
        live = self._runs.get(session_id)
        if live is None:
            return
        wall = time.monotonic()
        if speed != live.clock.speed:
            live.clock.set_speed(speed, wall)
        if paused and not live.clock.paused:
            live.clock.pause(wall)
        elif not paused and live.clock.paused:
            live.clock.resume(wall)

    def forget(self, session_id: int) -> None:
        self._runs.pop(session_id, None)
