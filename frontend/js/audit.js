// The audit trail page (admins): who signed in, saw or exported a patient's data, and who changed
// what, newest first, filtered as the API filters (GET /api/audit), with a CSV export of the same
// selection. Times come as UTC and are shown in this screen's local time on the 24-hour clock.

import { api } from "./api.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { showPageError, signedIn } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";
import { parseTime } from "./time.js";

const $ = (id) => document.getElementById(id);
const PAGE = 100;

export const ACTION_LABELS = {
  "auth.sign_in": "Signed in",
  "auth.sign_in_failed": "Sign-in failed",
  "auth.sign_out": "Signed out",
  "session.view": "Viewed session",
  "readings.view": "Viewed readings",
  "record.view": "Viewed record",
  "report.pdf": "Exported PDF",
  "report.csv": "Exported readings CSV",
  "report.fhir": "Exported FHIR record",
  "patient.view": "Viewed patient",
  "patient.edit": "Edited patient",
  "patient.create": "Registered patient",
  "patient.import": "Imported patient list",
  "account.create": "Added account",
  "account.update": "Changed account",
  "account.password_reset": "Reset password",
  "account.password_change": "Changed own password",
  "token.create": "Added API token",
  "token.revoke": "Revoked API token",
  "site.create": "Added site",
  "site.update": "Changed site",
  "room.create": "Added room",
  "room.update": "Changed room",
  "chair.create": "Added chair",
  "chair.update": "Changed chair",
  "session.start": "Started session",
  "session.phase": "Changed phase",
  "gate.override": "Overrode pre-dose gate",
  "alarm.override": "Overrode alarms at discharge",
  "alarm.acknowledge": "Acknowledged alarm",
  "reading.entered_in_error": "Marked reading in error",
  "limits.change": "Changed limit profile",
  "limits.profile_create": "Added limit profile",
  "limits.session_change": "Changed session limits",
  "audit.export": "Exported audit trail",
  "alarm_review.export": "Exported alarm review",
  "rems.view": "Viewed REMS form",
  "rems.save": "Saved REMS form answers",
  "rems.complete": "Completed REMS form",
  "rems.pdf": "Exported REMS form PDF",
};

const form = $("audit-filters");
const rows = $("audit-rows");
const more = $("audit-more");
let nextBefore = null;
let shown = 0;
let request = 0;

const pad = (n) => String(n).padStart(2, "0");

/** "06 Dec 2026 14:05:09", local time, 24-hour clock whatever the browser's locale. */
export function auditTime(iso) {
  const d = parseTime(iso);
  const month = d.toLocaleDateString("en-GB", { month: "short" });
  return `${pad(d.getDate())} ${month} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The local midnight starting `yyyy-mm-dd` (plus `days`), as UTC ISO 8601 for the API. */
export function dayStart(value, days = 0) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

function positiveId(input, label) {
  const text = input.value.trim();
  if (!text) return null;
  if (!/^\d{1,10}$/.test(text) || Number(text) < 1 || Number(text) > 2147483647) {
    showFieldError(input, `${label} is a whole number from 1.`);
    return undefined;
  }
  return text;
}

/** The filters as query parameters, or null (with the fields marked) when one is not valid. */
function filters() {
  clearErrors(form);
  const params = new URLSearchParams();
  let ok = true;
  const user = $("f-user").value.trim();
  if (user) params.set("user", user);
  const action = $("f-action").value;
  if (action) params.set("action", action);
  for (const [id, name, label] of [
    ["f-patient", "patient_id", "The patient number"],
    ["f-session", "session_id", "The session number"],
  ]) {
    const value = positiveId($(id), label);
    if (value === undefined) ok = false;
    else if (value) params.set(name, value);
  }
  const since = $("f-since").value;
  const until = $("f-until").value;
  if (since) params.set("since", dayStart(since));
  if (until) params.set("until", dayStart(until, 1)); // the whole of the last day
  if (since && until && until < since) {
    showFieldError($("f-until"), "The last day cannot be before the first.");
    ok = false;
  }
  return ok ? params : null;
}

/** Fill the form from the address, so a reload or a shared link shows the same selection. */
function formFromAddress() {
  const q = new URLSearchParams(location.search);
  $("f-user").value = q.get("user") || "";
  $("f-action").value = q.get("action") || "";
  $("f-patient").value = q.get("patient_id") || "";
  $("f-session").value = q.get("session_id") || "";
  $("f-since").value = q.get("from") || "";
  $("f-until").value = q.get("to") || "";
}

function addressOf(params) {
  const q = new URLSearchParams(params);
  q.delete("since");
  q.delete("until");
  if ($("f-since").value) q.set("from", $("f-since").value);
  if ($("f-until").value) q.set("to", $("f-until").value);
  const text = q.toString();
  return `/audit${text ? `?${text}` : ""}`;
}

function cell(content, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? "";
  return td;
}

function who(event) {
  const span = document.createElement("span");
  if (!event.actor_name) {
    span.textContent = "nobody signed in";
    span.className = "muted";
    return span;
  }
  const name = document.createElement("strong");
  name.textContent = event.actor_kind === "token" ? `token ${event.actor_name}` : event.actor_name;
  span.append(name);
  if (event.actor_role) span.append(` (${event.actor_role})`);
  return span;
}

function action(event) {
  const span = document.createElement("span");
  const label = ACTION_LABELS[event.action];
  span.textContent = label || event.action;
  span.dataset.action = event.action;
  if (event.action.endsWith("_failed") || event.action.endsWith(".override")) span.className = "attention";
  if (label) {
    const code = document.createElement("code");
    code.textContent = event.action;
    span.append(document.createElement("br"), code);
  }
  return span;
}

function about(event) {
  const parts = [];
  if (event.target) parts.push(event.target);
  const detail = { ...(event.detail || {}) };
  if (detail.simulated) {
    parts.push("SIMULATED");
    delete detail.simulated;
  }
  for (const [key, value] of Object.entries(detail)) {
    const shownValue = typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value) ? auditTime(value) : value;
    parts.push(`${key.replaceAll("_", " ")}: ${typeof shownValue === "object" ? JSON.stringify(shownValue) : shownValue}`);
  }
  return parts.join(" · ");
}

function sessionLink(event) {
  if (event.session_id == null) return "";
  const link = document.createElement("a");
  link.href = `/sessions/${event.session_id}`;
  link.textContent = `#${event.session_id}`;
  return link;
}

function row(event) {
  const tr = document.createElement("tr");
  tr.dataset.eventId = String(event.id);
  const time = document.createElement("time");
  time.dateTime = event.at;
  time.textContent = auditTime(event.at);
  tr.append(
    cell(time, "time"),
    cell(who(event)),
    cell(action(event)),
    cell(event.patient_id == null ? "" : `#${event.patient_id}`, "num"),
    cell(sessionLink(event), "num"),
    cell(about(event), "about"),
    cell(event.address || "", "address"),
  );
  return tr;
}

async function load(params, { reset }) {
  const mine = ++request;
  const query = new URLSearchParams(params);
  query.set("limit", String(PAGE));
  if (!reset && nextBefore) query.set("before", String(nextBefore));
  more.disabled = true;
  let page;
  try {
    page = await api(`/api/audit?${query}`);
  } catch (err) {
    if (mine !== request) return;
    more.disabled = false;
    const named = Object.entries(err.fields || {});
    const inputs = { user: "f-user", action: "f-action", patient_id: "f-patient", session_id: "f-session", since: "f-since", until: "f-until" };
    for (const [field, message] of named) if (inputs[field]) showFieldError($(inputs[field]), message);
    showFormErrors(form, named.length ? [] : [`The audit trail could not be loaded. ${err.message}`]);
    return;
  }
  if (mine !== request) return;
  if (reset) {
    rows.replaceChildren();
    shown = 0;
  }
  rows.append(...page.items.map(row));
  shown += page.items.length;
  nextBefore = page.next_before;
  more.hidden = nextBefore === null;
  more.disabled = false;
  $("audit-empty").hidden = shown > 0;
  $("audit-table").hidden = shown === 0;
  $("audit-count").textContent = `${shown} event${shown === 1 ? "" : "s"} shown${nextBefore ? ", more older" : ""}`;
}

let current = new URLSearchParams();

function apply() {
  const params = filters();
  if (!params) return;
  current = params;
  history.replaceState(null, "", addressOf(params));
  const text = params.toString();
  $("audit-csv").href = `/api/audit.csv${text ? `?${text}` : ""}`;
  load(params, { reset: true });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  apply();
});
$("f-clear").addEventListener("click", () => {
  form.reset();
  apply();
});
more.addEventListener("click", () => load(current, { reset: false }));

async function start() {
  const alarms = new PatientAlarms(); // a patient's alarm is seen and heard here too
  const me = await signedIn("audit-loading");
  if (!me) return;
  alarms.watch();
  if (me.role !== "admin") {
    showPageError("The audit trail is for administrators. Ask one if you need to know who saw a record.", "audit-loading");
    return;
  }
  $("audit-loading").hidden = true;
  $("audit-page").hidden = false;
  formFromAddress();
  apply();
}

start();
