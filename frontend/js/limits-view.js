// The session's effective alarm limits for its current phase, as a compact table (the chart draws
// the same limits as bands). A bound is the last acceptable value: "> 120" alarms at 121.

import { api } from "./api.js";
import { PHASE_NAMES } from "./labels.js";

const $ = (id) => document.getElementById(id);
export const MONITORED = new Set(["baseline", "infusing", "recovery"]);

export const VITALS = [
  { key: "heart_rate", label: "Heart rate", unit: "/min" },
  { key: "systolic", label: "Systolic BP", unit: "mmHg" },
  { key: "diastolic", label: "Diastolic BP", unit: "mmHg" },
  { key: "spo2", label: "SpO₂", unit: "%" },
  { key: "respiratory_rate", label: "Resp. rate", unit: "/min" },
];

const has = (v) => v !== null && v !== undefined;

/** Fetch a session's limits; the phases' limits as {phase: {vitals, ...}} (null if unavailable). */
export async function loadLimits(sessionId) {
  const body = await api(`/api/sessions/${sessionId}/limits`);
  const set = body && (body.effective || body);
  return set && set.phases ? { phases: set.phases, profile: body.profile_name || null } : null;
}

function seconds(s) {
  if (!has(s)) return "";
  if (s === 0) return "on measurement";
  return s >= 120 && s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

function cell(value, className, title) {
  const td = document.createElement("td");
  td.textContent = value;
  if (className) td.className = className;
  if (title) td.title = title;
  return td;
}

/** Draw the table for `phase` from `limits` (as loadLimits returns). */
export function renderLimits(limits, phase) {
  const body = $("limits-body");
  const other = $("limits-other");
  other.replaceChildren();
  if (!limits) {
    $("limits-phase").textContent = "";
    body.replaceChildren(row([cell("The limits could not be loaded.", "empty")], 6));
    return;
  }
  const current = MONITORED.has(phase) ? limits.phases[phase] : null;
  const profile = limits.profile ? ` · ${limits.profile}` : "";
  if (!current) {
    $("limits-phase").textContent = `(${PHASE_NAMES[phase] || phase}: no alarms)`;
    body.replaceChildren(row([cell("The session has ended: no limits apply.", "empty")], 6));
    return;
  }
  $("limits-phase").textContent = `(${PHASE_NAMES[phase] || phase} phase${profile})`;
  const rows = [];
  for (const vital of VITALS) {
    const limit = (current.vitals || {})[vital.key];
    if (!limit) continue;
    const tr = document.createElement("tr");
    tr.dataset.vital = vital.key;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = vital.label;
    tr.append(th);
    const above = limit.above || {};
    const below = limit.below || {};
    const show = (value, side, priority) =>
      has(value)
        ? cell(`${side === "above" ? ">" : "<"} ${value}`, priority, `${priority} priority ${side} ${value} ${vital.unit}`)
        : cell("–", "none", "no limit");
    tr.append(show(below.high, "below", "high"), show(below.medium, "below", "medium"));
    tr.append(show(above.medium, "above", "medium"), show(above.high, "above", "high"));
    let delay = seconds(limit.delay_s);
    if (has(limit.high_delay_s) && limit.high_delay_s !== limit.delay_s) delay += ` (!!! ${seconds(limit.high_delay_s)})`;
    tr.append(cell(delay));
    rows.push(tr);
  }
  body.replaceChildren(...(rows.length ? rows : [row([cell("No vital limits in this phase.", "empty")], 6)]));

  const notes = [];
  const rise = current.baseline_rise;
  if (rise && (has(rise.systolic) || has(rise.diastolic))) {
    const unit = rise.percent ? "%" : " mmHg";
    const parts = [];
    if (has(rise.systolic)) parts.push(`systolic +${rise.systolic}${unit}`);
    if (has(rise.diastolic)) parts.push(`diastolic +${rise.diastolic}${unit}`);
    notes.push(`Rise from the pre-dose baseline: ${parts.join(" or ")}.`);
  }
  if (has(current.no_data_after_s)) notes.push(`No data from a monitor for ${seconds(current.no_data_after_s)}: technical alarm.`);
  if (has(current.bp_due_every_s)) notes.push(`Blood pressure due every ${seconds(current.bp_due_every_s)} when entered by hand.`);
  for (const note of notes) {
    const li = document.createElement("li");
    li.textContent = note;
    other.append(li);
  }
}

function row(cells, span) {
  const tr = document.createElement("tr");
  cells[0].colSpan = span;
  tr.append(...cells);
  return tr;
}

/** The current phase's vital limits, for the chart (null when the phase has none). */
export function chartLimits(limits, phase) {
  if (!limits || !MONITORED.has(phase) || !limits.phases[phase]) return null;
  return limits.phases[phase].vitals || null;
}
