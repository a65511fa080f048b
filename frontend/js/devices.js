// The devices page: every monitor or gateway channel that has sent vitals, the chair it is bound
// to (or how many of its messages wait for one), its last values with when they were measured,
// when it was last heard (stale after a while), the rows it sent that were not stored, and for
// nurses and admins a chair picker to bind, move or unbind it. The server decides everything.

import { ApiError, api } from "./api.js";
import { el } from "./dom.js";
import { signedIn, showPageError } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";
import { STALE_AFTER_MS, ageMs, ageText, everySecond, localDateTime, localTime, parseTime, syncClock } from "./time.js";
import { formatValue } from "./vitals-display.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 10000;
const DAY_MS = 24 * 60 * 60 * 1000;

const VITALS = [
  ["heart_rate", "HR", "/min"],
  ["bp", "BP", "mmHg"],
  ["spo2", "SpO₂", "%"],
  ["respiratory_rate", "RR", "/min"],
  ["temperature", "Temp", "°C"],
];

// Why rows were counted and not stored, as a nurse reads them (backend/devices/report.py Skip).
// Device rows (the monitor's and its modules' own rows, which carry no value) are left out: they
// are the message's structure, not something a nurse or IT need act on.
const SKIP_WORDS = {
  invalid: ["invalid value", "invalid values"],
  unused: ["value Vigil does not chart (e.g. mean pressure)", "values Vigil does not chart (e.g. mean pressure)"],
  superseded: ["value replaced by a better source", "values replaced by a better source"],
  test: ["test row", "test rows"],
  unknown_code: ["unknown code", "unknown codes"],
  unknown_unit: ["unknown unit", "unknown units"],
  not_numeric: ["row without a number", "rows without a number"],
};

/** Who may bind (server: devices/router.py). */
export function canBind(role) {
  return role === "admin" || role === "nurse";
}

/** "3 test rows, 2 unknown codes" from {test: 3, unknown_code: 2}; "" when none. */
export function skippedText(skipped) {
  return Object.entries(skipped || {})
    .filter(([reason, n]) => n > 0 && reason !== "device_row")
    .map(([reason, n]) => {
      const [one, many] = SKIP_WORDS[reason] || [reason, reason];
      return `${n} ${n === 1 ? one : many}`;
    })
    .join(", ");
}

function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** A time today as 14:05:09, an older one with its date. */
function when(iso) {
  return ageMs(iso) < DAY_MS && parseTime(iso).toDateString() === new Date().toDateString()
    ? localTime(iso)
    : localDateTime(iso);
}

let me = null;
let chairs = [];
let devices = [];
let busy = false;

// ---- drawing ----------------------------------------------------------------------------------

function placeText(place) {
  return `${place.chair} · ${place.room} · ${place.site}`;
}

function feeding(place, where) {
  return place.session_id
    ? el("span", {
        className: place.simulated ? "badge sim" : "device-feeding",
        text: place.simulated ? "Drill running: feeds the drill" : `Feeds the session on ${where}`,
      })
    : el("span", { className: "device-idle", text: `No session open on ${where}` });
}

function chairLine(device) {
  const line = el("p", { className: "device-chair" });
  if (!device.place && device.routed) {
    // Not bound, but its gateway names a configured bed (PV1-3): that chair's session has it.
    line.append(el("strong", { text: placeText(device.routed) }), " ");
    line.append(el("span", { className: "device-routed", text: "by the bed its messages name (not bound)" }));
    line.append(" ", feeding(device.routed, "that chair"));
    return line;
  }
  if (!device.place) {
    line.classList.add("unbound");
    const waiting = device.kept
      ? ` — ${plural(device.kept, "message", "messages")} waiting`
      : "";
    line.append(el("strong", { text: `Not bound${waiting}` }));
    return line;
  }
  line.append(el("strong", { text: placeText(device.place) }));
  line.append(" ", feeding(device.place, "this chair"));
  if (device.kept) {
    const kept = `${plural(device.kept, "earlier message", "earlier messages")} kept, not on a chart`;
    line.append(" ", el("span", { className: "device-kept", text: kept }));
  }
  return line;
}

/** A vital's last value as shown, with when it was measured; BP as systolic/diastolic. */
export function lastValue(key, values) {
  if (key !== "bp") {
    const last = values[key];
    return last ? { text: formatValue(key, last.value), taken_at: last.taken_at } : null;
  }
  const sys = values.systolic;
  const dia = values.diastolic;
  if (!sys && !dia) return null;
  const text = `${sys ? formatValue("systolic", sys.value) : "–"}/${dia ? formatValue("diastolic", dia.value) : "–"}`;
  const times = [sys, dia].filter(Boolean).map((v) => v.taken_at);
  return { text, taken_at: times.sort((a, b) => parseTime(a) - parseTime(b))[0] };
}

function valuesList(device) {
  const list = el("dl", { className: "device-values" });
  for (const [key, short, unit] of VITALS) {
    const last = lastValue(key, device.last_values);
    if (!last) continue;
    const item = el("div", { className: "device-value" }, [
      el("dt", { text: short }),
      el("dd", {}, [
        el("span", { className: "value", text: `${last.text} ${unit}` }),
        el("span", { className: "taken", text: ` at ${when(last.taken_at)}` }),
      ]),
    ]);
    // A value older than the screens' stale age is not the patient's now: it says so.
    item.classList.toggle("stale", ageMs(last.taken_at) > STALE_AFTER_MS);
    list.append(item);
  }
  if (!list.children.length) list.append(el("div", { className: "hint", text: "No vitals received yet" }));
  return list;
}

function seenLine(device) {
  const line = el("p", { className: "device-seen" });
  line.dataset.lastSeen = device.last_seen_at;
  fillSeen(line);
  return line;
}

function fillSeen(line) {
  const age = ageMs(line.dataset.lastSeen);
  const stale = age > STALE_AFTER_MS;
  line.classList.toggle("stale", stale);
  line.textContent = stale
    ? `Silent: last heard ${when(line.dataset.lastSeen)} (${ageText(age)})`
    : `Last heard ${when(line.dataset.lastSeen)} (${ageText(age)})`;
}

function chairOptions(select, device) {
  select.append(new Option(device.place ? "Move to another chair…" : "Choose a chair…", ""));
  const rooms = new Map();
  for (const chair of chairs) {
    const key = `${chair.site} · ${chair.room}`;
    if (!rooms.has(key)) rooms.set(key, []);
    rooms.get(key).push(chair);
  }
  for (const [label, list] of rooms) {
    const group = document.createElement("optgroup");
    group.label = label;
    for (const chair of list) {
      const who = chair.occupied_by ? (chair.occupied_by.simulated ? "drill running" : "patient in chair") : "free";
      const option = new Option(`${chair.name} (${who})`, String(chair.id));
      if (device.place && device.place.chair_id === chair.id) option.disabled = true;
      group.append(option);
    }
    select.append(group);
  }
}

function bindForm(device) {
  const id = `chair-${device.eui64}`;
  const select = el("select", { attrs: { id } });
  chairOptions(select, device);
  const bindButton = el("button", { className: "primary", text: device.place ? "Move" : "Bind", attrs: { type: "submit" } });
  const form = el("form", { className: "bind-form", attrs: { novalidate: "" } }, [
    el("label", { text: device.place ? "Move to" : "Bind to", attrs: { for: id } }),
    select,
    bindButton,
  ]);
  const error = el("span", { className: "field-error", attrs: { id: `${id}-error` } });
  error.hidden = true;
  select.setAttribute("aria-describedby", error.id);
  form.append(error);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!select.value) {
      error.textContent = "Choose the chair the device is at.";
      error.hidden = false;
      select.setAttribute("aria-invalid", "true");
      select.focus();
      return;
    }
    bind(device, Number(select.value), error);
  });
  if (device.place) {
    const unbind = el("button", { text: "Unbind", attrs: { type: "button" } });
    unbind.addEventListener("click", () => bind(device, null, error));
    form.append(unbind);
  }
  return form;
}

function deviceItem(device) {
  const name = device.label || "Device";
  // A monitor feeding a drill is a simulated one on this page too, marked as the ward marks it.
  const simulated = Boolean((device.place || device.routed || {}).simulated);
  const head = [el("h2", { className: "device-name", text: name })];
  if (simulated) head.push(el("span", { className: "badge sim", text: "SIMULATED" }));
  head.push(el("span", { className: "device-eui", text: `EUI-64 ${device.eui64}` }));
  const item = el("li", {
    className: "device panel",
    attrs: { "data-eui64": device.eui64, "data-simulated": String(simulated) },
  }, [
    el("div", { className: "device-head" }, head),
    chairLine(device),
    valuesList(device),
    seenLine(device),
  ]);
  const counts = [plural(device.messages, "message", "messages"), `from ${device.last_sender}`];
  const skipped = skippedText(device.skipped);
  item.append(el("p", { className: "hint device-counts", text: `${counts.join(" ")}.` }));
  if (skipped) item.append(el("p", { className: "device-skipped", text: `Not stored as vitals: ${skipped}.` }));
  if (device.place && device.bound_by) {
    item.append(el("p", { className: "hint", text: `Bound by ${device.bound_by} at ${when(device.bound_at)}.` }));
  }
  if (canBind(me.role)) item.append(bindForm(device));
  return item;
}

/** Devices waiting for a chair first (their messages are not on any chart), then by chair. */
function order(list) {
  const rank = (d) => (d.place ? 1 : d.kept ? 0 : 2);
  return [...list].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.place && b.place ? placeText(a.place).localeCompare(placeText(b.place), undefined, { numeric: true }) : 0) ||
      parseTime(b.last_seen_at) - parseTime(a.last_seen_at),
  );
}

function draw(data) {
  devices = data.devices;
  const list = $("device-list");
  // Not redrawn under a person choosing a chair: the picker would close in their hand.
  if (list.contains(document.activeElement) && document.activeElement.tagName === "SELECT") return;
  list.replaceChildren(...order(devices).map(deviceItem));
  $("devices-empty").hidden = devices.length > 0;
  const waiting = devices.filter((d) => !d.place && d.kept).length;
  $("device-count").textContent =
    `${plural(devices.length, "device", "devices")}` + (waiting ? `, ${waiting} not bound with messages waiting` : "");
  const senders = data.senders_without_device;
  $("senders-panel").hidden = senders.length === 0;
  $("sender-list").replaceChildren(
    ...senders.map((s) =>
      el("li", { text: `${s.sender}: ${plural(s.kept, "message", "messages")} kept, the last at ${when(s.last_received_at)}` }),
    ),
  );
}

// ---- loading and binding ----------------------------------------------------------------------

async function load() {
  const sent = Date.now();
  const [data, chairList] = await Promise.all([
    api("/api/devices"),
    canBind(me.role) ? api("/api/chairs") : Promise.resolve([]),
  ]);
  syncClock(data.server_time, sent, Date.now());
  chairs = chairList;
  draw(data);
}

async function bind(device, chairId, error) {
  if (busy) return;
  busy = true;
  error.hidden = true;
  const status = $("bind-status");
  try {
    const result = await api(`/api/devices/${device.eui64}`, { method: "PUT", body: { chair_id: chairId } });
    const name = device.label || device.eui64;
    if (chairId === null) {
      status.textContent = `${name} unbound: its messages wait here until it is bound again.`;
    } else {
      const place = result.device.place;
      let text = `${name} bound to ${placeText(place)}.`;
      if (result.attached_messages) {
        text += ` ${plural(result.attached_messages, "waiting message", "waiting messages")} added to the session there (${plural(result.stored_readings, "reading", "readings")}).`;
      }
      if (!place.session_id) {
        text += " No session is open on that chair: its messages wait here until one starts.";
      } else if (result.still_kept) {
        text += ` ${plural(result.still_kept, "message", "messages")} from before the session stay kept.`;
      }
      status.textContent = text;
    }
    await load();
    // The card was drawn anew: keep a keyboard user on it, not at the top of the page.
    const heading = document.querySelector(`[data-eui64="${device.eui64}"] .device-name`);
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    error.textContent = err.fields.chair_id || err.message;
    error.hidden = false;
  } finally {
    busy = false;
  }
}

async function start() {
  const alarms = new PatientAlarms(); // a patient's alarm is seen and heard here too
  me = await signedIn("devices-loading");
  if (!me) return;
  alarms.watch();
  $("devices-loading").hidden = true;
  if (me.role === "trainer") {
    $("trainer-note").hidden = false;
    return;
  }
  $("readonly-note").hidden = canBind(me.role);
  $("devices-ui").hidden = false;
  try {
    await load();
  } catch (err) {
    showPageError(`The devices could not be loaded. ${err.message}`, "devices-loading");
    $("devices-ui").hidden = true;
    return;
  }
  everySecond(() => document.querySelectorAll(".device-seen").forEach(fillSeen));
  setInterval(() => load().catch(() => {}), REFRESH_MS);
}

start();
