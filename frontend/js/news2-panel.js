// The session's NEWS2 as the server scores it (the server is the one scorer: never computed
// here): total and band in words, each parameter's value and points, and what is missing or too
// old when there is no total. Asked for again soon after new readings, and every minute so
// values that age out drop the total.

import { api } from "./api.js";
import { localTime } from "./time.js";

const BANDS = {
  low: "Low",
  "low-medium": "Low–medium: one parameter scored 3",
  medium: "Medium",
  high: "High",
};
const ACVPU = { A: "Alert", C: "New confusion", V: "Voice", P: "Pain", U: "Unresponsive" };
const UNITS = { respiratory_rate: "/min", spo2: "%", systolic: "mmHg", heart_rate: "/min" };
const AFTER_READING_MS = 5000;
const EVERY_MS = 60 * 1000;

function valueText(part) {
  if (part.parameter === "on_oxygen") return part.value ? "Oxygen" : "Air";
  if (part.parameter === "consciousness") return `${part.value} (${ACVPU[part.value] || part.value})`;
  if (part.parameter === "temperature") return `${Number(part.value).toFixed(1)} °C`;
  return `${part.value} ${UNITS[part.parameter] || ""}`.trim();
}

const label = (text) => text.replace(/^SpO2$/, "SpO₂");

/** "Scoring: Respiration rate 2, Pulse 1", the parameters that make up the total, at a glance. */
function scoringLine(parts) {
  const scoring = parts.filter((p) => p.points > 0).sort((a, b) => b.points - a.points);
  const text = scoring.length
    ? `Scoring: ${scoring.map((p) => `${label(p.label)} ${p.points}`).join(", ")}`
    : "No parameter scores a point.";
  return el("p", "news2-scoring", text);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class News2Panel {
  constructor(container, sessionId) {
    this.el = container;
    this.sessionId = sessionId;
    this.timer = null;
    this.lastAt = 0;
    this.seq = 0;
    this.shownKey = "";
  }

  /** Draw `news2` (the API's object; null while unknown). */
  show(news2) {
    const key = JSON.stringify(news2);
    if (key === this.shownKey) return; // unchanged: leave the DOM (and a reader's place) alone
    this.shownKey = key;
    if (!news2) {
      this.el.dataset.band = "none";
      this.el.replaceChildren(el("p", "hint", "Loading…"));
      return;
    }
    const complete = news2.complete && news2.score !== null;
    this.el.dataset.band = complete ? news2.band : "none";
    const head = el("div", "news2-head");
    const total = el("p", "news2-total");
    if (complete) {
      total.append(el("span", "news2-score", String(news2.score)), el("span", "news2-band", BANDS[news2.band] || news2.band));
    } else {
      total.append(el("span", "news2-score", "—"), el("span", "news2-band", "No score: incomplete set"));
    }
    const asOf = el("p", "news2-asof hint", `as of ${localTime(news2.as_of, { seconds: false })} · SpO₂ scale ${news2.spo2_scale}`);
    head.append(total, asOf);
    const nodes = [head];
    if (news2.missing.length) {
      const missing = el("p", "news2-missing");
      missing.append(el("strong", "", "Missing: "));
      missing.append(
        news2.missing.map((m) => `${label(m.label)} (${m.reason})`).join(", ") +
          ` — a score needs all seven, each from the last ${news2.max_age_minutes} min.`,
      );
      nodes.push(missing);
    }
    if (news2.parts.length) nodes.push(scoringLine(news2.parts), this.partsDetails(news2.parts));
    this.el.replaceChildren(...nodes);
  }

  /** The full table, folded on a tablet (the chart should stay near the top); a nurse's choice sticks. */
  partsDetails(parts) {
    const details = el("details", "news2-details");
    if (this.detailsOpen === undefined) this.detailsOpen = window.matchMedia("(min-width: 1101px)").matches;
    details.open = this.detailsOpen;
    details.addEventListener("toggle", () => {
      this.detailsOpen = details.open;
    });
    details.append(el("summary", "", `Each parameter (${parts.length})`), this.partsTable(parts));
    return details;
  }

  partsTable(parts) {
    const table = el("table", "news2-parts");
    table.append(el("caption", "visually-hidden", "NEWS2 points for each parameter"));
    const head = el("thead");
    const row = el("tr");
    for (const name of ["Parameter", "Value", "Taken", "Points"]) {
      const th = el("th", "", name);
      th.scope = "col";
      row.append(th);
    }
    head.append(row);
    const body = el("tbody");
    for (const part of parts) {
      const tr = el("tr");
      tr.dataset.parameter = part.parameter;
      tr.dataset.points = String(part.points);
      const th = el("th", "", label(part.label));
      th.scope = "row";
      tr.append(th, el("td", "", valueText(part)), el("td", "", localTime(part.taken_at, { seconds: false })));
      tr.append(el("td", "news2-points", String(part.points)));
      body.append(tr);
    }
    table.append(head, body);
    return table;
  }

  /** Readings arrived or changed: ask again soon, never more often than every few seconds. */
  readingsChanged() {
    if (this.timer) return;
    const wait = Math.max(300, this.lastAt + AFTER_READING_MS - Date.now());
    this.timer = setTimeout(() => this.refresh(), wait);
  }

  /** Ask every minute, so a value that grew too old drops the total even without new readings. */
  start() {
    this.lastAt = Date.now();
    setInterval(() => {
      if (Date.now() - this.lastAt >= EVERY_MS / 2) this.readingsChanged();
    }, EVERY_MS);
  }

  async refresh() {
    clearTimeout(this.timer);
    this.timer = null;
    this.lastAt = Date.now();
    const seq = ++this.seq;
    try {
      const news2 = await api(`/api/sessions/${this.sessionId}/news2`);
      if (seq === this.seq) this.show(news2);
    } catch {
      // Kept as it was, with its as-of time; the next reading or the minute's round asks again.
    }
  }
}
