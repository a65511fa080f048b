// Manual entry of one reading, made for the keyboard: Tab through, Enter records, focus comes
// back to the first field. Checks the published ranges first, asks before recording unusual
// values, and shows the server's objections next to the field they concern. Every entry goes
// through the offline queue: one the server did not acknowledge waits on this device and is
// resent with the same id, so a dropped connection neither loses it nor stores it twice.

import { clearErrors, markInvalid, showFieldError, showFormErrors } from "./form-errors.js";
import { confirmValues } from "./confirm-values.js";
import { OfflineQueue } from "./offline-queue.js";
import { QueueView } from "./queue-view.js";
import { describeReading } from "./reading-text.js";
import { clockValue, dayNote, everySecond, fromClockValue, localTime, now } from "./time.js";

// The server allows a little more (settings.future_tolerance_seconds, 2 min by default): a
// tablet clock a few seconds ahead must not block an entry; the server's clock decides in the end.
const FUTURE_SLACK_MS = 60 * 1000;
const SET_BACK_MS = 5 * 60 * 1000;
const O2_VALUES = { air: false, oxygen: true };

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

function addOptions(select, entries) {
  for (const [code, meaning] of entries) {
    const option = document.createElement("option");
    option.value = code;
    option.textContent = `${code} — ${meaning}`;
    select.append(option);
  }
}

export class EntryForm {
  constructor(form, { sessionId, user, catalogue, onStored }) {
    this.form = form;
    this.sessionId = sessionId;
    this.catalogue = catalogue;
    this.onStored = onStored;
    this.busy = false;
    this.timeDirty = false;
    this.submitButton = form.querySelector("#entry-submit");
    this.status = form.querySelector("#entry-status");
    this.timeInput = form.elements.taken_at;
    this.first = form.elements.heart_rate;
    this.queue = new OfflineQueue({
      sessionId,
      user,
      onSent: (reading) => this.sentLater(reading),
      onChange: () => this.queueView.render(),
    });
    this.queueView = new QueueView(this.queue);
    this.setUp();
    this.queue.start();
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
    // Enter records from every field, selects and radio buttons included (browsers submit
    // only from text-like inputs); on a button Enter still presses that button.
    this.form.addEventListener("keydown", (event) => {
      const target = event.target;
      if (event.key !== "Enter" || event.isComposing) return;
      if (target.tagName === "SELECT" || (target.tagName === "INPUT" && target.type === "radio")) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    addOptions(this.form.elements.consciousness, Object.entries(this.catalogue.consciousness));
    // MOAA/S from 5 (alert) down to 0, the order it is assessed in (JSON gives "0".."5").
    const sedation = Object.entries(this.catalogue.sedation || {}).sort((a, b) => Number(b[0]) - Number(a[0]));
    addOptions(this.form.elements.sedation, sedation);
    // "Time taken" follows the clock until someone edits it.
    this.timeInput.addEventListener("input", () => {
      this.timeDirty = true;
      this.showDay();
    });
    this.form.querySelector("#taken-now").addEventListener("click", () => {
      this.timeDirty = false;
      this.showNow();
    });
    this.form.querySelector("#taken-back").addEventListener("click", () => {
      const shown = fromClockValue(this.timeInput.value) || new Date(now());
      const back = new Date(shown.getTime() - SET_BACK_MS);
      this.timeInput.value = clockValue(back);
      this.timeDirty = true;
      this.showDay(back);
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
    this.timeInput.value = clockValue(new Date(now()));
    this.showDay();
  }

  /** Say beside the time when it falls on another day (set back past midnight). */
  showDay(taken = fromClockValue(this.timeInput.value)) {
    const note = this.form.querySelector("#taken_at-day");
    if (note) note.textContent = taken ? dayNote(taken) : "";
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

  /** Read and check the fields: { body, errors: [[input, message]], unusual: [[input, reason]], noVitals }. */
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
    const sedation = this.form.elements.sedation.value;
    if (sedation !== "") body.sedation = Number(sedation);
    const oxygen = this.form.elements.on_oxygen.value;
    if (oxygen in O2_VALUES) body.on_oxygen = O2_VALUES[oxygen];

    if (this.timeDirty) {
      const taken = fromClockValue(this.timeInput.value);
      if (!taken) {
        errors.push([this.timeInput, "Enter the time the values were taken on the 24-hour clock (e.g. 14:05), or press Now."]);
      } else if (taken.getTime() > now() + FUTURE_SLACK_MS) {
        errors.push([
          this.timeInput,
          `${localTime(taken)} is in the future (it is ${localTime(new Date(now()))} now): ` +
            "enter when the values were taken, or press Now.",
        ]);
      } else {
        body.taken_at = taken.toISOString();
      }
    }
    const noVitals = Object.keys(body).filter((k) => k !== "taken_at").length === 0;
    return { body, errors, unusual, noVitals };
  }

  async submit() {
    if (this.busy) return;
    clearErrors(this.form);
    this.say("");
    const { body, errors, unusual, noVitals } = this.collect();
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

    // The id and the time are fixed now: a resend (after a lost answer, or once the connection
    // is back) is the same reading, which the server stores once however often it arrives.
    const taken = body.taken_at || new Date(now()).toISOString();
    const item = this.queue.add({ ...body, taken_at: taken, id: uuid4() });
    await this.send(item);
  }

  async send(item) {
    this.busy = true;
    this.submitButton.disabled = true;
    this.submitButton.textContent = "Recording…";
    try {
      const result = await this.queue.attempt(item.id);
      if (result.status === "sent") {
        this.clear();
        this.say(`Reading recorded: ${describeReading(result.reading)} (taken ${localTime(result.reading.taken_at)}).`);
        this.onStored(result.reading);
      } else if (result.status === "waiting" || result.status === "busy") {
        // Not claimed as recorded: the server has not said so. The values are safe in the queue,
        // so the form is free for the next set.
        this.clear();
        this.say(
          "Not recorded yet: the server has not confirmed it. " +
            `The reading taken ${localTime(item.body.taken_at)} waits on this device and is sent ` +
            "by itself when the connection returns.",
          "waiting",
        );
        this.queue.schedule();
      } else if (result.status === "refused") {
        this.showRefusal(result.error); // nothing was stored; the values are still in the form
      }
    } finally {
      this.busy = false;
      this.submitButton.disabled = false;
      this.submitButton.textContent = "Record reading";
    }
  }

  /** Empty the form for the next set; the time follows the clock again. */
  clear() {
    this.form.reset();
    this.timeDirty = false;
    this.showNow();
    this.first.focus();
  }

  /** The status line under the form: `kind` "ok" (stored) or "waiting" (not acknowledged yet). */
  say(text, kind = "ok") {
    this.status.dataset.kind = kind;
    this.status.textContent = text;
  }

  /** A reading from the queue reached the server: show it like any other and say so. */
  sentLater(reading) {
    this.onStored(reading);
    this.say(`Sent the waiting reading taken ${localTime(reading.taken_at)}: ${describeReading(reading)}.`);
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
