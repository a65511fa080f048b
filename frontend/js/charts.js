// The session's vitals chart: heart rate, blood pressure, SpO2 and (once the session has any)
// respiratory rate stacked on one shared time axis under a lane of alarm markers, so zooming to
// a moment shows everything at once. The whole session is kept; live points are appended in one
// extendTraces per batch; uirevision keeps a nurse's zoom while data keeps arriving.

import { alarmTrace, drawnAlarms } from "./chart-alarms.js";
import { firstLimits, limitBands } from "./chart-bands.js";
import { Series } from "./chart-series.js";
import { localTime, now, parseTime, plotlyTime } from "./time.js";
import { PHASE_NAMES } from "./labels.js";

/** Points kept per trace: a whole session at one reading a second (14 h) fits. */
export const MAX_POINTS = 50000;
// Beyond this many points a trace is drawn as a line only: markers then merge into a band
// anyway, and each one is an SVG element to redraw on every update (4 h of 1 Hz markers took
// seconds per update; the line alone, which Plotly simplifies, tens of milliseconds). Plotly's
// WebGL traces would need 'unsafe-eval' in our CSP with the vendored bundle, so SVG it is.
const MARKERS_UP_TO = 300;

const COLORS = { grid: "#26323e", text: "#e8eef4", muted: "#a9b7c5", panel: "#151e27", plot: "#0d1319" };

// Marker shapes differ too (BP uses the chart convention ∨ systolic, ∧ diastolic), so the
// traces can be told apart without colour. Dense traces (a monitor's one-a-second values) lose
// their markers once long, and show a break where the monitor fell silent.
const TRACES = [
  { vital: "heart_rate", name: "Heart rate (/min)", axis: "y", color: "#3ddc84", symbol: "circle", size: 4, dense: true },
  { vital: "systolic", name: "Systolic (mmHg)", axis: "y2", color: "#ff6b6b", symbol: "triangle-down", size: 9 },
  { vital: "diastolic", name: "Diastolic (mmHg)", axis: "y2", color: "#ffa94d", symbol: "triangle-up", size: 9, dash: "dot" },
  { vital: "spo2", name: "SpO₂ (%)", axis: "y3", color: "#4cc9f0", symbol: "diamond", size: 4, dense: true },
  { vital: "respiratory_rate", name: "Resp. rate (/min)", axis: "y4", color: "#ffd166", symbol: "square", size: 5, dense: true, optional: true },
];

// The stacked rows, top to bottom; the optional one only when the session has its vital.
const ROWS = [
  { axis: "yaxis", title: "HR /min", include: [50, 110] },
  { axis: "yaxis2", title: "BP mmHg", include: [60, 150] },
  { axis: "yaxis3", title: "SpO₂ %", include: [90, 100] },
  { axis: "yaxis4", title: "RR /min", include: [8, 24], optional: "respiratory_rate" },
];
const LANE = { axis: "yaxis5", ref: "y5", height: 0.07 };
const ROW_GAP = 0.045;

// The first limits are included in each autorange so the nurse always sees where alarms start.
const LIMIT_AXES = [
  { vital: "heart_rate", axis: "yaxis", ref: "y", fill: true, label: "HR" },
  { vital: "systolic", axis: "yaxis2", ref: "y2", fill: false, label: "Sys" },
  { vital: "diastolic", axis: "yaxis2", ref: "y2", fill: false, label: "Dia" },
  { vital: "spo2", axis: "yaxis3", ref: "y3", fill: true, label: "SpO₂" },
  { vital: "respiratory_rate", axis: "yaxis4", ref: "y4", fill: true, label: "RR" },
];

/** The time windows a nurse can pick; a window follows the newest reading, with room ahead. */
export const WINDOWS = {
  "15m": { span: 15 * 60000, ahead: 60000 },
  "1h": { span: 60 * 60000, ahead: 4 * 60000 },
  all: null,
};

const has = (v) => v !== null && v !== undefined;
const erroneous = (reading) => has(reading.entered_in_error_at);

export class VitalsChart {
  constructor(element, { revision = "vitals", maxPoints = MAX_POINTS } = {}) {
    this.el = element;
    this.revision = revision;
    this.maxPoints = maxPoints;
    this.series = new Map(TRACES.map((t) => [t.vital, new Series({ gaps: Boolean(t.dense) })]));
    this.errored = new Set(); // ids of readings entered in error: never drawn, even if sent again
    this.pending = [];
    this.flushTimer = null;
    this.drawn = false;
    this.empty = true;
    this.shown = []; // the traces in the figure, in gd.data order (the alarm trace last)
    this.modes = new Map();
    this.phaseChanges = [];
    this.alarms = [];
    this.limits = null; // { vital: {above: {medium, high}, below: {medium, high}} } of the current phase
    this.bands = { shapes: [], annotations: [] };
    this.bandsKey = "";
    this.window = "all";
    this.customRange = null; // a nurse's own zoom on the time axis
    this.ownRange = null; // the last range our window set, told apart from a nurse's zoom
    this.windowListeners = new Set();
  }

  // ---- data ----------------------------------------------------------------------------------

  /** Replace everything shown with `readings` (any order; those entered in error are left out). */
  setReadings(readings) {
    this.pending = [];
    const byVital = new Map(TRACES.map((t) => [t.vital, []]));
    const points = readings
      .filter((r) => !erroneous(r) && !this.errored.has(r.id))
      .map((r) => ({ ms: parseTime(r.taken_at).getTime(), r }))
      .sort((a, b) => a.ms - b.ms);
    for (const { ms, r } of points) {
      for (const trace of TRACES) {
        const y = r[trace.vital];
        if (has(y)) byVital.get(trace.vital).push({ ms, y, id: r.id });
      }
    }
    for (const [vital, list] of byVital) {
      const series = this.series.get(vital);
      series.reset(list);
      series.trim(this.maxPoints);
    }
    this.draw();
  }

  /** Add readings that arrived live; drawn together on the next flush (a backfill can be large). */
  addReadings(readings) {
    for (const reading of readings) this.pending.push(reading);
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), 60);
  }

  /** A reading was entered in error: it leaves the chart (and stays out if it comes again). */
  removeReading(reading) {
    const id = typeof reading === "string" ? reading : reading.id;
    this.errored.add(id);
    this.pending = this.pending.filter((r) => r.id !== id);
    if (!this.drawn) return;
    const rebuild = TRACES.filter((t) => this.series.get(t.vital).remove(id)).map((t) => t.vital);
    this.empty = this.isEmpty();
    this.redrawTraces(rebuild);
  }

  flush() {
    this.flushTimer = null;
    const readings = this.pending
      .filter((r) => !erroneous(r) && !this.errored.has(r.id))
      .map((r) => ({ ms: parseTime(r.taken_at).getTime(), r }))
      .sort((a, b) => a.ms - b.ms);
    const errored = this.pending.filter(erroneous);
    this.pending = [];
    if (!this.drawn) return;
    for (const reading of errored) this.removeReading(reading);
    if (!readings.length) return;
    const wasEmpty = this.empty;
    const hadOptional = this.optionalShown();
    const append = new Map();
    const rebuild = [];
    for (const trace of TRACES) {
      const points = [];
      for (const { ms, r } of readings) if (has(r[trace.vital])) points.push({ ms, y: r[trace.vital], id: r.id });
      if (!points.length) continue;
      const series = this.series.get(trace.vital);
      const xy = series.add(points);
      if (series.trim(this.maxPoints) || !xy) rebuild.push(trace.vital);
      else append.set(trace.vital, xy);
    }
    this.empty = this.isEmpty();
    if (this.optionalShown().join() !== hadOptional.join()) {
      this.draw(); // respiratory rate arrived: a row of its own, so the whole figure is redrawn
      return;
    }
    const indices = [];
    const update = { x: [], y: [] };
    for (const [vital, xy] of append) {
      indices.push(this.indexOf(vital));
      update.x.push(xy.x);
      update.y.push(xy.y);
    }
    const follow = this.windowUpdate();
    if (indices.length) window.Plotly.extendTraces(this.el, update, indices);
    this.redrawTraces(rebuild);
    this.updateModes();
    if (follow) this.relayout(follow);
    if (wasEmpty && !this.empty) {
      // The placeholder ranges and "no readings" note go once there is something to show.
      const relayout = { annotations: this.decorations().annotations };
      for (const row of this.rows()) relayout[`${row.axis}.autorange`] = true;
      if (this.window === "all") relayout["xaxis.autorange"] = true;
      else Object.assign(relayout, this.windowUpdate(true) || {});
      this.relayout(relayout);
    }
  }

  isEmpty() {
    return TRACES.every((t) => this.series.get(t.vital).length === 0);
  }

  /** The optional traces that have data (and so a row of their own). */
  optionalShown() {
    return TRACES.filter((t) => t.optional && this.series.get(t.vital).length).map((t) => t.vital);
  }

  indexOf(vital) {
    return this.shown.indexOf(vital);
  }

  /** Redraw whole traces (a point inserted for an earlier time, or one removed). */
  redrawTraces(vitals) {
    const indices = [];
    const update = { x: [], y: [] };
    for (const vital of vitals) {
      const index = this.indexOf(vital);
      if (index < 0) continue;
      const xy = this.series.get(vital).xy();
      indices.push(index);
      update.x.push(xy.x);
      update.y.push(xy.y);
    }
    if (indices.length) this.restyleXY(update, indices);
  }

  /** Markers while a trace is sparse enough for them to be told apart. */
  modeFor(trace) {
    return !trace.dense || this.series.get(trace.vital).length <= MARKERS_UP_TO ? "lines+markers" : "lines";
  }

  updateModes() {
    const indices = [];
    const modes = [];
    for (const trace of TRACES) {
      const index = this.indexOf(trace.vital);
      const mode = this.modeFor(trace);
      if (index < 0 || this.modes.get(trace.vital) === mode) continue;
      this.modes.set(trace.vital, mode);
      indices.push(index);
      modes.push(mode);
    }
    if (indices.length) window.Plotly.restyle(this.el, { mode: modes }, indices);
  }

  // ---- the whole figure ----------------------------------------------------------------------

  /** Draw the figure afresh from what is held (first draw, reload, a new row). */
  draw() {
    this.empty = this.isEmpty();
    const optional = new Set(this.optionalShown());
    const traces = TRACES.filter((t) => !t.optional || optional.has(t.vital));
    this.shown = [...traces.map((t) => t.vital), "alarms"];
    const rowsBefore = this.el.dataset.rows;
    this.el.dataset.rows = String(this.rows().length);
    const data = traces.map((trace) => {
      this.modes.set(trace.vital, this.modeFor(trace));
      return { ...this.traceStyle(trace), ...this.series.get(trace.vital).xy() };
    });
    data.push(alarmTrace(this.alarms, LANE.ref));
    const layout = this.layout();
    const config = {
      responsive: true,
      displaylogo: false,
      modeBarButtonsToRemove: ["lasso2d", "select2d", "toImage"],
    };
    const Plotly = window.Plotly;
    if (this.drawn) {
      Plotly.react(this.el, data, layout, config);
      // A row added or removed changes the chart's height (see session-charts.css).
      if (rowsBefore !== this.el.dataset.rows) Plotly.Plots.resize(this.el).catch(() => {});
    } else {
      Plotly.newPlot(this.el, data, layout, config);
      // Axes move on autorange, zoom and pan: keep the limit bands on their values.
      this.el.on("plotly_afterplot", () => this.refreshBands());
      this.el.on("plotly_relayout", (change) => {
        this.noteZoom(change);
        this.refreshBands();
      });
    }
    this.drawn = true;
    this.refreshBands();
  }

  traceStyle(trace) {
    return {
      type: "scatter",
      uid: trace.vital, // tests and tools find a trace by its vital
      name: trace.name,
      xaxis: "x",
      yaxis: trace.axis,
      mode: this.modes.get(trace.vital),
      connectgaps: false,
      line: { color: trace.color, width: 2, dash: trace.dash || "solid" },
      marker: { color: trace.color, symbol: trace.symbol, size: trace.size },
      hovertemplate: "%{y}<extra>" + trace.name + "</extra>",
    };
  }

  /** The rows shown, top to bottom, each with its domain. */
  rows() {
    const optional = new Set(this.optionalShown());
    const rows = ROWS.filter((r) => !r.optional || optional.has(r.optional));
    const top = 1 - LANE.height - 0.02;
    const height = (top - ROW_GAP * (rows.length - 1)) / rows.length;
    return rows.map((row, i) => {
      const hi = top - i * (height + ROW_GAP);
      return { ...row, domain: [Math.max(0, hi - height), hi] };
    });
  }

  layout() {
    const { shapes, annotations } = this.decorations();
    const rows = this.rows();
    const layout = {
      // A constant uirevision: redraws and new data keep whatever zoom the nurse chose.
      uirevision: this.revision,
      paper_bgcolor: COLORS.panel,
      plot_bgcolor: COLORS.plot,
      font: { color: COLORS.text, family: "system-ui, sans-serif", size: 13 },
      margin: { l: 60, r: 12, t: 30, b: 36 },
      showlegend: true,
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.01, yanchor: "bottom", font: { size: 12 } },
      hovermode: "x unified",
      hoversubplots: "axis",
      hoverlabel: { bgcolor: "#1c2733", font: { color: COLORS.text } },
      xaxis: this.xaxis(rows[rows.length - 1]),
      shapes,
      annotations,
    };
    for (const row of rows) layout[row.axis] = this.yaxis(row);
    layout[LANE.axis] = {
      domain: [1 - LANE.height, 1],
      range: [0.3, 3.7],
      fixedrange: true,
      showgrid: false,
      zeroline: false,
      tickvals: [2],
      ticktext: ["Alarms"],
      tickfont: { size: 11, color: COLORS.muted },
    };
    return layout;
  }

  xaxis(bottom) {
    const xaxis = {
      type: "date",
      anchor: bottom.axis.replace("yaxis", "y"),
      gridcolor: COLORS.grid,
      tickformat: "%H:%M",
      hoverformat: "%H:%M:%S",
    };
    if (this.empty) {
      const t = now(); // the server's clock, like every age on the page
      xaxis.range = [plotlyTime(new Date(t - 15 * 60000)), plotlyTime(new Date(t + 60000))];
      xaxis.autorange = false;
    } else if (this.customRange) {
      xaxis.range = [...this.customRange];
      xaxis.autorange = false;
    } else if (WINDOWS[this.window]) {
      xaxis.range = this.windowRange();
      xaxis.autorange = false;
    } else {
      xaxis.autorange = true;
    }
    return xaxis;
  }

  yaxis(row) {
    const include = [...row.include, ...firstLimits(this.limits, LIMIT_AXES, row.axis)];
    const spec = {
      domain: row.domain,
      title: { text: row.title, font: { size: 12, color: COLORS.muted } },
      gridcolor: COLORS.grid,
      zeroline: false,
      fixedrange: false,
      autorangeoptions: { include },
    };
    if (this.empty) {
      // Nothing to autorange on yet: show the usual span and the limits, not Plotly's -1..4.
      spec.range = spanOf(include);
      spec.autorange = false;
    }
    return spec;
  }

  // ---- limits, phases, alarms ----------------------------------------------------------------

  /** Draw the alarm limits of the current phase (null: none). */
  setLimits(limits) {
    this.limits = limits;
    if (!this.drawn) return;
    const update = {};
    for (const row of this.rows()) {
      const include = [...row.include, ...firstLimits(limits, LIMIT_AXES, row.axis)];
      update[`${row.axis}.autorangeoptions.include`] = include;
      if (this.empty) update[`${row.axis}.range`] = spanOf(include);
    }
    this.relayout(update);
    this.refreshBands(true);
  }

  /**
   * Re-place the limit bands and phase labels after the axes moved (autorange, zoom, a window
   * moving on); only redraws when something changed.
   */
  refreshBands(force = false) {
    if (!this.drawn) return;
    this.bands = limitBands(this.limits, LIMIT_AXES, this.el._fullLayout);
    const decorations = this.decorations();
    const key = JSON.stringify(decorations);
    if (!force && key === this.bandsKey) return;
    this.bandsKey = key;
    this.relayout(decorations);
  }

  /** Mark phase changes on the time axis. */
  setPhaseChanges(changes) {
    this.phaseChanges = changes;
    this.refreshBands(true);
  }

  /** Mark this session's alarms (any order, any status) on the time axis. */
  setAlarms(alerts) {
    const alarms = drawnAlarms(alerts);
    const key = JSON.stringify(alarms.map((a) => [a.id, a.version, a.status, a.priority, a.raised_at]));
    if (key === this.alarmsKey) return;
    this.alarmsKey = key;
    this.alarms = alarms;
    if (!this.drawn) return;
    const trace = alarmTrace(alarms, LANE.ref);
    const update = {};
    for (const name of ["x", "y", "text", "customdata", "marker", "textfont"]) update[name] = [trace[name]];
    this.restyleXY(update, [this.indexOf("alarms")]);
  }

  /** Mark a simulated session's chart itself, so a screenshot of it cannot pass for a patient. */
  setSimulated(simulated) {
    if (this.simulated === simulated) return;
    this.simulated = simulated;
    this.refreshBands(true);
  }

  /** Phase marks, limit bands and the watermark together (Plotly keeps one list of each). */
  decorations() {
    const marks = this.phaseMarks();
    return {
      shapes: [...this.bands.shapes, ...marks.shapes],
      annotations: [...this.bands.annotations, ...marks.annotations, ...this.watermark()],
    };
  }

  watermark() {
    if (!this.simulated) return [];
    return [
      {
        text: "SIMULATED — NOT A PATIENT",
        name: "simulated",
        xref: "paper",
        yref: "paper",
        x: 0.5,
        y: 0.5,
        showarrow: false,
        font: { size: 34, color: "rgba(217, 166, 255, 0.22)" },
        textangle: -12,
        captureevents: false,
      },
    ];
  }

  phaseMarks() {
    const shapes = [];
    const annotations = [];
    const below = 1 - LANE.height - 0.022; // just under the alarm lane
    const shown = this.shownTimes();
    this.phaseChanges.forEach((change, index) => {
      const x = plotlyTime(change.at);
      // A label near the right edge reads leftwards from its line, so it is not cut off.
      const ms = parseTime(change.at).getTime();
      const right = shown && (ms - shown[0]) / (shown[1] - shown[0]) > 0.7;
      shapes.push({
        type: "line",
        xref: "x",
        yref: "paper",
        x0: x,
        x1: x,
        y0: 0,
        y1: 1,
        line: { color: "#7cc4ff", width: 1, dash: "dash" },
      });
      annotations.push({
        x,
        xref: "x",
        yref: "paper",
        y: index % 2 ? below - 0.05 : below, // alternate heights so labels of close changes do not overlap
        yanchor: "top",
        xanchor: right ? "right" : "left",
        showarrow: false,
        text: `${PHASE_NAMES[change.to_phase] || change.to_phase} ${localTime(change.at, { seconds: false })}`,
        font: { size: 11, color: "#9fd8ff" },
        bgcolor: "rgba(13,19,25,.8)",
      });
    });
    if (this.empty) {
      annotations.push({
        xref: "paper",
        yref: "paper",
        x: 0.5,
        y: 0.5,
        showarrow: false,
        text: "No readings yet",
        font: { size: 16, color: COLORS.muted },
      });
    }
    return { shapes, annotations };
  }

  // ---- the time window -----------------------------------------------------------------------

  /** The time axis's current range in ms, or null before it is drawn. */
  shownTimes() {
    const axis = this.el._fullLayout && this.el._fullLayout.xaxis;
    if (!axis || !axis.range) return null;
    // Plotly's range strings are local wall-clock time: a Date without an offset reads them so.
    const times = axis.range.map((s) => new Date(String(s).replace(" ", "T")).getTime());
    return times.every(Number.isFinite) && times[1] > times[0] ? times : null;
  }

  /** Show the last 15 min ("15m"), the last hour ("1h") or the whole session ("all"). */
  setWindow(name) {
    if (!(name in WINDOWS)) return;
    this.window = name;
    this.customRange = null;
    this.tellWindow();
    if (!this.drawn || this.empty) return;
    this.relayout(name === "all" ? { "xaxis.autorange": true } : this.windowUpdate(true));
  }

  /** Call `listener(name)` when the window changes ("custom": the nurse zoomed). */
  onWindowChange(listener) {
    this.windowListeners.add(listener);
    listener(this.customRange ? "custom" : this.window);
  }

  tellWindow() {
    const name = this.customRange ? "custom" : this.window;
    for (const listener of this.windowListeners) listener(name);
  }

  /** The newest time held, in ms (now when nothing is held). */
  newestMs() {
    let newest = -Infinity;
    for (const series of this.series.values()) {
      const points = series.points;
      if (points.length) newest = Math.max(newest, points[points.length - 1].ms);
    }
    return Number.isFinite(newest) ? newest : now();
  }

  windowRange() {
    const { span, ahead } = WINDOWS[this.window];
    const end = this.newestMs() + ahead;
    return [plotlyTime(new Date(end - span)), plotlyTime(new Date(end))];
  }

  /** The relayout that moves a following window on, or null while the newest still fits. */
  windowUpdate(force = false) {
    if (!WINDOWS[this.window] || this.customRange) return null;
    const shown = this.shownTimes();
    if (!force && shown && this.newestMs() <= shown[1]) return null;
    const next = this.windowRange();
    this.ownRange = next;
    return { "xaxis.range": next, "xaxis.autorange": false };
  }

  relayout(update) {
    window.Plotly.relayout(this.el, update);
  }

  /**
   * Replace traces' x values. Plotly's restyle of x forgets the axis type and guesses it again
   * from the data (plotly.js#7225): with no points left (every reading entered in error, or an
   * empty alarm lane on a new session) it guessed "linear" and the time axis broke. So the
   * update restates the type, and with it the range shown (a zoom, a window, or the whole
   * session), which a change of type alone would reset.
   */
  restyleXY(update, indices) {
    const axis = this.el.layout.xaxis || {};
    const keep =
      axis.autorange === false && Array.isArray(axis.range)
        ? { "xaxis.range": [...axis.range], "xaxis.autorange": false }
        : { "xaxis.autorange": true };
    window.Plotly.update(this.el, update, { "xaxis.type": "date", ...keep }, indices);
  }

  /** A zoom, pan or reset on the time axis by the nurse (or a tool acting for one). */
  noteZoom(change) {
    if (!change) return;
    const range = change["xaxis.range"];
    if (change["xaxis.autorange"] === true) {
      this.window = "all";
      this.customRange = null;
    } else if (Array.isArray(range)) {
      if (this.ownRange && range.join() === this.ownRange.join()) return; // our own window moving on
      this.customRange = [...range];
    } else if ("xaxis.range[0]" in change && "xaxis.range[1]" in change) {
      this.customRange = [change["xaxis.range[0]"], change["xaxis.range[1]"]];
    } else {
      return;
    }
    this.tellWindow();
  }
}

/** An axis range showing `values` with a margin, for a chart without data. */
function spanOf(values) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}
