// The ward's "Start session" dialog: find or register the patient, then start their session.

import { ApiError, api } from "./api.js";
import { loadChairs as loadChairList } from "./chair-picker.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { canRegisterPatient } from "./roles.js";
import { keepAppShell } from "./offline-shell.js";

// The ward is the page most often open: it keeps the app shell for a reload without a
// connection (frontend/sw.js), as the session page does.
keepAppShell();

const dialog = document.getElementById("start-dialog");
const form = document.getElementById("start-form");
const search = document.getElementById("patient-search");
const results = document.getElementById("patient-results");
const submit = document.getElementById("start-submit");
const el = (id) => document.getElementById(id);

// What a nurse calls the fields the server may name in a refusal.
const FIELD_WORDS = { spo2_scale: "SpO₂ scale", limit_profile_id: "Alarm limits", simulated: "Simulated", chair: "Chair" };

// The ward's site and room filter: its chairs are offered first.
let place = null;

let searchTimer = null;
let searchSeq = 0;

function mode() {
  return form.elements.patient_mode.value;
}

function showMode() {
  const isNew = mode() === "new";
  el("existing-patient").hidden = isNew;
  el("new-patient").hidden = !isNew;
}

async function runSearch() {
  const seq = ++searchSeq;
  const q = search.value.trim();
  const params = new URLSearchParams({ limit: "20" });
  if (q) params.set("q", q);
  try {
    const patients = await api(`/api/patients?${params}`);
    if (seq !== searchSeq) return; // a newer search is on its way
    showPatients(patients, q);
  } catch (err) {
    if (err instanceof ApiError) showFieldError(search, err.message);
  }
}

function showPatients(patients, q) {
  const chosen = form.elements.patient_id ? radioValue("patient_id") : "";
  const items = patients.map((patient, index) => {
    const li = document.createElement("li");
    const label = document.createElement("label");
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "patient_id";
    radio.value = String(patient.id);
    radio.checked = chosen ? String(patient.id) === chosen : patients.length === 1 && index === 0;
    const text = document.createElement("span");
    text.textContent = `${patient.clinic_id} — ${patient.display_name}`;
    label.append(radio, text);
    li.append(label);
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "hint no-match";
    li.textContent = q ? `No patient matches “${q}”.` : "No patients registered yet.";
    items.push(li);
  }
  results.replaceChildren(...items);
}

function radioValue(name) {
  const checked = form.querySelector(`input[name="${name}"]:checked`);
  return checked ? checked.value : "";
}

function numberOrNull(input) {
  const raw = input.value.trim();
  return raw === "" ? null : Number(raw);
}

/** Check what the browser can check; the server checks everything again. */
function collect() {
  const errors = [];
  const body = {
    chair_id: el("chair_id").value ? Number(el("chair_id").value) : null,
    drug: el("drug").value,
    route: el("route").value,
    planned_dose_mg: numberOrNull(el("planned_dose_mg")),
    weight_kg: numberOrNull(el("weight_kg")),
    planned_duration_min: numberOrNull(el("planned_duration_min")),
    simulated: el("simulated").checked,
    spo2_scale: Number(radioValue("spo2_scale") || 1),
  };
  const profile = el("limit_profile_id").value;
  if (profile) body.limit_profile_id = Number(profile);
  let patient = null;
  if (mode() === "new") {
    patient = { clinic_id: el("clinic_id").value.trim(), display_name: el("display_name").value.trim() };
    if (!patient.clinic_id) errors.push([el("clinic_id"), "Enter the clinic ID."]);
    if (!patient.display_name) errors.push([el("display_name"), "Enter the patient's name."]);
  } else {
    const id = radioValue("patient_id");
    if (!id) errors.push([search, "Find the patient and choose them from the list."]);
    else body.patient_id = Number(id);
  }
  if (!body.chair_id) errors.push([el("chair_id"), "Choose the chair the patient is in."]);
  for (const id of ["planned_dose_mg", "weight_kg", "planned_duration_min"]) {
    const input = el(id);
    if (input.validity.badInput) errors.push([input, "Enter a number, or leave it empty."]);
  }
  return { body, patient, errors };
}

function showApiError(err) {
  const general = [...err.general];
  for (const [field, message] of Object.entries(err.fields)) {
    const input = field === "patient_id" ? search : form.elements[field];
    if (input && input.id) showFieldError(input, message);
    else general.push(`${FIELD_WORDS[field] || "The form"}: ${message}`); // never an API name
  }
  showFormErrors(form, general);
  const first = form.querySelector("[aria-invalid='true']");
  if (general.length || !first) el("start-errors").focus();
  else first.focus();
}

async function onSubmit(event) {
  event.preventDefault();
  clearErrors(form);
  const { body, patient, errors } = collect();
  if (errors.length) {
    for (const [input, message] of errors) showFieldError(input, message);
    errors[0][0].focus();
    return;
  }
  submit.disabled = true;
  try {
    if (patient) {
      const created = await api("/api/patients", { method: "POST", body: patient });
      // The patient now exists: should starting the session fail, a retry must not register
      // them twice, so switch to "existing" with them chosen.
      form.elements.patient_mode.value = "existing";
      showMode();
      search.value = created.clinic_id;
      showPatients([created], created.clinic_id);
      body.patient_id = created.id;
    }
    const session = await api("/api/sessions", { method: "POST", body });
    location.assign(`/sessions/${session.id}`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 409 && patient && /clinic id/i.test(err.message)) {
      showFieldError(el("clinic_id"), `${err.message} Choose “Existing patient” to find them.`);
      el("clinic_id").focus();
    } else if (err.status === 409 && /already has an open session on/i.test(err.message)) {
      showFieldError(search, err.message); // this patient is in another chair
      search.focus();
    } else if (err.status === 409) {
      // The chair was taken meanwhile (by a patient or a drill): say so, and offer what is free.
      showFieldError(el("chair_id"), err.message);
      el("chair_id").focus();
      loadChairs();
    } else {
      showApiError(err);
    }
  } finally {
    submit.disabled = false;
  }
}

/**
 * Offer the clinic's limit profiles, the default one chosen (a choice made since the dialog
 * was last opened stays). Without the list the session still starts, on the clinic default.
 */
async function loadProfiles() {
  const select = el("limit_profile_id");
  let profiles;
  try {
    profiles = await api("/api/limits/profiles");
  } catch {
    return; // "Clinic default" (sent as no profile) stays the one choice
  }
  const chosen = select.value;
  const options = profiles.map((profile) => {
    const option = document.createElement("option");
    option.value = String(profile.id);
    option.textContent = profile.is_default ? `${profile.name} (clinic default)` : profile.name;
    option.dataset.default = String(profile.is_default);
    return option;
  });
  if (!options.length) return;
  select.replaceChildren(...options);
  const fallback = options.find((option) => option.dataset.default === "true") || options[0];
  select.value = options.some((option) => option.value === chosen) ? chosen : fallback.value;
}

/** Offer the configured chairs, the room the ward shows first. */
function loadChairs() {
  const here = (chair) =>
    Boolean(place) && (place.roomId() === chair.room_id || place.siteId() === chair.site_id);
  return loadChairList(el("chair_id"), here);
}

/** Wire the dialog for the signed-in person `me`; `wardPlace` is the ward's site and room filter. */
export function initStartSession(me, wardPlace = null) {
  place = wardPlace;
  const open = el("start-open");
  open.hidden = false;
  if (!canRegisterPatient(me.role) && me.role !== "trainer") {
    el("patient-mode-new-label").hidden = true;
  }
  if (me.role === "trainer" || me.role === "admin") {
    el("simulated-row").hidden = false;
    if (me.role === "trainer") {
      // Trainers may only run simulated sessions: say so rather than let the server refuse.
      el("simulated").checked = true;
      el("simulated").disabled = true;
    }
  }
  // Trainers never see the clinic's register (the API refuses them): a drill gets a patient of
  // its own, registered as simulated.
  const trainer = me.role === "trainer";
  if (trainer) el("patient-mode-row").hidden = true;
  open.addEventListener("click", () => {
    clearErrors(form);
    dialog.showModal();
    if (trainer) {
      form.elements.patient_mode.value = "new";
      showMode();
      el("clinic_id").focus();
    } else {
      search.focus();
      runSearch();
    }
    loadProfiles();
    loadChairs();
  });
  el("start-cancel").addEventListener("click", () => dialog.close());
  for (const radio of form.querySelectorAll("input[name='patient_mode']")) {
    radio.addEventListener("change", showMode);
  }
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 200);
  });
  // Enter in the search box chooses nothing and submits nothing: it only searches now.
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      clearTimeout(searchTimer);
      runSearch();
    }
  });
  form.addEventListener("submit", onSubmit);
}
