// The latest value of each vital with its age, as shown on a ward tile and atop a session page.

import { STALE_AFTER_MS, ageMs, ageText, localTime, parseTime } from "./time.js";

const CARDS = [
  { key: "heart_rate", short: "HR", long: "Heart rate", unit: "/min", always: true },
  { key: "bp", short: "BP", long: "Blood pressure", unit: "mmHg", always: true },
  { key: "spo2", short: "SpO₂", long: "Oxygen saturation", unit: "%", always: true },
  { key: "respiratory_rate", short: "RR", long: "Respiratory rate", unit: "/min" },
  { key: "temperature", short: "Temp", long: "Temperature", unit: "°C" },
  { key: "consciousness", short: "ACVPU", long: "Consciousness", unit: "" },
];

/** Latest value per vital, {name: {value, taken_at}}, folded from readings (newest wins). */
export function foldLatest(latest, reading) {
  for (const name of ["heart_rate", "systolic", "diastolic", "spo2", "respiratory_rate", "temperature", "consciousness"]) {
    const value = reading[name];
    if (value === null || value === undefined) continue;
    const current = latest[name];
    if (!current || parseTime(current.taken_at) <= parseTime(reading.taken_at)) {
      latest[name] = { value, taken_at: reading.taken_at };
    }
  }
  return latest;
}

function format(name, value) {
  if (value === null || value === undefined) return "–";
  if (name === "temperature") return Number(value).toFixed(1);
  if (name === "consciousness") return String(value);
  return String(Math.round(Number(value)));
}

function cardValue(card, latest) {
  if (card.key === "bp") {
    const sys = latest.systolic;
    const dia = latest.diastolic;
    if (!sys && !dia) return null;
    const times = [sys, dia].filter(Boolean).map((v) => parseTime(v.taken_at));
    // The older of the two: a BP is only as fresh as its staler half.
    const taken = new Date(Math.min(...times.map((t) => t.getTime())));
    return {
      text: `${format("systolic", sys && sys.value)}/${format("diastolic", dia && dia.value)}`,
      taken_at: taken.toISOString(),
    };
  }
  const entry = latest[card.key];
  if (!entry) return null;
  return { text: format(card.key, entry.value), taken_at: entry.taken_at };
}

/** Draw the cards for `latest` into `container` (optional vitals only when present). */
export function renderVitals(container, latest) {
  const nodes = [];
  for (const card of CARDS) {
    const shown = cardValue(card, latest);
    if (!shown && !card.always) continue;
    const el = document.createElement("div");
    el.className = "vital";
    el.dataset.vital = card.key;

    const label = document.createElement("div");
    label.className = "v-label";
    const abbr = document.createElement("abbr");
    abbr.title = card.long;
    abbr.textContent = card.short;
    label.append(abbr);
    if (card.unit) {
      // The unit sits by the label so the number itself can be as large as the card allows.
      const unit = document.createElement("span");
      unit.className = "v-unit";
      unit.textContent = card.unit;
      label.append(" ", unit);
    }

    const value = document.createElement("div");
    value.className = "v-value";
    value.textContent = shown ? shown.text : "–";

    const age = document.createElement("div");
    age.className = "v-age";
    if (shown) {
      el.dataset.takenAt = shown.taken_at;
      age.title = `Taken at ${localTime(shown.taken_at)}`;
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

/** Re-word every age under `root` and mark values older than five minutes as stale. */
export function refreshAges(root) {
  for (const el of root.querySelectorAll("[data-taken-at]")) {
    const age = ageMs(el.dataset.takenAt);
    const stale = age > STALE_AFTER_MS;
    const text = el.querySelector(".age");
    if (text) text.textContent = ageText(age);
    const badge = el.querySelector(".badge.stale");
    if (badge) badge.hidden = !stale;
    el.dataset.stale = String(stale);
  }
}
