// NEWS2 on a ward tile, as the server scores it (the server is the one scorer: never here),
// and when to ask again: soon after a reading, and every minute so ageing values drop out.

import { api } from "./api.js";
import { ageMs, localTime } from "./time.js";

const BANDS = { low: "Low", "low-medium": "Low–medium", medium: "Medium", high: "High" };
const AFTER_READING_MS = 5000;
const EVERY_MS = 60 * 1000;
// Refreshed every minute: a score older than two rounds means the refresh is failing, and the
// tile must not go on showing it as the current one.
export const NEWS2_STALE_MS = 2 * EVERY_MS;

// The tile's own short names, so the list fits one line of a wall tile; the full words are
// read out by screen readers and shown on hover.
const SHORT = {
  respiratory_rate: "RR",
  spo2: "SpO₂",
  on_oxygen: "air/O₂",
  systolic: "BP",
  heart_rate: "HR",
  consciousness: "ACVPU",
  temperature: "Temp",
};

/** "RR, Temp (older than 30 min)", or in full: "respiration rate, temperature (older than 30 min)". */
function missingText(missing, { short }) {
  return missing
    .map((m) => {
      const what = short ? SHORT[m.parameter] || m.label : m.label.charAt(0).toLowerCase() + m.label.slice(1);
      if (m.reason === "not recorded") return what;
      return short ? `${what} ${m.reason.replace(/^older than /, ">")} old` : `${what} (${m.reason})`;
    })
    .join(", ");
}

function partValue(value) {
  if (value === true) return "oxygen";
  if (value === false) return "air";
  return String(value);
}

/** Fill the tile's NEWS2 line: score and band in words (the colour repeats the band), or what is missing. */
export function drawNews2(el, news2) {
  const score = el.querySelector(".news2-score");
  const band = el.querySelector(".news2-band");
  const missing = el.querySelector(".news2-missing");
  el.dataset.asOf = (news2 && news2.as_of) || "";
  refreshNews2Age(el);
  if (!news2) {
    el.dataset.band = "none";
    score.textContent = "…";
    band.textContent = "";
    missing.textContent = "";
    el.title = "";
    return;
  }
  if (news2.complete && news2.score !== null) {
    el.dataset.band = news2.band;
    score.textContent = String(news2.score);
    band.textContent = BANDS[news2.band] || news2.band;
    missing.textContent = "";
    missing.hidden = true;
  } else {
    el.dataset.band = "none";
    score.textContent = "—";
    band.textContent = "";
    missing.hidden = false;
    const seen = document.createElement("span");
    seen.setAttribute("aria-hidden", "true");
    seen.textContent = `missing: ${missingText(news2.missing, { short: true })}`;
    const heard = document.createElement("span");
    heard.className = "visually-hidden";
    heard.textContent = `, missing: ${missingText(news2.missing, { short: false })}`;
    missing.replaceChildren(seen, heard);
  }
  const parts = news2.parts.map((p) => `${p.label} ${partValue(p.value)}: ${p.points} point${p.points === 1 ? "" : "s"}`);
  const gaps = news2.missing.map((m) => `${m.label}: ${m.reason}`);
  el.title = [...parts, ...gaps].join("\n");
}

/** Dim the score and say "Stale" with its time once it is older than NEWS2_STALE_MS (every second). */
export function refreshNews2Age(el) {
  const asOf = el.dataset.asOf;
  const stale = Boolean(asOf) && ageMs(asOf) > NEWS2_STALE_MS;
  if (el.dataset.stale !== String(stale)) el.dataset.stale = String(stale);
  const note = el.querySelector(".news2-stale");
  if (!note) return;
  note.hidden = !stale;
  const text = stale ? `scored ${localTime(asOf, { seconds: false })}` : "";
  const time = note.querySelector(".news2-as-of");
  if (time.textContent !== text) time.textContent = text;
}

/**
 * Fetches NEWS2 for tiles: at most once per AFTER_READING_MS per session after readings arrive,
 * at once when asked (an errored reading changed the picture), and for every tile each minute.
 */
export class News2Refresher {
  constructor(onResult) {
    this.onResult = onResult;
    this.timers = new Map(); // session id -> pending timer
    this.lastAt = new Map(); // session id -> when last fetched (ms)
    this.seq = new Map(); // session id -> number of the newest request, so an older answer is dropped
  }

  /** A reading arrived: fetch soon, never more often than every few seconds. */
  poke(sessionId) {
    if (this.timers.has(sessionId)) return;
    const wait = Math.max(0, (this.lastAt.get(sessionId) || 0) + AFTER_READING_MS - Date.now());
    this.timers.set(sessionId, setTimeout(() => this.fetch(sessionId), wait));
  }

  /** Fetch now (replacing anything pending). */
  now(sessionId) {
    clearTimeout(this.timers.get(sessionId));
    this.fetch(sessionId);
  }

  /** Every tile's score, every minute, staggered so a wall of tiles does not ask at once. */
  every(sessionIds) {
    return setInterval(() => {
      const ids = sessionIds();
      ids.forEach((id, i) => {
        if (Date.now() - (this.lastAt.get(id) || 0) < EVERY_MS / 2) return;
        setTimeout(() => this.poke(id), (i * 250) % 5000);
      });
    }, EVERY_MS);
  }

  /** The score arrived with the session summary. */
  seen(sessionId) {
    this.lastAt.set(sessionId, Date.now());
  }

  forget(sessionId) {
    clearTimeout(this.timers.get(sessionId));
    this.timers.delete(sessionId);
    this.lastAt.delete(sessionId);
  }

  async fetch(sessionId) {
    this.timers.delete(sessionId);
    this.lastAt.set(sessionId, Date.now());
    const seq = (this.seq.get(sessionId) || 0) + 1;
    this.seq.set(sessionId, seq);
    try {
      const news2 = await api(`/api/sessions/${sessionId}/news2`);
      if (this.seq.get(sessionId) === seq) this.onResult(sessionId, news2);
    } catch {
      // Kept as it was; the next reading or the minute's round asks again.
    }
  }
}
