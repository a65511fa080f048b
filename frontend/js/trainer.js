// The trainer console: start simulated sessions from the shipped scenarios (or a file of one's
// own), steer the running ones while trainees work on the ward, and look back at ended runs.
// Position and the patient's true vitals come from polling the simulations every second; the
// monitor's values, alarms and every change arrive on the ward-wide live stream.

import { api } from "./api.js";
import { AlertStore } from "./alerts.js";
import { loadCatalogue } from "./catalogue.js";
import { loadChairs } from "./chair-picker.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { showPageError, signedIn } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";
import { canRunSimulations } from "./roles.js";
import { SimCard, speedOptions } from "./sim-card.js";
import { clock, seconds } from "./sim-events.js";
import { LiveStream } from "./stream.js";
import { everySecond, localDateTime } from "./time.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const CUSTOM = "__custom__";
const MAX_SEED = 2 ** 31 - 1;

const cards = new Map(); // session id -> SimCard, running simulations only
const alerts = new AlertStore();
// Patients' alarms are seen (the strip) and heard here like on every page; the drills' alarms
// this console runs are shown on their cards and stay silent here (heard on the ward).
const patientAlarms = new PatientAlarms({ store: alerts });
let editable = false;
let scenarios = [];
let changes = 0; // bumped by every action's answer, so an older poll cannot undo it
let pollTimer = null;
let polling = false;
let pollAgain = false;
let dirty = new Set();
let drawTimer = null;

// ---- the simulations -------------------------------------------------------------------------

const byChair = (a, b) => a.chair.localeCompare(b.chair, undefined, { numeric: true, sensitivity: "base" });

/** Take the list from GET /api/simulations: running ones as cards, the rest in the table. */
function showList(list) {
  const running = list.filter((sim) => sim.status === "running").sort(byChair);
  const seen = new Set(running.map((sim) => sim.session_id));
  for (const [id, card] of cards) {
    if (!seen.has(id)) {
      card.root.remove();
      cards.delete(id);
    }
  }
  for (const sim of running) upsertCard(sim);
  placeCards(running.map((sim) => sim.session_id));
  drawEnded(list.filter((sim) => sim.status !== "running"));
}

function upsertCard(sim) {
  const existing = cards.get(sim.session_id);
  if (existing) {
    existing.update(sim);
    return existing;
  }
  const card = new SimCard(sim, { editable, onChanged: actionDone });
  cards.set(sim.session_id, card);
  card.drawAlarms(alerts.open(sim.session_id));
  api(`/api/sessions/${sim.session_id}`)
    .then((summary) => card.setSession(summary))
    .catch(() => {}); // the stream's readings fill the monitor column anyway
  return card;
}

function placeCards(order) {
  const container = $("sim-cards");
  const wanted = order.map((id) => cards.get(id).root);
  const current = [...container.children];
  if (wanted.length !== current.length || wanted.some((node, i) => node !== current[i])) {
    // Moving a card that holds focus would drop it: put it back afterwards.
    const focused = document.activeElement;
    container.replaceChildren(...wanted);
    if (focused && container.contains(focused)) focused.focus();
  }
  const count = cards.size;
  $("running-count").textContent = count ? `${count} running` : "";
  $("running-empty").hidden = count > 0;
}

/** An action's answer is the newest state there is: show it now, then the whole list. */
function actionDone(sim) {
  changes += 1;
  if (sim.status === "running") upsertCard(sim);
  else {
    const card = cards.get(sim.session_id);
    if (card) {
      card.root.remove();
      cards.delete(sim.session_id);
      placeCards([...cards.values()].map((c) => c.sim).sort(byChair).map((s) => s.session_id));
    }
  }
  refreshSoon();
}

function drawEnded(ended) {
  $("ended-section").hidden = ended.length === 0;
  const rows = ended.map((sim) => {
    const tr = document.createElement("tr");
    tr.dataset.sessionId = String(sim.session_id);
    tr.dataset.status = sim.status;
    const cell = (text, className) => {
      const td = document.createElement("td");
      if (className) td.className = className;
      td.textContent = text;
      return td;
    };
    const chair = document.createElement("th");
    chair.scope = "row";
    chair.textContent = sim.chair;
    const status = cell("", "ended-status");
    const badge = document.createElement("span");
    badge.className = "badge phase";
    badge.dataset.phase = sim.status === "finished" ? "discharged" : "stopped";
    badge.textContent = sim.status === "finished" ? "Finished" : "Stopped";
    status.append(badge);
    // Why the protocol stopped the scenario (e.g. a discharge it refused), in words.
    if (sim.ended_because) {
      const why = document.createElement("span");
      why.className = "ended-because hint";
      why.textContent = sim.ended_because;
      // The table's cells keep to one line; a reason is a sentence or two, so it wraps below.
      why.style.display = "block";
      why.style.whiteSpace = "normal";
      why.style.minWidth = "24em";
      status.append(why);
    }
    const started = cell(`${sim.started_by}, ${localDateTime(sim.started_at)}`);
    const link = document.createElement("a");
    link.href = `/sessions/${sim.session_id}`;
    link.textContent = "Session";
    link.setAttribute("aria-label", `Session of ${sim.chair}, ${sim.title}`);
    const linkCell = cell("");
    linkCell.append(link);
    tr.append(
      chair,
      cell(sim.title),
      status,
      cell(`${clock(Math.min(sim.position_s, sim.end_s))} / ${clock(sim.end_s)}`, "num"),
      cell(String(sim.seed), "num"),
      cell(String(sim.events.length), "num"),
      started,
      linkCell,
    );
    return tr;
  });
  $("ended-body").replaceChildren(...rows);
}

async function refresh() {
  if (polling) {
    pollAgain = true;
    return;
  }
  polling = true;
  const seenChanges = changes;
  let list = null;
  try {
    list = await api("/api/simulations");
  } catch (err) {
    if (err.status !== 401) showLoadError(`The simulations could not be loaded: ${err.message} Trying again…`);
  } finally {
    polling = false;
  }
  if (list && seenChanges !== changes) {
    pollAgain = true; // an action answered meanwhile: this list may be older than its answer
  } else if (list) {
    showList(list);
    $("load-error").hidden = true;
    $("trainer-loading").hidden = true;
    $("running-section").hidden = false;
  }
  if (pollAgain) {
    pollAgain = false;
    refreshSoon();
  }
}

/** Poll again in `ms`; the poll after it is scheduled whatever happens to this one. */
function pollIn(ms) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(() => refresh().finally(() => pollIn(POLL_MS)), ms);
}

function refreshSoon() {
  pollIn(50);
}

// ---- the live stream -------------------------------------------------------------------------

function markDirty(id) {
  dirty.add(id);
  if (drawTimer) return;
  // At 60x a monitor sends dozens of readings a second: draw a card at most four times a second.
  drawTimer = setTimeout(() => {
    drawTimer = null;
    const ids = dirty;
    dirty = new Set();
    for (const sid of ids) {
      const card = cards.get(sid);
      if (card) card.drawVitals();
    }
  }, 250);
}

function onEvent(message) {
  const card = cards.get(message.session_id);
  switch (message.kind) {
    case "reading.created":
      if (card && card.takeReading(message.data)) markDirty(card.id);
      break;
    case "alert.changed":
      patientAlarms.take(message.data); // kept for the cards; a patient's new alarm is spoken
      break;
    case "simulation.changed":
    case "session.created":
    case "session.phase_changed":
      refreshSoon();
      // A chair taken or freed. Not while this console starts one: its own new session is not
      // "taken by someone else" (the start reloads the chairs when it is done).
      if (editable && !starting) loadChairs($("chair_id"));
      break;
    default:
      break;
  }
}

alerts.onChange((alert) => {
  const card = cards.get(alert.session_id);
  if (card) card.drawAlarms(alerts.open(alert.session_id));
});

async function loadAlerts() {
  // On failure the strip says so and tries again; each alert.changed event brings its news.
  await patientAlarms.reconcile();
  for (const card of cards.values()) card.drawAlarms(alerts.open(card.id));
}

// ---- starting a simulation ---------------------------------------------------------------------

const form = $("start-form");
const scenarioSelect = $("scenario");
const scenarioText = $("scenario_toml");

function selectedScenario() {
  return scenarios.find((s) => s.name === scenarioSelect.value) || null;
}

function fillScenarios() {
  const shipped = document.createElement("optgroup");
  shipped.label = "Scenarios shipped with Vigil";
  for (const scenario of scenarios) {
    const option = document.createElement("option");
    option.value = scenario.name;
    option.textContent = scenario.title;
    shipped.append(option);
  }
  const own = document.createElement("optgroup");
  own.label = "Advanced";
  const custom = document.createElement("option");
  custom.value = CUSTOM;
  custom.textContent = "Custom scenario file…";
  own.append(custom);
  scenarioSelect.replaceChildren(shipped, own);
  const routine = scenarios.find((s) => s.name === "routine_infusion");
  scenarioSelect.value = routine ? routine.name : scenarios.length ? scenarios[0].name : CUSTOM;
  drawAbout();
}

const EVENT_WORDS = {
  hypertensive_surge: "hypertensive surge",
  tachycardia: "tachycardia",
  desaturation: "desaturation",
  vasovagal: "vasovagal reaction",
  sensor_off: "SpO₂ sensor off",
  sensor_on: "SpO₂ sensor on",
  cuff_failure: "cuff failure",
  cuff_measure_now: "BP measured now",
  motion_artefact: "motion artefact",
  steer: "a vital steered",
  release: "a steered vital released",
};

/** What the chosen scenario is: its description, regimen, length and scheduled events. */
function drawAbout() {
  const custom = scenarioSelect.value === CUSTOM;
  $("custom-scenario").hidden = !custom;
  const scenario = selectedScenario();
  const startAt = $("start_at_min");
  if (custom || !scenario) {
    $("about-title").textContent = "Your own scenario";
    $("about-facts").textContent = "";
    const hint = document.createElement("p");
    hint.textContent =
      "Paste a scenario file below or load one from disk. It is checked when you start: a mistake is shown with its line or field.";
    $("about-description").replaceChildren(hint);
    $("about-events-title").hidden = true;
    $("about-events").replaceChildren();
    startAt.removeAttribute("max");
    return;
  }
  $("about-title").textContent = scenario.title;
  $("about-facts").textContent = `${scenario.regimen} · ${seconds(scenario.minutes * 60)} in all`;
  // A scenario file wraps its description at the file's width: join the lines, keep paragraphs.
  $("about-description").replaceChildren(
    ...scenario.description.split(/\n\s*\n/).map((text) => {
      const p = document.createElement("p");
      p.textContent = text.replace(/\s*\n\s*/g, " ").trim();
      return p;
    }),
  );
  $("about-events-title").hidden = scenario.events.length === 0;
  $("about-events").replaceChildren(
    ...scenario.events.map((event) => {
      const li = document.createElement("li");
      const when = document.createElement("span");
      when.className = "log-when";
      when.textContent = clock(event.at_s);
      li.append(when, ` ${EVENT_WORDS[event.kind] || event.kind}`);
      return li;
    }),
  );
  startAt.max = String(scenario.minutes);
}

scenarioSelect.addEventListener("change", () => {
  clearErrors(form);
  drawAbout();
});

$("scenario-file").addEventListener("change", async (event) => {
  const file = event.target.files && event.target.files[0];
  if (!file) return;
  try {
    scenarioText.value = await file.text();
  } catch {
    showFieldError(scenarioText, `The file ${file.name} could not be read.`);
    return;
  }
  clearErrors(form);
  scenarioText.focus();
});

async function loadProfiles() {
  let profiles;
  try {
    profiles = await api("/api/limits/profiles");
  } catch {
    return; // the session then uses the clinic default, as it would anyway
  }
  const select = $("limit_profile_id");
  select.replaceChildren(
    ...profiles.map((profile) => {
      const option = document.createElement("option");
      option.value = profile.is_default ? "" : String(profile.id);
      option.textContent = profile.is_default ? `${profile.name} (default)` : profile.name;
      return option;
    }),
  );
  select.value = "";
  $("profile-field").hidden = profiles.length < 2;
}

/** The form as the API's body, or the problems to fix first. */
function readForm() {
  const body = {};
  const problems = [];
  const custom = scenarioSelect.value === CUSTOM;
  if (custom) {
    if (!scenarioText.value.trim()) problems.push([scenarioText, "Paste a scenario file or load one."]);
    body.scenario_toml = scenarioText.value;
  } else {
    body.scenario = scenarioSelect.value;
  }
  const chair = $("chair_id").value;
  if (!chair) problems.push([$("chair_id"), "Required: the chair the trainees will see it on."]);
  body.chair_id = Number(chair);
  const name = $("patient_name").value.trim();
  if (name) body.patient_name = name;
  body.speed = Number($("speed").value);
  const startAt = $("start_at_min").value.trim();
  if (startAt) {
    const minutes = Number(startAt);
    const scenario = custom ? null : selectedScenario();
    if (!Number.isFinite(minutes) || minutes < 0) problems.push([$("start_at_min"), "Enter minutes: 0 or more."]);
    else if (scenario && minutes >= scenario.minutes) {
      problems.push([$("start_at_min"), `Must be before the scenario ends (${scenario.minutes} min).`]);
    } else body.start_at_min = minutes;
  }
  const seed = $("seed").value.trim();
  if (seed) {
    const value = Number(seed);
    if (!Number.isInteger(value) || value < 0 || value > MAX_SEED) {
      problems.push([$("seed"), `Enter a whole number from 0 to ${MAX_SEED}, or leave it empty.`]);
    } else body.seed = value;
  }
  const profile = $("limit_profile_id").value;
  if (profile) body.limit_profile_id = Number(profile);
  const patient = {};
  for (const input of document.querySelectorAll("#patient-fields input")) {
    const text = input.value.trim();
    if (!text) continue;
    const value = Number(text);
    if (!Number.isFinite(value) || input.validity.badInput) problems.push([input, "Enter a number, or leave it empty."]);
    else patient[input.dataset.patient] = value;
  }
  if (Object.keys(patient).length) body.patient = patient;
  return { body, problems, custom };
}

const FIELD_INPUTS = {
  chair: "chair_id",
  chair_id: "chair_id",
  patient_name: "patient_name",
  speed: "speed",
  start_at_min: "start_at_min",
  seed: "seed",
  limit_profile_id: "limit_profile_id",
};

/** The server's complaint by its field; a custom file's problems go beside the file's text. */
function showStartError(err, custom) {
  const general = [];
  if (err.status === 422 && err.paths.length) {
    for (const { loc, message } of err.paths) {
      const field = loc[loc.length - 1];
      if (field === "scenario" || field === "scenario_toml") {
        // Beside the file's text, the line or field is what helps, not the file's name.
        // A field path (regimen.dose_mg_per_kg) keeps its case; "line 3: …" starts a sentence.
        const text = message.replace(/^(your scenario file|[\w.-]+\.toml): /i, "").replace(/^line\b/, "Line");
        showFieldError(field === "scenario_toml" || custom ? scenarioText : scenarioSelect, text);
      } else if (loc[0] === "patient") {
        // A characteristic (loc ends with it) goes beside its input; a mismatch between two
        // (a diastolic too close to the systolic) goes under the patient's fields.
        const input = loc.length > 1 ? document.querySelector(`#patient-fields input[data-patient="${field}"]`) : null;
        $("patient-choice").open = true;
        if (input) showFieldError(input, message);
        else showFieldError($("p-diastolic"), message);
      } else if (FIELD_INPUTS[field]) {
        showFieldError($(FIELD_INPUTS[field]), message);
      } else {
        general.push(message);
      }
    }
  } else if (err.status === 409) {
    // The chair was taken meanwhile: say so, and offer what is free now.
    showFieldError($("chair_id"), err.message);
    loadChairs($("chair_id"));
  } else {
    general.push(err.message);
  }
  showFormErrors(form, general);
  const invalid = form.querySelector("[aria-invalid='true']");
  (invalid || $("start-errors")).focus();
}

let starting = false;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (starting) return;
  clearErrors(form);
  $("start-status").textContent = "";
  const { body, problems, custom } = readForm();
  if (problems.length) {
    for (const [input, message] of problems) showFieldError(input, message);
    problems[0][0].focus();
    return;
  }
  starting = true;
  $("start-submit").disabled = true;
  let sim;
  try {
    sim = await api("/api/simulations", { method: "POST", body });
  } catch (err) {
    showStartError(err, custom);
    return;
  } finally {
    starting = false;
    $("start-submit").disabled = false;
  }
  for (const id of ["chair_id", "patient_name", "seed", "start_at_min"]) $(id).value = "";
  loadChairs($("chair_id")); // the chair just taken is shown as taken
  $("start-status").textContent =
    `Started “${sim.title}” on ${sim.chair} with seed ${sim.seed}; ` +
    "enter that seed again to repeat this run exactly.";
  $("start-status").focus();
  actionDone(sim);
});

// ---- start ---------------------------------------------------------------------------------------

const showLoadError = (message) => showPageError(message, "trainer-loading");

async function start() {
  const me = await signedIn("trainer-loading");
  if (!me) return;
  editable = canRunSimulations(me.role);
  $("readonly-note").hidden = editable;
  await loadCatalogue().catch(() => {}); // the clock offset, so ages are right on a drifting tablet

  if (editable) {
    speedOptions($("speed"), 1);
    try {
      scenarios = await api("/api/simulations/scenarios");
    } catch (err) {
      showLoadError(`The scenarios could not be loaded: ${err.message}`);
    }
    fillScenarios();
    await loadProfiles();
    await loadChairs($("chair_id"));
    $("start-panel").hidden = false;
  }

  // Open the stream first and take the list once it is live, so no change in between is missed;
  // the poll keeps position and truth current whatever the stream does.
  let first = true;
  // The lost link is an alarm here too: the monitor column stops following, and so do the
  // patients' alarms in the strip.
  const link = patientAlarms.link;
  const stream = new LiveStream({
    onStatus: (status, attempt, lostSince) => link.status(status, attempt, lostSince),
    onEvent,
    onReady: () => {
      loadAlerts();
      if (first) {
        first = false;
        refreshSoon();
      }
    },
    onReset: () => {
      loadAlerts();
      refreshSoon();
    },
  });
  stream.start();
  refreshSoon();
  window.addEventListener("pagehide", () => stream.stop());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) location.reload(); // back from the cache: the stream was stopped
  });
  everySecond(() => {
    for (const card of cards.values()) card.tick();
  });
  setInterval(loadAlerts, 30000); // reconcile, as every page does
}

start();
