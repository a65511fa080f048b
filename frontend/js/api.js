// The one way pages talk to the Vigil API: JSON in and out, and errors a person can read.

/**
 * An API failure. `fields` maps a field name to its message; `general` holds the rest.
 * `paths` keeps every 422 item's whole location (e.g. ["limits", "phases", "infusing", …]) with
 * its message, for forms whose field names repeat at different depths.
 */
export class ApiError extends Error {
  constructor(status, message, { fields = {}, general = [], types = {}, paths = [] } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status; // 0 when the server could not be reached at all
    this.fields = fields;
    this.general = general;
    this.types = types; // field name (or "") -> pydantic error type, for callers that route errors
    this.paths = paths; // [{loc: [...], message, type}] in the server's order
  }
}

// Set while the person signs out on purpose: the server then ends this page's live stream
// (4401) and answers its polls 401, and those must not start a second navigation that aborts
// the sign-out's own.
let signingOut = false;

/** This page is leaving for the sign-in page by itself (Sign out). */
export function markSigningOut() {
  signingOut = true;
}

/** Leave for the sign-in page, coming back here afterwards. */
export function goToLogin() {
  if (signingOut) return;
  const next = location.pathname + location.search + location.hash;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

/**
 * Call the API. `on401: "redirect"` (the default) sends a signed-out person to the sign-in page;
 * the sign-in page itself passes "throw" so a wrong password becomes an error it can show.
 */
export async function api(path, { method = "GET", body, on401 = "redirect", signal } = {}) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin", signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, "Cannot reach the Vigil server. Check the network, then try again.");
  }
  if (response.status === 401 && on401 === "redirect") {
    goToLogin();
    throw new ApiError(401, "Your sign-in has ended. Please sign in again.");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  throw errorFrom(response.status, data);
}

const WHERE = new Set(["body", "query", "path"]);

/** Turn an error body (FastAPI's 422 list or a `{"detail": "..."}` string) into an ApiError. */
export function errorFrom(status, data) {
  const detail = data && data.detail;
  if (status === 422 && Array.isArray(detail)) {
    const fields = {};
    const general = [];
    const types = {};
    const paths = [];
    for (const item of detail) {
      const loc = (item.loc || []).filter((part) => !WHERE.has(part));
      const last = loc.length ? loc[loc.length - 1] : null;
      const field = typeof last === "string" ? last : null;
      const text = readable(item);
      paths.push({ loc, message: text, type: item.type });
      if (field) {
        fields[field] = fields[field] ? `${fields[field]} ${text}` : text;
        types[field] = item.type;
      } else {
        general.push(text);
        types[""] = item.type;
      }
    }
    const message = general[0] || Object.values(fields)[0] || "Some values were not accepted.";
    return new ApiError(status, message, { fields, general, types, paths });
  }
  if (typeof detail === "string") {
    return new ApiError(status, sentence(detail), { general: [sentence(detail)] });
  }
  const fallback =
    status >= 500
      ? `The server had a problem (error ${status}). Try again; if it keeps happening, tell IT.`
      : `The request was refused (error ${status}).`;
  return new ApiError(status, fallback, { general: [fallback] });
}

// Pydantic's own wording is written for programmers; these say the same for a nurse.
function readable(item) {
  const ctx = item.ctx || {};
  switch (item.type) {
    case "missing":
      return "Required.";
    case "int_parsing":
    case "int_from_float":
    case "int_type":
      return "Enter a whole number.";
    case "float_parsing":
    case "float_type":
      return "Enter a number.";
    case "string_too_short":
      return "Required.";
    case "string_too_long":
      return `Too long: at most ${ctx.max_length} characters.`;
    case "greater_than":
      return `Must be more than ${ctx.gt}.`;
    case "greater_than_equal":
      return `Must be at least ${ctx.ge}.`;
    case "less_than":
      return `Must be less than ${ctx.lt}.`;
    case "less_than_equal":
      return `Must be at most ${ctx.le}.`;
    case "enum":
    case "literal_error":
      return `Choose one of: ${ctx.expected || "the listed options"}.`;
    case "value_error":
      // A model's own check: its message is already written for people, after pydantic's prefix.
      return sentence(String(item.msg || "Not accepted.").replace(/^Value error, /, ""));
    case "datetime_parsing":
    case "datetime_from_date_parsing":
    case "timezone_aware":
      return "Enter a valid date and time.";
    default:
      return sentence(item.msg || "Not accepted.");
  }
}

function sentence(text) {
  const trimmed = String(text).trim();
  if (!trimmed) return trimmed;
  const first = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
