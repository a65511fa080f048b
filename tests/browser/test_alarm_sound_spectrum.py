"""The alarm sounds as the page makes them meet IEC 60601-1-8 (table 4): the page's own
scheduling code (alarm-sound.js schedulePattern, what WebAudioOutput plays) renders every
priority's pattern in an OfflineAudioContext, and each pulse of the rendered signal is measured
(tests/sound_spectrum.py): its fundamental between 150 and 1000 Hz, at least four harmonics
between 300 and 4000 Hz within 15 dB of it, its duration between the 50 % points, its rise time
and the spacing between pulses. Nothing here reads the numbers it checks from the script."""

import base64
import itertools
import struct

import pytest
from playwright.sync_api import Page

from tests.conftest import LiveServer
from tests.sound_spectrum import find_pulses, spectrum

pytestmark = pytest.mark.browser

RATE = 48_000
# IEC 60601-1-8 table 4, per priority: pulses in a burst, effective pulse duration (td) and
# spacing between pulses of a group (ts), in seconds.
TABLE_4 = {
    "high": (10, (0.075, 0.200), (0.050, 0.125)),
    "medium": (3, (0.125, 0.250), (0.125, 0.250)),
    "low": (1, (0.125, 0.250), (0.125, 0.250)),
}
# Timing is read from a 1 ms envelope: this much either way is the measurement, not the sound.
TIMING_SLACK_S = 0.003

RENDER = """async ([priority, rate]) => {
    const { PATTERNS, schedulePattern } = await import('/static/js/alarm-sound.js');
    const pattern = PATTERNS[priority];
    const last = pattern.pulses[pattern.pulses.length - 1];
    const seconds = 0.1 + last.at + last.duration + 0.2;
    const ctx = new OfflineAudioContext(1, Math.ceil(seconds * rate), rate);
    schedulePattern(ctx, pattern, ctx.destination, 0.1);
    const rendered = await ctx.startRendering();
    const bytes = new Uint8Array(rendered.getChannelData(0).buffer);
    let text = '';
    for (let i = 0; i < bytes.length; i += 8192) {
        text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    }
    return btoa(text);
}"""


def render(page: Page, priority: str) -> list[float]:
    data = base64.b64decode(page.evaluate(RENDER, [priority, RATE]))
    return list(struct.unpack(f"<{len(data) // 4}f", data))


def test_every_pulse_of_every_priority_has_a_fundamental_and_four_harmonics_within_15_db(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/login")
    fundamentals: dict[str, list[float]] = {}
    for priority, (count, (td_min, td_max), (ts_min, ts_max)) in TABLE_4.items():
        samples = render(page, priority)
        pulses = find_pulses(samples, RATE)
        assert len(pulses) == count, f"{priority}: {len(pulses)} pulses rendered"
        for n, pulse in enumerate(pulses, start=1):
            where = f"{priority} pulse {n}"
            tone = spectrum(samples[pulse.steady[0] : pulse.steady[1]], RATE)
            f0 = tone.fundamental_hz
            assert 150 <= f0 <= 1000, f"{where}: fundamental {f0:.0f} Hz"
            # A harmonic tone: every component of the sound is the fundamental or a multiple.
            for hz, _ in tone.components:
                assert abs(hz / f0 - round(hz / f0)) < 0.02, f"{where}: {hz:.0f} Hz is no harmonic"
            strong = tone.harmonics_within(15, 300, 4000)
            assert len(strong) >= 4, f"{where}: harmonics within 15 dB: {tone.harmonics}"
            assert td_min - TIMING_SLACK_S <= pulse.duration_s <= td_max + TIMING_SLACK_S, where
            # Rise time 10-20 % of the pulse's duration; the fall no longer than td - tr.
            assert 0.10 * pulse.duration_s - TIMING_SLACK_S <= pulse.rise_s, where
            assert pulse.rise_s <= 0.20 * pulse.duration_s + TIMING_SLACK_S, where
            assert pulse.fall_s <= pulse.duration_s - pulse.rise_s, where
            fundamentals.setdefault(priority, []).append(f0)
        for a, b in itertools.pairwise(pulses):
            gap = b.start_s - a.end_s
            # Within a group; between groups of the high burst (3+2) the gap is longer.
            if gap <= ts_max + TIMING_SLACK_S:
                assert gap >= ts_min - TIMING_SLACK_S, f"{priority}: pulses {gap:.3f} s apart"
    # Each priority keeps one pitch, its own: told apart by pitch as well as by rhythm.
    assert all(max(f) - min(f) < 5 for f in fundamentals.values()), fundamentals
    pitches = sorted(f[0] for f in fundamentals.values())
    assert all(b / a > 1.1 for a, b in itertools.pairwise(pitches)), fundamentals
