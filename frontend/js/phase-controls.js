// Phase buttons for the allowed next phases, each confirmed in a dialog that shows the protocol
// checklist of that change: what the record shows (judged by the server), what only the nurse at
// the chair can confirm, the time of the change, and for stopping early, the reason. Open
// high-priority alarms hold a discharge until they are answered, or until someone named decides,
// with a reason, that the patient may leave anyway.

import { ApiError, api } from "./api.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { clockValue, dayNote, durationText, fromClockValue, localTime, now, parseTime } from "./time.js";
import { el } from "./dom.js";
import { PHASE_NAMES } from "./labels.js";

// Mirrors backend/sessions/phases.py; the server refuses anything else with a 409.
const NEXT = {
  baseline: ["infusing", "stopped"],
  infusing: ["recovery", "stopped"],
  recovery: ["discharged", "stopped"],
};
const ACTION = {
  infusing: "Start infusion",
  recovery: "End infusion",
  discharged: "Discharge",
  stopped: "Stop early",
};

// Each state has an icon and a word, so it never rests on colour alone. "Attention": met, but
// only with a second look (a BP above the pre-dose gate, an override): never a green tick.
const MARKS = {
  met: { icon: "✓", word: "Met" },
  attention: { icon: "⚠", word: "Met, needs a second look" },
  unmet: { icon: "✗", word: "Not met" },
  advice: { icon: "!", word: "Not met (advisory)" },
  none: { icon: "–", word: "Nothing recorded" },
};

const RELOAD_DELAY_MS = 400; // after the time is edited, before the record is judged again
const MAX_TIMER_MS = 3 * 60 * 60 * 1000; // a dialog left open longer than this is re-checked by hand

const ALARM_ITEM = "no_open_high_alarm";
const GATE_ITEM = "pre_dose_gate";
const CLINICIAN_ROLES = new Set(["nurse", "admin"]);
const ROLE_WORDS = { nurse: "nurse", admin: "admin" };

/**
 * A detail from the server in a nurse's words: API hints meant for scripts, such as
 * "(override_gate=true)" or "(override_alarms)", are dropped; the dialog offers the override.
 */
export function nurseWords(text) {
  return String(text || "")
    .replace(/\s*\((?:[a-z]+_[a-z_]+)(?:=[^)]*)?\)/g, "")
    .replace(/;\s*to start anyway,? confirm the override\s*$/i, "")
    .trim();
}

const minuteValue = (date) => clockValue(new Date(date), { seconds: false });
const readerZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

export class PhaseControls {
  constructor({ container, sessionId, onChanged, me = null }) {
    this.container = container;
    this.sessionId = sessionId;
    this.onChanged = onChanged;
    this.me = me; // the signed-in person: the override's decider by default, when a clinician
    this.clinicians = null; // [{username, display_name, role}], loaded when first needed
    this.session = null;
    this.target = null;
    this.checklist = null; // the server's checklist for the open dialog
    this.loadError = null;
    this.ticket = 0; // only the answer to the latest request is shown
    this.sending = false;
    this.readyTimer = null;
    this.reloadTimer = null;
    const $ = (id) => document.getElementById(id);
    this.dialog = $("confirm-phase");
    this.form = $("confirm-phase-form");
    this.ok = $("confirm-phase-ok");
    this.cancel = $("confirm-phase-cancel");
    this.note = $("phase-note");
    this.noteLabel = $("phase-note-label");
    this.at = $("phase-at");
    this.status = $("phase-checklist-status");
    this.autoList = $("phase-auto");
    this.manualSet = $("phase-manual-set");
    this.manualBox = $("phase-manual");
    this.blocked = $("phase-blocked");
    this.wait = $("phase-wait");
    // The pre-dose gate: a baseline above the profile's limit is shown before dosing starts;
    // the nurse may still go ahead, and the server records who decided.
    this.gate = $("gate-advice");
    this.gateText = $("gate-advice-text");
    this.gateInfo = null; // the gate's advice: {message, gate: {systolic, diastolic}}
    this.override = $("gate-override");
    this.gateDecider = this.deciderFields("gate-override", "Reason to start the infusion above the gate");
    this.gateDecider.box.hidden = true;
    this.override.closest("label").after(this.gateDecider.box);
    this.buildAlarmOverride();

    this.override.addEventListener("change", () => {
      this.gateDecider.box.hidden = !this.override.checked;
      this.update();
    });
    this.manualBox.addEventListener("change", () => this.update());
    this.note.addEventListener("input", () => this.update());
    this.at.addEventListener("input", () => {
      const at = this.chosenTime();
      document.getElementById("phase-at-day").textContent = at ? dayNote(at) : "";
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => this.loadChecklist(), RELOAD_DELAY_MS);
    });
    $("phase-recheck").addEventListener("click", () => this.loadChecklist());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.cancel.addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("close", () => {
      clearTimeout(this.readyTimer);
      clearTimeout(this.reloadTimer);
      this.ticket += 1; // an answer still on its way is for a dialog no longer open
      this.restoreFocus();
    });
  }

  /**
   * Who decides (a clinician picked from the accounts, the signed-in one by default) and why:
   * the two fields of an override, kept with the phase change and printed on the record.
   */
  deciderFields(prefix, reasonLabel) {
    const by = el("select", { attrs: { id: `${prefix}-by`, required: "" } });
    const reason = el("textarea", { attrs: { id: `${prefix}-reason`, rows: "2", maxlength: "2000", required: "" } });
    const field = (input, label, hint) =>
      el("div", { className: "field" }, [
        el("label", { attrs: { for: input.id } }, [label, " ", el("span", { className: "hint", text: hint })]),
        input,
      ]);
    const box = el("div", { className: "override-fields" }, [
      field(by, "Decided by", "(a nurse or admin)"),
      field(reason, reasonLabel, "(required)"),
    ]);
    for (const input of [by, reason]) input.addEventListener("input", () => this.update());
    by.addEventListener("change", () => this.update());
    return { box, by, reason };
  }

  /** The override `decider` stands for, or null while the name or the reason is missing. */
  static decided(decider) {
    const by = decider.by.value;
    const reason = decider.reason.value.trim();
    return by && reason ? { by, reason } : null;
  }

  /** The display name of a clinician's username, for the checklist's words. */
  clinicianName(username) {
    const found = (this.clinicians || []).find((c) => c.username === username);
    return found ? found.display_name || found.username : username;
  }

  /**
   * Fill both deciders' lists from the accounts (active nurses and admins), choosing the
   * signed-in person when they are one. Without the list (an older server, no connection), the
   * signed-in clinician is the only choice offered.
   */
  async loadClinicians() {
    if (!this.clinicians) {
      try {
        this.clinicians = await api("/api/users/clinicians");
      } catch {
        const me = this.me;
        this.clinicians =
          me && CLINICIAN_ROLES.has(me.role) ? [{ username: me.name, display_name: me.display_name || me.name, role: me.role }] : [];
        this.cliniciansFailed = true;
      }
    }
    for (const decider of [this.gateDecider, this.alarmDecider]) this.fillDecider(decider);
    this.update();
  }

  fillDecider(decider) {
    const chosen = decider.by.value;
    const mine = this.me && CLINICIAN_ROLES.has(this.me.role) ? this.me.name : "";
    const options = [el("option", { text: "Choose who decides…", attrs: { value: "" } })];
    for (const person of this.clinicians || []) {
      const role = ROLE_WORDS[person.role] || person.role;
      const label = person.display_name && person.display_name !== person.username
        ? `${person.display_name} (${person.username}, ${role})`
        : `${person.username} (${role})`;
      options.push(el("option", { text: label, attrs: { value: person.username } }));
    }
    decider.by.replaceChildren(...options);
    const known = (name) => (this.clinicians || []).some((c) => c.username === name);
    decider.by.value = known(chosen) ? chosen : known(mine) ? mine : "";
  }

  /**
   * The open-alarm override, under the pre-dose gate's advice and styled like it: who decides
   * and why. Both are kept with the discharge and printed on the session record.
   */
  buildAlarmOverride() {
    this.alarmDecider = this.deciderFields("alarm-override", "Reason to discharge with the alarms open");
    // Kept for the error messages the server names by field.
    this.alarmBy = this.alarmDecider.by;
    this.alarmReason = this.alarmDecider.reason;
    this.alarmBox = el("div", { className: "gate-advice alarm-override", attrs: { id: "alarm-override" } }, [
      el("p", {}, [
        el("strong", { text: "High-priority alarms are open. " }),
        "Answer them (Acknowledge, on this page) before the patient leaves, or discharge anyway: " +
          "a nurse or admin decides, with the reason. Both are kept on the session record.",
      ]),
      this.alarmDecider.box,
    ]);
    this.alarmBox.hidden = true;
    this.gate.after(this.alarmBox);
  }

  /** The discharge override as filled in, or null while the decider or the reason is missing. */
  alarmOverride() {
    if (this.alarmBox.hidden) return null;
    return PhaseControls.decided(this.alarmDecider);
  }

  /** The gate override as filled in (ticked, who and why), or null. */
  gateOverride() {
    if (this.gate.hidden || !this.override.checked) return null;
    return PhaseControls.decided(this.gateDecider);
  }

  /** Offer the next phases of `session` (none when `allowed` is false or it has ended). */
  render(session, allowed) {
    this.session = session;
    const buttons = (allowed ? NEXT[session.phase] || [] : []).map((phase) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.phase = phase;
      button.className = phase === "stopped" ? "danger" : "primary";
      button.textContent = ACTION[phase];
      button.addEventListener("click", () => this.ask(phase));
      return button;
    });
    this.container.replaceChildren(...buttons);
  }

  /**
   * The dialog gives focus back to the button that opened it, but the buttons may have been
   * redrawn while it was open (a phase change from another tablet): then focus would fall to the
   * page itself. Take the current button for the same phase instead, or the first one.
   */
  restoreFocus() {
    setTimeout(() => {
      const lost = !document.activeElement || document.activeElement === document.body;
      if (!lost) return;
      const same = this.container.querySelector(`button[data-phase="${this.target}"]`);
      const button = same || this.container.querySelector("button");
      if (button) button.focus();
    }, 0);
  }

  ask(phase) {
    this.target = phase;
    this.checklist = null;
    this.loadError = null;
    clearErrors(this.form);
    const s = this.session;
    document.getElementById("confirm-phase-title").textContent = `${ACTION[phase]}?`;
    const early = phase === "stopped" ? " Stopping ends the session early; it cannot be resumed." : "";
    document.getElementById("confirm-phase-text").textContent =
      `${s.chair} (${s.patient.display_name}) moves from ${PHASE_NAMES[s.phase]} to ${PHASE_NAMES[phase]}.${early}`;
    this.ok.textContent = `Confirm: ${ACTION[phase].toLowerCase()}`;
    this.ok.className = phase === "stopped" ? "danger" : "primary";

    const stopping = phase === "stopped";
    this.note.value = "";
    this.note.required = stopping;
    this.noteLabel.replaceChildren(
      stopping ? "Reason for stopping early " : "Note ",
      el("span", { className: "hint", text: stopping ? "(required)" : "(optional)" }),
    );
    const nowValue = minuteValue(now());
    this.at.value = nowValue;
    this.at.dataset.initial = nowValue;
    document.getElementById("phase-at-day").textContent = "";

    this.autoList.replaceChildren();
    this.manualBox.replaceChildren();
    this.manualSet.hidden = true;
    this.alarmBox.hidden = true;
    for (const decider of [this.alarmDecider, this.gateDecider]) {
      decider.reason.value = "";
      decider.by.value = "";
    }
    this.showGate(null);
    this.loadClinicians();
    this.dialog.showModal();
    this.cancel.focus();
    this.loadChecklist();
    if (phase === "infusing") this.checkGate();
  }

  /** The time the nurse set the change back to, or null for "now". */
  chosenTime() {
    if (this.at.value === this.at.dataset.initial) return null;
    return fromClockValue(this.at.value);
  }

  /** Ask the server to judge the checklist at the chosen time (now unless set back). */
  async loadChecklist() {
    const ticket = ++this.ticket;
    const params = new URLSearchParams({ to: this.target, tz: readerZone() });
    const at = this.chosenTime();
    if (at) params.set("at", at.toISOString());
    this.status.textContent = "Checking the record…";
    try {
      const checklist = await api(`/api/sessions/${this.sessionId}/checklist?${params}`);
      if (ticket !== this.ticket) return;
      this.loadError = null;
      this.showChecklist(checklist);
    } catch (err) {
      if (ticket !== this.ticket || !(err instanceof ApiError)) return;
      this.checklist = null;
      this.loadError = err.message;
      this.update();
    }
  }

  showChecklist(checklist) {
    const ticked = new Set(this.manualInputs().filter((box) => box.checked).map((box) => box.dataset.key));
    this.checklist = checklist;
    const manual = checklist.items.filter((item) => item.kind === "manual");
    this.manualBox.replaceChildren(
      ...manual.map((item) => {
        const box = el("input", { attrs: { type: "checkbox", id: `phase-check-${item.key}` } });
        box.dataset.key = item.key;
        box.checked = ticked.has(item.key);
        return el("label", { className: "check-row", attrs: { for: box.id } }, [
          box,
          el("span", { className: "check-label", text: item.label }),
          el("span", { className: "tag", text: item.required ? "required" : "advisory" }),
        ]);
      }),
    );
    this.manualSet.hidden = manual.length === 0;
    const alarms = checklist.items.find((item) => item.key === ALARM_ITEM);
    this.alarmBox.hidden = !alarms || alarms.met !== false;
    this.scheduleRecheck(checklist.ready_at);
    this.update();
    // First sight of the list: start with the first thing to tick (the gate, if it advises).
    if (document.activeElement === this.cancel && this.gate.hidden) {
      const first = this.manualInputs().find((box) => !box.checked);
      if (first) first.focus();
    }
  }

  /** Judge again once the minimum observation is over, so Confirm opens without reopening. */
  scheduleRecheck(readyAt) {
    clearTimeout(this.readyTimer);
    if (!readyAt) return;
    const wait = parseTime(readyAt).getTime() - now() + 1000;
    if (wait > 0 && wait < MAX_TIMER_MS) this.readyTimer = setTimeout(() => this.loadChecklist(), wait);
  }

  manualInputs() {
    return [...this.manualBox.querySelectorAll("input[type=checkbox]")];
  }

  /**
   * An auto item as it stands in the dialog: the gate and open alarms count once overridden,
   * and anything met only with a second look (the server's `attention`, a baseline above the
   * gate, an override) is marked so, never with a green tick.
   */
  autoState(item) {
    const detail = nurseWords(item.detail);
    if (item.key === GATE_ITEM && item.met === false && !this.gate.hidden) {
      const override = this.gateOverride();
      if (override) {
        return { met: true, attention: true, detail: `${detail}; started anyway, decided by ${this.clinicianName(override.by)}: ${override.reason}` };
      }
      return { met: false, detail: `${detail}; start anyway only with who decides and why (below)` };
    }
    if (item.key === ALARM_ITEM && item.met === false) {
      // The server's detail ends with how an API client overrides; here the box below does.
      const open = (item.detail || "").split("; acknowledge")[0];
      const override = this.alarmOverride();
      if (override) {
        return { met: true, attention: true, detail: `${open}; discharge decided by ${this.clinicianName(override.by)}: ${override.reason}` };
      }
      return { met: false, detail: `${open}; acknowledge them, or discharge anyway (below)` };
    }
    if (item.key === "baseline_bp" && item.met && this.gateInfo && this.gateInfo.advised_against) {
      // A baseline above the gate is recorded, not fine: say which gate it is above.
      const { systolic, diastolic, basis } = this.gateInfo.gate || {};
      // Which age band's gate, when the profile has bands ("aged 70: the band from 65").
      const why = basis ? ` (${basis})` : "";
      const gate = systolic && diastolic ? ` the ${systolic}/${diastolic} gate${why}` : " the pre-dose gate";
      // The server's detail says so itself ("recorded 146/84 at 14:05, above the 140/90 gate"):
      // said twice, it read "recorded recorded …, above …, above …".
      if (/ above the /.test(detail)) return { met: true, attention: true, detail };
      return { met: true, attention: true, detail: `${detail}, above${gate}` };
    }
    return { met: item.met, attention: Boolean(item.attention) && item.met === true, detail };
  }

  renderAuto() {
    const auto = this.checklist ? this.checklist.items.filter((item) => item.kind === "auto") : [];
    this.autoList.replaceChildren(
      ...auto.map((item) => {
        const { met, attention, detail } = this.autoState(item);
        let state = met === true ? (attention ? "attention" : "met") : "none";
        if (met === false) state = item.required ? "unmet" : "advice";
        const mark = MARKS[state];
        const li = el("li", { attrs: { "data-key": item.key, "data-state": state } }, [
          el("span", { className: "mark", text: mark.icon, attrs: { "aria-hidden": "true" } }),
          el("span", { className: "check-text" }, [
            el("span", { className: "visually-hidden", text: `${mark.word}: ` }),
            el("span", { className: "check-label", text: item.label }),
            item.required ? "" : el("span", { className: "tag", text: "advisory" }),
            detail ? el("span", { className: "detail", text: detail }) : "",
          ]),
        ]);
        return li;
      }),
    );
  }

  /** What still stands between the nurse and Confirm, in words. */
  missing() {
    if (!this.checklist) return [];
    const missing = [];
    for (const item of this.checklist.items) {
      if (!item.required) continue;
      if (item.kind !== "auto" || this.autoState(item).met !== false) continue;
      if (item.key === ALARM_ITEM) {
        missing.push("answer the open high-priority alarms, or give who decides and why to discharge anyway");
      } else if (item.key === GATE_ITEM && !this.gate.hidden) {
        missing.push("the baseline is above the pre-dose gate: to start anyway, tick it and give who decides and why");
      } else missing.push(item.label);
    }
    for (const box of this.manualInputs()) {
      const item = this.checklist.items.find((i) => i.key === box.dataset.key);
      if (item && item.required && !box.checked) missing.push(`tick “${item.label}”`);
    }
    if (this.target === "stopped" && !this.note.value.trim()) missing.push("give the reason for stopping early");
    return missing;
  }

  update() {
    this.renderAuto();
    const missing = this.missing();
    let why = "";
    let wait = "";
    if (this.loadError) {
      this.status.textContent = "";
      why = `The checklist could not be loaded (${this.loadError}). Check again before confirming.`;
    } else if (!this.checklist) {
      why = "Checking the record…";
    } else {
      const at = this.checklist.at;
      this.status.textContent = `judged for ${localTime(at, { seconds: false })}`;
      const parts = [];
      const readyAt = this.checklist.ready_at;
      if (readyAt) {
        parts.push(`${ACTION[this.target]} is possible from ${localTime(readyAt, { seconds: false })}.`);
        wait = `(in ${durationText(parseTime(readyAt).getTime() - now())})`;
      }
      if (missing.length) parts.push(`To confirm: ${missing.join("; ")}.`);
      why = parts.join(" ");
    }
    const blocked = Boolean(this.loadError || !this.checklist || missing.length);
    this.ok.disabled = blocked || this.sending;
    this.blocked.hidden = !blocked;
    // A live region: only a changed text is read out again, so neither a keystroke in the note
    // nor the countdown (outside it, in #phase-wait) makes a screen reader repeat it.
    const text = blocked ? why : "";
    if (this.blocked.textContent !== text) this.blocked.textContent = text;
    const countdown = blocked ? wait : "";
    if (this.wait.textContent !== countdown) this.wait.textContent = countdown;
    this.wait.hidden = !countdown;
  }

  /** Ask the server whether the baseline passes the pre-dose gate; show its advice if not. */
  async checkGate() {
    try {
      const advice = await api(`/api/sessions/${this.sessionId}/gate`);
      if (this.target !== "infusing" || !this.dialog.open) return;
      this.gateInfo = advice;
      this.showGate(advice.advised_against ? advice.message : null);
    } catch {
      // The server checks again when the infusion is started.
    }
  }

  showGate(message) {
    if (!message) this.gateInfo = null;
    this.gate.hidden = !message;
    this.override.checked = false;
    this.gateDecider.box.hidden = true;
    this.gateText.textContent = message || "";
    this.update();
    if (message) this.override.focus();
  }

  async send() {
    clearErrors(this.form);
    this.update();
    if (this.ok.disabled) return;
    const body = { phase: this.target, checklist: {} };
    for (const box of this.manualInputs()) body.checklist[box.dataset.key] = box.checked;
    const note = this.note.value.trim();
    if (note) body.note = note;
    if (this.at.value !== this.at.dataset.initial) {
      const at = fromClockValue(this.at.value);
      if (!at) {
        showFieldError(this.at, "Enter a time on the 24-hour clock (e.g. 14:05), or leave it as now.");
        this.at.focus();
        return;
      }
      body.at = at.toISOString();
    }
    const gateOverride = this.gateOverride();
    if (gateOverride) body.override_gate = gateOverride;
    const alarmOverride = this.alarmOverride();
    if (alarmOverride) body.override_alarms = alarmOverride;
    this.sending = true;
    this.update();
    try {
      const session = await api(`/api/sessions/${this.sessionId}/phase`, { method: "POST", body });
      this.dialog.close();
      this.onChanged(session);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      await this.showSendError(err);
    } finally {
      this.sending = false;
      this.update();
    }
  }

  async showSendError(err) {
    const fields = { ...err.fields };
    // The server names an override's fields "by" and "reason": whichever override was sent.
    const decider = this.target === "infusing" ? this.gateDecider : this.alarmDecider;
    const inputs = [["at", this.at], ["note", this.note], ["by", decider.by], ["reason", decider.reason]];
    for (const [name, input] of inputs) {
      if (!fields[name]) continue;
      showFieldError(input, fields[name]);
      delete fields[name];
    }
    if (err.status === 409 && this.target === "infusing" && /gate/i.test(err.message)) {
      // The baseline changed since the dialog opened: show the advice and let the nurse decide.
      await this.checkGate();
      if (!this.gate.hidden) return;
    }
    // The server's refusal is written for every client; on screen it drops the API hints.
    showFormErrors(this.form, [...err.general, ...Object.values(fields)].map(nurseWords));
    const invalid = this.form.querySelector("[aria-invalid='true']");
    if (invalid && !err.general.length && !Object.keys(fields).length) invalid.focus();
    else document.getElementById("confirm-phase-errors").focus();
    // The record may have changed (a 409): judge it again so the list matches the refusal.
    if (err.status === 409) this.loadChecklist();
  }
}
