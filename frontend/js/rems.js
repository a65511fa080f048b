// The REMS forms due (/rems): every esketamine treatment whose Patient Monitoring Form is not
// complete, oldest first, its due date (treatment + 7 days on the clinic's calendar) and the
// overdue ones marked in words as well as colour. Each row opens the form.

import { api } from "./api.js";
import { el } from "./dom.js";
import { showPageError, signedIn } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";
import { clinicDateTime, dayText, zoneNote } from "./rems-time.js";

const $ = (id) => document.getElementById(id);

/** Whole days from the ISO date `from` to `to`. */
function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000);
}

function row(item, zone, today) {
  const due = el("td", { className: "due" }, [el("span", { text: dayText(item.due_date) })]);
  const left = daysBetween(today, item.due_date);
  if (item.overdue) due.append(el("span", { className: "overdue-tag", text: `OVERDUE by ${-left} day${left === -1 ? "" : "s"}` }));
  else due.append(el("span", { className: "days-left", text: left === 0 ? "today" : `in ${left} day${left === 1 ? "" : "s"}` }));
  const patient = el("th", { attrs: { scope: "row" } }, [
    el("span", { text: item.patient_name }),
    el("span", { className: "clinic-id", text: ` ${item.clinic_id}` }),
  ]);
  const treated = el("td", { text: `${clinicDateTime(item.dosing_started_at, zone)}${item.session_ended ? "" : " (session going on)"}` });
  const state = item.status === "in_progress" ? "In progress" : "Not started";
  const link = el("a", { text: `${state}: open the form`, attrs: { href: `/sessions/${item.session_id}/rems` } });
  const tr = el("tr", { attrs: { "data-session": String(item.session_id) } }, [due, patient, treated, el("td", { text: item.chair }), el("td", {}, [link])]);
  if (item.overdue) tr.classList.add("overdue");
  return tr;
}

async function main() {
  const alarms = new PatientAlarms();
  const me = await signedIn("due-loading");
  if (!me) return;
  alarms.watch();
  let due;
  try {
    due = await api("/api/rems/due");
  } catch (err) {
    showPageError(`The forms due could not be loaded. ${err.message}`, "due-loading");
    return;
  }
  $("due-loading").hidden = true;
  $("due-ui").hidden = false;
  $("due-body").replaceChildren(...due.items.map((item) => row(item, due.clinic_timezone, due.today)));
  const overdue = due.items.filter((i) => i.overdue).length;
  $("due-count").textContent = `${due.items.length} due${overdue ? `, ${overdue} overdue` : ""}${zoneNote(due.clinic_timezone)}`;
  $("due-empty").hidden = due.items.length > 0;
  $("due-table").hidden = due.items.length === 0;
  $("due-truncated").hidden = !due.truncated;
}

main();
