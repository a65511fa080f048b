// The session's NEWS2 as the server scores it (the server is the one scorer: never computed
// here): total and band in words, each parameter's value and points, and what is missing or too
// old when there is no total. Asked for again soon after new readings, and every minute so
// values that age out drop the total.

import { el } from "./dom.js";
import { BANDS, News2Refresher } from "./news2-refresh.js";
import { localTime } from "./time.js";

// What the low–medium band means, said beside it on the session page.
const BAND_NOTES = { "low-medium": "one parameter scored 3" };
const UNITS = { respiratory_rate: "/min", spo2: "%", systolic: "mmHg", heart_rate: "/min" };

function valueText(part, acvpu) {
  if (part.parameter === "on_oxygen") return part.value ? "Oxygen" : "Air";
  if (part.parameter === "consciousness") return `${part.value} (${acvpu[part.value] || part.value})`;
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
  return el("p", { className: "news2-scoring", text: text });
}

export class News2Panel {
  /** `acvpu`: the catalogue's words for each consciousness level. */
  constructor(container, sessionId, acvpu = {}) {
    this.el = container;
    this.sessionId = sessionId;
    this.acvpu = acvpu;
    this.shownKey = "";
    this.refresher = new News2Refresher((_, news2) => this.show(news2));
  }

  /** Draw `news2` (the API's object; null while unknown). */
  show(news2) {
    const key = JSON.stringify(news2);
    if (key === this.shownKey) return; // unchanged: leave the DOM (and a reader's place) alone
    this.shownKey = key;
    if (!news2) {
      this.el.dataset.band = "none";
      this.el.replaceChildren(el("p", { className: "hint", text: "Loading…" }));
      return;
    }
    const complete = news2.complete && news2.score !== null;
    this.el.dataset.band = complete ? news2.band : "none";
    const head = el("div", { className: "news2-head" });
    const total = el("p", { className: "news2-total" });
    if (complete) {
      total.append(el("span", { className: "news2-score", text: String(news2.score) }), el("span", { className: "news2-band", text: [BANDS[news2.band] || news2.band, BAND_NOTES[news2.band]].filter(Boolean).join(": ") }));
    } else {
      total.append(el("span", { className: "news2-score", text: "—" }), el("span", { className: "news2-band", text: "No score: incomplete set" }));
    }
    const asOf = el("p", { className: "news2-asof hint", text: `as of ${localTime(news2.as_of, { seconds: false })} · SpO₂ scale ${news2.spo2_scale}` });
    head.append(total, asOf);
    const nodes = [head];
    if (news2.missing.length) {
      const missing = el("p", { className: "news2-missing" });
      missing.append(el("strong", { text: "Missing: " }));
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
    const details = el("details", { className: "news2-details" });
    if (this.detailsOpen === undefined) this.detailsOpen = window.matchMedia("(min-width: 1101px)").matches;
    details.open = this.detailsOpen;
    details.addEventListener("toggle", () => {
      this.detailsOpen = details.open;
    });
    details.append(el("summary", { text: `Each parameter (${parts.length})` }), this.partsTable(parts));
    return details;
  }

  partsTable(parts) {
    const table = el("table", { className: "news2-parts" });
    table.append(el("caption", { className: "visually-hidden", text: "NEWS2 points for each parameter" }));
    const head = el("thead");
    const row = el("tr");
    for (const name of ["Parameter", "Value", "Taken", "Points"]) {
      const th = el("th", { text: name });
      th.scope = "col";
      row.append(th);
    }
    head.append(row);
    const body = el("tbody");
    for (const part of parts) {
      const tr = el("tr");
      tr.dataset.parameter = part.parameter;
      tr.dataset.points = String(part.points);
      const th = el("th", { text: label(part.label) });
      th.scope = "row";
      tr.append(th, el("td", { text: valueText(part, this.acvpu) }), el("td", { text: localTime(part.taken_at, { seconds: false }) }));
      tr.append(el("td", { className: "news2-points", text: String(part.points) }));
      body.append(tr);
    }
    table.append(head, body);
    return table;
  }

  /** `reading` arrived or changed: ask again soon (at once when it was entered by hand). */
  readingsChanged(reading) {
    this.refresher.poke(this.sessionId, reading);
  }

  /** Ask every minute, so a value that grew too old drops the total even without new readings. */
  start() {
    this.refresher.seen(this.sessionId);
    this.refresher.every(() => [this.sessionId]);
  }

  /** Ask now (an errored reading changed the picture). */
  refresh() {
    this.refresher.now(this.sessionId);
  }
}
