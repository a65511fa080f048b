// The alarm-limit profiles page: everyone signed in reads the clinic default and the protocol
// profiles with their change history; administrators change them (PUT replaces the whole
// document) and add new ones as copies. The server decides; its refusals are shown by the field.

import { api } from "./api.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { showPageError, signedIn } from "./header.js";
import { describePath, diffLimits } from "./limits-diff.js";
import { ProfileForm } from "./limits-form.js";
import { PatientAlarms } from "./page-alarms.js";
import { localDateTime, localTime } from "./time.js";

const $ = (id) => document.getElementById(id);

/** Who may change limit profiles (server: AdminActor). */
export function canEditProfiles(role) {
  return role === "admin";
}

const form = $("profile-form");
const nameInput = $("profile-name");
const saveButton = $("profile-save");
const status = $("profile-status");
const editor = new ProfileForm($("profile-body"));
const newDialog = $("new-dialog");
const newForm = $("new-form");
const newName = $("new-name");

let profiles = [];
let current = null;
let editable = false;
let saving = false;
let historyRequest = 0;

// ---- the profile list ---------------------------------------------------------------------

function profileIdInAddress() {
  const id = Number(new URLSearchParams(location.search).get("profile"));
  return Number.isInteger(id) && id > 0 ? id : null;
}

function addressOf(profile) {
  return `/limits?profile=${profile.id}`;
}

async function loadProfiles() {
  profiles = await api("/api/limits/profiles");
}

function drawList() {
  const items = profiles.map((profile) => {
    const link = document.createElement("a");
    link.href = addressOf(profile);
    link.dataset.profileId = String(profile.id);
    const name = document.createElement("span");
    name.className = "profile-name";
    name.textContent = profile.name;
    link.append(name);
    if (profile.is_default) {
      const badge = document.createElement("span");
      badge.className = "badge default-badge";
      badge.textContent = "Default";
      link.append(" ", badge);
    }
    if (current && profile.id === current.id) link.setAttribute("aria-current", "page");
    const li = document.createElement("li");
    li.append(link);
    return li;
  });
  $("profile-list").replaceChildren(...items);
}

/** Ask before unsaved changes are thrown away; true when there are none or the person agrees. */
function mayDiscard() {
  if (!dirtyCount()) return true;
  return window.confirm(`Discard your unsaved changes to “${current.name}”?`);
}

$("profile-list").addEventListener("click", (event) => {
  const link = event.target.closest("a[data-profile-id]");
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  const profile = profiles.find((p) => String(p.id) === link.dataset.profileId);
  if (!profile || (current && profile.id === current.id) || !mayDiscard()) return;
  history.pushState(null, "", addressOf(profile));
  showProfile(profile);
  $("profile-title").focus();
});

window.addEventListener("popstate", () => {
  const profile = profiles.find((p) => p.id === profileIdInAddress()) || profiles[0];
  if (!profile || (current && profile.id === current.id)) return;
  if (!mayDiscard()) {
    history.pushState(null, "", addressOf(current));
    return;
  }
  showProfile(profile);
});

// ---- one profile --------------------------------------------------------------------------

function showProfile(profile, { saved = "" } = {}) {
  current = profile;
  document.title = `${profile.name} · Alarm limits · Vigil`;
  $("profile-title").textContent = profile.name;
  $("profile-default").hidden = !profile.is_default;
  const when = document.createElement("time");
  when.dateTime = profile.updated_at;
  when.textContent = localDateTime(profile.updated_at);
  $("profile-updated").replaceChildren("Last changed ", when, ` by ${profile.updated_by}`);
  nameInput.value = profile.name;
  clearAllErrors();
  editor.show(profile.limits, { editable });
  status.textContent = saved;
  refreshDirty();
  drawList();
  loadHistory(profile);
}

function dirtyCount() {
  if (!editable || !current) return 0;
  const renamed = nameInput.value.trim() !== current.name;
  if (renamed) nameInput.dataset.changed = "true";
  else delete nameInput.dataset.changed;
  return editor.changeCount() + (renamed ? 1 : 0);
}

function refreshDirty() {
  const count = dirtyCount();
  saveButton.disabled = saving || count === 0;
  $("dirty-note").textContent = count ? `${count} unsaved change${count === 1 ? "" : "s"}` : "";
}

form.addEventListener("input", () => {
  status.textContent = "";
  refreshDirty();
});
form.addEventListener("change", refreshDirty);

window.addEventListener("beforeunload", (event) => {
  if (!dirtyCount()) return;
  event.preventDefault();
  event.returnValue = ""; // older browsers need a value to ask
});

function clearAllErrors() {
  clearErrors(form);
  editor.clearRows();
}

function focusFirstError() {
  const invalid = form.querySelector("[aria-invalid='true']");
  if (invalid) invalid.focus();
  else $("profile-errors").focus();
}

/** Place each of the server's complaints beside its field, or at the top of the form. */
function showSaveError(err) {
  const general = [];
  if (err.status === 422 && err.paths && err.paths.length) {
    for (const { loc, message } of err.paths) {
      if (loc[0] === "name") showFieldError(nameInput, message);
      else if (loc[0] === "limits" && editor.showError(loc.slice(1), message)) continue;
      else if (loc[0] === "limits" && loc.length > 1) general.push(`${describePath(loc.slice(1))}: ${message}`);
      else general.push(message);
    }
  } else if (err.status === 409 && /already exists/.test(err.message)) {
    showFieldError(nameInput, err.message);
  } else {
    general.push(err.message);
  }
  showFormErrors(form, general);
  focusFirstError();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!editable || saving || !dirtyCount()) return;
  clearAllErrors();
  const { limits, problems } = editor.document();
  const name = nameInput.value.trim();
  if (!name) problems.push({ control: nameInput, message: "Required: give the profile a name." });
  if (problems.length) {
    for (const { control, message } of problems) {
      if (control === nameInput) showFieldError(nameInput, message);
      else editor.fieldError(control, message);
    }
    showFormErrors(form, [`${problems.length === 1 ? "One value needs" : `${problems.length} values need`} attention; nothing was saved.`]);
    focusFirstError();
    return;
  }
  saving = true;
  refreshDirty();
  status.textContent = "Saving…";
  let updated;
  try {
    // based_on: a colleague's save since this page loaded is refused (409), never undone.
    const body = { name, limits, based_on: current.updated_at };
    updated = await api(`/api/limits/profiles/${current.id}`, { method: "PUT", body });
  } catch (err) {
    saving = false;
    status.textContent = "";
    refreshDirty();
    showSaveError(err);
    return;
  }
  saving = false;
  try {
    await loadProfiles(); // a new name may move it in the list
  } catch {
    profiles = profiles.map((p) => (p.id === updated.id ? updated : p));
  }
  showProfile(updated, { saved: `Saved by ${updated.updated_by} at ${localTime(updated.updated_at, { seconds: false })}.` });
  status.focus();
});

// ---- change history -----------------------------------------------------------------------

async function loadHistory(profile) {
  const request = ++historyRequest;
  const message = $("history-message");
  const list = $("history-list");
  message.textContent = "Loading…";
  message.hidden = false;
  list.replaceChildren();
  let changes;
  try {
    changes = await api(`/api/limits/profiles/${profile.id}/changes`);
  } catch (err) {
    if (request !== historyRequest) return;
    list.replaceChildren();
    message.textContent = `The history could not be loaded. ${err.message}`;
    return;
  }
  if (request !== historyRequest) return;
  message.textContent = changes.length ? "" : "No changes recorded since the profile was set up.";
  message.hidden = changes.length > 0;
  list.replaceChildren(...changes.map(changeItem));
}

function changeItem(change) {
  const li = document.createElement("li");
  li.className = "change";
  const meta = document.createElement("p");
  meta.className = "change-meta";
  const when = document.createElement("time");
  when.dateTime = change.changed_at;
  when.textContent = localDateTime(change.changed_at);
  const who = document.createElement("strong");
  who.className = "change-who";
  who.textContent = change.changed_by;
  meta.append(when, " · ", who);
  li.append(meta);

  if (change.old === null || change.old === undefined) {
    li.append(note("Profile created."));
    return li;
  }
  const lines = diffLimits(change.old, change.new);
  if (!lines.length) {
    li.append(note("Saved without changing any value."));
    return li;
  }
  const ul = document.createElement("ul");
  ul.className = "change-lines";
  for (const line of lines) {
    const item = document.createElement("li");
    const what = document.createElement("span");
    what.className = "change-what";
    what.textContent = line.label;
    const from = document.createElement("span");
    from.className = "change-from";
    from.textContent = line.from;
    const to = document.createElement("strong");
    to.className = "change-to";
    to.textContent = line.to;
    item.append(what, ": ", from, " → ", to);
    ul.append(item);
  }
  li.append(ul);
  return li;
}

function note(text) {
  const p = document.createElement("p");
  p.className = "change-note";
  p.textContent = text;
  return p;
}

// ---- a new profile ------------------------------------------------------------------------

$("new-profile").addEventListener("click", () => {
  if (!current || !mayDiscard()) return;
  if (dirtyCount()) showProfile(current); // discarded: the copy is of the profile as saved
  clearErrors(newForm);
  $("new-source").textContent = current.name;
  newName.value = `${current.name} (copy)`;
  $("new-submit").disabled = false;
  newDialog.returnValue = "";
  newDialog.showModal();
  newName.focus();
  newName.select();
});

$("new-cancel").addEventListener("click", () => newDialog.close());

newDialog.addEventListener("close", () => {
  if (newDialog.returnValue !== "created") $("new-profile").focus();
});

newForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(newForm);
  const name = newName.value.trim();
  if (!name) {
    showFieldError(newName, "Required: give the new profile a name.");
    newName.focus();
    return;
  }
  const source = current;
  $("new-submit").disabled = true;
  let created;
  try {
    created = await api("/api/limits/profiles", { method: "POST", body: { name, limits: source.limits } });
  } catch (err) {
    $("new-submit").disabled = false;
    const nameError = err.status === 409 ? err.message : (err.fields || {}).name;
    if (nameError) {
      showFieldError(newName, nameError);
      newName.focus();
    } else {
      showFormErrors(newForm, [err.message]);
      $("new-errors").focus();
    }
    return;
  }
  newDialog.close("created");
  try {
    await loadProfiles();
  } catch {
    profiles = [...profiles, created];
  }
  history.pushState(null, "", addressOf(created));
  showProfile(created, { saved: `Created as a copy of “${source.name}”. Change its limits below and save.` });
  $("profile-title").focus();
});

// ---- start ----------------------------------------------------------------------------------

const showLoadError = (message) => showPageError(message, "limits-loading");

async function start() {
  const alarms = new PatientAlarms(); // a patient's alarm is seen and heard here too
  const me = await signedIn("limits-loading");
  if (!me) return;
  alarms.watch();
  editable = canEditProfiles(me.role);
  try {
    await loadProfiles();
  } catch (err) {
    showLoadError(`The limit profiles could not be loaded. ${err.message}`);
    return;
  }
  if (!profiles.length) {
    showLoadError("There are no limit profiles yet. Restart the server to create the clinic default.");
    return;
  }
  $("readonly-note").hidden = editable;
  $("name-field").hidden = !editable;
  $("form-actions").hidden = !editable;
  $("new-profile").hidden = !editable;
  $("limits-loading").hidden = true;
  $("limits-admin").hidden = false;
  const wanted = profiles.find((p) => p.id === profileIdInAddress());
  if (!wanted) history.replaceState(null, "", addressOf(profiles[0]));
  showProfile(wanted || profiles[0]);
}

start();
