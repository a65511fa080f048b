// Ward overview: one tile per active session, kept current by the ward-wide live stream.

import { api } from "./api.js";
import { initHeader, showLiveStatus } from "./header.js";
import { canStartSession } from "./roles.js";
import { initStartSession } from "./start-session.js";
import { LiveStream } from "./stream.js";
import { durationText, everySecond, now, parseTime } from "./time.js";
import { foldLatest, refreshAges, renderVitals } from "./vitals-display.js";
import { loadCatalogue } from "./catalogue.js";

const PHASES = { baseline: "Baseline", infusing: "Infusing", recovery: "Recovery", discharged: "Discharged", stopped: "Stopped" };
const ENDED = new Set(["discharged", "stopped"]);
const ROUTES = { iv: "IV", im: "IM", intranasal: "Intranasal", sc: "SC" };
const DRUGS = { ketamine: "Ketamine", esketamine: "Esketamine" };

const tilesEl = document.getElementById("tiles");
const tiles = new Map(); // session id -> { session, latest, el }
let loaded = false;
let buffered = []; // events that arrived while the session list was loading
let renderTimer = null;
const dirty = new Set();

/** A tile's fixed frame, built once: redrawing never replaces the link, so focus stays put. */
function tileFor(session) {
  const el = document.createElement("article");
  el.className = "tile";
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
    <div class="tile-phase"><span class="badge phase"></span> <span class="phase-since"></span></div>
    <div class="tile-meta"></div>
    <div class="vitals-grid vitals-rows"></div>`;
  return el;
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
  badge.textContent = PHASES[session.phase] || session.phase;
  q(".phase-since").dataset.since = session.phase_changed_at;
  const dose = session.planned_dose_mg ? ` · ${session.planned_dose_mg} mg` : "";
  q(".tile-meta").textContent =
    `${session.patient.clinic_id} · ${DRUGS[session.drug] || session.drug} ` +
    `${ROUTES[session.route] || session.route}${dose}`;
  renderVitals(q(".vitals-grid"), latest);
  tickTile(el);
}

function tickTile(el) {
  refreshAges(el);
  const since = el.querySelector(".phase-since");
  if (since) since.textContent = `for ${durationText(now() - parseTime(since.dataset.since).getTime())}`;
}

/** Keep tiles in chair order ("Chair 2" before "Chair 10"). */
function placeTiles() {
  const entries = [...tiles.values()].sort((a, b) =>
    a.session.chair.localeCompare(b.session.chair, undefined, { numeric: true, sensitivity: "base" }),
  );
  const order = entries.map((entry) => entry.el);
  const current = [...tilesEl.children];
  if (order.length !== current.length || order.some((el, i) => el !== current[i])) {
    // Re-inserting a focused tile would drop focus: keep it where it is when nothing moved.
    const focused = document.activeElement;
    tilesEl.replaceChildren(...order);
    if (focused && tilesEl.contains(focused)) focused.focus();
  }
  const count = tiles.size;
  document.getElementById("ward-count").textContent = `${count} active session${count === 1 ? "" : "s"}`;
  document.getElementById("ward-empty").hidden = count > 0;
}

function upsertSession(session, latest) {
  const existing = tiles.get(session.id);
  if (ENDED.has(session.phase)) {
    if (existing) {
      tiles.delete(session.id);
      placeTiles();
    }
    return;
  }
  if (existing) {
    // An event can be older than what the list already showed: never step a phase backwards.
    if ((session.phase_changes || []).length < (existing.session.phase_changes || []).length) return;
    existing.session = session;
    if (latest) existing.latest = latest;
    markDirty(session.id);
    return;
  }
  const entry = { session, latest: latest || {}, el: tileFor(session) };
  tiles.set(session.id, entry);
  drawTile(entry);
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
      placeTiles();
    }, 100);
  }
}

async function fetchOne(id) {
  try {
    const summary = await api(`/api/sessions/${id}`);
    upsertSession(summary, summary.latest);
  } catch {
    // The next event for it will try again.
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
    markDirty(id);
  } else if (message.kind === "session.created" || message.kind === "session.phase_changed") {
    upsertSession(message.data, null);
  }
}

let loadSeq = 0;

async function loadSessions() {
  const seq = ++loadSeq;
  loaded = false; // buffer events until this list is drawn, then apply them on top
  const list = await api("/api/sessions?status=active&limit=500");
  if (seq !== loadSeq) return; // a newer load is on its way and will apply the buffer
  tiles.clear();
  for (const session of list) {
    const entry = { session, latest: session.latest || {}, el: tileFor(session) };
    tiles.set(session.id, entry);
    drawTile(entry);
  }
  placeTiles();
  loaded = true;
  document.getElementById("ward-loading").hidden = true;
  const early = buffered;
  buffered = [];
  early.forEach(apply); // applying twice is harmless: latest values only move forward
}

function showLoadError(err) {
  const box = document.getElementById("load-error");
  box.textContent = `The ward could not be loaded: ${err.message}`;
  box.hidden = false;
  document.getElementById("ward-loading").hidden = true;
}

async function main() {
  const me = await initHeader();
  await loadCatalogue(); // sets the clock offset so ages are right on a drifting tablet
  if (canStartSession(me.role)) initStartSession(me);

  // Open the stream first and load the list once it is ready, buffering events meanwhile,
  // so nothing that happens while the list loads is missed.
  let firstReady = true;
  // Should the stream be slow to come up, show the ward anyway; it is loaded again once the
  // stream is ready, so nothing in between is missed.
  const fallback = setTimeout(() => loadSessions().catch(showLoadError), 3000);
  const stream = new LiveStream({
    onStatus: showLiveStatus,
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

  everySecond(() => {
    for (const entry of tiles.values()) tickTile(entry.el);
  });
}

main().catch((err) => {
  if (err && err.status !== 401) showLoadError(err);
});
