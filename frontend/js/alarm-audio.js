// The alarm sound controls every signed-in page shows: an "Enable alarm sound" banner while the
// browser blocks audio, and the timed audio pause with its countdown.

import { AlarmSound, WebAudioOutput } from "./alarm-sound.js";
import { announce } from "./announce.js";

const $ = (id) => document.getElementById(id);

function countdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** What could not be heard, in words: the lost link, a drill's alarm or a patient's. */
function blockedWhat(blocked) {
  const priority = blocked.priority.toUpperCase();
  if (blocked.cause === "link") return `The ${priority} technical alarm for the lost connection`;
  return blocked.simulated ? `A SIMULATED ${priority} alarm (a drill)` : `A ${priority} alarm`;
}

let storage = null;
try {
  storage = window.sessionStorage;
} catch {
  storage = null;
}

/** Start the page's alarm sound and wire its controls; returns the AlarmSound. */
export function initAlarmAudio() {
  const sound = new AlarmSound({ output: new WebAudioOutput(), storage });
  window.__vigilAlarmSound = sound; // read by the browser tests (headless Chromium has no ears)

  const banner = $("sound-banner");
  const bannerText = $("sound-banner-text");
  const enable = $("sound-enable");
  const pause = $("audio-pause");
  const resume = $("audio-resume");
  const paused = $("audio-paused");
  const clock = $("audio-countdown");
  const note = $("audio-note");
  let wasPaused = sound.snapshot().paused;
  let breakthroughs = sound.snapshot().breakthroughs.length;
  let noteTimer = null;
  let hideTimer = null;

  const unlock = () => {
    if (!sound.snapshot().unlocked) sound.unlock();
  };
  enable.addEventListener("click", unlock);
  // Any click, tap or key on the page counts as the gesture browsers wait for. Not pointerdown:
  // on the wall display the banner's going gives its room back to the tiles, and between press
  // and release that moved the button under the finger, so the first tap missed. touchend:
  // iOS Safari sends no click for a tap on plain text or a chart.
  for (const type of ["click", "touchend", "keydown"]) {
    document.addEventListener(type, unlock, { capture: true });
  }

  pause.addEventListener("click", () => {
    sound.pause();
    resume.focus();
  });
  resume.addEventListener("click", () => {
    sound.resume();
    pause.focus();
  });

  const showNote = (text) => {
    note.textContent = text;
    note.hidden = false;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => {
      note.hidden = true;
    }, 15000);
  };

  const draw = (state) => {
    if (!state.supported) {
      bannerText.textContent = "This browser cannot play alarm sounds. Watch the screen, or use another browser.";
      enable.hidden = true;
      banner.hidden = false;
    } else if (state.unlocked && !banner.hidden) {
      // After a tap's touchend the browser still has to send its click: give the tap time to
      // land before the wall's tiles move into the banner's room.
      hideTimer ??= setTimeout(() => {
        hideTimer = null;
        banner.hidden = sound.snapshot().unlocked;
      }, 500);
    } else {
      clearTimeout(hideTimer);
      hideTimer = null;
      banner.hidden = state.unlocked;
      banner.dataset.urgent = String(Boolean(state.blocked));
      bannerText.textContent = state.blocked
        ? `${blockedWhat(state.blocked)} cannot be heard: this browser blocks sound until you click, tap or press a key on the page.`
        : "Alarm sound is off until you click, tap or press a key on the page: browsers block sound until then.";
    }
    pause.hidden = state.paused;
    paused.hidden = !state.paused;
    resume.hidden = !state.paused;
    if (state.paused) clock.textContent = countdown(state.pauseRemainingMs);
    if (state.breakthroughs.length > breakthroughs) {
      const last = state.breakthroughs[state.breakthroughs.length - 1];
      showNote(`Audio pause ended: a new ${last.simulated ? "SIMULATED " : ""}${last.priority.toUpperCase()} alarm.`);
      announce(`Audio pause ended by a new ${last.priority} priority alarm.`);
    } else if (wasPaused && !state.paused) {
      showNote("Alarm sound is back on.");
    } else if (!wasPaused && state.paused) {
      note.hidden = true;
      announce("Alarm audio paused for 2 minutes.");
    }
    breakthroughs = state.breakthroughs.length;
    wasPaused = state.paused;
  };
  sound.subscribe(draw);
  draw(sound.snapshot());
  // The countdown ticks with the second; the pause's end is noticed by the sound's own timer.
  setInterval(() => {
    const state = sound.snapshot();
    if (state.paused || wasPaused) draw(state);
  }, 1000);
  return sound;
}
