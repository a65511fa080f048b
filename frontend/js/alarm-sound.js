// Alarm sounds, generated in the page with the Web Audio API (no sound files), after the
// IEC 60601-1-8 patterns: high = 10 pulses (3+2, 3+2), medium = 3 pulses, low = 1 pulse, each
// at its own pitch. The highest priority that nobody has acknowledged sounds, and repeats
// while it stands (high every 7 s, medium every 17 s, low once per alarm). A timed audio pause
// (2 min by default) silences it, unless an alarm of a higher priority than any sounding when
// the pause began arrives: that breaks through and ends the pause.
//
// A simulated session's alarm (a drill: `simulated: true`) never plays these real sounds: it has
// a tone of its own (the same pulse counts, so the priority can be rehearsed, but soft pure
// falling chirps at other pitches), and any real alarm, of any priority, sounds before it.
// Several sources feed one sound: the page's alarms and, as a technical alarm, the lost link
// (link-alarm.js); each source is set on its own.
//
// The decisions (what to play, when) are separate from the output, so they can be driven with
// a fake clock and a fake output; the page's instance is exposed as window.__vigilAlarmSound.
//
// Each real pulse meets IEC 60601-1-8 table 4: a fundamental between 150 and 1000 Hz with at
// least four harmonics between 300 and 4000 Hz within 15 dB of it (a tone the ear can place in a
// noisy room), an effective duration of 75–200 ms (high) or 125–250 ms (medium, low) and a rise
// time of 10–20 % of it. schedulePattern() is what the page plays and what the test renders
// offline and measures (tests/browser/test_alarm_sound_spectrum.py).

export const RANK = { low: 1, medium: 2, high: 3 };
const NAME = { 1: "low", 2: "medium", 3: "high" };
/** One scale for real and drill alarms: every real alarm ranks above every drill (4–6 vs 1–3). */
const levelOf = (priority, simulated) => RANK[priority] + (simulated ? 0 : 3);
const priorityOf = (level) => NAME[level > 3 ? level - 3 : level];
const isDrill = (level) => level > 0 && level <= 3;

/** A pulse: start offset and duration in seconds. */
function pulses(groups, duration, spacing, groupGap) {
  const out = [];
  let t = 0;
  groups.forEach((count, g) => {
    if (g > 0) t += groupGap(g);
    for (let i = 0; i < count; i += 1) {
      out.push({ at: Number(t.toFixed(3)), duration });
      t += duration + spacing;
    }
    t -= spacing;
  });
  return out;
}

// High: pulses of 150 ms, 100 ms apart; 3+2 with a 350 ms gap (2 spacings + a pulse), then
// 700 ms before the second 3+2. Medium: three 200 ms pulses, 200 ms apart. Low: one pulse.
// Durations and spacings are the standard's, between the 50 % points of each pulse's envelope.
// High sounds at 784 Hz, not higher: its fifth harmonic (3920 Hz) must stay below 4000 Hz.
export const PATTERNS = {
  high: {
    frequency: 784,
    groups: "3+2+3+2",
    pulses: pulses([3, 2, 3, 2], 0.15, 0.1, (g) => (g === 2 ? 0.7 : 0.35)),
  },
  medium: { frequency: 660, groups: "3", pulses: pulses([3], 0.2, 0.2, () => 0) },
  low: { frequency: 440, groups: "1", pulses: pulses([1], 0.25, 0, () => 0) },
};

// Drills: the same pulse counts and rhythm, but each pulse a soft pure tone falling by a third,
// at pitches of its own: it can be heard that a drill is running, never mistaken for a patient.
export const DRILL_PATTERNS = Object.fromEntries(
  Object.entries(PATTERNS).map(([priority, pattern]) => [
    priority,
    { ...pattern, frequency: { high: 1175, medium: 988, low: 784 }[priority], drill: true, gain: 0.12, glide: 0.75 },
  ]),
);
const patternOf = (level) => (isDrill(level) ? DRILL_PATTERNS : PATTERNS)[priorityOf(level)];

export const DEFAULTS = {
  pauseMs: 2 * 60 * 1000,
  repeatMs: { high: 7000, medium: 17000, low: null }, // null: once per alarm
  tickMs: 250,
};

/** Sound through the Web Audio API. Browsers keep it suspended until a user gesture. */
export class WebAudioOutput {
  constructor() {
    this.ctx = null;
    this.onState = () => {};
    const AudioCtx = window.AudioContext || window.webkitAudioContext;
    this.supported = Boolean(AudioCtx);
    if (!this.supported) return;
    try {
      this.ctx = new AudioCtx();
      this.ctx.onstatechange = () => this.onState();
    } catch {
      this.supported = false;
    }
  }

  get unlocked() {
    return Boolean(this.ctx) && this.ctx.state === "running";
  }

  async unlock() {
    if (!this.ctx) return false;
    try {
      await this.ctx.resume();
    } catch {
      return false;
    }
    return this.unlocked;
  }

  /** Schedule a pattern's pulses; false when the browser does not let it sound. */
  play(pattern) {
    const ctx = this.ctx;
    if (!ctx || ctx.state !== "running") return false;
    schedulePattern(ctx, pattern, ctx.destination, ctx.currentTime + 0.05);
    return true;
  }
}

// A real pulse's partials: the fundamental and harmonics 2–5 at -3, -5, -7 and -9 dB, each
// within 15 dB of the fundamental with room to spare for a small speaker's uneven response
// (IEC 60601-1-8 asks for at least four; before, the fourth and fifth were at -12 and -16.5 dB).
export const HARMONIC_AMPLITUDES = [1, 0.7, 0.55, 0.45, 0.35];
// The rise (and fall) ramp as a share of the effective pulse duration: a linear ramp's 10–90 %
// rise is 0.8 of its length, so 0.1875 gives a rise time of 15 % (the standard: 10–20 %).
export const RAMP_SHARE = 0.1875;

/**
 * Schedule `pattern`'s pulses on `ctx` (an AudioContext, or an OfflineAudioContext in the
 * tests) into `destination`, the first pulse's 50 % rise point at `start` (seconds, at least
 * half a ramp ahead). Each pulse's envelope crosses 50 % at `at` and `at + duration`.
 */
export function schedulePattern(ctx, pattern, destination, start) {
  const imag = new Float32Array([0, ...HARMONIC_AMPLITUDES]);
  const wave = ctx.createPeriodicWave(new Float32Array(imag.length), imag);
  const level = pattern.gain || 0.3;
  for (const pulse of pattern.pulses) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    const ramp = pulse.duration * RAMP_SHARE;
    const t0 = start + pulse.at - ramp / 2; // silent until here
    const t1 = start + pulse.at + pulse.duration + ramp / 2; // silent again from here
    if (pattern.drill) {
      // A drill's chirp: a pure tone sliding down, unlike any real alarm's steady harmonic pulse.
      osc.type = "sine";
      osc.frequency.setValueAtTime(pattern.frequency, t0);
      osc.frequency.linearRampToValueAtTime(pattern.frequency * pattern.glide, t1);
    } else {
      osc.setPeriodicWave(wave);
      osc.frequency.value = pattern.frequency;
    }
    gain.gain.setValueAtTime(0, t0);
    gain.gain.linearRampToValueAtTime(level, t0 + ramp);
    gain.gain.setValueAtTime(level, t1 - ramp);
    gain.gain.linearRampToValueAtTime(0, t1);
    osc.connect(gain).connect(destination);
    osc.start(t0);
    osc.stop(t1 + 0.01);
  }
}

const PAUSE_KEY = "vigil.audioPause";

/**
 * What to sound, and when. `output` needs `supported`, `unlocked`, `unlock()` and
 * `play(pattern)`; `clock()` gives ms since the epoch; `storage` keeps a pause across pages
 * of the same tab (pass null to not keep it).
 */
export class AlarmSound {
  constructor({ output, clock = () => Date.now(), storage = null, timers = true, ...options } = {}) {
    this.output = output;
    this.clock = clock;
    this.storage = storage;
    this.options = { ...DEFAULTS, ...options, repeatMs: { ...DEFAULTS.repeatMs, ...(options.repeatMs || {}) } };
    this.sources = new Map(); // source name -> the open alarms it reported
    this.active = []; // unacknowledged open alarms: { key, priority, level, simulated, cause }
    this.heard = new Set(); // keys of alarms already sounded (or silenced by a pause)
    this.pending = new Set(); // levels of new low alarms (real or drill) still to be played once
    this.lastPlayedAt = {}; // level -> when its pattern last played
    this.pausedUntil = null;
    this.pauseCeiling = 0;
    this.plays = [];
    this.breakthroughs = [];
    this.blocked = null; // { priority, simulated, cause, at }: wanted to sound while the browser blocked audio
    this.listeners = new Set();
    this.restorePause();
    if (output) output.onState = () => {
      this.evaluate();
      this.emit();
    };
    if (timers) this.timer = setInterval(() => this.evaluate(), this.options.tickMs);
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit() {
    const snapshot = this.snapshot();
    for (const listener of this.listeners) listener(snapshot);
  }

  /**
   * The open alarms one source knows (any statuses; "alarms" is the page's list, "link" the
   * lost connection): only unacknowledged ones sound, a drill's (`simulated`) with the drill
   * tone. An alarm is new when it is raised, reminded or made worse (its alerted_at or priority
   * changes).
   */
  setAlarms(alarms, source = "alarms") {
    this.sources.set(source, alarms);
    const active = [];
    for (const [cause, list] of this.sources) {
      for (const a of list) {
        if (a.status !== "active" || !RANK[a.priority]) continue;
        const simulated = Boolean(a.simulated);
        active.push({
          key: `${cause}|${a.id}|${a.alerted_at}|${a.priority}|${simulated}`,
          priority: a.priority,
          simulated,
          level: levelOf(a.priority, simulated),
          cause,
        });
      }
    }
    this.active = active;
    const fresh = active.filter((a) => !this.heard.has(a.key));
    for (const a of fresh) this.heard.add(a.key);
    const top = this.topLevel();
    if (this.isPaused() && top > this.pauseCeiling) {
      // Worse than anything sounding when the pause began: the pause must not hide it.
      this.breakthroughs.push({ priority: priorityOf(top), simulated: isDrill(top), at: this.clock() });
      this.endPause();
    }
    if (fresh.length) {
      const freshTop = Math.max(...fresh.map((a) => a.level));
      if (freshTop >= top) this.lastPlayedAt[top] = -Infinity; // sound it now, not at the next repeat
      for (const a of fresh) if (a.priority === "low") this.pending.add(a.level);
    }
    for (const level of [...this.pending]) if (!active.some((a) => a.level === level)) this.pending.delete(level);
    this.evaluate();
    this.emit();
  }

  topLevel() {
    return this.active.reduce((top, a) => Math.max(top, a.level), 0);
  }

  isPaused() {
    return this.pausedUntil !== null && this.clock() < this.pausedUntil;
  }

  /** Play what is due now (called on every change and by the timer). */
  evaluate() {
    const at = this.clock();
    if (this.pausedUntil !== null && at >= this.pausedUntil) {
      this.endPause();
      this.emit();
    }
    if (this.isPaused()) return;
    const top = this.topLevel();
    if (!top) {
      this.blocked = null;
      return;
    }
    const priority = priorityOf(top);
    if (priority === "low") {
      if (this.pending.has(top) && this.play(top)) this.pending.delete(top);
      return;
    }
    const last = this.lastPlayedAt[top] ?? -Infinity;
    if (at - last >= this.options.repeatMs[priority]) this.play(top);
  }

  play(level) {
    const at = this.clock();
    const priority = priorityOf(level);
    const simulated = isDrill(level);
    const cause = (this.active.find((a) => a.level === level) || {}).cause || null;
    if (!this.output || !this.output.unlocked || !this.output.play(patternOf(level))) {
      const b = this.blocked;
      if (!b || b.priority !== priority || b.simulated !== simulated || b.cause !== cause) {
        this.blocked = { priority, simulated, cause, at };
        this.emit();
      }
      return false;
    }
    this.blocked = null;
    this.lastPlayedAt[level] = at;
    this.plays.push({ priority, simulated, cause, at });
    if (this.plays.length > 50) this.plays.shift();
    this.emit();
    return true;
  }

  /** Silence alarm sound for `ms` (2 min by default); what is sounding now sets the ceiling. */
  pause(ms = this.options.pauseMs) {
    this.pausedUntil = this.clock() + ms;
    this.pauseCeiling = this.topLevel();
    this.savePause();
    this.emit();
  }

  /** End the pause early (a person chose to); what is due sounds at once. */
  resume() {
    this.endPause();
    this.evaluate();
    this.emit();
  }

  endPause() {
    this.pausedUntil = null;
    this.pauseCeiling = 0;
    // Whatever stands sounds straight away, not at its next repeat.
    this.lastPlayedAt = {};
    this.savePause();
  }

  async unlock() {
    if (!this.output) return false;
    const ok = await this.output.unlock();
    this.evaluate();
    this.emit();
    return ok;
  }

  snapshot() {
    const at = this.clock();
    const last = this.plays.length ? this.plays[this.plays.length - 1] : null;
    const top = this.topLevel();
    const lastPattern = last ? (last.simulated ? DRILL_PATTERNS : PATTERNS)[last.priority] : null;
    return {
      supported: Boolean(this.output && this.output.supported),
      unlocked: Boolean(this.output && this.output.unlocked),
      sounding: top ? priorityOf(top) : null,
      soundingSimulated: isDrill(top),
      causes: [...new Set(this.active.map((a) => a.cause))],
      paused: this.isPaused(),
      pausedUntil: this.isPaused() ? this.pausedUntil : null,
      pauseRemainingMs: this.isPaused() ? this.pausedUntil - at : 0,
      pauseCeiling: this.isPaused() ? priorityOf(this.pauseCeiling) || null : null,
      blocked: this.blocked,
      lastPattern: last
        ? {
            priority: last.priority,
            simulated: last.simulated,
            cause: last.cause,
            at: last.at,
            pulses: lastPattern.pulses.length,
            groups: lastPattern.groups,
            frequency: lastPattern.frequency,
          }
        : null,
      plays: this.plays.map((p) => ({ ...p })),
      breakthroughs: this.breakthroughs.map((b) => ({ ...b })),
    };
  }

  savePause() {
    if (!this.storage) return;
    try {
      if (this.pausedUntil === null) this.storage.removeItem(PAUSE_KEY);
      else this.storage.setItem(PAUSE_KEY, JSON.stringify({ until: this.pausedUntil, ceiling: this.pauseCeiling }));
    } catch {
      /* storage full or refused: the pause simply is not kept across pages */
    }
  }

  /** A pause set on the page the nurse came from still runs here (same tab). */
  restorePause() {
    if (!this.storage) return;
    try {
      const saved = JSON.parse(this.storage.getItem(PAUSE_KEY) || "null");
      if (saved && saved.until > this.clock()) {
        this.pausedUntil = saved.until;
        this.pauseCeiling = saved.ceiling || 0;
      }
    } catch {
      /* ignore a damaged entry */
    }
  }

  stop() {
    clearInterval(this.timer);
  }
}
