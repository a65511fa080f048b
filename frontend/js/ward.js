// Ward overview: one tile per active session, kept current by the ward-wide live stream.

import { api } from "./api.js";
import { initAlarmAudio } from "./alarm-audio.js";
import { AlertStore, MARKERS, PRIORITY_WORDS, alarmLabel, isUnacknowledged, sinceText, statusWords } from "./alerts.js";
import { announce } from "./announce.js";
import { initHeader } from "./header.js";
import { LinkAlarm } from "./link-alarm.js";
import { AckDialog } from "./ack-dialog.js";
import { AlarmStrip, chairsByUrgency } from "./alarm-strip.js";
import { fillAlarmBox } from "./session-alarms.js";
import { canAcknowledge, canStartSession } from "./roles.js";
import { initStartSession } from "./start-session.js";
import { LiveStream } from "./stream.js";
import { durationText, everySecond, localTime, now, parseTime } from "./time.js";
import { drawVitals, refreshVitals } from "./ward-vitals.js";
import { foldLatest } from "./vitals-display.js";
import { TREND_MS, TileTrend, fetchTrend } from "./ward-trend.js";
import { News2Refresher } from "./news2-refresh.js";
import { drawNews2, refreshNews2Age } from "./ward-news2.js";
import { WallDisplay } from "./ward-display.js";
import { PlaceFilter } from "./ward-place.js";
import { loadCatalogue } from "./catalogue.js";
import { ENDED_PHASES, PHASE_NAMES, drugAndRoute } from "./labels.js";


const tilesEl = document.getElementById("tiles");
const tiles = new Map(); // session id -> { session, latest, el, trend, news2 }
let loaded = false;
let buffered = []; // events that arrived while the session list was loading
let renderTimer = null;
const dirty = new Set();
const alerts = new AlertStore();
let sound = null;
// A clinic's real ward can leave training sessions out (remembered on this screen).
const HIDE_SIM_KEY = "vigil.ward.hideSimulated";
let hideSimulated = localStorage.getItem(HIDE_SIM_KEY) === "1";
// "Most urgent first" (remembered on this screen): chairs in alarm before the others, ranked as
// the alarm strip ranks them. The ranking is taken again only when an alarm changes, never on a
// reading, so a tile does not move while the nurse reads it; otherwise tiles keep chair order.
const ORDER_KEY = "vigil.ward.order";
let urgentFirst = localStorage.getItem(ORDER_KEY) === "urgent";
let urgencyRank = new Map(); // session id -> place among the chairs in alarm
let strip = null;
// The site and room this screen shows (remembered on this screen; ward-place.js).
let place = null;
const inPlace = (session) => !place || place.matches(session);
/** Tiles shown, and so counted, alarmed and sounded. */
const shownOn = (sessionId) => {
  const entry = tiles.get(sessionId);
  return Boolean(entry) && inPlace(entry.session) && !(hideSimulated && entry.session.simulated);
};
let me = null;
let ackDialog = null;
let wall = null;
const news2 = new News2Refresher((sessionId, score) => {
  const entry = tiles.get(sessionId);
  if (!entry) return;
  entry.news2 = score;
  drawNews2(entry.el.querySelector(".tile-news2"), score);
});

/** A tile's fixed frame, built once: redrawing never replaces the link, so focus stays put. */
function tileFor(session) {
  const el = document.createElement("article");
  el.className = "tile";
  el.id = `chair-tile-${session.id}`; // the alarm strip's entries lead here
  el.dataset.sessionId = String(session.id);
  el.setAttribute("aria-labelledby", `tile-${session.id}-title`);
  el.innerHTML = `
    <div class="tile-top">
      <h2 id="tile-${session.id}-title">
        <a class="tile-link" href="/sessions/${session.id}"><span class="tile-chair"></span
          ><span class="visually-hidden">: </span><span class="tile-patient"></span
          ><span class="visually-hidden tile-sim-note"> (simulated)</span></a>
      </h2>
      <span class="badge sim" title="Training session: not a real patient" hidden>SIMULATED</span>
    </div>
    <div class="tile-alarm" hidden>
      <span class="drill-mark" hidden>DRILL</span>
      <span class="alarm-marker" aria-hidden="true"></span>
      <span class="alarm-body"><span class="alarm-flags"></span><span class="alarm-text"></span>
        <span class="alarm-since"></span><span class="alarm-more"></span></span>
      <button type="button" class="tile-ack small" hidden>Acknowledge</button>
    </div>
    <div class="tile-phase"><span class="badge phase"></span> <span class="phase-since"></span
      ><span class="infusion-since" hidden></span></div>
    <div class="tile-meta"></div>
    <div class="vitals-grid tile-vitals"></div>
    <p class="tile-data-note" hidden></p>
    <div class="tile-news2" data-band="none"><abbr class="news2-label"
      title="National Early Warning Score 2">NEWS2</abbr> <strong class="news2-score">…</strong>
      <span class="news2-band"></span> <span class="news2-missing" hidden></span>
      <span class="news2-stale" hidden><span class="badge stale">Stale</span> <span class="news2-as-of"></span></span></div>`;
  return el;
}

/** A tile's entry, drawn, with its trend loading (`summary` may carry latest values and NEWS2). */
function newEntry(session, summary) {
  const entry = {
    session,
    latest: { ...((summary && summary.latest) || {}) },
    el: tileFor(session),
    trend: new TileTrend(),
    trendLoaded: false,
    news2: (summary && summary.news2) || null,
  };
  tiles.set(session.id, entry);
  drawTile(entry);
  drawNews2(entry.el.querySelector(".tile-news2"), entry.news2);
  if (entry.news2) news2.seen(session.id);
  else news2.now(session.id);
  queueTrend(session.id);
  return entry;
}

// Trends load a few tiles at a time, so a wall of twelve chairs does not ask for all at once.
const trendQueue = [];
let trendsLoading = 0;
const TREND_PARALLEL = 2;

function queueTrend(sessionId) {
  if (!trendQueue.includes(sessionId)) trendQueue.push(sessionId);
  pumpTrends();
}

function pumpTrends() {
  while (trendsLoading < TREND_PARALLEL && trendQueue.length) {
    const id = trendQueue.shift();
    trendsLoading += 1;
    loadTrend(id).finally(() => {
      trendsLoading -= 1;
      pumpTrends();
    });
  }
}

/** Load a tile's last 30 minutes (again, after an entry in error), keeping what the stream added meanwhile. */
async function loadTrend(sessionId) {
  const entry = tiles.get(sessionId);
  if (!entry) return;
  // A mark made while this load was under way may not be in what it fetched: then its result
  // is dropped (the load the mark queued replaces it), or the errored value would come back.
  const marks = entry.errorMarks || 0;
  entry.pending = entry.pending || [];
  entry.loading = (entry.loading || 0) + 1;
  let body = null;
  try {
    body = await fetchTrend(sessionId, new Date(now() - TREND_MS));
  } catch {
    setTimeout(() => tiles.get(sessionId) === entry && queueTrend(sessionId), 10000);
  }
  const pending = entry.pending;
  entry.loading -= 1;
  if (!entry.loading) entry.pending = null;
  if (!body || tiles.get(sessionId) !== entry || (entry.errorMarks || 0) !== marks) return;
  const fresh = TileTrend.fromBuckets(body);
  // Stream events carry the outbox cursor: one at or before the answer's stream_cursor is
  // already in its buckets (add skips it), a later one is added.
  for (const { reading, cursor } of pending) fresh.add(reading, cursor);
  entry.trend = fresh;
  entry.trendLoaded = true;
  markDirty(sessionId);
}

/** Fill a tile from its session and latest values (all text goes in as text, never as HTML). */
function drawTile(entry) {
  const { session, latest, el } = entry;
  const q = (selector) => el.querySelector(selector);
  el.dataset.simulated = String(session.simulated);
  el.dataset.phase = session.phase;
  q(".tile-chair").textContent = session.chair;
  q(".tile-patient").textContent = session.patient.display_name;
  q(".tile-sim-note").hidden = !session.simulated;
  q(".badge.sim").hidden = !session.simulated;
  const badge = q(".badge.phase");
  badge.dataset.phase = session.phase;
  badge.textContent = PHASE_NAMES[session.phase] || session.phase;
  q(".phase-since").dataset.since = session.phase_changed_at;
  const dose = session.planned_dose_mg ? ` · ${session.planned_dose_mg} mg` : "";
  // Where the chair is, when this screen shows more than one room ("Chair 1" may be in each).
  const room = place && place.showsRooms() ? `${session.room} · ` : "";
  q(".tile-meta").textContent =
    `${room}${session.patient.clinic_id} · ${drugAndRoute(session)}${dose}`;
  entry.trend.prune();
  drawVitals(q(".tile-vitals"), {
    latest,
    trend: entry.trend,
    phase: session.phase,
    news2MaxMinutes: entry.news2 && entry.news2.max_age_minutes,
    alarms: alerts.open(session.id), // an alarming value shows its priority and limit
  });
  el.dataset.trend = entry.trendLoaded ? "loaded" : "loading";
  const started = infusionStart(session);
  const infusion = q(".infusion-since");
  infusion.hidden = !started;
  if (started) {
    infusion.dataset.since = started;
    infusion.title = `Infusion started at ${localTime(started, { seconds: false })}`;
  }
  drawAlarm(entry);
  tickTile(el);
}

/**
 * The tile's alarm: its highest open alarm in the IEC colours (red flashing, yellow flashing,
 * cyan steady), with the priority in words and "!" markers, so colour is never the only signal.
 * An acknowledged alarm stops flashing but stays, outlined and marked ACK.
 */
function drawAlarm(entry) {
  const { el, session } = entry;
  const box = el.querySelector(".tile-alarm");
  const open = alerts.open(session.id);
  const top = open[0];
  if (!top) {
    box.hidden = true;
    delete el.dataset.alarm;
    delete el.dataset.alarmStatus;
    box.removeAttribute("data-alert-id");
    return;
  }
  box.hidden = false;
  box.dataset.alertId = String(top.id);
  box.dataset.priority = top.priority;
  box.dataset.status = top.status;
  box.dataset.escalated = String(Boolean(top.escalated));
  box.dataset.simulated = String(Boolean(top.simulated));
  el.dataset.alarm = top.priority;
  el.dataset.alarmStatus = top.status;
  box.querySelector(".drill-mark").hidden = !top.simulated;
  box.querySelector(".alarm-marker").textContent = MARKERS[top.priority];
  const flags = box.querySelector(".alarm-flags");
  flags.replaceChildren(
    ...statusWords(top).map((word) => {
      const badge = document.createElement("span");
      badge.className = "alarm-flag";
      badge.dataset.flag = word.toLowerCase();
      badge.textContent = word;
      return badge;
    }),
  );
  const words = alarmLabel(top).replace(/^!+ /, "");
  const text = box.querySelector(".alarm-text");
  if (top.simulated) {
    // "SIMULATED" on its own, so the wall's small tiles can leave it to the DRILL mark on screen
    // while it is still read out.
    const sim = document.createElement("span");
    sim.className = "sim-word";
    sim.textContent = "SIMULATED ";
    text.replaceChildren(sim, words.replace(/^SIMULATED /, ""));
  } else {
    text.textContent = words;
  }
  box.querySelector(".alarm-since").dataset.raisedAt = top.raised_at;
  box.querySelector(".alarm-since").textContent = sinceText(top);
  const others = open.slice(1);
  const more = box.querySelector(".alarm-more");
  if (!others.length) {
    more.textContent = "";
  } else {
    const waiting = others.filter(isUnacknowledged).length;
    more.textContent = ` +${others.length} more${waiting ? ` (${waiting} not acknowledged)` : ""}`;
  }
  box.title = open.map(alarmLabel).join("\n");
  drawAckButton(entry, open);
}

/**
 * The tile's Acknowledge button, for the highest alarm nobody has acknowledged yet, so the nurse
 * at the station answers without leaving the ward (a note can be added in the dialog).
 */
function drawAckButton(entry, open) {
  const button = entry.el.querySelector(".tile-ack");
  const waiting = open.find(isUnacknowledged);
  const may = Boolean(me) && canAcknowledge(me.role, entry.session.simulated);
  button.hidden = !waiting || !may;
  if (button.hidden) {
    delete button.dataset.alertId;
    return;
  }
  button.dataset.alertId = String(waiting.id);
  const label = `Acknowledge ${entry.session.chair}: ${alarmLabel(waiting).replace(/^!+ /, "")}`;
  button.setAttribute("aria-label", label);
  button.title = label;
}

function askAck(sessionId) {
  const entry = tiles.get(sessionId);
  const button = entry && entry.el.querySelector(".tile-ack");
  const alert = button && alerts.byId.get(Number(button.dataset.alertId));
  if (!alert) return;
  ackDialog.ask(alert, () => {
    // Back to this tile: its button if an alarm still waits (the tile may not be redrawn yet,
    // so the store decides), else its link.
    const again = tiles.get(sessionId);
    if (!again) return;
    const waiting = alerts.open(sessionId).some(isUnacknowledged);
    again.el.querySelector(waiting ? ".tile-ack" : ".tile-link").focus();
  });
}

/**
 * The ward's alarm count by priority, beside the session count: patients' alarms, and a drill's
 * counted apart ("simulated: …"), so a drill never reads as a patient's alarm.
 */
function drawWardAlarms() {
  const el = document.getElementById("ward-alarms");
  const shown = alerts.open().filter((a) => shownOn(a.session_id));
  if (!shown.length) {
    el.hidden = true;
    return;
  }
  const counts = (list) =>
    ["high", "medium", "low"]
      .map((p) => [p, list.filter((a) => a.priority === p).length])
      .filter(([, n]) => n)
      .map(([p, n]) => `${n} ${PRIORITY_WORDS[p]} ${MARKERS[p]}`)
      .join(", ");
  const real = shown.filter((a) => !a.simulated);
  const drills = shown.filter((a) => a.simulated);
  const parts = [];
  if (real.length) {
    const waiting = real.filter(isUnacknowledged).length;
    parts.push(`Alarms: ${counts(real)}${waiting ? ` · ${waiting} not acknowledged` : " · all acknowledged"}`);
  }
  if (drills.length) parts.push(`SIMULATED: ${counts(drills)}`);
  el.textContent = parts.join(" · ");
  // The colour follows patients' alarms only; drills alone leave it plain.
  if (real.length) el.dataset.priority = real[0].priority;
  else delete el.dataset.priority;
  el.dataset.simulatedOnly = String(!real.length);
  el.hidden = false;
}

/** When the infusion first started (the clock that BP response is read against), or null. */
function infusionStart(session) {
  const change = (session.phase_changes || []).find((c) => c.to_phase === "infusing");
  return change ? change.at : null;
}

function tickTile(el) {
  refreshNews2Age(el.querySelector(".tile-news2"));
  const data = refreshVitals(el.querySelector(".tile-vitals"));
  const note = el.querySelector(".tile-data-note");
  el.dataset.data = data.state;
  if (data.state === "none") note.textContent = "No readings yet";
  else if (data.state === "stale") note.textContent = `No current data: newest value ${durationText(data.newestAgeMs)} old`;
  note.hidden = data.state === "ok";
  const alarmSince = el.querySelector(".tile-alarm:not([hidden]) .alarm-since");
  if (alarmSince) {
    const top = alerts.top(Number(el.dataset.sessionId));
    if (top) alarmSince.textContent = sinceText(top);
  }
  const since = el.querySelector(".phase-since");
  if (since) since.textContent = `for ${durationText(now() - parseTime(since.dataset.since).getTime())}`;
  const infusion = el.querySelector(".infusion-since:not([hidden])");
  if (infusion) {
    const ms = now() - parseTime(infusion.dataset.since).getTime();
    infusion.textContent = `${durationText(ms)} since infusion start`;
  }
}

const byName = (a, b) => String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
// The room's map: site, then room, then chair ("Chair 2" before "Chair 10"), so each room's
// chairs stay together when a screen shows several.
const byChair = (a, b) =>
  byName(a.session.site, b.session.site) ||
  byName(a.session.room, b.session.room) ||
  byName(a.session.chair, b.session.chair);

/** Rank the chairs in alarm as the strip does (called when an alarm changes, not on readings). */
function rerank() {
  const chairs = chairsByUrgency(alerts.open().filter((a) => shownOn(a.session_id)));
  urgencyRank = new Map(chairs.map((chair, i) => [chair.sessionId, i]));
}

/**
 * Keep tiles in chair order ("Chair 2" before "Chair 10"), or with "Most urgent first" the
 * chairs in alarm first as last ranked; a wall display shows as many as it can hold and the
 * strip names the rest, so no chair is off the screen without a word.
 */
function placeTiles() {
  let entries = [...tiles.values()].sort(byChair);
  if (urgentFirst) {
    const rank = (entry) => urgencyRank.get(entry.session.id) ?? Infinity;
    entries = entries
      .map((entry, i) => [entry, i])
      .sort(([a, i], [b, j]) => rank(a) - rank(b) || i - j)
      .map(([entry]) => entry);
  }
  const order = entries.map((entry) => entry.el);
  const current = [...tilesEl.children];
  if (order.length !== current.length || order.some((el, i) => el !== current[i])) {
    // Re-inserting a focused tile would drop focus: keep it where it is when nothing moved.
    const focused = document.activeElement;
    tilesEl.replaceChildren(...order);
    if (focused && tilesEl.contains(focused)) focused.focus();
  }
  const capacity = wall ? wall.capacity : Infinity;
  let count = 0;
  let hidden = 0;
  let elsewhere = 0;
  let elsewhereAlarming = 0;
  let onScreen = 0;
  const offScreenIds = new Set();
  const quietOff = [];
  for (const entry of entries) {
    const id = entry.session.id;
    const shown = shownOn(id);
    const fits = shown && onScreen < capacity;
    entry.el.hidden = !fits;
    if (!inPlace(entry.session)) {
      elsewhere += 1;
      if (alerts.top(id)) elsewhereAlarming += 1;
    }
    else if (!shown) hidden += 1;
    else count += 1;
    if (fits) {
      onScreen += 1;
      delete entry.el.dataset.offScreen;
    } else if (shown) {
      entry.el.dataset.offScreen = "true";
      offScreenIds.add(id);
      if (!alerts.top(id)) quietOff.push({ sessionId: id, chair: entry.session.chair });
    }
  }
  const leftOut = [
    hidden ? `${hidden} simulated hidden` : "",
    elsewhere ? `${elsewhere} elsewhere not shown` : "",
  ].filter(Boolean).join(", ");
  document.getElementById("ward-count").textContent = `${count} active session${count === 1 ? "" : "s"}${leftOut ? ` (${leftOut})` : ""}`;
  document.getElementById("ward-empty").hidden = count > 0;
  drawWardAlarms();
  drawStrip(offScreenIds, quietOff, hidden, elsewhere, elsewhereAlarming);
  if (wall) wall.layout(onScreen);
}

/**
 * The strip: every chair on this ward with an open alarm, most urgent first, then the chairs
 * this screen has no room for; hidden simulated sessions are counted (the screen chose not to
 * show drills), not listed.
 */
function drawStrip(offScreenIds = new Set(), quietOff = [], hidden = 0, elsewhere = 0, alarming = 0) {
  if (!strip) return;
  const plural = (n) => `${n} ${n === 1 ? "session" : "sessions"}`;
  const note = [
    hidden ? `${plural(hidden).replace(" ", " simulated ")} hidden (Hide simulated sessions is on)` : "",
    // Another room's chairs are another station's: said, so no one thinks the clinic is quiet.
    elsewhere
      ? `${plural(elsewhere)} in other rooms not shown${alarming ? `, ${alarming} of them in alarm` : ""}` +
        ` (Showing: ${place.label()})`
      : "",
  ].filter(Boolean).join(" · ");
  strip.draw(alerts.open().filter((a) => shownOn(a.session_id)), { offScreen: quietOff, offScreenIds, note });
}

/** From the strip to the chair's tile: scrolled into view and focused, or its page if off screen. */
function goToTile(sessionId, event) {
  const entry = tiles.get(sessionId);
  if (!entry || entry.el.hidden) return; // not on this screen: the link opens its session
  event.preventDefault();
  entry.el.scrollIntoView({ block: "center" });
  entry.el.querySelector(".tile-link").focus({ preventScroll: true });
  entry.el.dataset.found = "true";
  setTimeout(() => delete entry.el.dataset.found, 3000);
}

function initStrip() {
  strip = new AlarmStrip({
    root: document.getElementById("alarm-strip"),
    list: document.getElementById("alarm-strip-list"),
    none: document.getElementById("alarm-strip-none"),
    note: document.getElementById("alarm-strip-note"),
    linkFor: (id) => `/sessions/${id}`,
    openLink: true,
    onGo: goToTile,
  });
}

function initOrderChoice() {
  const box = document.getElementById("order-urgent");
  box.checked = urgentFirst;
  box.addEventListener("change", () => {
    urgentFirst = box.checked;
    localStorage.setItem(ORDER_KEY, urgentFirst ? "urgent" : "chair");
    rerank();
    placeTiles();
  });
}

function initPlaceFilter() {
  place = new PlaceFilter({
    select: document.getElementById("place-filter"),
    onChange: () => {
      showPlace();
      for (const entry of tiles.values()) drawTile(entry);
      rerank();
      placeTiles();
      soundAlarms();
    },
  });
  place.load().then(() => {
    showPlace();
    for (const entry of tiles.values()) drawTile(entry);
    placeTiles();
    soundAlarms();
  });
}

function showPlace() {
  const label = place.label();
  document.getElementById("ward-place").textContent = label ? ` · ${label}` : "";
}

function initSimulatedFilter() {
  const box = document.getElementById("hide-simulated");
  box.checked = hideSimulated;
  box.addEventListener("change", () => {
    hideSimulated = box.checked;
    localStorage.setItem(HIDE_SIM_KEY, hideSimulated ? "1" : "0");
    rerank();
    placeTiles();
    soundAlarms();
  });
}

function upsertSession(session, latest) {
  const existing = tiles.get(session.id);
  if (ENDED_PHASES.has(session.phase)) {
    alerts.forgetSession(session.id);
    soundAlarms();
    if (existing) {
      tiles.delete(session.id);
      news2.forget(session.id);
      placeTiles();
    }
    return;
  }
  if (existing) {
    // An event can be older than what the list already showed: never step a phase backwards.
    if ((session.phase_changes || []).length < (existing.session.phase_changes || []).length) return;
    existing.session = session;
    if (latest) existing.latest = { ...latest }; // each value carries its source
    markDirty(session.id);
    return;
  }
  newEntry(session, { latest, news2: session.news2 });
  rerank(); // its alarms may have come before its tile
  placeTiles();
}

function markDirty(id) {
  dirty.add(id);
  if (!renderTimer) {
    // A backfill after a reconnect can bring hundreds of readings: draw once per batch.
    renderTimer = setTimeout(() => {
      renderTimer = null;
      for (const sid of dirty) {
        const entry = tiles.get(sid);
        if (entry) drawTile(entry);
      }
      dirty.clear();
      placeTiles(); // and fits the wall display's tiles
    }, 100);
  }
}

async function fetchOne(id) {
  try {
    const summary = await api(`/api/sessions/${id}`);
    upsertSession(summary, summary.latest);
    return summary;
  } catch {
    // The next event for it will try again.
    return null;
  }
}

/** A reading was entered in error: its values leave the tile, its trend and its score. */
async function reloadTile(id) {
  const entry = tiles.get(id);
  if (!entry) return;
  entry.errorMarks = (entry.errorMarks || 0) + 1; // see loadTrend
  queueTrend(id);
  const summary = await fetchOne(id);
  if (summary && tiles.get(id)) {
    const again = tiles.get(id);
    again.news2 = summary.news2;
    news2.seen(id);
    drawNews2(again.el.querySelector(".tile-news2"), summary.news2);
  } else {
    news2.now(id);
  }
}

function apply(message) {
  const id = message.session_id;
  if (message.kind === "reading.created") {
    const entry = tiles.get(id);
    if (!entry) {
      fetchOne(id); // a session we have not seen (created before the list loaded)
      return;
    }
    foldLatest(entry.latest, message.data);
    entry.trend.add(message.data, message.cursor);
    if (entry.pending) entry.pending.push({ reading: message.data, cursor: message.cursor }); // for the trend being loaded
    news2.poke(id, message.data);
    markDirty(id);
  } else if (message.kind === "reading.entered_in_error") {
    reloadTile(id);
  } else if (message.kind === "session.created" || message.kind === "session.phase_changed") {
    upsertSession(message.data, null);
  } else if (message.kind === "alert.changed") {
    takeAlert(message.data, message.session_id);
  }
}

const NEWS = new Set(["raised", "priority_raised", "reminded", "escalated"]);

// Whatever brought the change (the stream, a list, our own acknowledgement), the tile follows.
alerts.onChange((alert) => {
  if (!tiles.has(alert.session_id)) return;
  rerank(); // the only moment "most urgent first" may move a tile
  markDirty(alert.session_id);
  soundAlarms();
});

function takeAlert(alert, sessionId) {
  if (!alerts.apply(alert)) return;
  const id = sessionId ?? alert.session_id;
  const entry = tiles.get(id);
  if (!entry) {
    if (alert.status !== "resolved") fetchOne(id);
    return;
  }
  if ((alert.changes || []).some((change) => NEWS.has(change)) && alert.status === "active") {
    // alarmLabel says SIMULATED for a drill's alarm, so it is never heard as a patient's.
    announce(`${entry.session.chair}: ${alarmLabel(alert).replace(/^!+ /, "")}${alert.escalated ? ", escalated" : ""}`);
  }
}

let alertsRetry = null;

/** The alarm list failed to load: say so on the ward, and keep trying until it loads. */
function retryAlerts() {
  clearTimeout(alertsRetry);
  alertsRetry = setTimeout(async () => {
    try {
      alerts.replaceOpen(await api("/api/alerts"));
      showAlertsError(false);
      for (const id of tiles.keys()) markDirty(id);
      soundAlarms();
    } catch {
      retryAlerts();
    }
  }, 5000);
}

function showAlertsError(failed) {
  const box = document.getElementById("alerts-error");
  box.hidden = !failed;
}

/**
 * Sound follows the ward's open alarms (of sessions on the ward). A drill's alarms sound with the
 * drill tone, never the real one, and only while no patient's alarm sounds (alarm-sound.js): a
 * ward that runs no drills, or hides them, never hears it.
 */
function soundAlarms() {
  if (sound) sound.setAlarms(alerts.open().filter((a) => shownOn(a.session_id)));
}

let loadSeq = 0;

async function loadSessions() {
  const seq = ++loadSeq;
  loaded = false; // buffer events until this list is drawn, then apply them on top
  const [list, open] = await Promise.all([
    api("/api/sessions?status=active&limit=500"),
    api("/api/alerts").catch(() => null), // the ward still shows its vitals if alarms fail to load
  ]);
  if (seq !== loadSeq) return; // a newer load is on its way and will apply the buffer
  if (open) alerts.replaceOpen(open);
  else retryAlerts();
  showAlertsError(!open);
  tiles.clear();
  trendQueue.length = 0;
  for (const session of list) newEntry(session, session);
  rerank();
  placeTiles();
  loaded = true;
  document.getElementById("ward-loading").hidden = true;
  const early = buffered;
  buffered = [];
  early.forEach(apply); // applying twice is harmless: latest values only move forward
  soundAlarms();
}

function showLoadError(err) {
  const box = document.getElementById("load-error");
  box.textContent = `The ward could not be loaded: ${err.message}`;
  box.hidden = false;
  document.getElementById("ward-loading").hidden = true;
}

async function main() {
  sound = initAlarmAudio();
  const link = new LinkAlarm({ sound });
  me = await initHeader();
  ackDialog = new AckDialog({ store: alerts, fillBox: fillAlarmBox, showChair: true });
  initPlaceFilter();
  initSimulatedFilter();
  initOrderChoice();
  initStrip();
  wall = new WallDisplay({
    tiles: tilesEl,
    toggle: document.getElementById("wall-on"),
    exit: document.getElementById("wall-off"),
    onChange: () => placeTiles(), // a wall holds at most WALL_CAPACITY tiles
  });
  // The strip grows a row when many chairs alarm: the wall's grid makes room rather than scroll.
  const resized = new ResizeObserver(() => wall.layout(wall.count));
  resized.observe(document.getElementById("alarm-strip"));
  resized.observe(document.querySelector(".foot-bars"));
  tilesEl.addEventListener("click", (event) => {
    const button = event.target.closest(".tile-ack");
    if (button) askAck(Number(button.closest(".tile").dataset.sessionId));
  });
  await loadCatalogue(); // sets the clock offset so ages are right on a drifting tablet
  if (canStartSession(me.role)) initStartSession(me, place);

  // Open the stream first and load the list once it is ready, buffering events meanwhile,
  // so nothing that happens while the list loads is missed.
  let firstReady = true;
  // Should the stream be slow to come up, show the ward anyway; it is loaded again once the
  // stream is ready, so nothing in between is missed.
  const fallback = setTimeout(() => loadSessions().catch(showLoadError), 3000);
  const stream = new LiveStream({
    onStatus: (state, attempt, lostSince) => link.status(state, attempt, lostSince),
    onEvent: (message) => (loaded ? apply(message) : buffered.push(message)),
    onReady: () => {
      if (!firstReady) return;
      firstReady = false;
      clearTimeout(fallback);
      loadSessions().catch(showLoadError);
    },
    onReset: () => loadSessions().catch(showLoadError),
  });
  stream.start();
  window.addEventListener("pagehide", () => stream.stop());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) location.reload(); // back from the cache: the stream was stopped
  });

  news2.every(() => [...tiles.keys()]);
  const clock = document.getElementById("wall-clock");
  const showClock = () => {
    const time = new Date(now());
    clock.textContent = localTime(time, { seconds: false });
    clock.dateTime = time.toISOString();
  };
  showClock();
  let ticks = 0;
  everySecond(() => {
    ticks += 1;
    // Trends scroll with time: redraw them every 15 s (one bucket) even when no reading came.
    if (ticks % 15 === 0) for (const id of tiles.keys()) markDirty(id);
    for (const entry of tiles.values()) tickTile(entry.el);
    wall.fitAll();
    showClock();
  });
}

main().catch((err) => {
  if (err && err.status !== 401) showLoadError(err);
});
