// Who may do what, mirrored from the server (backend/core/dependencies.py and
// sessions/service.py:check_may_run) so the page offers only what will be accepted.
// The server still decides; a refusal is shown as an error.

/** Trainers never touch a real patient's session; anyone may work on a simulated one
 *  (the nurses and staff being drilled enter its readings and move its phases). */
function mayWorkOn(role, simulated) {
  return simulated || role !== "trainer";
}

export function canRecord(role, simulated) {
  return ["admin", "nurse", "staff", "trainer"].includes(role) && mayWorkOn(role, simulated);
}

/** Acknowledging an alarm: whoever may record readings on the session (server: RecorderActor). */
export function canAcknowledge(role, simulated) {
  return canRecord(role, simulated);
}

export function canChangePhase(role, simulated) {
  return ["admin", "nurse", "trainer"].includes(role) && mayWorkOn(role, simulated);
}

export function canStartSession(role) {
  return ["admin", "nurse", "staff", "trainer"].includes(role);
}

/** Registering patients is for clinical roles (and admins). */
export function canRegisterPatient(role) {
  return ["admin", "nurse", "staff"].includes(role);
}

/** Starting, steering and stopping simulations (server: TrainerActor; admins pass too). */
export function canRunSimulations(role) {
  return ["admin", "trainer"].includes(role);
}
