// Vigil's service worker: keeps the app shell (pages, scripts, styles, plotly) so that a page
// reloaded without a connection still opens, says so, and shows the readings waiting to send.
// Patients' data is never kept here: API answers (and the printable record, under /api) go
// straight to the network; the offline queue keeps unsent readings in the page's own storage.
// Served by the backend at /sw.js, which fills in the version and the list of shell files.

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `vigil-shell-${VERSION}`;
// Past this, a page or file answers from the shell while the network keeps trying: a link
// that hangs rather than fails must not leave a blank screen at the chair.
const NETWORK_WAIT_MS = 5000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // One by one, so a file that fails (a page the server does not serve) costs only itself.
      await Promise.all(
        SHELL.map(async (url) => {
          try {
            const response = await fetch(url, { credentials: "same-origin" });
            if (response.ok) await cache.put(url, response);
          } catch {
            // Kept later, when a page asks for it.
          }
        }),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith("vigil-shell-") && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

/**
 * Where a request's copy is kept, or null for what is never kept: the API (patients' data),
 * the stream, other origins. Every session page is the same file: one copy for all.
 */
function shellKey(url) {
  if (url.origin !== self.location.origin) return null;
  const path = url.pathname;
  if (path.startsWith("/api/") || path === "/sw.js") return null;
  if (/^\/sessions\/\d+$/.test(path)) return "/sessions/0";
  if (path.startsWith("/static/")) return path;
  if (/^\/[a-z-]*$/.test(path)) return path; // a page: /ward, /login, …
  return null;
}

/** A copy is only re-stored when it changed (plotly alone is 4.8 MB). */
async function keep(cache, key, response) {
  const kept = await cache.match(key);
  const tag = response.headers.get("ETag");
  if (kept && tag && kept.headers.get("ETag") === tag) return;
  await cache.put(key, response);
}

/** The network first, so nothing is ever older than it must be; the shell's copy without it. */
async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  const network = fetch(request).then((response) => {
    if (response.ok && !response.redirected && response.type === "basic") {
      keep(cache, key, response.clone()).catch(() => {});
    }
    return response;
  });
  const kept = await cache.match(key);
  if (!kept) return network;
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(kept), NETWORK_WAIT_MS);
  });
  try {
    return await Promise.race([network, late]);
  } catch {
    return kept;
  } finally {
    clearTimeout(timer);
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const key = shellKey(new URL(request.url));
  if (!key) return; // straight to the network, never kept
  event.respondWith(networkFirst(request, key));
});
