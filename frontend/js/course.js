// A patient's course (/patients/{id}/course): every real session of one patient, oldest first,
// with the figures a prescriber compares across an induction series (peak BP rise over the
// pre-dose baseline, lowest SpO2, alarms, deepest sedation, minutes until ready to leave), as a
// table and as a chart across the series. The server works every figure out
// (GET /api/patients/{id}/course) and puts each view on the audit trail; this page only shows.

import { ApiError, api } from "./api.js";
import { showPageError, signedIn } from "./header.js";
import { DRUG_NAMES, PHASE_NAMES, ROUTE_NAMES } from "./labels.js";
import { PatientAlarms } from "./page-alarms.js";
import { parseTime } from "./time.js";

const $ = (id) => document.getElementById(id);
const patientId = Number(location.pathname.split("/").filter(Boolean)[1]);
const COLORS = { grid: "#26323e", text: "#e8eef4", muted: "#a9b7c5", panel: "#151e27", plot: "#0d1319" };
const READY_NOTES = {
  "not dosed": "not dosed",
  "still dosing": "still dosing",
  "stopped during dosing": "stopped during dosing",
  "not yet": "not yet",
  "not seen on the record": "not seen",
  "too many readings to judge": "not judged",
};

/** Dates as the clinic reads them: in its own time zone, whatever this device's is. */
export function clinicDateFormat(zone) {
  const options = { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: zone });
  } catch {
    return new Intl.DateTimeFormat(undefined, options); // an unknown zone name: this device's
  }
}

function shortDate(format, iso) {
  const parts = Object.fromEntries(format.formatToParts(parseTime(iso)).map((p) => [p.type, p.value]));
  return `${parts.day} ${parts.month}`;
}

const signed = (n) => (n > 0 ? `+${Math.round(n)}` : `${Math.round(n)}`);

export function riseText(row) {
  if (row.peak_systolic_rise === null && row.peak_diastolic_rise === null) return "—";
  const part = (n) => (n === null ? "—" : signed(n));
  return `${part(row.peak_systolic_rise)} / ${part(row.peak_diastolic_rise)}`;
}

export function doseText(row) {
  const drug = `${DRUG_NAMES[row.drug] || row.drug} ${ROUTE_NAMES[row.route] || row.route}`;
  if (row.dose_mg === null) return drug;
  const perKg = row.dose_mg_per_kg === null ? "" : ` (${row.dose_mg_per_kg.toFixed(2)} mg/kg)`;
  return `${drug} · ${row.dose_mg} mg${perKg}`;
}

export function sedationText(row) {
  const parts = [];
  if (row.deepest_sedation !== null) parts.push(`MOAA/S ${row.deepest_sedation}`);
  if (row.deepest_consciousness !== null) parts.push(`ACVPU ${row.deepest_consciousness}`);
  return parts.length ? parts.join(" · ") : "—";
}

export function readyText(row) {
  if (row.minutes_to_ready !== null) return `${Math.round(row.minutes_to_ready)} min`;
  return READY_NOTES[row.ready_note] || row.ready_note || "—";
}

function cell(label, text, className) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function drawTable(rows, format) {
  const trs = rows.map((row, index) => {
    const tr = document.createElement("tr");
    const number = document.createElement("th");
    number.scope = "row";
    number.textContent = `#${index + 1}`;
    const date = document.createElement("td");
    date.dataset.label = "Date";
    const link = document.createElement("a");
    link.href = `/sessions/${row.session_id}`;
    link.textContent = format.format(parseTime(row.started_at));
    link.title = `Open session #${row.session_id}`;
    date.append(link);
    if (row.phase !== "discharged") {
      const state = document.createElement("span");
      state.className = "course-state";
      state.textContent = row.phase === "stopped" ? "stopped early" : `in progress: ${(PHASE_NAMES[row.phase] || row.phase).toLowerCase()}`;
      date.append(state);
    }
    const rise = cell("Peak BP rise", riseText(row), "num");
    if (row.baseline_systolic !== null) {
      const base = document.createElement("span");
      base.className = "course-base";
      base.textContent = `from ${row.baseline_systolic}/${row.baseline_diastolic ?? "—"}`;
      rise.append(base);
    } else {
      rise.title = "No blood pressure before dosing: no baseline to rise from";
    }
    const alarms = row.alarms ? `${row.alarms}${row.high_alarms ? ` (${row.high_alarms} high)` : ""}` : "0";
    tr.append(
      number,
      date,
      cell("Drug and dose", doseText(row)),
      rise,
      cell("Lowest SpO₂", row.lowest_spo2 === null ? "—" : `${row.lowest_spo2} %`, "num"),
      cell("Alarms", alarms, row.high_alarms ? "num course-high" : "num"),
      cell("Deepest sedation", sedationText(row)),
      cell("Ready after", readyText(row), row.minutes_to_ready === null ? "course-note" : "num"),
    );
    return tr;
  });
  $("course-body").replaceChildren(...trs);
}

/** The chart's traces: BP rise, lowest SpO2 and minutes to readiness, one row each. */
export function chartData(rows, format) {
  const x = rows.map((_, i) => i + 1);
  const value = (key) => rows.map((r) => (r[key] === null ? null : Math.round(r[key] * 10) / 10));
  const line = { width: 2 };
  return [
    { name: "Systolic rise (mmHg)", x, y: value("peak_systolic_rise"), yaxis: "y", type: "scatter", mode: "lines+markers",
      line: { ...line, color: "#ff6b6b" }, marker: { symbol: "triangle-down", size: 11, color: "#ff6b6b" } },
    { name: "Diastolic rise (mmHg)", x, y: value("peak_diastolic_rise"), yaxis: "y", type: "scatter", mode: "lines+markers",
      line: { ...line, color: "#ffa94d", dash: "dot" }, marker: { symbol: "triangle-up", size: 11, color: "#ffa94d" } },
    { name: "Lowest SpO₂ (%)", x, y: value("lowest_spo2"), yaxis: "y2", type: "scatter", mode: "lines+markers",
      line: { ...line, color: "#4cc9f0" }, marker: { symbol: "diamond", size: 10, color: "#4cc9f0" } },
    { name: "Ready after (min)", x, y: value("minutes_to_ready"), yaxis: "y3", type: "bar",
      marker: { color: "rgba(124, 196, 255, 0.55)", line: { color: "#7cc4ff", width: 1 } },
      text: rows.map((r) => (r.minutes_to_ready === null ? "" : `${Math.round(r.minutes_to_ready)}`)), textposition: "outside",
      cliponaxis: false },
  ].map((trace) => ({ ...trace, hovertemplate: `%{y}<extra>${trace.name}</extra>`,
    customdata: rows.map((r) => shortDate(format, r.started_at)) }));
}

function drawChart(rows, format, narrow) {
  const el = $("course-chart");
  if (!window.Plotly) {
    el.textContent = "The chart could not be drawn (its script did not load); the table below has every figure.";
    return;
  }
  const axis = (title, domain, extra = {}) => ({
    domain, title: { text: title, font: { size: 12, color: COLORS.muted } }, gridcolor: COLORS.grid,
    zerolinecolor: COLORS.muted, fixedrange: true, tickfont: { size: 11, color: COLORS.muted }, ...extra,
  });
  const spo2 = rows.map((r) => r.lowest_spo2).filter((v) => v !== null);
  const low = spo2.length ? Math.min(...spo2) : 90;
  const layout = {
    paper_bgcolor: COLORS.panel,
    plot_bgcolor: COLORS.plot,
    font: { color: COLORS.text, family: "system-ui, sans-serif", size: 13 },
    margin: { l: narrow ? 48 : 64, r: 10, t: 8, b: narrow ? 64 : 48 },
    height: narrow ? 460 : 420,
    showlegend: true,
    legend: { orientation: "h", x: 0, y: -0.12, yanchor: "top", font: { size: 12 } },
    hovermode: "x unified",
    hoverlabel: { bgcolor: "#1c2733", font: { color: COLORS.text } },
    bargap: 0.45,
    xaxis: {
      anchor: "y3", fixedrange: true, gridcolor: COLORS.grid, range: [0.5, rows.length + 0.5],
      tickvals: rows.map((_, i) => i + 1),
      ticktext: rows.map((r, i) => `#${i + 1}<br>${shortDate(format, r.started_at)}`),
      tickfont: { size: 11, color: COLORS.muted },
    },
    yaxis: axis("BP rise, mmHg", [0.68, 1], { zeroline: true, rangemode: "tozero" }),
    yaxis2: axis("SpO₂ %", [0.36, 0.62], { range: [Math.max(50, Math.min(low, 94) - 2), 100.5] }),
    yaxis3: axis("Ready, min", [0, 0.3], { rangemode: "tozero" }),
  };
  if (narrow) layout.legend.y = -0.2;
  Plotly.newPlot(el, chartData(rows, format), layout, { responsive: true, displayModeBar: false });
}

function chartSummary(rows) {
  const sys = rows.map((r) => r.peak_systolic_rise).filter((v) => v !== null);
  const ready = rows.map((r) => r.minutes_to_ready).filter((v) => v !== null);
  const spo2 = rows.map((r) => r.lowest_spo2).filter((v) => v !== null);
  const parts = [`${rows.length} session${rows.length === 1 ? "" : "s"}, oldest on the left`];
  if (sys.length) parts.push(`systolic rise ${signed(Math.min(...sys))} to ${signed(Math.max(...sys))} mmHg`);
  if (spo2.length) parts.push(`lowest SpO₂ ${Math.min(...spo2)} %`);
  if (ready.length) parts.push(`ready after ${Math.round(Math.min(...ready))} to ${Math.round(Math.max(...ready))} min`);
  return `${parts.join("; ")}.`;
}

async function main() {
  const alarms = new PatientAlarms(); // a patient's alarm is seen and heard here too
  const me = await signedIn("course-loading");
  if (!me) return;
  alarms.watch();
  if (me.role === "trainer") {
    $("course-loading").hidden = true;
    $("course-back").hidden = true; // the register is not theirs either
    $("trainer-note").hidden = false;
    return;
  }
  if (!Number.isInteger(patientId) || patientId < 1) {
    showPageError("There is no such patient.", "course-loading");
    return;
  }
  let course;
  try {
    course = await api(`/api/patients/${patientId}/course`);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status === 401) return;
    const why = err.status === 404 ? "There is no such patient, or it is a drill's simulated patient." : err.message;
    showPageError(`The course could not be loaded. ${why}`, "course-loading");
    return;
  }
  const { patient, sessions: rows } = course;
  document.title = `Course: ${patient.display_name} · Vigil`;
  $("course-title").textContent = `Course: ${patient.display_name}`;
  const count = course.total > rows.length ? `the latest ${rows.length} of ${course.total} sessions` : `${rows.length} session${rows.length === 1 ? "" : "s"}`;
  $("course-sub").textContent = `${patient.clinic_id} · ${count}`;
  $("course-zone").textContent = course.clinic_timezone;
  if (course.total > rows.length) {
    $("course-capped").hidden = false;
    $("course-capped").textContent = `Showing the latest ${rows.length} of ${course.total} sessions.`;
  }
  $("course-loading").hidden = true;
  $("course-ui").hidden = false;
  const format = clinicDateFormat(course.clinic_timezone);
  $("course-empty").hidden = rows.length > 0;
  $("course-chart-panel").hidden = rows.length === 0;
  $("course-table-panel").hidden = rows.length === 0;
  if (!rows.length) return;
  drawTable(rows, format);
  $("course-chart-summary").textContent = chartSummary(rows);
  drawChart(rows, format, window.matchMedia("(max-width: 640px)").matches);
}

main();
