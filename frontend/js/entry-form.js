// Manual entry of one reading, made for the keyboard: Tab through, Enter records, focus comes
// back to the first field. Checks the published ranges first, asks before recording unusual
// values, and shows the server's objections next to the field they concern.

import { ApiError, api } from "./api.js";
import { clearErrors, markInvalid, showFieldError, showFormErrors } from "./form-errors.js";
import { confirmValues } from "./confirm-values.js";
import { everySecond, fromDateTimeLocalValue, localTime, now, toDateTimeLocalValue } from "./time.js";

const fmt = (value) => String(Number(value));

/** "Heart rate" -> "heart rate" but "SpO2" stays "SpO2". */
function lowerLabel(label) {
  return label.length > 1 && label[1] === label[1].toLowerCase() ? label[0].toLowerCase() + label.slice(1) : label;
}

/** A random v4 UUID; crypto.randomUUID only exists on HTTPS or localhost, a clinic LAN may be neither. */
function uuid4() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class EntryForm {
  constructor(form, { sessionId, catalogue, onStored }) {
    this.form = form;
    this.sessionId = sessionId;
    this.catalogue = catalogue;
    this.onStored = onStored;
    this.busy = false;
    this.pending = null; // { key, body }: the last unconfirmed send, resent as-is on retry
    this.timeDirty = false;
    this.submitButton = form.querySelector("#entry-submit");
    this.status = form.querySelector("#entry-status");
    this.timeInput = form.elements.taken_at;
    this.first = form.elements.heart_rate;
    this.setUp();
  }

  setUp() {
    for (const spec of this.catalogue.vitals) {
      const input = this.form.elements[spec.name];
      if (!input) continue;
      input.min = String(spec.lowest);
      input.max = String(spec.highest);
      input.step = spec.integer ? "1" : "0.1";
      const unit = this.form.querySelector(`[data-unit-for="${spec.name}"]`);
      if (unit) unit.textContent = spec.unit;
    }
    const select = this.form.elements.consciousness;
    // Enter records from every field, the select included (browsers submit only from inputs).
    select.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    for (const [code, meaning] of Object.entries(this.catalogue.consciousness)) {
      const option = document.createElement("option");
      option.value = code;
      option.textContent = `${code} — ${meaning}`;
      select.append(option);
    }
    // "Time taken" follows the clock until someone edits it.
    this.timeInput.addEventListener("input", () => {
      this.timeDirty = true;
    });
    this.form.querySelector("#taken-now").addEventListener("click", () => {
      this.timeDirty = false;
      this.showNow();
    });
    this.showNow();
    everySecond(() => {
      if (!this.timeDirty && document.activeElement !== this.timeInput) this.showNow();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  showNow() {
    this.timeInput.value = toDateTimeLocalValue(new Date(now()));
  }

  /** Enable the form, or disable it and say why (`reason`). */
  setEnabled(enabled, reason = "") {
    for (const control of this.form.elements) {
      if (control === this.submitButton && this.busy) continue; // send() re-enables it when done
      control.disabled = !enabled;
    }
    const note = document.getElementById("entry-disabled");
    note.hidden = enabled;
    note.textContent = reason;
  }

  /** Read and check the fields: { body, errors: [[input, message]], unusual: [[input, reason]], key }. */
  collect() {
    const errors = [];
    const unusual = [];
    const body = {};
    for (const spec of this.catalogue.vitals) {
      const input = this.form.elements[spec.name];
      if (!input) continue;
      const name = lowerLabel(spec.label);
      if (input.validity.badInput) {
        errors.push([input, `Enter the ${name} as a number.`]);
        continue;
      }
      const raw = input.value.trim();
      if (raw === "") continue;
      const value = Number(raw);
      if (!Number.isFinite(value)) {
        errors.push([input, `Enter the ${name} as a number.`]);
      } else if (value < spec.lowest || value > spec.highest) {
        // Same words as the server's, from the same catalogue.
        errors.push([
          input,
          `${fmt(value)} ${spec.unit} is not a possible ${name}: allowed range is ` +
            `${fmt(spec.lowest)}–${fmt(spec.highest)} ${spec.unit}.`,
        ]);
      } else if (spec.integer && !Number.isInteger(value)) {
        errors.push([input, `Enter the ${name} as a whole number.`]);
      } else {
        body[spec.name] = value;
        if (spec.confirm_low !== null && value < spec.confirm_low) {
          unusual.push([input, `${spec.label} ${fmt(value)} ${spec.unit} is unusually low (below ${fmt(spec.confirm_low)}).`]);
        } else if (spec.confirm_high !== null && value > spec.confirm_high) {
          unusual.push([input, `${spec.label} ${fmt(value)} ${spec.unit} is unusually high (above ${fmt(spec.confirm_high)}).`]);
        }
      }
    }
    const consciousness = this.form.elements.consciousness.value;
    if (consciousness) body.consciousness = consciousness;

    let when = "now";
    if (this.timeDirty) {
      const taken = fromDateTimeLocalValue(this.timeInput.value);
      if (!taken) errors.push([this.timeInput, "Enter the date and time the values were taken, or press Now."]);
      else {
        when = taken.toISOString();
        body.taken_at = when;
      }
    }
    const noVitals = Object.keys(body).filter((k) => k !== "taken_at").length === 0;
    return { body, errors, unusual, noVitals, key: JSON.stringify({ ...body, when }) };
  }

  async submit() {
    if (this.busy) return;
    clearErrors(this.form);
    this.status.textContent = "";
    const { body, errors, unusual, noVitals, key } = this.collect();
    if (errors.length) {
      for (const [input, message] of errors) showFieldError(input, message);
      errors[0][0].focus();
      return;
    }
    if (noVitals) {
      showFormErrors(this.form, ["Enter at least one vital sign before recording."]);
      this.first.focus();
      return;
    }
    if (unusual.length && !(await confirmValues(unusual.map(([, reason]) => reason)))) {
      unusual[0][0].focus();
      unusual[0][0].select?.();
      return;
    }

    // The same entry sent again (after a network failure) keeps its id and time, so the
    // server stores it once however many times it arrives. Changed values are a new reading.
    if (!this.pending || this.pending.key !== key) {
      const taken = body.taken_at || new Date(now()).toISOString();
      this.pending = { key, body: { ...body, taken_at: taken, id: uuid4() } };
    }
    await this.send(this.pending.body);
  }

  async send(body) {
    this.busy = true;
    this.submitButton.disabled = true;
    this.submitButton.textContent = "Recording…";
    try {
      const reading = await api(`/api/sessions/${this.sessionId}/readings`, { method: "POST", body });
      this.pending = null;
      this.form.reset();
      this.timeDirty = false;
      this.showNow();
      this.status.textContent = `Reading recorded (taken ${localTime(reading.taken_at)}).`;
      this.onStored(reading);
      this.first.focus();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 0 || err.status >= 500) {
        // It may or may not have been stored: keep the id so the retry cannot duplicate it.
        showFormErrors(this.form, [
          `Not confirmed as recorded. ${err.message} Press “Record reading” again to retry; ` +
            "it will not be stored twice.",
        ]);
        this.form.querySelector("#entry-errors").focus();
      } else {
        this.pending = null; // refused: nothing was stored
        this.showRefusal(err);
      }
    } finally {
      this.busy = false;
      this.submitButton.disabled = false;
      this.submitButton.textContent = "Record reading";
    }
  }

  /** Put each of the server's objections next to its field, the rest at the top. */
  showRefusal(err) {
    const general = [...err.general];
    for (const [field, message] of Object.entries(err.fields)) {
      const input = this.form.elements[field];
      if (err.types[field] === "diastolic_not_below_systolic") {
        // Reported on diastolic, but not one field's fault: it belongs to the pair.
        const box = this.form.querySelector("#bp-error");
        box.textContent = message;
        box.hidden = false;
        markInvalid(this.form.elements.systolic, box.id);
        markInvalid(this.form.elements.diastolic, box.id);
      } else if (input && input.id) {
        showFieldError(input, message);
      } else {
        general.push(message);
      }
    }
    showFormErrors(this.form, general);
    const first = this.form.querySelector("[aria-invalid='true']");
    if (first && !general.length) first.focus();
    else this.form.querySelector("#entry-errors").focus();
  }
}
