// One running simulation on the trainer console: where it is (phase, simulated time), the
// patient's true vitals beside what the monitor shows, its device messages, alarms and the log
// of what trainers did; for trainers also its pace, Pause, Stop, events and steering.
// The frame is built once and only its text changes, so a poll never takes focus away.

import { api } from "./api.js";
import { clearErrors, showFieldError, showFormErrors } from "./form-errors.js";
import { fillAlarmBox } from "./session-alarms.js";
import { EVENT_BUTTONS, SPEEDS, VITALS, clock, describeEvent } from "./sim-events.js";
import { ageMs, ageText, localTime, parseTime, STALE_AFTER_MS } from "./time.js";
import { el } from "./dom.js";

export const PHASES = {
  baseline: "Baseline",
  infusing: "Infusing",
  recovery: "Recovery",
  discharged: "Discharged",
  stopped: "Stopped",
};

const ROWS = [
  { key: "heart_rate", label: "Heart rate", unit: "/min" },
  { key: "bp", label: "Blood pressure", unit: "mmHg" },
  { key: "spo2", label: "SpO₂", unit: "%" },
  { key: "respiratory_rate", label: "Resp. rate", unit: "/min" },
  { key: "temperature", label: "Temperature", unit: "°C" },
];
const NOTICES_SHOWN = 6;

function number(name, value) {
  if (value === null || value === undefined) return "–";
  return name === "temperature" ? Number(value).toFixed(1) : String(Math.round(Number(value)));
}

function speedText(speed) {
  return `${Number(speed).toLocaleString("en", { maximumFractionDigits: 2 })}×`;
}

/** Fill a speed <select> with the usual paces (and `current`, should it be another one). */
export function speedOptions(select, current) {
  const speeds = [...SPEEDS];
  if (current !== undefined && !speeds.includes(Number(current))) speeds.push(Number(current));
  speeds.sort((a, b) => a - b);
  select.replaceChildren(
    ...speeds.map((speed) => {
      const option = el("option", { text: speed === 1 ? "1× (real time)" : speedText(speed) });
      option.value = String(speed);
      return option;
    }),
  );
  if (current !== undefined) select.value = String(Number(current));
}

export class SimCard {
  /**
   * `editable`: the signed-in person may steer it. `onChanged(sim)` gets the simulation as the
   * server returned it after an action (the page moves a stopped one to the finished list).
   */
  constructor(sim, { editable, onChanged }) {
    this.id = sim.session_id;
    this.editable = editable;
    this.onChanged = onChanged;
    this.sim = null;
    this.latest = {};
    // The card's actions go to the server one after another, in the order they were made: a
    // trainer who changes the speed while a pause is still on its way must not lose the change.
    this.queue = Promise.resolve();
    this.inFlight = 0;
    this.build();
    this.update(sim);
  }

  q(selector) {
    return this.root.querySelector(selector);
  }

  /** The card's fixed frame, once. */
  build() {
    const id = this.id;
    const root = el("article", { className: "sim-card" });
    this.root = root;
    root.dataset.sessionId = String(id);
    root.setAttribute("aria-labelledby", `sim-${id}-title`);
    root.innerHTML = `
      <div class="sim-head">
        <h3 id="sim-${id}-title"><span class="sim-chair"></span><span class="visually-hidden">:</span>
          <span class="sim-sep" aria-hidden="true">·</span> <span class="sim-scenario"></span
          ><span class="visually-hidden"> (simulated)</span></h3>
        <span class="badge sim" title="Training session: not a real patient">SIMULATED</span>
        <span class="badge phase"></span>
        <span class="badge paused-badge" hidden>Paused</span>
        <span class="header-spacer"></span>
        <span class="sim-links">
          <a class="sim-open" href="/sessions/${id}">Open as the nurses see it</a>
          <a href="/ward">Ward</a>
        </span>
      </div>
      <p class="sim-meta"></p>
      <div class="sim-clock">
        <span class="sim-time-label">Simulated time</span>
        <span class="sim-time" aria-live="off"></span>
        <progress class="sim-progress" max="1" value="0"></progress>
        <span class="sim-speed-now"></span>
      </div>
      <div class="sim-controls" role="group" aria-label="Pace">
        <label class="inline-field">Speed <select class="sim-speed"></select></label>
        <button type="button" class="sim-pause"></button>
        <button type="button" class="danger sim-stop">Stop…</button>
      </div>
      <p class="sim-error" role="alert"></p>
      <p class="sim-status" role="status"></p>
      <div class="sim-body">
        <section class="sim-section sim-vitals">
          <h4>Patient and monitor</h4>
          <div class="table-wrap trainer-table-wrap">
            <table class="truth-table">
              <thead><tr><th scope="col">Vital</th><th scope="col" class="truth-col">True value</th>
                <th scope="col" class="monitor-col">Monitor shows</th></tr></thead>
              <tbody></tbody>
            </table>
          </div>
          <h4 class="sub-title">Alarms on the monitor</h4>
          <ul class="sim-alarms"></ul>
          <h4 class="sub-title">Device messages</h4>
          <ul class="sim-notices"></ul>
        </section>
        <section class="sim-section sim-act">
          <h4>Trigger now</h4>
          <div class="event-buttons"></div>
          <form class="steer-form" novalidate>
            <fieldset>
              <legend>Steer a vital</legend>
              <div class="form-errors" role="alert"></div>
              <div class="steer-grid">
                <div class="field">
                  <label for="steer-vital-${id}">Vital</label>
                  <select id="steer-vital-${id}" name="vital"></select>
                </div>
                <div class="field">
                  <label for="steer-target-${id}">Target <span class="hint steer-unit"></span></label>
                  <input id="steer-target-${id}" name="target" type="number" inputmode="decimal" step="any" required>
                </div>
                <div class="field">
                  <label for="steer-over-${id}">Over <span class="hint">seconds</span></label>
                  <input id="steer-over-${id}" name="over_s" type="number" inputmode="numeric" min="0" max="21600" step="any" value="60">
                </div>
              </div>
              <div class="steer-actions">
                <button type="submit" class="primary steer-go">Steer</button>
                <button type="button" class="steer-release">Release</button>
                <span class="hint">Release hands the vital back to the physiology.</span>
              </div>
            </fieldset>
          </form>
        </section>
        <section class="sim-section sim-log">
          <h4>Events triggered</h4>
          <p class="hint log-empty">None yet.</p>
          <ol class="event-log"></ol>
        </section>
      </div>`;

    const tbody = root.querySelector(".truth-table tbody");
    for (const row of ROWS) {
      const tr = el("tr");
      tr.dataset.vital = row.key;
      const th = el("th", { text: row.label });
      th.scope = "row";
      th.append(" ", el("span", { className: "unit", text: row.unit }));
      const monitor = el("td", { className: "monitor" });
      monitor.append(el("span", { className: "m-value" }), " ", el("span", { className: "m-age" }));
      tr.append(th, el("td", { className: "truth" }), monitor);
      tbody.append(tr);
    }

    if (!this.editable) {
      root.querySelector(".sim-controls").remove();
      root.querySelector(".sim-act").remove();
      root.classList.add("read-only");
      return;
    }

    const buttons = root.querySelector(".event-buttons");
    for (const spec of EVENT_BUTTONS) {
      const button = el("button", { className: "small event-button" });
      button.type = "button";
      button.dataset.kind = spec.kind;
      // Named by the event alone; what it does at its defaults is the button's description.
      button.setAttribute("aria-label", spec.label);
      const what = el("span", { className: "event-what", text: spec.what });
      what.id = `event-${id}-${spec.kind}`;
      button.setAttribute("aria-describedby", what.id);
      button.append(el("span", { className: "event-name", text: spec.label }), what);
      buttons.append(button);
    }
    buttons.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-kind]");
      if (button) this.trigger({ kind: button.dataset.kind }, button);
    });

    const vital = root.querySelector(`#steer-vital-${id}`);
    for (const [name, spec] of Object.entries(VITALS)) {
      const option = el("option", { text: spec.label });
      option.value = name;
      vital.append(option);
    }
    vital.value = "spo2";
    vital.addEventListener("change", () => this.drawSteerRange());
    this.drawSteerRange();
    root.querySelector(".steer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.steer();
    });
    root.querySelector(".steer-release").addEventListener("click", () => this.release());

    const speed = root.querySelector(".sim-speed");
    speed.addEventListener("change", () => this.control({ speed: Number(speed.value) }, speed));
    root.querySelector(".sim-pause").addEventListener("click", (event) =>
      this.control({ paused: !this.sim.paused }, event.currentTarget),
    );
    root.querySelector(".sim-stop").addEventListener("click", () => this.stop());
  }

  // ---- what the server says --------------------------------------------------------------

  update(sim) {
    this.sim = sim;
    const root = this.root;
    root.dataset.status = sim.status;
    root.dataset.paused = String(sim.paused);
    this.q(".sim-chair").textContent = sim.chair;
    this.q(".sim-scenario").textContent = sim.title;
    const phase = this.q(".badge.phase");
    phase.dataset.phase = sim.phase;
    phase.textContent = PHASES[sim.phase] || sim.phase;
    this.q(".paused-badge").hidden = !sim.paused;
    this.drawMeta();

    const position = Math.min(sim.position_s, sim.end_s);
    this.q(".sim-time").textContent = `${clock(position)} / ${clock(sim.end_s)}`;
    const progress = this.q(".sim-progress");
    progress.max = sim.end_s || 1;
    progress.value = position;
    progress.setAttribute("aria-label", `Simulated time ${clock(position)} of ${clock(sim.end_s)}`);
    this.q(".sim-speed-now").textContent = sim.paused ? "paused" : `at ${speedText(sim.speed)}`;

    if (this.editable) {
      const speed = this.q(".sim-speed");
      if (document.activeElement !== speed || speed.value === String(Number(sim.speed))) {
        speedOptions(speed, sim.speed);
      }
      const pause = this.q(".sim-pause");
      pause.textContent = sim.paused ? "Resume" : "Pause";
    }
    this.drawVitals();
    this.drawNotices();
    this.drawLog();
  }

  /** The session behind it (patient name, latest values), from GET /api/sessions/{id}. */
  setSession(summary) {
    this.patient = summary.patient ? summary.patient.display_name : "";
    for (const [name, value] of Object.entries(summary.latest || {})) {
      const current = this.latest[name];
      if (!current || parseTime(current.taken_at) <= parseTime(value.taken_at)) this.latest[name] = value;
    }
    this.drawMeta();
    this.drawVitals();
  }

  /** A reading from the stream: the newest value of each vital is what the monitor shows. */
  takeReading(reading) {
    let changed = false;
    for (const name of ["heart_rate", "systolic", "diastolic", "spo2", "respiratory_rate", "temperature"]) {
      const value = reading[name];
      if (value === null || value === undefined) continue;
      const current = this.latest[name];
      if (!current || parseTime(current.taken_at) <= parseTime(reading.taken_at)) {
        this.latest[name] = { value, taken_at: reading.taken_at };
        changed = true;
      }
    }
    return changed;
  }

  drawMeta() {
    const sim = this.sim;
    const parts = [];
    if (this.patient) parts.push(`Patient “${this.patient}”`);
    parts.push(`seed ${sim.seed}`);
    parts.push(`started by ${sim.started_by} at ${localTime(sim.started_at, { seconds: false })}`);
    this.q(".sim-meta").textContent = parts.join(" · ");
  }

  drawVitals() {
    const truth = this.sim.truth;
    for (const tr of this.root.querySelectorAll(".truth-table tbody tr")) {
      const key = tr.dataset.vital;
      const truthCell = tr.querySelector(".truth");
      if (!truth) truthCell.textContent = "–";
      else if (key === "bp") truthCell.textContent = `${number("systolic", truth.systolic)}/${number("diastolic", truth.diastolic)}`;
      else truthCell.textContent = number(key, truth[key]);

      const shown = this.monitorValue(key);
      const value = tr.querySelector(".m-value");
      const age = tr.querySelector(".m-age");
      if (!shown) {
        value.textContent = "–";
        age.textContent = "no reading";
        delete tr.dataset.takenAt;
        continue;
      }
      value.textContent = shown.text;
      tr.dataset.takenAt = shown.taken_at;
      age.title = `Taken at ${localTime(shown.taken_at)}`;
    }
    this.tick();
  }

  monitorValue(key) {
    const latest = this.latest;
    if (key === "bp") {
      const sys = latest.systolic;
      const dia = latest.diastolic;
      if (!sys && !dia) return null;
      const times = [sys, dia].filter(Boolean).map((v) => parseTime(v.taken_at).getTime());
      return {
        text: `${number("systolic", sys && sys.value)}/${number("diastolic", dia && dia.value)}`,
        taken_at: new Date(Math.min(...times)).toISOString(),
      };
    }
    const entry = latest[key];
    return entry ? { text: number(key, entry.value), taken_at: entry.taken_at } : null;
  }

  /** Every second: the monitor values' ages (a value the monitor stopped sending goes stale). */
  tick() {
    for (const tr of this.root.querySelectorAll(".truth-table tbody tr[data-taken-at]")) {
      const age = ageMs(tr.dataset.takenAt);
      tr.querySelector(".m-age").textContent = ageText(age);
      tr.dataset.stale = String(age > STALE_AFTER_MS);
    }
  }

  drawNotices() {
    const list = this.q(".sim-notices");
    const notices = (this.sim.notices || []).slice(-NOTICES_SHOWN).reverse();
    if (!notices.length) {
      list.replaceChildren(el("li", { className: "none", text: "None." }));
      return;
    }
    list.replaceChildren(...notices.map((text) => el("li", { text: text })));
  }

  drawLog() {
    const events = [...(this.sim.events || [])].sort((a, b) => b.at_s - a.at_s);
    this.q(".log-empty").hidden = events.length > 0;
    const items = events.map((entry) => {
      const li = el("li");
      li.dataset.kind = entry.kind;
      const when = el("span", { className: "log-when", text: clock(entry.at_s) });
      when.title = "Simulated time when it was triggered";
      li.append(when, " ", el("span", { className: "log-what", text: describeEvent(entry.event) }), " ", el("span", { className: "log-who", text: entry.by }));
      return li;
    });
    this.q(".event-log").replaceChildren(...items);
  }

  /** The session's open alarms, as the ward shows them. */
  drawAlarms(open) {
    const list = this.q(".sim-alarms");
    if (!open.length) {
      list.replaceChildren(el("li", { className: "none", text: "None." }));
      this.root.removeAttribute("data-alarm");
      return;
    }
    this.root.dataset.alarm = open[0].priority;
    list.replaceChildren(
      ...open.map((alert) => {
        const li = el("li");
        const box = el("div");
        fillAlarmBox(box, alert);
        li.append(box);
        return li;
      }),
    );
  }

  // ---- what the trainer does ----------------------------------------------------------------

  /** Send one action after those still on their way; its control stays disabled until it is done. */
  send(path, body, { done, control } = {}) {
    this.inFlight += 1;
    this.root.setAttribute("aria-busy", "true");
    if (control) control.disabled = true;
    const run = this.queue.then(() => this.sendNow(path, body, done));
    const finish = () => {
      this.inFlight -= 1;
      this.root.setAttribute("aria-busy", String(this.inFlight > 0));
      if (control) control.disabled = false;
    };
    this.queue = run.then(finish, finish);
    return run;
  }

  async sendNow(path, body, done) {
    this.q(".sim-error").textContent = "";
    try {
      const sim = await api(`/api/simulations/${this.id}${path}`, { method: "POST", body });
      if (done) this.q(".sim-status").textContent = done(sim);
      this.onChanged(sim);
      return sim;
    } catch (err) {
      if (err.status !== 422) this.q(".sim-error").textContent = err.message;
      throw err;
    }
  }

  async trigger(event, button) {
    const label = button ? button.querySelector(".event-name").textContent : event.kind;
    try {
      await this.send("/events", event, {
        control: button,
        done: (sim) => `${label} triggered at ${clock(sim.position_s)}.`,
      });
    } catch (err) {
      if (err.status === 422) this.q(".sim-error").textContent = `${label}: ${err.message}`;
    }
  }

  drawSteerRange() {
    const name = this.q(`#steer-vital-${this.id}`).value;
    const spec = VITALS[name];
    const target = this.q(`#steer-target-${this.id}`);
    target.min = String(spec.min);
    target.max = String(spec.max);
    target.placeholder = `${spec.min}–${spec.max}`;
    this.q(".steer-unit").textContent = spec.unit;
  }

  steerInputs() {
    return {
      form: this.q(".steer-form"),
      vital: this.q(`#steer-vital-${this.id}`),
      target: this.q(`#steer-target-${this.id}`),
      over: this.q(`#steer-over-${this.id}`),
    };
  }

  /** Seconds from the form, or a message (empty means the server's default). */
  overSeconds(over) {
    const text = over.value.trim();
    if (!text) return { value: undefined };
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) return { problem: "Enter seconds: 0 or more." };
    return { value };
  }

  async steer() {
    const { form, vital, target, over } = this.steerInputs();
    clearErrors(form);
    const body = { kind: "steer", vital: vital.value };
    const targetValue = target.value.trim() === "" ? NaN : Number(target.value);
    let bad = false;
    if (!Number.isFinite(targetValue)) {
      showFieldError(target, "Enter the value to steer to.");
      bad = true;
    } else {
      body.target = targetValue;
    }
    const seconds = this.overSeconds(over);
    if (seconds.problem) {
      showFieldError(over, seconds.problem);
      bad = true;
    } else if (seconds.value !== undefined) {
      body.over_s = seconds.value;
    }
    if (bad) {
      form.querySelector("[aria-invalid='true']").focus();
      return;
    }
    await this.sendSteer(body, form.querySelector(".steer-go"));
  }

  async release() {
    const { form, vital, over } = this.steerInputs();
    clearErrors(form);
    const body = { kind: "release", vital: vital.value };
    const seconds = this.overSeconds(over);
    if (seconds.problem) {
      showFieldError(over, seconds.problem);
      over.focus();
      return;
    }
    if (seconds.value !== undefined) body.over_s = seconds.value;
    await this.sendSteer(body, form.querySelector(".steer-release"));
  }

  async sendSteer(body, button) {
    const { form, vital, target, over } = this.steerInputs();
    const what = describeEvent({ over_s: 60, ...body });
    try {
      await this.send("/events", body, { control: button, done: (sim) => `${what}: from ${clock(sim.position_s)}.` });
    } catch (err) {
      if (err.status !== 422) return;
      const inputs = { vital, target, over_s: over };
      const general = [];
      for (const { loc, message } of err.paths) {
        const input = inputs[loc[loc.length - 1]];
        if (input) showFieldError(input, message);
        else general.push(message);
      }
      showFormErrors(form, general);
      const invalid = form.querySelector("[aria-invalid='true']");
      if (invalid) invalid.focus();
    }
  }

  async control(change, control) {
    const words = change.paused === true ? "Paused" : change.paused === false ? "Resumed" : null;
    try {
      await this.send("/control", change, {
        control,
        done: (sim) => (words ? `${words} at ${clock(sim.position_s)}.` : `Speed ${speedText(sim.speed)}.`),
      });
    } catch (err) {
      if (err.status === 422) this.q(".sim-error").textContent = err.message;
      if (this.sim) this.update(this.sim); // put the speed back as the server has it
    }
  }

  async stop() {
    const ask =
      `Stop the simulation on ${this.sim.chair}?\n\n` +
      "Its session ends (stopped) on the ward for everyone, and the run cannot be resumed.";
    if (!window.confirm(ask)) return;
    try {
      await this.send("/stop", undefined, { control: this.q(".sim-stop") });
    } catch {
      // shown in the card's error line
    }
  }
}
