// Asking the server for NEWS2 (the one scorer: never computed in the browser) and the words
// for its bands, for the ward's tiles and the session page alike.

import { api } from "./api.js";

export const BANDS = { low: "Low", "low-medium": "Low–medium", medium: "Medium", high: "High" };
// Monitor readings arrive every second: asking after each would only repeat the same score.
const AFTER_READING_MS = 5000;
// A set entered by hand is the moment a nurse looks for the score: ask at once, only gathering
// the parts of a set that arrive together.
const AFTER_HAND_ENTRY_MS = 250;
export const EVERY_MS = 60 * 1000;

/**
 * Fetches NEWS2 for sessions: at most once per AFTER_READING_MS per session after readings arrive,
 * at once when asked (an errored reading changed the picture), and for every session each minute.
 */
export class News2Refresher {
  constructor(onResult) {
    this.onResult = onResult;
    this.timers = new Map(); // session id -> {timer, at}: the pending fetch and when it is due
    this.lastAt = new Map(); // session id -> when last fetched (ms)
    this.seq = new Map(); // session id -> number of the newest request, so an older answer is dropped
  }

  /**
   * A reading arrived (or changed): fetch soon. After a monitor's reading never more often than
   * every few seconds; after one entered by hand (`reading.source` "manual") almost at once.
   */
  poke(sessionId, reading = null) {
    const byHand = reading?.source === "manual";
    const wait = byHand
      ? AFTER_HAND_ENTRY_MS
      : Math.max(0, (this.lastAt.get(sessionId) || 0) + AFTER_READING_MS - Date.now());
    const pending = this.timers.get(sessionId);
    if (pending) {
      if (pending.at <= Date.now() + wait) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => this.fetch(sessionId), wait);
    this.timers.set(sessionId, { timer, at: Date.now() + wait });
  }

  /** Fetch now (replacing anything pending). */
  now(sessionId) {
    clearTimeout(this.timers.get(sessionId)?.timer);
    this.fetch(sessionId);
  }

  /** Every session's score, every minute, staggered so a wall of tiles does not ask at once. */
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
    clearTimeout(this.timers.get(sessionId)?.timer);
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
