// Sign-in: send the credentials, then go where the person was heading (or the ward).

import { ApiError, api } from "./api.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";

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
    await api("/api/auth/login", {
      method: "POST",
      body: { username: username.value.trim(), password: password.value },
      on401: "throw",
    });
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
