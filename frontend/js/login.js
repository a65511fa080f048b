// Sign-in: send the credentials, then go where the person was heading (or the ward).

import { ApiError, api } from "./api.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { sendChange } from "./password.js";

const form = document.getElementById("login-form");
const username = document.getElementById("username");
const password = document.getElementById("password");
const submit = document.getElementById("login-submit");

/** Only a path on this site: `next` comes from the address bar and must not lead elsewhere. */
function destination() {
  const next = new URLSearchParams(location.search).get("next");
  if (next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") && !next.startsWith("/login")) {
    return next;
  }
  return "/ward";
}

submit.disabled = false; // ready: see login.html

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const missing = [];
  if (!username.value.trim()) missing.push([username, "Enter your username."]);
  if (!password.value) missing.push([password, "Enter your password."]);
  if (missing.length) {
    for (const [input, message] of missing) showFieldError(input, message);
    missing[0][0].focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = "Signing in…";
  try {
    const me = await api("/api/auth/login", {
      method: "POST",
      body: { username: username.value.trim(), password: password.value },
      on401: "throw",
    });
    if (me.must_change_password) {
      chooseOwnPassword(me, password.value);
      return;
    }
    location.assign(destination());
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const message =
      err.status === 401 ? "Wrong username or password. Check both and try again." : err.message;
    showFormErrors(form, [message]);
    password.select();
    password.focus();
  } finally {
    submit.disabled = false;
    submit.textContent = "Sign in";
  }
});

// ---- a one-time password: choose your own before anything else ---------------------------------

let oneTime = "";

function chooseOwnPassword(me, typed) {
  oneTime = typed; // the current password the change needs: just typed, not asked for again
  const template = document.getElementById("choose-template");
  form.replaceWith(template.content.cloneNode(true));
  const chooseForm = document.getElementById("choose-form");
  document.getElementById("choose-username").value = me.name;
  document.getElementById("choose-new").focus();
  chooseForm.addEventListener("submit", submitChoice);
}

async function submitChoice(event) {
  event.preventDefault();
  const chooseForm = event.currentTarget;
  const chooseSubmit = document.getElementById("choose-submit");
  chooseSubmit.disabled = true;
  try {
    const done = await sendChange(chooseForm, {
      currentInput: null,
      newInput: document.getElementById("choose-new"),
      repeatInput: document.getElementById("choose-repeat"),
      currentValue: oneTime,
    });
    if (done) {
      oneTime = "";
      location.assign(destination());
    }
  } finally {
    chooseSubmit.disabled = false;
  }
}
