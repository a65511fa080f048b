// Limit documents in words: what a field path means ("Infusing · Heart rate · medium above"),
// how its value reads ("10 min", "none"), and what changed between two versions of a profile.

import { VITALS } from "./limits-view.js";

export const PHASES = [
  { key: "baseline", label: "Baseline" },
  { key: "infusing", label: "Infusing" },
  { key: "recovery", label: "Recovery" },
];

const PRIORITIES = { 1: "low", 2: "medium", 3: "high" };

const PHASE_LABELS = Object.fromEntries(PHASES.map((p) => [p.key, p.label]));
const VITAL_LABELS = Object.fromEntries(VITALS.map((v) => [v.key, v.label]));

// Paths below a vital, and below a phase or the document, with the words for them.
const VITAL_FIELDS = {
  "above.medium": "medium above",
  "above.high": "high above",
  "below.medium": "medium below",
  "below.high": "high below",
  above: "above",
  below: "below",
  delay_s: "delay",
  high_delay_s: "high-priority delay",
  hysteresis: "hysteresis",
};
const PHASE_FIELDS = {
  baseline_rise: "Rise from baseline",
  "baseline_rise.systolic": "Rise from baseline · systolic",
  "baseline_rise.diastolic": "Rise from baseline · diastolic",
  "baseline_rise.percent": "Rise from baseline · measured in",
  "baseline_rise.priority": "Rise from baseline · priority",
  no_data_after_s: "No data after",
  bp_due_every_s: "BP due every",
};
const TOP_FIELDS = {
  gate: "Pre-dose gate",
  "gate.systolic": "Pre-dose gate · systolic",
  "gate.diastolic": "Pre-dose gate · diastolic",
  "gate.age_bands": "Pre-dose gate · by age",
  name: "Name",
  timing: "Timing",
  discharge: "Observation before discharge",
  "timing.reminder_s": "Timing · reminder after",
  "timing.escalate_after_s": "Timing · escalate after",
  "timing.latch_from": "Timing · alarms latch from",
  "discharge.min_observation_min": "Observation before discharge · ketamine",
  "discharge.esketamine_min_observation_min": "Observation before discharge · esketamine",
  "discharge.require_alertness": "Alert and MOAA/S 5 before discharge",
};

/** Words for a path inside a limits document, e.g. ["phases", "infusing", "vitals", "spo2", "below", "high"]. */
export function describePath(parts) {
  const path = parts.map(String);
  if (path[0] === "phases" && path.length >= 2) {
    const phase = PHASE_LABELS[path[1]] || path[1];
    if (path[2] === "vitals" && path.length >= 4) {
      const vital = VITAL_LABELS[path[3]] || path[3];
      const rest = path.slice(4).join(".");
      return rest ? `${phase} · ${vital} · ${VITAL_FIELDS[rest] || rest}` : `${phase} · ${vital}`;
    }
    const rest = path.slice(2).join(".");
    return rest ? `${phase} · ${PHASE_FIELDS[rest] || rest}` : phase;
  }
  const joined = path.join(".");
  return TOP_FIELDS[joined] || joined;
}

const has = (v) => v !== null && v !== undefined;

/** A number without float noise: 0.1 + 0.2 reads "0.3". */
export function plain(n) {
  return String(Number(Number(n).toFixed(4)));
}

/** Seconds as people say them: "on measurement" (0), "45 s", "10 min". */
export function secondsText(s, { zero = "0 s" } = {}) {
  if (!has(s)) return "none";
  if (s === 0) return zero;
  return s >= 120 && s % 60 === 0 ? `${plain(s / 60)} min` : `${plain(s)} s`;
}

/** The value at `parts` as it reads in the change history. */
export function formatValue(parts, value) {
  const last = String(parts[parts.length - 1]);
  if (last === "age_bands") return bandsText(value);
  if (!has(value)) return last === "high_delay_s" ? "same as delay" : "none";
  if (last === "percent") return value ? "% of baseline" : "mmHg";
  if (last === "priority" || last === "latch_from") return PRIORITIES[value] || String(value);
  if (last === "delay_s") return secondsText(value, { zero: "0 s (on measurement)" });
  if (last.endsWith("_s")) return secondsText(value);
  return typeof value === "number" ? plain(value) : String(value);
}

/** The pre-dose gate's age bands in words: "from 65: 150/90; from 80: 160/95", or "none". */
function bandsText(bands) {
  if (!Array.isArray(bands) || !bands.length) return "none";
  return bands.map((b) => `from ${b.from_age}: ${plain(b.systolic)}/${plain(b.diastolic)}`).join("; ");
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
// Lists (the gate's age bands) are one value: compared and shown whole.
const same = (a, b) => a === b || (Array.isArray(a) && Array.isArray(b) && JSON.stringify(a) === JSON.stringify(b));

function leaves(doc, prefix = [], out = new Map()) {
  if (isObject(doc)) {
    for (const [key, value] of Object.entries(doc)) leaves(value, [...prefix, key], out);
  } else {
    out.set(prefix.join("\u0000"), { parts: prefix, value: doc });
  }
  return out;
}

/**
 * What changed from `before` to `after` (two limits documents), as
 * [{path, label, from, to}] in document order. A rule switched on or off (a null rise from
 * baseline becoming one) reads as its amounts going from "none" to a value.
 */
export function diffLimits(before, after) {
  const old = leaves(before || {});
  const now = leaves(after || {});
  const keys = [...now.keys(), ...[...old.keys()].filter((k) => !now.has(k))];
  const lines = [];
  for (const key of keys) {
    const parts = (now.get(key) || old.get(key)).parts;
    const from = old.has(key) ? old.get(key).value : undefined;
    const to = now.has(key) ? now.get(key).value : undefined;
    if (same(from, to) || (!has(from) && !has(to))) continue;
    const last = String(parts[parts.length - 1]);
    // A profile saved before age bands existed has none: no change.
    if (last === "age_bands" && bandsText(from) === bandsText(to)) continue;
    // The whole rule null on one side: its children say what changed.
    if (last === "baseline_rise" && (!has(from) || !has(to))) continue;
    // How a rule that does not exist on one side would be measured is no change worth reading.
    if ((last === "percent" || last === "priority") && (from === undefined || to === undefined)) continue;
    lines.push({ path: parts, label: describePath(parts), from: formatValue(parts, from), to: formatValue(parts, to) });
  }
  return lines;
}
