// One limit profile on screen: every number of its limits document, per phase and for all
// phases, as labelled inputs (administrators) or as text (everyone else); and, for saving,
// the document back with only the fields a person changed replaced (PUT sends it whole).

import { markInvalid, showFieldError } from "./form-errors.js";
import { PHASES, describePath, plain, secondsText } from "./limits-diff.js";
import { VITALS } from "./limits-view.js";
import { el } from "./dom.js";

// The vital table's columns after the vital, in the session page's order: the field inside the
// vital's limit, its header, the words an input is labelled with, and whether empty is allowed.
const COLUMNS = [
  { field: "below.high", head: "!!! High", words: "high priority below", nullable: true, title: "High priority when below this" },
  { field: "below.medium", head: "!! Medium", words: "medium priority below", nullable: true, title: "Medium priority when below this" },
  { field: "above.medium", head: "!! Medium", words: "medium priority above", nullable: true, title: "Medium priority when above this" },
  { field: "above.high", head: "!!! High", words: "high priority above", nullable: true, title: "High priority when above this" },
  { field: "delay_s", head: "All", words: "delay (seconds)", nullable: false, seconds: true,
    title: "How long a value must stay beyond a limit before it alarms (0: on measurement)" },
  { field: "high_delay_s", head: "!!! High", words: "high-priority delay (seconds; empty: the same delay)", nullable: true, seconds: true,
    title: "A shorter delay for the high-priority limit; empty: the same delay" },
  { field: "hysteresis", head: "Hysteresis", words: "hysteresis", nullable: false },
];

const LATCH = { 3: "High priority only", 2: "Medium and high", 1: "Every priority" };
const PRIORITY_CHOICES = { 3: "High", 2: "Medium", 1: "Low" };
const RISE_UNITS = { false: "mmHg", true: "% of baseline" };
const ALERTNESS = { true: "Required", false: "Not required" };

const has = (v) => v !== null && v !== undefined;
const idFor = (path) => `lim-${path.replaceAll(".", "-")}`;
// The pre-dose gate's age bands (alerts/limits.py PreDoseGate): rows added and removed here,
// sent whole, youngest first. The server allows ages 0-130 and up to 8 bands.
const BANDS = "gate.age_bands";
const BAND_FIELDS = [
  { key: "from_age", label: "From age", unit: "years" },
  { key: "systolic", label: "Systolic above", unit: "mmHg" },
  { key: "diastolic", label: "Diastolic above", unit: "mmHg" },
];
export const MAX_BANDS = 8;
const isBandPath = (path) => path === BANDS || path.startsWith(`${BANDS}.`);

function getAt(doc, parts) {
  let node = doc;
  for (const part of parts) {
    if (node === null || node === undefined) return undefined;
    node = node[part];
  }
  return node;
}

function setAt(doc, parts, value) {
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    if (node[part] === null || typeof node[part] !== "object") node[part] = {};
    node = node[part];
  }
  node[parts[parts.length - 1]] = value;
}

/** Whether a control's value differs from what it was filled with (120 and 120.0 do not). */
function isChanged(control) {
  if (control.validity && control.validity.badInput) return true;
  const now = control.value.trim();
  const before = control.dataset.initial;
  if (now === before) return false;
  return !(control.type === "number" && now !== "" && before !== "" && Number(now) === Number(before));
}

export class ProfileForm {
  constructor(container) {
    this.container = container;
    this.limits = null;
    this.editable = false;
    this.bandRows = 0; // rows made so far: each new row's ids are its own
  }

  /** Draw `limits` (a LimitSet document), as inputs when `editable`. */
  show(limits, { editable }) {
    this.limits = limits;
    this.editable = editable;
    const sections = PHASES.map((phase) => this.phaseSection(phase));
    sections.push(this.generalSection());
    this.container.replaceChildren(...sections);
  }

  controls() {
    return [...this.container.querySelectorAll("[data-path]")];
  }

  control(path) {
    return this.container.querySelector(`[data-path="${CSS.escape(path)}"]`);
  }

  /** How many changes wait to be saved: changed fields, and age bands added or removed. */
  changeCount() {
    // A new band counts once, however many of its boxes were filled in.
    const fields = this.changed().filter((control) => !control.closest("tr[data-band='new']"));
    return fields.length + this.bandsAddedOrRemoved();
  }

  bandsAddedOrRemoved() {
    const saved = ((this.limits.gate || {}).age_bands || []).length;
    const rows = this.bandList ? [...this.bandList.querySelectorAll("tr[data-band]")] : [];
    const added = rows.filter((row) => row.dataset.band === "new").length;
    return added + (saved - (rows.length - added));
  }

  /** The controls whose value differs from the saved profile (each marked, for the eye). */
  changed() {
    const changed = [];
    for (const control of this.controls()) {
      const yes = isChanged(control);
      if (yes) changed.push(control);
      if (yes) control.dataset.changed = "true";
      else delete control.dataset.changed;
    }
    return changed;
  }

  /**
   * The limits document with the changed fields put in, and the problems that stop it being sent
   * ([{control, message}]: not a number, or empty where a value is required).
   */
  document() {
    const doc = structuredClone(this.limits);
    const problems = [];
    for (const control of this.changed()) {
      if (isBandPath(control.dataset.path)) continue; // the bands go whole, below
      const parts = control.dataset.path.split(".");
      let value;
      if (control.tagName === "SELECT") {
        value = control.dataset.type === "bool" ? control.value === "true" : Number(control.value);
      } else if (control.validity.badInput) {
        problems.push({ control, message: "Enter a number." });
        continue;
      } else if (control.value.trim() === "") {
        if (control.dataset.nullable !== "true") {
          problems.push({ control, message: "Required: enter a number." });
          continue;
        }
        value = null;
      } else {
        value = Number((Number(control.value) * Number(control.dataset.scale || 1)).toFixed(6));
      }
      if (parts[2] === "baseline_rise") this.ensureRise(doc, parts[1]);
      setAt(doc, parts, value);
    }
    if (this.bandList) {
      doc.gate = doc.gate || {};
      doc.gate.age_bands = this.bandsDocument(problems);
    }
    // A rise rule with neither amount is no rule: store it as none, as the defaults do.
    for (const phase of PHASES) {
      const rules = doc.phases[phase.key];
      const rise = rules && rules.baseline_rise;
      if (rise && !has(rise.systolic) && !has(rise.diastolic)) rules.baseline_rise = null;
    }
    return { limits: doc, problems };
  }

  /** A phase without a rise rule gets one when an amount is entered, measured as chosen. */
  ensureRise(doc, phase) {
    const rules = doc.phases[phase];
    if (rules.baseline_rise) return;
    const choice = (name) => this.control(`phases.${phase}.baseline_rise.${name}`);
    rules.baseline_rise = {
      systolic: null,
      diastolic: null,
      percent: choice("percent").value === "true",
      priority: Number(choice("priority").value),
    };
  }

  /**
   * Show a server error at the deepest part of `parts` (a path inside the limits document) the
   * form has: a field, a vital's row, a group. False if none matches (the caller shows it on top).
   */
  showError(parts, message) {
    for (let n = parts.length; n > 0; n -= 1) {
      const path = parts.slice(0, n).join(".");
      const control = this.control(path);
      if (control) {
        this.fieldError(control, message);
        return true;
      }
      const group = this.container.querySelector(`[data-group="${CSS.escape(path)}"]`);
      if (group) {
        this.groupError(group, n === parts.length ? message : `${describePath(parts)}: ${message}`);
        return true;
      }
    }
    return false;
  }

  /** The message beside one control: in its vital's error row, or under its field. */
  fieldError(control, message) {
    const row = control.closest("tr[data-group]");
    if (!row) {
      showFieldError(control, message);
      return;
    }
    const words = control.dataset.words;
    this.addMessage(row, `${words[0].toUpperCase()}${words.slice(1)}: ${message}`);
    markInvalid(control, `${row.id}-error`);
  }

  /** A message about a whole vital or group; the vital's "above"/"below" pair when it names one. */
  groupError(group, message) {
    this.addMessage(group, message);
    let controls = [...group.querySelectorAll("[data-path]")];
    const side = /^(above|below)\b/i.exec(message);
    if (side && group.tagName === "TR") {
      const wanted = side[1].toLowerCase();
      controls = controls.filter((c) => c.dataset.path.split(".").at(-2) === wanted);
    }
    for (const control of controls) markInvalid(control, `${group.id}-error`);
  }

  addMessage(group, message) {
    const box = document.getElementById(`${group.id}-error`);
    box.textContent = box.textContent ? `${box.textContent} ${message}` : message;
    box.hidden = false;
    if (group.tagName === "TR") group.nextElementSibling.hidden = false;
  }

  /** Hide the vitals' error rows (form-errors.js clears the messages themselves). */
  clearRows() {
    for (const row of this.container.querySelectorAll(".limits-error-row")) row.hidden = true;
  }

  // ---- drawing ----------------------------------------------------------------------------

  phaseSection(phase) {
    const path = `phases.${phase.key}`;
    const rules = this.limits.phases[phase.key] || { vitals: {} };
    const id = idFor(path);
    const section = el("section", { className: "phase-section", attrs: { id, "aria-labelledby": `${id}-title` } });
    section.append(
      el("h3", { attrs: { id: `${id}-title` } }, [`${phase.label} `, el("span", { className: "hint", text: "phase" })]),
      el("div", { className: "table-wrap" }, [this.vitalTable(phase, rules)]),
      el("div", { className: "phase-rules" }, [this.riseGroup(phase, rules), this.feedGroup(phase)]),
    );
    return section;
  }

  vitalTable(phase, rules) {
    const table = el("table", { className: "limits profile-limits" });
    table.append(
      el("caption", { className: "visually-hidden", text: `${phase.label} phase: limits per vital` }),
      el("thead", {}, [
        el("tr", {}, [
          el("th", { text: "Vital", attrs: { scope: "col", rowspan: "2" } }),
          el("th", { className: "group", text: "Alarms below", attrs: { scope: "colgroup", colspan: "2" } }),
          el("th", { className: "group", text: "Alarms above", attrs: { scope: "colgroup", colspan: "2" } }),
          el("th", { attrs: { scope: "colgroup", colspan: "2" }, className: "group", text: this.editable ? "Delay (s)" : "Delay" }),
          el("th", {
            attrs: { scope: "col", rowspan: "2", title: "How far back inside a limit a value must come before its alarm clears" },
            text: "Hysteresis",
          }),
        ]),
        el("tr", {}, COLUMNS.slice(0, 6).map((c) => el("th", { text: c.head, attrs: { scope: "col", title: c.title } }))),
      ]),
    );
    const body = el("tbody");
    for (const vital of VITALS) {
      const path = `phases.${phase.key}.vitals.${vital.key}`;
      const limit = (rules.vitals || {})[vital.key];
      const id = idFor(path);
      const row = el("tr", { attrs: { id, "data-group": path, "data-vital": vital.key } });
      row.append(
        el("th", { attrs: { scope: "row" } }, [vital.label, " ", el("span", { className: "hint unit", text: vital.unit })]),
      );
      for (const column of COLUMNS) {
        const parts = [...path.split("."), ...column.field.split(".")];
        const value = limit ? getAt(limit, column.field.split(".")) : undefined;
        const cell = el("td");
        if (this.editable) {
          cell.append(
            this.numberInput(parts.join("."), value, {
              label: `${phase.label} · ${vital.label}: ${column.words}${column.seconds ? "" : ` (${vital.unit})`}`,
              words: column.words.replace(/ \(.*\)$/, ""),
              nullable: column.nullable,
            }),
          );
        } else {
          this.readOnlyCell(cell, column, value, vital);
        }
        row.append(cell);
      }
      const errorRow = el("tr", { className: "limits-error-row" }, [
        el("td", { attrs: { colspan: String(COLUMNS.length + 1) } }, [el("p", { className: "field-error", attrs: { id: `${id}-error` } })]),
      ]);
      errorRow.hidden = true;
      body.append(row, errorRow);
    }
    table.append(body);
    return table;
  }

  readOnlyCell(cell, column, value, vital) {
    const [side, priority] = column.field.split(".");
    if (column.field === "high_delay_s") {
      cell.textContent = has(value) ? secondsText(value, { zero: "on measurement" }) : "–";
      cell.title = has(value) ? "High-priority delay" : "Same as the delay";
      if (!has(value)) cell.className = "none";
    } else if (column.seconds) {
      cell.textContent = secondsText(value, { zero: "on measurement" });
    } else if (column.field === "hysteresis") {
      cell.textContent = has(value) ? plain(value) : "–";
    } else if (has(value)) {
      cell.textContent = `${side === "above" ? ">" : "<"} ${plain(value)}`;
      cell.className = priority;
      cell.title = `${priority} priority ${side} ${plain(value)} ${vital.unit}`;
    } else {
      cell.className = "none";
      cell.append("–", el("span", { className: "visually-hidden", text: " no limit" }));
      cell.title = "no limit";
    }
  }

  riseGroup(phase, rules) {
    const path = `phases.${phase.key}.baseline_rise`;
    const rise = rules.baseline_rise || null;
    const unit = rise && rise.percent ? "%" : "mmHg";
    const fields = [
      this.field(`${path}.systolic`, "Systolic rise", rise ? rise.systolic : null, {
        nullable: true,
        show: (v) => (has(v) ? `+${plain(v)} ${unit}` : "none"),
      }),
      this.field(`${path}.diastolic`, "Diastolic rise", rise ? rise.diastolic : null, {
        nullable: true,
        show: (v) => (has(v) ? `+${plain(v)} ${unit}` : "none"),
      }),
      this.choice(`${path}.percent`, "Measured in", rise ? String(rise.percent) : "false", RISE_UNITS, "bool", !rise),
      this.choice(`${path}.priority`, "Priority", rise ? String(rise.priority) : "2", PRIORITY_CHOICES, "int", !rise),
    ];
    let note = "Empty: no rule.";
    if (!this.editable) note = rise ? "" : "No rule in this phase.";
    const hint = `Alarms when a blood pressure rises this much above the pre-dose baseline. ${note}`;
    const group = this.group(path, "Rise from the pre-dose baseline", fields, hint.trim());
    group.querySelector(".rule-grid").classList.add("rise");
    return group;
  }

  feedGroup(phase) {
    const path = `phases.${phase.key}`;
    const rules = this.limits.phases[phase.key] || {};
    const fields = [
      this.field(`${path}.no_data_after_s`, "No data after", rules.no_data_after_s, {
        nullable: true,
        unit: "s",
        show: (v) => (has(v) ? secondsText(v) : "off"),
      }),
      this.field(`${path}.bp_due_every_s`, "BP due every", rules.bp_due_every_s, {
        nullable: true,
        unit: "min",
        scale: 60,
        show: (v) => (has(v) ? secondsText(v) : "off"),
      }),
    ];
    const id = `${idFor(path)}-feeds`;
    const fieldset = el("fieldset", { className: "rule-group", attrs: { id } }, [
      el("legend", { text: "Missing readings" }),
      el("p", {
        className: "hint group-hint",
        text: `No data: a technical alarm when a monitor goes silent. BP due: a reminder for blood pressure entered by hand.${this.editable ? " Empty: off." : ""}`,
      }),
      el("div", { className: "rule-grid two" }, fields),
    ]);
    return fieldset;
  }

  /**
   * The age bands as typed, youngest first (the rows are put in that order too, so an error the
   * server names by position lands on the right row); each problem added to `problems`.
   */
  bandsDocument(problems) {
    const rows = [...this.bandList.querySelectorAll("tr[data-band]")];
    const read = rows.map((row) => {
      const band = {};
      let complete = true;
      for (const field of BAND_FIELDS) {
        const input = row.querySelector(`[data-band-field="${field.key}"]`);
        const text = input.value.trim();
        let message = null;
        if (input.validity.badInput) message = "Enter a number.";
        else if (text === "") message = "Required: enter a number.";
        else if (field.key === "from_age" && !(Number.isInteger(Number(text)) && Number(text) >= 0 && Number(text) <= 130)) {
          message = "A whole number of years, 0 to 130.";
        } else if (field.key !== "from_age" && !(Number(text) > 0)) message = "A number above 0.";
        if (message) {
          problems.push({ control: input, message });
          complete = false;
        } else {
          band[field.key] = Number(text);
        }
      }
      return { row, band, complete };
    });
    const ages = read.filter((r) => r.complete).map((r) => r.band.from_age);
    for (const r of read) {
      if (r.complete && ages.filter((age) => age === r.band.from_age).length > 1) {
        const input = r.row.querySelector('[data-band-field="from_age"]');
        problems.push({ control: input, message: `Another band starts at ${r.band.from_age} too: each band starts at its own age.` });
      }
    }
    read.sort((a, b) => (a.band.from_age ?? Infinity) - (b.band.from_age ?? Infinity));
    this.bandList.append(...read.flatMap((r) => [r.row, r.row.nextElementSibling]));
    this.numberBands();
    return read.map((r) => r.band);
  }

  /** Each row's inputs named by its position ("gate.age_bands.0.systolic"), as the server names them. */
  numberBands() {
    const rows = [...this.bandList.querySelectorAll("tr[data-band]")];
    rows.forEach((row, index) => {
      const path = `${BANDS}.${index}`;
      row.dataset.group = path;
      row.id = idFor(path);
      row.nextElementSibling.querySelector(".field-error").id = `${row.id}-error`;
      for (const input of row.querySelectorAll("[data-band-field]")) {
        input.dataset.path = `${path}.${input.dataset.bandField}`;
        input.id = idFor(input.dataset.path);
        const label = BAND_FIELDS.find((f) => f.key === input.dataset.bandField).label;
        input.setAttribute("aria-label", `Age band ${index + 1}: ${label.toLowerCase()}`);
      }
      const remove = row.querySelector("button");
      if (remove) remove.setAttribute("aria-label", `Remove age band ${index + 1}`);
    });
    this.addBand.disabled = rows.length >= MAX_BANDS;
    this.bandNone.hidden = rows.length > 0;
    this.bandTable.hidden = rows.length === 0;
  }

  /** A row of the band editor: a saved band (its values to compare with) or a new one. */
  bandRow(band, { isNew = false } = {}) {
    this.bandRows += 1;
    const row = el("tr", { attrs: { "data-band": isNew ? "new" : "saved" } });
    for (const field of BAND_FIELDS) {
      const input = el("input", {
        attrs: {
          type: "number",
          inputmode: field.key === "from_age" ? "numeric" : "decimal",
          step: field.key === "from_age" ? "1" : "any",
          min: "0",
          max: field.key === "from_age" ? "130" : "400",
          autocomplete: "off",
          required: "",
          "data-band-field": field.key,
        },
      });
      input.dataset.words = field.label.toLowerCase();
      input.dataset.nullable = "false";
      input.value = has(band[field.key]) ? plain(band[field.key]) : "";
      // A new row's values are all changes; a saved row's are compared with what was saved.
      input.dataset.initial = isNew ? "" : input.value;
      row.append(el("td", {}, [input]));
    }
    const remove = el("button", { className: "small", text: "Remove", attrs: { type: "button" } });
    remove.addEventListener("click", () => {
      const next = row.nextElementSibling;
      const focus = row.previousElementSibling?.previousElementSibling?.querySelector("input") || this.addBand;
      row.remove();
      next.remove();
      this.numberBands();
      focus.focus();
      this.container.dispatchEvent(new Event("input", { bubbles: true })); // the unsaved-change count
    });
    row.append(el("td", {}, [remove]));
    const errorRow = el("tr", { className: "limits-error-row" }, [
      el("td", { attrs: { colspan: String(BAND_FIELDS.length + 1) } }, [el("p", { className: "field-error" })]),
    ]);
    errorRow.hidden = true;
    return [row, errorRow];
  }

  /** The pre-dose gate: its default limits, and the limits by age band (editable or as text). */
  gateGroup(gate) {
    const mmHg = { unit: "mmHg", show: (v) => `${plain(v)} mmHg` };
    const bands = gate.age_bands || [];
    const group = this.group(
      "gate",
      "Pre-dose gate",
      [
        this.field("gate.systolic", "Systolic above", gate.systolic, mmHg),
        this.field("gate.diastolic", "Diastolic above", gate.diastolic, mmHg),
      ],
      "A baseline above this asks the nurse to confirm before the infusion starts.",
    );
    const title = el("h4", { className: "band-title", attrs: { id: "gate-bands-title" }, text: "By age" });
    const note = el("p", {
      className: "hint band-note",
      attrs: { id: "gate-bands-note" },
      text:
        "A band holds from its age up to the next band's, by the patient's age on the day of the session. " +
        "Patients without a date of birth, and those younger than the first band, are held to the limits above.",
    });
    const box = el("div", { className: "gate-bands", attrs: { role: "group", "aria-labelledby": "gate-bands-title", "aria-describedby": "gate-bands-note" } }, [title, note]);
    if (!this.editable) {
      const list = el("ul", { className: "band-list-ro" });
      for (const band of bands) {
        list.append(el("li", { text: `From ${band.from_age}: systolic above ${plain(band.systolic)}, diastolic above ${plain(band.diastolic)} mmHg` }));
      }
      if (!bands.length) list.append(el("li", { className: "none", text: "No bands: the same gate at every age." }));
      box.append(list);
      group.querySelector(".field-error").before(box);
      this.bandList = null;
      return group;
    }
    this.bandTable = el("table", { className: "limits band-table" }, [
      el("caption", { className: "visually-hidden", text: "Pre-dose gate by age band" }),
      el("thead", {}, [el("tr", {}, [
        ...BAND_FIELDS.map((f) => el("th", { attrs: { scope: "col" } }, [f.label, " ", el("span", { className: "hint", text: `(${f.unit})` })])),
        el("th", { attrs: { scope: "col" } }, [el("span", { className: "visually-hidden", text: "Remove" })]),
      ])]),
    ]);
    this.bandList = el("tbody");
    this.bandTable.append(this.bandList);
    this.bandNone = el("p", { className: "hint band-none", text: "No bands: the same gate at every age." });
    this.addBand = el("button", { className: "small", text: "Add an age band", attrs: { type: "button", id: "gate-add-band" } });
    this.addBand.addEventListener("click", () => {
      const start = { systolic: gate.systolic, diastolic: gate.diastolic };
      const rows = this.bandRow(start, { isNew: true });
      this.bandList.append(...rows);
      this.numberBands();
      rows[0].querySelector("input").focus();
      this.container.dispatchEvent(new Event("input", { bubbles: true })); // the unsaved-change count
    });
    for (const band of bands) this.bandList.append(...this.bandRow(band));
    box.append(el("div", { className: "table-wrap" }, [this.bandTable]), this.bandNone, this.addBand);
    group.querySelector(".field-error").before(box);
    this.numberBands();
    return group;
  }

  generalSection() {
    const gate = this.limits.gate || {};
    const timing = this.limits.timing || {};
    const section = el("section", { className: "phase-section general-section", attrs: { "aria-labelledby": "lim-general-title" } });
    const seconds = (v) => secondsText(v);
    section.append(
      el("h3", { attrs: { id: "lim-general-title" } }, ["All phases"]),
      el("div", { className: "general-grid" }, [
        this.gateGroup(gate),
        this.group(
          "timing",
          "Alarm timing",
          [
            this.field("timing.reminder_s", "Remind after", timing.reminder_s, { unit: "s", show: seconds }),
            this.field("timing.escalate_after_s", "Escalate after", timing.escalate_after_s, { unit: "s", show: seconds }),
            this.choice("timing.latch_from", "Latching", String(timing.latch_from), LATCH),
          ],
          "An acknowledged alarm still present alerts again after the reminder; one nobody acknowledges escalates. Latching alarms stay until acknowledged.",
        ),
        this.dischargeGroup(),
      ]),
    );
    return section;
  }

  /** Minimum observation after dosing ends: discharge is refused until it has passed. */
  dischargeGroup() {
    const discharge = this.limits.discharge || {};
    const minutes = (v) => `${plain(v)} min`;
    return this.group(
      "discharge",
      "Observation before discharge",
      [
        this.field("discharge.min_observation_min", "Ketamine", discharge.min_observation_min, { unit: "min", show: minutes }),
        this.field("discharge.esketamine_min_observation_min", "Esketamine", discharge.esketamine_min_observation_min, {
          unit: "min",
          show: minutes,
        }),
        this.choice(
          "discharge.require_alertness",
          "Alert (ACVPU A) and MOAA/S 5 since dosing ended",
          String(discharge.require_alertness !== false),
          ALERTNESS,
          "bool",
        ),
      ],
      "The least time a patient is observed after dosing ends before discharge is allowed (up to 720 min), " +
        "and whether the patient must be seen alert in recovery.",
    );
  }

  group(path, legend, fields, hint) {
    const id = idFor(path);
    const fieldset = el("fieldset", { className: "rule-group", attrs: { id, "data-group": path } }, [
      el("legend", { text: legend }),
      el("p", { className: "hint group-hint", text: hint }),
      el("div", { className: `rule-grid${fields.length === 2 ? " two" : ""}` }, fields),
      el("p", { className: "field-error", attrs: { id: `${id}-error` } }),
    ]);
    fieldset.querySelector(`#${id}-error`).hidden = true;
    return fieldset;
  }

  /** A labelled number field (or its value as text); `scale` converts the shown unit to the stored one. */
  field(path, label, value, { nullable = false, unit = "", scale = 1, show }) {
    const wrap = el("div", { className: "field" });
    if (!this.editable) {
      wrap.append(
        el("span", { className: "ro-label", text: label }),
        el("span", { className: "ro-value", attrs: { "data-value-of": path }, text: show(value) }),
      );
      return wrap;
    }
    const labelEl = el("label", { attrs: { for: idFor(path) } }, [label]);
    if (unit) labelEl.append(" ", el("span", { className: "hint", text: `(${unit})` }));
    wrap.append(labelEl, this.numberInput(path, value, { nullable, scale, words: label }));
    return wrap;
  }

  /** A choice (or its value as text; "–" when `moot`, e.g. how a rule that is off is measured). */
  choice(path, label, value, options, type = "int", moot = false) {
    const wrap = el("div", { className: "field" });
    const id = idFor(path);
    if (!this.editable) {
      wrap.append(
        el("span", { className: "ro-label", text: label }),
        el("span", { className: "ro-value", attrs: { "data-value-of": path }, text: moot ? "–" : options[value] || value }),
      );
      return wrap;
    }
    const select = el("select", { attrs: { id, "data-path": path, "data-type": type } });
    for (const [key, text] of Object.entries(options)) select.append(el("option", { text, attrs: { value: key } }));
    select.value = value;
    select.dataset.initial = select.value;
    wrap.append(el("label", { attrs: { for: id }, text: label }), select);
    return wrap;
  }

  numberInput(path, value, { label, words, nullable, scale = 1 }) {
    const input = el("input", {
      attrs: {
        id: idFor(path),
        type: "number",
        inputmode: "decimal",
        step: "any",
        min: "0",
        autocomplete: "off",
        "data-path": path,
      },
    });
    if (label) input.setAttribute("aria-label", label);
    input.dataset.words = words;
    input.dataset.nullable = String(nullable);
    if (scale !== 1) input.dataset.scale = String(scale);
    input.value = has(value) ? plain(value / scale) : "";
    input.dataset.initial = input.value;
    if (!nullable) input.required = true;
    return input;
  }
}
