// The readings waiting to send, drawn under the entry form: how many (in a polite live region),
// when each was taken, and, for one the server refused, why, beside it, with a way to discard it.

import { isExpired } from "./offline-queue.js";
import { describeReading } from "./reading-text.js";
import { localTime } from "./time.js";

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A kept reading's state: "refused" by the server, "expired" (not sent after 24 h), or "waiting". */
export function itemState(item, nowMs = Date.now()) {
  if (item.refused) return "refused";
  return isExpired(item, nowMs) ? "expired" : "waiting";
}

/** The one-line summary: "2 readings waiting to send; 1 not accepted". Empty when none. */
export function queueSummary(items, nowMs = Date.now()) {
  const count = (state) => items.filter((item) => itemState(item, nowMs) === state).length;
  const [waiting, expired, refused] = [count("waiting"), count("expired"), count("refused")];
  const parts = [];
  if (waiting) parts.push(`${plural(waiting, "reading")} waiting to send`);
  if (expired) parts.push(`${plural(expired, "reading")} not sent after 24 h`);
  if (refused) parts.push(`${plural(refused, "reading")} not accepted by the server`);
  return parts.join("; ");
}

export class QueueView {
  /** `queue` is an OfflineQueue; the elements are found by id on the session page. */
  constructor(queue) {
    this.queue = queue;
    this.summary = document.getElementById("entry-queue-summary");
    this.box = document.getElementById("entry-queue");
    this.list = document.getElementById("entry-queue-list");
    this.retry = document.createElement("button");
    this.retry.type = "button";
    this.retry.className = "small";
    this.retry.textContent = "Try sending now";
    this.retry.addEventListener("click", () => queue.flush());
    // Signed out mid-shift: the readings wait; signing in in a new tab keeps this page (and,
    // if this browser could not store them, the readings only it holds) as it is.
    this.signIn = document.createElement("p");
    this.signIn.className = "queue-signin";
    this.signIn.hidden = true;
    this.box.prepend(this.signIn);
    this.box.append(this.retry);
  }

  renderSignIn(waiting) {
    if (!this.queue.signedOut || !waiting) {
      this.signIn.hidden = true;
      return;
    }
    const text = `Sign in again to send ${plural(waiting, "waiting reading")}`;
    if (this.signIn.dataset.text === text) return; // keep the link (and focus on it) as it is
    this.signIn.dataset.text = text;
    const link = document.createElement("a");
    const next = location.pathname + location.search;
    link.href = `/login?next=${encodeURIComponent(next)}`;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = text;
    this.signIn.replaceChildren(link, " (opens in a new tab; this page and its readings stay here).");
    this.signIn.hidden = false;
  }

  render() {
    // A first try in flight is not "waiting" yet: the form itself says "Recording…".
    const t = Date.now();
    const items = this.queue.items().filter((item) => !this.queue.inFlight(item, t));
    const summary = queueSummary(items, t);
    // Only a changed text is spoken again.
    if (this.summary.textContent !== summary) this.summary.textContent = summary;
    const waiting = items.filter((item) => itemState(item, t) === "waiting").length;
    this.summary.dataset.refused = String(items.some((item) => itemState(item, t) !== "waiting"));
    this.box.hidden = items.length === 0;
    this.retry.hidden = !waiting;
    this.renderSignIn(waiting);
    const focused = document.activeElement?.closest?.("#entry-queue-list li")?.dataset.id;
    this.list.replaceChildren(...items.map((item) => this.row(item)));
    if (focused) this.list.querySelector(`li[data-id="${focused}"] button`)?.focus();
  }

  row(item) {
    const li = document.createElement("li");
    li.dataset.id = item.id;
    const itemStateNow = itemState(item);
    li.dataset.state = itemStateNow;
    const time = document.createElement("strong");
    time.className = "q-time";
    time.textContent = `Taken ${localTime(item.body.taken_at)}`;
    const values = document.createElement("span");
    values.className = "q-values";
    values.textContent = describeReading(item.body);
    const state = document.createElement("span");
    state.className = "q-state";
    li.append(time, " ", values, " ", state);
    if (itemStateNow !== "waiting") {
      const refused = itemStateNow === "refused";
      state.textContent = refused ? "Not accepted:" : "Not sent after 24 h:";
      const why = document.createElement("p");
      why.className = "field-error";
      why.id = `queue-error-${item.id}`;
      why.textContent = refused
        ? item.error
        : "No longer retried. Enter it again if it still belongs in the record, then discard this copy.";
      const discard = document.createElement("button");
      discard.type = "button";
      discard.className = "small";
      discard.textContent = "Discard";
      discard.setAttribute("aria-describedby", why.id);
      discard.addEventListener("click", () => this.queue.remove(item.id));
      li.append(why, discard);
    } else {
      state.textContent =
        item.attempts > 1 ? `· waiting (tried ${item.attempts} times)` : "· waiting";
    }
    return li;
  }
}
