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

// Alarm limits drawn on each vital's axis (IEC colours: yellow medium, red high). Zones are placed
// in the axis's domain coordinates, recomputed whenever its range changes, so a zone reaching to
// "everything above 140" never stretches the autorange; the first limits are included in the
// autorange so the nurse always sees where the alarms start.
const LIMIT_AXES = [
  { vital: "heart_rate", axis: "yaxis", ref: "y", fill: true, label: "HR" },
  { vital: "systolic", axis: "yaxis2", ref: "y2", fill: false, label: "Sys" },
  { vital: "diastolic", axis: "yaxis2", ref: "y2", fill: false, label: "Dia" },
  { vital: "spo2", axis: "yaxis3", ref: "y3", fill: true, label: "SpO₂" },
];
const AXIS_INCLUDE = { yaxis: [50, 110], yaxis2: [60, 150], yaxis3: [90, 100] };
const LIMIT_STYLE = {
  high: { line: "rgba(255,77,94,.95)", fill: "rgba(224,0,27,.16)", marker: "!!!" },
  medium: { line: "rgba(255,212,0,.9)", fill: "rgba(255,212,0,.10)", marker: "!!" },
};

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
    this.limits = null; // { vital: {above: {medium, high}, below: {medium, high}} } of the current phase
    this.bands = { shapes: [], annotations: [] };
    this.bandsKey = "";
  }

  /** Draw the alarm limits of the current phase (null: none). */
  setLimits(limits) {
    this.limits = limits;
    if (!this.drawn) return;
    const update = {};
    for (const [axis, base] of Object.entries(AXIS_INCLUDE)) {
      const include = this.includes(axis, base);
      update[`${axis}.autorangeoptions.include`] = include;
      if (this.empty) update[`${axis}.range`] = spanOf(include);
    }
    window.Plotly.relayout(this.el, update);
    this.refreshBands(true);
  }

  /** An axis's autorange covers its usual span and the first limit on each side. */
  includes(axis, base) {
    const values = [...base];
    for (const spec of LIMIT_AXES) {
      const limit = this.limits && this.limits[spec.vital];
      if (spec.axis !== axis || !limit) continue;
      for (const side of ["above", "below"]) {
        const bound = limit[side] || {};
        const first = bound.medium ?? bound.high;
        if (first !== null && first !== undefined) values.push(first);
      }
    }
    return values;
  }

  /** Shapes and labels for the limits, placed against each axis's current range. */
  limitBands() {
    const shapes = [];
    const annotations = [];
    const labels = [];
    const full = this.el._fullLayout;
    if (!this.limits || !full) return { shapes, annotations };
    for (const spec of LIMIT_AXES) {
      const limit = this.limits[spec.vital];
      const ax = full[spec.axis];
      if (!limit || !ax || !ax.range) continue;
      const [r0, r1] = ax.range.map(Number);
      const frac = (v) => (v - r0) / (r1 - r0);
      const clamp = (f) => Math.max(0, Math.min(1, f));
      const zone = (priority, side, from, to) => {
        const a = clamp(frac(from));
        const b = clamp(frac(to));
        if (!spec.fill || b - a <= 0.001) return;
        shapes.push({
          type: "rect", name: `limit:${spec.vital}:${side}:${priority}:zone`, layer: "below",
          xref: "paper", x0: 0, x1: 1, yref: `${spec.ref} domain`, y0: a, y1: b,
          fillcolor: LIMIT_STYLE[priority].fill, line: { width: 0 },
        });
      };
      const line = (priority, side, value) => {
        const f = frac(value);
        if (f < 0 || f > 1) return;
        const style = LIMIT_STYLE[priority];
        shapes.push({
          type: "line", name: `limit:${spec.vital}:${side}:${priority}`, layer: "below",
          xref: "paper", x0: 0, x1: 1, yref: `${spec.ref} domain`, y0: f, y1: f,
          line: { color: style.line, width: priority === "high" ? 1.5 : 1, dash: priority === "high" ? "dash" : "dot" },
        });
        labels.push({
          priority,
          px: ax._length || 100, // the axis's height in pixels, to keep labels from overlapping
          name: `limit:${spec.vital}:${side}:${priority}`,
          // At the left edge: the newest data and the phase labels are on the right.
          xref: "paper", x: 0.005, xanchor: "left", yref: `${spec.ref} domain`, y: f,
          yanchor: side === "above" ? "bottom" : "top", showarrow: false,
          text: `${spec.label} ${side === "above" ? ">" : "<"} ${value} ${style.marker}`,
          font: { size: 10, color: style.line }, bgcolor: "rgba(13,19,25,.7)",
        });
      };
      const above = limit.above || {};
      const below = limit.below || {};
      const has = (v) => v !== null && v !== undefined;
      if (has(above.medium)) zone("medium", "above", above.medium, has(above.high) ? above.high : r1);
      if (has(above.high)) zone("high", "above", above.high, r1);
      if (has(below.medium)) zone("medium", "below", has(below.high) ? below.high : r0, below.medium);
      if (has(below.high)) zone("high", "below", r0, below.high);
      for (const priority of ["medium", "high"]) {
        if (has(above[priority])) line(priority, "above", above[priority]);
        if (has(below[priority])) line(priority, "below", below[priority]);
      }
    }
    // Systolic and diastolic share an axis: where labels would overlap, the high ones win and
    // the others go (the line stays; the table below the chart lists every limit).
    labels.sort((a, b) => (a.priority === b.priority ? 0 : a.priority === "high" ? -1 : 1));
    const kept = [];
    for (const { px, ...label } of labels) {
      // Where the label's text sits, in pixels: above its line for upper limits, below for lower.
      const middle = label.y * px + (label.yanchor === "bottom" ? 7 : -7);
      if (kept.some((k) => k.yref === label.yref && Math.abs(k.middle - middle) < 13)) continue;
      kept.push({ yref: label.yref, middle });
      delete label.priority;
      annotations.push(label);
    }
    return { shapes, annotations };
  }

  /** Re-place the limit bands after the axes moved (autorange, zoom); only redraws on change. */
  refreshBands(force = false) {
    if (!this.drawn) return;
    const bands = this.limitBands();
    const key = JSON.stringify(bands);
    if (!force && key === this.bandsKey) return;
    this.bandsKey = key;
    this.bands = bands;
    const { shapes, annotations } = this.decorations();
    window.Plotly.relayout(this.el, { shapes, annotations });
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
    else {
      window.Plotly.newPlot(this.el, data, layout, config);
      // Axes move on autorange, zoom and pan: keep the limit bands on their values.
      this.el.on("plotly_afterplot", () => this.refreshBands());
      this.el.on("plotly_relayout", () => this.refreshBands());
    }
    this.drawn = true;
    this.refreshBands();
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
      const { shapes, annotations } = this.decorations();
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
      const { annotations } = this.decorations();
      window.Plotly.relayout(this.el, {
        "xaxis.autorange": true,
        "yaxis.autorange": true,
        "yaxis2.autorange": true,
        "yaxis3.autorange": true,
        annotations,
      });
    }
  }

  /** Phase marks and limit bands together (Plotly keeps one list of each). */
  decorations() {
    const marks = this.phaseMarks();
    return {
      shapes: [...this.bands.shapes, ...marks.shapes],
      annotations: [...this.bands.annotations, ...marks.annotations, ...this.watermark()],
    };
  }

  /** Mark a simulated session's chart itself, so a screenshot of it cannot pass for a patient. */
  setSimulated(simulated) {
    if (this.simulated === simulated) return;
    this.simulated = simulated;
    if (!this.drawn) return;
    const { annotations } = this.decorations();
    window.Plotly.relayout(this.el, { annotations });
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

  layout() {
    const { shapes, annotations } = this.decorations();
    const axis = (title, domain, include) => {
      const spec = {
        domain,
        title: { text: title, font: { size: 12, color: COLORS.muted } },
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
    };
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
      yaxis: axis("HR /min", [0.7, 1], this.includes("yaxis", AXIS_INCLUDE.yaxis)),
      yaxis2: axis("BP mmHg", [0.36, 0.64], this.includes("yaxis2", AXIS_INCLUDE.yaxis2)),
      yaxis3: axis("SpO₂ %", [0, 0.3], this.includes("yaxis3", AXIS_INCLUDE.yaxis3)),
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

/** An axis range showing `values` with a margin, for a chart without data. */
function spanOf(values) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
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
