// The app shell for a reload without a connection (frontend/sw.js), and what a page needs to
// open offline that is not a patient's data: who is signed in and the vitals catalogue, kept in
// this browser's storage from the last time the server answered.

const ME_KEY = "vigil.offline.me.v1";
const CATALOGUE_KEY = "vigil.offline.catalogue.v1";

/** Register the service worker once the page has loaded (it needs a secure context: HTTPS or localhost). */
export function keepAppShell() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  const register = () => navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });
}

function store(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // A browser that refuses storage opens offline without it.
  }
}

function load(key) {
  try {
    const text = localStorage.getItem(key);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** Remember who is signed in (name and role only), for a page opened offline. */
export const rememberMe = (me) => store(ME_KEY, { name: me.name, role: me.role, display_name: me.display_name ?? null });
export const lastMe = () => load(ME_KEY);

/** Remember the vitals catalogue (ranges and units, no patient data) without its derived index. */
export function rememberCatalogue(catalogue) {
  const { byName, ...plain } = catalogue;
  store(CATALOGUE_KEY, plain);
}

export function lastCatalogue() {
  const catalogue = load(CATALOGUE_KEY);
  if (catalogue) catalogue.byName = Object.fromEntries(catalogue.vitals.map((spec) => [spec.name, spec]));
  return catalogue;
}
