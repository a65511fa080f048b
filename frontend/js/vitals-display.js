// The latest value of each vital with its age, as shown on a ward tile and atop a session page.
// "Stale" follows how often a value is due, not one number for all: a pulse oximeter sends every
// second, a cuff every 10–15 minutes, a nurse's temperature once a round.

import { PRIORITY_WORDS, RANK } from "./alerts.js";
import { ageMs, ageText, localTime, parseTime } from "./time.js";

const MINUTE = 60 * 1000;
const CONTINUOUS_MS = MINUTE;

const CARDS = [
  { key: "heart_rate", short: "HR", long: "Heart rate", unit: "/min", always: true },
  { key: "bp", short: "BP", long: "Blood pressure", unit: "mmHg", always: true },
  { key: "spo2", short: "SpO₂", long: "Oxygen saturation", unit: "%", always: true },
  { key: "respiratory_rate", short: "RR", long: "Respiratory rate", unit: "/min" },
  { key: "temperature", short: "Temp", long: "Temperature", unit: "°C" },
  { key: "consciousness", short: "ACVPU", long: "Consciousness", unit: "" },
  { key: "sedation", short: "MOAA/S", long: "Sedation (MOAA/S, 5 responds readily to name)", unit: "" },
  { key: "on_oxygen", short: "Air/O₂", long: "Breathing air or on oxygen", unit: "" },
];

// Observed only on a nurse's round: due as often as NEWS2 needs them.
const ROUND_ONLY = new Set(["temperature", "consciousness", "sedation", "on_oxygen"]);

/** The cuff's cycle by phase (clinical.md §2 and §4): 10 min while infusing, 15 min otherwise. */
function bpIntervalMs(phase) {
  return (phase === "infusing" ? 10 : 15) * MINUTE;
}

/**
 * How old a value may be before it is stale. A device or simulator value is continuous (a
 * minute without one means the feed stopped); a hand-entered one is due with the BP round.
 * A value that comes without its source is given the round's interval:
 * better a late mark on a dead feed (its no-data alarm is the server's) than every
 * hand-entered value flashing stale.
 */
export function staleAfterMs(key, source, phase, news2MaxMinutes) {
  if (key === "bp") return bpIntervalMs(phase);
  if (ROUND_ONLY.has(key)) return (news2MaxMinutes || 30) * MINUTE;
  return source === "device" || source === "simulator" ? CONTINUOUS_MS : bpIntervalMs(phase);
}

// Everything a reading can carry, as the latest values keep it.
const FIELDS = [
  "heart_rate", "systolic", "diastolic", "spo2", "respiratory_rate", "temperature",
  "consciousness", "sedation", "on_oxygen",
];

/**
 * Fold a reading into latest values, {name: {value, taken_at, source}}: newest wins, and a
 * reading entered in error never counts. The source tells the ward how soon a value is stale.
 */
export function foldLatest(latest, reading) {
  if (reading.entered_in_error_at) return latest;
  for (const name of FIELDS) {
    const value = reading[name];
    if (value === null || value === undefined) continue;
    const current = latest[name];
    if (!current || parseTime(current.taken_at) <= parseTime(reading.taken_at)) {
      latest[name] = { value, taken_at: reading.taken_at, source: reading.source };
    }
  }
  return latest;
}

/** A value as the ward and the session page print it. */
export function formatValue(name, value) {
  if (value === null || value === undefined) return "–";
  if (name === "temperature") return Number(value).toFixed(1);
  if (name === "consciousness") return String(value);
  if (name === "on_oxygen") return value ? "O₂" : "Air";
  return String(Math.round(Number(value)));
}

/** What a card or row shows: text, when taken and where from (for BP, its older half). */
export function shownValue(key, latest) {
  if (key === "bp") {
    const sys = latest.systolic;
    const dia = latest.diastolic;
    if (!sys && !dia) return null;
    // A BP is only as fresh as its staler half.
    const older = [sys, dia].filter(Boolean).sort((a, b) => parseTime(a.taken_at) - parseTime(b.taken_at))[0];
    return {
      text: `${formatValue("systolic", sys && sys.value)}/${formatValue("diastolic", dia && dia.value)}`,
      taken_at: older.taken_at,
      source: older.source,
    };
  }
  const entry = latest[key];
  return entry ? { text: formatValue(key, entry.value), taken_at: entry.taken_at, source: entry.source } : null;
}

// The reading fields a card shows (BP is two), for matching an alarm's "<vital>.<above|below>".
const CARD_VITALS = { bp: ["systolic", "diastolic"] };
const VITAL_WORDS = {
  heart_rate: "heart rate", systolic: "systolic", diastolic: "diastolic", spo2: "SpO₂",
  respiratory_rate: "respiratory rate", temperature: "temperature",
};

/**
 * The open alarms of the vitals a card shows, highest first: those whose condition is one of
 * its vitals going above or below a limit and that still stand (a latched alarm's value is
 * back in range, so the value shown is no longer the alarming one).
 */
export function cardAlarms(key, alarms) {
  const vitals = CARD_VITALS[key] || [key];
  const found = [];
  for (const alert of alarms || []) {
    if (alert.status === "resolved" || alert.present === false) continue;
    const [vital, side] = String(alert.condition || "").split(".");
    if (!vitals.includes(vital) || (side !== "above" && side !== "below")) continue;
    found.push({ alert, vital, side });
  }
  return found.sort((a, b) => RANK[b.alert.priority] - RANK[a.alert.priority]);
}

const limitText = (vital, value) => (vital === "temperature" ? Number(value).toFixed(1) : String(Math.round(Number(value))));

/**
 * Make an alarming value stand out (IEC: its priority's colour, a drill's own look) and say the
 * limit it crossed beside it, "196/121 ▲ >180", so it never looks like a normal value; clear it
 * when the alarm is gone. Words for screen readers and the tooltip say the same in full.
 */
export function markValueAlarm(valueEl, key, alarms) {
  valueEl.querySelector(".v-limit")?.remove();
  const found = cardAlarms(key, alarms);
  if (!found.length) {
    valueEl.classList.remove("value-alarm", "drill");
    delete valueEl.dataset.priority;
    valueEl.removeAttribute("title");
    return;
  }
  const top = found[0].alert;
  valueEl.classList.add("value-alarm");
  valueEl.classList.toggle("drill", Boolean(top.simulated));
  valueEl.dataset.priority = top.priority;
  // One part per vital in alarm (BP: systolic first), each with its side and limit.
  const parts = [];
  const words = [];
  for (const vital of CARD_VITALS[key] || [key]) {
    const hit = found.find((f) => f.vital === vital);
    if (!hit) continue;
    const { alert, side } = hit;
    const limit = alert.limit === null || alert.limit === undefined ? "" : limitText(vital, alert.limit);
    const sign = side === "above" ? ">" : "<";
    const label = key === "bp" && vital === "diastolic" && parts.length === 0 ? "dia " : "";
    parts.push(`${label}${limit ? sign + limit : ""}`);
    const sim = alert.simulated ? "simulated " : "";
    words.push(
      `${sim}${PRIORITY_WORDS[alert.priority] || alert.priority} alarm: ${VITAL_WORDS[vital] || vital} ` +
        `${side}${limit ? ` the limit ${limit}` : " its limit"}`,
    );
  }
  const arrow = found[0].side === "above" ? "▲" : "▼";
  const span = document.createElement("span");
  span.className = "v-limit";
  const shown = document.createElement("span");
  shown.setAttribute("aria-hidden", "true");
  shown.textContent = ` ${arrow} ${parts.join("/")}`.trimEnd();
  const spoken = document.createElement("span");
  spoken.className = "visually-hidden";
  spoken.textContent = ` (${words.join("; ")})`;
  span.append(shown, spoken);
  valueEl.append(span);
  valueEl.title = words.join("; ");
}

/** A vital's label: its short name (the full name on hover and for screen readers) and unit. */
export function vitalLabel(spec) {
  const label = document.createElement("div");
  label.className = "v-label";
  const abbr = document.createElement("abbr");
  abbr.title = spec.long;
  abbr.textContent = spec.short;
  label.append(abbr);
  if (spec.unit) {
    // The unit sits by the label so the number itself can be as large as the space allows.
    const unit = document.createElement("span");
    unit.className = "v-unit";
    unit.textContent = spec.unit;
    label.append(" ", unit);
  }
  return label;
}

/**
 * Draw the cards for `latest` into `container` (optional vitals only when present); `phase` and
 * `news2MaxMinutes` decide when each value is stale, and `alarms` (the session's open ones)
 * which values are shown as alarming.
 */
export function renderVitals(container, latest, { phase, news2MaxMinutes, alarms } = {}) {
  const nodes = [];
  for (const card of CARDS) {
    const shown = shownValue(card.key, latest);
    if (!shown && !card.always) continue;
    const el = document.createElement("div");
    el.className = "vital";
    el.dataset.vital = card.key;

    const label = vitalLabel(card);

    const value = document.createElement("div");
    value.className = "v-value";
    value.textContent = shown ? shown.text : "–";
    if (shown) markValueAlarm(value, card.key, alarms);

    const age = document.createElement("div");
    age.className = "v-age";
    if (shown) {
      markTaken(el, age, card.key, shown, { phase, news2MaxMinutes });
      const text = document.createElement("span");
      text.className = "age";
      const stale = document.createElement("span");
      stale.className = "badge stale";
      stale.textContent = "Stale";
      age.append(text, " ", stale);
    } else {
      el.dataset.empty = "true";
      age.textContent = "no reading";
    }
    el.append(label, value, age);
    nodes.push(el);
  }
  container.replaceChildren(...nodes);
  refreshAges(container);
}

/** Note on `el` when `shown` was taken and when it goes stale (see staleAfterMs), and say when
 * on `ageEl`'s tooltip; refreshAge then words its age. */
export function markTaken(el, ageEl, key, shown, { phase, news2MaxMinutes }) {
  el.dataset.takenAt = shown.taken_at;
  el.dataset.staleAfter = String(staleAfterMs(key, shown.source, phase, news2MaxMinutes));
  ageEl.title = `Taken at ${localTime(shown.taken_at)}`;
}

/** Re-word the age of the value `el` shows and mark it stale when overdue; whether it is. */
export function refreshAge(el) {
  const age = ageMs(el.dataset.takenAt);
  const stale = age > Number(el.dataset.staleAfter);
  const text = el.querySelector(".age");
  if (text) text.textContent = ageText(age);
  const badge = el.querySelector(".badge.stale");
  if (badge) badge.hidden = !stale;
  el.dataset.stale = String(stale);
  return stale;
}

/** Re-word every age under `root` and mark the values that are overdue as stale. */
export function refreshAges(root) {
  for (const el of root.querySelectorAll("[data-taken-at]")) refreshAge(el);
}
