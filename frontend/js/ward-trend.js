// A tile's last 30 minutes of HR, BP, SpO2 and RR, kept as 15-second buckets: a 1 Hz monitor
// gives 1,800 readings per half hour, and a sparkline a few hundred pixels wide needs ~120.
// The server folds the history the same way (backend/readings/trend.py); the live stream's
// readings are added here.

import { api } from "./api.js";
import { now, parseTime } from "./time.js";

export const TREND_MINUTES = 30;
export const TREND_MS = TREND_MINUTES * 60 * 1000;
const BUCKET_MS = 15 * 1000;
const LINES = ["heart_rate", "spo2", "respiratory_rate"];
const bucketOf = (t) => Math.floor(t / BUCKET_MS) * BUCKET_MS; // as backend/readings/trend.py

/** The trend since `since` (a Date) as the server buckets it: GET /api/sessions/{id}/trend. */
export function fetchTrend(sessionId, since) {
  const params = new URLSearchParams({ since: since.toISOString(), bucket_seconds: String(BUCKET_MS / 1000) });
  return api(`/api/sessions/${sessionId}/trend?${params}`);
}

export class TileTrend {
  constructor() {
    this.clear();
  }

  /** A trend seeded from the server's buckets (GET .../trend, 15-second buckets). */
  static fromBuckets(body) {
    const trend = new TileTrend();
    for (const name of LINES) {
      for (const point of body.lines[name] || []) {
        const t = parseTime(point.t).getTime();
        const { n, low, high } = point;
        trend.lines[name].set(bucketOf(t), { t, sum: point.mean * n, n, low, high });
      }
    }
    for (const bar of body.bp || []) {
      const t = parseTime(bar.t).getTime();
      trend.bp.set(bucketOf(t), { t, high: bar.high, low: bar.low });
    }
    trend.covered = Number(body.stream_cursor);
    return trend;
  }

  clear() {
    this.lines = Object.fromEntries(LINES.map((name) => [name, new Map()]));
    this.bp = new Map();
    this.seen = new Map(); // reading id -> time taken, so a reading seen twice counts once
    this.covered = -1; // stream cursor up to which the seeded buckets already hold the readings
  }

  /**
   * Fold one reading in (an errored one is left out); true when the trend changed. `cursor`, the
   * stream event's, leaves out a reading the server's buckets already counted.
   */
  add(reading, cursor = null) {
    if (reading.entered_in_error_at) return false;
    if (cursor != null && Number(cursor) <= this.covered) return false;
    const t = parseTime(reading.taken_at).getTime();
    if (t < now() - TREND_MS - BUCKET_MS || this.seen.has(reading.id)) return false;
    this.seen.set(reading.id, t);
    const key = bucketOf(t);
    let changed = false;
    for (const name of LINES) {
      const value = reading[name];
      if (value === null || value === undefined) continue;
      const buckets = this.lines[name];
      const bucket = buckets.get(key);
      if (bucket) {
        bucket.sum += value;
        bucket.n += 1;
        bucket.low = Math.min(bucket.low, value);
        bucket.high = Math.max(bucket.high, value);
        bucket.t = Math.max(bucket.t, t);
      } else {
        buckets.set(key, { t, sum: value, n: 1, low: value, high: value });
      }
      changed = true;
    }
    const { systolic, diastolic } = reading;
    if ((systolic ?? null) !== null || (diastolic ?? null) !== null) {
      const current = this.bp.get(key);
      if (!current || current.t <= t) {
        // Only one half measured still marks the moment: drawn as a point.
        const high = systolic ?? diastolic;
        this.bp.set(key, { t, high, low: diastolic ?? systolic });
      }
      changed = true;
    }
    return changed;
  }

  /** Forget what has scrolled out of the window. */
  prune() {
    const oldest = now() - TREND_MS - BUCKET_MS;
    for (const buckets of [...Object.values(this.lines), this.bp]) {
      for (const key of buckets.keys()) if (key < oldest) buckets.delete(key);
    }
    for (const [id, t] of this.seen) if (t < oldest) this.seen.delete(id);
  }

  /** A line vital's points: each bucket's mean, lowest and highest value. */
  line(name) {
    const points = [...this.lines[name].values()]
      .map((b) => ({ t: b.t, value: b.sum / b.n, low: b.low, high: b.high }))
      .sort((a, b) => a.t - b.t);
    return { kind: "line", points };
  }

  /** BP measurements as bars from diastolic to systolic. */
  bars() {
    return { kind: "bars", points: [...this.bp.values()].sort((a, b) => a.t - b.t) };
  }

  has(name) {
    return name === "bp" ? this.bp.size > 0 : this.lines[name].size > 0;
  }
}
