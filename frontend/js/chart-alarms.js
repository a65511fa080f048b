// The session's alarms on the chart's time axis: one marker per alarm, at the moment it was
// raised, in a thin lane above the vitals. Priority shows three ways (IEC colour, marker shape,
// "!" count); an alarm still open is filled, a resolved one hollow. Alarms withdrawn because
// their reading was entered in error never stood, so they are not drawn.

import { MARKERS, PRIORITY_WORDS, RANK, statusWords } from "./alerts.js";
import { localTime, parseTime, plotlyTime } from "./time.js";

const STYLE = {
  high: { color: "#ff4d5e", symbol: "triangle-down", size: 15 },
  medium: { color: "#ffd400", symbol: "diamond", size: 13 },
  low: { color: "#22c7e0", symbol: "circle", size: 11 },
};
// A drill's alarm keeps its priority's shape and "!" count (it is rehearsed as one) but never a
// patient's IEC colour: the drills' violet, as on the ward and in the alarm strip.
const DRILL_COLOR = "#c58bff";
const colorOf = (alert) => (alert.simulated ? DRILL_COLOR : STYLE[alert.priority].color);

/** The alarms worth drawing: this session's, not withdrawn, oldest first. */
export function drawnAlarms(alerts) {
  return alerts
    .filter((a) => !a.withdrawn_reason && STYLE[a.priority])
    // As instants: "…T10:00:00Z" and "…T10:00:00.5+00:00" do not sort as strings.
    .sort((a, b) => parseTime(a.raised_at) - parseTime(b.raised_at) || a.id - b.id);
}

function hoverText(alert) {
  const words = statusWords(alert);
  const status = words.length ? words.join(", ") : alert.status.toUpperCase();
  const kind = alert.kind && alert.kind !== "physiological" ? ` ${alert.kind.toUpperCase()}` : "";
  const drill = alert.simulated ? "DRILL · SIMULATED " : "";
  return (
    `${MARKERS[alert.priority]} ${drill}${PRIORITY_WORDS[alert.priority]}${kind} ALARM: ${escape(alert.message)}` +
    `<br>${status} · raised ${localTime(alert.raised_at)}`
  );
}

// Plotly renders hover text as a small HTML subset: an alarm's message must stay plain text.
function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

/** A Plotly trace for `alerts` (already filtered) on the lane axis `yaxis`. */
export function alarmTrace(alerts, yaxis) {
  const open = (a) => a.status !== "resolved";
  return {
    type: "scatter",
    uid: "alarms",
    name: "Alarms",
    showlegend: false,
    xaxis: "x",
    yaxis,
    mode: "markers+text",
    x: alerts.map((a) => plotlyTime(a.raised_at)),
    // Higher priority sits higher in the lane, so a cluster still shows its worst alarm on top.
    y: alerts.map((a) => RANK[a.priority]),
    text: alerts.map((a) => MARKERS[a.priority]),
    textposition: "middle right",
    textfont: { size: 11, color: alerts.map(colorOf) },
    customdata: alerts.map((a) => [a.id, hoverText(a)]),
    marker: {
      color: alerts.map(colorOf),
      symbol: alerts.map((a) => STYLE[a.priority].symbol + (open(a) ? "" : "-open")),
      size: alerts.map((a) => STYLE[a.priority].size),
      line: { width: 1.5, color: alerts.map(colorOf) },
    },
    hovertemplate: "%{customdata[1]}<extra></extra>",
    cliponaxis: false,
  };
}
