// The page header every signed-in page shares: who is signed in, sign out, and the live indicator.

import { api, markSigningOut } from "./api.js";

const ROLE_NAMES = { admin: "Admin", nurse: "Nurse", staff: "Staff", trainer: "Trainer" };

/** Fill in the signed-in person (redirecting to sign-in if nobody is) and wire Sign out. */
export async function initHeader() {
  foldMenu();
  const me = await api("/api/auth/me");
  const name = document.getElementById("who-name");
  const role = document.getElementById("who-role");
  if (name) name.textContent = me.display_name || me.name;
  if (role) role.textContent = ROLE_NAMES[me.role] || me.role;
  // The header's links for some roles only (the register, the admin pages): the server refuses
  // the others anyway, so a link a role cannot use is only noise.
  for (const link of document.querySelectorAll(".app-header [data-roles]")) {
    link.hidden = !link.dataset.roles.split(" ").includes(me.role);
  }
  const signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      signOut.disabled = true;
      markSigningOut();
      try {
        await api("/api/auth/logout", { method: "POST", on401: "throw" });
      } catch {
        // Signed out already, or the server is away: the sign-in page is right either way.
      }
      location.assign("/login");
    });
  }
  return me;
}

/** On a phone the header's links and account line fold behind Menu (see vigil.css). */
function foldMenu() {
  const header = document.querySelector(".app-header");
  const toggle = header && header.querySelector(".nav-toggle");
  const nav = header && header.querySelector("nav");
  if (!toggle || !nav) return;
  nav.id = nav.id || "main-nav";
  toggle.setAttribute("aria-controls", nav.id);
  const show = (open) => {
    header.dataset.menu = open ? "open" : "closed";
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", () => show(header.dataset.menu !== "open"));
  header.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && header.dataset.menu === "open") {
      show(false);
      toggle.focus();
    }
  });
}

/** Say on the page that it could not load, in place of its "Loading…" line (`loadingId`). */
export function showPageError(message, loadingId) {
  document.getElementById(loadingId).hidden = true;
  const box = document.getElementById("load-error");
  box.textContent = message;
  box.hidden = false;
}

/** initHeader(), or null once its failure is shown (a 401 is already off to the sign-in page). */
export async function signedIn(loadingId) {
  try {
    return await initHeader();
  } catch (err) {
    if (err.status !== 401) showPageError(err.message, loadingId);
    return null;
  }
}

const LIVE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
};

/** Show the stream's state in words (the dot's colour only repeats what the text says). */
export function showLiveStatus(state, attempt = 0) {
  const el = document.getElementById("live-status");
  if (!el) return;
  el.dataset.state = state;
  const text = LIVE_TEXT[state] || state;
  el.textContent = state === "reconnecting" && attempt > 1 ? `${text} (try ${attempt})` : text;
  el.title =
    state === "live"
      ? "Receiving live updates"
      : "Not receiving live updates: values on screen may be out of date";
}
