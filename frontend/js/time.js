// Time on screen: the wire carries UTC ISO 8601; people read their own local time and ages.

/** A value older than this is shown as stale: the monitor may have stopped sending. */
export const STALE_AFTER_MS = 5 * 60 * 1000;

// Difference between the server's clock and this browser's, so ages stay right on a tablet
// whose clock drifted. Positive when the server is ahead.
let serverOffsetMs = 0;

/** Remember how far the server clock is from ours (from a response's `server_time`). */
export function syncClock(serverTimeIso, sentAtMs, receivedAtMs) {
  const server = parseTime(serverTimeIso).getTime();
  if (Number.isNaN(server)) return;
  serverOffsetMs = server - (sentAtMs + receivedAtMs) / 2;
}

/** Now, on the server's clock. */
export function now() {
  return Date.now() + serverOffsetMs;
}

/** Parse a wire timestamp; a value without an offset is UTC (that is what the server stores). */
export function parseTime(iso) {
  if (iso instanceof Date) return iso;
  const text = String(iso);
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/i.test(text);
  return new Date(hasZone ? text : `${text}Z`);
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** "14:05:09" in the browser's time zone. */
export function localTime(date, { seconds = true } = {}) {
  const d = parseTime(date);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return seconds ? `${hm}:${pad(d.getSeconds())}` : hm;
}

/** "21 Nov 14:05" in the browser's time zone. */
export function localDateTime(date) {
  const d = parseTime(date);
  const day = d.toLocaleDateString(undefined, { day: "numeric", month: "short" });
  return `${day} ${localTime(d, { seconds: false })}`;
}

/** How long ago, in words short enough for a tile: "12 s ago", "4 min ago", "1 h 5 min ago". */
export function ageText(ms) {
  if (ms < 2000) return "just now";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** A span of time: "45 s", "12 min", "1 h 05 min". */
export function durationText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${pad(m % 60)} min`;
}

/** Age of a wire timestamp in ms, never negative (a clock a little ahead must not say "in 2 s"). */
export function ageMs(iso) {
  return Math.max(0, now() - parseTime(iso).getTime());
}

/** "14:05:09" (or "14:05") for a 24-hour time field, in local time. */
export function clockValue(date, { seconds = true } = {}) {
  return localTime(date, { seconds });
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * A time of day typed on the 24-hour clock ("14:05", "14:05:09", "1405", "14.05") as the Date
 * it most likely means: the latest such time no more than `aheadMs` ahead of `nowMs`, so
 * yesterday's for a reading at 23:55 entered just after midnight, tomorrow's (in the future,
 * refused) for "00:20" typed at 23:50. Null when it is no time.
 * Browsers' own time pickers show AM/PM in some locales; a clinic reads 24-hour time.
 */
export function fromClockValue(text, { nowMs = now(), aheadMs = HOUR_MS } = {}) {
  const value = String(text || "").trim();
  const match = /^(\d{1,2})(?:[:.h]?(\d{2}))(?:[:.]?(\d{2}))?$/.exec(value);
  if (!match) return null;
  const [hours, minutes, seconds] = [match[1], match[2], match[3] || "0"].map(Number);
  if (hours > 23 || minutes > 59 || seconds > 59) return null;
  const d = new Date(nowMs);
  d.setHours(hours, minutes, seconds, 0);
  // The latest such time not more than `aheadMs` ahead: just before midnight, "00:20" is the
  // coming night's (and so refused as in the future), not the one nearly a day ago.
  const tomorrow = new Date(d);
  tomorrow.setDate(tomorrow.getDate() + 1);
  if (tomorrow.getTime() <= nowMs + aheadMs) return tomorrow;
  if (d.getTime() > nowMs + aheadMs) d.setDate(d.getDate() - 1);
  return d;
}

/** "yesterday" when `date` is not today in local time (for a note beside a time field), else "". */
export function dayNote(date, nowMs = now()) {
  const day = (d) => new Date(d).toDateString();
  if (day(date) === day(nowMs)) return "";
  const yesterday = new Date(nowMs);
  yesterday.setDate(yesterday.getDate() - 1);
  return day(date) === day(yesterday) ? "yesterday" : parseTime(date).toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

/**
 * Plotly has no time zones: it draws a date string as the wall-clock time written in it.
 * So we hand it local wall-clock strings, and the axes read in the nurse's local time.
 */
export function plotlyTime(date) {
  const d = parseTime(date);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/** Call `fn` every second, on the second, so all ages on screen tick together. */
export function everySecond(fn) {
  let timer = null;
  const tick = () => {
    fn();
    timer = setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  };
  timer = setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  return () => clearTimeout(timer);
}

/**
 * A calendar date from the wire ("1958-03-02": a date of birth, no time and no zone) as people
 * read it, "2 Mar 1958". Read as a UTC midnight and shown in UTC, so no time zone can move it
 * to the day before.
 */
export function calendarDateText(iso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso));
  if (!match) return String(iso);
  const day = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return day.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
}
