// Alarm limits drawn on each vital's axis (IEC colours: yellow medium, red high). Zones are placed
// in the axis's domain coordinates, recomputed whenever its range changes, so a zone reaching to
// "everything above 140" never stretches the autorange.

const LIMIT_STYLE = {
  high: { line: "rgba(255,77,94,.95)", fill: "rgba(224,0,27,.16)", marker: "!!!" },
  medium: { line: "rgba(255,212,0,.9)", fill: "rgba(255,212,0,.10)", marker: "!!" },
};

const has = (v) => v !== null && v !== undefined;

/** The first limit on each side of `vitals` drawn on `axis`, for that axis's autorange. */
export function firstLimits(limits, specs, axis) {
  const values = [];
  for (const spec of specs) {
    const limit = limits && limits[spec.vital];
    if (spec.axis !== axis || !limit) continue;
    for (const side of ["above", "below"]) {
      const bound = limit[side] || {};
      const first = bound.medium ?? bound.high;
      if (has(first)) values.push(first);
    }
  }
  return values;
}

/**
 * Shapes and labels for `limits` ({vital: {above: {medium, high}, below: {...}}}) on the axes
 * of `specs` ([{vital, axis, ref, fill, label}]), placed against `full`'s current ranges.
 */
export function limitBands(limits, specs, full) {
  const shapes = [];
  const annotations = [];
  const labels = [];
  if (!limits || !full) return { shapes, annotations };
  for (const spec of specs) {
    const limit = limits[spec.vital];
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
  for (const { px, priority, ...label } of labels) {
    // Where the label's text sits, in pixels: above its line for upper limits, below for lower.
    const middle = label.y * px + (label.yanchor === "bottom" ? 7 : -7);
    if (kept.some((k) => k.yref === label.yref && Math.abs(k.middle - middle) < 13)) continue;
    kept.push({ yref: label.yref, middle, priority });
    annotations.push(label);
  }
  return { shapes, annotations };
}
