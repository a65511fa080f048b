"""Measuring a rendered alarm sound as IEC 60601-1-8 (table 4) describes its pulses: where each
pulse begins and ends (the 50 % points of its envelope), its rise time (10 % to 90 %), its
fundamental frequency and the level of each harmonic relative to the fundamental.

Plain Python (the test environment has no numpy): an iterative radix-2 FFT is fast enough for
the few thousand samples of a pulse.
"""

import cmath
import math
from dataclasses import dataclass

# Blocks of this many seconds make the envelope: the peak of each block, then the largest of
# three neighbouring blocks, so a block always spans a whole period of the lowest tone (440 Hz).
ENVELOPE_BLOCK_S = 0.001
# A spectral peak this far below the strongest one is not a component of the tone (a Hann
# window's highest side lobe is at -31 dB).
COMPONENT_FLOOR_DB = -25.0


@dataclass(frozen=True)
class Pulse:
    start_s: float  # envelope rises through 50 % of the pulse's level
    end_s: float  # envelope falls through 50 %
    rise_s: float  # from 10 % to 90 % on the way up
    fall_s: float  # from 90 % to 10 % on the way down
    steady: tuple[int, int]  # sample range above 90 % (the pulse's body)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Spectrum:
    fundamental_hz: float
    # Harmonic number (2, 3, ...) -> its frequency and level in dB relative to the fundamental.
    harmonics: dict[int, tuple[float, float]]
    # Every component at least COMPONENT_FLOOR_DB under the strongest: (Hz, dB re strongest).
    components: list[tuple[float, float]]

    def harmonics_within(self, db: float, low_hz: float, high_hz: float) -> list[int]:
        """The harmonics between `low_hz` and `high_hz` no more than `db` below the fundamental."""
        return [
            k
            for k, (hz, level) in self.harmonics.items()
            if low_hz <= hz <= high_hz and level >= -db
        ]


def envelope(samples: list[float], rate: int) -> list[float]:
    block = max(1, round(rate * ENVELOPE_BLOCK_S))
    peaks = [
        max((abs(x) for x in samples[i : i + block]), default=0.0)
        for i in range(0, len(samples), block)
    ]
    return [max(peaks[max(0, i - 1) : i + 2]) for i in range(len(peaks))]


def _crossing(env: list[float], start: int, step: int, level: float) -> int:
    """The first block from `start` (going by `step`) at or above `level`."""
    i = start
    while 0 <= i < len(env) and env[i] < level:
        i += step
    return i


def _pulse(env: list[float], first: int, last: int, block: int, block_s: float) -> Pulse:
    """The pulse whose envelope is above silence from block `first` to block `last`."""
    top = max(env[first : last + 1])

    def up(fraction: float) -> int:
        return _crossing(env, first, 1, top * fraction)

    def down(fraction: float) -> int:
        return _crossing(env, last, -1, top * fraction)

    return Pulse(
        start_s=up(0.5) * block_s,
        end_s=(down(0.5) + 1) * block_s,
        rise_s=(up(0.9) - up(0.1)) * block_s,
        fall_s=(down(0.1) - down(0.9)) * block_s,
        steady=((up(0.9) + 2) * block, (down(0.9) - 1) * block),
    )


def find_pulses(samples: list[float], rate: int) -> list[Pulse]:
    """The pulses in `samples`, in order, each measured against its own level (the largest
    envelope value inside it)."""
    env = envelope(samples, rate)
    block = max(1, round(rate * ENVELOPE_BLOCK_S))
    block_s = block / rate
    silence = max(env) * 0.02
    pulses: list[Pulse] = []
    i = 0
    while i < len(env):
        if env[i] <= silence:
            i += 1
            continue
        j = i
        while j < len(env) and env[j] > silence:
            j += 1
        pulses.append(_pulse(env, i, j - 1, block, block_s))
        i = j
    return pulses


def fft(values: list[complex]) -> list[complex]:
    """The discrete Fourier transform of `values` (length a power of two)."""
    n = len(values)
    assert n and n & (n - 1) == 0, "the FFT needs a power-of-two length"
    out = list(values)
    j = 0
    for i in range(1, n):  # bit-reversed order
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            out[i], out[j] = out[j], out[i]
    size = 2
    while size <= n:
        step = cmath.exp(-2j * math.pi / size)
        half = size // 2
        twiddles = [step**k for k in range(half)]
        for start in range(0, n, size):
            for k in range(half):
                a = out[start + k]
                b = out[start + k + half] * twiddles[k]
                out[start + k] = a + b
                out[start + k + half] = a - b
        size *= 2
    return out


def _db(magnitude: float, reference: float) -> float:
    return 20 * math.log10(max(magnitude, 1e-12) / reference)


def spectrum(segment: list[float], rate: int, *, harmonics: int = 8) -> Spectrum:
    """The tone of `segment` (a pulse's steady body): Hann-windowed, zero-padded to at least
    4× its length, its components found as spectral peaks, the fundamental the lowest of them,
    and each harmonic's level the largest magnitude within 3 % of its nominal frequency."""
    n = len(segment)
    size = 1 << (4 * n - 1).bit_length()
    window = [0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1)) for i in range(n)]
    padded: list[complex] = [complex(x * w) for x, w in zip(segment, window, strict=True)]
    padded += [0j] * (size - n)
    magnitudes = [abs(c) for c in fft(padded)[: size // 2]]
    hz_per_bin = rate / size
    strongest = max(magnitudes)
    peaks = [
        k
        for k in range(1, len(magnitudes) - 1)
        if magnitudes[k] >= magnitudes[k - 1]
        and magnitudes[k] > magnitudes[k + 1]
        and _db(magnitudes[k], strongest) >= COMPONENT_FLOOR_DB
    ]
    components = [(k * hz_per_bin, _db(magnitudes[k], strongest)) for k in peaks]
    f0_bin = peaks[0]
    f0 = f0_bin * hz_per_bin
    found: dict[int, tuple[float, float]] = {}
    for h in range(2, harmonics + 1):
        low = math.floor(h * f0_bin * 0.97)
        high = min(math.ceil(h * f0_bin * 1.03), len(magnitudes) - 1)
        if low >= len(magnitudes):
            break
        best = max(range(low, high + 1), key=lambda k: magnitudes[k])
        found[h] = (best * hz_per_bin, _db(magnitudes[best], magnitudes[f0_bin]))
    return Spectrum(f0, found, components)
