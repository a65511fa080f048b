// The vitals catalogue (/api/vitals): names, units and ranges the server enforces, so the
// browser checks exactly what the server will. Also sets our clock against the server's.

import { api } from "./api.js";
import { syncClock } from "./time.js";

export async function loadCatalogue() {
  const sentAt = Date.now();
  const catalogue = await api("/api/vitals");
  syncClock(catalogue.server_time, sentAt, Date.now());
  catalogue.byName = Object.fromEntries(catalogue.vitals.map((spec) => [spec.name, spec]));
  return catalogue;
}
