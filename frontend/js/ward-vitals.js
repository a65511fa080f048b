// A ward tile's vitals: the latest value of each, its age, a 30-minute trend, and whether it is
// stale (by the rule in vitals-display.js, the same as atop the session page).

import { describeTrend, drawSparkline } from "./sparkline.js";
import { TREND_MINUTES, TREND_MS } from "./ward-trend.js";
import { now, parseTime } from "./time.js";
import { markTaken, markValueAlarm, refreshAge, shownValue, vitalLabel } from "./vitals-display.js";


// Rows with a trend (always HR, BP, SpO2; RR once the chair has one), then a line of the
// observations a nurse records by hand.
const ROWS = [
  { key: "heart_rate", short: "HR", long: "Heart rate", unit: "/min", always: true, minSpan: 20, floor: 0 },
  { key: "bp", short: "BP", long: "Blood pressure", unit: "mmHg", always: true, minSpan: 40, floor: 0 },
  { key: "spo2", short: "SpO₂", long: "Oxygen saturation", unit: "%", always: true, minSpan: 8, ceiling: 100 },
  { key: "respiratory_rate", short: "RR", long: "Respiratory rate", unit: "/min", minSpan: 8, floor: 0 },
];
const EXTRAS = [
  { key: "temperature", short: "Temp", long: "Temperature", unit: "°C" },
  { key: "consciousness", short: "ACVPU", long: "Consciousness (ACVPU)", unit: "" },
];

function buildRow(spec, withTrend) {
  const row = document.createElement("div");
  row.className = "vital";
  row.dataset.vital = spec.key;
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", spec.long);
  const value = document.createElement("div");
  value.className = "v-value";
  const age = document.createElement("div");
  age.className = "v-age";
  const stale = document.createElement("span");
  stale.className = "badge stale";
  stale.textContent = "Stale";
  stale.hidden = true;
  const text = document.createElement("span");
  text.className = "age";
  age.append(stale, " ", text);
  row.append(vitalLabel(spec), value);
  if (withTrend) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("role", "img");
    svg.setAttribute("focusable", "false");
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    svg.append(title);
    row.append(svg);
  }
  row.append(age);
  return row;
}

/**
 * Draw the tile's vitals into `container` (rows are built once and kept, so a screen reader's
 * place and the DOM the tests hold survive the once-a-second updates); `alarms`, the session's
 * open alarms, mark the values that alarm.
 */
export function drawVitals(container, { latest, trend, phase, news2MaxMinutes, alarms }) {
  let rows = container.querySelector(".vital-rows");
  let extras = container.querySelector(".vital-extras");
  if (!rows) {
    rows = document.createElement("div");
    rows.className = "vital-rows";
    extras = document.createElement("div");
    extras.className = "vital-extras";
    container.replaceChildren(rows, extras);
  }
  const place = (parent, specs, withTrend) => {
    for (const spec of specs) {
      const shown = shownValue(spec.key, latest);
      const wanted = spec.always || shown || (withTrend && trend && trend.has(spec.key));
      let row = parent.querySelector(`.vital[data-vital='${spec.key}']`);
      if (!wanted) {
        if (row) row.remove();
        continue;
      }
      if (!row) {
        row = buildRow(spec, withTrend);
        parent.append(row); // in ROWS order: rows only ever appear, in order, or go
        const ordered = specs.map((s) => parent.querySelector(`.vital[data-vital='${s.key}']`)).filter(Boolean);
        if (ordered.some((el, i) => parent.children[i] !== el)) parent.replaceChildren(...ordered);
      }
      fillRow(row, spec, shown, { phase, news2MaxMinutes, alarms });
      if (withTrend) drawTrend(row, spec, trend);
    }
  };
  place(rows, ROWS, true);
  place(extras, EXTRAS, false);
  extras.hidden = !extras.children.length;
}

function fillRow(row, spec, shown, { phase, news2MaxMinutes, alarms }) {
  const value = row.querySelector(".v-value");
  const age = row.querySelector(".v-age");
  if (!shown) {
    value.textContent = "–";
    row.dataset.empty = "true";
    delete row.dataset.takenAt;
    row.dataset.stale = "false";
    age.title = "";
    age.querySelector(".age").textContent = "no reading";
    age.querySelector(".badge.stale").hidden = true;
    markValueAlarm(value, spec.key, []);
    return;
  }
  delete row.dataset.empty;
  value.textContent = shown.text;
  markValueAlarm(value, spec.key, alarms);
  markTaken(row, age, spec.key, shown, { phase, news2MaxMinutes });
  refreshAge(row);
}

function drawTrend(row, spec, trend) {
  const svg = row.querySelector("svg.spark");
  if (!svg || !trend) return;
  const series = spec.key === "bp" ? trend.bars() : trend.line(spec.key);
  const to = now();
  const window = { from: to - TREND_MS, to, minutes: TREND_MINUTES };
  drawSparkline(svg, series, { ...window, minSpan: spec.minSpan, floor: spec.floor, ceiling: spec.ceiling });
  const words = describeTrend(spec.short.replace("₂", "2"), series, window);
  svg.setAttribute("aria-label", words);
  svg.querySelector("title")?.remove();
  const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
  title.textContent = words;
  svg.prepend(title);
}

/** Age and staleness of one row (none while it has no reading), re-worded every second. */
function refreshRow(row) {
  return row.dataset.takenAt ? refreshAge(row) : false;
}

/**
 * Re-age every value on a tile and say on the tile when it has no current data at all.
 * Returns the tile's data state: "none" (never had a value), "stale" (all stale) or "ok".
 */
export function refreshVitals(container) {
  const rows = [...container.querySelectorAll(".vital")];
  let any = false;
  let fresh = false;
  let newest = null;
  for (const row of rows) {
    if (!row.dataset.takenAt) continue;
    any = true;
    if (!refreshRow(row)) fresh = true;
    const t = parseTime(row.dataset.takenAt).getTime();
    if (newest === null || t > newest) newest = t;
  }
  if (!any) return { state: "none" };
  return fresh ? { state: "ok" } : { state: "stale", newestAgeMs: Math.max(0, now() - newest) };
}
