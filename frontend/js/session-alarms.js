// The session page's Alarms panel: open alarms with an Acknowledge button each (a small dialog
// takes an optional note of the action taken), and the history of resolved alarms with who
// acknowledged them and what they did.

import { AckDialog } from "./ack-dialog.js";
import {
  MARKERS,
  alarmLabel,
  isLatched,
  isUnacknowledged,
  sinceText,
  statusWords,
} from "./alerts.js";
import { localDateTime, localTime } from "./time.js";

const $ = (id) => document.getElementById(id);
const HISTORY_SHOWN = 100;

function text(tag, className, value) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  el.textContent = value;
  return el;
}

/** The coloured, flashing box with the alarm's words (shared by the list and the dialog). */
export function fillAlarmBox(box, alert) {
  box.classList.add("alarm-box");
  box.dataset.priority = alert.priority;
  box.dataset.status = alert.status;
  box.dataset.escalated = String(Boolean(alert.escalated));
  box.dataset.simulated = String(Boolean(alert.simulated)); // a drill's: violet, hatched
  const marker = text("span", "alarm-marker", MARKERS[alert.priority] || "");
  marker.setAttribute("aria-hidden", "true");
  const body = document.createElement("span");
  body.className = "alarm-body";
  for (const word of statusWords(alert)) {
    const flag = text("span", "alarm-flag", word);
    flag.dataset.flag = word.toLowerCase();
    body.append(flag);
  }
  body.append(text("span", "alarm-text", alarmLabel(alert).replace(/^!+ /, "")));
  // A drill's alarm carries a large DRILL mark too: told apart across the room, not by a word.
  const parts = alert.simulated ? [text("span", "drill-mark", "DRILL"), marker, body] : [marker, body];
  box.replaceChildren(...parts);
}

function statusText(alert) {
  if (isLatched(alert)) return "Condition cleared; stays until acknowledged";
  if (alert.status === "acknowledged") return "Acknowledged; condition still present";
  return "Not acknowledged";
}

export class AlarmsPanel {
  constructor({ sessionId, store, mayAcknowledge }) {
    this.sessionId = sessionId;
    this.store = store;
    this.mayAcknowledge = mayAcknowledge; // () => boolean, asked on each draw
    this.ack = new AckDialog({ store, fillBox: fillAlarmBox });
  }

  render() {
    const open = this.store.open(this.sessionId);
    const history = this.store.resolved(this.sessionId);
    const panel = $("alarms-panel");
    if (open.length) panel.dataset.priority = open[0].priority;
    else delete panel.dataset.priority;
    // A drill's page frames its alarms as a drill's, not in the priority's IEC colour.
    panel.dataset.simulated = String(open.length > 0 && Boolean(open[0].simulated));
    const waiting = open.filter(isUnacknowledged).length;
    $("alarms-count").textContent = open.length ? `(${open.length} open${waiting ? `, ${waiting} not acknowledged` : ""})` : "";
    // "No open alarms" only when that is known, not when they failed to load.
    $("alarms-none").hidden = open.length > 0 || !$("alarms-error").hidden;

    // Keep focus on the same alarm's button when the list is redrawn under it.
    const focusedId = document.activeElement && document.activeElement.closest("#alarm-list [data-alert-id]")
      ? document.activeElement.closest("[data-alert-id]").dataset.alertId
      : null;
    const may = this.mayAcknowledge();
    const items = open.map((alert) => this.item(alert, may));
    $("alarm-list").replaceChildren(...items);
    if (focusedId) {
      const again = $("alarm-list").querySelector(`[data-alert-id="${focusedId}"] .ack-button`);
      if (again) again.focus();
      else $("alarms-title").focus();
    }

    $("history-count").textContent = history.length ? `(${history.length})` : "";
    $("history-none").hidden = history.length > 0;
    $("alarm-history").replaceChildren(...history.slice(0, HISTORY_SHOWN).map((alert) => this.historyItem(alert)));
  }

  item(alert, may) {
    const li = document.createElement("li");
    li.className = "alarm-item";
    li.dataset.alertId = String(alert.id);
    li.dataset.priority = alert.priority;
    li.dataset.status = alert.status;
    const box = document.createElement("div");
    fillAlarmBox(box, alert);
    const meta = document.createElement("div");
    meta.className = "alarm-meta";
    const since = text("span", "alarm-since-text", sinceText(alert));
    since.dataset.raisedAt = alert.raised_at;
    meta.append(since, text("span", "alarm-status", statusText(alert)));
    box.querySelector(".alarm-body").append(meta);
    li.append(box);
    if (alert.status === "acknowledged") {
      const by = `Acknowledged by ${alert.acknowledged_by || "someone"} at ${localTime(alert.acknowledged_at, { seconds: false })}`;
      li.append(text("p", "alarm-ack", alert.note ? `${by}: “${alert.note}”` : by));
    }
    if (isUnacknowledged(alert) && may) {
      const button = text("button", "ack-button primary", "Acknowledge");
      button.type = "button";
      button.setAttribute("aria-label", `Acknowledge: ${alarmLabel(alert).replace(/^!+ /, "")}`);
      button.addEventListener("click", () => this.ack.ask(alert, (done) => this.afterAck(alert.id, done)));
      li.append(button);
    }
    return li;
  }

  historyItem(alert) {
    const li = document.createElement("li");
    li.dataset.alertId = String(alert.id);
    li.dataset.priority = alert.priority;
    const when = `${localDateTime(alert.raised_at)}–${localTime(alert.resolved_at, { seconds: false })}`;
    li.append(text("span", "h-when", `${when} `), text("span", "h-what", alarmLabel(alert)));
    if (alert.withdrawn_reason) {
      // Not an ordinary resolved alarm: the value that raised it was a mistake.
      li.dataset.withdrawn = "true";
      li.append(text("span", "h-withdrawn", ` · Withdrawn: reading entered in error — ${alert.withdrawn_reason}`));
      if (alert.acknowledged_by) li.append(text("span", "h-who", ` · had been acknowledged by ${alert.acknowledged_by}`));
      return li;
    }
    const who = alert.acknowledged_by
      ? ` · acknowledged by ${alert.acknowledged_by} at ${localTime(alert.acknowledged_at, { seconds: false })}`
      : " · cleared without acknowledgement";
    li.append(text("span", "h-who", who));
    if (alert.note) li.append(text("span", "h-note", ` · “${alert.note}”`));
    if (alert.escalated_at) li.append(text("span", "h-who", " · was escalated"));
    return li;
  }

  /** Refresh the "since … (3 min)" texts without redrawing (focus stays put). */
  tick() {
    for (const el of document.querySelectorAll("#alarm-list .alarm-since-text")) {
      const id = Number(el.closest("[data-alert-id]").dataset.alertId);
      const alert = this.store.byId.get(id);
      if (alert) el.textContent = sinceText(alert);
    }
  }

  /** Back to where the nurse was (the list may have been redrawn meanwhile), or, once
   * acknowledged, on to the next alarm still waiting. */
  afterAck(id, acknowledged) {
    if (!acknowledged) {
      this.focusAlarm(id);
      return;
    }
    const waiting = this.store.open(this.sessionId).find((a) => a.id !== id && isUnacknowledged(a));
    this.focusAlarm(waiting ? waiting.id : null);
  }

  focusAlarm(id) {
    const button = $("alarm-list").querySelector(`[data-alert-id="${id}"] .ack-button`);
    (button || $("alarms-title")).focus();
  }
}
