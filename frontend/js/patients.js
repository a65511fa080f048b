// The patients page: find a patient by clinic ID or name, correct a record (nurses and admins;
// every change is kept and listed in the dialog), register one (clinical roles), and import the
// clinic's list from CSV with its report (admins). A date of birth is optional: the list shows it
// with the age today (the server's count, on the clinic's calendar). Trainers are told to use the trainer console:
// the register holds real patients, which trainers never see. The server decides everything.

import { ApiError, api, errorFrom, goToLogin } from "./api.js";
import { clearErrors, markInvalid, showFieldError, showFormErrors } from "./form-errors.js";
import { showPageError, signedIn } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";
import { calendarDateText, localTime, parseTime } from "./time.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 50;
const SEARCH_DELAY_MS = 250;
const FIELD_WORDS = { clinic_id: "Clinic ID", display_name: "Name", date_of_birth: "Date of birth" };
const DOB_PARTS = ["dob-day", "dob-month", "dob-year"];

/** Who may do what here (server: patients/router.py). */
export function canEdit(role) {
  return role === "admin" || role === "nurse";
}
export function canRegister(role) {
  return ["admin", "nurse", "staff"].includes(role);
}
export function canImport(role) {
  return role === "admin";
}

/** "7 Dec 2026 14:05" in the browser's zone, 24-hour clock: a register spans years. */
function localDateYearTime(iso) {
  const d = parseTime(iso);
  const day = d.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  return `${day} ${localTime(d, { seconds: false })}`;
}

const search = $("patient-search");
const dialog = $("patient-dialog");
const form = $("patient-form");
let me = null;
let query = "";
let page = 1;
let total = 0;
let requestSeq = 0;
let searchTimer = null;
let editing = null; // the patient in the dialog; null when registering a new one

// ---- the list --------------------------------------------------------------------------------

/** A page of patients with the total that match (the API puts it in X-Total-Count). */
async function fetchPage(q, pageNo) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), page: String(pageNo) });
  if (q) params.set("q", q);
  let response;
  try {
    response = await fetch(`/api/patients?${params}`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "Cannot reach the Vigil server. Check the network, then try again.");
  }
  if (response.status === 401) {
    goToLogin();
    throw new ApiError(401, "Your sign-in has ended. Please sign in again.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw errorFrom(response.status, data);
  return { patients: data, total: Number(response.headers.get("X-Total-Count") || data.length) };
}

function rememberInAddress() {
  const params = new URLSearchParams();
  if (query) params.set("q", query);
  if (page > 1) params.set("page", String(page));
  const address = params.toString() ? `/patients?${params}` : "/patients";
  history.replaceState(null, "", address);
}

async function load() {
  const seq = ++requestSeq;
  clearErrors($("search-form"));
  let result;
  try {
    result = await fetchPage(query, page);
  } catch (err) {
    if (seq !== requestSeq || !(err instanceof ApiError)) return;
    showFieldError(search, err.fields.q || err.message);
    return;
  }
  if (seq !== requestSeq) return; // a newer search is on its way
  if (!result.patients.length && page > 1) {
    page = 1; // the list shrank under us: start again from the first page
    load();
    return;
  }
  total = result.total;
  rememberInAddress();
  draw(result.patients);
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** "2 Mar 1958 · 67 y", or a quiet "not recorded". */
function bornCell(patient) {
  const td = cell("", "born");
  if (!patient.date_of_birth) {
    td.textContent = "not recorded";
    td.classList.add("unknown");
    return td;
  }
  const date = document.createElement("time");
  date.dateTime = patient.date_of_birth;
  date.textContent = calendarDateText(patient.date_of_birth);
  td.append(date);
  if (patient.age !== null && patient.age !== undefined) {
    const age = document.createElement("span");
    age.className = "age";
    age.textContent = ` · ${patient.age} y`;
    age.title = `${patient.age} years old today`;
    td.append(age);
  }
  return td;
}

function draw(patients) {
  const rows = patients.map((patient) => {
    const tr = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = patient.display_name;
    const registered = `${localDateYearTime(patient.created_at)}${patient.created_by ? ` · ${patient.created_by}` : ""}`;
    tr.append(cell(patient.clinic_id, "clinic-id"), name, bornCell(patient), cell(registered, "registered"));
    const actions = document.createElement("td");
    actions.className = "actions";
    // Every session of the patient at a glance (the register lists real patients only).
    const course = document.createElement("a");
    course.className = "button course-link";
    course.href = `/patients/${patient.id}/course`;
    course.textContent = "Course";
    course.setAttribute("aria-label", `Course of ${patient.display_name} (${patient.clinic_id})`);
    actions.append(course);
    if (canEdit(me.role)) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small";
      button.textContent = "Edit";
      button.setAttribute("aria-label", `Edit ${patient.display_name} (${patient.clinic_id})`);
      button.setAttribute("aria-haspopup", "dialog");
      button.addEventListener("click", () => openDialog(patient));
      actions.append(button);
    }
    tr.append(actions);
    return tr;
  });
  $("patients-body").replaceChildren(...rows);
  $("patients-table").hidden = !patients.length;
  const empty = $("patients-empty");
  empty.hidden = patients.length > 0;
  empty.textContent = query ? `No patient matches “${query}”.` : "No patients registered yet.";
  const first = (page - 1) * PAGE_SIZE + 1;
  const last = first + patients.length - 1;
  $("patient-count").textContent = query
    ? `${total} matching “${query}”`
    : `${total} registered`;
  $("pager").hidden = total <= PAGE_SIZE;
  $("page-text").textContent = patients.length ? `${first}–${last} of ${total}` : "";
  $("page-prev").disabled = page <= 1;
  $("page-next").disabled = last >= total;
}

search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    query = search.value.trim();
    page = 1;
    load();
  }, SEARCH_DELAY_MS);
});
$("search-form").addEventListener("submit", (event) => {
  event.preventDefault(); // Enter searches at once
  clearTimeout(searchTimer);
  query = search.value.trim();
  page = 1;
  load();
});
$("page-prev").addEventListener("click", () => {
  page = Math.max(1, page - 1);
  load();
});
$("page-next").addEventListener("click", () => {
  page += 1;
  load();
});

// ---- edit and register -----------------------------------------------------------------------

function changeText(change) {
  const field = FIELD_WORDS[change.field] || change.field;
  if (change.field === "date_of_birth") {
    const shown = (value) => (value ? calendarDateText(value) : "none");
    return `${field}: ${shown(change.old_value)} → ${shown(change.new_value)}`;
  }
  return `${field}: “${change.old_value ?? ""}” → “${change.new_value ?? ""}”`;
}

async function loadHistory(patient) {
  const box = $("change-history");
  const list = $("history-list");
  const message = $("history-message");
  box.hidden = false;
  list.replaceChildren();
  message.textContent = "Loading…";
  let changes;
  try {
    changes = await api(`/api/patients/${patient.id}/changes`);
  } catch (err) {
    if (editing === patient) message.textContent = `The changes could not be loaded. ${err.message}`;
    return;
  }
  if (editing !== patient) return;
  message.textContent = changes.length ? "" : "No changes since the patient was registered.";
  list.replaceChildren(
    ...changes.map((change) => {
      const li = document.createElement("li");
      const when = document.createElement("time");
      when.dateTime = change.changed_at;
      when.textContent = localDateYearTime(change.changed_at);
      li.append(when, ` ${change.changed_by} · ${changeText(change)}`);
      return li;
    }),
  );
}

function openDialog(patient) {
  editing = patient;
  clearErrors(form);
  $("patient-dialog-title").textContent = patient ? `Edit ${patient.display_name}` : "Register a patient";
  $("patient-submit").textContent = patient ? "Save changes" : "Register";
  $("clinic_id").value = patient ? patient.clinic_id : "";
  $("display_name").value = patient ? patient.display_name : "";
  const [year, month, day] = patient && patient.date_of_birth ? patient.date_of_birth.split("-") : ["", "", ""];
  $("dob-day").value = day ? String(Number(day)) : "";
  $("dob-month").value = month ? String(Number(month)) : "";
  $("dob-year").value = year;
  $("edit-note").hidden = !patient;
  $("change-history").hidden = true;
  dialog.showModal();
  $(patient ? "display_name" : "clinic_id").focus();
  if (patient) loadHistory(patient);
}

/**
 * The date of birth as typed: "YYYY-MM-DD", null when the three boxes are empty, or
 * {error} saying what to fix. Whether it is a real day, not in the future and not before
 * 1900 is the server's to say.
 */
export function birthDateFrom(dayText, monthText, yearText) {
  const [day, month, year] = [dayText, monthText, yearText].map((v) => v.trim());
  if (!day && !month && !year) return null;
  if (!day || !month || !year) return { error: "Enter the day, month and year, or leave all three empty." };
  if (![day, month, year].every((v) => /^[0-9]+$/.test(v))) {
    return { error: "Day, month and year are numbers: for example 2 3 1958." };
  }
  if (year.length !== 4) return { error: "Enter the year in full, with four digits: for example 1958." };
  if (Number(month) < 1 || Number(month) > 12) return { error: "The month is a number from 1 to 12." };
  if (Number(day) < 1 || Number(day) > 31) return { error: "The day is a number from 1 to 31." };
  return `${year}-${month.padStart(2, "0")}-${day.padStart(2, "0")}`;
}

/** One message for the three boxes, read with each of them. */
function showBirthDateError(message) {
  showFieldError($("dob-day"), message);
  for (const id of DOB_PARTS.slice(1)) markInvalid($(id), "dob-day-error");
}

function showApiError(err) {
  const general = [...err.general];
  for (const [field, message] of Object.entries(err.fields)) {
    const input = form.elements[field];
    if (field === "date_of_birth") showBirthDateError(message);
    else if (input && input.id) showFieldError(input, message);
    else general.push(`${FIELD_WORDS[field] || "The form"}: ${message}`);
  }
  if (!Object.keys(err.fields).length && !general.length) general.push(err.message);
  // A taken clinic ID names the patient who has it: shown by that field.
  if (err.status === 409 && /clinic id/i.test(err.message)) {
    showFieldError($("clinic_id"), err.message);
    general.length = 0;
  }
  showFormErrors(form, general);
  const first = form.querySelector("[aria-invalid='true']");
  (general.length || !first ? $("patient-errors") : first).focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const body = {
    clinic_id: $("clinic_id").value.trim(),
    display_name: $("display_name").value.trim(),
  };
  const missing = [];
  if (!body.clinic_id) missing.push([$("clinic_id"), "Enter the clinic ID."]);
  if (!body.display_name) missing.push([$("display_name"), "Enter the patient's name."]);
  const born = birthDateFrom($("dob-day").value, $("dob-month").value, $("dob-year").value);
  if (born && born.error) missing.push([$("dob-day"), born.error]);
  if (missing.length) {
    for (const [input, message] of missing) {
      if (input.id === "dob-day") showBirthDateError(message);
      else showFieldError(input, message);
    }
    missing[0][0].focus();
    return;
  }
  // Empty boxes remove a date of birth on an edit; a new patient is simply registered without.
  if (born || editing) body.date_of_birth = born;
  const submit = $("patient-submit");
  submit.disabled = true;
  try {
    if (editing) {
      await api(`/api/patients/${editing.id}`, { method: "PATCH", body });
    } else {
      const created = await api("/api/patients", { method: "POST", body });
      search.value = created.clinic_id; // show the new patient
      query = created.clinic_id;
      page = 1;
    }
    dialog.close();
    await load();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showApiError(err);
  } finally {
    submit.disabled = false;
  }
});
$("patient-cancel").addEventListener("click", () => dialog.close());
$("new-patient").addEventListener("click", () => openDialog(null));

// ---- import ------------------------------------------------------------------------------------

function rows(tbody, items, cells) {
  $(tbody).replaceChildren(
    ...items.map((item) => {
      const tr = document.createElement("tr");
      for (const text of cells(item)) tr.append(cell(text));
      return tr;
    }),
  );
}

function showReport(report) {
  const created = report.created.length;
  const present = report.present.length;
  const rejected = report.rejected.length;
  const verb = report.dry_run ? "would be registered" : "registered";
  const parts = [`${report.rows} rows read: ${created} ${verb}`, `${present} already registered`, `${rejected} refused`];
  let summary = `${parts.join(", ")}.`;
  if (report.dry_run) summary = `Check only, nothing was registered. ${summary}`;
  if (report.ignored_columns.length) summary += ` Columns not imported: ${report.ignored_columns.join(", ")}.`;
  $("report-summary").textContent = summary;
  $("report-summary").dataset.state = rejected ? "refused" : "ok";

  $("report-rejected-wrap").hidden = !rejected;
  $("report-rejected").replaceChildren(
    ...report.rejected.map((r) => {
      const tr = document.createElement("tr");
      const why = cell(r.reason);
      if (r.value) {
        const value = document.createElement("span");
        value.className = "refused-value";
        value.textContent = `“${r.value}”`;
        why.append(document.createElement("br"), value);
      }
      tr.append(cell(String(r.line)), cell(r.field ? FIELD_WORDS[r.field] || r.field : "whole row"), why);
      return tr;
    }),
  );
  $("report-present-wrap").hidden = !present;
  $("report-present-summary").textContent = `Already registered (${present}), left unchanged`;
  rows("report-present", report.present, (p) => [
    String(p.line),
    p.clinic_id,
    `${p.display_name} (${p.registered_clinic_id})${p.same_name ? "" : ": the file's name differs"}` +
      (p.same_date_of_birth === false ? "; the file's date of birth differs: check it is the same person" : ""),
  ]);
  $("report-created-wrap").hidden = !created;
  $("report-created-summary").textContent = report.dry_run
    ? `Would be registered (${created})`
    : `Registered (${created})`;
  rows("report-created", report.created, (c) => [
    String(c.line),
    c.clinic_id,
    c.display_name,
    c.date_of_birth ? calendarDateText(c.date_of_birth) : "—",
  ]);
  const box = $("import-report");
  box.hidden = false;
  box.focus();
}

$("import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const importForm = $("import-form");
  clearErrors(importForm);
  const fileInput = $("import-file");
  const file = fileInput.files[0];
  if (!file) {
    showFieldError(fileInput, "Choose the CSV file to import.");
    fileInput.focus();
    return;
  }
  const dryRun = $("import-dry-run").checked;
  const submit = $("import-submit");
  submit.disabled = true;
  try {
    let response;
    try {
      response = await fetch(`/api/patients/import?dry_run=${dryRun}`, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "text/csv" },
        credentials: "same-origin",
        body: file,
      });
    } catch {
      throw new ApiError(0, "Cannot reach the Vigil server. Check the network, then try again.");
    }
    if (response.status === 401) {
      goToLogin();
      return;
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw errorFrom(response.status, data);
    showReport(data);
    if (!dryRun) load();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $("import-report").hidden = true;
    const text = err.general.length ? err.general.join(" ") : err.message;
    showFieldError(fileInput, `The file was not imported: ${text}`);
    fileInput.focus();
  } finally {
    submit.disabled = false;
  }
});

// ---- start ------------------------------------------------------------------------------------

async function start() {
  const alarms = new PatientAlarms(); // a patient's alarm is seen and heard here too
  me = await signedIn("patients-loading");
  if (!me) return;
  alarms.watch();
  $("patients-loading").hidden = true;
  if (me.role === "trainer") {
    $("trainer-note").hidden = false;
    return;
  }
  const params = new URLSearchParams(location.search);
  query = (params.get("q") || "").trim();
  search.value = query;
  const wanted = Number(params.get("page"));
  page = Number.isInteger(wanted) && wanted > 0 ? wanted : 1;
  $("new-patient").hidden = !canRegister(me.role);
  $("import-panel").hidden = !canImport(me.role);
  $("patients-ui").hidden = false;
  try {
    const result = await fetchPage(query, page);
    total = result.total;
    draw(result.patients);
  } catch (err) {
    showPageError(`The patients could not be loaded. ${err.message}`, "patients-loading");
    $("patients-ui").hidden = true;
  }
}

start();
