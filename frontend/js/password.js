// Changing one's own password (/password): the current one proves it is you, the new one twice.
// Reached from the signed-in name in the header, and after signing in with a reset's one-time
// password (the server then refuses everything else until a new one is chosen).

import { api } from "./api.js";
import { showAdminLinks } from "./accounts-shared.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { signedIn } from "./header.js";
import { PatientAlarms } from "./page-alarms.js";

const $ = (id) => document.getElementById(id);
const form = $("password-form");
const current = $("current-password");
const fresh = $("new-password");
const repeat = $("repeat-password");
const submit = $("password-submit");

/** Only a path on this site, as on the sign-in page. */
export function safeNext(next) {
  if (next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") && !next.startsWith("/login")) {
    return next;
  }
  return null;
}

/**
 * Check the two new passwords agree and send the change; `inputs` are the form's fields and
 * `currentValue` the current password (typed, or kept from the sign-in just made). Returns true
 * when the server accepted it; otherwise its refusal is shown by the field.
 */
export async function sendChange(formEl, { currentInput, newInput, repeatInput, currentValue }) {
  clearErrors(formEl);
  const missing = [];
  if (currentInput && !currentValue) missing.push([currentInput, "Enter your current password."]);
  if (!newInput.value) missing.push([newInput, "Enter a new password."]);
  else if (repeatInput.value !== newInput.value) missing.push([repeatInput, "The two new passwords differ. Type it again."]);
  if (missing.length) {
    for (const [input, message] of missing) showFieldError(input, message);
    missing[0][0].focus();
    return false;
  }
  try {
    await api("/api/auth/password", {
      method: "POST",
      body: { current_password: currentValue, new_password: newInput.value },
    });
    return true;
  } catch (err) {
    const inputs = { current_password: currentInput, new_password: newInput };
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
    showFormErrors(formEl, general);
    if (general.length) formEl.querySelector(".form-errors").focus();
    else first.focus();
    return false;
  }
}

async function start() {
  const next = safeNext(new URLSearchParams(location.search).get("next"));
  const me = await signedIn("password-loading");
  if (!me) return;
  showAdminLinks(me);
  if (me.kind !== "user") {
    $("password-loading").textContent = "An API token has no password to change.";
    return;
  }
  if (me.must_change_password) {
    $("must-change-note").hidden = false;
    $("current-label").textContent = "One-time password";
  } else {
    new PatientAlarms().watch(); // a patient's alarm is seen and heard here too
  }
  $("password-loading").hidden = true;
  $("password-panel").hidden = false;
  current.focus();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const done = await sendChange(form, {
        currentInput: current,
        newInput: fresh,
        repeatInput: repeat,
        currentValue: current.value,
      });
      if (!done) return;
      form.reset();
      if (me.must_change_password) {
        location.assign(next || "/ward"); // now they may do what their role allows
        return;
      }
      $("password-status").textContent =
        "Your password is changed. Your sign-ins on other devices have ended; this one stays.";
      $("password-status").focus();
    } finally {
      submit.disabled = false;
    }
  });
}

if (form) start();
