// NEWS2 on a ward tile, as the server scores it (news2-refresh.js asks for it), and when a
// shown score has grown too old to pass as the current one.

import { BANDS, EVERY_MS } from "./news2-refresh.js";
import { ageMs, localTime } from "./time.js";
// Refreshed every minute: a score older than two rounds means the refresh is failing, and the
// tile must not go on showing it as the current one.
export const NEWS2_STALE_MS = 2 * EVERY_MS;

// The tile's own short names, so the list fits one line of a wall tile; the full words are
// read out by screen readers and shown on hover.
const SHORT = {
  respiratory_rate: "RR",
  spo2: "SpO₂",
  on_oxygen: "air/O₂",
  systolic: "BP",
  heart_rate: "HR",
  consciousness: "ACVPU",
  temperature: "Temp",
};

/** "RR, Temp (older than 30 min)", or in full: "respiration rate, temperature (older than 30 min)". */
function missingText(missing, { short }) {
  return missing
    .map((m) => {
      const what = short ? SHORT[m.parameter] || m.label : m.label.charAt(0).toLowerCase() + m.label.slice(1);
      if (m.reason === "not recorded") return what;
      return short ? `${what} ${m.reason.replace(/^older than /, ">")} old` : `${what} (${m.reason})`;
    })
    .join(", ");
}

function partValue(value) {
  if (value === true) return "oxygen";
  if (value === false) return "air";
  return String(value);
}

/** Fill the tile's NEWS2 line: score and band in words (the colour repeats the band), or what is missing. */
export function drawNews2(el, news2) {
  const score = el.querySelector(".news2-score");
  const band = el.querySelector(".news2-band");
  const missing = el.querySelector(".news2-missing");
  el.dataset.asOf = (news2 && news2.as_of) || "";
  refreshNews2Age(el);
  if (!news2) {
    el.dataset.band = "none";
    score.textContent = "…";
    band.textContent = "";
    missing.textContent = "";
    el.title = "";
    return;
  }
  if (news2.complete && news2.score !== null) {
    el.dataset.band = news2.band;
    score.textContent = String(news2.score);
    band.textContent = BANDS[news2.band] || news2.band;
    missing.textContent = "";
    missing.hidden = true;
  } else {
    el.dataset.band = "none";
    score.textContent = "—";
    band.textContent = "";
    missing.hidden = false;
    const seen = document.createElement("span");
    seen.setAttribute("aria-hidden", "true");
    seen.textContent = `missing: ${missingText(news2.missing, { short: true })}`;
    const heard = document.createElement("span");
    heard.className = "visually-hidden";
    heard.textContent = `, missing: ${missingText(news2.missing, { short: false })}`;
    missing.replaceChildren(seen, heard);
  }
  const parts = news2.parts.map((p) => `${p.label} ${partValue(p.value)}: ${p.points} point${p.points === 1 ? "" : "s"}`);
  const gaps = news2.missing.map((m) => `${m.label}: ${m.reason}`);
  el.title = [...parts, ...gaps].join("\n");
}

/** Dim the score and say "Stale" with its time once it is older than NEWS2_STALE_MS (every second). */
export function refreshNews2Age(el) {
  const asOf = el.dataset.asOf;
  const stale = Boolean(asOf) && ageMs(asOf) > NEWS2_STALE_MS;
  if (el.dataset.stale !== String(stale)) el.dataset.stale = String(stale);
  const note = el.querySelector(".news2-stale");
  if (!note) return;
  note.hidden = !stale;
  const text = stale ? `scored ${localTime(asOf, { seconds: false })}` : "";
  const time = note.querySelector(".news2-as-of");
  if (time.textContent !== text) time.textContent = text;
}
