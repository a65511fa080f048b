// Small inline SVG trends for the ward tiles. A wall of twenty Plotly charts would be too heavy
// for a station left running all shift; a polyline per vital is enough to see a direction.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 100; // the viewBox is 100 × 30 and stretched: strokes keep their width (non-scaling)
const HEIGHT = 30;
const PAD = 2.5;

function node(name, attrs) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
}

/** The y range to draw: the data's, widened to at least `minSpan` so noise does not look like a trend. */
function yRange(values, minSpan, floor, ceiling) {
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high - low < minSpan) {
    const mid = (high + low) / 2;
    low = mid - minSpan / 2;
    high = mid + minSpan / 2;
  }
  if (ceiling !== undefined && high > ceiling) {
    low -= high - ceiling;
    high = ceiling;
  }
  if (floor !== undefined && low < floor) low = floor;
  return [low, high];
}

/**
 * Draw `series` into `svg` over [from, to] (ms since the epoch).
 * series: { kind: "line", points: [{t, value, low, high}] } — a line through each bucket's mean
 * with a faint band from its lowest to highest value, so a short dip inside a bucket still shows;
 * or { kind: "bars", points: [{t, high, low}] } — one bar per intermittent BP measurement
 * (systolic on top, diastolic at the bottom), as a monitor's NIBP trend draws them.
 */
export function drawSparkline(svg, series, { from, to, minSpan = 10, floor, ceiling }) {
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const points = series.points.filter((p) => p.t >= from && p.t <= to);
  const shapes = [];
  if (points.length) {
    const values = points.flatMap((p) => [p.low, p.high, p.value].filter((v) => v !== undefined));
    const [low, high] = yRange(values, minSpan, floor, ceiling);
    const x = (t) => ((t - from) / (to - from)) * WIDTH;
    const y = (v) => PAD + (1 - (v - low) / (high - low)) * (HEIGHT - 2 * PAD);
    const fmt = (n) => n.toFixed(2);
    if (series.kind === "bars") {
      for (const p of points) {
        const cx = fmt(x(p.t));
        shapes.push(node("line", { class: "spark-bar", x1: cx, x2: cx, y1: fmt(y(p.high)), y2: fmt(y(p.low)) }));
      }
    } else {
      const band = points.map((p) => `${fmt(x(p.t))},${fmt(y(p.high))}`);
      const back = [...points].reverse().map((p) => `${fmt(x(p.t))},${fmt(y(p.low))}`);
      shapes.push(node("polygon", { class: "spark-band", points: [...band, ...back].join(" ") }));
      shapes.push(
        node("polyline", {
          class: "spark-line",
          points: points.map((p) => `${fmt(x(p.t))},${fmt(y(p.value))}`).join(" "),
        }),
      );
      if (points.length === 1) {
        const only = points[0];
        shapes.push(node("circle", { class: "spark-dot", cx: fmt(x(only.t)), cy: fmt(y(only.value)), r: 1.2 }));
      }
    }
  }
  for (const shape of shapes) shape.setAttribute("vector-effect", "non-scaling-stroke");
  svg.replaceChildren(...shapes);
  svg.dataset.points = String(points.length);
}

/** What the trend shows, in words, for a screen reader and a tooltip: "HR trend, last 30 min: 82 to 95". */
export function describeTrend(label, series, { from, to, minutes }) {
  const points = series.points.filter((p) => p.t >= from && p.t <= to);
  const head = `${label} trend, last ${minutes} min`;
  if (!points.length) return `${head}: no readings`;
  const round = (v) => Math.round(v);
  if (series.kind === "bars") {
    const sys = points.map((p) => p.high);
    const dia = points.map((p) => p.low);
    const count = `${points.length} measurement${points.length === 1 ? "" : "s"}`;
    return (
      `${head}: ${count}, systolic ${round(Math.min(...sys))} to ${round(Math.max(...sys))}, ` +
      `diastolic ${round(Math.min(...dia))} to ${round(Math.max(...dia))}`
    );
  }
  const lows = points.map((p) => p.low);
  const highs = points.map((p) => p.high);
  const first = round(points[0].value);
  const last = round(points[points.length - 1].value);
  return `${head}: from ${first} to ${last}, lowest ${round(Math.min(...lows))}, highest ${round(Math.max(...highs))}`;
}
