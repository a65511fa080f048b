// The Spravato REMS Patient Monitoring Form of one esketamine session (/sessions/{id}/rems):
// the session record's answers shown as such, with their evidence; the questions the record
// cannot answer (and the judgements it only suggests) answered here; Save, Mark complete, PDF.
// The server decides every rule (which answers the record gives, what completes the form).

import { api } from "./api.js";
import { el } from "./dom.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { showPageError, signedIn } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";
import { clinicDateTime, dayText, zoneNote } from "./rems-time.js";

const $ = (id) => document.getElementById(id);
const sessionId = Number(location.pathname.split("/").filter(Boolean)[1]);
const formUrl = `/api/sessions/${sessionId}/rems`;
const SOURCE_WORDS = { record: "From the record", entered: "Entered", missing: "To answer" };
const MAY_COMPLETE = ["admin", "nurse"];

let me = null;
let current = null; // the form as the server last answered it

function controlId(field, part = "") {
  return `q-${field.key}${part ? `-${part}` : ""}`;
}

/** A group of radio buttons: the answers, and "Not answered" (null). */
function radios(field, options, entered) {
  const group = el("div", { className: "choice-row", attrs: { role: "radiogroup", "aria-labelledby": `${controlId(field)}-label` } });
  // Where the record answers, no answer here keeps the record's: say so.
  const all = [...options, ["", field.record_value === null ? "Not answered" : "Keep the record's"]];
  for (const [value, text] of all) {
    const id = controlId(field, value === "" ? "none" : String(value));
    const input = el("input", { attrs: { type: "radio", id, name: field.key, value: String(value) } });
    const chosen = entered === null || entered === undefined ? value === "" : String(entered) === String(value);
    input.checked = chosen;
    group.append(el("span", { className: "choice" }, [input, el("label", { text, attrs: { for: id } })]));
  }
  group.id = controlId(field);
  return group;
}

function controlFor(field) {
  const entered = field.entered;
  switch (field.kind) {
    case "yes_no":
      return radios(field, [["true", "Yes"], ["false", "No"]], entered === null ? null : String(entered));
    case "choice":
      return radios(field, Object.entries(field.choices), entered);
    case "dose":
      return radios(field, [["56", "56 mg"], ["84", "84 mg"]], entered);
    case "multi": {
      const box = el("div", { className: "choice-row multi", attrs: { role: "group", "aria-labelledby": `${controlId(field)}-label` } });
      box.id = controlId(field);
      for (const [value, text] of Object.entries(field.choices)) {
        const id = controlId(field, value);
        const input = el("input", { attrs: { type: "checkbox", id, value } });
        input.checked = Array.isArray(entered) && entered.includes(value);
        box.append(el("span", { className: "choice" }, [input, el("label", { text, attrs: { for: id } })]));
      }
      return box;
    }
    case "bp": {
      const row = el("div", { className: "bp-row" });
      row.id = controlId(field);
      for (const [part, text] of [["systolic", "Systolic"], ["diastolic", "Diastolic"]]) {
        const id = controlId(field, part);
        const input = el("input", { attrs: { id, type: "text", inputmode: "numeric", autocomplete: "off", "aria-label": `${field.label}: ${text.toLowerCase()} (mmHg)` } });
        input.value = entered ? String(entered[part]) : "";
        row.append(input);
        if (part === "systolic") row.append(el("span", { text: "/", attrs: { "aria-hidden": "true" } }));
      }
      row.append(el("span", { className: "unit", text: "mmHg" }));
      return row;
    }
    case "minutes": {
      const input = el("input", { attrs: { id: controlId(field), type: "text", inputmode: "numeric", autocomplete: "off", "aria-labelledby": `${controlId(field)}-label` } });
      input.value = entered === null || entered === undefined ? "" : String(entered);
      input.classList.add("short");
      return input;
    }
    case "date": {
      const input = el("input", { attrs: { id: controlId(field), type: "date", "aria-labelledby": `${controlId(field)}-label` } });
      input.value = entered || "";
      input.classList.add("short");
      return input;
    }
    default: {
      const long = field.key === "sae_description";
      const input = el(long ? "textarea" : "input", { attrs: { id: controlId(field), "aria-labelledby": `${controlId(field)}-label`, maxlength: long ? "2000" : field.key === "device_lot" ? "40" : "120", autocomplete: "off" } });
      if (!long) input.setAttribute("type", "text");
      input.value = entered || "";
      return input;
    }
  }
}

/** The value a control holds, as the API takes it (null: not answered). */
function valueOf(field) {
  const root = $(controlId(field));
  switch (field.kind) {
    case "yes_no": {
      const v = root.querySelector("input:checked")?.value || "";
      return v === "" ? null : v === "true";
    }
    case "dose": {
      const v = root.querySelector("input:checked")?.value || "";
      return v === "" ? null : Number(v);
    }
    case "choice":
      return root.querySelector("input:checked")?.value || null;
    case "multi": {
      const chosen = [...root.querySelectorAll("input:checked")].map((i) => i.value);
      return chosen.length ? chosen : null;
    }
    case "bp": {
      const s = $(controlId(field, "systolic")).value.trim();
      const d = $(controlId(field, "diastolic")).value.trim();
      if (!s && !d) return null;
      return { systolic: wholeOrText(s), diastolic: wholeOrText(d) };
    }
    case "minutes": {
      const v = root.value.trim();
      return v === "" ? null : wholeOrText(v);
    }
    default: {
      const v = root.value.trim();
      return v === "" ? null : v;
    }
  }
}

// Digits become a number; anything else goes as typed, and the server says what is wrong.
function wholeOrText(text) {
  return /^\d+$/.test(text) ? Number(text) : text;
}

function sourceTag(source) {
  return el("span", { className: "src-tag", text: SOURCE_WORDS[source], attrs: { "data-source": source } });
}

function renderField(field, form) {
  const row = el("div", { className: "rems-row", attrs: { "data-key": field.key, "data-source": field.source } });
  const label = el("div", { className: "rems-q" }, [
    el("span", { text: field.label, attrs: { id: `${controlId(field)}-label` } }),
  ]);
  row.append(label);
  const answer = el("div", { className: "rems-a" });
  // A question asked only in some cases (the account of a serious adverse event) is not "to
  // answer" until that case arises.
  const needed = field.required || form.missing.includes(field.key) || field.source !== "missing";
  const head = el("div", { className: "rems-value" }, [needed ? sourceTag(field.source) : el("span", { className: "src-tag", text: "Only if yes above", attrs: { "data-source": "optional" } })]);
  if (field.source !== "missing") head.append(el("strong", { className: "shown", text: field.shown }));
  answer.append(head);
  if (field.record_value !== null && field.source === "entered") {
    answer.append(el("p", { className: "hint record-said", text: `The record: ${recordShown(field)}${field.record_detail ? ` (${field.record_detail})` : ""}` }));
  } else if (field.record_detail) {
    answer.append(el("p", { className: "hint", text: field.record_detail }));
  }
  if (field.editable && !form.completed_at) {
    const control = el("div", { className: "field" });
    if (field.record_value !== null) control.append(el("span", { className: "hint", text: "Answer otherwise (leave unanswered to keep the record's):" }));
    control.append(controlFor(field));
    answer.append(control);
  }
  row.append(answer);
  return row;
}

function recordShown(field) {
  const v = field.record_value;
  if (field.kind === "yes_no") return v ? "Yes" : "No";
  if (field.kind === "minutes") return `${v} min`;
  if (field.kind === "bp") return `${v.systolic}/${v.diastolic} mmHg`;
  return String(v);
}

function render(form) {
  current = form;
  const sections = $("rems-sections");
  sections.replaceChildren();
  const order = [];
  for (const f of form.fields) if (!order.includes(f.section)) order.push(f.section);
  for (const name of order) {
    const set = el("fieldset", { className: "rems-section" }, [el("legend", { text: name })]);
    for (const f of form.fields.filter((x) => x.section === name)) set.append(renderField(f, form));
    sections.append(set);
  }
  const status = $("rems-status");
  status.hidden = false;
  status.dataset.status = form.overdue ? "overdue" : form.status;
  status.textContent =
    form.status === "complete"
      ? "Complete"
      : `${form.overdue ? "OVERDUE · " : ""}${form.status === "in_progress" ? "In progress" : "Not started"}`;
  const parts = [];
  if (form.dosing_started_at) parts.push(`Treatment ${clinicDateTime(form.dosing_started_at, form.clinic_timezone)}`);
  else parts.push("Dosing has not started");
  if (form.due_date) parts.push(`due ${dayText(form.due_date)}${form.overdue ? " (overdue)" : ""}`);
  if (form.completed_at) parts.push(`completed ${clinicDateTime(form.completed_at, form.clinic_timezone)} by ${form.completed_by}`);
  else if (form.updated_at) parts.push(`last saved ${clinicDateTime(form.updated_at, form.clinic_timezone)} by ${form.updated_by}`);
  $("rems-summary").textContent = `${parts.join(" · ")}${zoneNote(form.clinic_timezone)}.`;
  const done = Boolean(form.completed_at);
  $("rems-save").hidden = done || !form.fields.some((f) => f.editable);
  const complete = $("rems-complete");
  complete.hidden = done || !MAY_COMPLETE.includes(me.role);
  complete.disabled = !form.completable;
  const hint = $("rems-complete-hint");
  if (done) hint.textContent = "This form is complete: what was reported is kept as it was.";
  else if (!MAY_COMPLETE.includes(me.role)) hint.textContent = "A nurse or an admin marks the form complete.";
  else if (!form.session_ended) hint.textContent = "The form can be marked complete once the session has ended.";
  else if (form.missing.length) {
    const labels = form.fields.filter((f) => form.missing.includes(f.key)).map((f) => f.label);
    hint.textContent = `To mark it complete, answer: ${labels.join("; ")}.`;
  } else hint.textContent = "Every question is answered: it can be marked complete.";
}

function showErrors(err) {
  const form = $("rems-form");
  const general = [...err.general];
  for (const { loc, message } of err.paths || []) {
    const key = loc[0] === "entries" ? loc[1] : null;
    const field = current.fields.find((f) => f.key === key);
    if (!field) continue;
    let target = $(controlId(field));
    if (field.kind === "bp" && (loc[2] === "systolic" || loc[2] === "diastolic")) target = $(controlId(field, loc[2]));
    else if (field.kind === "bp") target = $(controlId(field, "systolic"));
    if (target) showFieldError(target, `${field.label}: ${message}`);
    general.push(`${field.label}: ${message}`);
  }
  if (!general.length) general.push(err.message);
  showFormErrors(form, general);
  $("rems-errors").focus();
}

async function save(event) {
  event.preventDefault();
  const form = $("rems-form");
  clearErrors(form);
  $("rems-saved").textContent = "";
  const entries = {};
  for (const f of current.fields) if (f.editable) entries[f.key] = valueOf(f);
  $("rems-save").disabled = true;
  try {
    render(await api(formUrl, { method: "PATCH", body: { version: current.version, entries } }));
    $("rems-saved").textContent = "Answers saved.";
  } catch (err) {
    showErrors(err);
  } finally {
    $("rems-save").disabled = false;
  }
}

async function complete() {
  const form = $("rems-form");
  clearErrors(form);
  $("rems-saved").textContent = "";
  try {
    render(await api(`${formUrl}/complete`, { method: "POST", body: { version: current.version } }));
    $("rems-saved").textContent = "The form is complete.";
  } catch (err) {
    showErrors(err);
  }
}

async function main() {
  const alarms = new PatientAlarms();
  me = await signedIn("rems-loading");
  if (!me) return;
  alarms.watch();
  if (!Number.isInteger(sessionId) || sessionId < 1) {
    showPageError("There is no such session.", "rems-loading");
    return;
  }
  $("rems-back").href = `/sessions/${sessionId}`;
  $("rems-pdf").href = `${formUrl}.pdf`;
  let form;
  try {
    form = await api(formUrl);
  } catch (err) {
    const why = err.status === 404 ? `There is no session #${sessionId}.` : err.message;
    showPageError(`The REMS form could not be opened. ${why}`, "rems-loading");
    return;
  }
  document.title = `REMS form · session #${sessionId} · Vigil`;
  $("rems-loading").hidden = true;
  $("rems-ui").hidden = false;
  render(form);
  $("rems-form").addEventListener("submit", save);
  $("rems-complete").addEventListener("click", complete);
}

main();
