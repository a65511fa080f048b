"""A drill's alarms (a simulated session's) never sound or read as real: a real patient's page
neither plays nor speaks them and lists them only marked SIMULATED; the ward marks them and plays
them with the drill tone only, never the real alarm sound."""

from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.alarm_support import REAL_HIGH_HZ, enable_sound, high_bp, sound
from tests.browser.conftest import OpenSession
from tests.conftest import LiveServer
from tests.helpers import new_session, post_reading

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_a_real_patients_page_never_sounds_or_speaks_a_drills_alarm(
    open_session: OpenSession, admin_api: httpx.Client
) -> None:
    patient = new_session(admin_api)
    drill = new_session(admin_api, simulated=True)
    other_patient = new_session(admin_api)
    page = open_session(patient["id"])
    enable_sound(page)

    high_bp(admin_api, drill["id"])
    entry = page.locator(f"#other-alarms-list li[data-session-id='{drill['id']}']")
    expect(entry).to_be_visible(timeout=3000)  # the page has the drill's alarm
    page.wait_for_timeout(600)  # time for a sound or an announcement to have happened
    state = sound(page)
    assert state["plays"] == [], f"a drill's alarm sounded on a patient's page: {state['plays']}"
    assert state["sounding"] is None
    assert state["blocked"] is None
    expect(entry).to_contain_text("SIMULATED HIGH ALARM")  # listed, and marked
    expect(entry).to_have_attribute("data-simulated", "true")
    expect(entry.locator(".alarm-box")).to_have_attribute("data-simulated", "true")
    # Nothing presents it as this patient's alarm: not the panel, not the chart, not speech.
    expect(page.locator("#alarms-none")).to_be_visible()
    expect(page.locator("#alarm-list .alarm-item")).to_have_count(0)
    expect(page.locator("#alarm-announcer")).not_to_contain_text("ALARM")
    drawn = page.evaluate(
        "() => document.getElementById('vitals-chart').data"
        ".filter((t) => (t.uid || '').startsWith('alarm')).map((t) => t.x.length)"
    )
    assert sum(drawn) == 0, f"the drill's alarm is drawn on this patient's chart: {drawn}"

    # Another real patient's alarm still sounds here, with the real sound, and says its chair.
    high_bp(admin_api, other_patient["id"])
    page.wait_for_function("() => window.__vigilAlarmSound.snapshot().plays.length > 0")
    last = sound(page)["lastPattern"]
    assert (last["priority"], last["simulated"], last["frequency"]) == ("high", False, REAL_HIGH_HZ)
    expect(page.locator("#alarm-announcer")).to_contain_text(f"{other_patient['chair']}: HIGH")
    # Listed before the drill, and not marked simulated.
    first = page.locator("#other-alarms-list li").first
    expect(first).to_have_attribute("data-session-id", str(other_patient["id"]))
    expect(first).not_to_contain_text("SIMULATED")


def test_the_ward_marks_a_drills_alarm_and_never_plays_the_real_sound_for_it(
    nurse_page: Page, live_server: LiveServer, admin_api: httpx.Client
) -> None:
    patient = new_session(admin_api)
    drill = new_session(admin_api, simulated=True)
    ward = nurse_page
    ward.goto(f"{live_server.url}/ward")
    expect(ward.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(ward.locator(f".tile[data-session-id='{patient['id']}']")).to_be_visible()
    enable_sound(ward)

    high_bp(admin_api, drill["id"])
    box = ward.locator(f".tile[data-session-id='{drill['id']}'] .tile-alarm")
    expect(box).to_be_visible(timeout=3000)
    ward.wait_for_function("() => window.__vigilAlarmSound.snapshot().plays.length > 0")
    state = sound(ward)
    assert state["lastPattern"]["frequency"] != REAL_HIGH_HZ, "a drill played the real sound"
    assert all(play.get("simulated") for play in state["plays"]), state["plays"]
    assert state["lastPattern"]["pulses"] == 10  # its priority can still be rehearsed
    expect(box).to_contain_text("SIMULATED HIGH ALARM")
    expect(box).to_have_attribute("data-simulated", "true")
    expect(ward.locator("#ward-alarms")).to_have_text("SIMULATED: 1 HIGH !!!")
    expect(ward.locator("#alarm-announcer")).to_contain_text(
        f"{drill['chair']}: SIMULATED HIGH ALARM"
    )

    # A patient's alarm, even of lower priority, sounds first and with the real sound.
    response = post_reading(admin_api, patient["id"], systolic=165, diastolic=85)  # medium
    assert response.status_code == 201, response.text
    ward.wait_for_function(
        "() => window.__vigilAlarmSound.snapshot().plays.some((p) => !p.simulated)"
    )
    state = sound(ward)
    assert (state["sounding"], state["soundingSimulated"]) == ("medium", False)
    assert (state["lastPattern"]["priority"], state["lastPattern"]["simulated"]) == (
        "medium",
        False,
    )
    expect(ward.locator("#ward-alarms")).to_contain_text("Alarms: 1 MEDIUM !!")
    expect(ward.locator("#ward-alarms")).to_contain_text("SIMULATED: 1 HIGH !!!")
    SCREENSHOTS.mkdir(exist_ok=True)
    ward.screenshot(path=str(SCREENSHOTS / "drill-alarm-ward.png"))


def test_the_sound_logic_puts_every_patients_alarm_before_any_drill_on_a_fake_clock(
    nurse_page: Page, live_server: LiveServer
) -> None:
    """alarm-sound.js alone: drills play their own patterns, any real alarm (or the lost link)
    plays before them, and a real alarm breaks through a pause taken while only a drill sounded."""
    nurse_page.goto(f"{live_server.url}/ward")
    result: dict[str, Any] = nurse_page.evaluate(
        """async () => {
            const module = await import('/static/js/alarm-sound.js');
            const { AlarmSound, PATTERNS, DRILL_PATTERNS } = module;
            let t = 1_000_000;
            const played = [];
            const output = {
                supported: true, unlocked: true, unlock: async () => true,
                play: (pattern) => {
                    played.push([pattern.frequency, Boolean(pattern.drill)]);
                    return true;
                },
            };
            const s = new AlarmSound({ output, clock: () => t, timers: false });
            const alarm = (id, priority, simulated) =>
                ({ id, priority, simulated, status: 'active', alerted_at: 'x' });
            const out = {};
            s.setAlarms([alarm(1, 'high', true)]);
            out.drill = played.slice();
            s.setAlarms([alarm(1, 'high', true), alarm(2, 'low', false)]);
            out.realLow = played.slice(-1);
            out.sounding = [s.snapshot().sounding, s.snapshot().soundingSimulated];
            s.setAlarms([alarm(1, 'high', true)]);
            s.pause();
            s.setAlarms([], 'link');
            const lost = { id: 'link', priority: 'medium', status: 'active', alerted_at: 'y' };
            s.setAlarms([lost], 'link');
            const last = s.snapshot().breakthroughs.slice(-1)[0];
            out.breakthrough = [s.snapshot().paused, last.simulated];
            out.link = s.snapshot().lastPattern;
            out.freqs = [PATTERNS.high.frequency, DRILL_PATTERNS.high.frequency];
            out.pulses = [PATTERNS.high.pulses.length, DRILL_PATTERNS.high.pulses.length];
            return out;
        }"""
    )
    real_high, drill_high = result["freqs"]
    assert real_high != drill_high
    assert result["pulses"][0] == result["pulses"][1] == 10
    assert result["drill"] == [[drill_high, True]]  # a drill alone: its own tone
    assert result["realLow"][0][1] is False  # a real LOW sounds before a drill's HIGH
    assert result["sounding"] == ["low", False]
    assert result["breakthrough"] == [False, False]  # the lost link ends a drill's pause
    assert (result["link"]["cause"], result["link"]["priority"]) == ("link", "medium")
