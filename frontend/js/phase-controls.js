// Phase buttons for the allowed next phases, each confirmed in a dialog before it is sent.

import { ApiError, api } from "./api.js";
import { clearErrors, showFormErrors } from "./form-errors.js";

// Mirrors backend/sessions/phases.py; the server refuses anything else with a 409.
const NEXT = {
  baseline: ["infusing", "stopped"],
  infusing: ["recovery", "stopped"],
  recovery: ["discharged", "stopped"],
};
const ACTION = {
  infusing: "Start infusion",
  recovery: "Start recovery",
  discharged: "Discharge",
  stopped: "Stop session",
};
export const PHASE_NAMES = {
  baseline: "Baseline",
  infusing: "Infusing",
  recovery: "Recovery",
  discharged: "Discharged",
  stopped: "Stopped",
};

export class PhaseControls {
  constructor({ container, sessionId, onChanged }) {
    this.container = container;
    this.sessionId = sessionId;
    this.onChanged = onChanged;
    this.session = null;
    this.target = null;
    this.dialog = document.getElementById("confirm-phase");
    this.form = document.getElementById("confirm-phase-form");
    this.ok = document.getElementById("confirm-phase-ok");
    this.note = document.getElementById("phase-note");
    // The pre-dose gate: a baseline above the profile's limit is shown before dosing starts;
    // the nurse may still go ahead, and the server records who decided.
    this.gate = document.getElementById("gate-advice");
    this.gateText = document.getElementById("gate-advice-text");
    this.override = document.getElementById("gate-override");
    this.override.addEventListener("change", () => {
      this.ok.disabled = !this.override.checked;
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    document.getElementById("confirm-phase-cancel").addEventListener("click", () => this.dialog.close());
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
      button.addEventListener("click", () => this.ask(phase, button));
      return button;
    });
    this.container.replaceChildren(...buttons);
  }

  ask(phase, opener) {
    this.target = phase;
    this.opener = opener;
    clearErrors(this.form);
    this.note.value = "";
    const s = this.session;
    document.getElementById("confirm-phase-title").textContent = `${ACTION[phase]}?`;
    const early = phase === "stopped" ? " Stopping ends the session early; it cannot be resumed." : "";
    document.getElementById("confirm-phase-text").textContent =
      `${s.chair} (${s.patient.display_name}) moves from ${PHASE_NAMES[s.phase]} to ` +
      `${PHASE_NAMES[phase]}, recorded as now.${early}`;
    this.ok.textContent = `Confirm: ${ACTION[phase].toLowerCase()}`;
    this.ok.className = phase === "stopped" ? "danger" : "primary";
    this.showGate(null);
    this.dialog.showModal();
    this.ok.focus();
    if (phase === "infusing") this.checkGate();
  }

  /** Ask the server whether the baseline passes the pre-dose gate; show its advice if not. */
  async checkGate() {
    try {
      const advice = await api(`/api/sessions/${this.sessionId}/gate`);
      if (this.target === "infusing" && this.dialog.open) this.showGate(advice.advised_against ? advice.message : null);
    } catch {
      // The server checks again when the infusion is started.
    }
  }

  showGate(message) {
    this.gate.hidden = !message;
    this.override.checked = false;
    this.gateText.textContent = message || "";
    this.ok.disabled = Boolean(message);
    if (message) this.override.focus();
  }

  async send() {
    const body = { phase: this.target };
    const note = this.note.value.trim();
    if (note) body.note = note;
    const gated = !this.gate.hidden;
    if (gated) {
      if (!this.override.checked) return;
      body.override_gate = true;
    }
    this.ok.disabled = true;
    try {
      const session = await api(`/api/sessions/${this.sessionId}/phase`, { method: "POST", body });
      this.dialog.close();
      this.onChanged(session);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 409 && this.target === "infusing" && /gate/i.test(err.message)) {
        // The baseline changed since the dialog opened: show the advice and let the nurse decide.
        await this.checkGate();
        if (!this.gate.hidden) return;
      }
      showFormErrors(this.form, [...err.general, ...Object.values(err.fields)]);
      document.getElementById("confirm-phase-errors").focus();
    } finally {
      this.ok.disabled = !this.gate.hidden && !this.override.checked;
    }
  }
}
