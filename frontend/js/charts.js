// The session's vitals chart: heart rate, blood pressure and SpO2 stacked on one shared time
// axis, so zooming to a moment shows all three. Live points are appended with extendTraces in
// a bounded window; uirevision keeps a nurse's zoom while data keeps arriving.

import { localTime, parseTime, plotlyTime } from "./time.js";

/** Points kept per trace: a long session at one reading a second still fits. */
export const MAX_POINTS = 10000;

// A silence longer than this in a dense trace is drawn as a break, not a straight line that
// would suggest readings that were never taken.
const GAP_MS = 3 * 60 * 1000;

const COLORS = { grid: "#26323e", text: "#e8eef4", muted: "#a9b7c5", panel: "#151e27", plot: "#0d1319" };

// Marker shapes differ too (BP uses the chart convention ∨ systolic, ∧ diastolic), so the
// traces can be told apart without colour.
const TRACES = [
  { vital: "heart_rate", name: "Heart rate (/min)", axis: "y", color: "#3ddc84", symbol: "circle", size: 4, gaps: true },
  { vital: "systolic", name: "Systolic (mmHg)", axis: "y2", color: "#ff6b6b", symbol: "triangle-down", size: 9, gaps: false },
  { vital: "diastolic", name: "Diastolic (mmHg)", axis: "y2", color: "#ffa94d", symbol: "triangle-up", size: 9, gaps: false, dash: "dot" },
  { vital: "spo2", name: "SpO₂ (%)", axis: "y3", color: "#4cc9f0", symbol: "diamond", size: 4, gaps: true },
];

const PHASE_LABELS = {
  baseline: "Baseline",
  infusing: "Infusing",
  recovery: "Recovery",
  discharged: "Discharged",
  stopped: "Stopped",
};

export class VitalsChart {
  constructor(element, { revision = "vitals", maxPoints = MAX_POINTS } = {}) {
    this.el = element;
    this.revision = revision;
    this.maxPoints = maxPoints;
    this.series = TRACES.map(() => []); // per trace, sorted [{ms, y}]
    this.pending = [];
    this.flushTimer = null;
    this.drawn = false;
    this.empty = true;
    this.phaseChanges = [];
  }

  /** Replace everything shown with `readings` (any order). */
  setReadings(readings) {
    this.pending = [];
    this.series = TRACES.map(() => []);
    const sorted = [...readings].sort((a, b) => parseTime(a.taken_at) - parseTime(b.taken_at));
    for (const reading of sorted) {
      const ms = parseTime(reading.taken_at).getTime();
      TRACES.forEach((trace, i) => {
        const y = reading[trace.vital];
        if (y !== null && y !== undefined) this.series[i].push({ ms, y });
      });
    }
    this.series = this.series.map((points) => points.slice(-this.maxPoints));
    this.empty = this.series.every((points) => points.length === 0);
    const data = TRACES.map((trace, i) => ({ ...traceStyle(trace), ...toXY(this.series[i], trace) }));
    const layout = this.layout();
    const config = {
      responsive: true,
      displaylogo: false,
      modeBarButtonsToRemove: ["lasso2d", "select2d", "toImage"],
    };
    if (this.drawn) window.Plotly.react(this.el, data, layout, config);
    else window.Plotly.newPlot(this.el, data, layout, config);
    this.drawn = true;
  }

  /** Add readings that arrived live; drawn together on the next flush (a backfill can be large). */
  addReadings(readings) {
    this.pending.push(...readings);
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), 60);
  }

  /** Mark phase changes on the time axis. */
  setPhaseChanges(changes) {
    this.phaseChanges = changes;
    if (this.drawn) {
      const { shapes, annotations } = this.phaseMarks();
      window.Plotly.relayout(this.el, { shapes, annotations });
    }
  }

  flush() {
    this.flushTimer = null;
    const readings = this.pending.sort((a, b) => parseTime(a.taken_at) - parseTime(b.taken_at));
    this.pending = [];
    if (!readings.length || !this.drawn) return;
    const wasEmpty = this.empty;
    const append = { x: [], y: [], indices: [] };
    const rebuild = [];
    TRACES.forEach((trace, i) => {
      const points = readings
        .filter((r) => r[trace.vital] !== null && r[trace.vital] !== undefined)
        .map((r) => ({ ms: parseTime(r.taken_at).getTime(), y: r[trace.vital] }));
      if (!points.length) return;
      const series = this.series[i];
      const last = series.length ? series[series.length - 1].ms : -Infinity;
      if (points[0].ms >= last) {
        // The usual case: newer than everything drawn, so extend in place.
        const xy = toXY(points, trace, series.length ? series[series.length - 1] : null);
        series.push(...points);
        append.x.push(xy.x);
        append.y.push(xy.y);
        append.indices.push(i);
      } else {
        // A reading entered for an earlier time: put it in its place and redraw this trace.
        series.push(...points);
        series.sort((a, b) => a.ms - b.ms);
        rebuild.push(i);
      }
      if (series.length > this.maxPoints) series.splice(0, series.length - this.maxPoints);
    });
    this.empty = this.series.every((points) => points.length === 0);
    if (append.indices.length) {
      window.Plotly.extendTraces(this.el, { x: append.x, y: append.y }, append.indices, this.maxPoints);
    }
    for (const i of rebuild) {
      const xy = toXY(this.series[i], TRACES[i]);
      window.Plotly.restyle(this.el, { x: [xy.x], y: [xy.y] }, [i]);
    }
    if (wasEmpty && !this.empty) {
      // The placeholder range and "no readings" note go once there is something to show.
      const { annotations } = this.phaseMarks();
      window.Plotly.relayout(this.el, { "xaxis.autorange": true, annotations });
    }
  }

  layout() {
    const { shapes, annotations } = this.phaseMarks();
    const axis = (title, domain, include) => ({
      domain,
      title: { text: title, font: { size: 12, color: COLORS.muted } },
      gridcolor: COLORS.grid,
      zeroline: false,
      fixedrange: false,
      autorangeoptions: { include },
    });
    const xaxis = {
      type: "date",
      anchor: "y3",
      gridcolor: COLORS.grid,
      tickformat: "%H:%M",
      hoverformat: "%H:%M:%S",
      rangeselector: {
        x: 0,
        y: 1.02,
        yanchor: "bottom",
        bgcolor: "#1c2733",
        activecolor: "#2364a8",
        bordercolor: "#2d3b49",
        borderwidth: 1,
        font: { color: COLORS.text },
        buttons: [
          { count: 15, step: "minute", stepmode: "backward", label: "15 min" },
          { count: 1, step: "hour", stepmode: "backward", label: "1 h" },
          { step: "all", label: "All" },
        ],
      },
    };
    if (this.empty) {
      const now = Date.now();
      xaxis.range = [plotlyTime(new Date(now - 15 * 60000)), plotlyTime(new Date(now + 60000))];
      xaxis.autorange = false;
    }
    return {
      // A constant uirevision: redraws and new data keep whatever zoom the nurse chose.
      uirevision: this.revision,
      paper_bgcolor: COLORS.panel,
      plot_bgcolor: COLORS.plot,
      font: { color: COLORS.text, family: "system-ui, sans-serif", size: 13 },
      margin: { l: 60, r: 12, t: 44, b: 36 },
      showlegend: true,
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom", font: { size: 12 } },
      hovermode: "x unified",
      hoversubplots: "axis",
      hoverlabel: { bgcolor: "#1c2733", font: { color: COLORS.text } },
      xaxis,
      yaxis: axis("HR /min", [0.7, 1], [50, 110]),
      yaxis2: axis("BP mmHg", [0.36, 0.64], [60, 150]),
      yaxis3: axis("SpO₂ %", [0, 0.3], [90, 100]),
      shapes,
      annotations,
    };
  }

  phaseMarks() {
    const shapes = [];
    const annotations = [];
    this.phaseChanges.forEach((change, index) => {
      const x = plotlyTime(change.at);
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
        y: index % 2 ? 0.94 : 0.995, // alternate heights so labels of close changes do not overlap
        yanchor: "top",
        xanchor: "left",
        showarrow: false,
        text: `${PHASE_LABELS[change.to_phase] || change.to_phase} ${localTime(change.at, { seconds: false })}`,
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
}

function traceStyle(trace) {
  return {
    type: "scatter",
    uid: trace.vital, // tests and tools find a trace by its vital
    name: trace.name,
    xaxis: "x",
    yaxis: trace.axis,
    mode: "lines+markers",
    connectgaps: false,
    line: { color: trace.color, width: 2, dash: trace.dash || "solid" },
    marker: { color: trace.color, symbol: trace.symbol, size: trace.size },
    hovertemplate: "%{y}<extra>" + trace.name + "</extra>",
  };
}

/** Plotly x/y arrays for points, with a null where a dense trace has a long silence. */
function toXY(points, trace, before = null) {
  const x = [];
  const y = [];
  let previous = before;
  for (const point of points) {
    if (trace.gaps && previous && point.ms - previous.ms > GAP_MS) {
      x.push(plotlyTime(new Date((point.ms + previous.ms) / 2)));
      y.push(null);
    }
    x.push(plotlyTime(new Date(point.ms)));
    y.push(point.y);
    previous = point;
  }
  return { x, y };
}
