// The sites and chairs page: every site, its rooms and each room's chairs in the room's order.
// Everyone signed in reads it; administrators add, rename, reorder, move and retire (never
// delete: a chair that held sessions stays in their record). The server decides; its refusals
// are shown where they belong.

import { ApiError, api } from "./api.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { showPageError, signedIn } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";

const $ = (id) => document.getElementById(id);
const make = (tag, props = {}, ...children) => {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
};

let sites = [];
let editable = false;
let occupied = new Map(); // chair id -> occupant ({session_id, simulated})
let editing = null; // what the edit dialog changes: {save(body), focusBack}

function say(message) {
  const status = $("sites-status");
  status.textContent = message;
}

async function load() {
  const [list, chairs] = await Promise.all([
    api("/api/sites"),
    api("/api/chairs?include_retired=true"),
  ]);
  sites = list;
  occupied = new Map(chairs.filter((c) => c.occupied_by).map((c) => [c.id, c.occupied_by]));
}

function statusBadge(active, inUse) {
  if (!active) return make("span", { className: "badge retired-badge", textContent: "Retired" });
  if (inUse) {
    // A drill in the chair wears the drills' violet, as on the ward; a patient, the ward's green.
    const kind = inUse === "Drill running" ? "drill-badge" : "in-use-badge";
    return make("span", { className: `badge ${kind}`, textContent: inUse });
  }
  return "";
}

function button(text, label, onClick) {
  const b = make("button", { type: "button", className: "small", textContent: text });
  if (label) b.setAttribute("aria-label", label);
  b.addEventListener("click", () => onClick(b));
  return b;
}

/** A change sent to the server, then the page drawn again with what it says now. */
async function change(path, body, done, focusId) {
  try {
    await api(path, { method: body.method || "PATCH", body: body.data });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    say(`Not changed: ${err.message}`);
    $("sites-status").focus();
    return false;
  }
  await refresh();
  say(done);
  const back = focusId && document.getElementById(focusId);
  if (back) back.focus();
  return true;
}

function chairRow(chair, room, index, count) {
  const who = occupied.get(chair.id);
  const inUse = who ? (who.simulated ? "Drill running" : "Patient in chair") : "";
  const name = make("th", { scope: "row" }, chair.name);
  const cells = [
    make("td", { className: "order" }, String(index + 1)),
    name,
    make("td", {}, statusBadge(chair.active, inUse)),
  ];
  if (editable) {
    const actions = make("td", { className: "actions" });
    const id = (what) => `chair-${chair.id}-${what}`;
    const up = button("↑", `Move ${chair.name} up`, () => swap(room, index, index - 1, id("up")));
    up.id = id("up");
    up.disabled = index === 0;
    const down = button("↓", `Move ${chair.name} down`, () => swap(room, index, index + 1, id("down")));
    down.id = id("down");
    down.disabled = index === count - 1;
    const rename = button("Rename", `Rename ${chair.name}`, (b) =>
      openEdit({
        title: `Rename ${chair.name}`,
        label: "New name",
        value: chair.name,
        maxLength: 32,
        focusBack: b,
        save: (data) => api(`/api/chairs/${chair.id}`, { method: "PATCH", body: { name: data.name } }),
        done: (saved) => `${chair.name} is now ${saved.name}.`,
      }),
    );
    const otherRooms = allRooms().filter((r) => r.id !== room.id);
    const moveButton = button("Move…", `Move ${chair.name} to another room`, (b) =>
      openEdit({
        title: `Move ${chair.name}`,
        rooms: otherRooms,
        focusBack: b,
        save: (data) => api(`/api/chairs/${chair.id}`, { method: "PATCH", body: { room_id: data.room_id } }),
        done: (saved) => `${chair.name} moved to ${saved.site} · ${saved.room}.`,
      }),
    );
    moveButton.disabled = otherRooms.length === 0;
    const retire = chair.active
      ? button("Retire", `Retire ${chair.name}`, () =>
          change(`/api/chairs/${chair.id}`, { data: { active: false } },
            `${chair.name} retired: no new session starts on it.` +
              (who ? " The session on it now runs on until it ends." : ""), id("back")),
        )
      : button("Bring back", `Bring ${chair.name} back into use`, () =>
          change(`/api/chairs/${chair.id}`, { data: { active: true } }, `${chair.name} is in use again.`, id("retire")),
        );
    retire.id = chair.active ? id("retire") : id("back");
    actions.append(make("div", { className: "action-row" }, up, down, rename, moveButton, retire));
    cells.push(actions);
  }
  const row = make("tr", {}, ...cells);
  if (!chair.active) row.dataset.retired = "true";
  return row;
}

/** Swap a chair with its neighbour in the room's order (positions renumbered 0, 1, 2…). */
async function swap(room, from, to, focusId) {
  const order = room.chairs.map((c) => c.id);
  [order[from], order[to]] = [order[to], order[from]];
  try {
    for (const [position, id] of order.entries()) {
      const chair = room.chairs.find((c) => c.id === id);
      if (chair.position !== position) {
        await api(`/api/chairs/${id}`, { method: "PATCH", body: { position } });
      }
    }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    say(`Not moved: ${err.message}`);
    return;
  }
  await refresh();
  const moved = room.chairs[from];
  say(`${moved.name} is now number ${to + 1} in ${room.name}.`);
  const back = document.getElementById(focusId);
  if (back && !back.disabled) back.focus();
  else document.getElementById(`chair-${moved.id}-${focusId.endsWith("up") ? "down" : "up"}`)?.focus();
}

function allRooms() {
  return sites.flatMap((site) => site.rooms.map((room) => ({ ...room, site })));
}

function addChairForm(room) {
  const inputId = `room-${room.id}-chair`;
  const input = make("input", { id: inputId, name: "name", maxLength: 32, autocomplete: "off", placeholder: "e.g. Chair 7" });
  const errors = make("div", { className: "form-errors", role: "alert", tabIndex: -1 });
  const form = make(
    "form",
    { className: "inline-form", noValidate: true },
    errors,
    make("div", { className: "field" }, make("label", { htmlFor: inputId, textContent: `Add a chair to ${room.name}` }), input),
    make("button", { type: "submit", textContent: "Add chair" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const name = input.value.trim();
    if (!name) {
      showFieldError(input, "Enter the chair's name, as it is labelled in the room.");
      input.focus();
      return;
    }
    try {
      const chair = await api("/api/chairs", { method: "POST", body: { room_id: room.id, name } });
      await refresh();
      say(`${chair.name} added to ${room.name}.`);
      document.getElementById(inputId)?.focus();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showFieldError(input, err.fields.name || err.message);
      input.focus();
    }
  });
  return form;
}

function roomSection(site, room) {
  const titleId = `room-${room.id}-title`;
  const head = make(
    "div",
    { className: "room-head" },
    make("h3", { id: titleId }, room.name),
    statusBadge(room.active, ""),
  );
  if (editable) {
    head.append(
      button("Rename", `Rename ${room.name}`, (b) =>
        openEdit({
          title: `Rename ${room.name}`,
          label: "New name",
          value: room.name,
          maxLength: 80,
          focusBack: b,
          save: (data) => api(`/api/sites/${site.id}/rooms/${room.id}`, { method: "PATCH", body: { name: data.name } }),
          done: (saved) => `${room.name} is now ${saved.name}.`,
        }),
      ),
      room.active
        ? button("Retire room", `Retire ${room.name}`, () =>
            change(`/api/sites/${site.id}/rooms/${room.id}`, { data: { active: false } },
              `${room.name} retired: no new session starts on its chairs.`),
          )
        : button("Bring back", `Bring ${room.name} back into use`, () =>
            change(`/api/sites/${site.id}/rooms/${room.id}`, { data: { active: true } }, `${room.name} is in use again.`),
          ),
    );
  }
  const section = make("section", { className: "room" }, head);
  section.setAttribute("aria-labelledby", titleId);
  if (!room.active) section.dataset.retired = "true";
  if (room.chairs.length) {
    const headers = ["#", "Chair", "Status", ...(editable ? ["Change"] : [])].map((text) =>
      make("th", { scope: "col", textContent: text }),
    );
    const table = make(
      "table",
      { className: "chairs" },
      make("caption", { className: "visually-hidden", textContent: `Chairs of ${site.name} · ${room.name}, in the room's order` }),
      make("thead", {}, make("tr", {}, ...headers)),
      make("tbody", {}, ...room.chairs.map((chair, i) => chairRow(chair, room, i, room.chairs.length))),
    );
    section.append(table);
  } else {
    section.append(make("p", { className: "hint", textContent: "No chairs yet." }));
  }
  if (editable) section.append(addChairForm(room));
  return section;
}

function addRoomForm(site) {
  const inputId = `site-${site.id}-room`;
  const input = make("input", { id: inputId, name: "name", maxLength: 80, autocomplete: "off", placeholder: "e.g. Main room" });
  const form = make(
    "form",
    { className: "inline-form", noValidate: true },
    make("div", { className: "field" }, make("label", { htmlFor: inputId, textContent: `Add a room to ${site.name}` }), input),
    make("button", { type: "submit", textContent: "Add room" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const name = input.value.trim();
    if (!name) {
      showFieldError(input, "Enter the room's name.");
      input.focus();
      return;
    }
    try {
      const room = await api(`/api/sites/${site.id}/rooms`, { method: "POST", body: { name } });
      await refresh();
      say(`${room.name} added to ${site.name}.`);
      document.getElementById(`room-${room.id}-chair`)?.focus();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showFieldError(input, err.fields.name || err.message);
      input.focus();
    }
  });
  return form;
}

function siteSection(site) {
  const titleId = `site-${site.id}-title`;
  const head = make("div", { className: "site-head" }, make("h2", { id: titleId }, site.name), statusBadge(site.active, ""));
  if (editable) {
    head.append(
      button("Rename", `Rename ${site.name}`, (b) =>
        openEdit({
          title: `Rename ${site.name}`,
          label: "New name",
          value: site.name,
          maxLength: 80,
          focusBack: b,
          save: (data) => api(`/api/sites/${site.id}`, { method: "PATCH", body: { name: data.name } }),
          done: (saved) => `${site.name} is now ${saved.name}.`,
        }),
      ),
      site.active
        ? button("Retire site", `Retire ${site.name}`, () =>
            change(`/api/sites/${site.id}`, { data: { active: false } }, `${site.name} retired: no new session starts there.`),
          )
        : button("Bring back", `Bring ${site.name} back into use`, () =>
            change(`/api/sites/${site.id}`, { data: { active: true } }, `${site.name} is in use again.`),
          ),
    );
  }
  const section = make("section", { className: "panel site" }, head, ...site.rooms.map((room) => roomSection(site, room)));
  section.setAttribute("aria-labelledby", titleId);
  if (!site.active) section.dataset.retired = "true";
  if (!site.rooms.length) section.append(make("p", { className: "hint", textContent: "No rooms yet: add one, then its chairs." }));
  if (editable) section.append(addRoomForm(site));
  return section;
}

function draw() {
  $("sites").replaceChildren(...sites.map(siteSection));
  if (!sites.length) {
    $("sites").append(
      make("p", {
        className: "page-message",
        textContent: editable
          ? "No sites yet. Add the clinic's site below, then its rooms and chairs."
          : "No sites configured yet.",
      }),
    );
  }
}

async function refresh() {
  await load();
  draw();
}

// ---- the edit dialog: rename (a name) or move (a room) ------------------------------------------

const dialog = $("edit-dialog");
const editForm = $("edit-form");

function openEdit({ title, label, value, maxLength, rooms, focusBack, save, done }) {
  clearErrors(editForm);
  $("edit-title").textContent = title;
  const moving = Boolean(rooms);
  $("edit-name-field").hidden = moving;
  $("edit-room-field").hidden = !moving;
  if (moving) {
    $("edit-room").replaceChildren(...rooms.map((r) => new Option(`${r.site.name} · ${r.name}`, String(r.id))));
  } else {
    $("edit-name-label").textContent = label;
    $("edit-name").maxLength = maxLength;
    $("edit-name").value = value;
  }
  $("edit-submit").textContent = moving ? "Move" : "Save";
  editing = { save, done, focusBack, moving };
  dialog.showModal();
  (moving ? $("edit-room") : $("edit-name")).focus();
}

editForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(editForm);
  const data = editing.moving ? { room_id: Number($("edit-room").value) } : { name: $("edit-name").value.trim() };
  if (!editing.moving && !data.name) {
    showFieldError($("edit-name"), "Enter the new name.");
    $("edit-name").focus();
    return;
  }
  let saved;
  try {
    saved = await editing.save(data);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const input = editing.moving ? $("edit-room") : $("edit-name");
    const message = err.fields.name || err.fields.room_id;
    if (message || err.status === 409) showFieldError(input, message || err.message);
    else showFormErrors(editForm, [err.message]);
    input.focus();
    return;
  }
  const { done, focusBack } = editing;
  dialog.close();
  await refresh();
  say(done(saved));
  if (focusBack && document.contains(focusBack)) focusBack.focus();
  else $("sites-status").focus();
});

$("edit-cancel").addEventListener("click", () => dialog.close());

// ---- add a site ------------------------------------------------------------------------------

$("site-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = $("site-form");
  clearErrors(form);
  const input = $("site-name");
  const name = input.value.trim();
  if (!name) {
    showFieldError(input, "Enter the site's name.");
    input.focus();
    return;
  }
  try {
    const site = await api("/api/sites", { method: "POST", body: { name } });
    input.value = "";
    await refresh();
    say(`${site.name} added. Add its rooms, then their chairs.`);
    document.getElementById(`site-${site.id}-room`)?.focus();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showFieldError(input, err.fields.name || err.message);
    input.focus();
  }
});

async function start() {
  const alarms = new PatientAlarms(); // a patient's alarm is seen and heard here too
  const me = await signedIn("sites-loading");
  if (!me) return;
  alarms.watch();
  editable = me.role === "admin";
  $("readonly-note").hidden = editable;
  $("add-site").hidden = !editable;
  try {
    await refresh();
  } catch (err) {
    showPageError(`The sites could not be loaded: ${err.message}`, "sites-loading");
    return;
  }
  $("sites-loading").hidden = true;
}

start();
