"""One simulated session: a scenario played out second by second into monitor output.

Time moves on a fixed one-second grid whatever the caller asks for, and each part of the model
draws from its own random stream derived from the seed. So the same scenario and seed give the
same readings however `advance` is chunked (one call to 600 s or 600 calls of 1 s), and a
trainer's live event changes only what happens after it.

Within one second, in order: phase changes due, events due (scheduled or triggered, in the
order given), the body moves on, then each device reports.
"""

import heapq
import itertools
import random

from simulators.devices import BloodPressureCuff, Capnograph, PulseOximeter, Thermometer
from simulators.events import (
    CuffFailure,
    CuffMeasureNow,
    Desaturation,
    Event,
    HypertensiveSurge,
    MotionArtefact,
    Release,
    SensorOff,
    SensorOn,
    Steer,
    Tachycardia,
    Vasovagal,
)
from simulators.observer import ObservationRound
from simulators.outputs import Decision, Phase, SimOutput, SimPhase
from simulators.patient import Patient, sample_patient
from simulators.physiology import Physiology, Vitals
from simulators.scenario import Scenario

TICK_S = 1.0


def random_stream(seed: int, name: str) -> random.Random:
    """An independent, reproducible stream: string seeds are hashed with SHA-512 by `random`."""
    return random.Random(f"vigil-simulator:{seed}:{name}")  # noqa: S311 - simulation, not secrets


class Simulation:
    """A scenario played for one patient; `advance` it and read what the monitor shows.

    Without `patient`, one is drawn from the seed with the scenario's `[patient]` fields fixed;
    a `patient` given here is used as is.
    """

    def __init__(self, scenario: Scenario, seed: int, patient: Patient | None = None) -> None:
        self.scenario = scenario
        self.seed = seed
        if patient is None:
            patient = sample_patient(random_stream(seed, "patient"), **scenario.patient.given())
        self.patient = patient
        self._body = Physiology(
            patient,
            scenario.regimen,
            scenario.dosing_start_s / 60,
            random_stream(seed, "physiology"),
        )
        devices = scenario.devices
        self._oximeter = (
            PulseOximeter(random_stream(seed, "oximeter"), devices.spontaneous_artefacts)
            if devices.oximeter
            else None
        )
        self._cuff = BloodPressureCuff(
            random_stream(seed, "cuff"), devices.cuff_interval_min * 60 or None
        )
        self._capnograph = (
            Capnograph(random_stream(seed, "capnograph")) if devices.capnography else None
        )
        self._thermometer = (
            Thermometer(random_stream(seed, "thermometer"), devices.thermometer_interval_min * 60)
            if devices.thermometer_interval_min
            else None
        )
        self._observer = (
            ObservationRound(random_stream(seed, "observer"), devices.observation_round_min * 60)
            if devices.observation_round_min
            else None
        )
        self._phases: list[tuple[float, Phase]] = [
            (scenario.dosing_start_s, "infusing"),
            (scenario.dosing_end_s, "recovery"),
            (scenario.end_s, "discharged"),
        ]
        scripted = scenario.timeline.gate_override
        self._gate_override = Decision(scripted.by, scripted.reason) if scripted else None
        self._order = itertools.count()
        self._events: list[tuple[float, int, Event]] = []
        for scheduled in scenario.events:
            self._schedule(scheduled.seconds, scheduled.event)
        self._next_tick = 0
        self._now_s = 0.0
        self._phase: str = "baseline"

    @property
    def now_s(self) -> float:
        """Simulated seconds since the session started, as far as the caller has advanced."""
        return self._now_s

    @property
    def phase(self) -> str:
        return self._phase

    @property
    def finished(self) -> bool:
        """True once the patient has been discharged: nothing more will be emitted."""
        return self._phase == "discharged"

    @property
    def end_s(self) -> float:
        return self.scenario.end_s

    @property
    def truth(self) -> Vitals:
        """The body's actual vitals now (for a trainer's view; the monitor shows `advance`)."""
        return self._body.vitals

    @property
    def plasma_ng_ml(self) -> float:
        return self._body.plasma_ng_ml

    def advance(self, until_s: float) -> list[SimOutput]:
        """Run the session up to `until_s` and return what happened, in time order."""
        if until_s < self._now_s:
            raise ValueError(f"cannot go back from {self._now_s:g} s to {until_s:g} s")
        outputs: list[SimOutput] = []
        while not self.finished and self._next_tick * TICK_S <= until_s:
            outputs += self._tick(self._next_tick * TICK_S)
            self._next_tick += 1
        self._now_s = until_s
        return outputs

    def trigger(self, event: Event, at_s: float | None = None) -> None:
        """Apply `event` from now (or from a later `at_s`); its effects show in later output."""
        if self.finished:
            raise ValueError("the simulated session has ended")
        when = self._now_s if at_s is None else at_s
        if when < self._now_s:
            raise ValueError(
                f"cannot trigger at {when:g} s: the simulation is at {self._now_s:g} s"
            )
        self._schedule(when, event)

    def _schedule(self, at_s: float, event: Event) -> None:
        # The counter keeps events due at the same time in the order they were given.
        heapq.heappush(self._events, (at_s, next(self._order), event))

    def _tick(self, t_s: float) -> list[SimOutput]:
        outputs: list[SimOutput] = []
        while self._phases and self._phases[0][0] <= t_s:
            _, phase = self._phases.pop(0)
            self._phase = phase
            override = self._gate_override if phase == "infusing" else None
            outputs.append(SimPhase(t_s, phase, override))
        if self.finished:
            return outputs
        while self._events and self._events[0][0] <= t_s:
            _, _, event = heapq.heappop(self._events)
            outputs += self._apply(event, t_s)
        vitals = self._body.step(t_s)
        for device in (self._oximeter, self._capnograph, self._cuff, self._thermometer):
            if device is not None:
                outputs += device.tick(t_s, vitals)
        if self._observer is not None:
            outputs += self._observer.tick(t_s, vitals, self._body.effect.sedation)
        return outputs

    def _apply(self, event: Event, t_s: float) -> list[SimOutput]:
        oximeter, cuff = self._oximeter, self._cuff
        match event:
            case HypertensiveSurge() | Tachycardia() | Desaturation() | Vasovagal():
                self._body.apply(event, t_s)
            case Steer() | Release():
                self._body.apply(event, t_s)
            case SensorOff():
                return oximeter.sensor_off(t_s, event.duration_s) if oximeter else []
            case SensorOn():
                return oximeter.sensor_on(t_s) if oximeter else []
            case CuffFailure():
                cuff.fail(t_s, event.duration_s)
            case CuffMeasureNow():
                return cuff.measure_now(t_s, self._body.vitals)
            case MotionArtefact():
                cuff.motion(t_s, event.duration_s)
                return oximeter.motion(t_s, event.duration_s) if oximeter else []
        return []
