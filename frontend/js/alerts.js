// Alarms as the pages show them: one store per page that takes the API's lists and the
// stream's `alert.changed` events in any order and keeps the newest state of each alarm,
// plus the words and markers every alarm is shown with (colour is never the only signal).

import { api } from "./api.js";
import { durationText, localTime, now, parseTime } from "./time.js";

export const RANK = { low: 1, medium: 2, high: 3 };
/** The IEC 60601-1-8 habit of "!" markers, one per step of priority. */
export const MARKERS = { low: "!", medium: "!!", high: "!!!" };
export const PRIORITY_WORDS = { low: "LOW", medium: "MEDIUM", high: "HIGH" };
const KIND_WORDS = { technical: "TECHNICAL ", advisory: "ADVISORY ", physiological: "" };

export const isOpen = (alert) => alert.status !== "resolved";
/** Demands attention now: not yet acknowledged (a latched alarm too, until someone does). */
export const isUnacknowledged = (alert) => alert.status === "active";
export const isLatched = (alert) => alert.status === "active" && alert.present === false;

const ms = (iso) => (iso ? parseTime(iso).getTime() : 0);

/**
 * How far an alarm's story has got, to tell a stale copy from a newer one when a list fetched
 * over HTTP and the stream's events cross. Resolved is final; otherwise the newest of its
 * timestamps (each transition sets one, except a lowered priority or a latch, which tie and
 * so are taken in arrival order).
 */
function progress(alert) {
  if (alert.version !== undefined && alert.version !== null) return [1, Number(alert.version)];
  if (alert.updated_at) return [1, ms(alert.updated_at)];
  const stamp = Math.max(
    ms(alert.raised_at),
    ms(alert.alerted_at),
    ms(alert.acknowledged_at),
    ms(alert.resolved_at),
    ms(alert.escalated_at),
  );
  return [alert.status === "resolved" ? 2 : 1, stamp];
}

function notOlder(incoming, current) {
  if (current.status === "resolved" && incoming.status !== "resolved") return false;
  const [a0, a1] = progress(incoming);
  const [b0, b1] = progress(current);
  return a0 !== b0 ? a0 > b0 : a1 >= b1;
}

/** Highest priority first; then the ones nobody has acknowledged, escalated, newest. */
export function compareAlerts(a, b) {
  return (
    RANK[b.priority] - RANK[a.priority] ||
    Number(isUnacknowledged(b)) - Number(isUnacknowledged(a)) ||
    Number(Boolean(b.escalated)) - Number(Boolean(a.escalated)) ||
    ms(b.alerted_at) - ms(a.alerted_at) ||
    b.id - a.id
  );
}

export class AlertStore {
  constructor() {
    this.byId = new Map();
    this.listeners = new Set();
  }

  /** Take one alarm (from a list, an event or our own acknowledge); true if it changed what we hold. */
  apply(alert) {
    if (!alert || alert.id === undefined) return false;
    const current = this.byId.get(alert.id);
    if (current && !notOlder(alert, current)) return false;
    const { changes, ...clean } = alert;
    if (current && JSON.stringify(current) === JSON.stringify(clean)) return false; // nothing new
    this.byId.set(alert.id, clean);
    for (const listener of this.listeners) listener(clean, changes || [], current || null);
    return true;
  }

  /**
   * Take the full list of open alarms (GET /api/alerts) for the sessions in `scope` (a predicate
   * on session id; all when omitted): an open alarm we hold that the list lacks was resolved
   * meanwhile, or its session ended.
   */
  replaceOpen(list, scope = () => true) {
    const seen = new Set();
    let changed = false;
    for (const alert of list) {
      seen.add(alert.id);
      if (this.apply(alert)) changed = true;
    }
    for (const [id, alert] of this.byId) {
      if (!seen.has(id) && isOpen(alert) && scope(alert.session_id)) {
        this.byId.delete(id);
        changed = true;
      }
    }
    return changed;
  }

  forgetSession(sessionId) {
    for (const [id, alert] of this.byId) if (alert.session_id === sessionId) this.byId.delete(id);
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  all() {
    return [...this.byId.values()];
  }

  open(sessionId = null) {
    return this.all()
      .filter((a) => isOpen(a) && (sessionId === null || a.session_id === sessionId))
      .sort(compareAlerts);
  }

  resolved(sessionId) {
    return this.all()
      .filter((a) => !isOpen(a) && a.session_id === sessionId)
      .sort((a, b) => ms(b.resolved_at) - ms(a.resolved_at) || b.id - a.id);
  }

  /** The alarm a tile shows for its session: the highest open one (null when none). */
  top(sessionId) {
    return this.open(sessionId)[0] || null;
  }
}

/**
 * "!!! HIGH ALARM: Heart rate 152 /min above 140" (technical and advisory ones say so, and a
 * drill's alarm, wherever it is shown or spoken, is a "SIMULATED HIGH ALARM").
 */
export function alarmLabel(alert) {
  const sim = alert.simulated ? "SIMULATED " : "";
  const words = `${sim}${PRIORITY_WORDS[alert.priority] || alert.priority} ${KIND_WORDS[alert.kind] ?? ""}ALARM`;
  return `${MARKERS[alert.priority] || ""} ${words}: ${alert.message}`.trim();
}

/** The status words shown beside an alarm, e.g. ["ESCALATED", "LATCHED"] or ["ACK"]. */
export function statusWords(alert) {
  const words = [];
  if (alert.escalated && isUnacknowledged(alert)) words.push("ESCALATED");
  if (alert.status === "acknowledged") words.push("ACK");
  if (isLatched(alert)) words.push("LATCHED");
  if (alert.status === "resolved") words.push("RESOLVED");
  return words;
}

/** "since 14:05 (3 min)". */
export function sinceText(alert) {
  return `since ${localTime(alert.raised_at, { seconds: false })} (${durationText(now() - ms(alert.raised_at))})`;
}

/** Acknowledge an alarm, with an optional note of the action taken; returns the updated alarm. */
/** `actionable`: the optional answer to "did it need action?" (true, false, or null: not given). */
export async function acknowledgeAlert(id, note, actionable = null) {
  const body = note ? { note } : {};
  if (actionable !== null) body.actionable = actionable;
  return api(`/api/alerts/${id}/acknowledge`, { method: "POST", body });
}
