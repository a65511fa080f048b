// The accounts page (admins): people's accounts (create, role, disable/enable, reset a password)
// and API tokens (create with a role and an expiry, revoke). Secrets (a reset's one-time password,
// a token) are shown once, in a dialog, and kept nowhere in the page afterwards. The server
// decides (the last active admin, the password policy); its refusals are shown as it words them.

import { api } from "./api.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { showPageError, signedIn } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";
import { dateTimeText, ROLES, roleName, showAdminLinks } from "./accounts-shared.js";

const $ = (id) => document.getElementById(id);

let me = null;
let users = [];
let tokens = [];

// ---- messages -------------------------------------------------------------------------------

function say(message) {
  $("page-errors").replaceChildren();
  $("page-status").textContent = message;
}

/** A refusal of an action taken from a table row: at the top, where it is read, and focused;
 *  the lists are read again, as the refusal may mean they changed elsewhere. */
function refuse(err) {
  $("page-status").textContent = "";
  $("page-errors").textContent = err.message;
  $("page-errors").focus();
  Promise.all([loadUsers(), loadTokens()]).catch(() => {});
}

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

function text(tag, className, content) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  el.textContent = content;
  return el;
}

function badge(label, kind) {
  return text("span", `badge account-badge ${kind}`, label);
}

function button(label, className, onClick) {
  const el = text("button", `small ${className}`.trim(), label);
  el.type = "button";
  el.addEventListener("click", onClick);
  return el;
}

/** `td` with its content in one box, labelled with its column (shown beside it on a phone). */
function labelled(td, label) {
  td.dataset.label = label;
  const box = document.createElement("div");
  box.append(...td.childNodes);
  td.append(box);
  return td;
}

// ---- people ---------------------------------------------------------------------------------

/** The one active admin, when there is only one: they may not be disabled or demoted. */
function lastActiveAdmin() {
  const admins = users.filter((u) => u.role === "admin" && u.is_active);
  return admins.length === 1 ? admins[0] : null;
}

function roleSelect(user, locked) {
  const select = document.createElement("select");
  select.className = "role-select";
  select.setAttribute("aria-label", `Role of ${user.display_name}`);
  for (const role of ROLES) {
    const option = new Option(roleName(role), role, false, role === user.role);
    select.append(option);
  }
  select.disabled = locked;
  select.addEventListener("change", () => changeRole(user, select));
  return select;
}

function userRow(user) {
  const tr = document.createElement("tr");
  tr.dataset.userId = String(user.id);
  tr.dataset.username = user.username;
  const isMe = me && user.username === me.name;
  const locked = lastActiveAdmin()?.id === user.id;

  const name = cell(text("strong", "", user.display_name), text("span", "username", user.username));
  if (isMe) name.append(text("span", "you", "(you)"));

  const status = cell(user.is_active ? badge("Active", "active") : badge("Disabled", "disabled"));
  if (user.must_change_password) status.append(badge("New password due", "pending"));
  if (locked) status.append(text("span", "locked-note", "The last active admin: make another account admin first."));

  const seen = user.last_login_at ? dateTimeText(user.last_login_at) : "Never";
  const actions = document.createElement("td");
  actions.className = "actions";
  if (user.is_active) {
    const disable = button("Disable", "danger-outline", () => setActive(user, false));
    disable.disabled = locked;
    if (locked) disable.title = "The last active admin cannot be disabled";
    actions.append(disable);
  } else {
    actions.append(button("Enable", "", () => setActive(user, true)));
  }
  if (isMe) {
    const link = text("a", "button small", "Change my password");
    link.href = "/password?next=%2Faccounts";
    actions.append(link);
  } else {
    actions.append(button("Reset password", "", () => resetPassword(user)));
  }

  tr.append(
    labelled(name, "Name"),
    labelled(cell(roleSelect(user, locked)), "Role"),
    labelled(status, "Status"),
    labelled(cell(text("span", user.last_login_at ? "" : "muted", seen)), "Last sign-in"),
    actions,
  );
  return tr;
}

function drawUsers() {
  $("users-body").replaceChildren(...users.map(userRow));
  const active = users.filter((u) => u.is_active).length;
  $("users-count").textContent = `(${users.length}, ${active} active)`;
}

async function loadUsers() {
  users = await api("/api/users");
  drawUsers();
}

async function changeRole(user, select) {
  const to = select.value;
  if (!window.confirm(`Change the role of ${user.display_name} from ${roleName(user.role)} to ${roleName(to)}?`)) {
    select.value = user.role;
    return;
  }
  try {
    await api(`/api/users/${user.id}`, { method: "PATCH", body: { role: to } });
    await loadUsers();
    say(`${user.display_name} is now ${roleName(to)}.`);
  } catch (err) {
    select.value = user.role;
    refuse(err);
  }
}

async function setActive(user, active) {
  if (
    !active &&
    !window.confirm(
      `Disable ${user.display_name}? They are signed out everywhere at once and cannot sign in until enabled again.`,
    )
  ) {
    return;
  }
  try {
    await api(`/api/users/${user.id}`, { method: "PATCH", body: { is_active: active } });
    await loadUsers();
    say(active ? `${user.display_name} can sign in again.` : `${user.display_name} is disabled and signed out.`);
  } catch (err) {
    refuse(err);
  }
}

async function resetPassword(user) {
  if (
    !window.confirm(
      `Reset the password of ${user.display_name}? Their sign-ins end now; you will see a one-time password to give them.`,
    )
  ) {
    return;
  }
  let answer;
  try {
    answer = await api(`/api/users/${user.id}/password-reset`, { method: "POST" });
  } catch (err) {
    refuse(err);
    return;
  }
  await loadUsers().catch(() => {});
  say(`${user.display_name}'s password was reset; their sign-ins have ended.`);
  showSecret({
    title: "One-time password",
    intro: `The one-time password for ${user.display_name} (${user.username}):`,
    secret: answer.password,
    note: "Give it to them in person. When they sign in with it they choose a password of their own; until then they can do nothing else.",
  });
}

// ---- tokens ---------------------------------------------------------------------------------

function tokenState(token) {
  if (token.revoked_at) return ["Revoked", "disabled"];
  if (token.expires_at && new Date(token.expires_at) <= new Date()) return ["Expired", "disabled"];
  return ["Active", "active"];
}

function tokenRow(token) {
  const tr = document.createElement("tr");
  tr.dataset.tokenId = String(token.id);
  tr.dataset.name = token.name;
  const [state, kind] = tokenState(token);
  const name = cell(text("strong", "", token.name), text("code", "username", `${token.hint}…`));
  const actions = document.createElement("td");
  actions.className = "actions";
  if (state === "Active") actions.append(button("Revoke", "danger-outline", () => revoke(token)));
  const expires = token.expires_at ? dateTimeText(token.expires_at) : "Never";
  const used = token.last_used_at ? dateTimeText(token.last_used_at) : "Never";
  tr.append(
    labelled(name, "Name"),
    labelled(cell(roleName(token.role)), "Role"),
    labelled(cell(badge(state, kind)), "Status"),
    labelled(cell(text("span", token.expires_at ? "" : "muted", expires)), "Expires"),
    labelled(cell(text("span", token.last_used_at ? "" : "muted", used)), "Last used"),
    actions,
  );
  return tr;
}

function drawTokens() {
  // Working tokens first, then the revoked and expired, each by name.
  const order = (t) => (tokenState(t)[0] === "Active" ? 0 : 1);
  const sorted = [...tokens].sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
  $("tokens-body").replaceChildren(...sorted.map(tokenRow));
  $("tokens-table").hidden = !tokens.length;
  $("tokens-empty").hidden = tokens.length > 0;
  const active = tokens.filter((t) => tokenState(t)[0] === "Active").length;
  $("tokens-count").textContent = `(${active} active)`;
}

async function loadTokens() {
  tokens = await api("/api/tokens");
  drawTokens();
}

async function revoke(token) {
  if (!window.confirm(`Revoke the token ${token.name}? Whatever uses it is refused from now on.`)) return;
  try {
    await api(`/api/tokens/${token.id}`, { method: "DELETE" });
    await loadTokens();
    say(`The token ${token.name} is revoked.`);
  } catch (err) {
    refuse(err);
  }
}

// ---- dialogs --------------------------------------------------------------------------------

function fillRoles(select, chosen) {
  select.replaceChildren(...ROLES.map((role) => new Option(roleName(role), role, false, role === chosen)));
}

/** Show a server refusal beside its field (`inputs` maps the API's field to the input). */
function showRefusal(form, err, inputs) {
  const general = [...(err.general || [])];
  let first = null;
  for (const [field, message] of Object.entries(err.fields || {})) {
    const input = inputs[field];
    if (input) {
      showFieldError(input, message);
      first = first || input;
    } else {
      general.push(message);
    }
  }
  if (!first && !general.length) general.push(err.message);
  showFormErrors(form, general);
  (general.length ? form.querySelector(".form-errors") : first).focus();
}

const userInputs = {
  username: $("user-username"),
  display_name: $("user-display-name"),
  role: $("user-role"),
  password: $("user-password"),
};

$("new-user").addEventListener("click", () => {
  $("user-form").reset();
  clearErrors($("user-form"));
  fillRoles($("user-role"), "nurse");
  $("user-dialog").showModal();
  $("user-username").focus();
});
$("user-cancel").addEventListener("click", () => $("user-dialog").close());

$("user-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = $("user-form");
  clearErrors(form);
  const missing = [];
  if (!userInputs.username.value.trim()) missing.push([userInputs.username, "Enter a username."]);
  if (!userInputs.password.value) missing.push([userInputs.password, "Enter a first password."]);
  if (missing.length) {
    for (const [input, message] of missing) showFieldError(input, message);
    missing[0][0].focus();
    return;
  }
  const body = {
    username: userInputs.username.value.trim(),
    role: userInputs.role.value,
    password: userInputs.password.value,
    must_change_password: $("user-must-change").checked,
  };
  if (userInputs.display_name.value.trim()) body.display_name = userInputs.display_name.value.trim();
  $("user-submit").disabled = true;
  try {
    const created = await api("/api/users", { method: "POST", body });
    $("user-dialog").close();
    await loadUsers();
    say(`Created ${created.display_name} (${created.username}), ${roleName(created.role)}.`);
  } catch (err) {
    showRefusal(form, err, userInputs);
  } finally {
    $("user-submit").disabled = false;
  }
});

const tokenInputs = { name: $("token-name"), role: $("token-role"), expires_at: $("token-expiry") };

$("new-token").addEventListener("click", () => {
  $("token-form").reset();
  clearErrors($("token-form"));
  fillRoles($("token-role"), "staff");
  $("token-dialog").showModal();
  $("token-name").focus();
});
$("token-cancel").addEventListener("click", () => $("token-dialog").close());

$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = $("token-form");
  clearErrors(form);
  if (!tokenInputs.name.value.trim()) {
    showFieldError(tokenInputs.name, "Enter a name for the token.");
    tokenInputs.name.focus();
    return;
  }
  const days = tokenInputs.expires_at.value;
  const body = {
    name: tokenInputs.name.value.trim(),
    role: tokenInputs.role.value,
    expires_at: days ? new Date(Date.now() + Number(days) * 86400000).toISOString() : null,
  };
  $("token-submit").disabled = true;
  try {
    const created = await api("/api/tokens", { method: "POST", body });
    $("token-dialog").close();
    await loadTokens();
    say(`Created the token ${created.name} (${roleName(created.role)}).`);
    showSecret({
      title: "API token",
      intro: `The secret of the token ${created.name}:`,
      secret: created.token,
      note: "Put it in the machine's configuration now: it cannot be shown again. If it is lost, revoke the token and make a new one.",
    });
  } catch (err) {
    showRefusal(form, err, tokenInputs);
  } finally {
    $("token-submit").disabled = false;
  }
});

function showSecret({ title, intro, secret, note }) {
  $("secret-title").textContent = title;
  $("secret-intro").textContent = intro;
  $("secret-value").textContent = secret;
  $("secret-note-text").textContent = note;
  $("secret-copy").hidden = !navigator.clipboard; // only on HTTPS or this machine
  $("secret-copy").textContent = "Copy";
  $("secret-dialog").showModal();
  $("secret-done").focus();
}

$("secret-copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("secret-value").textContent);
    $("secret-copy").textContent = "Copied";
  } catch {
    $("secret-copy").textContent = "Copy failed: select it instead";
  }
});

// Closed any way (Done or Escape), the secret leaves the page.
$("secret-dialog").addEventListener("close", () => {
  $("secret-value").textContent = "";
});
$("secret-done").addEventListener("click", () => $("secret-dialog").close());

// ---- start ----------------------------------------------------------------------------------

async function start() {
  const alarms = new PatientAlarms(); // a patient's alarm is seen and heard here too
  me = await signedIn("accounts-loading");
  if (!me) return;
  if (me.must_change_password) {
    location.assign(`/password?next=${encodeURIComponent(location.pathname)}`);
    return;
  }
  alarms.watch();
  showAdminLinks(me);
  if (me.role !== "admin") {
    $("accounts-loading").hidden = true;
    $("not-admin").hidden = false;
    return;
  }
  try {
    await Promise.all([loadUsers(), loadTokens()]);
  } catch (err) {
    showPageError(`The accounts could not be loaded. ${err.message}`, "accounts-loading");
    return;
  }
  $("accounts-loading").hidden = true;
  $("accounts-admin").hidden = false;
}

start();
