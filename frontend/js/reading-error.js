// "Entered in error": a reading recorded by mistake is marked, never deleted. The dialog shows
// which reading (values and time) so the right one is marked, and asks why: the reason and the
// person are kept with the reading for whoever reads the record later.

import { ApiError, api } from "./api.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { describeReading } from "./reading-text.js";
import { localDateTime, localTime } from "./time.js";

const MIN_REASON = 3;
const MAX_REASON = 500;
const $ = (id) => document.getElementById(id);

export class ReadingErrorDialog {
  /** `onMarked(reading)` gets the reading as the server now has it (flagged). */
  constructor({ sessionId, onMarked }) {
    this.sessionId = sessionId;
    this.onMarked = onMarked;
    this.dialog = $("reading-error");
    this.form = $("reading-error-form");
    this.reasonInput = $("reading-error-reason");
    this.ok = $("reading-error-ok");
    this.reading = null;
    this.busy = false;
    this.marked = false;

    for (const choice of this.form.querySelectorAll("[data-reason]")) {
      // A quick choice fills the reason; the person may still add to it before confirming.
      choice.addEventListener("click", () => {
        this.reasonInput.value = choice.dataset.reason;
        this.reasonInput.focus();
        this.reasonInput.setSelectionRange(this.reasonInput.value.length, this.reasonInput.value.length);
      });
    }
    // Enter confirms from the reason box (a reason needs no line breaks).
    this.reasonInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    $("reading-error-cancel").addEventListener("click", () => this.dialog.close());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.dialog.addEventListener("close", () => this.closed());
  }

  /** Ask about `reading`; focus goes back to the row's button if the person cancels. */
  open(reading) {
    this.reading = reading;
    this.marked = false;
    clearErrors(this.form);
    this.form.reset();
    const rows = [
      ["Taken", `${localDateTime(reading.taken_at)} (${localTime(reading.taken_at)})`],
      ["Values", describeReading(reading) || "none"],
      ["Entered by", reading.entered_by],
    ];
    $("reading-error-summary").replaceChildren(
      ...rows.flatMap(([term, value]) => {
        const dt = document.createElement("dt");
        dt.textContent = term;
        const dd = document.createElement("dd");
        dd.textContent = value;
        return [dt, dd];
      }),
    );
    this.dialog.showModal();
    this.reasonInput.focus();
  }

  async submit() {
    if (this.busy || !this.reading) return;
    clearErrors(this.form);
    const reason = this.reasonInput.value.trim();
    if (reason.length < MIN_REASON || reason.length > MAX_REASON) {
      showFieldError(
        this.reasonInput,
        reason.length < MIN_REASON
          ? `Give a reason of at least ${MIN_REASON} characters, or pick one above.`
          : `Keep the reason to ${MAX_REASON} characters or fewer.`,
      );
      this.reasonInput.focus();
      return;
    }
    this.busy = true;
    this.ok.disabled = true;
    try {
      const path = `/api/sessions/${this.sessionId}/readings/${encodeURIComponent(this.reading.id)}/entered-in-error`;
      const reading = await api(path, { method: "POST", body: { reason } });
      this.marked = true;
      this.dialog.close();
      this.onMarked(reading);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.fields.reason) showFieldError(this.reasonInput, err.fields.reason);
      else showFormErrors(this.form, [err.message]);
      (err.fields.reason ? this.reasonInput : $("reading-error-errors")).focus();
    } finally {
      this.busy = false;
      this.ok.disabled = false;
    }
  }

  closed() {
    const id = this.reading && this.reading.id;
    this.reading = null;
    if (this.marked || !id) return; // the page moves focus to the marked row itself
    // The table may have been redrawn while the dialog was open: find the row's button again.
    const button = document.querySelector(`#recent-body button[data-error-for="${CSS.escape(id)}"]`);
    if (button) button.focus();
  }
}
