// A reading's values in one short line of words, the same wherever a person is asked to check
// them: the "recorded" message, the list of readings waiting to send, the entered-in-error dialog.

/** "HR 72, SpO₂ 97 %, BP 118/76, RR 16, Temp 36.8 °C, ACVPU A, MOAA/S 5, on oxygen". */
export function describeReading(r) {
  const parts = [];
  const has = (name) => r[name] !== null && r[name] !== undefined;
  if (has("heart_rate")) parts.push(`HR ${r.heart_rate}`);
  if (has("spo2")) parts.push(`SpO₂ ${r.spo2} %`);
  if (has("systolic") || has("diastolic")) parts.push(`BP ${r.systolic ?? "–"}/${r.diastolic ?? "–"}`);
  if (has("respiratory_rate")) parts.push(`RR ${r.respiratory_rate}`);
  if (has("temperature")) parts.push(`Temp ${Number(r.temperature).toFixed(1)} °C`);
  if (has("consciousness")) parts.push(`ACVPU ${r.consciousness}`);
  if (has("sedation")) parts.push(`MOAA/S ${r.sedation}`);
  if (has("on_oxygen")) parts.push(r.on_oxygen ? "on oxygen" : "on air");
  return parts.join(", ");
}
