// The session record's viewer (/sessions/{id}/record): the printable record, a script-free
// document (GET /api/sessions/{id}/report), shown in a frame that may run no script, with Print,
// and around it what every signed-in page has: the patients' alarm strip and the alarm sound, so
// reading a record never hides a patient's alarm.

import { goToLogin } from "./api.js";
import { showPageError, signedIn } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";

const $ = (id) => document.getElementById(id);
const sessionId = Number(location.pathname.split("/").filter(Boolean)[1]);
const reportUrl = `/api/sessions/${sessionId}/report`;
const COURSE_ROLES = new Set(["admin", "nurse", "staff"]);
let role = null;

/** The frame as tall as the record, so the page scrolls as one document. */
function fitFrame(frame) {
  const doc = frame.contentDocument;
  if (doc && doc.documentElement) frame.style.height = `${doc.documentElement.scrollHeight + 4}px`;
}

/** The patient's course, for the register's readers, from a real patient's record (a drill's
 * record names no patient to link to). */
function showCourseLink(doc) {
  const meta = doc && doc.querySelector('meta[name="vigil-patient"]');
  const patientId = meta ? Number(meta.content) : NaN;
  const link = $("record-course");
  link.hidden = !(Number.isInteger(patientId) && patientId > 0 && COURSE_ROLES.has(role));
  if (!link.hidden) link.href = `/patients/${patientId}/course`;
}

async function loadRecord() {
  const response = await fetch(reportUrl, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (response.status === 401) {
    goToLogin();
    return;
  }
  if (!response.ok) {
    const why = response.status === 404 ? `There is no session #${sessionId}.` : `The server answered ${response.status}.`;
    showPageError(`The record could not be loaded. ${why}`, "record-loading");
    return;
  }
  // Its links ("report.pdf", "readings.csv") are relative to the report's own address.
  const html = (await response.text()).replace(/<head>/i, `<head><base href="${reportUrl}">`);
  const frame = $("record-frame");
  frame.addEventListener("load", () => {
    const title = frame.contentDocument.title || `Session record #${sessionId}`;
    document.title = title;
    $("record-title").textContent = title.replace(/ · Vigil$/, "");
    $("record-loading").hidden = true;
    frame.hidden = false;
    fitFrame(frame);
    $("record-print").disabled = false;
    showCourseLink(frame.contentDocument);
  });
  window.addEventListener("resize", () => fitFrame(frame));
  frame.srcdoc = html;
}

async function main() {
  const alarms = new PatientAlarms();
  const me = await signedIn("record-loading");
  if (!me) return;
  role = me.role;
  alarms.watch();
  if (!Number.isInteger(sessionId) || sessionId < 1) {
    showPageError("There is no such session record.", "record-loading");
    return;
  }
  $("record-back").href = `/sessions/${sessionId}`;
  $("record-pdf").href = `${reportUrl}.pdf`;
  $("record-csv").href = `/api/sessions/${sessionId}/readings.csv`;
  $("record-fhir").href = `/api/sessions/${sessionId}/fhir`;
  $("record-plain").href = reportUrl;
  // Prints the record alone (the frame's document), black on white, as the report was made to.
  $("record-print").addEventListener("click", () => $("record-frame").contentWindow.print());
  await loadRecord();
}

main();
