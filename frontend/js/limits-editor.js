// Adjusting a session's own alarm limits for its current phase: a dialog of number inputs
// prefilled from the effective limits. Only what changed is sent, merged into the session's
// existing overrides (the PUT replaces the whole overrides document).

import { api } from "./api.js";
import { PHASE_NAMES } from "./labels.js";
import { MONITORED, VITALS } from "./limits-view.js";
import { localTime } from "./time.js";

const $ = (id) => document.getElementById(id);

// The bounds in the table's order; [side, priority, label].
const BOUNDS = [
  ["below", "high", "high priority below"],
  ["below", "medium", "medium priority below"],
  ["above", "medium", "medium priority above"],
  ["above", "high", "high priority above"],
];

/** Who may adjust a session's limits (server: NurseActor, i.e. nurses and admins). */
export function canAdjustLimits(role) {
  return ["admin", "nurse"].includes(role);
}

const blank = (v) => (v === null || v === undefined ? "" : String(v));

/** Deep-merge `patch` into `base` (plain objects only; null is a value, not a removal). */
function merge(base, patch) {
  const out = { ...(base || {}) };
  for (const [key, value] of Object.entries(patch)) {
    const isObject = value !== null && typeof value === "object";
    const wasObject = out[key] !== null && typeof out[key] === "object";
    out[key] = isObject && wasObject ? merge(out[key], value) : value;
  }
  return out;
}

export class LimitsEditor {
  constructor({ sessionId, onSaved }) {
    this.sessionId = sessionId;
    this.onSaved = onSaved;
    this.button = $("limits-adjust");
    this.dialog = $("limits-dialog");
    this.form = $("limits-form");
    this.body = $("limits-form-body");
    this.errors = $("limits-form-errors");
    this.save = $("limits-save");
    this.phase = null;
    this.original = null; // vital -> {"above.medium": "160", ...} as the inputs were filled
    this.overrides = {};
    this.button.addEventListener("click", () => this.open());
    $("limits-cancel").addEventListener("click", () => this.dialog.close());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.dialog.addEventListener("close", () => {
      if (!this.button.hidden) this.button.focus();
    });
  }

  /** Offer the button for `session` to `role` (hidden for ended sessions). */
  setAllowed(session, role) {
    const allowed = MONITORED.has(session.phase) && canAdjustLimits(role);
    this.button.hidden = !allowed;
    this.phase = session.phase;
    if (!allowed && this.dialog.open) this.dialog.close();
  }

  async open() {
    this.errors.replaceChildren();
    this.button.disabled = true;
    let body;
    try {
      body = await api(`/api/sessions/${this.sessionId}/limits`);
    } catch (err) {
      this.button.disabled = false;
      this.showGeneral(err.message);
      this.dialog.showModal();
      this.body.replaceChildren();
      this.save.disabled = true;
      return;
    }
    this.button.disabled = false;
    this.save.disabled = false;
    this.overrides = body.overrides || {};
    const phase = this.phase;
    const current = (body.effective && body.effective.phases && body.effective.phases[phase]) || { vitals: {} };
    $("limits-dialog-phase").textContent = `${PHASE_NAMES[phase] || phase} phase`;
    this.fill(current.vitals || {});
    this.dialog.showModal();
    const first = this.body.querySelector("input");
    if (first) first.focus();
  }

  fill(vitals) {
    this.original = {};
    const rows = [];
    for (const vital of VITALS) {
      const limit = vitals[vital.key] || {};
      const values = {};
      const tr = document.createElement("tr");
      tr.dataset.vital = vital.key;
      const th = document.createElement("th");
      th.scope = "row";
      th.id = `limits-edit-${vital.key}-name`;
      th.textContent = vital.label;
      tr.append(th);
      const errorId = `limits-edit-${vital.key}-error`;
      const inputs = [];
      for (const [side, priority, label] of BOUNDS) {
        const value = blank((limit[side] || {})[priority]);
        values[`${side}.${priority}`] = value;
        inputs.push(this.input(vital, `${side}.${priority}`, `${vital.label}: ${label} (${vital.unit})`, value, errorId));
      }
      values.delay_s = blank(limit.delay_s);
      inputs.push(this.input(vital, "delay_s", `${vital.label}: delay (seconds)`, values.delay_s, errorId));
      for (const input of inputs) {
        const td = document.createElement("td");
        td.append(input);
        tr.append(td);
      }
      this.original[vital.key] = values;
      const errorRow = document.createElement("tr");
      errorRow.className = "limits-error-row";
      errorRow.dataset.errorFor = vital.key;
      errorRow.hidden = true;
      const errorCell = document.createElement("td");
      errorCell.colSpan = 6;
      const error = document.createElement("p");
      error.className = "field-error";
      error.id = errorId;
      errorCell.append(error);
      errorRow.append(errorCell);
      rows.push(tr, errorRow);
    }
    this.body.replaceChildren(...rows);
  }

  input(vital, field, label, value, errorId) {
    const input = document.createElement("input");
    input.type = "number";
    input.inputMode = "decimal";
    input.step = "any";
    input.min = "0";
    input.autocomplete = "off";
    input.name = `${vital.key}.${field}`;
    input.id = `limits-edit-${vital.key}-${field.replace(".", "-")}`;
    input.value = value;
    input.setAttribute("aria-label", label);
    input.setAttribute("aria-describedby", errorId);
    return input;
  }

  showGeneral(message) {
    const p = document.createElement("p");
    p.textContent = message;
    this.errors.replaceChildren(p);
  }

  showRowError(vital, message) {
    const row = this.body.querySelector(`tr[data-error-for="${vital}"]`);
    if (!row) {
      this.showGeneral(message);
      return;
    }
    row.hidden = false;
    row.querySelector(".field-error").textContent = message;
    for (const input of this.body.querySelectorAll(`tr[data-vital="${vital}"] input`)) {
      input.setAttribute("aria-invalid", "true");
    }
  }

  clearErrors() {
    this.errors.replaceChildren();
    for (const row of this.body.querySelectorAll(".limits-error-row")) row.hidden = true;
    for (const input of this.body.querySelectorAll("input[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  /** The changed fields as {vital: patch}, or null (and the errors shown) if some are not numbers. */
  changes() {
    const patches = {};
    let bad = false;
    for (const vital of VITALS) {
      const before = this.original[vital.key];
      if (!before) continue;
      const patch = {};
      for (const input of this.body.querySelectorAll(`tr[data-vital="${vital.key}"] input`)) {
        const field = input.name.slice(vital.key.length + 1);
        if (input.validity.badInput) {
          this.showRowError(vital.key, "Enter a number, or leave it empty for no limit.");
          bad = true;
          continue;
        }
        const now = input.value.trim();
        if (now === before[field] || (now !== "" && before[field] !== "" && Number(now) === Number(before[field]))) continue;
        const value = now === "" ? null : Number(now);
        if (field === "delay_s") {
          if (value === null) {
            this.showRowError(vital.key, "Enter a delay in seconds (0 alarms on measurement).");
            bad = true;
            continue;
          }
          patch.delay_s = value;
        } else {
          const [side, priority] = field.split(".");
          patch[side] = { ...(patch[side] || {}), [priority]: value };
        }
      }
      if (Object.keys(patch).length) patches[vital.key] = patch;
    }
    return bad ? null : patches;
  }

  async submit() {
    this.clearErrors();
    const patches = this.changes();
    if (patches === null) {
      this.focusFirstError();
      return;
    }
    if (!Object.keys(patches).length) {
      this.dialog.close();
      return;
    }
    const phase = this.phase;
    const overrides = merge(this.overrides, { [phase]: merge((this.overrides || {})[phase], patches) });
    this.save.disabled = true;
    try {
      await api(`/api/sessions/${this.sessionId}/limits`, { method: "PUT", body: { overrides } });
    } catch (err) {
      this.save.disabled = false;
      const fields = err.fields || {};
      let shown = false;
      for (const [field, message] of Object.entries(fields)) {
        if (this.original[field]) {
          this.showRowError(field, message);
          shown = true;
        }
      }
      const rest = [...(err.general || []), ...Object.entries(fields).filter(([f]) => !this.original[f]).map(([, m]) => m)];
      if (rest.length || !shown) this.showGeneral(rest.join(" ") || err.message);
      this.focusFirstError();
      return;
    }
    this.save.disabled = false;
    this.dialog.close();
    if (this.onSaved) await this.onSaved();
  }

  focusFirstError() {
    const input = this.body.querySelector("input[aria-invalid]");
    if (input) input.focus();
    else this.errors.focus();
  }
}

/** "Limits changed by X at HH:MM" under the table, from the newest recorded change. */
export async function showLimitChanges(sessionId) {
  const note = $("limits-changed");
  let changes;
  try {
    changes = await api(`/api/sessions/${sessionId}/limits/changes`);
  } catch {
    return; // the note is a courtesy; the table itself shows the limits in force
  }
  const latest = Array.isArray(changes) && changes.length ? changes[0] : null;
  note.hidden = !latest;
  note.textContent = latest ? `Limits changed by ${latest.changed_by} at ${localTime(latest.changed_at, { seconds: false })}` : "";
}
