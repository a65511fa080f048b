// One vital's points in time order, kept whole for the session, and turned into Plotly x/y.
// Live points are nearly always the newest, so adding one is O(1); a point for an earlier time
// or a removal (entered in error) costs a rebuild of that one trace, which is rare.

import { plotlyTime } from "./time.js";

// A silence longer than this in a dense trace is drawn as a break, not a straight line that
// would suggest readings that were never taken.
export const GAP_MS = 3 * 60 * 1000;

export class Series {
  constructor({ gaps = false } = {}) {
    this.gaps = gaps;
    this.points = []; // [{ms, y, id}], sorted by ms
  }

  get length() {
    return this.points.length;
  }

  /** Replace everything with `points` (already sorted). */
  reset(points) {
    this.points = points;
  }

  /**
   * Add `points` (sorted). Returns the Plotly x/y to append when they all come after what is
   * held, or null when the trace must be redrawn whole (a point for an earlier time).
   */
  add(points) {
    if (!points.length) return { x: [], y: [] };
    const last = this.points.length ? this.points[this.points.length - 1] : null;
    if (!last || points[0].ms >= last.ms) {
      const xy = toXY(points, this.gaps, last);
      for (const point of points) this.points.push(point);
      return xy;
    }
    for (const point of points) this.points.splice(this.insertAt(point.ms), 0, point);
    return null;
  }

  /** Drop the point of reading `id`; true if there was one. */
  remove(id) {
    const index = this.points.findIndex((p) => p.id === id);
    if (index < 0) return false;
    this.points.splice(index, 1);
    return true;
  }

  /** Drop the oldest points beyond `max` (a safety net far above a session); true if any went. */
  trim(max) {
    if (this.points.length <= max) return false;
    this.points.splice(0, this.points.length - max);
    return true;
  }

  /** The whole trace as Plotly x/y. */
  xy() {
    return toXY(this.points, this.gaps, null);
  }

  insertAt(ms) {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.points[mid].ms <= ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Plotly x/y arrays for points, with a null where a dense trace has a long silence. */
function toXY(points, gaps, before) {
  const x = [];
  const y = [];
  let previous = before;
  for (const point of points) {
    if (gaps && previous && point.ms - previous.ms > GAP_MS) {
      x.push(plotlyTime(new Date((point.ms + previous.ms) / 2)));
      y.push(null);
    }
    x.push(plotlyTime(new Date(point.ms)));
    y.push(point.y);
    previous = point;
  }
  return { x, y };
}
