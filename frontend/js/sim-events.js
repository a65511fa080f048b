// What a trainer can make happen to a simulated patient, in words: the event buttons with what
// each does at its defaults (simulators/events.py), and a line for each event in a run's log.

export const VITALS = {
  heart_rate: { label: "Heart rate", unit: "/min", min: 20, max: 260 },
  systolic: { label: "Systolic", unit: "mmHg", min: 40, max: 280 },
  diastolic: { label: "Diastolic", unit: "mmHg", min: 20, max: 200 },
  spo2: { label: "SpO₂", unit: "%", min: 40, max: 100 },
  respiratory_rate: { label: "Respiratory rate", unit: "/min", min: 0, max: 60 },
  temperature: { label: "Temperature", unit: "°C", min: 30, max: 43 },
};

/** The one-click events, at the simulator's defaults (each chosen to rehearse its alarm). */
export const EVENT_BUTTONS = [
  { kind: "hypertensive_surge", label: "Hypertensive surge", what: "BP +55/+30 mmHg over 3 min, for 10 min" },
  { kind: "tachycardia", label: "Tachycardia", what: "HR +60/min over 1 min, for 5 min" },
  { kind: "desaturation", label: "Desaturation", what: "SpO₂ to 84 %, RR to 6 over 2 min, for 3 min" },
  { kind: "vasovagal", label: "Vasovagal", what: "HR 45, BP 80/45 over 40 s, for 90 s" },
  { kind: "sensor_off", label: "SpO₂ sensor off", what: "no SpO₂ or pulse until put back on" },
  { kind: "sensor_on", label: "SpO₂ sensor on", what: "readings resume after a few seconds of searching" },
  { kind: "cuff_failure", label: "Cuff failure", what: "every NIBP attempt fails for 15 min" },
  { kind: "cuff_measure_now", label: "Measure BP now", what: "an NIBP measurement outside the cycle" },
  { kind: "motion_artefact", label: "Motion artefact", what: "20 s of movement: SpO₂ drops out, NIBP fails" },
];

const LABELS = Object.fromEntries(EVENT_BUTTONS.map((b) => [b.kind, b.label]));
LABELS.steer = "Steer";
LABELS.release = "Release";

export const SPEEDS = [1, 2, 5, 10, 30, 60];

/** "1 min 30 s", "45 s", "10 min": an event's durations as a trainer reads them. */
export function seconds(value) {
  const s = Math.round(Number(value));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

/** Simulated time as m:ss ("112:05"): minutes run on past the hour, like a session clock. */
export function clock(totalSeconds) {
  const s = Math.max(0, Math.floor(Number(totalSeconds) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function vitalLabel(name) {
  return (VITALS[name] && VITALS[name].label) || name;
}

function amount(name, value) {
  const spec = VITALS[name];
  const number = name === "temperature" ? Number(value).toFixed(1) : String(Math.round(Number(value)));
  return spec ? `${number} ${spec.unit}` : number;
}

const signed = (n) => `${Number(n) >= 0 ? "+" : ""}${Math.round(Number(n))}`;

/** One line for an event as it was applied (the server fills in every default). */
export function describeEvent(event) {
  const e = event || {};
  const label = LABELS[e.kind] || e.kind;
  const timing = e.onset_s !== undefined ? ` over ${seconds(e.onset_s)}, for ${seconds(e.duration_s)}` : "";
  switch (e.kind) {
    case "steer":
      return `Steer ${vitalLabel(e.vital)} to ${amount(e.vital, e.target)} over ${seconds(e.over_s)}`;
    case "release":
      return `Release ${vitalLabel(e.vital)} over ${seconds(e.over_s)}`;
    case "hypertensive_surge":
      return `${label}: BP ${signed(e.systolic_rise)}/${signed(e.diastolic_rise)} mmHg${timing}`;
    case "tachycardia":
      return `${label}: HR ${signed(e.heart_rate_rise)}/min${timing}`;
    case "desaturation":
      return `${label}: SpO₂ to ${Math.round(e.spo2)} %, RR to ${Math.round(e.respiratory_rate)}${timing}`;
    case "vasovagal":
      return `${label}: HR ${Math.round(e.heart_rate)}, BP ${Math.round(e.systolic)}/${Math.round(e.diastolic)}${timing}`;
    case "sensor_off":
      return e.duration_s ? `${label} for ${seconds(e.duration_s)}` : `${label}`;
    case "cuff_failure":
    case "motion_artefact":
      return `${label} for ${seconds(e.duration_s)}`;
    default:
      return label;
  }
}
