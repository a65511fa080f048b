// Dates and times on the REMS pages, on the clinic's calendar and clock (the zone the server
// names), as the printed form has them: a form is due 7 days after the clinic's treatment date,
// whatever zone the screen showing it is set to.

/** "14 Dec 2026" from an ISO date, as given (no zone shift). */
export function dayText(isoDate) {
  const [y, m, d] = isoDate.split("-").map(Number);
  const month = new Date(Date.UTC(y, m - 1, d)).toLocaleDateString("en-GB", { month: "short", timeZone: "UTC" });
  return `${d} ${month} ${y}`;
}

/** "7 Dec 2026 14:05" in `zone`, on the 24-hour clock whatever the browser's locale. */
export function clinicDateTime(iso, zone) {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(iso));
  const get = (type) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("day")} ${get("month")} ${get("year")} ${get("hour")}:${get("minute")}`;
}

/** " · times in Europe/London" when this screen's zone is not the clinic's, else "". */
export function zoneNote(zone) {
  return Intl.DateTimeFormat().resolvedOptions().timeZone === zone ? "" : ` · times in ${zone}`;
}
