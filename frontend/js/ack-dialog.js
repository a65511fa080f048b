// The Acknowledge dialog, shared by the ward's tiles and the session page's alarm list: it shows
// the alarm, takes an optional note of the action taken, and says so when the alarm resolved
// meanwhile. Built here rather than in each page's HTML so both pages carry the same dialog.

import { ApiError } from "./api.js";
import { acknowledgeAlert } from "./alerts.js";
import { clearErrors, showFormErrors } from "./form-errors.js";

const TEMPLATE = `
  <form id="ack-form" novalidate>
    <h2 id="ack-title">Acknowledge alarm</h2>
    <p class="ack-chair" id="ack-chair" hidden></p>
    <p class="alarm-box" id="ack-alarm"></p>
    <div class="form-errors" id="ack-errors" role="alert" tabindex="-1"></div>
    <div class="field">
      <label for="ack-note">Action taken <span class="hint">(optional)</span></label>
      <input id="ack-note" name="note" maxlength="1000" autocomplete="off"
             placeholder="e.g. infusion paused, patient reassured" aria-describedby="ack-hint">
      <span class="hint" id="ack-hint">Enter acknowledges; Escape goes back without acknowledging.</span>
    </div>
    <div class="ack-actionable" role="group" aria-labelledby="ack-actionable-label">
      <span id="ack-actionable-label">Did this alarm need action? <span class="hint">(optional, for the alarm review)</span></span>
      <button type="button" class="small" id="ack-actionable-yes" data-answer="true" aria-pressed="false">Yes</button>
      <button type="button" class="small" id="ack-actionable-no" data-answer="false" aria-pressed="false">No</button>
    </div>
    <div class="dialog-actions">
      <button type="button" id="ack-cancel">Cancel</button>
      <button type="submit" class="primary" id="ack-ok">Acknowledge</button>
    </div>
  </form>`;

export class AckDialog {
  /**
   * `store`: the page's AlertStore; `fillBox(box, alert)` draws the alarm; `showChair`: name the
   * chair in the dialog (on the ward, where several chairs' alarms are side by side).
   */
  constructor({ store, fillBox, showChair = false }) {
    this.store = store;
    this.fillBox = fillBox;
    this.showChair = showChair;
    this.current = null;
    this.focusAfter = null; // set by the caller of ask(): where focus goes once the dialog closes
    this.dialog = document.createElement("dialog");
    this.dialog.id = "ack-dialog";
    this.dialog.setAttribute("aria-labelledby", "ack-title");
    this.dialog.setAttribute("aria-describedby", "ack-alarm");
    this.dialog.innerHTML = TEMPLATE;
    document.body.append(this.dialog);
    const q = (selector) => this.dialog.querySelector(selector);
    this.form = q("#ack-form");
    this.note = q("#ack-note");
    this.ok = q("#ack-ok");
    this.errors = q("#ack-errors");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    q("#ack-cancel").addEventListener("click", () => this.dialog.close());
    // The optional answer: one tap to give it (a second tap takes it back), none to skip it;
    // it never stands between a nurse and the Acknowledge button.
    this.answers = [q("#ack-actionable-yes"), q("#ack-actionable-no")];
    for (const button of this.answers) {
      button.addEventListener("click", () => {
        const pressed = button.getAttribute("aria-pressed") !== "true";
        for (const other of this.answers) other.setAttribute("aria-pressed", "false");
        button.setAttribute("aria-pressed", String(pressed));
      });
    }
    this.dialog.addEventListener("close", () => {
      const { after, acknowledged } = { after: this.focusAfter, acknowledged: this.acknowledged };
      this.focusAfter = null;
      this.current = null;
      if (after) after(acknowledged);
    });
    store.onChange(() => this.refresh());
  }

  get isOpen() {
    return this.dialog.open;
  }

  /** Ask about `alert`; `afterClose(acknowledged)` puts focus back where it makes sense. */
  ask(alert, afterClose) {
    this.current = alert;
    this.acknowledged = false;
    this.focusAfter = afterClose;
    clearErrors(this.form);
    this.ok.disabled = false;
    this.note.value = "";
    for (const button of this.answers) button.setAttribute("aria-pressed", "false");
    const chair = this.dialog.querySelector("#ack-chair");
    chair.hidden = !this.showChair;
    chair.textContent = this.showChair ? `${alert.chair}${alert.simulated ? " — SIMULATED session" : ""}` : "";
    this.fillBox(this.dialog.querySelector("#ack-alarm"), alert);
    this.dialog.showModal();
    this.note.focus();
  }

  /** An alarm resolved while its dialog was open: say so rather than acknowledge nothing. */
  refresh() {
    if (!this.current || !this.dialog.open) return;
    const now = this.store.byId.get(this.current.id);
    if (now && now.status === "resolved") {
      showFormErrors(this.form, ["This alarm has resolved meanwhile: there is nothing left to acknowledge."]);
      this.ok.disabled = true;
    }
  }

  async send() {
    const alert = this.current;
    if (!alert) return;
    this.ok.disabled = true;
    try {
      const pressed = this.answers.find((b) => b.getAttribute("aria-pressed") === "true");
      const actionable = pressed ? pressed.dataset.answer === "true" : null;
      const updated = await acknowledgeAlert(alert.id, this.note.value.trim(), actionable);
      this.acknowledged = true;
      this.store.apply(updated);
      this.dialog.close();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const message =
        err.status === 409
          ? "This alarm has already resolved: there is nothing left to acknowledge."
          : err.status === 403
            ? "Your role may not acknowledge alarms on this session."
            : err.message;
      showFormErrors(this.form, [message]);
      this.errors.focus();
      this.ok.disabled = err.status === 409;
    }
  }
}
