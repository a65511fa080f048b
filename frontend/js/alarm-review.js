// The alarm review page (admins, issue 16 item 4): a period's alarms per chair-hour, time to
// acknowledge, escalations, the share resolved before anyone answered, the top conditions and the
// limit changes, from GET /api/alarm-review, with a CSV of the same. Periods are whole local days
// sent as UTC; the figures are the server's, this page only draws them.

import { api } from "./api.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { showPageError, signedIn } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";
import { localDateTime } from "./time.js";

const $ = (id) => document.getElementById(id);
const form = $("review-filters");
const PRESETS = new Set(["7", "30", "custom"]);
let request = 0;

const pad = (n) => String(n).padStart(2, "0");
const localDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** The local midnight starting `yyyy-mm-dd` (plus `days`), as UTC ISO 8601 for the API. */
function dayStart(value, days = 0) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

/** "45 s", "2 min 05 s", "1 h 02 min"; a dash for none. */
export function secondsText(s) {
  if (s === null || s === undefined) return "—";
  const whole = Math.round(s);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${pad(whole % 60)} s`;
  return `${Math.floor(whole / 3600)} h ${pad(Math.floor((whole % 3600) / 60))} min`;
}

export const percent = (share) => (share === null || share === undefined ? "—" : `${Math.round(share * 100)} %`);
const rate = (r) => (r === null || r === undefined ? "—" : r.toFixed(2));
const hoursText = (h) => (h === 0 ? "0" : h < 0.01 ? "under 0.01" : h < 1 ? h.toFixed(2) : h < 10 ? h.toFixed(1) : Math.round(h).toString());

/** The selected period as [first day, last day] (local yyyy-mm-dd), or null when not valid. */
function days() {
  const preset = $("f-preset").value;
  if (preset !== "custom") {
    const today = new Date();
    const first = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (Number(preset) - 1));
    return [localDay(first), localDay(today)];
  }
  const from = $("f-from").value;
  const to = $("f-to").value;
  let ok = true;
  if (!from) {
    showFieldError($("f-from"), "Choose the first day.");
    ok = false;
  }
  if (!to) {
    showFieldError($("f-to"), "Choose the last day.");
    ok = false;
  }
  if (ok && to < from) {
    showFieldError($("f-to"), "The last day cannot be before the first.");
    ok = false;
  }
  return ok ? [from, to] : null;
}

/** The filters as the API's query, or null (with the fields marked). */
function filters() {
  clearErrors(form);
  const span = days();
  if (!span) return null;
  const params = new URLSearchParams();
  params.set("start", dayStart(span[0]));
  params.set("end", dayStart(span[1], 1)); // the whole of the last day
  for (const name of ["site", "chair", "profile"]) {
    const value = $(`f-${name}`).value;
    if (value) params.set(name, value);
  }
  params.set("sessions", $("f-sessions").value);
  return { params, span };
}

function formFromAddress() {
  const q = new URLSearchParams(location.search);
  const preset = q.get("period") || "7";
  $("f-preset").value = PRESETS.has(preset) ? preset : "7";
  $("f-from").value = q.get("from") || "";
  $("f-to").value = q.get("to") || "";
  for (const name of ["site", "chair", "profile"]) $(`f-${name}`).value = q.get(name) || "";
  $("f-sessions").value = q.get("sessions") === "simulated" ? "simulated" : "real";
  showCustom();
}

function addressOf() {
  const q = new URLSearchParams();
  q.set("period", $("f-preset").value);
  if ($("f-preset").value === "custom") {
    q.set("from", $("f-from").value);
    q.set("to", $("f-to").value);
  }
  for (const name of ["site", "chair", "profile"]) if ($(`f-${name}`).value) q.set(name, $(`f-${name}`).value);
  if ($("f-sessions").value === "simulated") q.set("sessions", "simulated");
  return `/alarm-review?${q}`;
}

function showCustom() {
  const custom = $("f-preset").value === "custom";
  for (const el of form.querySelectorAll("[data-custom]")) el.hidden = !custom;
}

// ---- filter choices ----------------------------------------------------------------------------

function option(value, text, data = {}) {
  const o = document.createElement("option");
  o.value = String(value);
  o.textContent = text;
  Object.assign(o.dataset, data);
  return o;
}

function fillChoices(sites, profiles) {
  for (const site of sites) {
    $("f-site").append(option(site.id, site.active ? site.name : `${site.name} (retired)`));
    for (const room of site.rooms) {
      const group = document.createElement("optgroup");
      group.label = `${site.name} / ${room.name}`;
      group.dataset.site = String(site.id);
      for (const chair of room.chairs) group.append(option(chair.id, chair.active ? chair.name : `${chair.name} (retired)`));
      if (room.chairs.length) $("f-chair").append(group);
    }
  }
  for (const profile of profiles) $("f-profile").append(option(profile.id, profile.is_default ? `${profile.name} (default)` : profile.name));
}

/** Only the chosen site's chairs are offered; a chair of another site is let go. */
function limitChairs() {
  const site = $("f-site").value;
  for (const group of $("f-chair").querySelectorAll("optgroup")) {
    const other = site !== "" && group.dataset.site !== site;
    group.hidden = other;
    group.disabled = other;
  }
  const chosen = $("f-chair").selectedOptions[0];
  if (chosen && chosen.parentElement.disabled) $("f-chair").value = "";
}

// ---- drawing -----------------------------------------------------------------------------------

function figure(term, value, note) {
  const wrap = document.createElement("div");
  wrap.className = "figure";
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  const strong = document.createElement("strong");
  strong.textContent = value;
  dd.append(strong);
  if (note) {
    const small = document.createElement("span");
    small.className = "figure-note";
    small.textContent = note;
    dd.append(small);
  }
  wrap.append(dt, dd);
  return wrap;
}

function drawFigures(r) {
  const answered = r.actionable.answered;
  $("figures").replaceChildren(
    figure(
      "Alarms per chair-hour",
      rate(r.per_chair_hour),
      `${r.alarms} alarm${r.alarms === 1 ? "" : "s"} in ${hoursText(r.chair_hours)} chair-hours` +
        // A rate over minutes swings wildly: say so rather than let it pass for a trend.
        (r.chair_hours > 0 && r.chair_hours < 1 ? " (under one chair-hour: a rough rate)" : ""),
    ),
    figure("Sessions", String(r.sessions)),
    figure("Time to acknowledge, median", secondsText(r.ack.median_s), `${r.ack.count} acknowledged`),
    figure("Time to acknowledge, 90th percentile", secondsText(r.ack.p90_s)),
    figure("Escalations", String(r.escalations), `${r.escalated_alarms} alarm${r.escalated_alarms === 1 ? "" : "s"} escalated`),
    figure("Resolved before anyone acknowledged", percent(r.resolved_before_ack_share), `${r.resolved_before_ack} of ${r.resolved} that closed`),
    figure("Called actionable", percent(r.actionable.share), answered ? `${r.actionable.yes} yes, ${r.actionable.no} no (of ${answered} answered)` : "nobody answered"),
    figure("Limit changes", String(r.limit_changes.total), `${r.limit_changes.profile_changes} to profiles, ${r.limit_changes.session_changes} to sessions`),
  );
  if (r.withdrawn) $("figures").append(figure("Withdrawn (entered in error)", String(r.withdrawn)));
}

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text ?? "";
  return td;
}

function tableRows(tbody, lines, cells) {
  tbody.replaceChildren(
    ...lines.map((line) => {
      const tr = document.createElement("tr");
      tr.append(...cells(line));
      return tr;
    }),
  );
}

function drawTables(r) {
  tableRows($("chairs-rows"), r.by_chair, (c) => [
    cell(c.chair),
    cell(c.site ? `${c.site} / ${c.room}` : ""),
    cell(hoursText(c.chair_hours), "num"),
    cell(String(c.alarms), "num"),
    cell(rate(c.per_chair_hour), "num"),
    cell(String(c.escalations), "num"),
    cell(percent(c.resolved_before_ack_share), "num"),
    cell(percent(c.actionable_share), "num"),
  ]);
  tableRows($("conditions-rows"), r.top_conditions, (c) => [
    cell(c.label),
    cell(c.kind),
    cell(String(c.alarms), "num"),
    cell(percent(c.share), "num"),
    cell(String(c.escalations), "num"),
    cell(percent(c.resolved_before_ack_share), "num"),
    cell(percent(c.actionable_share), "num"),
  ]);
  $("conditions-other").hidden = !r.other_conditions;
  $("conditions-other").textContent = `And ${r.other_conditions} alarms of other conditions.`;
  tableRows($("profiles-rows"), r.by_profile, (p) => [
    cell(p.profile),
    cell(hoursText(p.chair_hours), "num"),
    cell(String(p.alarms), "num"),
    cell(rate(p.per_chair_hour), "num"),
    cell(String(p.escalations), "num"),
    cell(percent(p.resolved_before_ack_share), "num"),
  ]);
  const lc = r.limit_changes;
  $("changes-summary").textContent = lc.total
    ? `${lc.total} change${lc.total === 1 ? "" : "s"}: ${lc.profile_changes} to limit profiles (wherever they are used), ` +
      `${lc.session_changes} to sessions' own limits (${lc.sessions_with_changes} session${lc.sessions_with_changes === 1 ? "" : "s"})` +
      (lc.listed.length < lc.total ? `; the newest ${lc.listed.length} listed.` : ".")
    : "No limits were changed in this period.";
  $("changes-table").hidden = lc.listed.length === 0;
  tableRows($("changes-rows"), lc.listed, (c) => {
    const when = cell("", "time");
    const time = document.createElement("time");
    time.dateTime = c.changed_at;
    time.textContent = localDateTime(c.changed_at);
    when.append(time);
    const where = cell("");
    if (c.scope === "session") {
      const link = document.createElement("a");
      link.href = `/sessions/${c.session_id}`;
      link.textContent = `session #${c.session_id}`;
      where.append(link, c.chair ? ` (${c.chair})` : "");
    } else {
      where.textContent = `profile ${c.profile ?? `#${c.profile_id}`}`;
    }
    const what = cell("", "edits");
    const list = document.createElement("ul");
    for (const e of c.edits) {
      const li = document.createElement("li");
      li.textContent = e.path === "created" ? "profile created" : `${e.path.replace(/^phases\./, "").replace(".vitals.", ".").replaceAll(".", " ").replaceAll("_", " ")}: ${e.old ?? "—"} → ${e.new ?? "—"}`;
      list.append(li);
    }
    what.append(list);
    return [when, cell(c.changed_by), where, what];
  });
}

const CHART_LAYOUT = {
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { color: "#e8eef4", size: 12 },
  margin: { l: 150, r: 16, t: 8, b: 36 },
  xaxis: { gridcolor: "#2d3b49", zerolinecolor: "#2d3b49", rangemode: "tozero" },
  yaxis: { automargin: true, autorange: "reversed" },
  height: 260,
};
const CHART_CONFIG = { responsive: true, displaylogo: false, displayModeBar: false, staticPlot: false };

function bars(id, labels, values, { color, title, text }) {
  const el = $(id);
  const empty = $(`${id}-empty`);
  const none = labels.length === 0;
  el.hidden = none;
  empty.hidden = !none;
  if (none || !window.Plotly) return;
  const data = [{ type: "bar", orientation: "h", x: values, y: labels, marker: { color }, text, textposition: "auto", hovertemplate: "%{y}: %{x}<extra></extra>" }];
  const layout = { ...CHART_LAYOUT, xaxis: { ...CHART_LAYOUT.xaxis, title: { text: title } }, height: Math.max(160, 40 + 28 * labels.length) };
  window.Plotly.react(el, data, layout, CHART_CONFIG);
}

function drawCharts(r) {
  const chairs = r.by_chair.filter((c) => c.per_chair_hour !== null);
  bars("chart-chairs", chairs.map((c) => c.chair), chairs.map((c) => c.per_chair_hour), {
    color: "#7cc4ff",
    title: "alarms per chair-hour",
    text: chairs.map((c) => rate(c.per_chair_hour)),
  });
  bars("chart-conditions", r.top_conditions.map((c) => c.label), r.top_conditions.map((c) => c.alarms), {
    color: "#ffbf5f",
    title: "alarms",
    text: r.top_conditions.map((c) => String(c.alarms)),
  });
  const acked = r.ack.count > 0;
  const bins = acked ? r.ack.bins : [];
  bars("chart-ack", bins.map((b) => b[0]), bins.map((b) => b[1]), {
    color: "#5fd39a",
    title: "alarms acknowledged",
    text: bins.map((b) => String(b[1])),
  });
}

function draw(r, span) {
  $("review-period").textContent = `${span[0]} to ${span[1]}${r.sessions_shown === "simulated" ? " · SIMULATED sessions" : ""}`;
  $("sim-apart").hidden = r.sessions_shown !== "simulated";
  drawFigures(r);
  drawTables(r);
  drawCharts(r);
}

async function apply() {
  const chosen = filters();
  if (!chosen) return;
  const { params, span } = chosen;
  history.replaceState(null, "", addressOf());
  $("review-csv").href = `/api/alarm-review.csv?${params}`;
  const mine = ++request;
  $("f-apply").disabled = true;
  try {
    const r = await api(`/api/alarm-review?${params}`);
    if (mine === request) draw(r, span);
  } catch (err) {
    if (mine !== request) return;
    const inputs = { start: "f-from", end: "f-to", site: "f-site", chair: "f-chair", profile: "f-profile" };
    const named = Object.entries(err.fields || {});
    for (const [field, message] of named) if (inputs[field]) showFieldError($(inputs[field]), message);
    showFormErrors(form, [`The alarm review could not be loaded. ${err.message}`]);
  } finally {
    if (mine === request) $("f-apply").disabled = false;
  }
}

async function start() {
  const alarms = new PatientAlarms(); // a patient's alarm is seen and heard here too
  const me = await signedIn("review-loading");
  if (!me) return;
  alarms.watch();
  if (me.role !== "admin") {
    showPageError("The alarm review is for the clinic's administrators (clinic managers).", "review-loading");
    return;
  }
  let sites;
  let profiles;
  try {
    [sites, profiles] = await Promise.all([api("/api/sites"), api("/api/limits/profiles")]);
  } catch (err) {
    showPageError(`The sites and limit profiles could not be loaded. ${err.message}`, "review-loading");
    return;
  }
  fillChoices(sites, profiles);
  formFromAddress();
  limitChairs();
  $("review-loading").hidden = true;
  $("review-page").hidden = false;
  $("f-preset").addEventListener("change", showCustom);
  $("f-site").addEventListener("change", limitChairs);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  apply();
}

start();
