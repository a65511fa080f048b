// Readings not yet acknowledged by the server, kept in localStorage until it says "stored".
// Each carries the id the browser gave it, and the server stores an id once however often it
// arrives, so resending after a lost answer can never make a second reading. Kept per signed-in
// person and session: a reload keeps them, and they are never sent under someone else's name.

import { ApiError, api } from "./api.js";

const FIRST_RETRY_MS = 2000;
const MAX_RETRY_MS = 60000;
// A request with no answer by then is treated like a dropped one: retried with the same id.
const SEND_TIMEOUT_MS = 15000;
// A shared tablet must not keep (and keep retrying) readings for ever: after this a reading that
// never got through stops being retried and is shown as not sent, for a person to discard;
// one the server refused is dropped then (it was shown with its reason all along).
export const EXPIRE_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * "retry" when the reading may or may not have been stored (no answer, a server fault, a sign-in
 * that ended: the id makes the resend safe); "refused" when the server said no to the values
 * themselves, which no number of resends will change.
 */
export function classify(err) {
  if (!(err instanceof ApiError)) return "retry"; // timed out or aborted
  if (err.status === 0 || err.status >= 500) return "retry";
  if ([401, 408, 429].includes(err.status)) return "retry";
  return "refused";
}

/** True once a reading has waited longer than EXPIRE_AFTER_MS (on this device's clock). */
export function isExpired(item, nowMs = Date.now()) {
  return nowMs - new Date(item.queuedAt).getTime() > EXPIRE_AFTER_MS;
}

const newTabId = () => Math.random().toString(36).slice(2) + Date.now().toString(36);

export class OfflineQueue {
  /**
   * `onSent(reading, item)` for each reading a retry got stored; `onChange()` whenever the list
   * or its state changed (to redraw it).
   */
  constructor({ sessionId, user, onSent = () => {}, onChange = () => {} }) {
    this.key = `vigil.waiting-readings.v1.${user}.${sessionId}`;
    this.path = `/api/sessions/${sessionId}/readings`;
    this.onSent = onSent;
    this.onChange = onChange;
    this.tab = newTabId(); // which tab owns a first try in flight
    this.sending = new Set(); // ids with a request in flight: one at a time per reading
    // "storage" (localStorage) or "memory" (this browser refuses it or it is full; then a
    // reload loses what is waiting). Decided by a probe in start(), and a failed write switches
    // to memory for good, so what was written is always what is read back.
    this.mode = "storage";
    this.memory = [];
    this.delay = FIRST_RETRY_MS;
    this.timer = null;
    this.nextTryAt = null;
    this.flushing = false;
    this.signedOut = false; // a retry was answered 401: waiting for the person to sign in again
  }

  /** Retry what an earlier visit left behind, and again whenever the browser comes back online. */
  start() {
    this.probe();
    this.expire();
    window.addEventListener("online", () => {
      this.delay = FIRST_RETRY_MS;
      this.flush();
    });
    // Back from signing in (in another tab): try at once rather than after the back-off.
    window.addEventListener("focus", () => {
      if (this.signedOut) this.flush();
    });
    // Another tab on the same session sent or queued something: show the same list.
    window.addEventListener("storage", (event) => {
      if (event.key === this.key) this.onChange();
    });
    this.onChange();
    this.schedule(this.waiting().length ? 0 : undefined);
  }

  probe() {
    const probeKey = `${this.key}.probe`;
    try {
      localStorage.setItem(probeKey, "1");
      localStorage.removeItem(probeKey);
    } catch {
      this.mode = "memory";
    }
  }

  /** Everything kept, oldest first: [{id, body, queuedAt, attempts, error, refused, fresh, owner, claimedAt}]. */
  items() {
    if (this.mode === "memory") return [...this.memory];
    try {
      const text = localStorage.getItem(this.key);
      return text ? JSON.parse(text) : [];
    } catch {
      this.mode = "memory";
      return [...this.memory];
    }
  }

  /**
   * A first try still in flight, here or in another tab. One whose claim is older than the send
   * timeout belongs to a tab that was closed or crashed mid-send, and is anyone's to resend.
   */
  inFlight(item, nowMs = Date.now()) {
    if (!item.fresh) return false;
    if (item.owner === this.tab) return true;
    return nowMs - (item.claimedAt || 0) <= SEND_TIMEOUT_MS;
  }

  /** The readings still to be sent: not refused, not expired, not on a first try in flight. */
  waiting() {
    const t = Date.now();
    return this.items().filter((item) => !item.refused && !isExpired(item, t) && !this.inFlight(item, t));
  }

  write(items) {
    if (this.mode === "storage") {
      try {
        if (items.length) localStorage.setItem(this.key, JSON.stringify(items));
        else localStorage.removeItem(this.key);
        return;
      } catch {
        // Full or refused: keep everything in memory from now on rather than lose the newest.
        this.mode = "memory";
      }
    }
    this.memory = [...items];
  }

  update(id, change) {
    this.write(this.items().map((item) => (item.id === id ? { ...item, ...change(item) } : item)));
  }

  /** Drop refused readings older than EXPIRE_AFTER_MS; unsent ones stay, shown as not sent. */
  expire() {
    const t = Date.now();
    const items = this.items();
    const kept = items.filter((item) => !(item.refused && isExpired(item, t)));
    if (kept.length !== items.length) this.write(kept);
  }

  /** Keep `body` (it carries its own id) before its first try, so nothing can lose it. */
  add(body) {
    const item = {
      id: body.id,
      body,
      queuedAt: new Date().toISOString(),
      attempts: 0,
      error: null,
      refused: false,
      fresh: true,
      owner: this.tab,
      claimedAt: Date.now(),
    };
    this.write([...this.items(), item]);
    return item;
  }

  /** Forget a reading (sent, refused on its first try, or discarded by the person). */
  remove(id) {
    this.write(this.items().filter((item) => item.id !== id));
    this.onChange();
  }

  /**
   * One try: {status: "sent", reading} | {status: "waiting" | "refused", error, message}
   * | {status: "busy"} (already being sent: it stays in the queue, nothing to do).
   * 401 is thrown, not redirected: leaving the page would lose the person's typing.
   */
  async attempt(id) {
    const item = this.items().find((i) => i.id === id);
    if (!item || this.sending.has(id)) return { status: "busy" };
    const mine = item.fresh && item.owner === this.tab; // the form still holds its values
    this.sending.add(id);
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), SEND_TIMEOUT_MS);
    try {
      const reading = await api(this.path, {
        method: "POST",
        body: item.body,
        signal: controller.signal,
        on401: "throw",
      });
      this.signedOut = false;
      this.write(this.items().filter((i) => i.id !== id));
      return { status: "sent", reading };
    } catch (err) {
      const refused = classify(err) === "refused";
      this.signedOut = err instanceof ApiError && err.status === 401;
      const message =
        err instanceof ApiError ? err.message : "No answer from the Vigil server in time.";
      if (refused && mine) {
        // Refused on its first try: the form still holds the values and shows why.
        this.write(this.items().filter((i) => i.id !== id));
      } else {
        this.update(id, (i) => ({ attempts: i.attempts + 1, error: message, refused, fresh: false }));
      }
      return { status: refused ? "refused" : "waiting", error: err, message };
    } finally {
      clearTimeout(timeout);
      this.sending.delete(id);
      this.onChange();
    }
  }

  /** Send every waiting reading, oldest first; stop at the first that still cannot get through. */
  async flush() {
    if (this.flushing) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.flushing = true;
    let blocked = false;
    try {
      for (const item of this.waiting()) {
        const result = await this.attempt(item.id);
        if (result.status === "sent") this.onSent(result.reading, item);
        if (result.status === "waiting") {
          blocked = true;
          break;
        }
      }
    } finally {
      this.flushing = false;
    }
    this.delay = blocked ? Math.min(this.delay * 2, MAX_RETRY_MS) : FIRST_RETRY_MS;
    this.schedule();
  }

  /**
   * Try again after the current back-off (or after `delay` ms) if anything is waiting; if only
   * another tab's first try is pending, look again once its claim has run out.
   */
  schedule(delay = this.delay) {
    clearTimeout(this.timer);
    this.timer = null;
    this.nextTryAt = null;
    let wait = null;
    if (this.waiting().length) {
      wait = delay;
    } else {
      const t = Date.now();
      const claims = this.items()
        .filter((item) => item.fresh && item.owner !== this.tab && !item.refused && !isExpired(item, t))
        .map((item) => (item.claimedAt || 0) + SEND_TIMEOUT_MS + 100 - t);
      if (claims.length) wait = Math.max(0, Math.min(...claims));
    }
    if (wait !== null) {
      this.nextTryAt = Date.now() + wait;
      this.timer = setTimeout(() => this.flush(), wait);
    }
    this.onChange();
  }
}
