"""The measuring tool of the alarm-sound test, checked on tones made here whose answers are
known: a measurement that cannot tell a compliant pulse from the old one would prove nothing."""

import math

import pytest

from tests.sound_spectrum import find_pulses, spectrum

RATE = 48_000


def tone(
    f0: float, amplitudes: list[float], duration_s: float, ramp_s: float, lead_s: float = 0.05
) -> list[float]:
    """A pulse of harmonics `amplitudes` (fundamental first) whose linear ramps cross 50 % at
    `lead_s` and `lead_s + duration_s`, in silence."""
    total = int((lead_s + duration_s + ramp_s + 0.05) * RATE)
    out = []
    t0, t1 = lead_s - ramp_s / 2, lead_s + duration_s + ramp_s / 2
    for i in range(total):
        t = i / RATE
        gain = max(0.0, min(1.0, (t - t0) / ramp_s, (t1 - t) / ramp_s))
        wave = sum(a * math.sin(2 * math.pi * f0 * (k + 1) * t) for k, a in enumerate(amplitudes))
        out.append(0.3 * gain * wave)
    return out


def test_a_pulse_is_timed_at_its_50_percent_points_with_its_10_to_90_percent_rise() -> None:
    samples = tone(660, [1.0, 0.5], duration_s=0.2, ramp_s=0.04)
    (pulse,) = find_pulses(samples, RATE)
    assert pulse.start_s == pytest.approx(0.05, abs=0.002)
    assert pulse.duration_s == pytest.approx(0.2, abs=0.003)
    assert pulse.rise_s == pytest.approx(0.032, abs=0.003)  # 80 % of a 40 ms linear ramp
    assert pulse.fall_s == pytest.approx(0.032, abs=0.003)


def test_the_fundamental_and_each_harmonics_level_are_read_from_the_signal() -> None:
    amplitudes = [1.0, 0.5, 0.35, 0.25, 0.15]  # the alarm sound before IEC 60601-1-8 item 6
    samples = tone(880, amplitudes, duration_s=0.15, ramp_s=0.03)
    (pulse,) = find_pulses(samples, RATE)
    found = spectrum(samples[pulse.steady[0] : pulse.steady[1]], RATE)
    assert found.fundamental_hz == pytest.approx(880, abs=3)
    for k, amplitude in enumerate(amplitudes[1:], start=2):
        hz, level = found.harmonics[k]
        assert hz == pytest.approx(880 * k, rel=0.005)
        assert level == pytest.approx(20 * math.log10(amplitude), abs=0.5)
    # Only three harmonics within 15 dB, and its fifth (4400 Hz) above 4000 Hz anyway.
    assert found.harmonics_within(15, 300, 4000) == [2, 3, 4]


def test_a_tone_with_four_strong_harmonics_in_range_passes() -> None:
    samples = tone(523, [1.0, 0.7, 0.55, 0.45, 0.35], duration_s=0.2, ramp_s=0.0375)
    (pulse,) = find_pulses(samples, RATE)
    found = spectrum(samples[pulse.steady[0] : pulse.steady[1]], RATE)
    assert found.fundamental_hz == pytest.approx(523, abs=3)
    assert found.harmonics_within(15, 300, 4000) == [2, 3, 4, 5]
