// Session page: header and phase, live charts, latest values, recent readings and manual entry.
// History comes from the API with a stream cursor; the stream resumes from that cursor, so no
// reading is lost between the two, and readings are de-duplicated by id.

import { api } from "./api.js";
import { initAlarmAudio } from "./alarm-audio.js";
import { AlarmStrip } from "./alarm-strip.js";
import { AlertStore, alarmLabel } from "./alerts.js";
import { announce } from "./announce.js";
import { loadCatalogue } from "./catalogue.js";
import { bindWindowButtons } from "./chart-window.js";
import { VitalsChart } from "./charts.js";
import { EntryForm } from "./entry-form.js";
import { initHeader } from "./header.js";
import { LinkAlarm } from "./link-alarm.js";
import { PhaseControls } from "./phase-controls.js";
import { ENDED_PHASES, PHASE_NAMES, drugAndRoute } from "./labels.js";
import { LimitsEditor, showLimitChanges } from "./limits-editor.js";
import { chartLimits, loadLimits, renderLimits } from "./limits-view.js";
import { ReadingErrorDialog } from "./reading-error.js";
import { canAcknowledge, canChangePhase, canRecord } from "./roles.js";
import { AlarmsPanel } from "./session-alarms.js";
import { News2Panel } from "./news2-panel.js";
import { OfflineQueue } from "./offline-queue.js";
import { QueueView } from "./queue-view.js";
import { keepAppShell, lastCatalogue, lastMe, rememberCatalogue, rememberMe } from "./offline-shell.js";
import { LiveStream } from "./stream.js";
import { calendarDateText, durationText, everySecond, localDateTime, localTime, now, parseTime } from "./time.js";
import { foldLatest, formatValue, refreshAges, renderVitals } from "./vitals-display.js";

const PAGE_LIMIT = 20000;
const RECENT_ROWS = 12;

const sessionId = Number(location.pathname.split("/").filter(Boolean).pop());
const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  session: null,
  readings: new Map(), // id -> reading: the one de-duplicating store
  latest: {},
  news2MaxMinutes: undefined, // how old a round observation may be (NEWS2's age limit)
  recent: [], // the newest readings, newest first, for the table
  reloading: false,
  patientAge: null, // on the session's day, from the server (views/router.py)
};
let chart = null;
let news2Panel = null;
let entry = null;
let phases = null;
let renderTimer = null;
const alerts = new AlertStore(); // this session's alarms (open and past) and the ward's open ones
let alarmsPanel = null;
let sound = null;
let link = null;
let limits = null;
let limitsPhase = null;
let limitsEditor = null;
let readingError = null;
const RECONCILE_EVERY_MS = 30000;

async function loadHistory() {
  const items = [];
  let cursor = null;
  let page = null;
  do {
    const params = new URLSearchParams({ limit: String(PAGE_LIMIT) });
    if (page) params.set("page", page);
    const result = await api(`/api/sessions/${sessionId}/readings?${params}`);
    // The first page's cursor is the earliest: resuming from it can only repeat readings
    // (which the id check drops), never skip one.
    if (cursor === null) cursor = result.stream_cursor;
    items.push(...result.items);
    page = result.next_page;
  } while (page);
  return { items, cursor };
}

/** "aged 67 (born 2 Mar 1958)", or that there is no date of birth (the gate then uses its default). */
function birthText(dateOfBirth, age) {
  if (!dateOfBirth) return "date of birth not recorded";
  const born = `born ${calendarDateText(dateOfBirth)}`;
  return age === null || age === undefined ? born : `aged ${age} (${born})`;
}

function showSession(session) {
  // An event may be older than what we show: never step the phase backwards.
  if (state.session && session.phase_changes.length < state.session.phase_changes.length) return;
  // A phase change's session carries no NEWS2 (the panel keeps its own); its age limit, which
  // also says when round observations are stale, is the server's setting and stays as it was.
  if (session.news2) state.news2MaxMinutes = session.news2.max_age_minutes;
  state.session = session;
  const head = $("session-head");
  head.dataset.simulated = String(session.simulated);
  $("sim-badge").hidden = !session.simulated;
  // An esketamine treatment's Spravato REMS form (never a drill's): for the roles that fill it in.
  const rems = $("record-rems");
  rems.hidden = !(session.drug === "esketamine" && !session.simulated && ["admin", "nurse", "staff"].includes(state.me?.role));
  rems.href = `/sessions/${session.id}/rems`;
  if (chart) chart.setSimulated(session.simulated);
  $("session-title").textContent = `${session.chair} — ${session.patient.display_name}`;
  document.title = `${session.chair}${session.simulated ? " (simulated)" : ""} · Vigil`;
  // The age on the session's day comes with the page's own load of the session (a phase
  // change's event carries the session without it, and the day does not change).
  if ("patient_age" in session) state.patientAge = session.patient_age;
  const parts = [
    session.patient.clinic_id,
    birthText(session.patient.date_of_birth, state.patientAge),
    drugAndRoute(session),
  ];
  if (session.planned_dose_mg) parts.push(`${session.planned_dose_mg} mg planned`);
  if (session.weight_kg) parts.push(`${session.weight_kg} kg`);
  if (session.planned_duration_min) parts.push(`${session.planned_duration_min} min`);
  // The NEWS2 SpO2 scale decides how SpO2 scores (and, on scale 2, its limits): always said.
  parts.push(session.spo2_scale === 2 ? "SpO₂ scale 2 (prescribed 88–92% target)" : "SpO₂ scale 1");
  parts.push(`started ${localDateTime(session.created_at)}`);
  $("session-sub").textContent = parts.join(" · ");
  // The patient's other sessions: for the register's readers, never from a drill.
  const course = $("patient-course");
  course.hidden = session.simulated || !["admin", "nurse", "staff"].includes(state.me.role);
  course.href = `/patients/${session.patient.id}/course`;
  const badge = $("phase-badge");
  badge.dataset.phase = session.phase;
  badge.textContent = PHASE_NAMES[session.phase] || session.phase;
  tickPhase();

  const role = state.me.role;
  phases.render(session, canChangePhase(role, session.simulated));
  if (limitsEditor) limitsEditor.setAllowed(session, role);
  if (limitsPhase !== null && limitsPhase !== session.phase) refreshLimits(); // a phase has limits of its own
  if (alarmsPanel) alarmsPanel.render();
  if (chart) chart.setPhaseChanges(session.phase_changes);
  drawLatest(); // how soon a value is stale depends on the phase
  if (ENDED_PHASES.has(session.phase)) {
    entry.setEnabled(false, `This session has ended (${PHASE_NAMES[session.phase].toLowerCase()}); it no longer accepts readings.`);
  } else if (!canRecord(role, session.simulated)) {
    entry.setEnabled(false, "Trainers record readings on simulated sessions only.");
  } else {
    entry.setEnabled(true);
  }
}

function tickPhase() {
  if (!state.session) return;
  const s = state.session;
  const since = ENDED_PHASES.has(s.phase)
    ? `since ${localTime(s.phase_changed_at, { seconds: false })}`
    : `for ${durationText(now() - parseTime(s.phase_changed_at).getTime())} (since ${localTime(s.phase_changed_at, { seconds: false })})`;
  $("phase-since").textContent = since;
}

const newestFirst = (a, b) => parseTime(b.taken_at) - parseTime(a.taken_at);

/** Keep the few newest readings for the table without re-sorting the whole session each time. */
function noteRecent(readings) {
  state.recent = [...state.recent, ...readings].sort(newestFirst).slice(0, RECENT_ROWS);
}

/** Whether a reading counts: one marked entered in error stays in the record and nowhere else. */
const counts = (reading) => !reading.entered_in_error_at;

const RECENT_COLUMNS = 11;

function renderRecent() {
  // A redraw replaces the rows: keep keyboard focus on the same reading's button.
  const focused = document.activeElement && document.activeElement.closest("#recent-body") && document.activeElement;
  const focusedId = focused && (focused.dataset.errorFor || focused.dataset.noteFor);
  const mayMark = Boolean(state.session) && canRecord(state.me.role, state.session.simulated);
  const rows = [];
  for (const r of state.recent) {
    const tr = document.createElement("tr");
    tr.dataset.readingId = r.id;
    const bp = r.systolic !== null || r.diastolic !== null ? `${r.systolic ?? "–"}/${r.diastolic ?? "–"}` : null;
    const oxygen = r.on_oxygen === null || r.on_oxygen === undefined ? null : formatValue("on_oxygen", r.on_oxygen);
    const cells = [
      localTime(r.taken_at),
      r.heart_rate,
      bp,
      r.spo2,
      r.respiratory_rate,
      r.temperature === null ? null : formatValue("temperature", r.temperature),
      r.consciousness,
      r.sedation,
      oxygen,
      // A device's or the simulator's name already says what it is.
      r.source === "manual" || r.entered_by.startsWith(r.source) ? r.entered_by : `${r.entered_by} (${r.source})`,
    ];
    for (const value of cells) {
      const td = document.createElement("td");
      if (value === null || value === undefined) {
        td.textContent = "–";
        td.className = "empty";
      } else {
        td.textContent = String(value);
      }
      tr.append(td);
    }
    tr.cells[0].id = `taken-${r.id}`;
    const action = document.createElement("td");
    action.className = "row-action";
    tr.append(action);
    rows.push(tr);
    if (!counts(r)) {
      // Struck through, and said in words on a row of its own: never colour alone.
      tr.className = "errored";
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " (entered in error)";
      tr.cells[0].append(hidden);
      const note = document.createElement("tr");
      note.className = "error-note";
      const td = document.createElement("td");
      td.colSpan = RECENT_COLUMNS;
      td.tabIndex = -1;
      td.dataset.noteFor = r.id;
      td.textContent =
        `Entered in error by ${r.entered_in_error_by} at ${localTime(r.entered_in_error_at, { seconds: false })}: ` +
        r.entered_in_error_reason;
      note.append(td);
      rows.push(note);
    } else if (mayMark) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small mark-error";
      button.textContent = "Entered in error…";
      button.dataset.errorFor = r.id;
      button.setAttribute("aria-haspopup", "dialog");
      button.setAttribute("aria-describedby", `taken-${r.id}`);
      button.addEventListener("click", () => readingError.open(state.readings.get(r.id) || r));
      action.append(button);
    }
  }
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = RECENT_COLUMNS;
    td.className = "empty";
    td.textContent = "No readings yet.";
    tr.append(td);
    rows.push(tr);
  }
  $("recent-body").replaceChildren(...rows);
  if (focusedId) {
    // The same reading's button, or its note if it was marked meanwhile.
    const id = CSS.escape(focusedId);
    $("recent-body").querySelector(`[data-error-for="${id}"], [data-note-for="${id}"]`)?.focus();
  }
}

/**
 * A reading was marked entered in error (here or on another page): it stays in the table, struck
 * through with the reason, and leaves the latest values and the chart.
 */
function takeEnteredInError(reading) {
  if (reading.session_id !== sessionId) return;
  state.readings.set(reading.id, reading);
  if (chart) chart.removeReading(reading);
  if (news2Panel) news2Panel.refresh(); // the score may have lost a part: ask at once
  if (state.reloading) return; // the reload draws everything in the store when it finishes
  state.recent = state.recent.map((r) => (r.id === reading.id ? reading : r));
  state.latest = {};
  for (const r of state.readings.values()) if (counts(r)) foldLatest(state.latest, r);
  renderSoon();
}

/**
 * The latest values atop the page, stale by the same rule as on the ward's tiles; a value with
 * an open alarm in its priority's colour with the limit it crossed.
 */
function drawLatest() {
  renderVitals($("latest"), state.latest, {
    phase: state.session?.phase,
    news2MaxMinutes: state.news2MaxMinutes,
    alarms: alerts.open(sessionId),
  });
}

function renderSoon() {
  if (renderTimer) return;
  renderTimer = setTimeout(() => {
    renderTimer = null;
    drawLatest();
    renderRecent();
  }, 100);
}

/** Take in a reading from any source (history, stream, our own form) exactly once. */
function addReading(reading) {
  if (reading.session_id !== sessionId || state.readings.has(reading.id)) return;
  state.readings.set(reading.id, reading);
  if (state.reloading) return; // the reload draws everything in the store when it finishes
  if (counts(reading)) foldLatest(state.latest, reading);
  noteRecent([reading]);
  chart.addReadings([reading]);
  news2Panel.readingsChanged(reading);
  renderSoon();
}

function drawAll() {
  const all = [...state.readings.values()];
  state.latest = {};
  for (const reading of all) if (counts(reading)) foldLatest(state.latest, reading);
  state.recent = [];
  noteRecent(all);
  chart.setReadings(all);
  chart.setPhaseChanges(state.session.phase_changes);
  drawLatest();
  renderRecent();
}

/**
 * Store a reading from a history fetch. A stream mark that arrived while the fetch was under way
 * is newer than the fetched copy: an unflagged copy must not bring an errored reading back.
 */
function keepFromHistory(reading) {
  const held = state.readings.get(reading.id);
  if (held && held.entered_in_error_at && !reading.entered_in_error_at) return;
  state.readings.set(reading.id, reading);
}

/** The server no longer knows our cursor (e.g. restored from a backup): start over from the API. */
async function reload() {
  state.reloading = true;
  state.readings.clear();
  try {
    const [session, history] = await Promise.all([api(`/api/sessions/${sessionId}`), loadHistory()]);
    state.session = null;
    showSession(session);
    for (const reading of history.items) keepFromHistory(reading);
    alerts.forgetSession(sessionId);
    await loadAlerts();
    alarmsChanged();
  } finally {
    state.reloading = false;
  }
  drawAll();
  news2Panel.refresh();
}

function onEvent(message) {
  if (message.kind === "reading.created") addReading(message.data);
  else if (message.kind === "reading.entered_in_error") takeEnteredInError(message.data);
  else if (message.kind === "session.phase_changed") showSession(message.data);
  else if (message.kind === "alert.changed") takeAlert(message.data);
  else if (message.kind === "limits.changed" && [null, sessionId].includes(message.session_id)) {
    refreshLimits(); // a profile's change (no session) or this session's own
  }
}

// ---- alarms ---------------------------------------------------------------------------------

const NEWS = new Set(["raised", "priority_raised", "reminded", "escalated"]);

let alarmsTimer = null;
/** Redraw the alarms once for a burst of changes (a backfill can bring many). */
function alarmsSoon() {
  if (alarmsTimer || !alarmsPanel) return;
  alarmsTimer = setTimeout(() => {
    alarmsTimer = null;
    alarmsChanged();
  }, 0);
}
alerts.onChange(alarmsSoon);

/** This page is a real patient's (a drill's own page is marked SIMULATED and may rehearse). */
const realPage = () => !state.session || !state.session.simulated; // unknown yet: as real

/**
 * Another chair's drill alarm means nothing to a real patient's page: it is neither heard nor
 * spoken there, only listed, marked SIMULATED, with the other chairs.
 */
const concernsThisPage = (alert) => alert.session_id === sessionId || !(alert.simulated && realPage());

function takeAlert(alert) {
  if (!alerts.apply(alert)) return;
  if ((alert.changes || []).some((change) => NEWS.has(change)) && alert.status === "active" && concernsThisPage(alert)) {
    // Another chair's alarm says which chair; a drill's says SIMULATED (alarmLabel).
    const chair = alert.session_id === sessionId ? "" : `${alert.chair}: `;
    announce(`${chair}${alarmLabel(alert).replace(/^!+ /, "")}${alert.escalated ? ", escalated" : ""}`);
  }
}

function alarmsChanged() {
  alarmsPanel.render();
  chart.setAlarms(alerts.all().filter((a) => a.session_id === sessionId));
  drawLatest(); // an alarming value stands out, and stops when its alarm resolves
  drawOtherAlarms();
  // On a real patient's page no drill ever sounds; on a drill's page its alarms (and other
  // drills') sound with the drill tone, and patients' alarms with the real one, first.
  sound.setAlarms(alerts.open().filter(concernsThisPage));
}

let alertsLoaded = false;

async function loadAlerts() {
  try {
    const list = await api(`/api/sessions/${sessionId}/alerts`);
    for (const alert of list) alerts.apply(alert);
    alertsLoaded = true;
  } catch {
    alertsLoaded = false; // said in the panel
    setTimeout(() => reconcileOpenAlarms(), 4000);
  }
  $("alarms-error").hidden = alertsLoaded;
  if (alarmsPanel) alarmsPanel.render();
}

/**
 * The ward's open alarms, fetched once and then now and again to reconcile: the stream brings
 * every chair's alarm changes live, so a nurse on this page still sees and hears another
 * chair's alarm at once.
 */
async function reconcileOpenAlarms() {
  if (!alertsLoaded) await loadAlerts();
  try {
    const open = await api("/api/alerts");
    if (alerts.replaceOpen(open, (sid) => sid !== sessionId)) alarmsChanged();
  } catch {
    // Tried again shortly; the stream keeps bringing changes meanwhile.
  }
}

let otherChairs = null;

/** Every other chair with an open alarm, as the ward's strip shows them: patients, then drills. */
function drawOtherAlarms() {
  otherChairs ??= new AlarmStrip({ root: $("other-alarms"), list: $("other-alarms-list"), hideWhenEmpty: true });
  otherChairs.draw(alerts.open().filter((a) => a.session_id !== sessionId));
}

async function refreshLimits() {
  const phase = state.session.phase;
  limitsPhase = phase;
  try {
    limits = await loadLimits(sessionId);
  } catch {
    limits = null;
  }
  if (state.session.phase !== phase) return; // changed again meanwhile; that call draws
  renderLimits(limits, phase);
  if (chart) chart.setLimits(chartLimits(limits, phase));
  await showLimitChanges(sessionId);
}

function showLoadError(err) {
  const box = $("load-error");
  box.textContent =
    err.status === 404 ? `There is no session #${sessionId}. Go back to the ward.` : `The session could not be loaded: ${err.message}`;
  box.hidden = false;
  $("session-title").textContent = "Session not available";
}

const OFFLINE_RETRY_MS = 5000;

/** The readings waiting to send, without the form (no catalogue kept to check new ones by). */
function queueOnly(user) {
  let view = null;
  const queue = new OfflineQueue({ sessionId, user, onChange: () => view && view.render() });
  view = new QueueView(queue);
  queue.start();
}
const unreachable = (err) => err && err.status === 0;

/**
 * Opened without a connection (from the app shell, sw.js): say so, show the readings this
 * device keeps waiting to send (and take more, when the catalogue is known), and load the page
 * properly as soon as the server answers again. Nothing of the patient is shown from memory.
 */
function openOffline() {
  document.body.dataset.offline = "true";
  $("session-title").textContent = `Session #${sessionId}: no connection`;
  const box = $("load-error");
  box.textContent =
    "No connection to the Vigil server: this page cannot show the patient's values or alarms. " +
    "Readings recorded here wait on this device and are sent when the connection returns; " +
    "the page then loads by itself.";
  box.hidden = false;
  link.status("reconnecting", 1); // the lost-link alarm follows after its grace, as ever
  if (state.me) {
    // Who was signed in when the server last answered (the header could not ask it).
    $("who-name").textContent = state.me.display_name || state.me.name;
    $("who-role").textContent = state.me.role.charAt(0).toUpperCase() + state.me.role.slice(1);
  }
  const catalogue = lastCatalogue();
  if (catalogue && state.me) {
    entry = new EntryForm($("entry-form"), { sessionId, user: state.me.name, catalogue, onStored: () => {} });
    entry.setEnabled(canRecord(state.me.role, false));
  } else {
    $("entry-form").hidden = true;
    if (state.me) queueOnly(state.me.name);
  }
  const retry = async () => {
    try {
      await api("/api/health");
      location.reload();
    } catch {
      setTimeout(retry, OFFLINE_RETRY_MS);
    }
  };
  window.addEventListener("online", retry);
  setTimeout(retry, OFFLINE_RETRY_MS);
}

async function main() {
  sound = initAlarmAudio();
  link = new LinkAlarm({ sound });
  keepAppShell();
  try {
    state.me = await initHeader();
    rememberMe(state.me);
  } catch (err) {
    if (!unreachable(err)) throw err;
    state.me = lastMe();
    openOffline();
    return;
  }
  if (!Number.isInteger(sessionId)) {
    showLoadError({ status: 404 });
    return;
  }
  // The record: its viewer (alarms still seen and heard there), PDF and CSV download.
  $("record-report").href = `/sessions/${sessionId}/record`;
  $("record-pdf").href = `/api/sessions/${sessionId}/report.pdf`;
  $("record-csv").href = `/api/sessions/${sessionId}/readings.csv`;
  let session;
  let catalogue;
  try {
    [session, catalogue] = await Promise.all([api(`/api/sessions/${sessionId}`), loadCatalogue()]);
  } catch (err) {
    if (!unreachable(err)) throw err;
    openOffline();
    return;
  }
  rememberCatalogue(catalogue);
  chart = new VitalsChart($("vitals-chart"), { revision: `session-${sessionId}` });
  bindWindowButtons(chart, $("chart-window"));
  news2Panel = new News2Panel($("news2"), sessionId, catalogue.consciousness);
  news2Panel.show(session.news2);
  news2Panel.start();
  entry = new EntryForm($("entry-form"), { sessionId, user: state.me.name, catalogue, onStored: addReading });
  readingError = new ReadingErrorDialog({
    sessionId,
    onMarked: (reading) => {
      takeEnteredInError(reading);
      renderRecent(); // now, not on the next tick: focus moves to the row's note
      drawLatest();
      $("recent-body").querySelector(`[data-note-for="${CSS.escape(reading.id)}"]`)?.focus();
    },
  });
  phases = new PhaseControls({
    container: $("phase-actions"),
    sessionId,
    me: state.me,
    onChanged: (changed) => {
      showSession(changed);
      // The button that opened the dialog is gone: put focus somewhere that makes sense.
      const next = $("phase-actions").querySelector("button");
      (next || $("heart_rate")).focus();
    },
  });
  alarmsPanel = new AlarmsPanel({
    sessionId,
    store: alerts,
    mayAcknowledge: () => Boolean(state.session) && canAcknowledge(state.me.role, state.session.simulated),
  });
  limitsEditor = new LimitsEditor({ sessionId, onSaved: refreshLimits });
  showSession(session);

  // The alarms are fetched after the history's stream cursor is taken, so the stream's replay
  // from that cursor can only bring them newer, never lose a change.
  const history = await loadHistory();
  const [, firstLimits] = await Promise.all([loadAlerts(), loadLimits(sessionId).catch(() => null)]);
  limits = firstLimits;
  limitsPhase = state.session.phase;
  for (const reading of history.items) state.readings.set(reading.id, reading);
  chart.setLimits(chartLimits(limits, state.session.phase));
  renderLimits(limits, state.session.phase);
  showLimitChanges(sessionId);
  drawAll();
  alarmsChanged();

  const stream = new LiveStream({
    sessionId,
    after: history.cursor,
    onEvent,
    onReset: () => reload().catch(showLoadError),
    onStatus: (status, attempt, lostSince) => link.status(status, attempt, lostSince),
  });
  stream.start();
  window.addEventListener("pagehide", () => stream.stop());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) location.reload(); // back from the cache: the stream was stopped
  });

  everySecond(() => {
    refreshAges($("latest"));
    tickPhase();
    alarmsPanel.tick();
  });
  reconcileOpenAlarms();
  setInterval(reconcileOpenAlarms, RECONCILE_EVERY_MS);
}

main().catch((err) => {
  if (err && err.status !== 401) showLoadError(err);
});
