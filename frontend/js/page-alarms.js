// Patients' alarms on a page about something else (the limits, the trainer console, the session
// record): no signed-in page lets a patient's alarm go unseen or unheard. The page pins the alarm
// strip (alarm-strip.js) and plays the alarm sound (alarm-audio.js) for every open alarm of a
// real patient, fed by the ward-wide stream, with the lost-link technical alarm when that stream
// is down. Drills are neither listed nor heard here: they sound on the ward and on their own
// session pages.

import { api } from "./api.js";
import { initAlarmAudio } from "./alarm-audio.js";
import { AlarmStrip } from "./alarm-strip.js";
import { AlertStore, alarmLabel } from "./alerts.js";
import { announce } from "./announce.js";
import { LinkAlarm } from "./link-alarm.js";
import { LiveStream } from "./stream.js";

const $ = (id) => document.getElementById(id);
const NEWS = new Set(["raised", "priority_raised", "reminded", "escalated"]);
const RECONCILE_MS = 30000;
const RETRY_MS = 5000;

export class PatientAlarms {
  /** `store`: the page's AlertStore when it keeps one already (the trainer console's). */
  constructor({ store = new AlertStore() } = {}) {
    this.store = store;
    this.sound = initAlarmAudio();
    this.link = new LinkAlarm({ sound: this.sound });
    this.strip = new AlarmStrip({
      root: $("alarm-strip"),
      list: $("alarm-strip-list"),
      none: $("alarm-strip-none"),
      note: $("alarm-strip-note"),
    });
    this.loadFailed = false;
    this.drawTimer = null;
    this.retryTimer = null;
    store.onChange(() => this.drawSoon());
    this.draw();
  }

  /** The open alarms this page shows and sounds: real patients' only. */
  open() {
    return this.store.open().filter((alert) => !alert.simulated);
  }

  drawSoon() {
    if (this.drawTimer) return;
    this.drawTimer = setTimeout(() => {
      this.drawTimer = null;
      this.draw();
    }, 0);
  }

  draw() {
    const open = this.open();
    const note = this.loadFailed ? "The alarms could not be loaded: this list may be incomplete. Trying again…" : "";
    this.strip.draw(open, { note });
    this.sound.setAlarms(open);
  }

  /** An alert.changed event: kept, and a patient's new alarm spoken with its chair. */
  take(alert) {
    if (!this.store.apply(alert)) return;
    const news = (alert.changes || []).some((change) => NEWS.has(change));
    if (news && alert.status === "active" && !alert.simulated) {
      announce(`${alert.chair}: ${alarmLabel(alert).replace(/^!+ /, "")}${alert.escalated ? ", escalated" : ""}`);
    }
  }

  /** Take the server's list of open alarms (at the start, after a reconnect, now and again). */
  async reconcile() {
    clearTimeout(this.retryTimer);
    try {
      this.store.replaceOpen(await api("/api/alerts"));
      this.loadFailed = false;
    } catch (err) {
      if (err && err.status === 401) return;
      this.loadFailed = true;
      this.retryTimer = setTimeout(() => this.reconcile(), RETRY_MS);
    }
    this.draw();
  }

  /** Follow the ward-wide stream, for a page that has none of its own. */
  watch() {
    const stream = new LiveStream({
      onStatus: (state, attempt, lostSince) => this.link.status(state, attempt, lostSince),
      onEvent: (message) => {
        if (message.kind === "alert.changed") this.take(message.data);
      },
      onReady: () => this.reconcile(),
      onReset: () => this.reconcile(),
    });
    stream.start();
    this.reconcile();
    setInterval(() => this.reconcile(), RECONCILE_MS);
    window.addEventListener("pagehide", () => stream.stop());
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) location.reload(); // back from the cache: the stream was stopped
    });
    return stream;
  }
}
