"""The monitor: what each device reports of the true vitals, and when (clinical.md section 3).

- Pulse oximeter: SpO2 and pulse rate about every second, averaged over a few seconds as real
  probes do, SpO2 wandering ±1 around the truth (ISO 80601-2-61 allows ±2 when still) and pulse
  ±1–2/min. It needs a few seconds to find the pulse after being put on. Short dropouts and
  motion artefacts (falsely low SpO2, a pulse counted double or half, missing values) happen on
  their own now and then, and on demand.
- Non-invasive blood pressure: only on its cycle (every few minutes) or when asked; each
  measurement takes 20–40 s and reports systolic, diastolic and pulse when it ends. Error is a
  per-session bias within ±4 mmHg plus SD ~4.5 mmHg per reading (ISO 81060-2: mean ≤ 5,
  SD ≤ 8). No reading is possible with a pulse below 40 or above 240/min, during movement or
  when the cuff has failed: the monitor says so instead.
- Capnography (optional): respiratory rate every few seconds.
- Thermometer (optional): temperature on its own interval.

Every value reported is an integer within Vigil's possible ranges (temperature: one decimal,
25–45 °C), and diastolic is always below systolic.
"""

import math
import random

from simulators.noise import Wander
from simulators.outputs import SimNotice, SimOutput, SimReading
from simulators.physiology import Vitals

OXIMETER = "pulse_oximeter"
CUFF = "nibp_cuff"
CAPNOGRAPH = "capnograph"
THERMOMETER = "thermometer"

NEVER = math.inf
CUFF_MIN_PULSE = 40
CUFF_MAX_PULSE = 240


def _int_within(value: float, low: int, high: int) -> int:
    return min(max(round(value), low), high)


def _smoothing(dt_s: float, tau_s: float) -> float:
    """The weight of a new sample in an exponential average with time constant `tau_s`."""
    return 1 - math.exp(-dt_s / tau_s)


class PulseOximeter:
    SPO2_AVERAGING_S = 6.0
    PULSE_AVERAGING_S = 3.0
    DROPOUTS_PER_HOUR = 4.0
    MOTIONS_PER_HOUR = 1.0

    def __init__(self, rng: random.Random, spontaneous_artefacts: bool = True) -> None:
        self._rng = rng
        self._artefacts = spontaneous_artefacts
        self._attached = True
        self._off_until = NEVER
        self._searching_until = rng.uniform(5, 9)  # finding the pulse after being put on
        self._dropout_until = -NEVER
        self._motion_until = -NEVER
        self._spo2_error = Wander(rng, 0.6, 8)
        self._spo2: float | None = None
        self._pulse: float | None = None
        self._t_s = 0.0

    @property
    def attached(self) -> bool:
        return self._attached

    def sensor_off(self, t_s: float, duration_s: float | None) -> list[SimOutput]:
        self._attached = False
        self._off_until = NEVER if duration_s is None else t_s + duration_s
        return [SimNotice(t_s, OXIMETER, "SpO2 sensor off")]

    def sensor_on(self, t_s: float) -> list[SimOutput]:
        if self._attached:
            return []
        self._attached = True
        self._off_until = NEVER
        self._searching_until = t_s + self._rng.uniform(5, 9)
        self._spo2 = self._pulse = None
        return [SimNotice(t_s, OXIMETER, "SpO2 sensor attached; searching for pulse")]

    def motion(self, t_s: float, duration_s: float) -> list[SimOutput]:
        self._motion_until = max(self._motion_until, t_s + duration_s)
        return [SimNotice(t_s, OXIMETER, "SpO2 artefact: patient movement")]

    def tick(self, t_s: float, vitals: Vitals) -> list[SimOutput]:
        dt_s = t_s - self._t_s
        self._t_s = t_s
        outputs: list[SimOutput] = []
        if not self._attached and t_s >= self._off_until:
            outputs += self.sensor_on(t_s)
        if not self._attached:
            return outputs
        self._spo2_error.step(self._rng, dt_s)
        self._average(vitals, dt_s)
        if t_s < self._searching_until:
            return outputs
        if self._artefacts:
            outputs += self._spontaneous(t_s, dt_s)
        if t_s < self._dropout_until:
            return outputs
        values = self._artefact_values(vitals) if t_s < self._motion_until else self._values()
        if values:
            outputs.append(SimReading(t_s, values, OXIMETER))
        return outputs

    def _average(self, vitals: Vitals, dt_s: float) -> None:
        if self._spo2 is None or self._pulse is None:
            self._spo2, self._pulse = vitals.spo2, vitals.heart_rate
            return
        self._spo2 += (vitals.spo2 - self._spo2) * _smoothing(dt_s, self.SPO2_AVERAGING_S)
        self._pulse += (vitals.heart_rate - self._pulse) * _smoothing(dt_s, self.PULSE_AVERAGING_S)

    def _spontaneous(self, t_s: float, dt_s: float) -> list[SimOutput]:
        if self._rng.random() < self.DROPOUTS_PER_HOUR * dt_s / 3600:
            self._dropout_until = t_s + self._rng.uniform(2, 8)
        if self._rng.random() < self.MOTIONS_PER_HOUR * dt_s / 3600:
            return self.motion(t_s, self._rng.uniform(8, 25))
        return []

    def _values(self) -> dict[str, int | float]:
        assert self._spo2 is not None and self._pulse is not None
        return {
            "heart_rate": _int_within(self._pulse + self._rng.gauss(0, 0.8), 0, 350),
            "spo2": _int_within(self._spo2 + self._spo2_error.value, 0, 100),
        }

    def _artefact_values(self, vitals: Vitals) -> dict[str, int | float]:
        rng = self._rng
        if rng.random() < 0.35:
            return {}  # the monitor blanks the value
        # Movement is counted as extra beats or misses beats; it lowers apparent saturation.
        pulse = vitals.heart_rate * rng.choice((1.0, 1.0, 0.5, 1.6)) + rng.gauss(0, 8)
        values: dict[str, int | float] = {"heart_rate": _int_within(pulse, 20, 350)}
        if rng.random() < 0.7:
            values["spo2"] = _int_within(vitals.spo2 - abs(rng.gauss(0, 6)), 0, 100)
        return values


class BloodPressureCuff:
    """An oscillometric cuff on an automatic cycle; `interval_s` None means manual only."""

    ERROR_SD_MMHG = 4.5
    BIAS_LIMIT_MMHG = 4.0

    def __init__(self, rng: random.Random, interval_s: float | None) -> None:
        self._rng = rng
        self._interval_s = interval_s
        self._next_cycle_s = 0.0 if interval_s else NEVER
        self._started_s: float | None = None
        self._ends_s = NEVER
        self._failed_from = NEVER
        self._failed_until = -NEVER
        self._motion_from = NEVER
        self._motion_until = -NEVER
        self._bias = (self._bias_draw(), self._bias_draw())

    def _bias_draw(self) -> float:
        limit = self.BIAS_LIMIT_MMHG
        return min(max(self._rng.gauss(0, 2), -limit), limit)

    @property
    def measuring(self) -> bool:
        return self._started_s is not None

    def measure_now(self, t_s: float, vitals: Vitals) -> list[SimOutput]:
        if self.measuring:
            return [SimNotice(t_s, CUFF, "NIBP measurement already in progress")]
        # Inflating past a higher systolic takes longer.
        seconds = self._rng.uniform(22, 32) + max(0.0, vitals.systolic - 120) / 10
        self._started_s = t_s
        self._ends_s = t_s + min(max(round(seconds), 20), 40)
        return []

    def fail(self, t_s: float, duration_s: float) -> None:
        self._failed_from = t_s
        self._failed_until = t_s + duration_s

    def motion(self, t_s: float, duration_s: float) -> None:
        self._motion_from = t_s
        self._motion_until = t_s + duration_s

    def tick(self, t_s: float, vitals: Vitals) -> list[SimOutput]:
        outputs: list[SimOutput] = []
        if self._started_s is not None and t_s >= self._ends_s:
            outputs.append(self._finish(t_s, self._started_s, vitals))
            self._started_s, self._ends_s = None, NEVER
        if t_s >= self._next_cycle_s:
            assert self._interval_s is not None
            while self._next_cycle_s <= t_s:
                self._next_cycle_s += self._interval_s
            # A cycle that falls during a manual measurement is skipped, as monitors do.
            if not self.measuring:
                self.measure_now(t_s, vitals)
        return outputs

    def _overlaps(self, start: float, end: float, since: float, until: float) -> bool:
        return since < end and start < until

    def _finish(self, t_s: float, started_s: float, vitals: Vitals) -> SimOutput:
        if self._overlaps(started_s, t_s, self._failed_from, self._failed_until):
            return SimNotice(t_s, CUFF, "cuff could not measure: check cuff and tubing")
        if self._overlaps(started_s, t_s, self._motion_from, self._motion_until):
            return SimNotice(t_s, CUFF, "cuff could not measure: patient movement")
        if not CUFF_MIN_PULSE <= vitals.heart_rate <= CUFF_MAX_PULSE:
            return SimNotice(t_s, CUFF, "cuff could not measure: pulse out of range")
        rng = self._rng
        systolic = _int_within(vitals.systolic + self._bias[0] + rng.gauss(0, 4.5), 1, 350)
        diastolic = vitals.diastolic + self._bias[1] + rng.gauss(0, 4.0)
        values: dict[str, int | float] = {
            "systolic": systolic,
            "diastolic": _int_within(diastolic, 0, min(300, systolic - 1)),
            "heart_rate": _int_within(vitals.heart_rate + rng.gauss(0, 1.5), 0, 350),
        }
        return SimReading(t_s, values, CUFF)


class Capnograph:
    """Respiratory rate from exhaled CO2, reported every `interval_s`."""

    AVERAGING_S = 15.0

    def __init__(self, rng: random.Random, interval_s: float = 5.0) -> None:
        self._rng = rng
        self._interval_s = interval_s
        self._next_s = interval_s
        self._rate: float | None = None
        self._t_s = 0.0

    def tick(self, t_s: float, vitals: Vitals) -> list[SimOutput]:
        dt_s, self._t_s = t_s - self._t_s, t_s
        if self._rate is None:
            self._rate = vitals.respiratory_rate
        self._rate += (vitals.respiratory_rate - self._rate) * _smoothing(dt_s, self.AVERAGING_S)
        if t_s < self._next_s:
            return []
        self._next_s += self._interval_s
        value = _int_within(self._rate + self._rng.gauss(0, 0.5), 0, 100)
        return [SimReading(t_s, {"respiratory_rate": value}, CAPNOGRAPH)]


class Thermometer:
    """A temperature taken every `interval_s`, starting at the beginning of the session."""

    def __init__(self, rng: random.Random, interval_s: float) -> None:
        self._rng = rng
        self._interval_s = interval_s
        self._next_s = 0.0

    def tick(self, t_s: float, vitals: Vitals) -> list[SimOutput]:
        if t_s < self._next_s:
            return []
        while self._next_s <= t_s:
            self._next_s += self._interval_s
        value = round(min(max(vitals.temperature + self._rng.gauss(0, 0.05), 25.0), 45.0), 1)
        return [SimReading(t_s, {"temperature": value}, THERMOMETER)]
